// SSCP + PLU flows of the host simulator against an in-memory test PU (no sockets).
import t from 'tap'
import { harness, settle } from './harness.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { faultsUpdateSchema } from '../../lib/hostsim/faults.js'
import { DemoLayout } from '../../lib/hostsim/screens.js'
import {
  decodePiu, encodePiu, requestRh, commandRh, responseSense, isIpr, encodeNotify, encodeIpr,
  encodeTermSelf, nameToEbcdic, type Piu,
} from '../../lib/sna/index.js'
import { encode, parseOutbound } from '../../lib/datastream/index.js'
import type { TestPu } from './test-pu.js'

const LU1 = 'GW1LU001'
const LU2 = 'GW1LU002'
const ENTER = 0x7d
const PF3 = 0xf3
const INPUT_ADDR = DemoLayout.prompt * 80 + 5

async function logonDemo (pu: TestPu, lu: string): Promise<void> {
  const first = pu.waitFor('record', (v) => v.name === lu)
  pu.typeUss(lu, 'LOGON APPLID(DEMO)')
  await first
}

t.test('activation: ACTPU, then ACTLU for each LU of the hello', async t => {
  const h = harness()
  const actlus: string[] = []
  h.pu.on('actlu', lu => actlus.push(lu.name))
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  await settle()
  t.equal(h.pu.actpus, 1)
  t.same(actlus, [LU1, LU2])
  const actpu = decodePiu(h.sent[0])
  t.same([actpu.th.daf, actpu.th.oaf, actpu.th.efi], [0, 0, true], 'SSCP-PU addresses, expedited')
  t.same([...actpu.ru.subarray(0, 3)], [0x11, 0x11, 0x01], 'ACTPU cold, FM0/TS1')
  const actlu = decodePiu(h.sent[1])
  t.same([actlu.th.daf, actlu.th.oaf, ...actlu.ru], [2, 0, 0x0d, 0x01, 0x01], 'ACTLU 0D 01 01 to the LU address')
  const st = h.host.status()
  t.equal(st.state, 'active')
  t.same(st.lus.map(l => [l.name, l.state, l.enabled, l.application]), [[LU1, 'active', false, null], [LU2, 'active', false, null]])
})

t.test('USS logon screen on NOTIFY, LOGON APPLID(DEMO), BIND + SDT, first screen', async t => {
  const h = harness()
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  const uss = h.pu.waitFor('uss')
  h.pu.notify(LU1, true)
  const [lu] = await uss
  t.match(lu.uss[0], /HOSTA/)
  t.match(lu.uss[0], /GW1LU001/)
  t.match(lu.uss[0], /LOGON APPLID/)
  t.equal(h.host.status().lus[0].enabled, true)
  await logonDemo(h.pu, LU1)
  const v = h.pu.lu(LU1)
  t.ok(v.bound && v.sdt)
  t.equal(v.bind?.luType, 2)
  const lines = v.screen.lines()
  t.match(lines[0], /tn3270-lb demo host HOSTA/)
  t.match(lines[1], /LU GW1LU001/)
  t.notOk(v.screen.keyboardLocked)
  t.equal(v.data[0].snf, 1, 'first normal-flow request after SDT is SNF 1')
  t.ok(v.data[0].bbi, 'first chain begins the bracket')
  t.ok(v.data[v.data.length - 1].cdi, 'the unlocking record gives direction to the LU')
  const st = h.host.status().lus[0]
  t.equal(st.application, 'DEMO')
  t.equal(st.session?.state, 'active')
})

