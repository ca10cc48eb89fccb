// Half-session state machines in both roles, wired back to back (primary ⇄ secondary), plus the
// error transitions a single scripted side can provoke.
import t from 'tap'
import {
  ActivationHalfSession, LuLuHalfSession, decodePiu, encodePiu, decodeBind, encodeBind, commandRh, requestRh, encodeIpm,
  encodeDactlu, tsProfileUsesSdt, hex, type BindImage, type LuLuEvent, type ActivationEvent, type Decision, type Lu2Ps,
} from '../../lib/sna/index.js'
import { ErrorCodes } from '../../lib/errors.js'

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const V1 = h('31 01 03 03 B1 90 30 80 00 87 87 F8 87 00 02 80 00 00 00 00 18 50 00 00 7E 00 00 08 C9 C2 D4 F0 D4 D6 D5 F2 00 05 00 7E E5 1C 10 08 C9 C2 D4 F0 E3 C5 E2 D4')
const V4 = h(`31 00 13 07 B0 B0 50 B1 07 07 89 89 87 07 06 02 00 00 00 00 00 00 00 16 23 00 00
  10 E4E2D4E4E3D3F0F14BD4E2E2D3E4F1F6
  32 00 09 02 C4E2C9D3F6D4D6C4 09 03 F000000000000005 11 04 E4E2D4E4E3D3F0F14BD4E2E2D3E4F1F6 0A 13 00 17145F7F7341E14B
  00 11 E4E2D4E4E3D3F0F14BC3C9C3E2C3E5F3F1`)
const V4_RSP = h(`31 00 13 07 B0 B0 50 B1 07 03 89 89 83 07 06 02 00 00 00 00 00 00 00 00 23 00 00
  00 28 00 09 02 C4E2C9D3F6D4D6C4 09 03 F000000000000005 12 05 E4E2D4E4E3D3F0F14BC3C9C3E2C3E5F3F1 00 00`)

type Ev = LuLuEvent | ActivationEvent
interface Side { receive: (p: ReturnType<typeof decodePiu>) => Decision<Ev> }
/** Delivers PIUs to `to`, returns its events; PIUs it sends back go to `back` (one hop). */
function deliver (bufs: Buffer[], to: Side, back?: Side): { events: Ev[], backEvents: Ev[], replies: Buffer[] } {
  const events: Ev[] = []; const backEvents: Ev[] = []; const replies: Buffer[] = []
  for (const b of bufs) {
    const d = to.receive(decodePiu(b))
    events.push(...d.events)
    replies.push(...d.send)
    if (back !== undefined) for (const r of d.send) backEvents.push(...back.receive(decodePiu(r)).events)
  }
  return { events, backEvents, replies }
}

function lu2Pair (opts: { validate?: (b: BindImage) => number | undefined } = {}) {
  const plu = new LuLuHalfSession({ role: 'primary', localAddress: 1, remoteAddress: 2 })
  const slu = new LuLuHalfSession({ role: 'secondary', localAddress: 2, remoteAddress: 1, ...(opts.validate ? { validateBind: opts.validate } : {}) })
  return { plu, slu }
}

function bound (): ReturnType<typeof lu2Pair> {
  const p = lu2Pair()
  deliver(p.plu.sendBind(decodeBind(V1), V1).send, p.slu, p.plu)
  deliver(p.plu.sendSdt().send, p.slu, p.plu)
  return p
}

