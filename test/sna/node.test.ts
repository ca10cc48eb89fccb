// DependentLuNode end to end, in process, against a scripted host built from the same codecs and the
// primary-role half-session machines.
import t from 'tap'
import { FakeClock } from '../helpers/fake-clock.js'
import { silentLogger } from '../../lib/observability/index.js'
import {
  ActivationHalfSession, LuLuHalfSession, DependentLuNode, decodePiu, encodePiu, decodeBind, encodeActpu, encodeDactlu,
  encodeDactpu, commandRh, requestRh, decodeNotify, encodeBind, type ActivationEvent, type LuLuEvent, type BindImage,
  type LuDataEvent, type Lu2Ps, type ResponseEvent,
} from '../../lib/sna/index.js'

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const hx = (b: Buffer): string => b.toString('hex').toUpperCase()
const V2_BIND = h('31 01 03 03 B1 90 30 80 00 05 85 87 85 00 02 80 00 00 00 00 18 50 18 50 7F 00 00 07 C1 D5 F6 F3 D5 D4 E3 00 00 08 E3 E4 F6 F3 C7 F3 F0 F0')

function setup () {
  const wire: Buffer[] = []
  const clock = new FakeClock(1000)
  const node = new DependentLuNode({ puName: 'PU1', lus: [{ name: 'LU1', locaddr: 2 }, { name: 'LU2', locaddr: 3 }], send: (b) => wire.push(b), logger: silentLogger(), clock })
  const hostPu = new ActivationHalfSession({ kind: 'sscp-pu', role: 'primary', localAddress: 0, remoteAddress: 0 })
  const hostLu = new ActivationHalfSession({ kind: 'sscp-lu', role: 'primary', localAddress: 0, remoteAddress: 2 })
  const plu = new LuLuHalfSession({ role: 'primary', localAddress: 1, remoteAddress: 2 })
  const take = (): Buffer[] => wire.splice(0)
  const toNode = (bufs: Buffer[]): void => { for (const b of bufs) node.receive(b) }
  /** Deliver what the node sent to the host machine that owns the session; returns host events. */
  const toHost = (): Array<ActivationEvent | LuLuEvent> => {
    const evs: Array<ActivationEvent | LuLuEvent> = []
    for (const b of take()) {
      const p = decodePiu(b)
      const m = p.th.oaf === 0 ? hostPu : p.th.daf === 0 ? hostLu : plu
      evs.push(...m.receive(p).events)
    }
    return evs
  }
  return { wire, clock, node, hostPu, hostLu, plu, take, toNode, toHost }
}

function activate (s: ReturnType<typeof setup>): void {
  s.toNode(s.hostPu.activate(encodeActpu({ format: 1, activationType: 1, fmProfile: 0, tsProfile: 1, sscpId: h('050000000001'), controlVectors: [] })).send)
  s.toHost()
  s.toNode(s.hostLu.activate(h('0D 01 01')).send)
  s.toHost()
}

function bindAndSdt (s: ReturnType<typeof setup>): void {
  // A BIND needs a client behind the LU (NOTIFY enabled); without one it is refused with 083A.
  const lu = s.node.lu('LU1')
  if (!lu.attached) { lu.attach(); s.toHost() }
  s.toNode(s.plu.sendBind(decodeBind(V2_BIND), V2_BIND).send)
  s.toHost()
  s.toNode(s.plu.sendSdt().send)
  s.toHost()
}

