// tn3270e routing end to end (docs/routing.md): the real s3270 through the demo proxy in front of
// 2 gateways × 2 hosts with one LU per host per gateway (`--lus 1`). With gw1's HOSTB and gw2's
// HOSTA held by direct sessions, `HOSTB@proxy` gets gw2's HOSTB LU and `HOSTA@proxy` gw1's HOSTA
// LU, in TN3270E and in plain TN3270 (`N:`, the `@NAME` terminal type of the RFC 1646 era);
// `<LU>@proxy` reaches that LU on whichever gateway owns it; a pool no gateway has free is
// refused at once with REJECT DEVICE-IN-USE (RFC 2355 §7.1.2).
import t, { type Test } from 'tap'
import type { Demo } from '../../lib/demo.js'
import type { ProxyStatus } from '../../lib/proxy/index.js'
import { gatewayStatus } from '../helpers/e2e-gateway.js'
import { metricSum, proxyMetrics, proxyPort, s3270, startProxyDemo, type LogLine } from '../helpers/e2e-proxy.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'
import { until } from '../helpers/until.js'
import type { S3270 } from '../helpers/s3270.js'

/** Connect and wait for the DEMO screen; the LU and host it shows (`LU <name>`, `demo host <host>`). */
async function screenOf (t: Test, target: string): Promise<{ s: S3270, lu: string, host: string }> {
  const s = await s3270(t)
  const r = await s.connect(target)
  if (!r.ok) throw new Error(`s3270 Connect(${target}) failed: ${r.data.join(' / ')}`)
  await s.wait(5, 'InputField')
  const screen = (await s.ascii()).join('\n')
  const lu = /\bLU (\w+)/.exec(screen)?.[1] ?? '?'
  const host = /demo host (\w+)/.exec(screen)?.[1] ?? '?'
  return { s, lu, host }
}

/** What the proxy's last /status poll says a backend can give in a pool. */
function poolFree (st: ProxyStatus, backend: string, pool: string): number | undefined {
  return st.backends.find(b => b.name === backend)?.pools?.find(p => p.name === pool)?.free
}

async function proxySees (d: Demo, what: string, want: Record<string, Record<string, number>>): Promise<void> {
  await until(`proxy sees ${what}`, () => {
    const st = d.proxy.status()
    return Object.entries(want).every(([b, pools]) => Object.entries(pools).every(([p, n]) => poolFree(st, b, p) === n))
  }, 10_000, 50)
}

const ALL_FREE = { gw1: { HOSTA: 1, HOSTB: 1 }, gw2: { HOSTA: 1, HOSTB: 1 } }

for (const mode of ['tn3270e', 'tn3270'] as const) {
  t.test(`${mode}: pools route to the gateway that has them free, LU names to their owner`, async t => {
    const lines: LogLine[] = []
    const d = await startProxyDemo(t, lines, { gateways: 2, hosts: 2, lus: 1 })
    const p = mode === 'tn3270' ? 'N:' : ''
    const proxy = `127.0.0.1:${proxyPort(d)}`
    const gw = (i: number): string => `127.0.0.1:${d.gateways[i]!.listenerPort('tn3270')}`
    t.teardown(() => { if (!t.passing()) for (const l of lines) if (l.role === 'proxy' && l.level >= 30) t.comment(JSON.stringify(l)) })
    await proxySees(d, 'every LU free', ALL_FREE)

    // Direct sessions take gw1's HOSTB and gw2's HOSTA.
    const h1 = await screenOf(t, `${p}HOSTB@${gw(0)}`)
    const h2 = await screenOf(t, `${p}HOSTA@${gw(1)}`)
    t.same([h1.lu, h2.lu], ['GW1B001', 'GW2A001'], 'direct sessions hold gw1 HOSTB and gw2 HOSTA')
    await proxySees(d, 'the direct sessions', { gw1: { HOSTA: 1, HOSTB: 0 }, gw2: { HOSTA: 0, HOSTB: 1 } })

    const b = await screenOf(t, `${p}HOSTB@${proxy}`)
    t.same([b.lu, b.host], ['GW2B001', 'HOSTB'], 'HOSTB@proxy gets gw2\'s HOSTB LU (gw1 has none free)')
    if (mode === 'tn3270e') {
      t.equal(await b.s.query('LuName'), 'GW2B001', 's3270 was told the LU in DEVICE-TYPE IS')
      // No gateway has a free HOSTB LU now: a prompt REJECT DEVICE-IN-USE, the connection stays.
      const c = await E2eClient.connect(proxyPort(d))
      t.teardown(() => c.destroy())
      const t0 = Date.now()
      const n = await c.negotiate({ connect: 'HOSTB' })
      const ms = Date.now() - t0
      t.same(n, { ok: false, kind: 'reject', reason: 'DEVICE-IN-USE' }, 'REJECT DEVICE-IN-USE')
      t.comment(`answered in ${ms} ms`)
      t.notOk(lines.some(l => l.event === 'handover_refused'), 'answered without trying a gateway: none was asked')
      c.destroy()
    }
    const a = await screenOf(t, `${p}HOSTA@${proxy}`)
    t.same([a.lu, a.host], ['GW1A001', 'HOSTA'], 'HOSTA@proxy gets gw1\'s HOSTA LU (gw2 has none free)')
    t.equal(lines.filter(l => l.event === 'handover_refused').length, 0, 'every hand-over taken at the first gateway tried')
    for (const x of [h1, h2, b, a]) await x.s.disconnect()
    await proxySees(d, 'every LU free again', ALL_FREE)

    // LU names: each reaches its owner, whichever gateway the balancer would have preferred.
    for (const lu of ['GW1B001', 'GW2A001', 'GW2B001', 'GW1A001']) {
      const x = await screenOf(t, `${p}${lu}@${proxy}`)
      t.equal(x.lu, lu, `${p}${lu}@proxy reaches ${lu}`)
    }
    const st = [await gatewayStatus(d, 0), await gatewayStatus(d, 1)]
    t.same(st.map(s => s.sessions.active), [2, 2], 'two sessions on each gateway')
    const m = await proxyMetrics(d)
    t.equal(metricSum(m, 'tn3270_proxy_routing_decisions_total', { kind: 'pool', result: 'handed_over' }), 2)
    t.equal(metricSum(m, 'tn3270_proxy_routing_decisions_total', { kind: 'lu', result: 'handed_over' }), 4)
    t.equal(metricSum(m, 'tn3270_proxy_routing_decisions_total', { kind: 'pool', result: 'device_in_use' }), mode === 'tn3270e' ? 1 : 0)
    t.equal(metricSum(m, 'tn3270_proxy_connections_total', { result: 'forwarded' }), 6)
  })
}
