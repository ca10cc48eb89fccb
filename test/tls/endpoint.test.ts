// A listener's TLS side (lib/tls/endpoint.ts) and the client side the proxy uses toward gateways
// (lib/tls/client.ts): tn3270_tls_handshakes_total by result, the certificate expiry gauge
// (docs/metrics.md), reloads with their log lines, a running reload seen by the next client only.
import t, { type Test } from 'tap'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import pino from 'pino'
import { systemClock } from '../../lib/clock.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'
import { createTlsMetrics, Registry, type Logger } from '../../lib/observability/index.js'
import { loadClientTls, screenPlainListener, startClientTls, TlsEndpoint, type TlsListenerSettings } from '../../lib/tls/index.js'
import { makePki, serverCert } from '../helpers/certs.js'

type Line = Record<string, any>

async function metric (registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = registry.getSingleMetric(name)
  const v = (await m?.get())?.values.find(x => Object.entries(labels).every(([k, val]) => (x.labels as Record<string, unknown>)[k] === val))
  return v?.value
}

async function serve (t: Test, handle: (s: Socket) => void): Promise<number> {
  const server = createServer(handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return (server.address() as AddressInfo).port
}

t.test('handshakes are counted by result; the expiry gauge follows reloads; SIGHUP reload lines', async t => {
  const pki = await makePki(t)
  const one = await serverCert(pki, 'one', 0x0a01)
  const two = await serverCert(pki, 'two', 0x0a02)
  const cert = join(pki.dir, 'live.pem')
  const key = join(pki.dir, 'live.key')
  copyFileSync(one.cert, cert); copyFileSync(one.key, key)
  const registry = new Registry()
  const metrics = createTlsMetrics(registry)
  const lines: Line[] = []
  const logger: Logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s)) } })
  const settings: TlsListenerSettings = { mode: 'direct', allowPlain: false, cert, key, clientAuth: 'none', minVersion: 'TLSv1.2', handshakeTimeout: 2000, clientHelloWait: 100 }
  const endpoint = TlsEndpoint.open(settings, { role: 'gateway', listener: 'secure', metrics, logger, clock: systemClock })
  t.teardown(() => { endpoint.close() })
  const notAfter = Math.floor(endpoint.certificate.notAfter / 1000)
  t.equal(await metric(registry, 'tn3270_tls_certificate_expiry_seconds', { role: 'gateway', listener: 'secure' }), notAfter)

  const served: string[] = []
  const port = await serve(t, s => {
    endpoint.accept(s).then(a => { a.socket.end('ok') }, () => {})
  })
  // The client waits for the server's byte: a TLS 1.3 server finishes its handshake after the client.
  const handshake = async (): Promise<void> => {
    const c = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(pki.ca), servername: 'localhost' })
    c.on('error', () => {})
    await new Promise<void>(resolve => c.once('data', () => { served.push(c.getPeerX509Certificate()!.serialNumber); resolve() }))
    c.destroy()
  }
  await handshake()
  const raw = connect(port, '127.0.0.1')
  raw.on('error', () => {})
  raw.write('not tls\r\n')
  await new Promise<void>(resolve => raw.once('close', () => resolve()))
  endpoint.reload()
  t.match(lines.at(-1), { event: 'tls_reload', result: 'unchanged', role: 'gateway', listener: 'secure' })
  copyFileSync(two.cert, cert); copyFileSync(two.key, key)
  endpoint.reload()
  t.match(lines.find(l => l.event === 'tls_reload' && l.result === 'reloaded'), { serial: '0A02', subject: 'CN=localhost,O=tn3270-lb tests', msg: 'TLS certificate reloaded for new connections' })
  await handshake()
  t.same(served, ['0A01', '0A02'], 'the next client gets the new certificate')
  copyFileSync(one.key, key)
  endpoint.reload()
  t.match(lines.at(-1), { level: 40, event: 'tls_reload_failed', msg: 'TLS certificate not reloaded; the current one stays in use' })
  t.equal(endpoint.certificate.serial, '0A02')
  t.equal(await metric(registry, 'tn3270_tls_handshakes_total', { role: 'gateway', listener: 'secure', result: 'ok' }), 2)
  t.equal(await metric(registry, 'tn3270_tls_handshakes_total', { role: 'gateway', listener: 'secure', result: 'failed' }), 1)

  const plainPort = await serve(t, s => {
    screenPlainListener(s, { role: 'gateway', listener: 'plain', metrics }).catch(() => {})
  })
  const hello = tlsConnect({ host: '127.0.0.1', port: plainPort, rejectUnauthorized: false })
  hello.on('error', () => {})
  await new Promise<void>(resolve => hello.once('close', () => resolve()))
  t.equal(await metric(registry, 'tn3270_tls_handshakes_total', { role: 'gateway', listener: 'plain', result: 'plain_listener' }), 1)
})

