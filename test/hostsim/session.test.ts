// PluSession edge cases driven PIU by PIU: SDT refused, stray and negative responses, data before
// SDT, adaptive pacing with IPMs, pacing violations by the LU.
import t from 'tap'
import { PluSession, type SessionEnv } from '../../lib/hostsim/session.js'
import { lu2BindRu } from '../../lib/hostsim/bindimage.js'
import { loadConfig, hostSimSchema } from '../../lib/config/index.js'
import { silentLogger } from '../../lib/observability/index.js'
import { systemClock, type Clock } from '../../lib/clock.js'
import { FakeClock } from '../helpers/fake-clock.js'
import {
  decodePiu, encodePiu, positiveResponse, negativeResponse, requestRh, encodeIpr, encodeIpm,
  decodeIpmRu, isIpm, decodeUnbind, UnbindType, type Piu, type RequestRh,
} from '../../lib/sna/index.js'
import { buildInbound, buildQueryReply, encode, parseOutbound } from '../../lib/datastream/index.js'

function session (bind: Record<string, unknown> = {}, clock: Clock = systemClock) {
  const config = loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { port: 0 }, bind } })
  const sent: Piu[] = []
  const raws: Buffer[] = []
  const ended: Array<{ reason: string, byPlu: boolean, bindSense?: number }> = []
  const env: SessionEnv = {
    host: 'HOSTA',
    lu: 'LU1',
    address: 2,
    application: 'DEMO',
    bind: lu2BindRu({ bind: config.bind, application: 'DEMO', lu: 'LU1' }),
    rows: 24,
    cols: 80,
    maxRuPrimary: config.bind.maxRuPrimary,
    primarySendWindow: config.bind.primarySendWindow,
    secondarySendWindow: config.bind.secondarySendWindow,
    adaptive: config.bind.adaptivePacing,
    query: config.bind.query,
    clock,
    logger: silentLogger(),
    send: (b) => { raws.push(b); sent.push(decodePiu(b)) },
    onEnded: (info) => ended.push(info),
  }
  const s = new PluSession(env)
  const feed = (b: Buffer): void => s.receive(decodePiu(b))
  const last = (): Buffer => raws[raws.length - 1]
  return { s, sent, raws, ended, feed, last }
}

function lluData (snf: number, ru: Buffer, opts: { pi?: boolean, mode?: 'RQE1' | 'RQD1' } = {}): Buffer {
  return encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 1, oaf: 2, snf }, rh: requestRh({ category: 'FMD', mode: opts.mode ?? 'RQE1', pi: opts.pi ?? false }), ru })
}

t.test('SDT refused: UNBIND cleanup, then ended', async t => {
  const { s, sent, ended, feed, last } = session()
  s.start()
  s.start()
  t.equal(sent.length, 1, 'one BIND')
  feed(positiveResponse(last()))
  t.equal(s.state, 'pending-sdt')
  t.equal(sent[1].ru[0], 0xa0)
  // Data before SDT completes: no session yet (8005 0001)
  feed(lluData(1, Buffer.from([0x7d, 0x40, 0x40]), { mode: 'RQD1' }))
  t.equal(sent[2].ru.readUInt32BE(0), 0x80050001)
  feed(negativeResponse(Buffer.from(encodePiu({ th: sent[1].th, rh: sent[1].rh, ru: sent[1].ru })), 0x08020000))
  t.equal(s.state, 'pending-unbind')
  const unbind = sent[sent.length - 1]
  t.equal(decodeUnbind(unbind.ru).type, 0x0f)
  t.equal(s.status().state, 'pending-unbind')
  // A stray expedited response, then a -RSP(UNBIND): the session ends anyway.
  feed(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 1, oaf: 2, snf: 999 }, rh: { rri: true, category: 'SC', fi: true, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: Buffer.from([0x31]) }))
  feed(negativeResponse(encodePiu({ th: unbind.th, rh: unbind.rh, ru: unbind.ru }), 0x08000000))
  t.equal(s.state, 'ended')
  t.equal(ended.length, 1)
  t.equal(ended[0].byPlu, true)
  // Requests after the end: -RSP no session; abort is a no-op.
  feed(lluData(2, Buffer.from([0x7d, 0x40, 0x40]), { mode: 'RQD1' }))
  t.equal(sent[sent.length - 1].ru.readUInt32BE(0), 0x80050001)
  s.abort('late')
  s.unbind()
  t.equal(ended.length, 1)
})

