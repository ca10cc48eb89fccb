// The pure keepalive state machine and its clocked engine, every path, with FakeClock.
import t from 'tap'
import fc from 'fast-check'
import { FakeClock } from '../helpers/fake-clock.js'
import {
  KeepAliveEngine, keepAliveStep, initialKeepAliveState,
  type KeepAliveAction, type KeepAliveInput, type KeepAliveSettings, type KeepAliveState,
} from '../../lib/keepalive/index.js'

const WD = 60_000
const base: KeepAliveSettings = { method: 'timingmark', watchdogTimeout: WD, keepAliveLimit: 3, hardClose: false, gracefulCloseTimeout: 5_000 }

function rig (over: Partial<KeepAliveSettings> = {}) {
  const clock = new FakeClock()
  const actions: KeepAliveAction[] = []
  const engine = new KeepAliveEngine({ ...base, ...over }, clock, a => actions.push(a))
  engine.start()
  const take = () => actions.splice(0).map(a => a.type === 'overdue' ? `overdue:${a.ticks}` : a.type === 'limit' ? `limit:${a.ticks}:${a.close}` : a.type === 'reset' ? `reset:${a.reason}` : a.type)
  return { clock, engine, take }
}

t.test('completed in time: send at each tick, no overdue', async t => {
  const { clock, engine, take } = rig()
  clock.advance(WD - 1)
  t.same(take(), [], 'nothing before the first watchdog tick')
  clock.advance(1)
  t.same(take(), ['send'])
  t.equal(engine.state.phase, 'outstanding')
  engine.written(1)
  t.same(take(), [], 'write completion alone does not complete a TIMING-MARK')
  engine.reply()
  t.same(take(), ['completed'])
  t.same(engine.state, { phase: 'idle', sent: 1 })
  for (let i = 2; i <= 5; i++) {
    clock.advance(WD)
    engine.written(i)
    engine.reply()
  }
  t.same(take(), ['send', 'completed', 'send', 'completed', 'send', 'completed', 'send', 'completed'])
  t.equal(engine.state.sent, 5)
  t.equal(clock.pending, 1, 'one watchdog timer armed')
})

t.test('overdue once, then completed: the next tick sends again and the count restarts', async t => {
  const { clock, engine, take } = rig()
  clock.advance(WD)
  clock.advance(WD)
  t.same(take(), ['send', 'overdue:1'])
  engine.written(1)
  engine.reply()
  t.same(take(), ['completed'])
  clock.advance(WD)
  t.same(take(), ['send'])
  clock.advance(WD)
  t.same(take(), ['overdue:1'], 'ticks count from the new keepalive, not the old one')
})

t.test('overdue to the limit with hardClose: 700 at each tick, 701 and reset at the limit', async t => {
  const { clock, engine, take } = rig({ hardClose: true })
  clock.advance(WD * 10)
  t.same(take(), ['send', 'overdue:1', 'overdue:2', 'overdue:3', 'limit:3:hard', 'reset:hardClose'],
    'exactly one keepalive sent, then nothing after the abort')
  t.equal(engine.state.phase, 'closed')
  t.equal(clock.pending, 0, 'no timers left')
  t.notOk(engine.armed)
  engine.written(1); engine.reply(); engine.closed()
  t.same(take(), [], 'late completions after the abort do nothing')
})

t.test('overdue to the limit, graceful: end, then a forced reset after gracefulCloseTimeout', async t => {
  const { clock, engine, take } = rig({ hardClose: false, gracefulCloseTimeout: 5_000 })
  clock.advance(WD * 4)
  t.same(take(), ['send', 'overdue:1', 'overdue:2', 'overdue:3', 'limit:3:graceful', 'end'])
  t.equal(engine.state.phase, 'closing')
  clock.advance(4_999)
  t.same(take(), [], 'no reset before the bound')
  engine.reply()
  t.same(take(), [], 'a reply while closing changes nothing')
  clock.advance(1)
  t.same(take(), ['reset:gracefulCloseTimeout'])
  t.equal(engine.state.phase, 'closed')
  t.equal(clock.pending, 0)
})

t.test('graceful close that finishes in time: no reset', async t => {
  const { clock, engine, take } = rig({ keepAliveLimit: 1 })
  clock.advance(WD * 2)
  t.same(take(), ['send', 'overdue:1', 'limit:1:graceful', 'end'])
  clock.advance(1000)
  engine.closed()
  t.equal(clock.pending, 0, 'grace timer disarmed')
  clock.advance(10_000)
  t.same(take(), [])
  t.equal(engine.state.phase, 'closed')
})

t.test('method none: never sends, never times out, arms nothing', async t => {
  const { clock, engine, take } = rig({ method: 'none', keepAliveLimit: 1 })
  t.equal(clock.pending, 0)
  clock.advance(WD * 100)
  t.same(take(), [])
  t.same(engine.state, { phase: 'idle', sent: 0 })
})

t.test('method nop: the write completion alone completes it', async t => {
  const { clock, engine, take } = rig({ method: 'nop' })
  clock.advance(WD)
  const sent = take()
  t.same(sent, ['send'])
  engine.written(1)
  t.same(take(), ['completed'])
  clock.advance(WD)
  clock.advance(WD)
  t.same(take(), ['send', 'overdue:1'], 'an unwritten NOP is overdue like a TIMING-MARK')
  engine.reply()
  t.same(take(), [], 'a TM reply does not complete a NOP')
  engine.written(2)
  t.same(take(), ['completed'])
})

