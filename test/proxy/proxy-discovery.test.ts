// Integration: DNS discovery with an injected resolver (never real DNS), stale status expiry,
// weights, and connect timeout on real sockets.
import t from 'tap'
import net from 'node:net'
import { FakeClock } from '../helpers/fake-clock.js'
import { ErrorCodes } from '../../lib/errors.js'
import type { Resolver, SrvRecord } from '../../lib/proxy/index.js'
import { classifyConnectError, connectOnce, connectWithFailover } from '../../lib/proxy/connect.js'
import { Backend } from '../../lib/proxy/backend.js'
import { FakeGateway, TestClient, startGateways, startTestProxy, testConfig, waitFor } from './fake-gateway.js'

t.test('DNS SRV discovery: backends added and removed without dropping sessions', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  let records: SrvRecord[] = [{ name: 'gw-a.test', port: a.port, priority: 0, weight: 1 }]
  const resolver: Resolver = {
    resolveSrv: async (name) => { if (name !== '_tn3270._tcp.gw.test') throw new Error('unexpected name'); return records },
    resolve4: async (name) => { if (name === 'gw-a.test' || name === 'gw-b.test') return ['127.0.0.1']; throw new Error('ENOTFOUND') },
  }
  const config = testConfig([], { listener: { backends: [], dns: [{ name: '_tn3270._tcp.gw.test', type: 'SRV', refresh: '50ms' }] } })
  const h = await startTestProxy(t, config, { resolver })
  const idA = `_tn3270._tcp.gw.test/127.0.0.1:${a.port}`
  const idB = `_tn3270._tcp.gw.test/127.0.0.1:${b.port}`
  t.same(h.proxy.status().backends.map(x => x.name), [idA])
  const c1 = new TestClient(h.port)
  await c1.receive(a.greeting)
  records = [{ name: 'gw-b.test', port: b.port, priority: 0, weight: 1 }]
  await waitFor(() => h.proxy.status().backends.some(x => x.name === idB), 2000, 'gwB discovered')
  t.match(h.proxy.status().backends.find(x => x.name === idA), { removed: true, sessions: 1, eligibility: 'removed' })
  const c2 = new TestClient(h.port)
  await c2.receive(b.greeting)
  c1.socket.write('still works')
  await c1.receive(Buffer.from('still works'))
  t.equal(a.sockets.size, 1, 'the session on the removed backend continues')
  c1.socket.destroy()
  await waitFor(() => !h.proxy.status().backends.some(x => x.name === idA), 2000, 'removed backend forgotten after its last session')
  t.equal(await h.metric('tn3270_proxy_backend_up', { backend: idA }), undefined, 'its metric series is gone')
  t.ok(h.log.events('backend_removed').length === 1 && h.log.events('backend_added').length === 2)
  c2.socket.destroy()
})

t.test('DNS A discovery with adminPort polls each address', async t => {
  // Two fake gateways on 127.0.0.1 and 127.0.0.2 sharing the TN3270 and admin port numbers.
  const a = await new FakeGateway({ name: 'gwA', host: '127.0.0.1' }).start()
  t.teardown(() => a.stop())
  const b = new FakeGateway({ name: 'gwB', host: '127.0.0.2', port: a.port, adminPort: a.adminPort })
  try { await b.start() } catch (err) { t.comment(`skipped: 127.0.0.2 not usable here: ${(err as Error).message}`); return }
  t.teardown(() => b.stop())
  let addrs = ['127.0.0.1']
  const resolver: Resolver = { resolve4: async () => addrs, resolveSrv: async () => [] }
  const config = testConfig([], { listener: { backends: [], dns: [{ name: 'gw.test', type: 'A', port: a.port, adminPort: a.adminPort, refresh: '50ms' }] } })
  const h = await startTestProxy(t, config, { resolver })
  addrs = ['127.0.0.1', '127.0.0.2']
  await waitFor(() => h.proxy.status().backends.filter(x => x.freeLus === 4).length === 2, 3000, 'both polled')
  t.same(h.proxy.status().backends.map(x => x.name), [`gw.test/127.0.0.1:${a.port}`, `gw.test/127.0.0.2:${a.port}`])
  const c1 = new TestClient(h.port)
  await c1.receive(a.greeting)
  const c2 = new TestClient(h.port)
  await c2.receive(b.greeting)
  c1.socket.destroy(); c2.socket.destroy()
})