t.test('responses to outbound data, unsolicited pacing responses, BIND answered twice', async t => {
  const { s, sent, ended, feed, raws } = session({ primarySendWindow: 2 })
  s.start()
  const bind = raws[0]
  feed(positiveResponse(bind))
  feed(positiveResponse(bind)) // duplicate: no request pending any more → ignored
  feed(positiveResponse(raws[1]))
  t.equal(s.state, 'active')
  const screen = sent.find(p => p.rh?.category === 'FMD' && !p.rh.rri)!
  t.ok(screen.rh!.pi)
  // -RSP to outbound data (with and without sense bytes), +RSP with PI = the other pacing response form.
  feed(negativeResponse(raws[sent.indexOf(screen)], 0x08310000))
  const shortNeg = encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 1, oaf: 2, snf: 1 }, rh: { rri: true, category: 'FMD', fi: false, sdi: true, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: true }, ru: Buffer.from([0x08]) })
  feed(shortNeg)
  feed(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 1, oaf: 2, snf: 1 }, rh: { rri: true, category: 'FMD', fi: false, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: true, rti: false }, ru: Buffer.alloc(0) }))
  t.equal(s.status().pacing.iprsReceived, 1, 'PI in a +RSP counts as the pacing response')
  feed(encodeIpr({ daf: 1, oaf: 2 }))
  t.equal(s.status().pacing.iprsReceived, 1, 'an IPR nobody asked for is a violation: logged, not counted')
  feed(encodeIpm({ daf: 1, oaf: 2 }, { type: 'solicited', rwi: false, nws: 3 }))
  t.equal(s.status().pacing.iprsReceived, 1, 'IPM on a fixed-paced session refused')
  t.equal(ended.length, 0)
})

t.test('adaptive pacing: the host sends by IPM windows and answers PI with an IPM', async t => {
  const { s, sent, feed, raws } = session({ primarySendWindow: 2, secondarySendWindow: 2, adaptivePacing: true })
  s.start()
  feed(positiveResponse(raws[0]))
  feed(positiveResponse(raws[1]))
  t.equal(s.state, 'active')
  const dataCount = (): number => sent.filter(p => p.rh?.category === 'FMD' && !p.rh.rri).length
  t.equal(dataCount(), 1)
  // FLOOD 5 → 1 left in the first window, then wait for an IPM
  const input = buildInbound({ aid: 0x7d, cursor: 0, fields: [{ address: 405, text: 'FLOOD 5' }], rows: 24, cols: 80 })
  feed(lluData(1, input, { pi: true }))
  const ipm = sent.find(p => p.rh?.rri === true && isIpm(p))
  t.ok(ipm, 'inbound PI answered with a solicited IPM')
  t.same(decodeIpmRu(ipm!.ru), { type: 'solicited', rwi: false, nws: 2 })
  t.equal(dataCount(), 2, 'one record left in the first window')
  t.ok(s.status().pacing.adaptive)
  feed(encodeIpr({ daf: 1, oaf: 2 }))
  t.equal(dataCount(), 2, 'an IPR does not open an adaptive window')
  feed(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 1, oaf: 2, snf: 0 }, rh: { rri: true, category: 'FMD', fi: false, sdi: false, bci: true, eci: true, dr1: false, dr2: false, qri: false, pi: true, rti: false }, ru: Buffer.from([0xc0, 0x80, 0x00]) }))
  t.equal(dataCount(), 2, 'malformed IPM ignored')
  feed(encodeIpm({ daf: 1, oaf: 2 }, { type: 'solicited', rwi: false, nws: 3 }))
  t.equal(dataCount(), 5, 'a window of 3 (NWS) after the solicited IPM')
  const before = sent.length
  feed(encodeIpm({ daf: 1, oaf: 2 }, { type: 'unsolicited', rwi: true, nws: 1 }))
  const ack = sent.slice(before).find(p => isIpm(p))
  t.same(decodeIpmRu(ack!.ru), { type: 'reset-ack', rwi: false, nws: 1 }, 'reset acknowledged')
  t.equal(dataCount(), 6, 'the reset window of 1 used at once')
  t.equal(s.status().pacing.queued, 0)
  feed(encodeIpm({ daf: 1, oaf: 2 }, { type: 'reset-ack', rwi: false, nws: 0 }))
  t.equal(dataCount(), 6, 'a reset-ack to the sender is refused')
})