t.test('ACTPU → ACTLU → NOTIFY → BIND → SDT → data both ways → UNBIND → DACTLU', async (t) => {
  const s = setup()
  const lu = s.node.lu('LU1')
  const events: string[] = []
  for (const e of ['active', 'inactive', 'sdt', 'clear'] as const) lu.on(e, () => events.push(e))
  lu.on('bind', (b: BindImage) => events.push(`bind:${(b.ps as Lu2Ps).rows}x${(b.ps as Lu2Ps).cols}`))
  lu.on('unbind', (type: number) => events.push(`unbind:${type}`))
  const data: LuDataEvent[] = []
  lu.on('data', (d) => data.push(d))
  let puActive = 0
  s.node.on('puActive', () => puActive++)

  // ACTPU (V7 header shape) and its +RSP: addresses swapped, SNF echoed, RU 11 + format/type
  s.toNode(s.hostPu.activate(encodeActpu({ format: 1, activationType: 2, fmProfile: 0, tsProfile: 1, sscpId: h('050000000001'), controlVectors: [{ key: 0x80, data: h('80') }] })).send)
  t.equal(hx(s.wire[0]!), '2D0000000001EB80001112')
  t.match(s.toHost(), [{ type: 'active' }])
  t.equal(s.hostPu.state, 'active'); t.equal(s.node.puActive, true); t.equal(puActive, 1)

  // ACTLU: +RSP carries the V8 body with status 01 (no client attached yet)
  t.equal(lu.state, 'inactive')
  s.toNode(s.hostLu.activate(h('0D 01 01')).send)
  t.equal(hx(s.wire[0]!), hx(h('2D 00 00 02 00 01 EB 80 00 0D 01 01 00 85 00 00 00 0C 0E 01 00 01 00 00 00 40 40 40 40 40 40 40 40')))
  t.match(s.toHost(), [{ type: 'active' }])
  t.equal(lu.state, 'active'); t.same(events, ['active'])

  // client attaches: NOTIFY(enabled) on the SSCP-LU session, RH 0B 00 20 (GA27-3136 NOTIFY)
  lu.attach()
  t.equal(hx(s.wire[0]!), hx(h('2C 00 00 02 00 01 0B 00 20 81 06 20 0C 0E 03 00 01 00 00 00 40 40 40 40 40 40 40 40')))
  const notifyEv = s.toHost()
  t.match(notifyEv, [{ type: 'data', fi: true }])
  t.equal(decodeNotify((notifyEv[0] as { ru: Buffer }).ru).enabled, true)
  t.ok(lu.attached)

  // BIND (V2) → +RSP(BIND) = EB 80 00 31 echoing the SNF
  const bindOut = s.plu.sendBind(decodeBind(V2_BIND), V2_BIND)
  const bindPiu = decodePiu(bindOut.send[0]!)
  s.toNode(bindOut.send)
  t.equal(hx(s.wire[0]!), `2D000102${bindPiu.th.snf.toString(16).padStart(4, '0').toUpperCase()}EB800031`)
  t.match(s.toHost(), [{ type: 'bind' }])
  t.equal(lu.state, 'bound'); t.equal(hx(lu.bindImage!), hx(V2_BIND)); t.equal(lu.bind?.maxPrimarySendRu, 1024)
  t.equal(s.plu.state, 'bound')

  // SDT → in session
  s.toNode(s.plu.sendSdt().send)
  t.match(decodePiu(s.wire[0]!).ru, h('A0'))
  t.match(s.toHost(), [{ type: 'sdt' }])
  t.equal(lu.state, 'in-session'); t.equal(s.plu.state, 'active')
  t.same(events, ['active', 'bind:24x80', 'sdt'])

  // host → LU: definite-response write (RQD1, BB, CD) with SNF 1; the gateway answers +RSP echoing SNF 1
  const w = s.plu.sendData(h('F5 C3 11 40 40 1D 60 C8 C5 D3 D3 D6'), { definite: true, cdi: true })
  t.equal(w.snf, 1)
  t.equal(hx(w.send[0]!.subarray(6, 9)), '0380A0')
  s.toNode(w.send)
  t.equal(data.length, 1)
  t.match(data[0], { chain: 'only', definite: true, snf: 1, pacing: false })
  t.equal(hx(data[0]!.ru), 'F5C3114040 1D60C8C5D3D3D6'.replace(/ /g, ''))
  t.equal(s.wire.length, 0, 'no automatic response to data')
  lu.sendResponse(1, true)
  t.equal(hx(s.wire[0]!), '2C0001020001838000')
  t.match(s.toHost(), [{ type: 'response', snf: 1, positive: true, request: 'DATA' }])

  // host → LU: a three-RU chain, exception response on the first two, definite on the last
  s.toNode(s.plu.sendData(h('F1 C3'), { eci: false }).send)
  s.toNode(s.plu.sendData(h('11 40 40'), { bci: false, eci: false }).send)
  s.toNode(s.plu.sendData(h('C1 C2'), { bci: false, definite: true, cdi: true }).send)
  t.same(data.slice(1).map((d) => [d.chain, d.definite, d.snf]), [['first', false, 2], ['middle', false, 3], ['last', true, 4]])
  lu.sendResponse(4, true)
  t.match(s.toHost(), [{ type: 'response', snf: 4, positive: true }])
  t.throws(() => lu.sendResponse(2, true), { code: 'TN3270LB_ERR_SNA_STATE' }, 'exception-response request cannot get +RSP')
  t.throws(() => lu.sendResponse(99, true), /no received normal-flow request with SNF 99/)

  // LU → host: PF8 as in KB Q162147 (RH 03 90 20: RQE1, CD, inside the host's bracket)
  const snfIn = lu.sendData(h('F8 C3 7E'), { changeDirection: true })
  t.equal(snfIn, 1)
  t.equal(hx(s.wire[0]!), '2C0001020001039020F8C37E')
  const hostData = s.toHost()
  t.match(hostData, [{ type: 'data', chain: 'only', definite: false, snf: 1 }])

  // LU → host definite; host answers; the LU sees the response
  const responses: ResponseEvent[] = []
  lu.on('response', (r) => responses.push(r))
  const snf2 = lu.sendData(h('7D 40 40'), { definite: true })
  s.toHost()
  s.toNode([s.plu.respond(snf2, true)])
  t.match(responses, [{ snf: 2, positive: true, request: 'DATA' }])
  // and a -RSP from the host
  const snf3 = lu.sendData(h('7D 40 40'), { definite: true })
  s.toHost()
  s.toNode([s.plu.respond(snf3, 0x08020000)])
  t.match(responses[1], { snf: 3, positive: false, sense: 0x08020000 })

  // automatic chaining by the BIND's secondary max RU (256)
  const big = Buffer.alloc(600, 0x40)
  const lastSnf = lu.sendData(big, { chain: true, definite: true })
  t.equal(lastSnf, 6)
  const chainEvents = s.toHost() as LuLuEvent[]
  t.same(chainEvents.map((e) => (e as { chain: string }).chain), ['first', 'middle', 'last'])
  t.same(chainEvents.map((e) => (e as { definite: boolean }).definite), [false, false, true])

  // pacing request from the host is visible; the gateway's IPR goes out as 2C 00 01 02 00 00 83 01 00
  const paced: number[] = []
  lu.on('pacing', (p) => paced.push(p.snf))
  s.toNode(s.plu.sendData(h('F1 C3'), { pi: true }).send)
  t.same(paced, [5]); t.equal(data.at(-1)!.pacing, true)
  lu.sendIpr()
  t.equal(hx(s.wire[0]!), '2C0001020000830100')
  t.match(s.toHost(), [{ type: 'ipr' }])

  // UNBIND type 01 from the host → +RSP(UNBIND), back to 'active'
  const ub = s.plu.sendUnbind(1)
  const ubPiu = decodePiu(ub.send[0]!)
  s.toNode(ub.send)
  t.equal(hx(s.wire[0]!), `2D000102${ubPiu.th.snf.toString(16).padStart(4, '0').toUpperCase()}EB800032`)
  t.match(s.toHost(), [{ type: 'unbind', unbindType: 1 }])
  t.equal(lu.state, 'active'); t.equal(lu.bindImage, undefined); t.equal(s.plu.state, 'reset')

  // client leaves: NOTIFY(disabled)
  lu.detach()
  t.equal(hx(s.wire[0]!.subarray(9, 15)), '8106200C0E01')
  s.toHost()

  // DACTLU → +RSP(DACTLU) and 'inactive'
  s.toNode(s.hostLu.deactivate(encodeDactlu()).send)
  t.equal(hx(decodePiu(s.wire[0]!).ru), '0E')
  t.match(s.toHost(), [{ type: 'inactive' }])
  t.equal(lu.state, 'inactive')
  t.same(events, ['active', 'bind:24x80', 'sdt', 'unbind:1', 'inactive'])
  t.equal(s.clock.now(), 1000); t.equal(lu.lastActivity, 1000)
})