t.test('ECHO round trip and inbound pacing (PI → IPR)', async t => {
  const h = harness()
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  await logonDemo(h.pu, LU1)
  const reply = h.pu.waitFor('record', v => v.name === LU1)
  const iprs = h.pu.responses.length
  h.pu.input(LU1, ENTER, [{ address: INPUT_ADDR, text: 'hello host' }])
  await reply
  t.match(h.pu.lu(LU1).screen.lines()[DemoLayout.message], /ECHO: hello host/)
  await settle()
  t.ok(h.pu.responses.slice(iprs).some(isIpr), 'host answered the pacing request with an IPR')
  // Definite response requested → +RSP
  const before = h.pu.responses.length
  h.pu.input(LU1, ENTER, [{ address: INPUT_ADDR, text: 'again' }], { mode: 'RQD1' })
  await h.pu.waitFor('record')
  await settle()
  const rsp = h.pu.responses.slice(before).find(r => !isIpr(r))
  t.ok(rsp !== undefined && rsp.rh?.rri === true && !(rsp.rh as { rti: boolean }).rti, '+RSP for RQD1 input')
})

t.test('FLOOD 50 with a pacing window of 7: in order, one window per IPR', async t => {
  const h = harness({ config: { bind: { primarySendWindow: 7 } }, pu: { autoIpr: false } })
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  const first = h.pu.waitFor('record')
  h.pu.typeUss(LU1, 'DEMO')
  await first
  const v = h.pu.lu(LU1)
  t.ok(v.data[0].pi, 'first request of the first window carries PI')
  v.data.length = 0
  v.records.length = 0
  h.pu.input(LU1, ENTER, [{ address: INPUT_ADDR, text: 'FLOOD 50' }])
  // The first screen opened a window of 7 (PI) and used 1: six records go at once, then every
  // IPR authorises one more window of 7 whose first request carries PI (GA27-3136 pacing).
  let expected = 6
  let iprs = 0
  for (;;) {
    await settle()
    t.equal(v.records.length, expected, `host stopped after ${expected} records until an IPR`)
    if (expected === 50) break
    const p = h.host.status().lus[0].session!.pacing
    t.ok(p.queued > 0, 'output waiting')
    await new Promise(resolve => setTimeout(resolve, 12))
    t.ok(h.host.status().lus[0].session!.pacing.waitingForIprMs >= 10, 'status shows the wait for the IPR')
    h.pu.sendIpr(LU1)
    iprs++
    expected = Math.min(expected + 7, 50)
  }
  t.same(v.data.map((d, i) => d.pi ? i : -1).filter(i => i >= 0), [6, 13, 20, 27, 34, 41, 48], 'PI exactly on the first request of each window')
  const texts: string[] = []
  for (const r of v.records) {
    const text = parseOutbound(r).orders.find(o => o.order === 'TEXT')
    const m = text?.order === 'TEXT' ? /RECORD (\d+) OF 50/.exec(text.text) : null
    if (m !== null) texts.push(m[1])
  }
  t.same(texts, Array.from({ length: 50 }, (_, i) => String(i + 1)), 'RECORD 1..50 in order')
  t.same(v.data.map(d => d.snf), Array.from({ length: 50 }, (_, i) => i + 2), 'consecutive sequence numbers')
  t.notOk(v.screen.keyboardLocked, 'the last record unlocked the keyboard')
  t.match(v.screen.lines()[DemoLayout.record], /RECORD 50 OF 50/)
  const p = h.host.status().lus[0].session!.pacing
  t.equal(p.waitingForIprMs, 0)
  t.equal(p.queued, 0)
  t.ok(p.totalWaitMs >= 60)
  t.equal(p.iprsReceived, iprs)
  t.equal(iprs, 7)
})

t.test('records larger than maxRuPrimary are chained', async t => {
  const h = harness({ config: { bind: { maxRuPrimary: 64, primarySendWindow: 0 } } })
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  await logonDemo(h.pu, LU1)
  const v = h.pu.lu(LU1)
  t.ok(v.data.length > 2, 'first screen needed several RUs')
  t.ok(v.data.every(d => d.ru.length <= 64))
  t.same(v.data.map(d => [d.bci, d.eci]), v.data.map((_, i) => [i === 0, i === v.data.length - 1]))
  t.notOk(v.data.some(d => d.pi), 'window 0: no pacing')
  t.match(v.screen.lines()[0], /tn3270-lb demo host/)
})

