// Front proxy end to end: the real s3270 client through the demo proxy (2 gateways × 2 LUs). Four
// sessions are placed two per gateway; the fifth Connect is refused by the proxy itself (its
// listener closed); when one session ends the fifth connects; no client ever sees a gateway's
// refusal (the proxy never accepts a client it then has to drop).
import t from 'tap'
import { connect } from 'node:net'
import type { Demo } from '../../lib/demo.js'
import { gatewayStatus } from '../helpers/e2e-gateway.js'
import { connectLu, metricSum, proxyMetric, proxyMetrics, proxyPort, s3270, startProxyDemo, type LogLine } from '../helpers/e2e-proxy.js'
import { until } from '../helpers/until.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'
import { S3270 } from '../helpers/s3270.js'

/** A bare TCP connect: 'connected' (then closed at once) or the error code. */
async function tcpProbe (port: number): Promise<string> {
  return await new Promise(resolve => {
    const s = connect({ host: '127.0.0.1', port })
    s.once('connect', () => { s.destroy(); resolve('connected') })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

async function counters (d: Demo): Promise<Record<string, number>> {
  const text = await proxyMetrics(d)
  return {
    forwarded: metricSum(text, 'tn3270_proxy_connections_total', { result: 'forwarded' }),
    noBackend: metricSum(text, 'tn3270_proxy_connections_total', { result: 'no_backend' }),
    error: metricSum(text, 'tn3270_proxy_connections_total', { result: 'error' }),
    failovers: metricSum(text, 'tn3270_proxy_failovers_total'),
    connectErrors: metricSum(text, 'tn3270_proxy_backend_connect_errors_total'),
  }
}

t.test('four sessions two per gateway; the fifth is refused by the proxy; it connects when one ends', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, lines, { gateways: 2, hosts: 1, lus: 2 })
  const port = proxyPort(d)
  t.equal(await proxyMetric(d, 'tn3270_proxy_listener_open', { listener: 'tn3270' }), 1, 'proxy listener open at start')

  const clients: S3270[] = []
  const lus: string[] = []
  for (let i = 0; i < 4; i++) {
    const s = await s3270(t)
    clients.push(s)
    const t0 = Date.now()
    lus.push(await connectLu(s, port))
    t.comment(`session ${i + 1}: LU ${lus[i]!} (connect + first screen ${Date.now() - t0} ms)`)
  }
  t.equal(lus.filter(l => l.startsWith('GW1A')).length, 2, `two LUs from gw1 (${lus.join(', ')})`)
  t.equal(lus.filter(l => l.startsWith('GW2A')).length, 2, 'two LUs from gw2')
  t.equal(new Set(lus).size, 4, 'four distinct LUs')
  for (const i of [0, 1]) {
    const s = await gatewayStatus(d, i)
    t.equal(s.sessions.active, 2, `gw${i + 1} /status: 2 sessions`)
    t.equal(s.pools[0]!.free, 0, `gw${i + 1} /status: no free LU`)
    t.equal(s.listeners[0]!.open, false, `gw${i + 1} closed its own listener (CloseListenSocket)`)
  }

  const closedIn = await until('proxy listener closed', async () => await proxyMetric(d, 'tn3270_proxy_listener_open', { listener: 'tn3270' }) === 0, 5000)
  t.pass(`tn3270_proxy_listener_open 0 (observed within ${closedIn} ms)`)
  t.equal(d.proxy.status().listeners[0]!.open, false, 'proxy /status: listener closed')

  const fifth = await s3270(t)
  const before5 = await counters(d)
  const refused = await fifth.connect(`127.0.0.1:${port}`)
  t.notOk(refused.ok, `the fifth Connect fails (${refused.data.join(' / ')})`)
  t.equal(await tcpProbe(port), 'ECONNREFUSED', 'a TCP connect to the proxy port is refused: the proxy is not listening')
  t.equal(await fifth.query('ConnectionState'), 'not-connected')
  const after5 = await counters(d)
  t.same(after5, before5, 'the proxy accepted nothing for it (no connection counted, no backend tried)')

  // One session ends; the fifth client retries until the proxy listens again.
  const freed = lus[1]!
  const tEnd = Date.now()
  await clients[1]!.disconnect()
  let attempts = 0
  let lu5 = ''
  await until('fifth client connected', async () => {
    attempts++
    const r = await fifth.connect(`127.0.0.1:${port}`)
    if (!r.ok) return false // refused while the proxy listener is still closed (no_backend stays 0 below)
    await fifth.wait(5, 'InputField')
    lu5 = await fifth.query('LuName')
    return true
  }, 10_000, 50)
  t.comment(`fifth client connected ${Date.now() - tEnd} ms after the disconnect, on attempt ${attempts}`)
  t.equal(lu5.slice(0, 4), freed.slice(0, 4), `fifth client got an LU on the gateway that freed one (${lu5}, freed ${freed})`)
  t.match((await fifth.ascii()).join('\n'), /tn3270-lb demo host HOSTA/, 'DEMO screen through the proxy')

  // The other sessions are untouched and still answer.
  for (const i of [0, 2, 3]) {
    const s = clients[i]!
    await s.string(`still ${i}`)
    await s.enter()
    await until(`echo on session ${i + 1}`, async () => (await s.ascii()).join('\n').includes(`ECHO: still ${i}`))
  }
  t.pass('the three other sessions still echo')

  const end = await counters(d)
  t.comment(`proxy counters: ${JSON.stringify(end)}`)
  t.comment(`backend connect errors by backend/reason: ${(await proxyMetrics(d)).split('\n').filter(l => l.startsWith('tn3270_proxy_backend_connect_errors_total')).join('; ') || 'none'}`)
  t.equal(end.forwarded, 5, 'five sessions forwarded')
  t.equal(end.noBackend, 0, 'no client accepted and then dropped for want of a backend')
  t.equal(end.error, 0, 'no client connection ended in error')
  t.notOk(lines.some(l => l.event === 'no_backend'), 'no no_backend log line')
  const gwRejects = lines.filter(l => l.msg === 'connection rejected')
  t.equal(gwRejects.length, 0, 'no gateway rejected a connection')
})

t.test('churn at full capacity: one session ends, a waiting client connects at once; repeated, no client is dropped', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, lines, { gateways: 2, hosts: 1, lus: 2 })
  const port = proxyPort(d)
  const live: Array<{ s: S3270, lu: string }> = []
  for (let i = 0; i < 4; i++) {
    const s = await s3270(t)
    live.push({ s, lu: await connectLu(s, port) })
  }
  const CYCLES = 12
  let refusedAttempts = 0
  const waits: number[] = []
  for (let i = 0; i < CYCLES; i++) {
    const gone = live.splice(i % live.length, 1)[0]!
    const next = await s3270(t)
    const t0 = Date.now()
    await gone.s.disconnect()
    // The waiting client retries at once and every 20 ms, like an impatient hot-backup list.
    let lu = ''
    await until(`cycle ${i + 1}: waiting client connected`, async () => {
      const r = await next.connect(`127.0.0.1:${port}`)
      if (!r.ok) { refusedAttempts++; return false }
      await next.wait(5, 'InputField')
      lu = await next.query('LuName')
      return true
    }, 10_000, 20)
    waits.push(Date.now() - t0)
    t.equal(lu.slice(0, 4), gone.lu.slice(0, 4), `cycle ${i + 1}: ${gone.lu} freed, the new client got ${lu}`)
    live.push({ s: next, lu })
    void gone.s.close()
  }
  const c = await counters(d)
  t.comment(`${CYCLES} cycles: connect after disconnect ${Math.min(...waits)}..${Math.max(...waits)} ms (median ${waits.sort((a, b) => a - b)[waits.length >> 1]!}), ${refusedAttempts} attempts refused at TCP level while full; counters ${JSON.stringify(c)}`)
  t.equal(c.noBackend, 0, 'no client accepted and then dropped')
  t.equal(c.error, 0, 'no connection error')
  t.equal(c.forwarded, 4 + CYCLES, 'every connect that the proxy accepted was forwarded')
})