t.test('bad BINDs are rejected with 0835 pointer senses that echo the SNF', async (t) => {
  const s = setup()
  activate(s)
  const lu = s.node.lu('LU1')
  lu.attach() // a client holds the LU (a BIND for an LU nobody holds is refused, see below)
  s.take()
  const errors: unknown[] = []
  s.node.on('protocolError', (e) => errors.push(e))
  const bindPiu = (ru: Buffer, snf: number): Buffer => encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 1, snf }, rh: commandRh('SC'), ru })

  // FM profile 4 (byte 2) → 0835 0002
  const fm4 = Buffer.from(V2_BIND); fm4[2] = 0x04
  s.toNode([bindPiu(fm4, 0x4c48)])
  t.equal(hx(s.take()[0]!), '2D0001024C48EF900008350002' + '31')
  // LU type 1 (byte 14) → 0835 000E
  const lu1 = Buffer.from(V2_BIND); lu1[14] = 0x01
  s.toNode([bindPiu(lu1, 0x0101)])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '0835000E31')
  // max RU X'45' (mantissa < 8) at byte 10 → 0835 000A
  const ru45 = Buffer.from(V2_BIND); ru45[10] = 0x45
  s.toNode([bindPiu(ru45, 0x0102)])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '0835000A31')
  // truncated BIND (ends inside the PS characteristics) → pointer at the first missing byte
  s.toNode([bindPiu(V2_BIND.subarray(0, 20), 0x0103)])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '0835000F31')
  // screen 12x40 with code 7E → 0835 0014 (rows/cols at byte 20)
  const small = Buffer.from(V2_BIND); small[20] = 12; small[21] = 40; small[24] = 0x7e
  s.toNode([bindPiu(small, 0x0104)])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '0835001431')
  t.equal(lu.state, 'active')
  t.equal(errors.length, 5)

  // then a good BIND is accepted; a second BIND while bound gets 0815
  s.toNode([bindPiu(V2_BIND, 0x0200)])
  t.equal(hx(s.take()[0]!), '2D0001020200EB800031')
  t.equal(lu.state, 'bound')
  s.toNode([bindPiu(V2_BIND, 0x0201)])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '0815000031')
})