t.test('PF3 logs off: UNBIND, then the logon screen (no default application)', async t => {
  const h = harness()
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  await logonDemo(h.pu, LU1)
  const unbind = h.pu.waitFor('unbind')
  const uss = h.pu.waitFor('uss')
  h.pu.input(LU1, PF3)
  await unbind
  t.same(h.pu.lu(LU1).unbinds, [0x01], 'UNBIND type 01 normal')
  const [lu] = await uss
  t.match(lu.uss[lu.uss.length - 1], /SESSION WITH DEMO ENDED/)
  t.equal(h.host.status().lus[0].application, null)
})

t.test('DEFAPPL: NOTIFY goes straight to DEMO, and PF3 comes straight back', async t => {
  const h = harness({ config: { defaultApplication: 'DEMO' } })
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  const first = h.pu.waitFor('record')
  h.pu.notify(LU1, true)
  await first
  t.equal(h.pu.lu(LU1).uss.length, 0, 'no logon screen')
  const again = h.pu.waitFor('sdt')
  h.pu.input(LU1, PF3)
  await again
  t.same(h.pu.lu(LU1).unbinds, [0x01])
  t.equal(h.pu.lu(LU1).uss.length, 0)
  await h.pu.waitFor('record')
  t.match(h.pu.lu(LU1).screen.lines()[0], /demo host/)
})

t.test('DEFAPPL FIRSTONLY: after PF3 the logon screen shows', async t => {
  const h = harness({ config: { defaultApplication: 'DEMO', defaultApplicationFirstOnly: true } })
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  const first = h.pu.waitFor('record')
  h.pu.notify(LU1, true)
  await first
  const uss = h.pu.waitFor('uss')
  h.pu.input(LU1, PF3)
  const [lu] = await uss
  t.match(lu.uss[0], /SESSION WITH DEMO ENDED/)
})

t.test('LU enabled at ACTLU gets the logon screen without NOTIFY', async t => {
  const h = harness({ pu: { enabledAtActlu: true } })
  h.host.start()
  const [lu] = await h.pu.waitFor('uss')
  t.match(lu.uss[0], /LOGON/)
})

t.test('fault: session start rejected with the configured sense', async t => {
  const h = harness()
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  h.faults.apply(faultsUpdateSchema.parse({ rejectBinds: { sense: '08063426', count: 1 } }))
  const uss = h.pu.waitFor('uss')
  h.pu.typeUss(LU1, 'LOGON APPLID(DEMO)')
  const [lu] = await uss
  t.match(lu.uss[lu.uss.length - 1], /LOGON TO DEMO FAILED, SENSE 08063426/)
  t.notOk(lu.bind, 'no BIND was sent')
  t.same(h.faults.snapshot().rejectBinds, null, 'count used up')
  // INIT-SELF path: -RSP with the sense
  h.faults.apply(faultsUpdateSchema.parse({ rejectBinds: { sense: '08010000' } }))
  const rsp = h.pu.waitFor('response', (p: Piu) => p.rh?.rri === true && (p.rh as { rti: boolean }).rti)
  h.pu.initSelf(LU1, 'DEMO')
  const [neg] = await rsp
  t.equal(responseSense(neg), 0x08010000)
  t.same([...neg.ru.subarray(4)], [0x81, 0x06, 0x81], 'NS header echoed after the sense')
  h.faults.clear()
  const bound = h.pu.waitFor('sdt')
  h.pu.initSelf(LU1, 'DEMO')
  await bound
  t.pass('INIT-SELF starts the session once the fault is cleared')
  // DEFAPPL with a fault: logon screen with the sense
  const d = harness({ config: { defaultApplication: 'DEMO' } })
  d.host.start()
  await d.pu.waitFor('actlu', lu => lu.name === LU2)
  d.faults.apply(faultsUpdateSchema.parse({ rejectBinds: { sense: '08010000' } }))
  const dUss = d.pu.waitFor('uss')
  d.pu.notify(LU1, true)
  const [dLu] = await dUss
  t.match(dLu.uss[0], /LOGON TO DEMO FAILED, SENSE 08010000/)
  t.equal(d.host.status().lus[0].lastSense, null, 'no session was attempted')
})

