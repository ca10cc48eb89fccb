// CloseListenSocket (KB Q101235) end to end with the real s3270 client: a gateway whose pool of
// 2 LUs is full refuses the third connect at TCP level (no "no LU" screen), says so on /metrics
// and /status, and takes the third client as soon as an LU frees. Also: the gateway's Prometheus
// exposition passes `promtool check metrics` and carries every gateway metric docs/metrics.md names.
import t, { type Test } from 'tap'
import { S3270 } from '../helpers/s3270.js'
import { E2eClient, probeConnect } from '../helpers/e2e-tn3270-client.js'
import { promtoolCheckMetrics } from '../helpers/promtool.js'
import { httpRequest, gatewayMetrics, gatewayStatus, hostStatus, metricValue, pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'


async function s3270 (t: Test): Promise<S3270> {
  const c = await S3270.start({ commandTimeoutMs: 20_000 })
  t.teardown(() => c.close())
  return c
}

t.test('CloseListenSocket with s3270: 2 LUs, third connect refused, then served', async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 1, lus: 2 })
  const port = demo.gateways[0]!.listenerPort('tn3270')
  const adminPort = demo.gateways[0]!.adminAddress.port
  t.ok(port > 0, `gateway listens on ${port}`)

  const before = await gatewayMetrics(demo)
  t.equal(metricValue(before, 'tn3270_gateway_listener_open', { listener: 'tn3270' }), 1, 'listener open before any session')

  const clients: S3270[] = []
  const lus: string[] = []
  for (let i = 0; i < 2; i++) {
    const c = await s3270(t)
    const r = await c.connect(`127.0.0.1:${port}`)
    t.ok(r.ok, `s3270 #${i + 1} connected: ${r.status} ${r.data.join(' / ')}`)
    t.ok((await c.wait(10, 'InputField')).ok, `s3270 #${i + 1} got an input field`)
    const screen = (await c.ascii()).join('\n')
    t.match(screen, /tn3270-lb demo host HOSTA/, `s3270 #${i + 1} shows the DEMO screen`)
    lus.push(await c.query('LuName'))
    clients.push(c)
  }
  t.equal(new Set(lus).size, 2, `two distinct LUs: ${lus.join(', ')}`)

  // The pool is full: the listener must be closed now (allocation and listener state change in
  // one synchronous step, so no poll should be needed — but the admin read is a separate request).
  const full = await gatewayStatus(demo)
  t.equal(full.listeners[0]?.open, false, '/status listeners[0].open is false with the pool full')
  t.same(full.pools.map(p => [p.name, p.total, p.free, p.inUse]), [['HOSTA', 2, 0, 2]], '/status pools: 2 total, 0 free, 2 in use')
  const fullMetrics = await gatewayMetrics(demo)
  t.equal(metricValue(fullMetrics, 'tn3270_gateway_listener_open', { listener: 'tn3270' }), 0, 'tn3270_gateway_listener_open is 0')
  t.equal(metricValue(fullMetrics, 'tn3270_gateway_listener_closes_total', { listener: 'tn3270' }), 1, 'tn3270_gateway_listener_closes_total counted one close')
  t.equal(metricValue(fullMetrics, 'tn3270_gateway_lus', { pool: 'HOSTA', state: 'in_use' }), 2, 'tn3270_gateway_lus{state=in_use} is 2')
  t.equal(metricValue(fullMetrics, 'tn3270_gateway_lus', { pool: 'HOSTA', state: 'free' }), 0, 'tn3270_gateway_lus{state=free} is 0')

  // Third client: the real s3270 sees a failed connect, not a screen; a raw connect says ECONNREFUSED.
  t.equal(await probeConnect(port), 'ECONNREFUSED', 'raw TCP connect to the full gateway is refused')
  const third = await s3270(t)
  const refused = await third.connect(`127.0.0.1:${port}`)
  t.notOk(refused.ok, `s3270 Connect to the full gateway fails: ${refused.data.join(' / ')}`)
  t.match(refused.data.join(' '), /Connection failed/, 's3270 reports a failed connection')
  const state = await third.query('ConnectionState')
  t.notMatch(state, /^connected/, `s3270 is not connected (no screen, no "no LU" message): ConnectionState ${JSON.stringify(state)}`)

  // One session ends (s3270 Disconnect = FIN): the LU frees and the listener reopens.
  const t0 = Date.now()
  t.ok((await clients[0]!.disconnect()).ok, 'first s3270 disconnected')
  const reopened = await pollUntil(async () => {
    const s = await gatewayStatus(demo)
    return s.listeners[0]?.open === true ? s : undefined
  }, 'listener reopens after a session ends', 5000)
  t.comment(`listener reopened ${Date.now() - t0} ms after the disconnect`)
  t.equal(reopened.pools[0]?.free, 1, 'one LU free again')
  t.equal(metricValue(await gatewayMetrics(demo), 'tn3270_gateway_listener_open', { listener: 'tn3270' }), 1, 'tn3270_gateway_listener_open back to 1')

  const again = await third.connect(`127.0.0.1:${port}`)
  t.ok(again.ok, `third s3270 connects now: ${again.status}`)
  t.ok((await third.wait(10, 'InputField')).ok, 'third s3270 got an input field')
  t.match((await third.ascii()).join('\n'), /tn3270-lb demo host HOSTA/, 'third s3270 shows the DEMO screen')
  t.equal(await third.query('LuName'), lus[0], 'third client got the LU the first one freed')
  t.ok((await third.string('HELLO FROM THREE')).ok)
  t.ok((await third.enter()).ok)
  t.ok((await third.wait(10, 'Unlock')).ok)
  t.match((await third.ascii()).join('\n'), /ECHO: HELLO FROM THREE/, 'the third session works (ECHO round trip)')

  // Full again → closed again.
  const closedAgain = await gatewayStatus(demo)
  t.equal(closedAgain.listeners[0]?.open, false, 'listener closed again with the pool full')
  t.equal(await probeConnect(port), 'ECONNREFUSED', 'and refuses again')

  // Everyone leaves: every LU free on the gateway, no LU-LU session on the host.
  await clients[1]!.disconnect()
  await third.disconnect()
  const idle = await pollUntil(async () => {
    const s = await gatewayStatus(demo)
    return s.pools[0]?.free === 2 && s.sessions.active === 0 ? s : undefined
  }, 'all LUs free after everyone left', 5000)
  t.equal(idle.listeners[0]?.open, true, 'listener open when idle')
  const host = await pollUntil(async () => {
    const h = await hostStatus(demo)
    return h.sessions.bound.length === 0 ? h : undefined
  }, 'host simulator has no LU-LU session left', 5000)
  t.equal(host.sessions.active, 0, 'host simulator: no active LU-LU session')
  t.comment(`admin port ${adminPort}; LUs used: ${lus.join(', ')}`)
})

