// Front proxy end to end: soft stop (proxy.shutdown() with no options, exactly what lib/cli.ts does
// on SIGTERM) while real s3270 sessions are live: /readyz answers 503, the listener refuses new
// clients (even when an LU frees), sessions continue until drainTimeout, then the proxy closes them
// (spread over closeSpreadTime). The proxy is configured like the demo's, with drainTimeout and
// closeSpreadTime set in its config (lib/demo.ts takes no proxy overrides). HAProxy's soft stop and
// close-spread-time (doc/management.txt, doc/configuration.txt); docs/operations.md "Shutdown and drain".
import t, { type Test } from 'tap'
import { connect } from 'node:net'
import { allFree, gatewayStatus, httpRequest } from '../helpers/e2e-gateway.js'
import { metricValue } from '../helpers/e2e-gateway.js'
import { startProxyDemo, startProxyFor, type LogLine } from '../helpers/e2e-proxy.js'
import { until } from '../helpers/until.js'
import { S3270 } from '../helpers/s3270.js'

async function s3270 (t: Test): Promise<S3270> {
  const s = await S3270.start({ model: 2, extraArgs: ['-connecttimeout', '5'] })
  t.teardown(() => s.close())
  return s
}

async function tcpProbe (port: number): Promise<string> {
  return await new Promise(resolve => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve('connected') })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

async function echoes (s: S3270, text: string): Promise<void> {
  await s.string(text)
  await s.enter()
  await until(`ECHO: ${text}`, async () => (await s.ascii()).join('\n').includes(`ECHO: ${text}`))
}

const DRAIN_MS = 2000
const SPREAD_MS = 300