t.test('the LU rejects the BIND: session ends, logon screen names the sense', async t => {
  const h = harness({ pu: { rejectBindSense: 0x08350001 } })
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  const uss = h.pu.waitFor('uss')
  h.pu.typeUss(LU1, 'LOGON APPLID(DEMO)')
  const [lu] = await uss
  t.match(lu.uss[lu.uss.length - 1], /SENSE 08350001/)
  t.equal(h.host.status().lus[0].lastSense, '08350001')
  t.equal(h.host.status().lus[0].application, null)
})

t.test('USS errors and LOGOFF', async t => {
  const h = harness()
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  const cases: Array<[string, RegExp]> = [
    ['LOGON APPLID(NOPE)', /APPLID PARAMETER VALUE INVALID/],
    ['LOGON', /APPLID REQUIRED PARAMETER OMITTED/],
    ['FOO', /FOO UNRECOGNIZED/],
    ['LOGOFF', /SESSION NOT BOUND/],
    ['', /TYPE LOGON/],
  ]
  for (const [text, re] of cases) {
    const uss = h.pu.waitFor('uss')
    h.pu.typeUss(LU1, text)
    const [lu] = await uss
    t.match(lu.uss[lu.uss.length - 1], re, text)
  }
  const clear = h.pu.waitFor('uss')
  h.pu.typeUss(LU1, '', Buffer.from([0x6d]))
  await clear
  await logonDemo(h.pu, LU1)
  // Already bound: a second logon is refused
  const dup = h.pu.waitFor('uss')
  h.pu.typeUss(LU1, 'LOGON APPLID(DEMO)')
  const [lu] = await dup
  t.match(lu.uss[lu.uss.length - 1], /SENSE 08150000/)
  const unbind = h.pu.waitFor('unbind')
  h.pu.typeUss(LU1, 'LOGOFF')
  await unbind
  t.pass('USS LOGOFF unbinds')
})

t.test('LU-side endings: UNBIND from the LU, TERMSELF, NOTIFY(disabled)', async t => {
  const h = harness()
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  await logonDemo(h.pu, LU1)
  const rsp = h.pu.waitFor('response', (p: Piu) => p.ru[0] === 0x32)
  const uss = h.pu.waitFor('uss')
  h.pu.unbindFromLu(LU1)
  await rsp
  await uss
  t.equal(h.host.status().lus[0].application, null, 'UNBIND from the LU ends the session')

  await logonDemo(h.pu, LU1)
  const unbind = h.pu.waitFor('unbind')
  const lu = h.pu.lu(LU1)
  h.pu.sendSscpLu(lu, requestRh({ category: 'FMD', fi: true, mode: 'RQD1' }), encodeTermSelf({ format: 1, typeByte: 0, nameType: 0xf3, pluName: nameToEbcdic('DEMO'), trailing: Buffer.alloc(0) }))
  await unbind
  t.same(lu.unbinds, [0x01], 'TERMSELF → UNBIND normal')
  await settle()

  await logonDemo(h.pu, LU1)
  const cleanup = h.pu.waitFor('unbind')
  h.pu.notify(LU1, false)
  await cleanup
  t.same(lu.unbinds, [0x01, 0x0f], 'NOTIFY(disabled) with a session → UNBIND cleanup')
  await settle()
  t.equal(h.host.status().lus[0].enabled, false)
  t.equal(lu.uss.length, 3, 'no logon screen for a detached terminal')
  const neg = h.pu.waitFor('response', (p: Piu) => (p.rh as { rti?: boolean }).rti === true)
  h.pu.sendSscpLu(lu, requestRh({ category: 'FMD', fi: true, mode: 'RQD1' }), encodeTermSelf({ format: 1, typeByte: 0, nameType: 0xf3, pluName: nameToEbcdic('DEMO'), trailing: Buffer.alloc(0) }))
  t.equal(responseSense((await neg)[0]), 0x80050001, 'TERMSELF without a session: no session')
})