t.test('SSCP-LU primary ⇄ secondary: activation, failure, deactivation, wrong roles', async (t) => {
  const sscp = new ActivationHalfSession({ kind: 'sscp-lu', role: 'primary', localAddress: 0, remoteAddress: 2 })
  const lu = new ActivationHalfSession({ kind: 'sscp-lu', role: 'secondary', localAddress: 2, remoteAddress: 9 })
  t.throws(() => lu.activate(h('0D0101')), /ACTLU send by a secondary not allowed/)
  t.throws(() => sscp.deactivate(encodeDactlu()), /DACTLU send not allowed in state reset \(needs active\)/)
  t.throws(() => sscp.activate(h('0E01')), /needs an ACTLU RU/)
  t.throws(() => sscp.sendData(h('C1')), /sscp-lu data send not allowed in state reset/)
  // request in reset → -RSP 8009
  const early = deliver([encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 0, snf: 1 }, rh: requestRh(), ru: h('C1') })], lu)
  t.equal(hex(decodePiu(early.replies[0]!).ru), '80090000')
  // -RSP(ACTLU) → activation-failed
  const act = sscp.activate(h('0D0101'))
  t.equal(sscp.state, 'pending-active')
  const actPiu = decodePiu(act.send[0]!)
  const failed = sscp.receive(decodePiu(encodePiu({ th: { ...actPiu.th, daf: 0, oaf: 2 }, rh: { rri: true, category: 'SC', fi: true, sdi: true, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: true }, ru: h('08010000 0D') })))
  t.match(failed.events, [{ type: 'activation-failed', sense: 0x08010000 }])
  t.equal(sscp.state, 'reset')
  // successful activation; the secondary learns the SSCP address from the OAF
  const ok = deliver(sscp.activate(h('0D0101')).send, lu, sscp)
  t.match(ok.events, [{ type: 'active', reactivation: false }]); t.match(ok.backEvents, [{ type: 'active' }])
  t.equal(lu.remoteAddress, 0); t.equal(lu.localAddress, 2)
  // primary receiving an ACTLU/DACTLU answers -RSP 1003
  const wrong = deliver([encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 0, oaf: 2, snf: 9 }, rh: commandRh('SC'), ru: h('0D0101') }),
    encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 0, oaf: 2, snf: 10 }, rh: commandRh('SC'), ru: h('0E01') })], sscp)
  t.same(wrong.replies.map((r) => hex(decodePiu(r).ru)), ['100300000D', '100300000E'])
  // character-coded data from the secondary: a 'data' event; the primary answers
  const d = lu.sendData(h('C8C5D3D7'), { fi: false })
  const got = deliver(d.send, sscp)
  t.match(got.events, [{ type: 'data', fi: false, snf: d.snf }])
  t.match(lu.receive(decodePiu(sscp.respond(d.snf, true))).events, [{ type: 'response', snf: d.snf, positive: true }])
  // responses that match nothing, and +RSP to an exception-mode request
  const exc = lu.sendData(h('C1'), { mode: 'RQE1' })
  t.same(sscp.receive(decodePiu(exc.send[0]!)).send, [], 'the primary machine never answers data by itself')
  const wrongPositive = encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 0, snf: exc.snf }, rh: { rri: true, category: 'FMD', fi: false, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: Buffer.alloc(0) })
  t.throws(() => sscp.respond(exc.snf, true), /asked for an exception response/)
  t.match(lu.receive(decodePiu(wrongPositive)).events, [{ type: 'protocol-error', reason: /positive response to exception-response request SNF 2/ }])
  t.match(lu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 0, snf: 77 }, rh: { rri: true, category: 'FMD', fi: false, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: Buffer.alloc(0) }))).events,
    [{ type: 'protocol-error', reason: /SNF 77 matches no outstanding request/ }])
  t.match(lu.receive({ th: { mpf: 'middle', odai: false, efi: false, daf: 2, oaf: 0, snf: 1 }, ru: h('00') }).events, [{ type: 'protocol-error', reason: /segmented/ }])
  // a non-FMD request on an active session is surfaced for the caller
  t.match(lu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 0, snf: 12 }, rh: commandRh('SC'), ru: h('A2') }))).events, [{ type: 'request', name: 'STSN' }])
  t.match(lu.respond(12, 0x10030000, { expedited: true }), Buffer)
  // re-activation while active is reported with reactivation = true
  const re = lu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 0, snf: 13 }, rh: commandRh('SC'), ru: h('0D0102') })))
  t.match(re.events, [{ type: 'active', reactivation: true }])
  // DACTLU from the primary
  const deact = deliver(sscp.deactivate(encodeDactlu()).send, lu, sscp)
  t.match(deact.events, [{ type: 'inactive' }]); t.match(deact.backEvents, [{ type: 'inactive' }])
  t.equal(sscp.state, 'reset'); t.equal(lu.state, 'reset')
  // DACTLU while reset: +RSP, no event
  const again = lu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 0, snf: 14 }, rh: commandRh('SC'), ru: h('0E01') })))
  t.same(again.events, []); t.equal(hex(decodePiu(again.send[0]!).ru), '0E')
  // reset() on an active session reports inactive; on a reset one nothing
  deliver(sscp.activate(h('0D0101')).send, lu, sscp)
  t.match(lu.reset().events, [{ type: 'inactive' }]); t.same(lu.reset().events, [])
  // SSCP-PU flavour: requests in reset get 8005
  const pu = new ActivationHalfSession({ kind: 'sscp-pu', role: 'secondary', localAddress: 0, remoteAddress: 0 })
  const r = pu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 0, oaf: 0, snf: 1 }, rh: requestRh({ fi: true }), ru: h('41038D') })))
  t.equal(hex(decodePiu(r.send[0]!).ru), '8005000041038D')
  const none = pu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 0, oaf: 0, snf: 2 }, rh: requestRh({ fi: true, mode: 'none' }), ru: h('41038D') })))
  t.same(none.send, [])
})

