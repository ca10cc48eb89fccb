// tn3270e routing end to end (docs/routing.md): a hand-over that fails after the connect is
// retried on another gateway before the client hears anything. (1) A gateway killed while it
// holds the handed-over negotiation; (2) a gateway that refuses because its LU went to another
// client after the proxy's last /status poll (a race): REJECT DEVICE-IN-USE in TN3270E (RFC 2355
// §7.1.2), TERMINAL-TYPE SEND in TN3270 (RFC 1091). Either way the real s3270 gets an LU from
// the other gateway, in TN3270E mode: it never saw a REJECT (it would have fallen back to TN3270).
import t, { type Test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import type { Demo } from '../../lib/demo.js'
import type { Proxy } from '../../lib/proxy/index.js'
import { metricValue, httpRequest } from '../helpers/e2e-gateway.js'
import { s3270, startProxyDemo, startProxyFor, type LogLine } from '../helpers/e2e-proxy.js'
import { until } from '../helpers/until.js'

/**
 * A TCP hop in front of a gateway: the proxy's bytes (its PROXY header with the negotiation) go
 * through, and when the gateway's answer comes back the hop runs `kill` instead of passing the
 * answer on: the gateway dies holding the handed-over negotiation, its answer never sent.
 */
async function hop (t: Test, target: number, kill: () => Promise<void>): Promise<number> {
  const server = net.createServer(down => {
    const up = net.connect(target, '127.0.0.1')
    up.on('error', () => down.destroy())
    down.on('error', () => up.destroy())
    down.pipe(up)
    up.once('data', () => { up.pause(); void kill().then(() => { down.destroy(); up.destroy() }) })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return (server.address() as net.AddressInfo).port
}

/** A proxy in front of the demo's gateways with backends as given (gw1 first in weight), logs captured. */
async function proxyFor (t: Test, d: Demo, lines: LogLine[], gw1Port: number, top: Record<string, unknown> = {}): Promise<Proxy> {
  const [g1, g2] = d.gateways
  return await startProxyFor(t, d, lines, top, {
    backends: [
      // Heavier, so it is chosen first while both are idle.
      { name: 'gw1', host: '127.0.0.1', port: gw1Port, adminUrl: `http://127.0.0.1:${g1!.adminAddress.port}`, weight: 2 },
      { name: 'gw2', host: '127.0.0.1', port: g2!.listenerPort('tn3270'), adminUrl: `http://127.0.0.1:${g2!.adminAddress.port}` },
    ],
  })
}

async function connected (t: Test, target: string): Promise<{ lu: string, state: string }> {
  const s = await s3270(t)
  const r = await s.connect(target)
  if (!r.ok) throw new Error(`s3270 Connect(${target}) failed: ${r.data.join(' / ')}`)
  await s.wait(5, 'InputField')
  const screen = (await s.ascii()).join('\n')
  return { lu: /\bLU (\w+)/.exec(screen)?.[1] ?? '?', state: await s.query('ConnectionState') }
}

const counter = async (p: Proxy, name: string, labels: Record<string, string>): Promise<number> =>
  metricValue((await httpRequest(p.admin.port, '/metrics')).body, name, labels) ?? 0

t.test('a gateway killed while it holds the hand-over: the client gets the other gateway\'s LU, no REJECT', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, [], { gateways: 2, hosts: 1, lus: 2 })
  const gw1 = d.gateways[0]!
  let killed = false
  const port = await hop(t, gw1.listenerPort('tn3270'), async () => { killed = true; await gw1.shutdown({ immediate: true }) })
  const proxy = await proxyFor(t, d, lines, port)
  const c = await connected(t, `127.0.0.1:${proxy.listeners[0]!.port}`)
  t.ok(killed, 'gw1 was chosen first and killed during the hand-over')
  t.match(c, { lu: /^GW2A/, state: 'connected-tn3270e' }, `the client got ${c.lu} from gw2, in TN3270E: no REJECT on the way`)
  t.match(lines.find(l => l.event === 'handover_refused'), { backend: 'gw1', reason: 'closed' })
  t.match(lines.find(l => l.event === 'session_start'), { backend: 'gw2', retries: 1, lu: c.lu })
  t.equal(await counter(proxy, 'tn3270_proxy_handover_refusals_total', { backend: 'gw1', reason: 'closed' }), 1)
  t.equal(await counter(proxy, 'tn3270_proxy_failovers_total', { listener: 'tn3270' }), 1)
  t.equal(await counter(proxy, 'tn3270_proxy_routing_decisions_total', { listener: 'tn3270', kind: 'generic', result: 'handed_over' }), 1)
  t.notOk(lines.some(l => l.event === 'route_refused'), 'no refusal reached the client')
})

for (const mode of ['tn3270e', 'tn3270'] as const) {
  t.test(`${mode}: a gateway that refuses after a race (its LU taken since the last poll): the next gateway serves, invisibly`, async t => {
    const lines: LogLine[] = []
    const d = await startProxyDemo(t, [], { gateways: 2, hosts: 2, lus: 1 })
    // One /status poll at start, none after: the proxy keeps believing gw1's HOSTA LU is free.
    const proxy = await proxyFor(t, d, lines, d.gateways[0]!.listenerPort('tn3270'), { statusInterval: '1h', statusStaleAfter: '2h' })
    t.equal(proxy.status().backends.find(b => b.name === 'gw1')?.pools?.find(p => p.name === 'HOSTA')?.free, 1)
    const p = mode === 'tn3270' ? 'N:' : ''
    const taken = await connected(t, `${p}HOSTA@127.0.0.1:${d.gateways[0]!.listenerPort('tn3270')}`)
    t.equal(taken.lu, 'GW1A001', 'a direct client took gw1\'s HOSTA LU after the poll')
    await until('gw1 sees it in use', () => d.gateways[0]!.status().pools.find(x => x.name === 'HOSTA')?.inUse === 1)
    const c = await connected(t, `${p}HOSTA@127.0.0.1:${proxy.listeners[0]!.port}`)
    t.equal(c.lu, 'GW2A001', 'HOSTA@proxy: gw1 refused, gw2 served')
    t.equal(c.state, mode === 'tn3270e' ? 'connected-tn3270e' : 'connected-3270', `still ${mode}: the client saw no refusal`)
    const reason = mode === 'tn3270e' ? 'device_in_use' : 'ttype_send'
    t.match(lines.find(l => l.event === 'handover_refused'), { backend: 'gw1', reason })
    t.match(lines.find(l => l.event === 'session_start'), { backend: 'gw2', retries: 1, kind: 'pool', pool: 'HOSTA' })
    t.equal(await counter(proxy, 'tn3270_proxy_handover_refusals_total', { backend: 'gw1', reason }), 1)
    t.equal(await counter(proxy, 'tn3270_proxy_backend_connect_errors_total', { backend: 'gw1', reason: 'refused' }), 0, 'a refusal is not a connect error')
    t.equal(proxy.status().backends.find(b => b.name === 'gw1')?.ejectedUntil, null, 'nor ill health: gw1 is not ejected')
    if (mode === 'tn3270e') {
      // gw1 said its HOSTA is full: until the next poll the proxy does not ask it again.
      t.equal(proxy.status().backends.find(b => b.name === 'gw1')?.pools?.find(x => x.name === 'HOSTA')?.free, 0)
    }
  })
}