t.test('bad PIUs from the gateway get -RSP with a sense, never a crash', async t => {
  const h = harness()
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  const lu = h.pu.lu(LU1)
  const expectSense = async (send: () => void, sense: number, what: string): Promise<void> => {
    const p = h.pu.waitFor('response', (r: Piu) => (r.rh as { rti?: boolean }).rti === true)
    send()
    t.equal(responseSense((await p)[0]), sense, what)
  }
  const piu = (daf: number, oaf: number, rh = requestRh({ category: 'FMD', mode: 'RQD1' }), ru = Buffer.from([0x7d, 0x40, 0x40])): Buffer =>
    encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf, oaf, snf: 9 }, rh, ru })
  await expectSense(() => h.pu.send(piu(1, 2)), 0x80050001, 'LU-LU data without a session')
  await expectSense(() => h.pu.send(piu(7, 2)), 0x80040000, 'unknown DAF')
  await expectSense(() => h.pu.send(piu(0, 9)), 0x800f0000, 'unknown LU address on SSCP-LU')
  await expectSense(() => h.pu.send(piu(1, 9)), 0x800f0000, 'unknown LU address on LU-LU')
  await expectSense(() => h.pu.send(piu(0, 0, commandRh('DFC'), Buffer.from([0x04, 0, 1, 0, 0]))), 0x10030000, 'request on SSCP-PU')
  await expectSense(() => h.pu.sendSscpLu(lu, requestRh({ category: 'FMD', fi: true, mode: 'RQD1' }), Buffer.from([0x81, 0x06, 0x20, 0x0c])), 0x10010000, 'truncated NOTIFY')
  await expectSense(() => h.pu.sendSscpLu(lu, requestRh({ category: 'FMD', fi: true, mode: 'RQD1' }), Buffer.from([0x81, 0x06, 0x99])), 0x10030000, 'unknown NS request')
  await expectSense(() => h.pu.sendSscpLu(lu, commandRh('DFC'), Buffer.from([0x04, 0, 1, 0, 0])), 0x10030000, 'DFC on SSCP-LU')
  await expectSense(() => h.pu.send(encodePiu({ th: { mpf: 'first', odai: false, efi: false, daf: 0, oaf: 2, snf: 1 }, rh: requestRh({ category: 'FMD', mode: 'RQD1', eci: false }), ru: Buffer.from([0x40]) })), 0x80070000, 'segment')
  await expectSense(() => h.pu.send(encodePiu({ th: { mpf: 'whole', odai: true, efi: false, daf: 3, oaf: 4, snf: 1 }, rh: commandRh('SC'), ru: Buffer.from([0x31]) })), 0x08010000, 'LU 6.2 traffic with no partner')
  // Garbage and stray responses: dropped with a log line, the host keeps working.
  h.pu.send(Buffer.from([0x10, 0x00]))
  h.pu.send(encodePiu({ th: { mpf: 'middle', odai: false, efi: false, daf: 0, oaf: 2, snf: 1 }, ru: Buffer.from([0x40]) }))
  h.pu.send(encodeIpr({ daf: 1, oaf: 2 }))
  h.pu.send(encodeIpr({ daf: 0, oaf: 0 }))
  h.pu.send(encodeIpr({ daf: 0, oaf: 2 }))
  h.pu.send(encodeIpr({ daf: 0, oaf: 77 }))
  await settle()
  // Data on an unknown-state LU: ACTLU not yet answered is covered by 8009 below.
  const h2 = harness()
  h2.host.start()
  await h2.pu.waitFor('actpu')
  const p = h2.pu.waitFor('response', (r: Piu) => (r.rh as { rti?: boolean }).rti === true)
  h2.pu.sendSscpLu(h2.pu.lu(LU2), requestRh({ category: 'FMD', fi: true, mode: 'RQD1' }), encodeNotify({ enabled: true }))
  t.equal(responseSense((await p)[0]), 0x80090000, 'LU not active yet')
  t.equal(h.host.state, 'active', 'host still up')
})