t.test('gateway /metrics passes promtool check metrics and has the §5 gateway metrics', async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 1, lus: 2 })
  // One session with an ECHO round trip, so labelled series (sessions, response time) have samples.
  const c = await E2eClient.connect(demo.gateways[0]!.listenerPort('tn3270'))
  t.teardown(() => c.destroy())
  const n = await c.negotiate()
  t.ok(n.ok, `raw client negotiated: ${JSON.stringify(n)}`)
  // Direct clients wait for the listener's optional PROXY header window before the server speaks.
  t.comment(`direct client: first server byte ${(c.firstByteAt ?? NaN) - c.createdAt} ms after connect, negotiated after ${Date.now() - c.createdAt} ms`)
  await c.waitForText('tn3270-lb demo host')
  c.sendInput('METRICS')
  await c.waitForText('ECHO: METRICS')
  const text = await gatewayMetrics(demo)
  // The tn3270_gateway_* families alone must lint clean.
  const gatewayOnly = familiesWithPrefix(text, 'tn3270_gateway_')
  const res = await promtoolCheckMetrics(gatewayOnly)
  t.equal(res.code, 0, `promtool check metrics on the tn3270_gateway_* families: exit status (output: ${res.out.trim() || 'none'})`)
  t.equal(res.out.trim(), '', 'promtool reports no lint problems for tn3270_gateway_*')
  // The whole exposition: the only problems allowed are prom-client's own default metrics
  // (gauges named nodejs_active_*_total, prom-client 15); anything else is ours. Reported as a bug.
  const whole = await promtoolCheckMetrics(text)
  const problems = whole.out.trim().split('\n').filter(l => l.trim() !== '')
  const ours = problems.filter(l => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l.trim()))
  t.same(ours, [], `whole /metrics: no lint problems beyond prom-client's default nodejs_active_*_total gauges (promtool exit ${whole.code}, ${problems.length} problem(s))`)
  t.comment(`promtool on the whole /metrics: exit ${whole.code}; ${problems.join(' | ') || 'clean'}`)

  // docs/metrics.md: every gateway metric named there.
  const named = [
    'tn3270_gateway_lus', 'tn3270_gateway_listener_open', 'tn3270_gateway_listener_closes_total',
    'tn3270_gateway_connections_total', 'tn3270_gateway_sessions_active', 'tn3270_gateway_device_type_rejects_total',
    'tn3270_gateway_negotiation_seconds', 'tn3270_gateway_response_time_seconds', 'tn3270_gateway_host_link_up',
    'tn3270_gateway_pacing_credit_wait_seconds', 'tn3270_gateway_pacing_stalled_sessions',
    'tn3270_gateway_keepalive_sent_total', 'tn3270_gateway_keepalive_overdue_total', 'tn3270_gateway_keepalive_aborts_total',
    'tn3270_gateway_appc_sessions', 'tn3270_gateway_appc_cnos_total', 'tn3270_gateway_appc_bind_failures_total',
    'tn3270_gateway_appc_sestimeout_unbinds_total',
  ]
  // prom-client writes HELP/TYPE without the _total suffix for counters in OpenMetrics only; in
  // the text format 0.0.4 the family name is the full name.
  const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(m => m[1]))
  const missing = named.filter(n => !families.has(n))
  t.same(missing, [], `every §5 gateway metric is exposed (missing: ${missing.join(', ') || 'none'})`)
  t.comment(`gateway metric families exposed: ${[...families].filter(f => f!.startsWith('tn3270_gateway_')).length}`)

  // The response time histogram has the §5 buckets 1, 2, 5, 10 s.
  for (const le of ['1', '2', '5', '10']) {
    t.match(text, new RegExp(`tn3270_gateway_response_time_seconds_bucket\\{[^}]*le="${le}"`), `response time bucket le=${le}`)
  }
  t.equal(metricValue(text, 'tn3270_gateway_host_link_up', { host: 'HOSTA' }), 1, 'host link up gauge is 1')
  t.equal(metricValue(text, 'tn3270_gateway_lus', { pool: 'HOSTA', state: 'free' }), 1, 'one LU free, one in use')
  t.match(String((await httpRequest(demo.gateways[0]!.adminAddress.port, '/metrics')).headers['content-type']), /text\/plain/, 'Prometheus text content type')
  t.equal(metricValue(text, 'tn3270_gateway_connections_total', { listener: 'tn3270', result: 'accepted' }), 1, 'one accepted connection counted')
  t.equal(metricValue(text, 'tn3270_gateway_sessions_active', { pool: 'HOSTA', mode: 'tn3270e' }), 1, 'one active tn3270e session')
  t.equal(metricValue(text, 'tn3270_gateway_response_time_seconds_count', { pool: 'HOSTA' }), 1, 'one response time observed (the ECHO)')
  await c.end()
})