t.test('custom validateBind hook', async (t) => {
  const wire: Buffer[] = []
  const node = new DependentLuNode({ puName: 'PU1', lus: [{ name: 'LU1', locaddr: 2 }], send: (b) => wire.push(b), logger: silentLogger(), clock: new FakeClock(), validateBind: (lu, b) => lu === 'LU1' && b.maxPrimarySendRu > 512 ? 0x0835000b : undefined })
  const th = (snf: number, daf = 2, oaf = 0, efi = true) => ({ mpf: 'whole' as const, odai: false, efi, daf, oaf, snf })
  node.receive(encodePiu({ th: th(1, 0, 0), rh: commandRh('SC'), ru: encodeActpu({ format: 0, activationType: 1, fmProfile: 0, tsProfile: 1, sscpId: Buffer.alloc(6), controlVectors: [] }) }))
  node.receive(encodePiu({ th: th(2), rh: commandRh('SC'), ru: h('0D0101') }))
  node.lu('LU1').attach()
  wire.length = 0
  node.receive(encodePiu({ th: th(3, 2, 1), rh: commandRh('SC'), ru: V2_BIND }))
  t.equal(hx(decodePiu(wire[0]!).ru), '0835000B31')
})

t.test('data-traffic errors: sequence 2001, chaining 2002, brackets 2003, no SDT', async (t) => {
  const s = setup()
  activate(s)
  const lu = s.node.lu('LU1')
  const errs: Array<{ reason: string, sense?: number }> = []
  lu.on('protocolError', (e) => errs.push(e))
  lu.attach()
  s.toHost()
  s.toNode(s.plu.sendBind(decodeBind(V2_BIND), V2_BIND).send)
  s.toHost()
  const dataPiu = (snf: number, rh: Partial<Parameters<typeof requestRh>[0]>): Buffer =>
    encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 1, snf }, rh: requestRh({ mode: 'RQE1', ...rh }), ru: h('F1C3') })
  // before SDT: data traffic reset (2005)
  s.toNode([dataPiu(1, { bbi: true })])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '20050000')
  s.toNode(s.plu.sendSdt().send)
  s.toHost()
  // SNF 2 when 1 is expected → 2001 with the SNF echoed
  s.toNode([dataPiu(2, { bbi: true })])
  const seq = decodePiu(s.take()[0]!)
  t.equal(seq.th.snf, 2); t.equal(hx(seq.ru), '20010000')
  // next (3) is in order again; between brackets without BB → 2003
  s.toNode([dataPiu(3, {})])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '20030000')
  // begin chain with BB, then a second begin-chain → 2002
  s.toNode([dataPiu(4, { bbi: true, eci: false })])
  t.equal(s.take().length, 0)
  s.toNode([dataPiu(5, { bci: true })])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '20020000')
  // middle without a chain → 2002
  s.toNode([dataPiu(6, { bci: false })])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '20020000')
  // BB while in a bracket → 2003
  s.toNode([dataPiu(7, { bbi: true })])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '20030000')
  // secondary may not end brackets (V2 byte 5 bit 7 = 0)
  t.throws(() => lu.sendData(h('7D'), { endBracket: true }), /does not allow the secondary to end brackets/)
  // no-response request with an error: nothing sent, error still surfaced
  s.toNode([encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 1, snf: 99 }, rh: requestRh({ mode: 'none' }), ru: h('F1') })])
  t.equal(s.take().length, 0)
  t.same(errs.map((e) => e.sense), [0x20050000, 0x20010000, 0x20030000, 0x20020000, 0x20020000, 0x20030000, 0x20010000])
  // CLEAR resets sequence numbers: after CLEAR + SDT the next request is SNF 1 again
  s.toNode(s.plu.sendClear().send)
  t.match(s.toHost(), [{ type: 'clear' }])
  t.equal(lu.state, 'bound')
  s.toNode(s.plu.sendSdt().send); s.toHost()
  s.toNode([dataPiu(1, { bbi: true })])
  t.equal(s.take().length, 0)
})

