// Integration: listener lifecycle edge cases (port taken at start and at re-open), shutdown while
// a client is still being connected, DNS down at start. The listener follows CloseListenSocket
// (KB Q101235; docs/operations.md "Listener ports" for a port taken while closed).
import t from 'tap'
import net from 'node:net'
import { createRegistry } from '../../lib/observability/index.js'
import { startProxy, type Resolver } from '../../lib/proxy/index.js'
import { TestClient, captureLogger, startGateways, startTestProxy, testConfig, tryConnect, waitFor } from './fake-gateway.js'

async function occupy (port: number): Promise<net.Server> {
  const s = net.createServer()
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, '127.0.0.1', resolve) })
  return s
}

t.test('a port already in use fails the start with the error', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const blocker = await occupy(0)
  t.teardown(() => blocker.close())
  const config = testConfig([a], { listener: { port: (blocker.address() as net.AddressInfo).port } })
  await t.rejects(startTestProxy(t, config), { code: 'EADDRINUSE' })
})

t.test('a start that fails at the second listener releases the first one', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const blocker = await occupy(0)
  t.teardown(() => blocker.close())
  const base = testConfig([a])
  const first = base.listeners[0]
  const second = { ...first, name: 'second', port: (blocker.address() as net.AddressInfo).port, backends: first.backends.map(b => ({ ...b, name: 'gwA2' })) }
  const log = captureLogger()
  await t.rejects(startProxy({ ...base, listeners: [first, second] }, { logger: log.logger, registry: createRegistry() }), { code: 'EADDRINUSE' })
  const opened = log.events('listener_open').find(e => e.listener === 'main')
  t.ok(opened, 'the first listener had opened')
  const port = Number(String(opened?.address).split(':').pop())
  t.equal(await tryConnect(port), 'ECONNREFUSED', 'and is closed again')
})

t.test('re-open retried while another process holds the port', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a]))
  a.closeListener()
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 0, 3000, 'closed')
  const blocker = await occupy(h.port)
  await a.listen()
  await waitFor(() => h.log.events('listener_reopen_failed').length > 0, 3000, 're-open failure logged')
  t.match(h.log.events('listener_reopen_failed')[0], { listener: 'main', error: 'EADDRINUSE', failures: 1, level: 'warn' })
  t.equal(await h.metric('tn3270_proxy_listener_open', { listener: 'main' }), 0)
  t.ok((await h.metric('tn3270_proxy_listener_reopen_failures_total', { listener: 'main' }) ?? 0) >= 1, 'counted')
  await new Promise<void>(resolve => blocker.close(() => resolve()))
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 1, 3000, 're-opened after the retry delay')
  t.match(h.log.events('listener_reopened')[0], { listener: 'main', level: 'info' })
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  c.socket.destroy()
})

t.test('hard stop while a client waits for a silent backend: no session starts', async t => {
  const [a] = await startGateways(t, ['gwA'])
  a.behaviour = 'silent'
  const h = await startTestProxy(t, testConfig([a], { top: { earlyCloseWindow: '300ms' } }))
  const c = new TestClient(h.port)
  await waitFor(() => a.accepted === 1, 2000, 'backend connect')
  await h.proxy.close()
  await c.until(() => c.ended || c.closed, 2000, 'client closed')
  t.equal(c.data.length, 0)
  t.equal(h.log.events('session_start').length, 0)
  t.match(h.log.events('client_gone')[0], { backend: 'gwA' })
  t.equal(await h.metric('tn3270_proxy_connections_total', { listener: 'main', result: 'error' }), 1)
  t.equal(h.proxy.status().backends.length, 1)
})

t.test('DNS down at start: no backend, listener closed; it opens when DNS answers', async t => {
  const [a] = await startGateways(t, ['gwA'])
  let up = false
  const resolver: Resolver = {
    resolve4: async () => { if (!up) throw Object.assign(new Error('queryA ETIMEOUT gw.test'), { code: 'ETIMEOUT' }); return ['127.0.0.1'] },
    resolveSrv: async () => [],
  }
  const h = await startTestProxy(t, testConfig([], { listener: { backends: [], dns: [{ name: 'gw.test', type: 'A', port: a.port, refresh: '50ms' }] } }), { resolver })
  t.equal(h.proxy.status().listeners[0].open, false)
  t.equal(await tryConnect(h.port), 'ECONNREFUSED')
  t.match(h.log.events('dns_lookup_failed')[0], { dns: 'gw.test', error: /ETIMEOUT/ })
  up = true
  await waitFor(() => h.proxy.status().listeners[0].open, 3000, 'open after DNS answers')
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  c.socket.destroy()
})
