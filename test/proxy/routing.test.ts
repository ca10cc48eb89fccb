// tn3270e routing on real sockets (lib/proxy/router.ts, routed-session.ts, handover.ts;
// docs/routing.md) against small TN3270 gateways (tn-gateway.ts) that resume the handed-over
// negotiation: where each request goes, what the client sees when a gateway refuses, closes,
// stalls or does not take the hand-over, when every gateway refuses, affinity, the default pool,
// and a client that leaves or stalls. TN3270E per RFC 2355 §7.1, TN3270 per RFC 1091 / RFC 1576.
import t, { type Test } from 'tap'
import { proxySchema } from '../../lib/config/proxy.js'
import { Opt, Cmd } from '../../lib/telnet/index.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'
import { Peer, bytes } from '../telnet/fixtures/peer.js'
import { startTestProxy, waitFor, type Harness } from './fake-gateway.js'
import { TnGateway } from './tn-gateway.js'

const { IAC, SB, SE, WILL, DO } = Cmd

async function gateways (t: Test, ...specs: Array<[string, Array<{ name: string, lus: string[] }>]>): Promise<TnGateway[]> {
  const out: TnGateway[] = []
  for (const [name, pools] of specs) {
    const g = await new TnGateway(name, pools).start()
    t.teardown(() => g.stop())
    out.push(g)
  }
  return out
}

/** gw1: HOSTA LU A1 A2, HOSTB LU B1; gw2: HOSTA LU C1, HOSTB LU D1 D2. */
const twoGateways = (t: Test) => gateways(t,
  ['gw1', [{ name: 'HOSTA', lus: ['A1', 'A2'] }, { name: 'HOSTB', lus: ['B1'] }]],
  ['gw2', [{ name: 'HOSTA', lus: ['C1'] }, { name: 'HOSTB', lus: ['D1', 'D2'] }]])

async function proxy (t: Test, gws: TnGateway[], listener: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Promise<Harness> {
  const h = await startTestProxy(t, proxySchema.parse({
    listeners: [{ name: 'main', port: 0, backends: gws.map(g => ({ name: g.name, host: '127.0.0.1', port: g.port, adminUrl: g.adminUrl })), ...listener }],
    connectTimeout: '300ms', statusInterval: '30ms', statusTimeout: '500ms', statusStaleAfter: '5s', negotiationTimeout: '2s',
    ejection: { failures: 5, baseTime: '10s', maxTime: '1m' }, drainTimeout: '300ms', closeSpreadTime: '10ms',
    ...top,
  }))
  await waitFor(() => h.proxy.status().backends.every(b => b.eligibility === 'ok' || b.eligibility === 'no_free_lu') && h.proxy.status().listeners[0]!.open, 3000, 'first polls')
  return h
}

async function open (t: Test, h: Harness, connect?: string): Promise<E2eClient> {
  const c = await E2eClient.open(h.port, { ...(connect === undefined ? {} : { connect }) })
  t.teardown(() => c.destroy())
  await c.waitForText(`HELLO ${c.lu!}`)
  return c
}

/** A few /status polls later (30 ms apart): the proxy's view has caught up with the gateways. */
const polled = async (_h: Harness): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 100)) }