t.test('the send action carries the method and a fresh id', async t => {
  const clock = new FakeClock()
  const seen: KeepAliveAction[] = []
  const engine = new KeepAliveEngine({ ...base, method: 'nop' }, clock, a => seen.push(a))
  engine.start(); engine.start()
  clock.advance(WD)
  engine.written(1)
  clock.advance(WD)
  t.same(seen.filter(a => a.type === 'send'), [{ type: 'send', id: 1, method: 'nop' }, { type: 'send', id: 2, method: 'nop' }])
  t.equal(clock.pending, 1, 'start() twice arms one watchdog')
})

t.test('reply before the write completion: completes when the write callback runs', async t => {
  const { clock, engine, take } = rig()
  clock.advance(WD)
  engine.reply()
  t.same(take(), ['send'])
  t.match(engine.state, { phase: 'outstanding', replied: true, written: false })
  engine.reply()
  t.same(take(), [], 'a duplicate reply is ignored')
  engine.written(1)
  t.same(take(), ['completed'])
})

t.test('write completion without a reply (TIMING-MARK): stays outstanding to the limit', async t => {
  const { clock, engine, take } = rig({ hardClose: true, keepAliveLimit: 2 })
  clock.advance(WD)
  engine.written(1)
  engine.written(1)
  clock.advance(WD * 2)
  t.same(take(), ['send', 'overdue:1', 'overdue:2', 'limit:2:hard', 'reset:hardClose'])
})

t.test('a stale or foreign write completion id is ignored', async t => {
  const { clock, engine, take } = rig()
  clock.advance(WD)
  engine.written(7)
  engine.reply()
  t.same(take(), ['send'])
  t.match(engine.state, { written: false })
})

t.test('inbound data does not complete an outstanding keepalive', async t => {
  const { clock, engine, take } = rig({ hardClose: true })
  clock.advance(WD)
  engine.written(1)
  for (let i = 0; i < 3; i++) { engine.inbound(); clock.advance(WD) }
  t.same(take(), ['send', 'overdue:1', 'overdue:2', 'overdue:3', 'limit:3:hard', 'reset:hardClose'])
})

t.test('transport closed while idle or outstanding: disarms, nothing more happens', async t => {
  for (const sendFirst of [false, true]) {
    const { clock, engine, take } = rig()
    if (sendFirst) clock.advance(WD)
    engine.closed()
    engine.closed()
    t.equal(clock.pending, 0)
    clock.advance(WD * 5)
    t.same(take(), sendFirst ? ['send'] : [])
    t.equal(engine.state.phase, 'closed')
  }
})

t.test('settings are validated', async t => {
  const clock = new FakeClock()
  t.throws(() => new KeepAliveEngine({ ...base, watchdogTimeout: 0 }, clock, () => {}), /watchdogTimeout must be > 0/)
  t.throws(() => new KeepAliveEngine({ ...base, keepAliveLimit: 0 }, clock, () => {}), /keepAliveLimit must be a whole number/)
  t.throws(() => new KeepAliveEngine({ ...base, keepAliveLimit: 1.5 }, clock, () => {}), /keepAliveLimit/)
  t.throws(() => new KeepAliveEngine({ ...base, gracefulCloseTimeout: -1 }, clock, () => {}), /gracefulCloseTimeout/)
})

// Property: whatever happens, a keepalive is only ever sent when none is outstanding, the
// limit abort happens exactly at keepAliveLimit consecutive overdue ticks, and closed is final.
t.test('property: never two keepalives outstanding; abort exactly at the limit', async t => {
  const input: fc.Arbitrary<KeepAliveInput> = fc.oneof(
    fc.constant({ type: 'tick' } as const),
    fc.integer({ min: 0, max: 4 }).map(id => ({ type: 'written', id }) as const),
    fc.constant({ type: 'reply' } as const),
    fc.constant({ type: 'inbound' } as const),
    fc.constant({ type: 'graceTimeout' } as const),
    fc.constant({ type: 'closed' } as const),
  )
  const settings = fc.record({
    method: fc.constantFrom('timingmark', 'nop', 'none') as fc.Arbitrary<KeepAliveSettings['method']>,
    watchdogTimeout: fc.constant(1),
    keepAliveLimit: fc.integer({ min: 1, max: 4 }),
    hardClose: fc.boolean(),
    gracefulCloseTimeout: fc.constant(1),
  })
  t.doesNotThrow(() => fc.assert(fc.property(settings, fc.array(input, { maxLength: 60 }), (s, inputs) => {
    let state: KeepAliveState = initialKeepAliveState
    let outstanding = 0
    let overdueRun = 0
    for (const inp of inputs) {
      const before = state
      const { state: next, actions } = keepAliveStep(s, state, inp)
      for (const a of actions) {
        if (a.type === 'send') { outstanding++; overdueRun = 0; if (before.phase !== 'idle' || s.method === 'none') return false }
        if (a.type === 'completed') outstanding--
        if (a.type === 'overdue') { overdueRun++; if (a.ticks !== overdueRun) return false }
        if (a.type === 'limit' && a.ticks !== s.keepAliveLimit) return false
        if (a.type === 'limit' && a.close !== (s.hardClose ? 'hard' : 'graceful')) return false
        if (a.type === 'reset' && a.reason === 'gracefulCloseTimeout' && (s.hardClose || before.phase !== 'closing')) return false
      }
      if (outstanding < 0 || outstanding > 1) return false
      if (before.phase === 'closed' && (next !== before || actions.length > 0)) return false
      if (inp.type === 'inbound' && next !== before) return false
      if (next.phase === 'outstanding' && next.ticks >= s.keepAliveLimit) return false
      state = next
    }
    return true
  }), { numRuns: 2000 }))
})
