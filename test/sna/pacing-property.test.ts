// Property tests: a paced sender, an in-order link both ways, a paced receiver with application
// credit, and a consumer that drains at random. Outbound = host (sender) → gateway (receiver) →
// client (consumer); inbound = client → gateway (sender, bounded queue) → host (receiver).
// Checked in every generated run: no protocol violation; nothing lost, duplicated or reordered;
// the receiver never holds more than one window (two with credit taken back); the sender's queue
// stays within its limit and a full queue is reported, never dropped; and once the consumer drains,
// everything flows and the sender can always send again (no Q181737 hang).
import t from 'tap'
import fc from 'fast-check'
import { FakeClock } from '../helpers/fake-clock.js'
import { ErrorCodes } from '../../lib/errors.js'
import {
  creditFromClientState, PacingReceiver, PacingSender, type CreditEvent, type PacingIpm, type PacedRequest,
  type ReceiverDecision, type SenderDecision,
} from '../../lib/sna/pacing.js'

type Fwd = { kind: 'req', req: PacedRequest<number> } | { kind: 'ipm', ipm: PacingIpm }
type Back = { kind: 'ipr' } | { kind: 'ipm', ipm: PacingIpm }

type Action =
  | { t: 'submit', n: number }
  | { t: 'fwd', n: number }
  | { t: 'back', n: number }
  | { t: 'consume', n: number }
  | { t: 'squeeze', bytes: number }
  | { t: 'reset' }
  | { t: 'time', ms: number }

interface Params {
  window: number
  adaptive: boolean
  maxWindow: number
  queueLimit: number
  credit: { model: 'tokens', capacity: number } | { model: 'room', highWaterMark: number, maxRu: number }
  squeeze: boolean
}

const MAX_RU = 256
const sizeOf = (item: number, maxRu: number) => 1 + ((item * 7919) % maxRu)

