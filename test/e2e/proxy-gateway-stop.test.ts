// Front proxy end to end: a gateway stops mid-run (in-process demo: shutdown({ immediate: true }) of
// its Gateway). Its clients drop; new clients land on the other gateway; the other sessions are
// untouched; tn3270_proxy_backend_up shows it down; a gateway restarted with the same config on the
// same ports comes back into rotation. lib/demo.ts exposes no configs, so the restart is built by
// demoGatewayConfig from lib/demo.ts, the config the demo itself uses. The proxy's own session_end
// lines (`role: "proxy"`, docs/operations.md "Logs") say how each session ended.
import t from 'tap'
import type { Demo } from '../../lib/demo.js'
import { gatewayStatus, getJson } from '../helpers/e2e-gateway.js'
import { capturingLogger, connectLu, demoGatewayConfig, metricSum, proxyMetric, proxyMetrics, proxyPort, s3270, startDemoLikeGateway, startProxyDemo, type LogLine } from '../helpers/e2e-proxy.js'
import { until } from '../helpers/until.js'
import { S3270 } from '../helpers/s3270.js'
import type { GatewayStatus } from '../../lib/gateway/index.js'

async function echoes (s: S3270, text: string): Promise<void> {
  await s.string(text)
  await s.enter()
  await until(`ECHO: ${text}`, async () => (await s.ascii()).join('\n').includes(`ECHO: ${text}`))
}

const up = async (d: Demo, backend: string): Promise<number> => await proxyMetric(d, 'tn3270_proxy_backend_up', { backend })

t.test('a gateway stops: its clients drop, new ones go to the other, it is down; restarted, it is back in rotation', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, lines, { gateways: 2, hosts: 1, lus: 4 })
  const port = proxyPort(d)
  t.teardown(() => {
    if (!t.passing()) for (const l of lines) if (l.role === 'proxy' || l.msg === 'connection rejected') t.comment(JSON.stringify(l))
  })
  const gw1 = d.gateways[0]!
  const gw1Port = gw1.listenerPort('tn3270')
  const gw1Admin = gw1.adminAddress.port
  t.equal(await up(d, 'gw1'), 1, 'gw1 up at start')
  t.equal(await up(d, 'gw2'), 1, 'gw2 up at start')

  const clients: Array<{ s: S3270, lu: string }> = []
  for (let i = 0; i < 4; i++) {
    const s = await s3270(t)
    clients.push({ s, lu: await connectLu(s, port) })
  }
  const on1 = clients.filter(c => c.lu.startsWith('GW1A'))
  const on2 = clients.filter(c => c.lu.startsWith('GW2A'))
  t.equal(on1.length, 2, `two sessions on gw1 (${on1.map(c => c.lu).join(', ')})`)
  t.equal(on2.length, 2, `two sessions on gw2 (${on2.map(c => c.lu).join(', ')})`)

  // Stop gw1 as a process would stop: everything at once.
  const tStop = Date.now()
  await gw1.shutdown({ immediate: true })
  for (const c of on1) {
    await until(`${c.lu} client dropped`, async () => (await c.s.query('ConnectionState')) === 'not-connected', 10_000)
  }
  t.comment(`gw1's clients saw the disconnect within ${Date.now() - tStop} ms`)
  t.pass('both gw1 clients dropped')
  await until('proxy counts 2 sessions', async () => await proxyMetric(d, 'tn3270_proxy_sessions_active', { listener: 'tn3270' }) === 2)
  t.equal(await proxyMetric(d, 'tn3270_proxy_backend_sessions_active', { backend: 'gw1' }), 0, 'proxy: no session left on gw1')
  t.equal(await proxyMetric(d, 'tn3270_proxy_backend_sessions_active', { backend: 'gw2' }), 2, 'proxy: gw2 keeps its 2')
  for (const c of on2) t.equal(await c.s.query('ConnectionState'), 'connected-tn3270e', `${c.lu} still connected`)

  // New clients land on gw2 (a first try on gw1 may be refused and silently failed over).
  const fresh: Array<{ s: S3270, lu: string }> = []
  for (let i = 0; i < 2; i++) {
    const s = await s3270(t)
    fresh.push({ s, lu: await connectLu(s, port) })
  }
  t.ok(fresh.every(c => c.lu.startsWith('GW2A')), `new clients land on gw2 (${fresh.map(c => c.lu).join(', ')})`)
  for (const c of on2) await echoes(c.s, `untouched ${c.lu}`)
  t.pass('gw2\'s earlier sessions are untouched: still echo')
  const gw2 = await gatewayStatus(d, 1)
  t.equal(gw2.sessions.active, 4, 'gw2 /status: 4 sessions (2 earlier + 2 new)')

  const downIn = await until('tn3270_proxy_backend_up{backend="gw1"} 0', async () => await up(d, 'gw1') === 0, 20_000, 50)
  t.comment(`backend_up{gw1} went to 0 ${Date.now() - tStop} ms after the stop (${downIn} ms after the new clients were placed)`)
  t.equal(await up(d, 'gw2'), 1, 'gw2 still up')
  const st = d.proxy.status().backends.find(b => b.name === 'gw1')!
  t.equal(st.up, false, `proxy /status: gw1 down (eligibility ${st.eligibility}, last error ${st.lastError?.message ?? 'none'})`)
  const m1 = await proxyMetrics(d)
  t.comment(`after the stop: failovers ${metricSum(m1, 'tn3270_proxy_failovers_total')}, connect errors gw1 ${metricSum(m1, 'tn3270_proxy_backend_connect_errors_total', { backend: 'gw1' })}, no_backend ${metricSum(m1, 'tn3270_proxy_connections_total', { result: 'no_backend' })}`)
  t.equal(metricSum(m1, 'tn3270_proxy_connections_total', { result: 'no_backend' }), 0, 'no client was dropped for want of a backend')

  // Restart gw1: same config, same ports, fresh process state.
  const config = demoGatewayConfig({ index: 1, hosts: 1, lus: 4, port: gw1Port, adminPort: gw1Admin, hostLinkPorts: d.hosts.map(h => h.linkAddress.port) })
  const tStart = Date.now()
  const again = await startDemoLikeGateway(t, config, capturingLogger(lines))
  t.equal(again.listenerPort('tn3270'), gw1Port, 'restarted gw1 listens on the same port')
  const s1 = await getJson<GatewayStatus>(gw1Admin, '/status')
  t.equal(s1.pools[0]!.free, 4, 'restarted gw1: all 4 LUs free')
  const upIn = await until('tn3270_proxy_backend_up{backend="gw1"} 1', async () => await up(d, 'gw1') === 1, 10_000, 50)
  t.comment(`backend_up{gw1} back to 1 ${upIn} ms after the restart (${Date.now() - tStart} ms incl. start)`)

  // gw2 is full (4 of 4), so the proxy listener was closed while gw1 was down; it re-opens now.
  t.ok(lines.some(l => l.event === 'listener_closed' && l.reason === 'no backend can take a client'), 'proxy listener had closed while gw1 was down and gw2 full')
  const openIn = await until('proxy listener open again', async () => await proxyMetric(d, 'tn3270_proxy_listener_open', { listener: 'tn3270' }) === 1, 10_000, 20)
  t.comment(`proxy listener open again ${Date.now() - tStart} ms after the restart began (${openIn} ms after backend_up 1)`)
  const back = await s3270(t)
  const lu = await connectLu(back, port)
  t.match(lu, /^GW1A/, `the next client lands on the restarted gw1 (${lu})`)
  await echoes(back, 'back')
  t.pass('DEMO answers through the restarted gateway')
  for (const c of [...on2, ...fresh]) t.equal(await c.s.query('ConnectionState'), 'connected-tn3270e', `${c.lu} still connected`)

  const m2 = await proxyMetrics(d)
  t.comment(`end: forwarded ${metricSum(m2, 'tn3270_proxy_connections_total', { result: 'forwarded' })}, failovers ${metricSum(m2, 'tn3270_proxy_failovers_total')}, connect errors ${m2.split('\n').filter(l => l.startsWith('tn3270_proxy_backend_connect_errors_total')).join('; ') || 'none'}`)
  t.equal(metricSum(m2, 'tn3270_proxy_connections_total', { result: 'forwarded' }), 7, 'seven sessions forwarded')
  t.equal(metricSum(m2, 'tn3270_proxy_connections_total', { result: 'no_backend' }), 0)
  const ends = lines.filter(l => l.event === 'session_end' && l.role === 'proxy')
  t.same(ends.map(l => l.backend).sort(), ['gw1', 'gw1'], 'only the two gw1 sessions ended at the proxy')
  t.ok(ends.every(l => l.termination === 'backend_closed'), `they ended because the backend closed (${ends.map(l => l.termination).join(', ')})`)
})

