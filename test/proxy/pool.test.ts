// BackendPool with a fake clock: time-driven re-evaluation, membership, metrics, estimates.
import t from 'tap'
import { MockAgent } from 'undici'
import { FakeClock } from '../helpers/fake-clock.js'
import { createProxyMetrics, createRegistry } from '../../lib/observability/metrics.js'
import { silentLogger } from '../../lib/observability/logger.js'
import { BackendPool } from '../../lib/proxy/pool.js'
import type { BackendTarget } from '../../lib/proxy/backend.js'

function setup (t: { teardown: (fn: () => unknown) => void }) {
  const clock = new FakeClock(1_000_000)
  const registry = createRegistry()
  const metrics = createProxyMetrics(registry)
  const agent = new MockAgent()
  agent.disableNetConnect()
  t.teardown(() => agent.close())
  const pool = new BackendPool({ listener: 'main', staleAfter: 1000, ejection: { failures: 2, baseTime: 500, maxTime: 2000 }, statusInterval: 100_000, statusTimeout: 100, dispatcher: agent, clock, logger: silentLogger(), metrics })
  t.teardown(() => pool.close())
  let changes = 0
  pool.on('change', () => { changes++ })
  const gauge = async (name: string, backend: string) => ((await registry.getSingleMetric(name)!.get()).values.find(v => v.labels.backend === backend))?.value
  return { clock, pool, agent, changes: () => changes, gauge }
}
const target = (id: string, over: Partial<BackendTarget> = {}): BackendTarget => ({ id, host: '127.0.0.1', port: 1, weight: 1, source: 'static', ...over })

t.test('passive ejection and timed re-admission emit change without any traffic', async t => {
  const { clock, pool, changes, gauge } = setup(t)
  pool.setSource('static', [target('a'), target('b')])
  t.ok(pool.canServe())
  const a = pool.choose(new Set())!
  t.equal(a.id, 'a')
  pool.connectFailed(a, 'refused', 'ECONNREFUSED')
  const a2 = pool.choose(new Set(['b']))!
  pool.connectFailed(a2, 'refused', 'ECONNREFUSED')
  t.equal(pool.status()[0].eligibility, 'ejected')
  t.equal(await gauge('tn3270_proxy_backend_up', 'a'), 0)
  const b = pool.choose(new Set())!
  t.equal(b.id, 'b')
  pool.connectFailed(b, 'timeout', 'timed out')
  pool.connectFailed(pool.choose(new Set())!, 'timeout', 'timed out')
  t.notOk(pool.canServe(), 'both ejected')
  const before = changes()
  clock.advance(499)
  t.equal(changes(), before, 'nothing before the ejection ends')
  clock.advance(1)
  t.ok(changes() > before, 'change emitted when the ejection ends')
  t.ok(pool.canServe())
  t.equal(await gauge('tn3270_proxy_backend_up', 'a'), 1)
  // probation: one failure re-ejects with a doubled time
  pool.connectFailed(pool.choose(new Set(['b']))!, 'refused', 'x')
  t.match(pool.status()[0], { eligibility: 'ejected', ejectedUntil: new Date(clock.now() + 1000).toISOString() })
  const c = pool.choose(new Set())!
  pool.connected(c)
  pool.sessionEnded(c)
  t.equal(c.health.state, 'admitted')
})

t.test('membership: removed backends keep sessions, then are forgotten; re-added ones come back', async t => {
  const { pool, gauge } = setup(t)
  pool.setSource('static', [target('a')])
  pool.setSource('dns:x', [target('d1'), target('a')])
  t.same(pool.list().map(b => b.id), ['a', 'd1'], 'same id from two sources counted once')
  const d1 = pool.choose(new Set(['a']))!
  pool.connected(d1)
  pool.setSource('dns:x', [])
  t.match(pool.status().find(s => s.name === 'd1'), { removed: true, sessions: 1 })
  t.notOk(pool.choose(new Set(['a'])), 'no new sessions on a removed backend')
  pool.setSource('dns:x', [target('d1', { weight: 2 })])
  t.match(pool.status().find(s => s.name === 'd1'), { removed: false, weight: 2 })
  pool.setSource('dns:x', [])
  pool.sessionEnded(d1)
  t.same(pool.list().map(b => b.id), ['a'])
  t.equal(await gauge('tn3270_proxy_backend_sessions_active', 'd1'), undefined)
  pool.setSource('dns:x', [target('d2')])
  pool.setSource('dns:x', [])
  t.same(pool.list().map(b => b.id), ['a'], 'an idle removed backend is forgotten at once')
  pool.setSource('static', [target('a', { weight: 5 })])
  t.equal(pool.get('a')!.target.weight, 5, 'changed weight applied in place')
})