t.test('a bad certificate stops the endpoint from opening', async t => {
  const registry = new Registry()
  t.throws(() => TlsEndpoint.open({ mode: 'direct', allowPlain: false, cert: '/nonexistent.pem', key: '/nonexistent.key', clientAuth: 'none', minVersion: 'TLSv1.2', handshakeTimeout: 1000, clientHelloWait: 100 },
    { role: 'proxy', listener: 'edge', metrics: createTlsMetrics(registry), logger: pino({ level: 'silent' }), clock: systemClock }),
  { code: ErrorCodes.TLS_CONFIG, message: /^listeners\.edge\.tls\.cert = "\/nonexistent\.pem"/ })
})

t.test('client side: material from files or PEM, a verified handshake, refusals and timeouts', async t => {
  const pki = await makePki(t)
  const srv = await serverCert(pki)
  const me = await pki.issue('proxy', '/CN=proxy')
  t.throws(() => loadClientTls({ cert: me.cert, rejectUnauthorized: true }, 'listeners.x.backendTls'), { code: ErrorCodes.TLS_CONFIG, message: 'listeners.x.backendTls: a client certificate needs both cert and key' })
  t.throws(() => loadClientTls({ ca: '/nope.pem', rejectUnauthorized: true }, 'b'), { message: /^b\.ca = "\/nope\.pem": expected PEM text or a readable PEM file/ })
  const material = loadClientTls({ ca: pki.ca, cert: pki.read(me.cert), key: me.key, servername: 'localhost', rejectUnauthorized: true }, 'b')
  t.ok(material.cert?.toString().includes('BEGIN CERTIFICATE'), 'PEM text taken as is')

  const registry = new Registry()
  const endpoint = TlsEndpoint.open({ mode: 'direct', allowPlain: false, cert: srv.cert, key: srv.key, ca: pki.ca, clientAuth: 'require', minVersion: 'TLSv1.2', handshakeTimeout: 2000, clientHelloWait: 100 },
    { role: 'gateway', listener: 'mtls', metrics: createTlsMetrics(registry), logger: pino({ level: 'silent' }), clock: systemClock })
  t.teardown(() => { endpoint.close() })
  const peers: string[] = []
  const port = await serve(t, s => { endpoint.accept(s).then(a => { if (a.tls) peers.push(a.identity.subject ?? '?'); a.socket.end('ok') }, () => {}) })
  const served = async (tls: TLSSocket): Promise<void> => { await new Promise(resolve => tls.once('data', resolve)) }
  const tcp = async (p: number): Promise<Socket> => {
    const s = connect(p, '127.0.0.1')
    await new Promise<void>(resolve => s.once('connect', () => resolve()))
    return s
  }
  const tls = await startClientTls(await tcp(port), '127.0.0.1', material, 2000, systemClock)
  t.ok(tls.authorized, 'the gateway certificate verified for servername localhost')
  await served(tls)
  tls.destroy()
  const byIp = await startClientTls(await tcp(port), '127.0.0.1', { ca: readFileSync(pki.ca), cert: material.cert!, key: material.key!, rejectUnauthorized: true }, 2000, systemClock)
  t.ok(byIp.authorized, 'no servername: checked against the IP address SAN')
  await served(byIp)
  byIp.destroy()
  t.same(peers, ['CN=proxy', 'CN=proxy'])

  let caught: unknown
  try { await startClientTls(await tcp(port), '127.0.0.1', { rejectUnauthorized: true }, 2000, systemClock) } catch (err) { caught = err }
  t.ok(isLbError(caught, ErrorCodes.TLS_CONNECT), 'a server certificate from an unknown CA is refused')
  t.match(String((caught as Error).message), /^TLS handshake with 127\.0\.0\.1 failed: /)
  const silent = await serve(t, () => { /* never answers */ })
  caught = undefined
  try { await startClientTls(await tcp(silent), '127.0.0.1', material, 150, systemClock) } catch (err) { caught = err }
  t.match(caught, { code: ErrorCodes.TLS_CONNECT, message: 'TLS handshake with 127.0.0.1 timed out after 150 ms' })
})