t.test('BIND before our +RSP(UNBIND): accepted for type 0F, rejected for type 01', async (t) => {
  const s = setup()
  activate(s)
  const lu = s.node.lu('LU1')
  bindAndSdt(s)
  // host resets at once on UNBIND type 0F and BINDs again before it has seen our +RSP
  const ub = s.plu.sendUnbind(0x0f)
  t.equal(s.plu.state, 'reset')
  const bind2 = s.plu.sendBind(decodeBind(V2_BIND), V2_BIND)
  s.toNode(ub.send); s.toNode(bind2.send)
  const evs = s.toHost()
  t.match(evs, [{ type: 'bind', bind: { luType: 2 } }])
  t.equal(s.plu.state, 'bound'); t.equal(lu.state, 'bound')

  // machine level: an UNBIND left unanswered (autoRespondUnbind=false) and the following BIND
  const slu = new LuLuHalfSession({ role: 'secondary', localAddress: 2, remoteAddress: 1, autoRespondUnbind: false })
  const host = new LuLuHalfSession({ role: 'primary', localAddress: 1, remoteAddress: 2 })
  const feed = (bufs: Buffer[]) => bufs.flatMap((b) => slu.receive(decodePiu(b)).send)
  const back = (bufs: Buffer[]) => bufs.flatMap((b) => host.receive(decodePiu(b)).events)
  back(feed(host.sendBind(decodeBind(V2_BIND), V2_BIND).send))
  t.equal(slu.state, 'bound')
  t.same(feed(host.sendUnbind(0x0f).send), [])
  t.equal(slu.state, 'unbinding')
  const bound = back(feed(host.sendBind(decodeBind(V2_BIND), V2_BIND).send))
  t.match(bound, [{ type: 'bind' }])
  t.equal(slu.state, 'bound')
  const late = slu.respondUnbind().send
  t.equal(hx(decodePiu(late[0]!).ru), '32')
  t.same(back(late), [], 'a late +RSP(UNBIND) is absorbed')
  t.equal(slu.state, 'bound')
  t.throws(() => slu.respondUnbind(), { code: 'TN3270LB_ERR_SNA_STATE' })

  // type 01: the host waits for +RSP; a BIND in between is rejected with 0815
  back(feed(host.sendSdt().send))
  t.same(feed(host.sendUnbind(0x01).send), [])
  t.equal(host.state, 'pending-unbind')
  const rebind = encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 1, snf: 0x300 }, rh: commandRh('SC'), ru: V2_BIND })
  const rej = slu.receive(decodePiu(rebind))
  t.equal(hx(decodePiu(rej.send[0]!).ru), '0815000031')
  t.match(back(slu.respondUnbind().send), [{ type: 'unbind', unbindType: 1, local: true }])
  t.equal(slu.state, 'reset'); t.equal(host.state, 'reset')
})

t.test('link down, DACTPU, routing errors', async (t) => {
  const s = setup()
  activate(s)
  bindAndSdt(s)
  const lu = s.node.lu('LU1')
  const seen: string[] = []
  lu.on('unbind', (type) => seen.push(`unbind:${type}`))
  lu.on('inactive', () => seen.push('inactive'))
  let puDown = 0
  s.node.on('puInactive', () => puDown++)
  s.node.linkDown()
  t.same(seen, ['unbind:8', 'inactive'])
  t.equal(lu.state, 'inactive'); t.equal(s.node.puActive, false); t.equal(puDown, 1)
  t.equal(s.wire.length, 0)
  t.throws(() => lu.sendData(h('7D')), /needs in-session/)
  t.throws(() => lu.sendSscpData(h('C1')), /SSCP-LU session is reset/)
  t.throws(() => lu.sendIpr(), /without an LU-LU session/)

  // re-activation after the link comes back; DACTPU resets the LUs too
  const s2 = setup()
  activate(s2)
  const lu2 = s2.node.lu('LU1')
  const down: string[] = []
  lu2.on('inactive', () => down.push('inactive'))
  s2.toNode(s2.hostPu.deactivate(encodeDactpu()).send)
  t.equal(hx(decodePiu(s2.wire[0]!).ru), '12')
  t.match(s2.toHost(), [{ type: 'inactive' }])
  t.same(down, ['inactive']); t.equal(lu2.state, 'inactive')

  // unknown DAF → -RSP 8004; LU-LU request to an inactive LU → -RSP 8009
  const errs: unknown[] = []
  s2.node.on('protocolError', (e) => errs.push(e))
  s2.node.receive(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 9, oaf: 1, snf: 7 }, rh: commandRh('SC'), ru: V2_BIND }))
  t.equal(hx(s2.take()[0]!), '2D0001090007EF90008004000031')
  s2.node.receive(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 3, oaf: 1, snf: 8 }, rh: commandRh('SC'), ru: V2_BIND }))
  t.equal(hx(decodePiu(s2.take()[0]!).ru), '8009000031')
  // ODAI=1 and malformed PIUs are dropped
  s2.node.receive(h('2E 00 03 01 00 01 03 90 20 F1'))
  s2.node.receive(h('2C 00 03'))
  s2.node.receive(h('1C 00 03 01 00 01 03 90 20'))
  t.equal(s2.wire.length, 0)
  t.equal(errs.length, 5)
  t.throws(() => s2.node.lu('NOPE'), { code: 'TN3270LB_ERR_LU_UNAVAILABLE' })
  t.equal(s2.node.lus().length, 2)
})

