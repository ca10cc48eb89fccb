// The proxy's stop state machine (lib/proxy/lifecycle.ts) with fake frontends and a fake clock:
// soft stop, hard stop, a hard stop cutting a soft stop short, one release whatever the path.
import t from 'tap'
import { FakeClock } from '../helpers/fake-clock.js'
import { silentLogger } from '../../lib/observability/index.js'
import type { Drainable } from '../../lib/proxy/drain.js'
import { ProxyLifecycle, type SessionSource } from '../../lib/proxy/lifecycle.js'

class FakeSession implements Drainable {
  resolve!: () => void
  readonly done = new Promise<void>(r => { this.resolve = r })
  readonly terminations: string[] = []
  constructor (live: Set<FakeSession>) { live.add(this); void this.done.then(() => live.delete(this)) }
  terminate (why: string): void { this.terminations.push(why); this.resolve() }
}

class FakeFrontend implements SessionSource {
  readonly sessions = new Set<FakeSession>()
  accepting = true
  stopAccepting (): void { this.accepting = false }
}

function setup (drainTimeout = 1000) {
  const clock = new FakeClock()
  const frontends = [new FakeFrontend(), new FakeFrontend()]
  let releases = 0
  const lifecycle = new ProxyLifecycle({
    frontends,
    release: async () => { releases++ },
    drainTimeout,
    closeSpreadTime: 0,
    clock,
    logger: silentLogger(),
  })
  return { clock, frontends, lifecycle, releases: () => releases }
}
const tick = () => new Promise(resolve => setImmediate(resolve))

t.test('soft stop: not ready at once, accepting stops, sessions may finish, then one release', async t => {
  const { frontends, lifecycle, releases } = setup()
  const s = new FakeSession(frontends[0].sessions)
  t.equal(lifecycle.state, 'serving')
  t.ok(lifecycle.ready)
  const done = lifecycle.shutdown()
  t.equal(lifecycle.state, 'draining')
  t.notOk(lifecycle.ready)
  t.same(frontends.map(f => f.accepting), [false, false])
  t.equal(lifecycle.shutdown(), done, 'a second soft stop is the same stop')
  s.resolve()
  await done
  t.equal(lifecycle.state, 'closed')
  t.same(s.terminations, [], 'a session that ended by itself is not terminated')
  t.same(lifecycle.drainReport, { finished: 1, closed: 0 })
  t.equal(releases(), 1)
})

t.test('hard stop: every session terminated with "shutdown", then released', async t => {
  const { frontends, lifecycle, releases } = setup()
  const a = new FakeSession(frontends[0].sessions)
  const b = new FakeSession(frontends[1].sessions)
  await lifecycle.close()
  t.same([a.terminations, b.terminations], [['shutdown'], ['shutdown']])
  t.equal(lifecycle.state, 'closed')
  t.notOk(lifecycle.ready)
  t.equal(lifecycle.drainReport, undefined, 'no soft stop, no drain report')
  await lifecycle.close()
  await lifecycle.shutdown({ immediate: true })
  t.equal(releases(), 1, 'released once however often stopped')
})

t.test('a hard stop cuts a soft stop short; both promises resolve after one release', async t => {
  const { clock, frontends, lifecycle, releases } = setup(60_000)
  const s = new FakeSession(frontends[0].sessions)
  const soft = lifecycle.shutdown()
  await tick()
  t.equal(lifecycle.state, 'draining')
  const hard = lifecycle.shutdown({ immediate: true })
  t.equal(lifecycle.state, 'closing')
  await Promise.all([soft, hard])
  t.same(s.terminations, ['shutdown'])
  t.equal(lifecycle.state, 'closed')
  t.equal(releases(), 1)
  t.same(lifecycle.drainReport, { finished: 1, closed: 0 }, 'the drain saw the session end')
  t.equal(clock.pending, 0, 'no drain timer left behind')
})
