import t from 'tap'
import { FakeClock } from '../helpers/fake-clock.js'
import { silentLogger } from '../../lib/observability/logger.js'
import { drainSessions, type Drainable } from '../../lib/proxy/drain.js'

class FakeSession implements Drainable {
  resolve!: () => void
  readonly done = new Promise<void>(r => { this.resolve = r })
  terminatedAt: number | undefined
  constructor (private readonly clock: FakeClock, readonly live: Set<FakeSession>) { live.add(this); void this.done.then(() => live.delete(this)) }
  terminate (): void { this.terminatedAt = this.clock.now(); this.resolve() }
}
const tick = () => new Promise(resolve => setImmediate(resolve))

t.test('sessions that end within drainTimeout are not touched', async t => {
  const clock = new FakeClock()
  const live = new Set<FakeSession>()
  const a = new FakeSession(clock, live)
  const p = drainSessions(() => [...live], { drainTimeout: 1000, closeSpreadTime: 100, clock, logger: silentLogger() })
  a.resolve()
  t.same(await p, { finished: 1, closed: 0 })
  t.equal(a.terminatedAt, undefined)
  t.equal(clock.pending, 0, 'drain timer cleared')
})

t.test('after drainTimeout the rest are closed, spread over closeSpreadTime', async t => {
  const clock = new FakeClock()
  const live = new Set<FakeSession>()
  const s = [0, 1, 2, 3].map(() => new FakeSession(clock, live))
  const randoms = [0, 0.25, 0.5, 0.999]
  const p = drainSessions(() => [...live], { drainTimeout: 1000, closeSpreadTime: 400, clock, logger: silentLogger(), random: () => randoms.shift()! })
  s[0].resolve()
  await tick()
  clock.advance(1000)
  await tick()
  clock.advance(0)
  await tick()
  t.equal(s[1].terminatedAt, 1000, 'random 0 → at once')
  t.equal(s[2].terminatedAt, undefined)
  clock.advance(100)
  await tick()
  t.equal(s[2].terminatedAt, 1100)
  s[3].resolve() // ends by itself before its turn
  clock.advance(400)
  await tick()
  t.equal(s[3].terminatedAt, undefined, 'a session that ended by itself is not terminated')
  t.same(await p, { finished: 1, closed: 3 })
})