t.test('LU-LU: BIND rejected, negotiated, TS profile 7 without SDT', async (t) => {
  // secondary validation rejects → primary sees bind-rejected
  const p = lu2Pair({ validate: () => 0x08210000 })
  const r = deliver(p.plu.sendBind(decodeBind(V1), V1).send, p.slu, p.plu)
  t.match(r.events, [{ type: 'bind-rejected', sense: 0x08210000 }])
  t.match(r.backEvents, [{ type: 'bind-rejected', sense: 0x08210000 }])
  t.equal(p.plu.state, 'reset'); t.equal(p.slu.state, 'reset')
  // LU 6.2 (TS 7): the secondary returns the negotiated image (V4 +RSP); both go straight to active
  t.equal(tsProfileUsesSdt(7), false); t.equal(tsProfileUsesSdt(3), true)
  const plu = new LuLuHalfSession({ role: 'primary', localAddress: 2, remoteAddress: 4, odai: true })
  const slu = new LuLuHalfSession({ role: 'secondary', localAddress: 4, remoteAddress: 2, odai: true, bindResponse: () => V4_RSP })
  const n = deliver(plu.sendBind(decodeBind(V4), V4).send, slu, plu)
  t.match(n.events, [{ type: 'bind' }])
  t.equal(hex(decodePiu(n.replies[0]!).ru), hex(V4_RSP))
  t.equal(decodePiu(n.replies[0]!).th.odai, true)
  const negotiated = n.backEvents[0] as { type: 'bind', bind: BindImage, ru: Buffer }
  t.equal(negotiated.type, 'bind'); t.equal(negotiated.bind.pacing.secondaryReceiveWindow, 3); t.equal(hex(negotiated.ru), hex(V4_RSP))
  t.equal(plu.state, 'active'); t.equal(slu.state, 'active'); t.equal(hex(plu.bindRu!), hex(V4_RSP))
  // a negotiable LU2-style BIND is echoed back by default
  const q = lu2Pair()
  const neg = Buffer.from(V1); neg[1] = 0x00
  const nr = deliver(q.plu.sendBind(decodeBind(neg), neg).send, q.slu, q.plu)
  t.equal(hex(decodePiu(nr.replies[0]!).ru), hex(neg))
  // a malformed negotiated image ends the attempt with UNBIND type 06
  const m = lu2Pair()
  const mb = decodePiu(m.plu.sendBind(decodeBind(V1), V1).send[0]!)
  const bad = m.plu.receive(decodePiu(encodePiu({ th: { ...mb.th, daf: 1, oaf: 2 }, rh: { rri: true, category: 'SC', fi: true, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: h('31 01 03') })))
  t.match(bad.events, [{ type: 'protocol-error', reason: /BIND/ }])
  t.equal(hex(decodePiu(bad.send[0]!).ru), '3206')
  t.equal(m.plu.state, 'pending-unbind')
  t.match(deliver(bad.send, m.slu, m.plu).backEvents, [])
})

t.test('LU-LU: local command errors', async (t) => {
  const { plu, slu } = lu2Pair()
  t.throws(() => slu.sendBind(decodeBind(V1), V1), /BIND send by a secondary/)
  t.throws(() => plu.sendSdt(), /SDT send not allowed in state reset \(needs bound\)/)
  t.throws(() => slu.sendSdt(), /SDT send by a secondary/)
  t.throws(() => slu.sendClear(), /CLEAR send by a secondary/)
  t.throws(() => plu.sendClear(), /CLEAR send not allowed in state reset/)
  t.throws(() => plu.sendUnbind(1), /UNBIND send not allowed in state reset/)
  t.throws(() => plu.sendData(h('F1')), /data send not allowed in state reset/)
  plu.sendBind(decodeBind(V1), V1)
  t.throws(() => plu.sendBind(decodeBind(V1), V1), /BIND send not allowed in state pending-bind/)
  const b = bound()
  b.plu.sendData(h('F1'), { eci: false })
  t.throws(() => b.plu.sendData(h('F1')), /begin-chain while an outbound chain/)
  b.plu.sendData(h('F1'), { bci: false })
  t.throws(() => b.plu.sendData(h('F1'), { bci: false }), /without an outbound chain/)
  t.throws(() => b.plu.sendData(h('F1'), { bbi: true }), /begin-bracket while in a bracket/)
  // the primary may end brackets (V1 byte 4 bit 7): after EB the next chain needs BB again
  const eb = b.plu.sendData(h('F1'), { ebi: true })
  t.equal(hex(eb.send[0]!.subarray(6, 9)), '039040', 'RQE1 + EB')
  t.equal(b.plu.inBracketState, false)
  t.throws(() => b.plu.sendData(h('F1'), { bbi: false }), /first chain between brackets needs BB/)
  t.equal(b.plu.nextSendSnf, 4, 'rejected sends consume no SNF')
})

t.test('LU-LU: received SC commands in the wrong state or role', async (t) => {
  const { plu, slu } = lu2Pair()
  const sc = (ru: string, snf: number, daf = 2, oaf = 1) => encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf, oaf, snf }, rh: commandRh('SC'), ru: h(ru) })
  const rsp = (side: LuLuHalfSession, b: Buffer) => { const d = side.receive(decodePiu(b)); return [hex(d.send.length ? decodePiu(d.send[0]!).ru : Buffer.alloc(0)), d.events] as const }
  t.equal(rsp(slu, sc('A0', 1))[0], '80050001A0')
  t.equal(rsp(slu, sc('A1', 2))[0], '80050001A1')
  t.equal(rsp(slu, sc('3201', 3))[0], '8005000432')
  t.equal(rsp(slu, sc('32', 4))[0], '0835000132')
  t.equal(rsp(slu, sc('A3', 5))[0], '80050001A3')
  t.equal(rsp(plu, sc('A0', 6, 1, 2))[0], '10030000A0')
  t.equal(rsp(plu, sc('A1', 7, 1, 2))[0], '10030000A1')
  t.equal(rsp(plu, sc(hex(V1), 8, 1, 2))[0], '1003000031')
  const sig = encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 1, snf: 9 }, rh: commandRh('DFC'), ru: h('C9 0001 0000') })
  t.equal(rsp(slu, sig)[0], '80050001C9')
  const b = bound()
  t.equal(rsp(b.slu, sc('A0', 10))[0], '08150000A0')
  // expedited SIG while bound: +RSP and a request event
  const [sigRsp, sigEv] = rsp(b.slu, sig)
  t.equal(sigRsp, 'C9'); t.match(sigEv, [{ type: 'request', name: 'SIG', expedited: true }])
  // other SC request (RQR) while bound: surfaced, the caller answers
  const [, rqrEv] = rsp(b.slu, sc('A3', 11))
  t.match(rqrEv, [{ type: 'request', name: 'RQR' }])
  t.equal(hex(decodePiu(b.slu.respond(11, true, { expedited: true })).ru), 'A3')
  // UNBIND type FE with sense
  const [ubRsp, ubEv] = rsp(b.slu, sc('32FE08010000', 12))
  t.equal(ubRsp, '32'); t.match(ubEv, [{ type: 'unbind', unbindType: 0xfe, sense: 0x08010000, local: false }])
  // UNBIND without a response requested: no +RSP
  const c = bound()
  const d = c.slu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 1, snf: 13 }, rh: commandRh('SC', { mode: 'none' }), ru: h('3201') })))
  t.same(d.send, []); t.match(d.events, [{ type: 'unbind', unbindType: 1 }])
})