/** Outbound 3270 records (FMD requests) the PLU sent, in order. */
const records = (sent: Piu[]): Buffer[] => sent.filter(p => p.rh?.category === 'FMD' && p.rh.rri === false).map(p => p.ru)
const lluDfc = (snf: number, ru: Buffer, expedited: boolean): Buffer =>
  encodePiu({ th: { mpf: 'whole', odai: false, efi: expedited, daf: 1, oaf: 2, snf }, rh: requestRh({ category: 'DFC', fi: true, mode: 'RQD1', pi: !expedited && snf === 1 }), ru })

// A query BIND (screen size code X'03', like logmode D4C32XX3: "default 24x80, alternate determined
// by the device"; SNA Network Implementation Guide, SC27-3672, PSERVIC): DEMO asks the terminal
// with Read Partition Query, then draws in the size and code page the reply names (GA23-0059).
t.test('query BIND: Read Partition Query first, then the screen in the reply\'s size and code page', async t => {
  const { s, sent, feed, raws } = session({ query: true })
  s.start()
  t.equal(sent[0]!.ru[24], 0x03, 'BIND byte 24: screen size code X\'03\'')
  t.same([...sent[0]!.ru.subarray(20, 24)], [0, 0, 0, 0], 'no sizes in the BIND: the device decides')
  feed(positiveResponse(raws[0]!))
  feed(positiveResponse(raws[1]!))
  t.equal(s.state, 'active')
  const [query] = records(sent)
  t.equal(query!.toString('hex'), 'f3000501ff02', 'WSF Read Partition Query')
  t.ok((sent.find(p => p.ru === query)!.rh as RequestRh).cdi, 'CD: the terminal answers')
  // s3270 -model 4 -codepage 273 answers: Usable Area 80x43, code page 273.
  feed(lluData(1, buildQueryReply({ usableArea: { rows: 43, cols: 80 }, codePageId: 273 }), { pi: true }))
  const screen = parseOutbound(records(sent)[1]!, { cp: 'cp273' })
  t.equal(screen.command, 'EWA', 'Erase/Write Alternate: the 43x80 screen')
  const text = JSON.stringify(screen.orders)
  t.match(text, /SCREEN 43x80 {2}CODE PAGE 273/)
  // German text typed in cp273 comes back byte for byte.
  const typed = 'GRÜSSE ÄÖÜ äöü ß §'
  feed(lluData(2, buildInbound({ aid: 0x7d, cursor: 0, fields: [{ address: 5 * 80 + 5, text: typed }], rows: 43, cols: 80, cp: 'cp273' })))
  const echo = records(sent)[2]!
  t.ok(echo.includes(encode(`ECHO: ${typed}`, 'cp273')), 'echo encoded in cp273, bytes unchanged')
})

