// The proxy's runtime API and config reload on real sockets with fake gateways
// (lib/proxy/runtime-routes.ts, reload.ts; docs/operations.md "Runtime API", "Reload"): drain
// (no new clients, sessions continue, still polled), disable (maintenance: no polling either),
// enable, a runtime weight; reloads that remove a backend (its session continues), add one, add
// and drop a DNS source and change timeouts, and refusals of what cannot change live.
import t from 'tap'
import { ErrorCodes } from '../../lib/errors.js'
import type { ProxyConfig } from '../../lib/config/index.js'
import type { Resolver } from '../../lib/proxy/index.js'
import { api } from '../helpers/admin-api.js'
import { startGateways, startTestProxy, TestClient, testConfig, tryConnect, waitFor } from './fake-gateway.js'

const backend = (h: { proxy: { status: () => { backends: Array<Record<string, any>> } } }, name: string) => h.proxy.status().backends.find(b => b.name === name)

t.test('drain: no new clients while its session goes on; disable stops polling; enable brings it back', async t => {
  const [g1, g2] = await startGateways(t, ['g1', 'g2'], { lus: 16 })
  const h = await startTestProxy(t, testConfig([g1!, g2!]))
  const admin = h.proxy.admin.port
  await waitFor(() => backend(h, 'g1')?.eligibility === 'ok' && backend(h, 'g2')?.eligibility === 'ok', 3000, 'both eligible')
  t.match((await api(admin, 'GET', '/v1/backends')).json.backends, [{ name: 'g1', listener: 'main', admin: 'ready', weight: 1, configWeight: 1 }, { name: 'g2', admin: 'ready' }])
  // One session on each.
  const first = [new TestClient(h.port), new TestClient(h.port)]
  t.teardown(() => { for (const c of first) c.socket.destroy() })
  await waitFor(() => g1!.sockets.size === 1 && g2!.sockets.size === 1, 3000, 'a session on each')
  const onG1 = first.find(c => c.data.includes(g1!.greeting)) ?? first[0]!
  await onG1.receive(g1!.greeting)

  const drained = await api(admin, 'POST', '/v1/backends/g1/drain')
  t.match(drained, { status: 200, json: { name: 'g1', admin: 'drain', eligibility: 'drain', changed: true, sessions: 1 } })
  const polls = g1!.statusRequests
  const more = [new TestClient(h.port), new TestClient(h.port), new TestClient(h.port)]
  t.teardown(() => { for (const c of more) c.socket.destroy() })
  for (const c of more) await c.receive(g2!.greeting)
  t.equal(g1!.accepted, 1, 'a drained backend takes no new client')
  onG1.socket.write('still here')
  await onG1.receive(Buffer.from('still here'))
  await waitFor(() => g1!.statusRequests > polls + 1, 3000, 'a drained backend is still polled')
  t.match((await api(admin, 'POST', '/v1/backends/g1/drain')).json, { changed: false })

  // Both out: the proxy's own CloseListenSocket closes its listener.
  t.match((await api(admin, 'POST', '/v1/backends/g2/disable')).json, { admin: 'maint', eligibility: 'maint' })
  await waitFor(async () => await tryConnect(h.port) === 'ECONNREFUSED', 3000, 'the proxy listener closed')
  const frozen = g2!.statusRequests
  await new Promise(resolve => setTimeout(resolve, 200))
  t.ok(g2!.statusRequests <= frozen + 1, 'maintenance: no more /status polls (at most one already in flight)')
  t.match((await api(admin, 'POST', '/v1/backends/g2/enable')).json, { admin: 'ready', changed: true })
  await waitFor(() => g2!.statusRequests > frozen + 1, 3000, 'polled again')
  await waitFor(async () => await tryConnect(h.port) === 'connected', 3000, 'the listener open again')
  await api(admin, 'POST', '/v1/backends/g1/enable')
  await waitFor(() => backend(h, 'g1')?.eligibility === 'ok', 3000, 'g1 eligible again')
  t.ok(h.log.events('backend_drained').length === 1 && h.log.events('backend_disabled').length === 1 && h.log.events('backend_enabled').length === 2)
})

t.test('weight: a runtime weight until the configured one changes; bad input and unknown names', async t => {
  const [g1, g2] = await startGateways(t, ['g1', 'g2'])
  let next: ProxyConfig = testConfig([g1!, g2!])
  const h = await startTestProxy(t, testConfig([g1!, g2!]), { reloadConfig: () => next })
  const admin = h.proxy.admin.port
  await waitFor(() => backend(h, 'g1')?.eligibility === 'ok', 3000, 'eligible')
  t.match((await api(admin, 'POST', '/v1/backends/g1/weight', { weight: 0 })).json, { name: 'g1', weight: 0, configWeight: 1, eligibility: 'no_weight' })
  t.equal(await tryConnect(h.port), 'connected')
  await waitFor(() => g2!.accepted === 1, 3000, 'the client went to g2')
  t.match(await api(admin, 'POST', '/v1/backends/g1/weight', { weight: 300 }), { status: 400, json: { error: 'weight must be a whole number from 0 to 256, got 300' } })
  t.match(await api(admin, 'POST', '/v1/backends/g1/weight', {}), { status: 400 })
  t.match(await api(admin, 'POST', '/v1/backends/g1/weight', { weight: 2, extra: 1 }), { status: 400, json: { error: 'unknown body key "extra"; expected weight' } })
  t.match(await api(admin, 'POST', '/v1/backends/nope/drain'), { status: 404, json: { error: 'no backend "nope"; backends are g1, g2' } })
  t.match(await api(admin, 'POST', '/v1/backends/g1/drain?listener=other'), { status: 404, json: { error: /no listener "other"; listeners are main/ } })
  t.match(await api(admin, 'POST', '/v1/backends/g1/drain?listener=main'), { status: 200 })
  await api(admin, 'POST', '/v1/backends/g1/enable')
  // A reload that keeps g1's configured weight keeps the runtime one; one that changes it wins.
  next = testConfig([g1!, g2!], { top: { connectTimeout: '400ms' } })
  t.match((await api(admin, 'POST', '/v1/reload')).json, { result: 'applied', changes: ['connectTimeout changed'] })
  t.equal(backend(h, 'g1')!.weight, 0)
  next = testConfig([g1!, g2!], { listener: { backends: [{ name: 'g1', host: g1!.host, port: g1!.port, adminUrl: g1!.adminUrl, weight: 3 }, { name: 'g2', host: g2!.host, port: g2!.port, adminUrl: g2!.adminUrl }] } })
  t.match((await api(admin, 'POST', '/v1/reload')).json, { result: 'applied' })
  t.match(backend(h, 'g1'), { weight: 3, configWeight: 3 })
})