t.test('SSCP-LU traffic: character-coded data both ways, attach before ACTLU', async (t) => {
  const s = setup()
  const lu = s.node.lu('LU1')
  lu.attach() // nothing to send yet: the SSCP-LU session is not active
  t.equal(s.wire.length, 0)
  activate(s)
  // +RSP(ACTLU) reported the LU enabled (status 03) because a client was attached
  const sscpData: Buffer[] = []
  lu.on('sscpData', (d) => sscpData.push(d))
  const uss = s.hostLu.sendData(h('C5 D5 E3 C5 D9'), { fi: false })
  s.toNode(uss.send)
  t.same(sscpData, [h('C5D5E3C5D9')])
  t.match(s.toHost(), [{ type: 'response', snf: uss.snf, positive: true }])
  // typed LOGON text from the client
  const sscpRsp: ResponseEvent[] = []
  lu.on('sscpResponse', (r) => sscpRsp.push(r))
  const snf = lu.sendSscpData(h('D3 D6 C7 D6 D5'))
  const hostEv = s.toHost()
  t.match(hostEv, [{ type: 'data', fi: false, snf }])
  const rsp = s.hostLu.respond(snf, true)
  t.equal(hx(rsp).slice(12, 18), '838000')
  s.toNode([rsp])
  t.match(sscpRsp, [{ snf, positive: true, request: 'DATA' }])
  // unsupported SC request on SSCP-LU → -RSP 1003
  s.node.receive(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 0, snf: 0x33 }, rh: commandRh('SC'), ru: h('A2') }))
  t.equal(hx(decodePiu(s.take()[0]!).ru), '10030000A2')
  // SSCP-PU: NS request (e.g. NMVT) gets -RSP 1003 with its NS header
  s.node.receive(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 0, oaf: 0, snf: 0x34 }, rh: requestRh({ fi: true }), ru: h('41038D0000') }))
  t.equal(hx(decodePiu(s.take()[0]!).ru), '1003000041038D')
})

t.test('constructor validation', async (t) => {
  const base = { puName: 'PU', send: () => {}, logger: silentLogger(), clock: new FakeClock() }
  t.throws(() => new DependentLuNode({ ...base, lus: [{ name: 'A', locaddr: 0 }] }), /must be 1-255/)
  t.throws(() => new DependentLuNode({ ...base, lus: [{ name: 'A', locaddr: 2 }, { name: 'A', locaddr: 3 }] }), /defined twice/)
  t.throws(() => new DependentLuNode({ ...base, lus: [{ name: 'A', locaddr: 2 }, { name: 'B', locaddr: 2 }] }), /already used by A/)
  // the BIND encoder output used by the scripted host is the V2 image
  t.equal(hx(encodeBind(decodeBind(V2_BIND))), hx(V2_BIND))
})