t.test('soft stop: readyz 503, listener refuses, sessions continue until drainTimeout, then closed', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, [], { gateways: 2, hosts: 1, lus: 2 })
  const proxy = await startProxyFor(t, d, lines, { drainTimeout: `${DRAIN_MS}ms`, closeSpreadTime: `${SPREAD_MS}ms` })
  const port = proxy.listeners[0]!.port
  const admin = proxy.admin.port
  const proxyMetric = async (name: string, labels: Record<string, string>): Promise<number | undefined> => metricValue((await httpRequest(admin, '/metrics')).body, name, labels)
  t.equal((await httpRequest(admin, '/readyz')).status, 200, '/readyz 200 before the stop')

  const clients: S3270[] = []
  for (let i = 0; i < 3; i++) {
    const s = await s3270(t)
    const r = await s.connect(`127.0.0.1:${port}`)
    t.ok(r.ok, `session ${i + 1} connected`)
    await s.wait(5, 'InputField')
    clients.push(s)
  }
  t.equal(await proxyMetric('tn3270_proxy_sessions_active', { listener: 'tn3270' }), 3)

  const t0 = Date.now()
  const stopped = proxy.shutdown() // SIGTERM
  const ready = await httpRequest(admin, '/readyz')
  t.equal(ready.status, 503, `/readyz 503 while draining (${Date.now() - t0} ms after the stop)`)
  t.equal((await httpRequest(admin, '/healthz')).status, 200, '/healthz still 200: the process is alive')
  t.equal(await tcpProbe(port), 'ECONNREFUSED', 'a new client is refused at TCP level')
  t.equal(await proxyMetric('tn3270_proxy_listener_open', { listener: 'tn3270' }), 0, 'tn3270_proxy_listener_open 0')

  // Sessions continue; one ends on its own, which frees an LU: the listener must stay closed.
  for (const [i, s] of clients.entries()) await echoes(s, `draining ${i}`)
  t.pass('all three sessions still echo during the drain')
  await clients[2]!.disconnect()
  await until('gateway saw the session end', async () => (await gatewayStatus(d, 0)).sessions.active + (await gatewayStatus(d, 1)).sessions.active === 2)
  await until('a status poll saw the free LU', () => proxy.status().backends.some(b => (b.freeLus ?? 0) > 0 && (b.statusAgeMs ?? Infinity) < 1000), 5000, 50)
  t.equal(await tcpProbe(port), 'ECONNREFUSED', 'still refused after an LU freed')
  t.equal((await httpRequest(admin, '/readyz')).status, 503, '/readyz still 503')
  const mid = Date.now() - t0
  t.ok(mid < DRAIN_MS, `checks done before drainTimeout (${mid} ms)`)
  for (const [i, s] of clients.slice(0, 2).entries()) t.equal(await s.query('ConnectionState'), 'connected-tn3270e', `session ${i + 1} connected at ${Date.now() - t0} ms`)

  // At drainTimeout the proxy closes the rest, spread over closeSpreadTime.
  const closedAt: number[] = []
  await Promise.all(clients.slice(0, 2).map(async (s, i) => {
    await until(`session ${i + 1} closed by the proxy`, async () => (await s.query('ConnectionState')) === 'not-connected', DRAIN_MS + SPREAD_MS + 5000, 20)
    closedAt.push(Date.now() - t0)
  }))
  await stopped
  const doneAt = Date.now() - t0
  t.comment(`sessions closed at ${closedAt.sort((a, b) => a - b).join(', ')} ms; shutdown resolved at ${doneAt} ms (drainTimeout ${DRAIN_MS}, closeSpreadTime ${SPREAD_MS})`)
  t.ok(closedAt.every(ms => ms >= DRAIN_MS), 'no session closed before drainTimeout')
  t.ok(closedAt.every(ms => ms <= DRAIN_MS + SPREAD_MS + 1000), 'all closed within drainTimeout + closeSpreadTime (+1 s slack)')
  t.same(proxy.drainReport(), { finished: 1, closed: 2 }, 'drain report: one finished on its own, two closed')
  const ends = lines.filter(l => l.event === 'session_end' && l.role === 'proxy')
  t.same(ends.map(l => l.termination).sort(), ['client_closed', 'drain', 'drain'], 'session_end terminations')
  t.ok(lines.some(l => l.event === 'drain_start') && lines.some(l => l.event === 'drain_timeout') && lines.some(l => l.event === 'drain_done'), 'drain_start, drain_timeout, drain_done logged')
  await until('gateways released every LU', async () => allFree(await gatewayStatus(d, 0)) && allFree(await gatewayStatus(d, 1)))
  t.pass('the gateways released every LU once the proxy closed the sessions')
  const refused = await tcpProbe(port)
  t.equal(refused, 'ECONNREFUSED', 'listener stays closed after the stop')
})

t.test('soft stop: when the last session ends on its own the drain finishes before drainTimeout', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, [], { gateways: 2, hosts: 1, lus: 2 })
  const proxy = await startProxyFor(t, d, lines, { drainTimeout: '20s', closeSpreadTime: '1s' })
  const port = proxy.listeners[0]!.port
  const clients: S3270[] = []
  for (let i = 0; i < 2; i++) {
    const s = await s3270(t)
    t.ok((await s.connect(`127.0.0.1:${port}`)).ok)
    await s.wait(5, 'InputField')
    clients.push(s)
  }
  const t0 = Date.now()
  let resolvedAt = 0
  const stopped = proxy.shutdown().then(() => { resolvedAt = Date.now() - t0 })
  await until('drain started', () => lines.some(l => l.event === 'drain_start'))
  await echoes(clients[0]!, 'last words')
  for (const s of clients) await s.disconnect()
  await stopped
  t.comment(`shutdown resolved ${resolvedAt} ms after it began (drainTimeout 20 s)`)
  t.ok(resolvedAt < 5000, 'resolved as soon as the sessions ended, long before drainTimeout')
  t.same(proxy.drainReport(), { finished: 2, closed: 0 })
  t.notOk(lines.some(l => l.event === 'drain_timeout'), 'no drain_timeout')
  t.same(lines.filter(l => l.event === 'session_end' && l.role === 'proxy').map(l => l.termination), ['client_closed', 'client_closed'])
})
