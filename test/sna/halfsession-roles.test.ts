// The one LU-LU half-session in each of its uses: the host simulator's PLU (primary, a 3274-style
// first SNF 0 or 1, pacing by hook, requests answered by the owner), the gateway's dependent LU
// (secondary, defaults) and both ends of an LU 6.2 session (ODAI = 1, TS profile 7 without SDT,
// sequence numbers unchecked). Model-based: random SNF streams against a model of each sequence
// rule; random traffic between two half-sessions back to back in both LU2 and LU 6.2 set-ups.
// Formats: "SNA Formats", GA27-3136 (TH, RH, BIND, SDT/CLEAR, UNBIND, sense data); LU 6.2 BIND of
// KB Q185503; the 3274 simulator (snhstq/IBM3705_R5 i3274_cc.c) counts sequence numbers from 0.
import t from 'tap'
import fc from 'fast-check'
import {
  LuLuHalfSession, DEFAULT_SEQUENCE_RULE, Sense, decodeBind, decodePiu, encodePiu, requestRh, commandRh, encodeIpr,
  type InboundSequenceRule, type LuLuEvent, type LuLuOptions, type Piu, type RequestRhInit,
} from '../../lib/sna/index.js'

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const hx = (b: Buffer): string => b.toString('hex').toUpperCase()
/** IBMLINK LU2 BIND (x3270 c3270/Test/ibmlink2.trc): brackets, primary may end them, TS profile 3. */
const LU2 = h('31 01 03 03 B1 90 30 80 00 87 87 F8 87 00 02 80 00 00 00 00 18 50 00 00 7E 00 00 08 C9 C2 D4 F0 D4 D6 D5 F2 00 05 00 7E E5 1C 10 08 C9 C2 D4 F0 E3 C5 E2 D4')
/** LU 6.2 BIND of KB Q185503: negotiable, TS profile 7, no brackets bit, FM headers. */
const LU62 = h(`31 00 13 07 B0 B0 50 B1 07 07 89 89 87 07 06 02 00 00 00 00 00 00 00 16 23 00 00
  10 E4E2D4E4E3D3F0F14BD4E2E2D3E4F1F6
  32 00 09 02 C4E2C9D3F6D4D6C4 09 03 F000000000000005 11 04 E4E2D4E4E3D3F0F14BD4E2E2D3E4F1F6 0A 13 00 17145F7F7341E14B
  00 11 E4E2D4E4E3D3F0F14BC3C9C3E2C3E5F3F1`)

type Side = LuLuHalfSession
/** Delivers PIUs one hop; returns the receiver's events and what it sent back. */
function hop (bufs: Buffer[], to: Side): { events: LuLuEvent[], replies: Buffer[] } {
  const events: LuLuEvent[] = []; const replies: Buffer[] = []
  for (const b of bufs) { const d = to.receive(decodePiu(b)); events.push(...d.events); replies.push(...d.send) }
  return { events, replies }
}
/** BIND (and SDT when the TS profile needs it) between `plu` and `slu`. */
function bindPair (plu: Side, slu: Side, ru: Buffer): void {
  hop(hop(plu.sendBind(decodeBind(ru), ru).send, slu).replies, plu)
  if (plu.state === 'bound') hop(hop(plu.sendSdt().send, slu).replies, plu)
}
function lu2 (primary: Partial<LuLuOptions> = {}, secondary: Partial<LuLuOptions> = {}) {
  const plu = new LuLuHalfSession({ role: 'primary', localAddress: 1, remoteAddress: 2, ...primary })
  const slu = new LuLuHalfSession({ role: 'secondary', localAddress: 2, remoteAddress: 1, ...secondary })
  bindPair(plu, slu, LU2)
  return { plu, slu }
}
function lu62 () {
  const opts = { odai: true, inboundSequence: 'unchecked' as const, autoRespondRequests: false }
  const plu = new LuLuHalfSession({ role: 'primary', localAddress: 7, remoteAddress: 3, ...opts })
  const slu = new LuLuHalfSession({ role: 'secondary', localAddress: 3, remoteAddress: 7, ...opts })
  bindPair(plu, slu, LU62)
  return { plu, slu }
}
/** An FMD request from `from`'s partner address to `to`, with any SNF (to script faults). */
function dataPiu (to: { daf: number, oaf: number }, snf: number, rh: RequestRhInit = {}, ru = h('7D4040')): Buffer {
  return encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: to.daf, oaf: to.oaf, snf }, rh: requestRh({ mode: 'RQE1', ...rh }), ru })
}
const senseOf = (b: Buffer | undefined): number | undefined => {
  if (b === undefined) return undefined
  const p = decodePiu(b)
  return p.rh?.rri === true && p.rh.rti ? p.ru.readUInt32BE(0) : undefined
}

