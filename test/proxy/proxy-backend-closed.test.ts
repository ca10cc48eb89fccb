// Integration: how a session's end feeds the free-LU estimate between /status polls. A session the
// client ended frees its LU at once (the listener re-opens before the next poll); a session the
// gateway closed itself (it may be stopping) frees nothing until the gateway's next /status, so the
// proxy does not re-open for a client no gateway can take (found by test/e2e/proxy-gateway-stop).
import t from 'tap'
import { TestClient, startGateways, startTestProxy, testConfig, tryConnect, waitFor } from './fake-gateway.js'

// One poll at start, none after: only session events move the estimate.
const top = { statusInterval: '1h', statusStaleAfter: '2h', statusTimeout: '1s' }

for (const closer of ['client', 'gateway'] as const) {
  t.test(`one LU, the ${closer} ends the session`, async t => {
    const [a] = await startGateways(t, ['gwA'], { lus: 1 })
    const h = await startTestProxy(t, testConfig([a!], { top }))
    const c = new TestClient(h.port)
    await c.receive(a!.greeting)
    await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 0, 2000, 'listener closed: the only LU is taken')
    if (closer === 'client') c.socket.end()
    else {
      for (const s of a!.sockets) s.end()
      await c.until(() => c.ended, 2000, 'the gateway\'s FIN relayed')
      c.socket.end()
    }
    await waitFor(() => h.log.events('session_end').length === 1, 2000, 'session end')
    t.equal(h.log.events('session_end')[0]!.termination, closer === 'client' ? 'client_closed' : 'backend_closed')
    if (closer === 'client') {
      await waitFor(async () => await h.metric('tn3270_proxy_listener_open', { listener: 'main' }) === 1, 2000, 'listener re-opened')
      t.equal(h.proxy.status().backends[0]!.freeLus, 1, 'the LU counts as free before any new poll')
      t.equal(await tryConnect(h.port), 'connected')
    } else {
      t.equal(h.proxy.status().backends[0]!.freeLus, 0, 'no LU assumed free after the gateway closed the session')
      t.equal(await h.metric('tn3270_proxy_listener_open', { listener: 'main' }), 0, 'listener stays closed')
      t.equal(await tryConnect(h.port), 'ECONNREFUSED', 'a new client is refused, not accepted and dropped')
      t.equal(h.log.events('no_backend').length, 0)
    }
  })
}