function simulate (p: Params, actions: Action[]): void {
  const clock = new FakeClock()
  let stalledGauge = 0
  const waits: number[] = []
  const onEvent = (e: CreditEvent) => {
    if (e.type === 'stalled') stalledGauge++
    else if (e.type === 'unstalled') stalledGauge--
    else waits.push(e.seconds)
    if (stalledGauge < 0 || stalledGauge > 1) throw new Error(`stalled gauge ${stalledGauge}`)
  }
  const sender = new PacingSender<number>({ window: p.window, adaptive: p.adaptive, queueLimit: p.queueLimit })
  const receiver = new PacingReceiver<number>({
    window: p.window,
    adaptive: p.adaptive,
    maxWindow: p.maxWindow,
    clock,
    stallAfter: 50,
    onEvent,
    initialCredit: p.credit.model === 'tokens' ? p.credit.capacity : 0,
  })
  const fwd: Fwd[] = []
  const back: Back[] = []
  const consumerBuf: number[] = []
  let otherBytes = 0
  const consumed: number[] = []
  const accepted: number[] = []
  let next = 0
  let pendingRetry: number | undefined
  const maxGrant = Math.max(p.window, p.adaptive ? p.maxWindow : 0)
  // Window 0 = no pacing: nothing bounds what the host sends, so there is no bound to check.
  const heldBound = p.window === 0 ? Infinity : p.squeeze ? p.window + maxGrant : maxGrant

  const fail = (msg: string): never => { throw new Error(msg) }

  const roomCredit = () => {
    if (p.credit.model !== 'room') return 0
    const queuedBytes = consumerBuf.reduce((a, i) => a + sizeOf(i, p.credit.model === 'room' ? p.credit.maxRu : 1), 0) + otherBytes
    return creditFromClientState({ queuedBytes, highWaterMark: p.credit.highWaterMark, maxMessageBytes: p.credit.maxRu, window: p.window })
  }

  // The gateway starts with the client's credit (an empty write queue).
  if (p.credit.model === 'room') receiver.setAvailableCredit(roomCredit())
  const onReceiver = (d: ReceiverDecision<number>) => {
    if (d.violation) fail(`receiver violation ${d.violation.error.message}`)
    consumerBuf.push(...d.deliver)
    if (d.sendIpr) back.push({ kind: 'ipr' })
    if (d.sendIpm) back.push({ kind: 'ipm', ipm: d.sendIpm })
    if (d.creditWaitMs !== undefined && d.creditWaitMs < 0) fail('negative credit wait')
    // Credit is re-evaluated on every delivery (the socket write queue grew).
    if (p.credit.model === 'room' && d.deliver.length > 0) onReceiver(receiver.setAvailableCredit(roomCredit()))
  }
  const onSender = (d: SenderDecision<number> | { send: Array<PacedRequest<number>> }) => {
    if ('violation' in d && d.violation) fail(`sender violation ${d.violation.error.message}`)
    if ('sendIpm' in d && d.sendIpm) fwd.push({ kind: 'ipm', ipm: d.sendIpm })
    for (const r of d.send) fwd.push({ kind: 'req', req: r })
  }
  const submit = () => {
    const item = pendingRetry ?? next++
    const r = sender.submit(item)
    if (r.ok) {
      pendingRetry = undefined
      accepted.push(item)
      onSender(r)
    } else {
      if (r.error.code !== ErrorCodes.PACING_QUEUE_FULL) fail('wrong error code')
      if (sender.queued !== p.queueLimit) fail('queue-full reported below the limit')
      pendingRetry = item // the client keeps it: refused, not dropped
    }
  }
  const stepFwd = () => {
    const m = fwd.shift()
    if (m === undefined) return false
    if (m.kind === 'req') onReceiver(receiver.receiveRequest(m.req.item, { pi: m.req.setPi, rlwi: m.req.setRlwi }))
    else onReceiver(receiver.receiveIpm(m.ipm))
    return true
  }
  const stepBack = () => {
    const m = back.shift()
    if (m === undefined) return false
    onSender(m.kind === 'ipr' ? sender.receivePacingResponse() : sender.receiveIpm(m.ipm))
    return true
  }
  const consume = (n: number) => {
    const taken = consumerBuf.splice(0, n)
    consumed.push(...taken)
    otherBytes = 0
    if (p.credit.model === 'tokens') onReceiver(receiver.addCredit(taken.length))
    else onReceiver(receiver.setAvailableCredit(roomCredit()))
  }
  const invariants = () => {
    if (receiver.held > heldBound) fail(`held ${receiver.held} > ${heldBound}`)
    if (sender.queued > p.queueLimit) fail('sender queue over its limit')
    const seen = [...consumed, ...consumerBuf]
    for (let i = 0; i < seen.length; i++) if (seen[i] !== accepted[i]) fail(`order/loss at ${i}: ${seen[i]} vs ${accepted[i]}`)
  }
  const settle = () => {
    for (let guard = 0; guard < 100_000; guard++) {
      let progress = false
      while (stepFwd()) progress = true
      while (stepBack()) progress = true
      if (consumerBuf.length > 0 || otherBytes > 0) { consume(consumerBuf.length); progress = true }
      invariants()
      if (!progress) return
    }
    fail('settle did not converge')
  }

  for (const a of actions) {
    switch (a.t) {
      case 'submit': for (let i = 0; i < a.n; i++) submit(); break
      case 'fwd': for (let i = 0; i < a.n; i++) stepFwd(); break
      case 'back': for (let i = 0; i < a.n; i++) stepBack(); break
      case 'consume': consume(a.n); break
      case 'squeeze':
        // Other bytes toward the client (BIND image, keepalive): room shrinks, credit is taken back.
        if (p.squeeze && p.credit.model === 'room') { otherBytes += a.bytes; onReceiver(receiver.setAvailableCredit(roomCredit())) }
        break
      case 'reset': if (receiver.adaptive) onReceiver(receiver.resetWindow()); break
      case 'time': clock.advance(a.ms); break
    }
    invariants()
  }

  // The client drains: everything submitted so far arrives, and the sender can send again.
  if (pendingRetry !== undefined) { settle(); submit() }
  settle()
  if (sender.queued !== 0) fail(`sender still has ${sender.queued} queued after the client drained`)
  if (pendingRetry !== undefined) fail('retry never accepted')
  const more = 3 * Math.max(1, maxGrant) + 1
  for (let i = 0; i < more; i++) {
    submit()
    if (pendingRetry !== undefined) { settle(); submit() }
  }
  settle()
  if (sender.queued !== 0 || pendingRetry !== undefined) fail('sender blocked after a full drain (hang)')
  if (consumed.length !== accepted.length || consumed.length !== next) fail(`lost: consumed ${consumed.length}, accepted ${accepted.length}, made ${next}`)
  for (let i = 0; i < consumed.length; i++) if (consumed[i] !== i) fail(`reordered at ${i}`)
  receiver.close()
  if (stalledGauge !== 0) fail('stalled gauge not back to 0 after close')
  if (clock.pending !== 0) fail('timer left after close')
}

