// Integration on real sockets (port 0): placement, invisible failover, the proxy's own
// CloseListenSocket, early-close retry.
import t from 'tap'
import { TestClient, startGateways, startTestProxy, testConfig, tryConnect, waitFor } from './fake-gateway.js'

t.test('placement by least sessions (ties: least recently picked, then name)', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  const h = await startTestProxy(t, testConfig([a, b]))
  const c1 = new TestClient(h.port)
  await c1.receive(a.greeting)
  const c2 = new TestClient(h.port)
  await c2.receive(b.greeting)
  const c3 = new TestClient(h.port)
  await c3.receive(a.greeting)
  t.equal(a.sockets.size, 2)
  t.equal(b.sockets.size, 1)
  c2.socket.destroy()
  await waitFor(() => b.sockets.size === 0 && h.proxy.status().backends.find(x => x.name === 'gwB')?.sessions === 0, 3000, 'gwB session gone')
  const c4 = new TestClient(h.port)
  await c4.receive(b.greeting)
  const c5 = new TestClient(h.port)
  await c5.receive(b.greeting)
  t.equal(a.sockets.size, 2, 'least sessions: gwB took both new clients')
  t.equal(b.sockets.size, 2)
  t.equal(await h.metric('tn3270_proxy_backend_sessions_active', { backend: 'gwA' }), 2)
  t.equal(await h.metric('tn3270_proxy_connections_total', { listener: 'main', result: 'forwarded' }), 5)
  // round trip through the splice
  c5.socket.write('hello')
  await c5.receive(Buffer.from('hello'))
  for (const c of [c1, c3, c4, c5]) c.socket.destroy()
  await waitFor(() => h.proxy.status().sessions.active === 0, 3000, 'sessions to end')
  const ends = h.log.events('session_end')
  t.equal(ends.length, 5)
  t.match(ends.find(e => e.backend === 'gwB' && (e.bytesIn as number) === 5), { client: /^127\.0\.0\.1:\d+$/, termination: 'client_closed', bytesOut: b.greeting.length + 5, retries: 0 })
  t.notOk(JSON.stringify(h.log.lines).includes('hello'), 'payload never logged')
})

t.test('a refused backend is retried invisibly', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  // gwA is preferred (name order) but refuses, and with polling off the proxy cannot know in advance.
  const h = await startTestProxy(t, testConfig([a, b], { polled: false, top: { ejection: { failures: 3 } } }))
  a.closeListener()
  const c = new TestClient(h.port)
  await c.receive(b.greeting)
  t.same(c.data, b.greeting, 'the client received only the good backend\'s bytes')
  t.equal(await h.metric('tn3270_proxy_backend_connect_errors_total', { backend: 'gwA', reason: 'refused' }), 1)
  t.equal(await h.metric('tn3270_proxy_failovers_total', { listener: 'main' }), 1)
  t.match(h.log.events('session_start')[0], { backend: 'gwB', retries: 1 })
  t.match(h.log.events('backend_connect_failed')[0], { backend: 'gwA', reason: 'refused' })
  c.socket.destroy()
})

t.test('a backend that closes without a byte is retried; a silent one is spliced after the window', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  const h = await startTestProxy(t, testConfig([a, b], { polled: false, top: { ejection: { failures: 5 } } }))
  a.behaviour = 'close-at-once'
  const c = new TestClient(h.port)
  await c.receive(b.greeting)
  t.same(c.data, b.greeting)
  t.equal(await h.metric('tn3270_proxy_backend_connect_errors_total', { backend: 'gwA', reason: 'reset' }), 1)
  t.match(h.log.events('backend_connect_failed')[0], { backend: 'gwA', error: /closed the connection before sending anything/ })
  c.socket.destroy()
  await waitFor(() => h.proxy.status().sessions.active === 0)
  // A silent backend (client-speaks-first protocol): the splice starts after earlyCloseWindow.
  a.behaviour = 'silent'
  b.behaviour = 'silent'
  const d = new TestClient(h.port)
  d.socket.write('ping')
  await d.receive(Buffer.from('ping'))
  t.equal(d.data.toString(), 'ping')
  d.socket.destroy()
})