t.test('LU-LU protocol errors: sequence, chaining, pacing, unsupported commands, bad 3270', async t => {
  const h = harness()
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.pu.notify(LU1, true)
  await h.pu.waitFor('uss')
  await logonDemo(h.pu, LU1)
  const lu = h.pu.lu(LU1)
  const expectSense = async (send: () => void, sense: number, what: string): Promise<void> => {
    const p = h.pu.waitFor('response', (r: Piu) => (r.rh as { rti?: boolean }).rti === true)
    send()
    t.equal(responseSense((await p)[0]), sense, what)
  }
  const data = (opts: { pi?: boolean, bci?: boolean, eci?: boolean, mode?: 'RQE1' | 'RQD1' } = {}) => requestRh({ category: 'FMD', mode: opts.mode ?? 'RQE1', pi: opts.pi ?? false, bci: opts.bci ?? true, eci: opts.eci ?? true })
  const enter = Buffer.from([0x7d, 0x40, 0x40])
  await expectSense(() => h.pu.sendLuLu(lu, data({ pi: true }), enter, 5), 0x20010000, 'first SNF must be 0 or 1')
  await expectSense(() => h.pu.sendLuLu(lu, data(), enter, 1), 0x20110000, 'first request of a window without PI')
  h.pu.input(LU1, ENTER, [{ address: INPUT_ADDR, text: 'ok' }], { snf: 2, pi: true })
  await h.pu.waitFor('record')
  await expectSense(() => h.pu.sendLuLu(lu, data(), enter, 9), 0x20010000, 'gap in sequence numbers')
  await expectSense(() => h.pu.sendLuLu(lu, data({ bci: false }), Buffer.from([0x40]), 3), 0x20020000, 'middle of chain without begin')
  await expectSense(() => h.pu.sendLuLu(lu, data(), Buffer.from([0x7d, 0x40]), 4), 0x10010000, 'unparseable 3270 input')
  await expectSense(() => h.pu.sendLuLu(lu, commandRh('DFC'), Buffer.from([0xc8]), 1), 0x10030000, 'BID not supported')
  await expectSense(() => h.pu.sendLuLu(lu, data({ pi: true }), enter, 5), 0x20110002, 'PI inside a window')
  // A multi-RU inbound chain is reassembled; LUSTAT is acknowledged.
  const reply = h.pu.waitFor('record')
  const record = Buffer.concat([Buffer.from([0x7d, 0x40, 0x40, 0x11]), Buffer.from([0xc6, 0xc5]), encode('chained')])
  h.pu.sendLuLu(lu, data({ mode: 'RQD1', eci: false }), record.subarray(0, 4), 6)
  h.pu.sendLuLu(lu, data({ bci: false }), record.subarray(4), 7)
  await reply
  t.match(lu.screen.lines()[DemoLayout.message], /ECHO: chained/)
  const ack = h.pu.waitFor('response', (r: Piu) => r.ru[0] === 0x04)
  h.pu.sendLuLu(lu, commandRh('DFC'), Buffer.from([0x04, 0x00, 0x01, 0x00, 0x00]), 2)
  await ack
  t.pass('LUSTAT acknowledged')
})