t.test('pools and LU names go where they can be served; the session runs through', async t => {
  const [g1, g2] = await twoGateways(t)
  const h = await proxy(t, [g1!, g2!])
  const b = await open(t, h, 'HOSTB')
  t.equal(b.lu, 'D1', 'HOSTB: gw2 has two free, gw1 one; at equal load the freer wins')
  const c1 = await open(t, h, 'C1')
  t.equal(c1.lu, 'C1', 'an LU name reaches its owner (gw2, already busier)')
  const a = await open(t, h, 'HOSTA')
  t.equal(a.lu, 'A1', 'HOSTA: gw1 has it free, gw2 not any more')
  t.same([g1!.requests.map(r => r.resourceName), g2!.requests.map(r => r.resourceName)], [['HOSTA'], ['HOSTB', 'C1']], 'each gateway saw only what it was chosen for, as the client asked')
  t.match(h.log.events('session_start'), [{ backend: 'gw2', kind: 'pool', pool: 'HOSTB', lu: 'D1', retries: 0 }, { backend: 'gw2', kind: 'lu', lu: 'C1' }, { backend: 'gw1', kind: 'pool', lu: 'A1' }])
  t.equal(await h.metric('tn3270_proxy_routing_decisions_total', { listener: 'main', kind: 'pool', result: 'handed_over' }), 2)
  t.equal(await h.metric('tn3270_proxy_routing_decisions_total', { listener: 'main', kind: 'lu', result: 'handed_over' }), 1)
  const handovers = (await h.registry.getSingleMetric('tn3270_proxy_handover_seconds')!.get()).values.find(v => (v as { metricName?: string }).metricName === 'tn3270_proxy_handover_seconds_count')
  t.equal(handovers?.value, 3, 'every accepted hand-over is timed')
  t.equal(await h.metric('tn3270_proxy_backend_pool_lus_free', { backend: 'gw1', pool: 'HOSTB' }) !== undefined, true, 'per-pool free LUs exported')
  t.match(h.proxy.status(), { listeners: [{ routing: 'tn3270e', pools: [], defaultPool: null, proxyProtocol: 'v2' }] })
  // An unknown name is refused at once; the client may ask again on the same connection.
  const u = await E2eClient.connect(h.port)
  t.teardown(() => u.destroy())
  t.same(await u.negotiate({ connect: 'NOSUCH' }), { ok: false, kind: 'reject', reason: 'INV-NAME' })
  t.equal(g1!.accepted + g2!.accepted, 3, 'no gateway was asked about it')
  u.destroy()
  for (const c of [a, b, c1]) await c.end()
  await waitFor(() => h.proxy.status().sessions.active === 0)
  t.same(h.log.events('session_end').map(l => l.lu).sort(), ['A1', 'C1', 'D1'])
  t.ok(h.log.events('session_end').every(l => l.termination === 'client_closed'))
  t.equal(await h.metric('tn3270_proxy_connections_total', { listener: 'main', result: 'refused' }), 1, 'the client refused and gone')
})

for (const [behaviour, reason, health] of [['close', 'closed', true], ['stall', 'timeout', true], ['fresh', 'protocol', true], ['refuse', 'device_in_use', false]] as const) {
  t.test(`a gateway that ${behaviour === 'fresh' ? 'starts a fresh negotiation' : behaviour === 'refuse' ? 'refuses (lost a race)' : behaviour + 's'} after the connect: the next one serves, the client sees nothing`, async t => {
    const [g1, g2] = await twoGateways(t)
    const h = await proxy(t, [g1!, g2!], { backends: [{ name: 'gw1', host: '127.0.0.1', port: g1!.port, adminUrl: g1!.adminUrl, weight: 3 }, { name: 'gw2', host: '127.0.0.1', port: g2!.port, adminUrl: g2!.adminUrl }] })
    if (behaviour === 'refuse') g1!.refuseAll = { ok: false, reason: 'DEVICE-IN-USE', message: 'taken by another proxy\'s client' }
    else g1!.behaviour = behaviour
    const c = await open(t, h, 'HOSTA')
    t.equal(c.lu, 'C1', 'gw1 (heavier) was tried first; gw2 served')
    t.match(h.log.events('handover_refused'), [{ backend: 'gw1', reason }])
    t.match(h.log.events('session_start'), [{ backend: 'gw2', retries: 1 }])
    t.equal(await h.metric('tn3270_proxy_handover_refusals_total', { backend: 'gw1', reason }), 1)
    t.equal(await h.metric('tn3270_proxy_failovers_total', { listener: 'main' }), 1)
    t.equal(await h.metric('tn3270_proxy_backend_connect_errors_total', { backend: 'gw1', reason: 'refused' }), undefined, 'not a connect error')
    const gw1 = h.proxy.status().backends.find(b => b.name === 'gw1')!
    t.equal(gw1.lastError !== null, health, health ? 'an ill answer counts toward ejection' : 'a refusal is capacity, not ill health')
  })
}