t.test('all backends full: the proxy closes its own listener, and reopens when one can serve', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  const h = await startTestProxy(t, testConfig([a, b]))
  t.equal(await h.metric('tn3270_proxy_listener_open', { listener: 'main' }), 1)
  a.closeListener()
  b.closeListener()
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 0, 3000, 'listener closed')
  t.equal(await tryConnect(h.port), 'ECONNREFUSED', 'a client connect is refused: hot backup moves on')
  t.equal(h.proxy.status().listeners[0].open, false)
  t.match(h.log.events('listener_closed')[0], { listener: 'main', reason: 'no backend can take a client' })
  await b.listen()
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 1, 3000, 'listener reopened')
  t.equal(h.proxy.listeners[0].port, h.port, 'same port')
  const c = new TestClient(h.port)
  await c.receive(b.greeting)
  c.socket.destroy()
})

t.test('LU exhaustion: sessions fill the pools, then the listener closes; a freed LU reopens it', async t => {
  const [a] = await startGateways(t, ['gwA'], { lus: 2 })
  // Polls far apart, so only the proxy's own estimate can explain what happens in between.
  const h = await startTestProxy(t, testConfig([a], { top: { statusInterval: '30s' } }))
  const c1 = new TestClient(h.port)
  const c2 = new TestClient(h.port)
  await c1.receive(a.greeting)
  await c2.receive(a.greeting)
  // The estimate (2 free at the last poll, 2 placed since) closes the listener before any poll.
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 0, 5000, 'closed by the estimate')
  t.equal(await tryConnect(h.port), 'ECONNREFUSED')
  c1.socket.destroy()
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 1, 3000, 'reopened by a session end')
  c2.socket.destroy()
})

t.test('closeListenSocket false: accept and close at once', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a], { listener: { closeListenSocket: false } }))
  a.closeListener()
  await waitFor(() => h.proxy.status().backends[0].eligibility === 'no_free_lu', 3000, 'status to show no LU')
  t.equal(await h.metric('tn3270_proxy_listener_open', { listener: 'main' }), 1, 'still listening')
  const c = new TestClient(h.port)
  await c.until(() => c.ended || c.closed, 3000, 'close')
  t.equal(c.data.length, 0)
  t.equal(await h.metric('tn3270_proxy_connections_total', { listener: 'main', result: 'no_backend' }), 1)
  t.match(h.log.events('no_backend')[0], { listener: 'main', retries: 0 })
})

t.test('every backend refuses a client: it is closed, backends ejected, listener closed until ejection ends', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  const h = await startTestProxy(t, testConfig([a, b], { polled: false, top: { ejection: { failures: 1, baseTime: '300ms', maxTime: '1s' } } }))
  a.closeListener()
  b.closeListener()
  const c = new TestClient(h.port)
  await c.until(() => c.ended || c.closed, 3000, 'client closed')
  t.equal(c.data.length, 0, 'nothing reached the client')
  t.equal(await h.metric('tn3270_proxy_connections_total', { listener: 'main', result: 'no_backend' }), 1)
  t.equal(await h.metric('tn3270_proxy_failovers_total', { listener: 'main' }), 1)
  t.equal(await h.metric('tn3270_proxy_backend_up', { backend: 'gwA' }), 0, 'ejected = down')
  t.equal(h.log.events('backend_ejected').length, 2)
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 0, 1000, 'listener closed')
  t.equal(await tryConnect(h.port), 'ECONNREFUSED')
  await b.listen()
  // Ejection over (probation): the listener reopens and gwB serves.
  await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 1, 3000, 'listener reopened')
  const d = new TestClient(h.port)
  await d.receive(b.greeting)
  t.equal(await h.metric('tn3270_proxy_backend_up', { backend: 'gwB' }), 1)
  d.socket.destroy()
})

t.test('a good status check re-admits an ejected backend before its ejection ends', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a], { top: { ejection: { failures: 1, baseTime: '1m', maxTime: '1m' } } }))
  // Make the connect fail while /status still says "free": close-at-once counts as a failure.
  a.behaviour = 'close-at-once'
  const c = new TestClient(h.port)
  await c.until(() => c.ended || c.closed, 3000, 'client closed')
  t.ok(h.log.events('backend_ejected').length >= 1)
  a.behaviour = 'greet'
  await waitFor(() => h.log.events('backend_readmitted').length > 0, 3000, 're-admission by the status poll')
  const d = new TestClient(h.port)
  await d.receive(a.greeting)
  t.equal(h.proxy.status().backends[0].ejectedUntil, null)
  d.socket.destroy()
})