t.test('gateway-initiated UNBIND, SSCP-PU odds and ends', async (t) => {
  const s = setup()
  activate(s)
  bindAndSdt(s)
  const lu = s.node.lu('LU1')
  const unbinds: number[] = []
  lu.on('unbind', (type) => unbinds.push(type))
  // the client went away: the SLU sends UNBIND(01) and waits for the PLU's +RSP
  lu.sendUnbind()
  t.equal(hx(decodePiu(s.wire[0]!).ru), '3201')
  t.equal(lu.state, 'active', 'no longer in session while the UNBIND is outstanding')
  t.same(unbinds, [])
  const hostSide = s.plu.receive(decodePiu(s.take()[0]!))
  t.match(hostSide.events, [{ type: 'unbind', unbindType: 1, local: false }])
  t.equal(hx(decodePiu(hostSide.send[0]!).ru), '32')
  s.toNode(hostSide.send)
  t.equal(s.plu.state, 'reset')
  // the PLU's +RSP(UNBIND) came back through the host machine's auto response
  t.same(unbinds, [1])
  t.equal(lu.state, 'active')
  // SSCP-PU: an SC request the PU does not implement (STSN) → -RSP 1003; a stray response → protocolError
  const errs: unknown[] = []
  s.node.on('protocolError', (e) => errs.push(e))
  s.node.receive(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 0, oaf: 0, snf: 0x40 }, rh: commandRh('SC'), ru: h('A2') }))
  t.equal(hx(decodePiu(s.take()[0]!).ru), '10030000A2')
  s.node.receive(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 0, oaf: 0, snf: 0x41 }, rh: { rri: true, category: 'SC', fi: true, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: h('A2') }))
  t.match(errs, [{ reason: /SNF 65 matches no outstanding request/ }])
  // SSCP-LU: a stray response is a protocol error on the LU
  const luErrs: unknown[] = []
  lu.on('protocolError', (e) => luErrs.push(e))
  s.node.receive(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 0, snf: 0x42 }, rh: { rri: true, category: 'FMD', fi: false, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: Buffer.alloc(0) }))
  t.match(luErrs, [{ reason: /SNF 66 matches no outstanding request/ }])
  // SSCP-PU character-coded data without a response requested: nothing sent
  s.node.receive(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 0, oaf: 0, snf: 0x43 }, rh: requestRh({ mode: 'none' }), ru: h('C1') }))
  t.equal(s.wire.length, 0)
})

t.test('random PIUs never break the node (no exception escapes the half-sessions)', async (t) => {
  const fc = (await import('fast-check')).default
  const s = setup()
  activate(s)
  bindAndSdt(s)
  const failures: string[] = []
  s.node.on('protocolError', (e) => { if (e.reason.startsWith('PIU handling failed')) failures.push(e.reason) })
  for (const lu of s.node.lus()) lu.on('protocolError', () => {})
  const codes = [[], [0x31], [0x32], [0x32, 0xfe], [0xa0], [0xa1], [0x0d], [0x0e], [0x11], [0x12], [0xc9], [0x04], [0x81, 0x06, 0x20], [0x83, 0x01, 0x00]]
  fc.assert(fc.property(
    fc.constantFrom(0, 2, 3, 9), fc.constantFrom(0, 1, 5), fc.boolean(), fc.integer({ min: 0, max: 0xffff }),
    fc.uint8Array({ minLength: 3, maxLength: 3 }), fc.constantFrom(...codes), fc.uint8Array({ maxLength: 12 }),
    (daf, oaf, efi, snf, rh, code, tail) => {
      const buf = Buffer.concat([Buffer.from([efi ? 0x2d : 0x2c, 0, daf, oaf, snf >> 8, snf & 0xff]), Buffer.from(rh), Buffer.from(code), Buffer.from(tail)])
      s.node.receive(buf)
      s.take()
      if (failures.length > 0) console.error('FAIL', buf.toString('hex'), failures[0])
      return failures.length === 0
    }), { numRuns: 3000, ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }) })
  t.same(failures, [])
})

t.test('an exception thrown by a listener is logged and reported, the node keeps going', async (t) => {
  const s = setup()
  activate(s)
  const lu = s.node.lu('LU1')
  lu.attach() // SSCP-LU data reaches listeners only while a client holds the LU
  s.take()
  lu.once('sscpData', () => { throw new Error('listener bug') })
  const errs: Array<{ reason: string }> = []
  s.node.on('protocolError', (e) => errs.push(e))
  s.toNode(s.hostLu.sendData(h('C1'), { fi: false }).send)
  t.match(errs, [{ reason: 'PIU handling failed: listener bug' }])
  // the +RSP went out before the listener ran; the next PIU is processed normally
  t.equal(s.take().length, 1)
  const seen: Buffer[] = []
  lu.on('sscpData', (d) => seen.push(d))
  s.toNode(s.hostLu.sendData(h('C2'), { fi: false }).send)
  t.same(seen, [h('C2')])
})

t.test('an NS request shorter than its 3-byte header gets -RSP 1002, not a handling failure', async (t) => {
  const s = setup()
  activate(s)
  const errs: Array<{ reason: string, sense?: number }> = []
  s.node.on('protocolError', (e) => errs.push(e))
  // found by the property test above: TH 2C 00 02 00 C4 ED, RH 1B 23 F3 (FMD, FI, RQD), RU 0D
  s.node.receive(Buffer.from('2c000200c4ed1b23f30d', 'hex'))
  const [rsp] = s.take()
  t.ok(rsp, 'a response was sent')
  const piu = decodePiu(rsp!)
  t.equal(piu.rh!.rri, true)
  t.equal(piu.ru.readUInt32BE(0), 0x10020000, 'sense 1002 RU length error')
  t.equal(piu.th.snf, 0xc4ed, 'SNF echoed')
  t.match(errs, [{ reason: /shorter than its 3-byte header/, sense: 0x10020000 }])
})