// ---------------------------------------------------------------- sequence rules against a model

class SequenceModel {
  private last = 0
  private started = false
  constructor (private readonly rule: InboundSequenceRule | 'unchecked') {}
  accept (snf: number): boolean {
    if (this.rule === 'unchecked') return true
    const ok = snf === ((this.last + 1) & 0xffff) || (this.rule.firstMayBeZero && !this.started && snf === 0)
    if (ok || this.rule.resyncAfterError) { this.last = snf; this.started = true }
    return ok
  }
}

const RULES: Array<[string, InboundSequenceRule | 'unchecked']> = [
  ['gateway (default)', DEFAULT_SEQUENCE_RULE],
  ['host simulator PLU', { firstMayBeZero: true, resyncAfterError: false }],
  ['first 0 or 1, resync', { firstMayBeZero: true, resyncAfterError: true }],
  ['LU 6.2 (unchecked)', 'unchecked'],
]

/** Mostly the next SNF, sometimes a repeat, a gap or a random one. */
const snfStream = fc.array(fc.oneof(
  { weight: 6, arbitrary: fc.constant('next' as const) },
  { weight: 1, arbitrary: fc.constant('zero' as const) },
  { weight: 1, arbitrary: fc.constant('repeat' as const) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
), { minLength: 1, maxLength: 40 })

for (const [name, rule] of RULES) {
  for (const role of ['primary', 'secondary'] as const) {
    t.test(`sequence rule "${name}", ${role} receiving: -RSP 2001 exactly where the model says`, async () => {
      fc.assert(fc.property(snfStream, (steps) => {
        const { plu, slu } = lu2(role === 'primary' ? { inboundSequence: rule } : {}, role === 'secondary' ? { inboundSequence: rule } : {})
        // the host's first chain opens the bracket, so later chains flow without BB both ways
        hop(plu.sendData(h('F5C3')).send, slu)
        const receiver = role === 'primary' ? plu : slu
        const to = role === 'primary' ? { daf: 1, oaf: 2 } : { daf: 2, oaf: 1 }
        const model = new SequenceModel(rule)
        // the secondary already received the host's first chain as SNF 1
        let prev = 0
        if (role === 'secondary') { model.accept(1); prev = 1 }
        for (const step of steps) {
          const snf = step === 'next' ? (prev + 1) & 0xffff : step === 'zero' ? 0 : step === 'repeat' ? prev : step
          prev = snf
          const d = receiver.receive(decodePiu(dataPiu(to, snf)))
          const accepted = model.accept(snf)
          const sense = senseOf(d.send[0])
          if (accepted) {
            if (sense !== undefined || !d.events.some(e => e.type === 'data')) return false
          } else if (sense !== Sense.SEQUENCE_ERROR) return false
        }
        return true
      }), { numRuns: 150 })
    })
  }
}

// ---------------------------------------------------------------- random traffic, back to back

interface Send { from: 'p' | 's', rus: number, definite: boolean, cd: boolean, ceb: boolean }
const sendArb: fc.Arbitrary<Send> = fc.record({
  from: fc.constantFrom('p' as const, 's' as const),
  rus: fc.integer({ min: 1, max: 4 }),
  definite: fc.boolean(),
  cd: fc.boolean(),
  ceb: fc.boolean(),
})
type Step = Send | { clear: true }
const lu2Steps: fc.Arbitrary<Step[]> = fc.array(fc.oneof({ weight: 8, arbitrary: sendArb }, { weight: 1, arbitrary: fc.constant({ clear: true as const }) }), { maxLength: 30 })

/**
 * Sends one chain from one side and answers what needs an answer; returns the chain the other side
 * delivered. Checks SNFs: consecutive per direction from 1 after BIND/SDT/CLEAR.
 */
function chain (sender: Side, receiver: Side, s: Send, fmh: boolean, lu62mode: boolean, expectSnf: number): { ok: boolean, data: Buffer[] } {
  const parts: Buffer[] = []
  const got: Buffer[] = []
  for (let i = 0; i < s.rus; i++) {
    const first = i === 0
    const last = i === s.rus - 1
    const ru = Buffer.from([0x40 + i, s.rus, expectSnf & 0xff])
    parts.push(ru)
    const out = sender.sendData(ru, {
      bci: first,
      eci: last,
      fi: fmh && first,
      mode: last && s.definite ? 'RQD1' : 'RQE1',
      cdi: last && s.cd,
      ...(lu62mode ? { bbi: first && fmh, cebi: last && s.ceb } : {}),
    })
    if (out.snf !== ((expectSnf + i) & 0xffff)) return { ok: false, data: [] }
    const r = hop(out.send, receiver)
    if (r.events.some(e => e.type === 'protocol-error')) return { ok: false, data: [] }
    for (const e of r.events) {
      if (e.type !== 'data') continue
      got.push(e.ru)
      // the owner answers a definite request; the response must match exactly one request
      if (e.definite) {
        const back = hop([receiver.respond(e.snf, true)], sender)
        if (!back.events.some(x => x.type === 'response' && x.positive && x.snf === e.snf)) return { ok: false, data: [] }
      }
    }
  }
  return { ok: hx(Buffer.concat(got)) === hx(Buffer.concat(parts)), data: got }
}

t.test('LU2 (host PLU rule ⇄ gateway defaults): random chains both ways and CLEARs lose, add and reorder nothing', async () => {
  fc.assert(fc.property(lu2Steps, (steps) => {
    const { plu, slu } = lu2({ inboundSequence: { firstMayBeZero: true, resyncAfterError: false }, autoRespondRequests: false })
    const next = { p: 1, s: 1 }
    // the host opens the bracket first (LU2: the secondary may not end it, BIND byte 5 bit 7 = 0)
    if (!chain(plu, slu, { from: 'p', rus: 1, definite: false, cd: true, ceb: false }, false, false, next.p++).ok) return false
    for (const step of steps) {
      if ('clear' in step) {
        hop(hop(plu.sendClear().send, slu).replies, plu)
        hop(hop(plu.sendSdt().send, slu).replies, plu)
        next.p = 1; next.s = 1
        if (!chain(plu, slu, { from: 'p', rus: 1, definite: false, cd: true, ceb: false }, false, false, next.p++).ok) return false
        continue
      }
      const [from, to] = step.from === 'p' ? [plu, slu] : [slu, plu]
      const r = chain(from, to, { ...step, ceb: false }, false, false, next[step.from])
      if (!r.ok) return false
      next[step.from] = (next[step.from] + step.rus) & 0xffff
    }
    return plu.state === 'active' && slu.state === 'active' && plu.inBracketState && slu.inBracketState
  }), { numRuns: 200 })
})

t.test('LU 6.2 (ODAI = 1, TS 7): random conversations with FMH, BB, CD, CEB and CONFIRM both ways', async () => {
  fc.assert(fc.property(fc.array(sendArb, { maxLength: 30 }), (steps) => {
    const { plu, slu } = lu62()
    if (plu.state !== 'active' || slu.state !== 'active') return false
    const next = { p: 1, s: 1 }
    for (const step of steps) {
      const [from, to] = step.from === 'p' ? [plu, slu] : [slu, plu]
      const r = chain(from, to, step, true, true, next[step.from])
      if (!r.ok) return false
      next[step.from] = (next[step.from] + step.rus) & 0xffff
    }
    // every PIU carried ODAI = 1 and the LFSID pair swapped per direction
    const p = decodePiu(plu.sendData(h('00')).send[0]!)
    const s = decodePiu(slu.sendData(h('00')).send[0]!)
    return p.th.odai && s.th.odai && p.th.daf === 3 && p.th.oaf === 7 && s.th.daf === 7 && s.th.oaf === 3
  }), { numRuns: 200 })
})

// ---------------------------------------------------------------- the options one by one

t.test('primary with an inbound pacing hook: sequence first, then the hook, then chaining', async (t) => {
  const calls: number[] = []
  let reject = false
  const { plu, slu } = lu2({
    inboundSequence: { firstMayBeZero: true, resyncAfterError: false },
    inboundPacing: (rh, snf) => {
      calls.push(snf)
      const send = rh.pi ? [plu.ipr()] : []
      return reject ? { send, reject: { sense: Sense.PACING_UNEXPECTED_PI, reason: 'PI inside a window' } } : { send }
    },
  })
  hop(plu.sendData(h('F5C3')).send, slu)
  const to = { daf: 1, oaf: 2 }
  // SNF 5 first: sequence error; the hook is not asked
  t.equal(senseOf(plu.receive(decodePiu(dataPiu(to, 5))).send[0]), Sense.SEQUENCE_ERROR)
  t.same(calls, [])
  // SNF 0 is accepted first (3274 style); PI → the hook's IPR goes out
  const d0 = plu.receive(decodePiu(dataPiu(to, 0, { pi: true })))
  t.same(calls, [0])
  t.equal(hx(d0.send[0]!), hx(encodeIpr({ daf: 2, oaf: 1 })))
  t.match(d0.events, [{ type: 'pacing', snf: 0 }, { type: 'data', pacing: true }])
  // a chaining error after the hook: the hook's PIU still precedes the -RSP 2002
  const d1 = plu.receive(decodePiu(dataPiu(to, 1, { pi: true, bci: false })))
  t.equal(d1.send.length, 2)
  t.equal(hx(d1.send[0]!), hx(encodeIpr({ daf: 2, oaf: 1 })))
  t.equal(senseOf(d1.send[1]), Sense.CHAINING_ERROR)
  // the hook refuses: -RSP with its sense, no data event
  reject = true
  const d2 = plu.receive(decodePiu(dataPiu(to, 2)))
  t.equal(senseOf(d2.send[0]), Sense.PACING_UNEXPECTED_PI)
  t.notOk(d2.events.some(e => e.type === 'data'))
  // without resync the old expectation holds after a gap
  reject = false
  t.equal(senseOf(plu.receive(decodePiu(dataPiu(to, 9))).send[0]), Sense.SEQUENCE_ERROR)
  t.match(plu.receive(decodePiu(dataPiu(to, 3))).events, [{ type: 'data', snf: 3 }])
})

t.test('owner-answered requests, owedResponse, PI in a response, command SNFs', async (t) => {
  const { plu, slu } = lu2({ autoRespondRequests: false })
  hop(plu.sendData(h('F5C3')).send, slu)
  // a definite LUSTAT from the LU is surfaced, not answered
  const lustat = slu.sendData(h('04 0001 0000'), { category: 'DFC', fi: true, definite: true })
  const r = hop(lustat.send, plu)
  t.same(r.replies, [])
  t.match(r.events, [{ type: 'request', name: 'LUSTAT', snf: lustat.snf }])
  t.equal(plu.owedResponse(lustat.snf), 'definite')
  t.match(hop([plu.respond(lustat.snf, Sense.FUNCTION_NOT_SUPPORTED)], slu).events, [{ type: 'response', positive: false, sense: Sense.FUNCTION_NOT_SUPPORTED }])
  t.equal(plu.owedResponse(lustat.snf), undefined)
  // an exception request may only get a -RSP
  const exc = slu.sendData(h('7D4040'))
  hop(exc.send, plu)
  t.equal(plu.owedResponse(exc.snf), 'exception')
  t.throws(() => plu.respond(exc.snf, true), /exception response/)
  // PI in a positive normal-flow response: the fixed-pacing response form, matched or not
  const out = plu.sendData(h('F1C3'), { definite: true, pi: true })
  hop(out.send, slu)
  const rsp = slu.respond(out.snf, true, { pacing: true })
  t.match(plu.receive(decodePiu(rsp)).events, [{ type: 'response', positive: true, pacing: true }, { type: 'response-pacing', snf: out.snf }])
  t.match(plu.receive(decodePiu(rsp)).events, [{ type: 'protocol-error' }, { type: 'response-pacing', snf: out.snf }], 'a stray one still carries PI')
  // commands return the expedited identifier their response echoes
  const q = new LuLuHalfSession({ role: 'primary', localAddress: 1, remoteAddress: 2 })
  const b = q.sendBind(decodeBind(LU2), LU2)
  t.equal(decodePiu(b.send[0]!).th.snf, b.snf)
  t.equal(b.snf, 1)
})

t.test('primary: data before SDT is "no session", after CLEAR "data traffic reset"; late UNBIND +RSP absorbed', async (t) => {
  const plu = new LuLuHalfSession({ role: 'primary', localAddress: 1, remoteAddress: 2 })
  const slu = new LuLuHalfSession({ role: 'secondary', localAddress: 2, remoteAddress: 1 })
  hop(hop(plu.sendBind(decodeBind(LU2), LU2).send, slu).replies, plu)
  const sdt = plu.sendSdt()
  t.equal(plu.state, 'pending-sdt')
  t.equal(senseOf(plu.receive(decodePiu(dataPiu({ daf: 1, oaf: 2 }, 1, { mode: 'RQD1' }))).send[0]), Sense.NO_LU_LU_SESSION)
  hop(hop(sdt.send, slu).replies, plu)
  hop(hop(plu.sendClear().send, slu).replies, plu)
  t.equal(plu.state, 'bound')
  t.equal(senseOf(plu.receive(decodePiu(dataPiu({ daf: 1, oaf: 2 }, 1, { mode: 'RQD1' }))).send[0]), Sense.DATA_TRAFFIC_RESET)
  // UNBIND cleanup (type 0F) resets at once; its +RSP comes back to a reset half-session
  const ub = plu.sendUnbind(0x0f)
  t.equal(plu.state, 'reset')
  const rsp = hop(ub.send, slu).replies
  t.same(plu.receive(decodePiu(rsp[0]!)).events, [], 'absorbed: the owner matches it by the command SNF')
  t.equal(decodePiu(rsp[0]!).th.snf, ub.snf)
})

t.test('LU 6.2: BIND on an LFSID in use is 0815 0004; a malformed negotiated image is a local BIND rejection', async (t) => {
  const { plu, slu } = lu62()
  const again = encodePiu({ th: { mpf: 'whole', odai: true, efi: true, daf: 3, oaf: 7, snf: 40 }, rh: commandRh('SC'), ru: LU62 })
  t.equal(senseOf(slu.receive(decodePiu(again)).send[0]), Sense.FUNCTION_ACTIVE_LFSID_IN_USE)
  t.equal(plu.state, 'active')
  // the partner answers +RSP(BIND) with a truncated image: UNBIND type 06 and a local rejection
  const p = new LuLuHalfSession({ role: 'primary', localAddress: 7, remoteAddress: 3, odai: true })
  const bind = decodePiu(p.sendBind(decodeBind(LU62), LU62).send[0]!)
  const bad: Piu = { th: { ...bind.th, daf: 7, oaf: 3 }, rh: { rri: true, category: 'SC', fi: true, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: h('31 00 13') }
  const d = p.receive(bad)
  t.match(d.events, [{ type: 'protocol-error' }, { type: 'bind-rejected', local: true, reason: /malformed \+RSP\(BIND\)/ }])
  t.equal(hx(decodePiu(d.send[0]!).ru), '3206')
  // the partner's -RSP(BIND) is a rejection by the partner
  const p2 = new LuLuHalfSession({ role: 'primary', localAddress: 7, remoteAddress: 3, odai: true })
  const b2 = decodePiu(p2.sendBind(decodeBind(LU62), LU62).send[0]!)
  const neg = encodePiu({ th: { ...b2.th, daf: 7, oaf: 3 }, rh: { rri: true, category: 'SC', fi: true, sdi: true, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: true }, ru: h('08050000 31') })
  t.match(p2.receive(decodePiu(neg)).events, [{ type: 'bind-rejected', sense: Sense.SESSION_LIMIT_EXCEEDED, local: false }])
})