t.test('tight churn with raw TN3270E clients: a client retrying every few ms is refused or served, never dropped', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, lines, { gateways: 2, hosts: 1, lus: 2 })
  const port = proxyPort(d)
  const live: E2eClient[] = []
  t.teardown(() => { for (const c of live) c.destroy() })
  for (let i = 0; i < 4; i++) live.push(await E2eClient.open(port))
  const CYCLES = 30
  let refused = 0
  let dropped = 0
  for (let i = 0; i < CYCLES; i++) {
    const gone = live.splice(i % live.length, 1)[0]!
    gone.socket.end()
    for (;;) {
      try {
        const c = await E2eClient.open(port)
        live.push(c)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') refused++
        else { dropped++; t.comment(`cycle ${i + 1}: ${(err as Error).message}`) }
        await new Promise(resolve => setTimeout(resolve, 2))
      }
    }
  }
  const c = await counters(d)
  t.comment(`${CYCLES} cycles: ${refused} attempts refused by the closed proxy listener, ${dropped} accepted then dropped; counters ${JSON.stringify(c)}`)
  t.equal(dropped, 0, 'no client accepted and then dropped')
  t.equal(c.noBackend, 0)
  t.equal(c.forwarded, 4 + CYCLES)
  t.same(live.map(x => (x.lu ?? '').slice(0, 4)).sort(), ['GW1A', 'GW1A', 'GW2A', 'GW2A'], 'still two per gateway')
})