t.test('a gateway stops while the other is full: no client is accepted and then dropped', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, lines, { gateways: 2, hosts: 1, lus: 2 })
  const port = proxyPort(d)
  t.teardown(() => {
    if (!t.passing()) for (const l of lines) if (l.role === 'proxy') t.comment(JSON.stringify(l))
  })
  const clients: Array<{ s: S3270, lu: string }> = []
  for (let i = 0; i < 4; i++) {
    const s = await s3270(t)
    clients.push({ s, lu: await connectLu(s, port) })
  }
  await until('proxy listener closed (all 4 LUs in use)', async () => await proxyMetric(d, 'tn3270_proxy_listener_open', { listener: 'tn3270' }) === 0)
  const tStop = Date.now()
  await d.gateways[0]!.shutdown({ immediate: true })
  for (const c of clients.filter(c => c.lu.startsWith('GW1A'))) {
    await until(`${c.lu} dropped`, async () => (await c.s.query('ConnectionState')) === 'not-connected')
  }
  // A client (hot-backup style) tries now and again for a while: it must only ever be refused
  // at TCP level (listener closed), never accepted and dropped, since no gateway can serve it.
  const probeClient = await s3270(t)
  let attempts = 0
  let accepted = 0
  const loopStart = Date.now()
  const end = loopStart + 4000
  while (Date.now() < end) {
    attempts++
    const before = await proxyMetrics(d)
    const r = await probeClient.connect(`127.0.0.1:${port}`)
    if (r.ok) await probeClient.disconnect()
    const after = await proxyMetrics(d)
    if (metricSum(after, 'tn3270_proxy_connections_total') !== metricSum(before, 'tn3270_proxy_connections_total')) accepted++
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const m = await proxyMetrics(d)
  t.comment(`${attempts} connect attempts in the 4 s after the stop (from ${loopStart - tStop} ms after it); no_backend ${metricSum(m, 'tn3270_proxy_connections_total', { result: 'no_backend' })}, failovers ${metricSum(m, 'tn3270_proxy_failovers_total')}, connect errors ${metricSum(m, 'tn3270_proxy_backend_connect_errors_total')}`)
  t.equal(metricSum(m, 'tn3270_proxy_connections_total', { result: 'no_backend' }), 0, 'no client accepted and then dropped for want of a backend')
  t.equal(accepted, 0, 'every attempt was refused by the closed proxy listener')
})
