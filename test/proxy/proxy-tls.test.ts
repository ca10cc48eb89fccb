// The proxy's TLS and per-client caps on real sockets with fake gateways (lib/proxy/client-tls.ts,
// connect.ts, client-limits.ts, listener.ts): TLS terminated at the top of the session with the
// client's facts in PROXY v2 TLVs (HAProxy doc/proxy-protocol.txt §2.2.6), a client that fails
// its handshake, TLS toward one gateway that fails over to another, the caps at accept, and
// SIGHUP's reload of the backend material.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { readFileSync, rmSync } from 'node:fs'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { decodeClientTls, parseProxyHeader } from '../../lib/proxy-protocol/index.js'
import { ProxyClientLimits } from '../../lib/proxy/client-limits.js'
import { makePki, serverCert } from '../helpers/certs.js'
import { startGateways, startTestProxy, testConfig, TestClient, waitFor } from './fake-gateway.js'

async function tlsClient (port: number, ca: string, cert?: { cert: string, key: string }): Promise<TLSSocket> {
  const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost', ...(cert === undefined ? {} : { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }) })
  await new Promise<void>((resolve, reject) => { s.once('secureConnect', () => resolve()); s.once('error', reject) })
  return s
}

async function receive (s: Socket, want: Buffer): Promise<void> {
  let got = Buffer.alloc(0)
  await new Promise<void>(resolve => {
    const on = (c: Buffer): void => { got = Buffer.concat([got, c]); if (got.includes(want)) { s.off('data', on); resolve() } }
    s.on('data', on)
  })
}

t.test('TLS terminated at the proxy: the gateway gets the client\'s TLS facts in the PROXY v2 header', async t => {
  const pki = await makePki(t)
  const srv = await serverCert(pki)
  const teller = await pki.issue('teller', '/O=Example Bank/CN=teller-01', { san: 'DNS:teller-01.branch.example' })
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a!], { listener: { proxyProtocol: 'v2', tls: { mode: 'direct', cert: srv.cert, key: srv.key, ca: pki.ca, clientAuth: 'request' } } }))
  const c = await tlsClient(h.port, pki.ca, teller)
  t.teardown(() => { c.destroy() })
  await receive(c, a!.greeting)
  t.pass('the gateway\'s greeting reached the client through TLS')
  c.write('ping')
  await waitFor(() => Buffer.concat(a!.received[0] ?? []).includes('ping'), 3000, 'client bytes at the gateway')
  const parsed = parseProxyHeader(Buffer.concat(a!.received[0]!))
  if (parsed.needMore === true) throw new Error('a whole header expected')
  t.match(decodeClientTls(parsed.header.tlvs), { tls: true, certificate: true, verified: true, protocol: 'TLSv1.3', cn: 'teller-01', subject: 'CN=teller-01,O=Example Bank', sans: ['DNS:teller-01.branch.example'] })
  t.equal(await h.metric('tn3270_tls_handshakes_total', { role: 'proxy', listener: 'main', result: 'ok' }), 1)
})

t.test('a client that fails the handshake is closed before any gateway is chosen', async t => {
  const pki = await makePki(t)
  const srv = await serverCert(pki)
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a!], { listener: { tls: { mode: 'direct', cert: srv.cert, key: srv.key } } }))
  const raw = connect(h.port, '127.0.0.1')
  raw.on('error', () => {})
  raw.write('GET / HTTP/1.0\r\n\r\n')
  await new Promise<void>(resolve => raw.once('close', () => resolve()))
  await waitFor(() => h.log.events('tls_refused').length === 1, 3000, 'the refusal line')
  t.match(h.log.events('tls_refused')[0], { listener: 'main', failure: 'handshake', reason: /^TLS handshake failed/ })
  t.equal(a!.accepted, 0, 'no gateway was bothered')
  t.equal(await h.metric('tn3270_proxy_connections_total', { listener: 'main', result: 'error' }), 1)
  t.equal(await h.metric('tn3270_tls_handshakes_total', { role: 'proxy', listener: 'main', result: 'failed' }), 1)
})