t.test('every gateway refuses: the client gets the last gateway\'s REJECT, may ask again on the same connection, and then goes', async t => {
  const [g1, g2] = await twoGateways(t)
  // No poll after the first: what the gateways answered is all the proxy learns.
  const h = await proxy(t, [g1!, g2!], { backends: [{ name: 'gw1', host: '127.0.0.1', port: g1!.port, adminUrl: g1!.adminUrl, weight: 3 }, { name: 'gw2', host: '127.0.0.1', port: g2!.port, adminUrl: g2!.adminUrl }] }, { statusInterval: '1h', statusStaleAfter: '2h' })
  g1!.refuseAll = { ok: false, reason: 'DEVICE-IN-USE', message: 'busy' }
  g2!.refuseAll = { ok: false, reason: 'UNKNOWN-ERROR', message: 'broken' }
  const peer = await Peer.connect(h.port)
  t.teardown(() => peer.destroy())
  await peer.expect(IAC, DO, Opt.TN3270E)
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.expect(IAC, SB, Opt.TN3270E, 8, 2, IAC, SE)
  peer.send(IAC, SB, Opt.TN3270E, 2, 7, 'IBM-3278-2', 1, 'HOSTA', IAC, SE)
  t.same(...await peer.expect(IAC, SB, Opt.TN3270E, 2, 6, 5, 6, IAC, SE), 'REJECT UNKNOWN-ERROR: the reason the last gateway tried gave')
  t.match(h.log.events('handover_refused'), [{ backend: 'gw1', reason: 'device_in_use' }, { backend: 'gw2', reason: 'unknown_error' }])
  t.equal(h.proxy.status().backends.find(b => b.name === 'gw1')?.pools?.find(p => p.name === 'HOSTA')?.free, 0, 'gw1 called HOSTA full: so it counts until its next /status')
  t.equal(h.proxy.status().backends.find(b => b.name === 'gw2')?.pools?.find(p => p.name === 'HOSTA')?.free, 1, 'an UNKNOWN-ERROR says nothing about capacity')
  // The client asks again on the same connection (RFC 2355 §7.1.2); gw2 has recovered.
  g2!.refuseAll = undefined
  peer.send(IAC, SB, Opt.TN3270E, 2, 7, 'IBM-3278-2', 1, 'HOSTA', IAC, SE)
  t.same(...await peer.expect(IAC, SB, Opt.TN3270E, 2, 4, 'IBM-3278-2', 1, 'C1', IAC, SE), 'routed afresh: gw2 only (gw1 is full)')
  t.equal(g1!.requests.length, 1, 'gw1 was not asked again')
  peer.destroy()
  // Every gateway refuses, and the client gives up: counted as refused.
  g2!.refuseAll = { ok: false, reason: 'DEVICE-IN-USE', message: 'busy' }
  const d = await E2eClient.connect(h.port)
  t.teardown(() => d.destroy())
  t.same(await d.negotiate({ connect: 'HOSTB' }), { ok: false, kind: 'reject', reason: 'DEVICE-IN-USE' })
  d.destroy()
  await waitFor(async () => await h.metric('tn3270_proxy_connections_total', { listener: 'main', result: 'refused' }) === 1, 3000, 'the refused client counted')
  t.match(h.log.events('client_refused'), [{ listener: 'main' }])
  t.match(h.log.events('route_refused'), [{ request: 'HOSTA', reason: 'UNKNOWN-ERROR' }, { request: 'HOSTB', reason: 'DEVICE-IN-USE' }])
  t.equal(await h.metric('tn3270_proxy_routing_decisions_total', { listener: 'main', kind: 'pool', result: 'unknown_error' }), 1)
})