t.test('stale status expires: a backend whose /status stops answering is no longer chosen', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  b.lus = 1
  const h = await startTestProxy(t, testConfig([a, b], { top: { statusStaleAfter: '600ms', statusTimeout: '200ms' } }))
  // gwA has more free LUs and wins ties; then its admin hangs.
  a.adminMode = 'hang'
  await waitFor(() => h.proxy.status().backends[0].eligibility === 'stale', 2000, 'gwA stale')
  t.match(h.proxy.status().backends[0], { name: 'gwA', up: false, lastError: { message: /timed out/ } })
  await waitFor(async () => await h.metric('tn3270_proxy_backend_up', { backend: 'gwA' }) === 0, 1000, 'gauge follows')
  const c = new TestClient(h.port)
  await c.receive(b.greeting)
  t.equal(a.accepted, 0, 'never tried the stale backend')
  // Fresh data again: chosen again.
  a.adminMode = 'ok'
  await waitFor(() => h.proxy.status().backends[0].eligibility === 'ok', 2000, 'gwA fresh')
  const d = new TestClient(h.port)
  await d.receive(a.greeting)
  // Both stale (gwB errors): the listener closes.
  a.adminMode = 'error'
  b.adminMode = 'error'
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 0, 2000, 'listener closed on stale data')
  t.match(h.log.events('status_poll_failed').map(e => e.error), [/timed out/, /HTTP 500/, /HTTP 500/])
  c.socket.destroy(); d.socket.destroy()
})

t.test('weights: a weight-3 backend takes three sessions for each one of a weight-1 backend', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'], { lus: 20 })
  const config = testConfig([a, b], { polled: false })
  config.listeners[0].backends[1].weight = 3
  const h = await startTestProxy(t, config)
  const clients: TestClient[] = []
  for (let i = 0; i < 8; i++) {
    const c = new TestClient(h.port)
    await c.until(() => c.data.length >= 6, 2000, 'greeting')
    clients.push(c)
  }
  t.equal(a.sockets.size, 2)
  t.equal(b.sockets.size, 6)
  for (const c of clients) c.socket.destroy()
})

t.test('connectOnce: own timeout timer, error classification', async t => {
  const server = net.createServer(s => s.destroy())
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const port = (server.address() as net.AddressInfo).port
  const clock = new FakeClock()
  const p = connectOnce({ host: '127.0.0.1', port, timeout: 1000, keepAlive: 0, clock })
  clock.advance(1000) // fires before the connect callback can run
  await t.rejects(p, { code: ErrorCodes.BACKEND_CONNECT, reason: 'timeout', message: /timed out after 1000 ms/ })
  const ok = await connectOnce({ host: '127.0.0.1', port, timeout: 1000, keepAlive: 1000, clock })
  t.equal(clock.pending, 0, 'timer cleared on connect')
  ok.destroy()
  server.close()
  await t.rejects(connectOnce({ host: '127.0.0.1', port, timeout: 1000, keepAlive: 0, clock }), { reason: 'refused', message: /ECONNREFUSED/ })
  t.equal(classifyConnectError({ code: 'ETIMEDOUT' }), 'timeout')
  t.equal(classifyConnectError({ code: 'ECONNRESET' }), 'reset')
  t.equal(classifyConnectError({ code: 'EHOSTUNREACH' }), 'other')
  t.equal(classifyConnectError(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })])), 'refused')
  t.equal(classifyConnectError(new Error('plain')), 'other')
})

t.test('connectWithFailover: a connect timeout fails over to the next backend', async t => {
  const [b] = await startGateways(t, ['gwB'])
  const clock = new FakeClock()
  const mk = (id: string, port: number) => new Backend({ id, host: '127.0.0.1', port, weight: 1, source: 'static' })
  const slow = mk('slow', b.port)
  const good = mk('good', b.port)
  const order = [slow, good]
  const failures: string[] = []
  const pool = {
    choose: (tried: ReadonlySet<string>) => order.find(x => !tried.has(x.id)),
    connectFailed: (x: Backend, reason: string) => { failures.push(`${x.id}:${reason}`) },
    connected: (x: Backend) => { failures.push(`${x.id}:connected`) },
  }
  const p = connectWithFailover(pool, {
    connectTimeout: 500, earlyCloseWindow: 5000, keepAlive: 0, clock, proxyProtocol: false,
    client: { address: '127.0.0.1', port: 1 }, local: { address: '127.0.0.1', port: 2 },
  })
  clock.advance(500) // the first attempt's own timer fires before its connect completes
  const r = await p
  if (!r.ok) throw new Error('expected a connection')
  t.same(failures, ['slow:timeout', 'good:connected'])
  t.equal(r.backend.id, 'good')
  t.equal(r.retries, 1)
  t.same(r.first, b.greeting)
  r.socket.destroy()
  // aborted before the first attempt
  const aborted = await connectWithFailover(pool, { connectTimeout: 500, earlyCloseWindow: 50, keepAlive: 0, clock, proxyProtocol: false, client: { address: '127.0.0.1', port: 1 }, local: { address: '127.0.0.1', port: 2 }, aborted: () => true })
  t.same(aborted, { ok: false, retries: 0, reason: 'aborted' })
})
