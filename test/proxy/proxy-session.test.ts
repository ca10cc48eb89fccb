// Integration on real sockets: PROXY v2 toward the backend, splice (half-close, idle timeout,
// backpressure), drain, admin HTTP.
import t, { type Test } from 'tap'
import type net from 'node:net'
import { once } from 'node:events'
import { request } from 'undici'
import { parseProxyHeader } from '../../lib/proxy-protocol/index.js'
import { TestClient, startGateways, startTestProxy, testConfig, tryConnect, waitFor } from './fake-gateway.js'

t.test('PROXY v2 header received by the backend carries the client address', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a], { listener: { proxyProtocol: 'v2' } }))
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  t.same(c.data, a.greeting, 'the header goes to the backend only')
  await waitFor(() => a.received[0]?.length > 0, 2000, 'header at the gateway')
  const bytes = Buffer.concat(a.received[0])
  const parsed = parseProxyHeader(bytes)
  if (parsed.needMore === true) throw new Error('incomplete header')
  t.equal(parsed.consumed, 28)
  t.same(parsed.header, {
    command: 'proxy', family: 'inet', transport: 'stream',
    src: { address: '127.0.0.1', port: c.socket.localPort },
    dst: { address: '127.0.0.1', port: h.port },
    tlvs: [],
  })
  c.socket.write('after')
  await c.receive(Buffer.from('after'))
  t.equal(Buffer.concat(a.received[0]).subarray(28).toString(), 'after', 'client bytes follow the header')
  c.socket.destroy()
})

t.test('half-close: the client FIN reaches the backend, which can still answer', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a]))
  a.halfOpen = true
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  const [gw] = [...a.sockets]
  const gwEnded = once(gw, 'end')
  c.socket.end()
  await gwEnded
  gw.write('late answer')
  await c.receive(Buffer.from('late answer'))
  t.notOk(c.ended, 'client still reading')
  gw.end()
  await c.until(() => c.ended, 2000, 'end at the client')
  await waitFor(() => h.log.events('session_end').length === 1)
  t.match(h.log.events('session_end')[0], { termination: 'client_closed', bytesOut: a.greeting.length + 11, bytesIn: 0 })
})

t.test('half-close timeout closes a session whose other side never finishes', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a], { top: { halfCloseTimeout: '100ms' } }))
  a.halfOpen = true
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  c.socket.end()
  await c.until(() => c.closed || c.ended, 2000, 'closed by the proxy')
  await waitFor(() => h.log.events('session_end').length === 1)
  t.match(h.log.events('session_end')[0], { termination: 'client_closed' })
})

t.test('idle timeout', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a], { top: { idleTimeout: '100ms' } }))
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  await c.until(() => c.ended || c.closed, 2000, 'idle close')
  await waitFor(() => h.log.events('session_end').length === 1)
  t.match(h.log.events('session_end')[0], { termination: 'idle_timeout' })
  t.equal(await h.metric('tn3270_proxy_sessions_active', { listener: 'main' }), 0)
})

t.test('backend error ends the session', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a]))
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  ;[...a.sockets][0].resetAndDestroy()
  await c.until(() => c.closed || c.ended, 2000, 'client closed')
  await waitFor(() => h.log.events('session_end').length === 1)
  t.match(h.log.events('session_end')[0], { termination: 'backend_error' })
})

/** A client through the proxy that got the gateway's greeting and stopped reading, and the gateway's socket to it. */
async function stoppedClient (t: Test): Promise<{ c: TestClient, gw: net.Socket }> {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a]))
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  c.socket.pause()
  const [gw] = [...a.sockets]
  return { c, gw: gw! }
}

t.test('backpressure: a client that stops reading stops the proxy reading the backend', async t => {
  const { c, gw } = await stoppedClient(t)
  const chunk = Buffer.alloc(64 * 1024, 0x40)
  const LIMIT = 64 * 1024 * 1024
  let sent = 0
  // Write until the backend socket stays blocked: no 'drain' within 300 ms. Without backpressure
  // the proxy would keep reading into its own memory and 'drain' would keep coming until LIMIT.
  for (;;) {
    while (sent < LIMIT && gw.write(chunk)) sent += chunk.length
    sent += chunk.length
    const drained = await Promise.race([once(gw, 'drain').then(() => true), new Promise(resolve => setTimeout(resolve, 300, false))])
    if (drained !== true || sent >= LIMIT) break
  }
  t.ok(sent < LIMIT, `backend writes blocked after ${sent} bytes: the proxy does not buffer without bound`)
  let drained = false
  gw.once('drain', () => { drained = true })
  let got = 0
  c.socket.removeAllListeners('data')
  c.socket.on('data', (d: Buffer) => { got += d.length })
  c.socket.resume()
  await waitFor(() => got >= sent, 10_000, 'all bytes at the client')
  t.ok(drained, 'backend drained once the client read')
  t.equal(got, sent + 0, 'every byte arrived')
  c.socket.destroy()
})