t.test('TN3270 (RFC 1091): a refused name gets the next TERMINAL-TYPE SEND; a served one goes on to 3270 mode', async t => {
  const [g1, g2] = await twoGateways(t)
  const h = await proxy(t, [g1!, g2!])
  const peer = await Peer.connect(h.port)
  t.teardown(() => peer.destroy())
  t.same(...await peer.expect(IAC, DO, Opt.TN3270E))
  peer.send(IAC, Cmd.WONT, Opt.TN3270E)
  t.same(...await peer.expect(IAC, DO, Opt.TTYPE))
  peer.send(IAC, WILL, Opt.TTYPE)
  t.same(...await peer.expect(IAC, SB, Opt.TTYPE, 1, IAC, SE))
  peer.send(IAC, SB, Opt.TTYPE, 0, 'IBM-3278-2@NOSUCH', IAC, SE)
  t.same(...await peer.expect(IAC, SB, Opt.TTYPE, 1, IAC, SE), 'an unknown name: the next one, please')
  peer.send(IAC, SB, Opt.TTYPE, 0, 'IBM-3278-2@D2', IAC, SE)
  t.same(...await peer.expect(IAC, DO, Opt.EOR, IAC, WILL, Opt.EOR, IAC, DO, Opt.BINARY, IAC, WILL, Opt.BINARY), 'gw2 took it: its DO/WILL EOR and BINARY, forwarded')
  peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY)
  await waitFor(() => g2!.sessions.size === 1, 3000, 'session at gw2')
  t.same(g2!.requests.map(r => [r.mode, r.resourceName]), [['tn3270', 'D2']])
  t.match(h.log.events('session_start'), [{ backend: 'gw2', kind: 'lu' }])
  t.equal(await h.metric('tn3270_proxy_routing_decisions_total', { listener: 'main', kind: 'unknown', result: 'inv_name' }), 1)
})

t.test('a default pool: generic clients are asked into it by name; a listener offering some pools closes when none can serve', async t => {
  const [g1, g2] = await twoGateways(t)
  const h = await proxy(t, [g1!, g2!], { pools: ['HOSTB'], defaultPool: 'HOSTB' })
  const c = await open(t, h)
  t.equal(c.lu, 'D1', 'generic → HOSTB')
  t.same(g2!.requests.map(r => r.resourceName), ['HOSTB'], 'the gateway was asked for the default pool by name')
  t.equal(await h.metric('tn3270_proxy_routing_decisions_total', { listener: 'main', kind: 'generic', result: 'handed_over' }), 1)
  const u = await E2eClient.connect(h.port)
  t.teardown(() => u.destroy())
  t.same(await u.negotiate({ connect: 'HOSTA' }), { ok: false, kind: 'reject', reason: 'INV-NAME' }, 'a pool this listener does not offer')
  u.destroy()
  await open(t, h)
  await open(t, h)
  // HOSTB is full everywhere (HOSTA free LUs do not count here): the listener closes.
  await waitFor(() => !h.proxy.status().listeners[0]!.open, 3000, 'listener closed')
  t.match(h.log.events('listener_closed'), [{ reason: 'no backend can take a client' }])
})

t.test('affinity: a returning client address gets its previous LU when free, another when not', async t => {
  const [g1] = await gateways(t, ['gw1', [{ name: 'P', lus: ['L1', 'L2', 'L3'] }]])
  const h = await proxy(t, [g1!], {}, { affinity: { keepFor: '1m' } })
  const first = await open(t, h, 'P')
  t.equal(first.lu, 'L1')
  const other = await open(t, h)
  t.equal(other.lu, 'L2')
  await first.end()
  await waitFor(() => h.proxy.status().sessions.active === 1)
  await other.end()
  await waitFor(() => h.proxy.status().sessions.active === 0 && g1!.held.size === 0)
  await polled(h)
  // Generic: L1 is the first free LU, but this address's last session (the one that ended last) had L2.
  const back = await open(t, h)
  t.equal(back.lu, 'L2', 'the LU of the session that ended last from this address')
  t.same(g1!.requests.at(-1)?.resourceName, 'L2', 'asked for by name')
  t.equal(await h.metric('tn3270_proxy_affinity_total', { listener: 'main', result: 'kept' }), 1)
  await back.end()
  await waitFor(() => h.proxy.status().sessions.active === 0 && g1!.held.size === 0)
  // Someone else took L2 meanwhile (behind the proxy's back): the client gets another LU, no REJECT.
  g1!.held.add('L2')
  const again = await open(t, h, 'P')
  t.equal(again.lu, 'L1', 'L2 could not be had: routed as asked')
  t.equal(await h.metric('tn3270_proxy_affinity_total', { listener: 'main', result: 'lost' }), 1)
  t.match(h.log.events('affinity'), [{ lu: 'L2', kept: true }, { lu: 'L2', kept: false }])
})

