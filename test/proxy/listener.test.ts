// The proxy listener's CloseListenSocket state machine (lib/proxy/listener.ts) on a real port:
// open while a backend can take a client, closed while none can, re-open backoff while another
// process holds the port, and a drain that cancels a pending re-open (KB Q101235; Node.js
// doc/api/net.md, server.close() keeps accepted sockets).
import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { FakeClock } from '../helpers/fake-clock.js'
import { createProxyMetrics, createRegistry, silentLogger } from '../../lib/observability/index.js'
import { ProxyListener } from '../../lib/proxy/listener.js'
import type { BackendPool } from '../../lib/proxy/pool.js'
import { AffinityTable } from '../../lib/proxy/affinity.js'
import { waitFor } from './fake-gateway.js'

function setup () {
  const clock = new FakeClock()
  const pool = { canServe: true }
  const listener = new ProxyListener({
    name: 'main',
    host: '127.0.0.1',
    port: 0,
    closeListenSocket: true,
    maxConnections: 0,
    settings: { listener: 'main', routing: 'tcp', connectTimeout: 100, negotiationTimeout: 1000, earlyCloseWindow: 10, idleTimeout: 0, halfCloseTimeout: 0, tcpKeepAlive: 0, proxyProtocol: false },
    // The listener asks the pool only canServe(); sessions are not started here.
    pool: { canServe: () => pool.canServe } as unknown as BackendPool,
    affinity: new AffinityTable({ keepFor: 0, maxEntries: 1 }),
    clock,
    logger: silentLogger(),
    metrics: createProxyMetrics(createRegistry()),
    relistenDelay: 500,
  })
  t.teardown(() => listener.stopAccepting())
  return { clock, pool, listener }
}

t.test('follows the pool; a failed re-open waits in retrying; a drain cancels the retry', async t => {
  const { clock, pool, listener } = setup()
  await listener.start()
  t.equal(listener.state, 'open')
  pool.canServe = false
  listener.reconcile()
  t.equal(listener.state, 'closed')
  const blocker = net.createServer().listen(listener.address.port, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => blocker.close())
  pool.canServe = true
  listener.reconcile()
  t.equal(listener.state, 'opening')
  listener.reconcile()
  t.equal(listener.state, 'opening', 'one transition at a time')
  await waitFor(() => listener.state === 'retrying', 2000, 'retrying')
  t.equal(clock.pending, 1, 'one retry timer')
  listener.reconcile()
  t.equal(listener.state, 'retrying', 'no re-open before the delay')
  listener.stopAccepting()
  t.equal(listener.state, 'closed')
  t.equal(clock.pending, 0, 'retry cancelled')
  clock.advance(1000)
  listener.reconcile()
  t.equal(listener.state, 'closed', 'stopped for good')
})

t.test('the retry re-opens once the port is free', async t => {
  const { clock, pool, listener } = setup()
  await listener.start()
  pool.canServe = false
  listener.reconcile()
  const blocker = net.createServer().listen(listener.address.port, '127.0.0.1')
  await once(blocker, 'listening')
  pool.canServe = true
  listener.reconcile()
  await waitFor(() => listener.state === 'retrying', 2000, 'retrying')
  await new Promise<void>(resolve => blocker.close(() => resolve()))
  clock.advance(500)
  await waitFor(() => listener.state === 'open', 2000, 'open again')
  t.equal(listener.open, true)
})

// A CloseListenSocket port inside net.ipv4.ip_local_port_range can be taken as a source port while
// the listener is closed: warned about at start (docs/operations.md "Listener ports"); every failed
// re-open is counted in tn3270_proxy_listener_reopen_failures_total.
t.test('warned about at start when the port is in the ephemeral range; failed re-opens counted', async t => {
  const { mkdtempSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const pino = (await import('pino')).default
  const probe = net.createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = (probe.address() as net.AddressInfo).port
  await new Promise<void>(resolve => probe.close(() => resolve()))
  const rangeFile = join(mkdtempSync(join(tmpdir(), 'tn3270lb-prange-')), 'range')
  writeFileSync(rangeFile, `${port}\t${port}\n`)
  const lines: Array<Record<string, any>> = []
  const metrics = createProxyMetrics(createRegistry())
  const clock = new FakeClock()
  const pool = { canServe: true }
  const listener = new ProxyListener({
    name: 'main', host: '127.0.0.1', port, closeListenSocket: true, maxConnections: 0,
    settings: { listener: 'main', routing: 'tcp', connectTimeout: 100, negotiationTimeout: 1000, earlyCloseWindow: 10, idleTimeout: 0, halfCloseTimeout: 0, tcpKeepAlive: 0, proxyProtocol: false },
    pool: { canServe: () => pool.canServe } as unknown as BackendPool,
    clock,
    logger: pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s)) } }),
    metrics,
    portRangeFile: rangeFile,
    affinity: new AffinityTable({ keepFor: 0, maxEntries: 1 }),
  })
  t.teardown(() => listener.stopAccepting())
  await listener.start()
  t.match(lines.find(l => l.event === 'listener_port_ephemeral'), { level: 40, listener: 'main', port, range: `${port}-${port}` })
  pool.canServe = false
  listener.reconcile()
  const blocker = net.createServer().listen(port, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => blocker.close())
  pool.canServe = true
  listener.reconcile()
  await waitFor(() => listener.state === 'retrying', 2000, 'retrying')
  t.equal((await metrics.listenerReopenFailures.get()).values[0]?.value, 1)
  t.match(lines.find(l => l.event === 'listener_reopen_failed'), { level: 40, failures: 1, retryInMs: 50 })
})