t.test('TLS toward a gateway that does not speak it fails over (reason tls); PROXY v2 still reports a plain client', async t => {
  const pki = await makePki(t)
  const [a, b] = await startGateways(t, ['gwA', 'gwB'])
  const config = testConfig([a!, b!], { polled: false, listener: { proxyProtocol: 'v2' }, top: { ejection: { failures: 5 } } })
  config.listeners[0]!.backends[0]!.tls = { ca: pki.ca, rejectUnauthorized: true }
  const h = await startTestProxy(t, config)
  const c = new TestClient(h.port)
  t.teardown(() => { c.socket.destroy() })
  await c.receive(b!.greeting)
  t.equal(await h.metric('tn3270_proxy_backend_connect_errors_total', { backend: 'gwA', reason: 'tls' }), 1)
  t.match(h.log.events('backend_connect_failed')[0], { backend: 'gwA', reason: 'tls', error: /^TLS handshake with 127\.0\.0\.1 failed/ })
  await waitFor(() => (b!.received[0]?.length ?? 0) > 0, 3000, 'the header at gwB')
  const parsed = parseProxyHeader(Buffer.concat(b!.received[0]!))
  if (parsed.needMore === true) throw new Error('a whole header expected')
  t.same(decodeClientTls(parsed.header.tlvs), { tls: false, certificate: false, verified: false }, 'a backend with TLS configured: the client\'s plain state is reported')
})

t.test('per-client caps at accept: pending until the first byte, connections in all', async t => {
  const [a] = await startGateways(t, ['gwA'], { lus: 20 })
  const h = await startTestProxy(t, testConfig([a!], { top: { maxPendingPerClient: 2, maxSessionsPerClient: 3 } }))
  const idle = [new TestClient(h.port), new TestClient(h.port)]
  for (const c of idle) await c.receive(a!.greeting)
  const third = connect(h.port, '127.0.0.1')
  third.on('error', () => {})
  await new Promise<void>(resolve => third.once('close', () => resolve()))
  t.match(h.log.events('client_limit')[0], { limit: 'pending', count: 2, max: 2 })
  idle[0]!.socket.write('x')
  await waitFor(() => Buffer.concat(a!.received[0] ?? []).includes('x'), 3000, 'the first byte relayed')
  const more = new TestClient(h.port)
  await more.receive(a!.greeting)
  t.pass('a client that sent data no longer counts as pending')
  const fourth = connect(h.port, '127.0.0.1')
  fourth.on('error', () => {})
  await new Promise<void>(resolve => fourth.once('close', () => resolve()))
  t.match(h.log.events('client_limit')[1], { limit: 'sessions', count: 3, max: 3 })
  t.equal(await h.metric('tn3270_proxy_client_limit_refusals_total', { listener: 'main', limit: 'pending' }), 1)
  t.equal(await h.metric('tn3270_proxy_client_limit_refusals_total', { listener: 'main', limit: 'sessions' }), 1)
  for (const c of [...idle, more]) c.socket.destroy()
  await waitFor(() => h.proxy.status().sessions.active === 0, 3000, 'sessions to end')
  const again = new TestClient(h.port)
  await again.receive(a!.greeting)
  t.pass('slots are given back when sessions end')
  again.socket.destroy()
})

t.test('ProxyClientLimits: counts per address, idempotent, 0 = no cap', async t => {
  const limits = new ProxyClientLimits({ pending: 1, sessions: 2 })
  const a = limits.admit('x')
  t.match(limits.admit('x'), { ok: false, limit: 'pending' })
  if (!a.ok) throw new Error('admitted expected')
  a.slot.active(); a.slot.active()
  t.equal(limits.count('x', 'pending'), 0)
  const b = limits.admit('x')
  t.match(limits.admit('x'), { ok: false, limit: 'sessions', count: 2, max: 2 })
  a.slot.release(); a.slot.release()
  if (b.ok) b.slot.release()
  t.equal(limits.count('x', 'sessions'), 0)
  t.equal(limits.count('x', 'pending'), 0)
  t.ok(new ProxyClientLimits({ pending: 0, sessions: 0 }).admit('y').ok)
})

t.test('reloadCertificates: backend material read again; a bad file keeps the old one', async t => {
  const pki = await makePki(t)
  const srv = await serverCert(pki)
  const me = await pki.issue('me', '/CN=proxy')
  const [a] = await startGateways(t, ['gwA'])
  const h = await startTestProxy(t, testConfig([a!], { listener: { tls: { mode: 'starttls', cert: srv.cert, key: srv.key }, backendTls: { ca: pki.ca, cert: me.cert, key: me.key } } }))
  h.proxy.reloadCertificates()
  t.match(h.log.events('tls_reload')[0], { result: 'unchanged', listener: 'main' })
  rmSync(me.key)
  h.proxy.reloadCertificates()
  t.match(h.log.events('tls_reload_failed').at(-1), { listener: 'main', err: /backendTls\.key = .*expected PEM text or a readable PEM file/ })
})