t.test('what the client sends after its request reaches the gateway behind the answer; drains and timeouts', async t => {
  const [g1] = await gateways(t, ['gw1', [{ name: 'P', lus: ['L1', 'L2'] }]])
  const h = await proxy(t, [g1!])
  // A client that sends its FUNCTIONS REQUEST right behind the DEVICE-TYPE REQUEST (it should wait).
  const peer = await Peer.connect(h.port)
  t.teardown(() => peer.destroy())
  peer.socket.setNoDelay(true)
  await peer.expect(IAC, DO, Opt.TN3270E)
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.expect(IAC, SB, Opt.TN3270E, 8, 2, IAC, SE)
  peer.send(IAC, SB, Opt.TN3270E, 2, 7, 'IBM-3278-2-E', IAC, SE, IAC, SB, Opt.TN3270E, 3, 7, IAC, SE)
  t.same(...await peer.expect(IAC, SB, Opt.TN3270E, 2, 4, 'IBM-3278-2-E', 1, 'L1', IAC, SE), 'DEVICE-TYPE IS from the gateway')
  t.same(...await peer.expect(IAC, SB, Opt.TN3270E, 3, 4, IAC, SE), 'and its FUNCTIONS IS: the early request was passed on')
  await waitFor(() => g1!.sessions.size === 1)

  // A client that says nothing is closed at negotiationTimeout.
  const silent = await Peer.connect(h.port)
  t.teardown(() => silent.destroy())
  await silent.closed
  t.match(h.log.events('client_gone'), [{ code: 'TN3270LB_ERR_TN3270_NEGOTIATION_TIMEOUT' }])
  t.equal(await h.metric('tn3270_proxy_connections_total', { listener: 'main', result: 'error' }), 1)

  // A client that leaves while a gateway stalls: the attempt is dropped, nothing is left counted.
  g1!.behaviour = 'stall'
  const quitter = await E2eClient.connect(h.port)
  const asked = g1!.accepted
  void quitter.negotiate({ connect: 'P', timeoutMs: 2000 }).catch(() => undefined)
  await waitFor(() => g1!.accepted > asked, 3000, 'the hand-over attempt')
  quitter.destroy()
  await waitFor(() => h.log.events('client_gone').length === 2, 3000, 'the client gone')
  t.equal(await h.metric('tn3270_proxy_routing_decisions_total', { listener: 'main', kind: 'pool', result: 'aborted' }), 1)
  t.equal(h.proxy.status().backends[0]!.sessions, 1, 'only the real session is counted at the backend')

  // Drain: the session and a client still negotiating continue up to drainTimeout, then both are closed.
  g1!.behaviour = 'serve'
  const waiting = await Peer.connect(h.port)
  t.teardown(() => waiting.destroy())
  await waiting.expect(IAC, DO, Opt.TN3270E)
  await h.proxy.shutdown()
  await waiting.closed
  t.same(h.proxy.drainReport(), { finished: 0, closed: 2 })
  await peer.closed
  t.pass('the session was closed too')
})

t.test('handover header: the client address and the negotiation in TLV 0xE0 (HAProxy doc/proxy-protocol.txt §2.2.7)', async t => {
  const { handoverHeader } = await import('../../lib/proxy/handover.js')
  const { parseProxyHeader, findTlv } = await import('../../lib/proxy-protocol/index.js')
  const { decodeSnapshot } = await import('../../lib/tn3270/index.js')
  const snapshot = { mode: 'tn3270e' as const, options: [{ option: Opt.TN3270E, local: false, remote: true }], request: { deviceType: 'IBM-3278-2-E', connect: 'HOSTB' } }
  const header = handoverHeader({ address: '192.0.2.9', port: 5000 }, { address: '10.0.0.1', port: 3270 }, snapshot)
  const parsed = parseProxyHeader(header)
  if (parsed.needMore === true) throw new Error('incomplete')
  t.match(parsed.header, { command: 'proxy', src: { address: '192.0.2.9', port: 5000 }, dst: { address: '10.0.0.1', port: 3270 } })
  t.same(decodeSnapshot(findTlv(parsed.header.tlvs, 0xe0)!), snapshot)
  t.same(bytes(header.subarray(28, 29)), bytes(0xe0))
})