t.test('reload: a removed backend keeps its session and takes no new one; a new one joins; refusals change nothing', async t => {
  const [g1, g2, g3] = await startGateways(t, ['g1', 'g2', 'g3'])
  let next: ProxyConfig = testConfig([g1!])
  const h = await startTestProxy(t, testConfig([g1!]), { reloadConfig: () => next })
  const admin = h.proxy.admin.port
  const c1 = new TestClient(h.port)
  t.teardown(() => c1.socket.destroy())
  await c1.receive(g1!.greeting)

  next = { ...testConfig([g1!]), listeners: [{ ...testConfig([g1!]).listeners[0]!, port: 1 }] }
  t.match(await api(admin, 'POST', '/v1/reload'), { status: 409, json: { key: 'listeners.main.port', code: ErrorCodes.CONFIG_RELOAD } })
  next = testConfig([g1!], { top: { log: { level: 'debug' } } })
  t.match(await api(admin, 'POST', '/v1/reload'), { status: 409, json: { key: 'log.level' } })
  t.equal(await h.metric('tn3270_config_reloads_total', { role: 'proxy', result: 'refused' }), 2)
  t.ok(h.log.events('config_reload').every(l => l.result === 'refused' && typeof l.key === 'string'))

  next = testConfig([g2!, g3!], { top: { idleTimeout: '1h' } })
  const r = await api(admin, 'POST', '/v1/reload')
  t.match(r, { status: 200, json: { result: 'applied' } })
  t.same(r.json.changes.sort(), ['idleTimeout changed', 'listeners.main.backends.g1 removed', 'listeners.main.backends.g2 added', 'listeners.main.backends.g3 added'])
  t.match(backend(h, 'g1'), { removed: true, sessions: 1, eligibility: 'removed' })
  t.match(await api(admin, 'POST', '/v1/backends/g1/drain'), { status: 409, json: { error: /has left the configuration or DNS; .* 1 sessions are finishing/ } })
  await waitFor(() => backend(h, 'g2')?.eligibility === 'ok' || backend(h, 'g3')?.eligibility === 'ok', 3000, 'a new backend eligible')
  const c2 = new TestClient(h.port)
  t.teardown(() => c2.socket.destroy())
  await c2.until(() => c2.data.includes(g2!.greeting) || c2.data.includes(g3!.greeting), 3000, 'a new backend answers')
  t.equal(g1!.accepted, 1, 'the removed backend took no new client')
  c1.socket.write('kept')
  await c1.receive(Buffer.from('kept'))
  c1.socket.destroy()
  await waitFor(() => backend(h, 'g1') === undefined, 3000, 'g1 forgotten after its session ended')
  t.same((await api(admin, 'POST', '/v1/reload')).json, { result: 'unchanged', changes: [] })
  t.equal(await h.metric('tn3270_config_reloads_total', { role: 'proxy', result: 'applied' }), 1)
})

t.test('reload: a DNS source added, changed and dropped', async t => {
  const [g1, g2] = await startGateways(t, ['g1', 'g2'])
  const resolver: Resolver = { resolve4: async () => ['127.0.0.1'], resolveSrv: async () => [] }
  const dns = (port: number, refresh = '1h') => ({ name: 'gw.test', type: 'A', port, refresh })
  let next: ProxyConfig = testConfig([g1!])
  const h = await startTestProxy(t, testConfig([g1!]), { resolver, reloadConfig: () => next })
  next = testConfig([g1!], { listener: { dns: [dns(g2!.port)] } })
  t.match(h.proxy.reload(), { result: 'applied', changes: ['listeners.main.dns.gw.test added'] })
  await waitFor(() => backend(h, `gw.test/127.0.0.1:${g2!.port}`) !== undefined, 3000, 'the DNS backend')
  next = testConfig([g1!], { listener: { dns: [dns(g1!.port)] } })
  h.proxy.reload()
  await waitFor(() => backend(h, `gw.test/127.0.0.1:${g1!.port}`) !== undefined && backend(h, `gw.test/127.0.0.1:${g2!.port}`) === undefined, 3000, 'the changed source re-resolved')
  next = testConfig([g1!])
  h.proxy.reload()
  t.same(h.proxy.status().backends.map(b => b.name), ['g1'], 'the dropped source\'s backends are gone')
  t.throws(() => h.proxy.reload() && (next = { ...next, name: 'other' }) && h.proxy.reload(), { code: ErrorCodes.CONFIG_RELOAD, key: 'name' })
})

t.test('a proxy started without a config file has nothing to re-read', async t => {
  const [g1] = await startGateways(t, ['g1'])
  const h = await startTestProxy(t, testConfig([g1!]))
  t.match(await api(h.proxy.admin.port, 'POST', '/v1/reload'), { status: 409, json: { error: /started without a config file/ } })
})
