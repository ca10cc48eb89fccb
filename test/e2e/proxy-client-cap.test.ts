// Per-client caps through the proxy, with the defaults: one address holding 100 idle connections
// cannot close any listener (CloseListenSocket reserves capacity at accept, KB Q101235), and
// another client still gets a session with the real s3270. The proxy closes what is over its
// maxPendingPerClient at accept; the gateways count the rest by the real client address.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { gatewayMetrics, metricValue } from '../helpers/e2e-gateway.js'
import { proxyMetric, proxyPort, s3270, startProxyDemo, type LogLine } from '../helpers/e2e-proxy.js'
import { demoAndEcho } from '../helpers/e2e-tls.js'
import { until } from '../helpers/until.js'

/** Opens a connection from `localAddress` that never sends a byte; resolves once connected or closed. */
async function idle (port: number, localAddress: string): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', localAddress })
  s.on('error', () => { /* closed by a cap: counted below */ })
  await new Promise<void>(resolve => { s.once('connect', () => resolve()); s.once('close', () => resolve()) })
  return s
}

t.test('100 idle connections from one address through the proxy close no listener; another client gets a session', async t => {
  const lines: LogLine[] = []
  // The demo's own shape: 2 gateways, 2 hosts, 4 LUs per host: 8 LUs per gateway listener.
  const d = await startProxyDemo(t, lines, { gateways: 2, hosts: 2, lus: 4 })
  const port = proxyPort(d)
  const sockets: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.destroy() })
  for (let i = 0; i < 100; i++) sockets.push(await idle(port, '127.0.0.2'))
  await until('92 refusals at the proxy', async () => await proxyMetric(d, 'tn3270_proxy_client_limit_refusals_total', { listener: 'tn3270', limit: 'pending' }) === 92)
  await until('8 connections negotiating at the gateways', async () => d.gateways.reduce((n, g) => n + g.status().sessions.negotiating, 0) === 8)
  t.pass('the proxy let maxPendingPerClient (8, the default) through and closed the other 92 at accept')

  const client = await s3270(t)
  await demoAndEcho(t, client, `127.0.0.1:${port}`)
  t.pass('another client still gets a session')

  t.equal(await proxyMetric(d, 'tn3270_proxy_listener_open', { listener: 'tn3270' }), 1, 'the proxy listener is open')
  t.notOk(lines.some(l => l.event === 'listener_closed'), 'the proxy never closed its listener')
  for (const [i, g] of d.gateways.entries()) {
    const text = await gatewayMetrics(d, i)
    t.equal(metricValue(text, 'tn3270_gateway_listener_closes_total', { listener: 'tn3270' }) ?? 0, 0, `${g.name}: its listener never closed`)
    t.equal(metricValue(text, 'tn3270_gateway_listener_open', { listener: 'tn3270' }), 1)
  }
  t.match(lines.find(l => l.event === 'client_limit'), { level: 'warn', limit: 'pending', count: 8, max: 8, client: /^127\.0\.0\.2:/ })
  t.equal(lines.filter(l => l.event === 'backend_connect_failed').length, 0, 'no gateway refused a connection: no failover, no ejection')
})