// The gateway side of a client leaving and of the keys an SNA 3270 has: NOTIFY(disabled) asks a
// definite response so the LU goes back only once the SSCP has seen it; a BIND the host sent before
// it saw the NOTIFY is refused with 083A ("LU not enabled", IBM sc083a) without a protocol error;
// ATTN is SIGNAL X'0001' (request to send), expedited RQD1; LUSTAT travels as normal-flow DFC;
// what the host sent before it saw our UNBIND is answered negatively but is no protocol error.
t.test('NOTIFY(disabled) RQD1, stale BIND refused 083A, SIGNAL and LUSTAT, crossings after our UNBIND', async (t) => {
  const s = setup()
  activate(s)
  const lu = s.node.lu('LU1')
  const errors: unknown[] = []
  s.node.on('protocolError', (e) => errors.push(e))
  lu.on('protocolError', (e) => errors.push(e))
  bindAndSdt(s)
  // ATTN → SIG: TH 2D (expedited), RH 4B 80 00 (DFC, FI, BC EC, RQD1), RU C9 0001 0000
  const sigSnf = lu.sendSignal()
  const sig = s.wire[0]!
  t.equal(hx(sig.subarray(0, 1)), '2D')
  t.equal(hx(sig.subarray(6)), '4B8000C900010000')
  t.equal(decodePiu(sig).th.snf, sigSnf)
  t.match(s.toHost(), [{ type: 'request', name: 'SIG', expedited: true }])
  // LUSTAT 082B 0000 as normal-flow DFC: RH 4B 80 20 … (DFC, FI, BC EC, RQD1 off → RQE1, CD)
  lu.sendData(h('04 082B 0000'), { category: 'DFC', changeDirection: true })
  const lustat = decodePiu(s.wire[0]!)
  t.match(lustat.rh, { category: 'DFC', fi: true, bci: true, eci: true })
  t.match(s.toHost(), [{ type: 'request', name: 'LUSTAT' }])
  // Our UNBIND, then the host's data and SDT that crossed it: -RSP, no protocol error.
  lu.sendUnbind()
  const unbind = decodePiu(s.take()[0]!)
  const crossing = encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 1, snf: 9 }, rh: requestRh({ mode: 'RQD1' }), ru: h('F1C3') })
  s.toNode([crossing])
  t.equal(hx(decodePiu(s.take()[0]!).ru), '80050001')
  t.same(errors, [], 'crossings are not protocol errors')
  s.toNode(s.plu.receive(unbind).send)
  t.equal(lu.luLu.state, 'reset', '+RSP(UNBIND) ends it')
  // The client leaves: NOTIFY(disabled) with a definite response, its SNF returned.
  const snf = lu.detach()
  const notify = decodePiu(s.wire[0]!)
  t.equal(notify.th.snf, snf)
  t.match(notify.rh, { dr1: true })
  const responses: unknown[] = []
  lu.on('sscpResponse', (r) => responses.push(r))
  let detached = 0
  lu.on('detached', () => detached++)
  t.equal(lu.detaching, true, 'NOTIFY(disabled) unanswered')
  s.hostLu.receive(decodePiu(s.take()[0]!))
  // The host's USS screen for the old terminal, written before it saw the NOTIFY: not delivered.
  const sscpData: unknown[] = []
  lu.on('sscpData', (d) => sscpData.push(d))
  s.toNode(s.hostLu.sendData(h('C8C9'), { fi: false, mode: 'RQD1' }).send)
  t.same(sscpData, [], 'SSCP-LU data for an LU with no client is not delivered')
  t.match(decodePiu(s.take()[0]!).rh, { rri: true }, 'but it is answered')
  s.toNode([s.hostLu.respond(snf!, true)])
  t.match(responses, [{ snf, positive: true }], '+RSP(NOTIFY) reaches the LU')
  t.equal(lu.detaching, false)
  t.equal(detached, 1, "'detached' once the host answered")
  // A BIND now (sent before the host saw the NOTIFY) finds no client: -RSP 083A, no protocol error.
  const plu2 = new LuLuHalfSession({ role: 'primary', localAddress: 1, remoteAddress: 2 })
  s.toNode(plu2.sendBind(decodeBind(V2_BIND), V2_BIND).send)
  t.equal(hx(decodePiu(s.take()[0]!).ru), '083A000031')
  t.same(errors, [])
  t.equal(lu.state, 'active')
})