t.test('polled backends: status, stale timer, free-LU estimate, refusal, re-admission', async t => {
  const { clock, pool, agent } = setup(t)
  const body = (free: number) => ({ ready: true, listeners: [{ address: '127.0.0.1:1', open: true, pools: ['P'] }], pools: [{ name: 'P', free }] })
  const gw = agent.get('http://gw:9')
  gw.intercept({ path: '/status', method: 'GET' }).reply(200, body(2))
  pool.setSource('static', [target('a', { adminUrl: 'http://gw:9' })])
  t.equal(pool.status()[0].eligibility, 'no_status')
  await pool.pollAll()
  t.match(pool.status()[0], { eligibility: 'ok', freeLus: 2, up: true, statusAgeMs: 0 })
  const s1 = pool.choose(new Set())!
  pool.connected(s1)
  t.equal(pool.status()[0].freeLus, 1, 'a placed session counts against the free LUs')
  pool.choose(new Set())
  t.notOk(pool.canServe(), 'estimate reached 0')
  pool.sessionEnded(s1)
  t.ok(pool.canServe(), 'an ended session frees an LU')
  const s3 = pool.choose(new Set())!
  pool.connectFailed(s3, 'refused', 'ECONNREFUSED')
  t.equal(pool.status()[0].freeLus, 0, 'a refusal means the gateway listener is closed')
  t.notOk(pool.canServe())
  gw.intercept({ path: '/status', method: 'GET' }).reply(200, body(3))
  await pool.pollAll()
  t.ok(pool.canServe(), 'a fresh status forgets the refusal')
  // eject, then a good check re-admits before the ejection time
  pool.connectFailed(pool.choose(new Set())!, 'refused', 'x')
  t.equal(pool.status()[0].eligibility, 'ejected')
  gw.intercept({ path: '/status', method: 'GET' }).reply(200, body(3))
  await pool.pollAll()
  t.equal(pool.status()[0].eligibility, 'ok')
  // stale after staleAfter with no new answer: the timer re-evaluates
  clock.advance(1000)
  t.equal(pool.status()[0].eligibility, 'stale')
  t.equal(pool.status()[0].up, false)
  await new Promise(resolve => setTimeout(resolve, 20)) // the poller's own (unmatched) poll settles
  gw.intercept({ path: '/status', method: 'GET' }).reply(500, 'x')
  await pool.pollAll()
  t.match(pool.status()[0].lastError, { message: /HTTP 500/ })
})

t.test('a session the backend closed frees no LU until the next /status (gateway stopping: no re-open for a client nobody can take)', async t => {
  const { pool, agent } = setup(t)
  const body = (free: number) => ({ ready: true, listeners: [{ address: '127.0.0.1:1', open: true, pools: ['P'] }], pools: [{ name: 'P', free }] })
  const gw = agent.get('http://gw:9')
  gw.intercept({ path: '/status', method: 'GET' }).reply(200, body(2))
  pool.setSource('static', [target('a', { adminUrl: 'http://gw:9' })])
  await pool.pollAll()
  const s1 = pool.choose(new Set())!
  pool.connected(s1)
  const s2 = pool.choose(new Set())!
  pool.connected(s2)
  t.notOk(pool.canServe(), 'both LUs taken')
  pool.sessionEnded(s1, false)
  t.equal(pool.status()[0].sessions, 1, 'the session is gone')
  t.equal(pool.status()[0].freeLus, 0, 'but its LU is not assumed free: the backend closed it')
  t.notOk(pool.canServe(), 'so the listener stays closed')
  pool.sessionEnded(s2)
  t.equal(pool.status()[0].freeLus, 1, 'a session that ended otherwise (client, proxy) frees its LU at once')
  t.ok(pool.canServe())
  gw.intercept({ path: '/status', method: 'GET' }).reply(200, body(2))
  await pool.pollAll()
  t.equal(pool.status()[0].freeLus, 2, 'the next /status is believed')
})