/** The HELP/TYPE/sample lines of every metric family whose name starts with `prefix`. */
function familiesWithPrefix (text: string, prefix: string): string {
  const out: string[] = []
  let keep = false
  for (const line of text.split('\n')) {
    const meta = /^# (?:HELP|TYPE) (\S+)/.exec(line)
    if (meta !== null) keep = meta[1]!.startsWith(prefix)
    else if (line.trim() === '') continue
    else if (!line.startsWith('#')) keep = line.startsWith(prefix)
    if (keep) out.push(line)
  }
  return out.join('\n') + '\n'
}

// docs/operations.md (CloseListenSocket): the listener also closes when its host link is down (no LU can be served),
// and reopens once the host activates the LUs again. POST /restart on the host simulator drops
// the link; it listens again after restartDelay (1 s) and the gateway reconnects.
t.test('host link down closes the listener; re-activation reopens it', async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 1, lus: 2 })
  const port = demo.gateways[0]!.listenerPort('tn3270')
  const c = await E2eClient.connect(port)
  t.teardown(() => c.destroy())
  t.ok((await c.negotiate()).ok, 'a session before the restart')
  await c.waitForText('tn3270-lb demo host')
  const t0 = Date.now()
  const r = await httpRequest(demo.hosts[0]!.adminAddress.port, '/restart', 'POST')
  t.equal(r.status, 202, 'host simulator restart accepted')
  const down = await pollUntil(async () => {
    const s = await gatewayStatus(demo)
    return s.listeners[0]?.open === false && s.pools[0]?.unavailable === 2 ? s : undefined
  }, 'listener closed and LUs unavailable while the host link is down', 3000, 5)
  t.equal(down.hostLinks[0]?.up, false, '/status hostLinks[0].up false')
  t.equal(await probeConnect(port), 'ECONNREFUSED', 'connect refused while the host is down')
  const m = await gatewayMetrics(demo)
  t.equal(metricValue(m, 'tn3270_gateway_host_link_up', { host: 'HOSTA' }), 0, 'tn3270_gateway_host_link_up 0')
  t.equal(metricValue(m, 'tn3270_gateway_lus', { pool: 'HOSTA', state: 'unavailable' }), 2, 'tn3270_gateway_lus{state=unavailable} 2')
  const info = await c.waitClosed(3000)
  t.ok(info.error === undefined, `the session's client was closed in order when its LU went away: ${JSON.stringify(info)}`)
  const up = await pollUntil(async () => {
    const s = await gatewayStatus(demo)
    return s.listeners[0]?.open === true && s.pools[0]?.free === 2 ? s : undefined
  }, 'listener reopens after the host is back', 15_000, 20)
  t.comment(`listener closed→reopened over a host restart in ${Date.now() - t0} ms`)
  t.equal(up.hostLinks[0]?.up, true, 'host link up again')
  const again = await E2eClient.connect(port)
  t.teardown(() => again.destroy())
  t.ok((await again.negotiate()).ok, 'a new session after the restart')
  await again.waitForText('tn3270-lb demo host')
  await again.end()
})