const actionArb = (adaptive: boolean, squeeze: boolean): fc.Arbitrary<Action> => fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('submit' as const), n: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('fwd' as const), n: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('back' as const), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('consume' as const), n: fc.integer({ min: 0, max: 12 }) }) },
  { weight: squeeze ? 1 : 0, arbitrary: fc.record({ t: fc.constant('squeeze' as const), bytes: fc.integer({ min: 1, max: 4096 }) }) },
  { weight: adaptive ? 1 : 0, arbitrary: fc.constant({ t: 'reset' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('time' as const), ms: fc.integer({ min: 1, max: 100 }) }) },
)

const windowArb = fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 1, max: 8 }), fc.constant(63))

function paramsArb (o: { adaptive: boolean, model: 'tokens' | 'room', squeeze: boolean, queueLimit: fc.Arbitrary<number> }): fc.Arbitrary<Params> {
  return windowArb.chain((window) => fc.record({
    window: fc.constant(window),
    adaptive: fc.constant(o.adaptive),
    maxWindow: fc.integer({ min: window, max: window + 8 }),
    queueLimit: o.queueLimit,
    squeeze: fc.constant(o.squeeze),
    credit: o.model === 'tokens'
      // Q181737: the application's credit must cover one window, else no IPR can ever be paid for.
      ? fc.record({ model: fc.constant('tokens' as const), capacity: fc.integer({ min: Math.max(1, window), max: window + 20 }) })
      // Any high-water mark, even below one window of max RUs: a drained client still pays a window.
      : fc.record({ model: fc.constant('room' as const), highWaterMark: fc.integer({ min: 1, max: 8 * MAX_RU }), maxRu: fc.integer({ min: 1, max: MAX_RU }) }),
  }))
}

const RUNS = 300
const unbounded = fc.constant(1_000_000)

for (const adaptive of [false, true]) {
  const mode = adaptive ? 'adaptive' : 'fixed'
  t.test(`outbound ${mode}: host → gateway → client with credit tokens`, async (t) => {
    fc.assert(fc.property(paramsArb({ adaptive, model: 'tokens', squeeze: false, queueLimit: unbounded }), fc.array(actionArb(adaptive, false), { maxLength: 80 }), (p, a) => { simulate(p, a) }), { numRuns: RUNS })
    t.pass('no violation, loss, reordering, overflow or hang')
  })
  t.test(`outbound ${mode}: credit from the client's byte room (write queue vs high-water mark)`, async (t) => {
    fc.assert(fc.property(paramsArb({ adaptive, model: 'room', squeeze: false, queueLimit: unbounded }), fc.array(actionArb(adaptive, false), { maxLength: 80 }), (p, a) => { simulate(p, a) }), { numRuns: RUNS })
    t.pass('no violation, loss, reordering, overflow or hang')
  })
  t.test(`outbound ${mode}: room taken back by other writes (credit revoked)`, async (t) => {
    fc.assert(fc.property(paramsArb({ adaptive, model: 'room', squeeze: true, queueLimit: unbounded }), fc.array(actionArb(adaptive, true), { maxLength: 80 }), (p, a) => { simulate(p, a) }), { numRuns: RUNS })
    t.pass('held stays within two windows; still no hang')
  })
  t.test(`inbound ${mode}: client → gateway (bounded queue) → host`, async (t) => {
    fc.assert(fc.property(paramsArb({ adaptive, model: 'tokens', squeeze: false, queueLimit: fc.integer({ min: 1, max: 6 }) }), fc.array(actionArb(adaptive, false), { maxLength: 80 }), (p, a) => { simulate(p, a) }), { numRuns: RUNS })
    t.pass('full queue reported (PACING_QUEUE_FULL), nothing dropped, no hang')
  })
}

t.test('a known hang shape: window 7, credit exactly 7, client drains one at a time', async (t) => {
  const actions: Action[] = [{ t: 'submit', n: 30 }]
  for (let i = 0; i < 60; i++) actions.push({ t: 'fwd', n: 2 }, { t: 'consume', n: 1 }, { t: 'back', n: 1 })
  simulate({ window: 7, adaptive: false, maxWindow: 7, queueLimit: 1000, squeeze: false, credit: { model: 'tokens', capacity: 7 } }, actions)
  t.pass()
})