t.test('LU-LU: data traffic details', async (t) => {
  const { plu, slu } = bound()
  // normal-flow DFC (LUSTAT, definite) is answered positively and surfaced
  const lustat = plu.sendData(h('04 0001 0000'), { category: 'DFC', fi: true, definite: true })
  const r = deliver(lustat.send, slu, plu)
  t.match(r.events, [{ type: 'request', name: 'LUSTAT', expedited: false }])
  t.match(r.backEvents, [{ type: 'response', positive: true, request: 'LUSTAT' }])
  t.equal(hex(decodePiu(r.replies[0]!).ru), '04')
  // invalid response mode (ERI without DR): rejected, nothing can be sent back
  const bad = slu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 2, oaf: 1, snf: 2 }, rh: { ...requestRh({ mode: 'none' }), eri: true }, ru: h('F1') })))
  t.same(bad.send, []); t.match(bad.events, [{ type: 'protocol-error', sense: 0x40140000 }])
  // IPR / IPM / bad IPM toward the primary
  t.match(plu.receive(decodePiu(slu.ipr())).events, [{ type: 'ipr' }])
  t.match(plu.receive(decodePiu(slu.ipm({ type: 'solicited', rwi: false, nws: 4 }))).events, [{ type: 'ipm', ipm: { nws: 4 } }])
  t.match(plu.receive(decodePiu(Buffer.concat([encodeIpm({ daf: 1, oaf: 2 }, { type: 'solicited', rwi: false, nws: 1 }).subarray(0, 9), h('C00001')]))).events, [{ type: 'protocol-error', sense: 0x10010003 }])
  // many exception-mode requests: bookkeeping stays bounded
  for (let i = 0; i < 300; i++) deliver(plu.sendData(h('F1')).send, slu)
  t.match(slu.receive(decodePiu(plu.sendData(h('F1'), { definite: true }).send[0]!)).events, [{ type: 'data', definite: true }])
  // SDT -RSP returns the primary to bound; CLEAR -RSP is surfaced as a response
  const q = lu2Pair()
  deliver(q.plu.sendBind(decodeBind(V1), V1).send, q.slu, q.plu)
  const sdt = decodePiu(q.plu.sendSdt().send[0]!)
  const neg = { rri: true as const, category: 'SC' as const, fi: true, sdi: true, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: true }
  t.match(q.plu.receive(decodePiu(encodePiu({ th: { ...sdt.th, daf: 1, oaf: 2 }, rh: neg, ru: h('20030000A0') }))).events, [{ type: 'response', positive: false, sense: 0x20030000 }])
  t.equal(q.plu.state, 'bound')
  const clr = decodePiu(q.plu.sendClear().send[0]!)
  t.match(q.plu.receive(decodePiu(encodePiu({ th: { ...clr.th, daf: 1, oaf: 2 }, rh: neg, ru: h('08010000A1') }))).events, [{ type: 'response', positive: false, request: 'CLEAR' }])
  // reset(): an unbind event only when a session existed
  t.match(q.plu.reset(8).events, [{ type: 'unbind', unbindType: 8, local: true }])
  t.same(q.plu.reset(8).events, [])
  // UNBIND while the BIND is still pending on the primary side
  const w = lu2Pair()
  w.plu.sendBind(decodeBind(V1), V1)
  const ub = w.plu.receive(decodePiu(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 1, oaf: 2, snf: 1 }, rh: commandRh('SC'), ru: h('3201') })))
  t.match(ub.events, [{ type: 'unbind', unbindType: 1 }]); t.equal(w.plu.state, 'reset')
  // a secondary-initiated UNBIND (V8 "UNBIND request from SLU 32 01")
  const s = bound()
  const su = s.slu.sendUnbind(1)
  t.equal(hex(decodePiu(su.send[0]!).ru), '3201')
  const back = deliver(su.send, s.plu, s.slu)
  t.match(back.events, [{ type: 'unbind', unbindType: 1, local: false }])
  t.match(back.backEvents, [{ type: 'unbind', unbindType: 1, local: true }])
  t.equal(s.slu.state, 'reset')
  t.equal((decodeBind(encodeBind(decodeBind(V1))).ps as Lu2Ps).rows, 24)
})

t.test('SIGNAL only while data traffic is active ("SNA Formats", GA27-3136 SIG)', async (t) => {
  const hs = new LuLuHalfSession({ role: 'secondary', localAddress: 2, remoteAddress: 1 })
  t.throws(() => hs.sendSignal({ code: 1, extension: 0 }), { code: ErrorCodes.SNA_STATE, message: /SIGNAL send not allowed in state reset/ })
})