t.test('backpressure keeps every byte intact: reads queued at a slow client are not overwritten by later reads', async t => {
  // The backend's reads share one buffer (lib/proxy/backend-reads.ts): bytes still queued at the
  // client must keep theirs. Each 64 KiB block carries its own byte value; the client checks all.
  const { c, gw } = await stoppedClient(t)
  const BLOCK = 64 * 1024
  const BLOCKS = 200
  for (let i = 0; i < BLOCKS; i++) gw.write(Buffer.alloc(BLOCK, i % 251))
  let got = 0
  let bad = -1
  c.socket.removeAllListeners('data')
  c.socket.on('data', (d: Buffer) => {
    for (let i = 0; i < d.length && bad < 0; i++) if (d[i] !== Math.floor((got + i) / BLOCK) % 251) bad = got + i
    got += d.length
  })
  await new Promise(resolve => setTimeout(resolve, 200))
  c.socket.resume()
  await waitFor(() => got >= BLOCK * BLOCKS, 10_000, 'all bytes at the client')
  t.equal(bad, -1, 'no byte overwritten')
  t.equal(got, BLOCK * BLOCKS)
  c.socket.destroy()
})

t.test('drain on shutdown: readyz 503, listener closed, sessions continue, then closed', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a]))
  const admin = `http://127.0.0.1:${h.proxy.admin.port}`
  t.equal((await request(`${admin}/readyz`)).statusCode, 200)
  const stay = new TestClient(h.port)
  const leave = new TestClient(h.port)
  await stay.receive(a.greeting)
  await leave.receive(a.greeting)
  const done = h.proxy.shutdown({ drainTimeout: 400, closeSpreadTime: 100 })
  await waitFor(() => !h.proxy.ready())
  const ready = await request(`${admin}/readyz`)
  t.equal(ready.statusCode, 503)
  await ready.body.dump()
  t.equal(await tryConnect(h.port), 'ECONNREFUSED', 'no new clients')
  t.equal(await h.metric('tn3270_proxy_listener_open', { listener: 'main' }), 0)
  stay.socket.write('still here')
  await stay.receive(Buffer.from('still here'))
  leave.socket.destroy()
  await done
  t.ok(stay.ended || stay.closed, 'remaining session closed after drainTimeout')
  t.same(h.proxy.drainReport(), { finished: 1, closed: 1 })
  t.match(h.log.events('session_end').map(e => e.termination).sort(), ['client_closed', 'drain'])
  t.ok(h.log.events('drain_timeout').length === 1)
  await h.proxy.shutdown()
  t.pass('a second shutdown resolves')
})

t.test('drain with no sessions finishes at once; immediate shutdown = close', async t => {
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a]))
  await h.proxy.shutdown()
  t.same(h.proxy.drainReport(), { finished: 0, closed: 0 })
  const [b] = await startGateways(t, ['gwB'])
  const h2 = await startTestProxy(t, testConfig([b]))
  const c = new TestClient(h2.port)
  await c.receive(b.greeting)
  await h2.proxy.shutdown({ immediate: true })
  await c.until(() => c.closed || c.ended, 2000, 'closed by a hard stop')
  t.match(h2.log.events('session_end')[0], { termination: 'shutdown' })
})

t.test('admin: /status, /metrics, /healthz', async t => {
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  const h = await startTestProxy(t, testConfig([a, b]))
  const c = new TestClient(h.port)
  await c.receive(a.greeting)
  b.closeListener()
  await waitFor(() => h.proxy.status().backends.find(x => x.name === 'gwB')?.eligibility === 'no_free_lu')
  const res = await request(`http://127.0.0.1:${h.proxy.admin.port}/status`)
  const body = await res.body.json() as Record<string, unknown>
  t.match(body, {
    role: 'proxy', name: 'proxy', ready: true, draining: false,
    listeners: [{ name: 'main', address: `127.0.0.1:${h.port}`, open: true, closeListenSocket: true, proxyProtocol: 'off', sessions: 1 }],
    backends: [
      { listener: 'main', name: 'gwA', address: `127.0.0.1:${a.port}`, source: 'static', weight: 1, up: true, eligibility: 'ok', sessions: 1, freeLus: 3, ejectedUntil: null, removed: false, lastError: null },
      { listener: 'main', name: 'gwB', up: true, eligibility: 'no_free_lu', sessions: 0, freeLus: 0 },
    ],
    sessions: { active: 1 },
  })
  const metrics = await (await request(`http://127.0.0.1:${h.proxy.admin.port}/metrics`)).body.text()
  for (const line of ['tn3270_proxy_listener_open{listener="main"} 1', 'tn3270_proxy_backend_up{backend="gwA"} 1', 'tn3270_proxy_backend_lus_free{backend="gwB"} 0', 'tn3270_proxy_sessions_active{listener="main"} 1', 'tn3270_proxy_backend_connect_seconds_count 1']) {
    t.ok(metrics.includes(line), line)
  }
  t.same(h.proxy.listening(), [`listening proxy main 127.0.0.1:${h.port}`, `listening proxy-admin proxy 127.0.0.1:${h.proxy.admin.port}`])
  c.socket.destroy()
})