t.test('fault: responses delayed by N ms', async t => {
  const clock = new FakeClock(1_000_000)
  const h = harness({ clock })
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  h.faults.apply(faultsUpdateSchema.parse({ delayResponses: '500ms' }))
  h.pu.notify(LU1, true)
  await settle()
  t.equal(h.pu.lu(LU1).uss.length, 0, 'nothing before the delay')
  clock.advance(499)
  await settle()
  t.equal(h.pu.lu(LU1).uss.length, 0)
  clock.advance(1)
  await settle()
  t.equal(h.pu.lu(LU1).uss.length, 1, 'the logon screen after 500 ms')
  h.pu.typeUss(LU1, 'LOGON APPLID(DEMO)')
  h.pu.typeUss(LU2, 'ignored: LU2 not enabled but still answered in order')
  await settle()
  clock.advance(500)
  await settle(40)
  t.ok(h.pu.lu(LU1).bound, 'responses to the gateway\'s own responses are not delayed (BIND flow ran)')
  h.faults.clear()
  h.host.close('test')
  t.equal(h.host.state, 'closed')
  t.equal(clock.pending, 0, 'no timers left')
})

t.test('link backpressure pauses the output until the link drains', async t => {
  let writable = true
  const h = harness({ config: { bind: { primarySendWindow: 0 }, defaultApplication: 'DEMO' }, sendResult: () => writable })
  h.host.start()
  await h.pu.waitFor('actlu', lu => lu.name === LU2)
  const first = h.pu.waitFor('record')
  h.pu.notify(LU1, true)
  await first
  const v = h.pu.lu(LU1)
  v.records.length = 0
  writable = false
  h.pu.input(LU1, ENTER, [{ address: INPUT_ADDR, text: 'FLOOD 30' }])
  await settle()
  t.equal(v.records.length, 1, 'one record written, then the host waits for drain')
  writable = true
  h.host.drained()
  await settle()
  t.equal(v.records.length, 30, 'the rest after drain')
  h.host.drained()
})

t.test('activation refused or odd: ACTPU -RSP, ACTLU -RSP, odd +RSP(ACTLU), USS -RSP, stray responses', async t => {
  const a = harness({ pu: { rejectActpuSense: 0x08010000 } })
  a.host.start()
  await a.pu.waitFor('actpu')
  await settle()
  t.equal(a.host.state, 'rejected')
  t.equal(a.sent.length, 1, 'no ACTLU after a refused ACTPU')

  const b = harness({ pu: { rejectActluSense: 0x08150000 } })
  b.host.start()
  await b.pu.waitFor('actlu', lu => lu.name === LU2)
  await settle()
  t.same(b.host.status().lus.map(l => [l.state, l.lastSense]), [['rejected', '08150000'], ['rejected', '08150000']])

  const c = harness({ pu: { actluResponseRu: Buffer.from([0x0d, 0x01, 0x01, 0x07]) } })
  c.host.start()
  const [lu] = await c.pu.waitFor('uss')
  t.match(lu.uss[0], /LOGON/, 'a +RSP(ACTLU) that does not decode: LU taken as enabled')
  // Stray responses on the SSCP sessions are ignored.
  const stray = (daf: number, oaf: number, efi: boolean): Buffer => encodePiu({ th: { mpf: 'whole', odai: false, efi, daf, oaf, snf: 4242 }, rh: { rri: true, category: 'SC', fi: true, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: Buffer.from([0x11]) })
  c.pu.send(stray(0, 0, true))
  c.pu.send(stray(0, 2, true))
  await settle()
  t.equal(c.host.state, 'active')

  const d = harness({ pu: { rejectUssSense: 0x08020000 } })
  d.host.start()
  await d.pu.waitFor('actlu', lu => lu.name === LU2)
  d.pu.notify(LU1, true)
  await d.pu.waitFor('uss')
  await settle()
  t.equal(d.host.status().lus[0].enabled, true, 'a refused USS message is logged, nothing else changes')
})