t.test('query BIND: no reply within the wait, or a key instead of a reply → the 24x80 screen', async t => {
  const clock = new FakeClock()
  const silent = session({ query: true }, clock)
  silent.s.start()
  silent.feed(positiveResponse(silent.raws[0]!))
  silent.feed(positiveResponse(silent.raws[1]!))
  t.equal(records(silent.sent).length, 1, 'only the query so far')
  clock.advance(5000)
  const first = parseOutbound(records(silent.sent)[1]!)
  t.equal(first.command, 'EW', '24x80 Erase/Write')
  t.notMatch(JSON.stringify(first.orders), /SCREEN/, 'nothing learnt, nothing shown')
  t.equal(clock.pending, 0)

  const keyed = session({ query: true }, clock)
  keyed.s.start()
  keyed.feed(positiveResponse(keyed.raws[0]!))
  keyed.feed(positiveResponse(keyed.raws[1]!))
  keyed.feed(lluData(1, Buffer.from([0x7d, 0x40, 0x40]), { pi: true }))
  t.equal(parseOutbound(records(keyed.sent)[1]!).command, 'EW', 'the key is taken as "no reply"')
  t.equal(clock.pending, 0, 'wait cancelled')
  keyed.feed(lluData(2, buildQueryReply({ usableArea: { rows: 43, cols: 80 } })))
  t.equal(records(keyed.sent).length, 2, 'a late reply changes nothing')
  // A reply too small for the BIND's default or too big for 14-bit addresses keeps 24x80.
  const odd = session({ query: true })
  odd.s.start()
  odd.feed(positiveResponse(odd.raws[0]!))
  odd.feed(positiveResponse(odd.raws[1]!))
  odd.feed(lluData(1, buildQueryReply({ usableArea: { rows: 200, cols: 200 }, codePageId: 500 }), { pi: true }))
  const r = parseOutbound(records(odd.sent)[1]!)
  t.equal(r.command, 'EW')
  t.match(JSON.stringify(r.orders), /SCREEN 24x80 {2}CODE PAGE 500/, 'unknown code page shown, cp037 used')
})

t.test('ATTN (SIGNAL) and SYSREQ\'s return (LUSTAT 082B): DEMO says so and repaints', async t => {
  const { s, sent, feed, raws } = session()
  s.start()
  feed(positiveResponse(raws[0]!))
  feed(positiveResponse(raws[1]!))
  const before = records(sent).length
  // SIGNAL: expedited DFC, code X'0001' request to send ("SNA Formats", GA27-3136), RQD1 → +RSP.
  feed(lluDfc(1, Buffer.from([0xc9, 0x00, 0x01, 0x00, 0x00]), true))
  const rsp = sent.at(-2)!
  t.ok(rsp.rh!.rri && !rsp.rh!.rti && rsp.th.efi, '+RSP(SIG) on the expedited flow')
  t.match(JSON.stringify(parseOutbound(records(sent)[before]!).orders), /ATTENTION RECEIVED/)
  feed(lluDfc(1, Buffer.from([0x04, 0x08, 0x2b, 0x00, 0x00]), false))
  t.equal(records(sent).length, before + 2, 'LUSTAT 082B: the screen again')
  feed(lluDfc(2, Buffer.from([0x04, 0x00, 0x01, 0x00, 0x00]), false))
  t.equal(records(sent).length, before + 2, 'another LUSTAT: acknowledged only')
})

// The terminal left (NOTIFY disabled) while the BIND was on its way: the UNBIND follows the BIND's
// response instead of crossing it, so neither side sees a response that matches nothing.
t.test('an end asked for during pending-bind: UNBIND after +RSP(BIND); a -RSP(BIND) 083A just ends', async t => {
  const a = session()
  a.s.start()
  a.s.unbind(UnbindType.CLEANUP, 'SLU disabled')
  t.equal(a.sent.length, 1, 'only the BIND so far')
  t.equal(a.s.state, 'pending-unbind')
  a.feed(positiveResponse(a.raws[0]!))
  const unbind = a.sent[1]!
  t.equal(decodeUnbind(unbind.ru).type, 0x0f, 'UNBIND cleanup, no SDT')
  a.feed(positiveResponse(a.raws[1]!))
  t.equal(a.s.state, 'ended')
  t.match(a.ended, [{ byPlu: true, reason: 'SLU disabled' }])

  const b = session()
  b.s.start()
  b.s.unbind(UnbindType.CLEANUP, 'SLU disabled')
  b.feed(negativeResponse(b.raws[0]!, 0x083a0000))
  t.equal(b.s.state, 'ended')
  t.match(b.ended, [{ bindSense: 0x083a0000 }])
  t.equal(b.sent.length, 1, 'nothing more sent')
})
