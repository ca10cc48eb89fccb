// TLS through the front proxy with the real s3270: the proxy terminates direct TLS (`L:`) and
// negotiated TLS (START_TLS, draft-altman-telnet-starttls-02) and reaches DEMO on a plain gateway;
// it re-encrypts toward a gateway that requires its client certificate (mutual TLS between the
// tiers) and carries the client's certificate in PROXY v2 TLVs (HAProxy doc/proxy-protocol.txt
// §2.2.6), which the gateway maps to a pool and names in its session line; and a proxy without
// `tls` passes a client's TLS through to a gateway listener that terminates it.
import t from 'tap'
import { metricValue, gatewayMetrics, startTestDemo } from '../helpers/e2e-gateway.js'
import { capturingLogger, type LogLine } from '../helpers/e2e-proxy.js'
import { demoAndEcho, gatewayTlsSets, tlsPki, tlsProxy, tlsS3270 } from '../helpers/e2e-tls.js'
import { httpRequest } from '../helpers/e2e-gateway.js'
import { until } from '../helpers/until.js'

for (const mode of ['direct', 'starttls'] as const) {
  t.test(`the proxy terminates ${mode === 'direct' ? 'direct TLS (s3270 L:)' : 'negotiated TLS (START_TLS)'}; DEMO and ECHO through a plain gateway`, async t => {
    const p = await tlsPki(t)
    const lines: LogLine[] = []
    const d = await startTestDemo(t, { logger: capturingLogger(lines) })
    const proxy = await tlsProxy(t, d, lines, { tls: { mode, cert: p.server.cert, key: p.server.key } })
    const s = await tlsS3270(t, p)
    await demoAndEcho(t, s, `${mode === 'direct' ? 'L:' : ''}127.0.0.1:${proxy.listeners[0]!.port}`)
    t.match(await s.query('Tls'), /^secure host-verified/)
    const proxyStart = lines.find(l => l.event === 'session_start' && l.role === 'proxy')!
    t.match(lines.find(l => l.event === 'session-start'), { client: proxyStart.client, tls: 'TLSv1.3', tlsBy: 'proxy' }, 'the gateway knows the client\'s TLS from the proxy\'s TLVs')
    const proxyMetrics = (await httpRequest(proxy.admin.port, '/metrics')).body
    t.equal(metricValue(proxyMetrics, 'tn3270_tls_handshakes_total', { role: 'proxy', listener: 'edge', result: 'ok' }), 1)
  })
}

t.test('identity through a TLS-terminating proxy: mutual TLS to the gateway, the client certificate from the TLVs maps the pool', async t => {
  const p = await tlsPki(t)
  const lines: LogLine[] = []
  const d = await startTestDemo(t, {
    hosts: 2,
    logger: capturingLogger(lines),
    sets: [
      'listeners.0.proxyProtocol.mode=required', 'listeners.0.proxyProtocol.trustedSources.0=127.0.0.0/8',
      ...gatewayTlsSets(p, 'direct', { ca: p.pki.ca, clientAuth: 'require' }),
      'identity.rules.0.name=tellers', 'identity.rules.0.addresses.0=127.0.0.0/8', 'identity.rules.0.certificate.subject=CN=teller-*,OU=Tellers,O=Example Bank,C=US', 'identity.rules.0.pools.0=HOSTB',
      'identity.default.pools.0=HOSTA',
    ],
  })
  const proxy = await tlsProxy(t, d, lines, {
    tls: { mode: 'starttls', cert: p.server.cert, key: p.server.key, ca: p.pki.ca, clientAuth: 'request' },
    backendTls: { ca: p.pki.ca, cert: p.proxy.cert, key: p.proxy.key, servername: 'localhost' },
  })
  const port = proxy.listeners[0]!.port
  const teller = await tlsS3270(t, p, { cert: p.teller })
  const screen = await demoAndEcho(t, teller, `127.0.0.1:${port}`)
  t.match(screen, /host HOSTB/, 'the teller\'s pool')
  const proxyStart = lines.find(l => l.event === 'session_start' && l.role === 'proxy')!
  const start = lines.find(l => l.event === 'session-start')
  t.match(start, {
    client: proxyStart.client,
    pool: 'HOSTB',
    rule: 'tellers',
    tls: 'TLSv1.3',
    tlsBy: 'proxy',
    subject: 'CN=teller-01,OU=Tellers,O=Example Bank,C=US',
    certVerified: true,
  }, 'the gateway names the real client and its certificate, not the proxy\'s')

  const anonymous = await tlsS3270(t, p)
  await demoAndEcho(t, anonymous, `127.0.0.1:${port}`)
  await until('the second session', () => lines.filter(l => l.event === 'session-start').length === 2)
  t.match(lines.filter(l => l.event === 'session-start')[1], { rule: 'default', pool: 'HOSTA', tlsBy: 'proxy' }, 'no client certificate: the default mapping')
  const gw = await gatewayMetrics(d)
  t.equal(metricValue(gw, 'tn3270_tls_handshakes_total', { role: 'gateway', listener: 'tn3270', result: 'ok' }), 2, 'the proxy\'s links were TLS, its certificate verified')
})

t.test('passthrough: a proxy without tls relays a TLS client to a gateway that terminates it', async t => {
  const p = await tlsPki(t)
  const lines: LogLine[] = []
  const d = await startTestDemo(t, { logger: capturingLogger(lines), sets: gatewayTlsSets(p, 'direct') })
  const proxy = await tlsProxy(t, d, lines, {})
  const s = await tlsS3270(t, p)
  await demoAndEcho(t, s, `L:127.0.0.1:${proxy.listeners[0]!.port}`)
  const proxyStart = lines.find(l => l.event === 'session_start' && l.role === 'proxy')!
  t.match(lines.find(l => l.event === 'session-start'), { client: proxyStart.client, tls: 'TLSv1.3', tlsBy: 'gateway' })
})
