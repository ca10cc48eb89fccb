// TLS on a gateway listener with the real s3270 (Debian 4.1): direct TLS (`L:`, the port 992
// convention), negotiated TLS (TELNET START_TLS, draft-altman-telnet-starttls-02, which s3270
// speaks when its `startTls` resource is on, the default), both on one port, a TLS client on a
// plain listener, client certificates mapped to pools (docs/configuration.md `identity`), and
// a certificate reload under an open session (docs/operations.md "TLS").
import t from 'tap'
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { gatewayMetrics, metricValue, startTestDemo } from '../helpers/e2e-gateway.js'
import { capturingLogger, type LogLine } from '../helpers/e2e-proxy.js'
import { S3270 } from '../helpers/s3270.js'
import { demoAndEcho, echo, gatewayTlsSets, servedSerial, tlsPki, tlsS3270 } from '../helpers/e2e-tls.js'
import { serverCert } from '../helpers/certs.js'
import { until } from '../helpers/until.js'

const traces = mkdtempSync(join(tmpdir(), 'tn3270lb-tls-'))

/** Whether s3270 ends up in a session; a failed Connect, or s3270 gone, is no session. */
async function connected (s: S3270, target: string): Promise<boolean> {
  try {
    const r = await s.connect(target)
    return r.ok && (await s.query('ConnectionState')).startsWith('connected')
  } catch {
    return false
  }
}

t.test('s3270 L: (direct TLS, -cafile) reaches DEMO and gets ECHO; the session line names the TLS', async t => {
  const p = await tlsPki(t)
  const lines: LogLine[] = []
  const d = await startTestDemo(t, { sets: gatewayTlsSets(p, 'direct'), logger: capturingLogger(lines) })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const s = await tlsS3270(t, p)
  await demoAndEcho(t, s, `L:127.0.0.1:${port}`)
  t.match(await s.query('Tls'), /^secure host-verified/, 's3270 verified the gateway certificate')
  t.match(lines.find(l => l.event === 'session-start'), { tls: 'TLSv1.3', tlsBy: 'gateway', lu: /^GW1A/ })
  t.equal(metricValue(await gatewayMetrics(d), 'tn3270_tls_handshakes_total', { role: 'gateway', listener: 'tn3270', result: 'ok' }), 1)
  t.ok((metricValue(await gatewayMetrics(d), 'tn3270_tls_certificate_expiry_seconds', { role: 'gateway', listener: 'tn3270' }) ?? 0) > Date.now() / 1000 + 29 * 86400, 'expiry gauge: notAfter, 30 days out')
})

t.test('s3270 with negotiated TLS (START_TLS) reaches DEMO and gets ECHO; one that refuses is closed', async t => {
  const p = await tlsPki(t)
  const lines: LogLine[] = []
  const d = await startTestDemo(t, { sets: gatewayTlsSets(p, 'starttls'), logger: capturingLogger(lines) })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const trace = join(traces, 'starttls.trc')
  const s = await tlsS3270(t, p, { trace })
  await demoAndEcho(t, s, `127.0.0.1:${port}`)
  t.match(await s.query('Tls'), /^secure host-verified/)
  const wire = readFileSync(trace, 'utf8')
  t.match(wire, /RCVD DO START-TLS[\s\S]*SENT WILL START-TLS[\s\S]*SENT SB START-TLS FOLLOWS SE[\s\S]*RCVD SB START-TLS FOLLOWS SE/, 'the START_TLS exchange as s3270 traced it')

  // startTls off: s3270 answers WONT START-TLS, and this listener allows no plain sessions.
  // (s3270 4.1ga10 may then crash on the close while it reports "STARTTLS disabled": no session either way.)
  const plain = await tlsS3270(t, p, { extra: ['-xrm', 's3270.startTls: false'] })
  t.notOk(await connected(plain, `127.0.0.1:${port}`), 'the client that declined TLS got no session')
  await until('declined line', () => lines.some(l => l.event === 'connection-end' && l.phase === 'tls'))
  t.match(lines.find(l => l.event === 'connection-end' && l.phase === 'tls'), { level: 'warn', code: 'TN3270LB_ERR_TLS_ACCEPT', msg: /client declined TLS \(the client answered WONT START_TLS\)/ })
})

t.test('optional: direct TLS and START_TLS on one port, plain telnet where allowed', async t => {
  const p = await tlsPki(t)
  const d = await startTestDemo(t, { lus: 3, sets: gatewayTlsSets(p, 'optional', { allowPlain: 'true' }) })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const direct = await tlsS3270(t, p)
  await demoAndEcho(t, direct, `L:127.0.0.1:${port}`, 'direct')
  const negotiated = await tlsS3270(t, p)
  await demoAndEcho(t, negotiated, `127.0.0.1:${port}`, 'negotiated')
  t.match(await negotiated.query('Tls'), /^secure/)
  const plain = await tlsS3270(t, p, { extra: ['-xrm', 's3270.startTls: false'] })
  await demoAndEcho(t, plain, `127.0.0.1:${port}`, 'plain')
  t.match(await plain.query('Tls'), /^not secure/)
  const text = await gatewayMetrics(d)
  t.equal(metricValue(text, 'tn3270_tls_handshakes_total', { listener: 'tn3270', result: 'ok' }), 2)
  t.equal(metricValue(text, 'tn3270_tls_handshakes_total', { listener: 'tn3270', result: 'plain' }), 1)
})

t.test('a TLS client on a plain listener: one clear line and a close, no telnet error', async t => {
  const p = await tlsPki(t)
  const lines: LogLine[] = []
  const d = await startTestDemo(t, { sets: ['listeners.0.proxyProtocol.mode=off'], logger: capturingLogger(lines, 'debug') })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const s = await tlsS3270(t, p)
  t.notOk(await connected(s, `L:127.0.0.1:${port}`), 's3270 got no session')
  await until('the connection-end line', () => lines.some(l => l.event === 'connection-end'))
  const mine = lines.filter(l => l.gateway === 'gw1' && l.level !== 'debug' && (l.client !== undefined || l.event === 'connection-end'))
  t.match(mine, [{ level: 'warn', event: 'connection-end', phase: 'tls', msg: 'TLS client on a plain listener', code: 'TN3270LB_ERR_TLS_ACCEPT' }], 'exactly one line about it')
  t.notOk(lines.some(l => l.event === 'telnet_error' || l.event === 'tn3270_negotiation_failed'), 'never parsed as telnet')
  t.equal(metricValue(await gatewayMetrics(d), 'tn3270_tls_handshakes_total', { role: 'gateway', listener: 'tn3270', result: 'plain_listener' }), 1)
  const telnet = await S3270.start({ model: 2 })
  t.teardown(() => telnet.close())
  await demoAndEcho(t, telnet, `127.0.0.1:${port}`)
  t.pass('plain telnet clients are served as before')
})

t.test('client certificate required: none is refused; a mapped certificate gets an LU of its pool only', async t => {
  const p = await tlsPki(t)
  const lines: LogLine[] = []
  const d = await startTestDemo(t, {
    hosts: 2,
    logger: capturingLogger(lines),
    sets: [
      ...gatewayTlsSets(p, 'direct', { ca: p.pki.ca, clientAuth: 'require' }),
      'identity.rules.0.name=tellers', 'identity.rules.0.certificate.cn=teller-*', 'identity.rules.0.certificate.san=DNS:*.branch.example', 'identity.rules.0.pools.0=HOSTB',
      'identity.default.pools.0=HOSTA',
    ],
  })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const anonymous = await tlsS3270(t, p)
  t.notOk(await connected(anonymous, `L:127.0.0.1:${port}`), 'no certificate: no session')
  await until('the refusal', () => lines.some(l => l.event === 'connection-end' && l.phase === 'tls'))
  t.match(lines.find(l => l.event === 'connection-end' && l.phase === 'tls'), { msg: /peer did not return a certificate/ })

  const teller = await tlsS3270(t, p, { cert: p.teller })
  const screen = await demoAndEcho(t, teller, `L:127.0.0.1:${port}`)
  t.match(screen, /host HOSTB/, 'the mapped pool, not the listener\'s first pool')
  t.match(await teller.query('LuName'), /^GW1B/)
  t.match(lines.find(l => l.event === 'session-start'), { rule: 'tellers', pool: 'HOSTB', subject: 'CN=teller-01,OU=Tellers,O=Example Bank,C=US', certVerified: true, tlsBy: 'gateway' })

  const wrongPool = await tlsS3270(t, p, { cert: p.teller })
  t.notOk(await connected(wrongPool, `L:GW1A001@127.0.0.1:${port}`), 'an LU outside its pool: refused')
  await until('identity_refused', () => lines.some(l => l.event === 'identity_refused'))
  t.match(lines.find(l => l.event === 'identity_refused'), { level: 'warn', rule: 'tellers', request: 'GW1A001', reason: 'INV-NAME', subject: 'CN=teller-01,OU=Tellers,O=Example Bank,C=US' })
  t.equal(d.gateways[0]!.lus.lu('GW1A001')!.state, 'free')
})

t.test('a certificate reload under an open TLS session: it keeps working; new sessions get the new certificate', async t => {
  const p = await tlsPki(t)
  const next = await serverCert(p.pki, 'next', 0x7e57)
  const cert = join(p.pki.dir, 'live.pem')
  const key = join(p.pki.dir, 'live.key')
  copyFileSync(p.server.cert, cert); copyFileSync(p.server.key, key)
  const lines: LogLine[] = []
  const d = await startTestDemo(t, { lus: 3, sets: gatewayTlsSets(p, 'direct', { cert, key }), logger: capturingLogger(lines) })
  const port = d.gateways[0]!.listenerPort('tn3270')
  t.equal(await servedSerial(port, p.pki.ca), p.server.serial)
  const open = await tlsS3270(t, p)
  await demoAndEcho(t, open, `L:127.0.0.1:${port}`, 'before')

  copyFileSync(next.cert, cert); copyFileSync(next.key, key)
  await until('the reload line', () => lines.some(l => l.event === 'tls_reload' && l.result === 'reloaded'))
  t.match(lines.find(l => l.event === 'tls_reload'), { serial: next.serial, listener: 'tn3270', role: 'gateway' }, 'picked up from the file change')
  await echo(t, open, 'after')
  t.pass('the session opened before the reload keeps working')
  t.equal(await servedSerial(port, p.pki.ca), next.serial, 'a new connection is served the new certificate')
  const fresh = await tlsS3270(t, p)
  await demoAndEcho(t, fresh, `L:127.0.0.1:${port}`, 'fresh')

  d.gateways[0]!.reloadCertificates()
  t.match(lines.at(-1), { event: 'tls_reload', result: 'unchanged' }, 'SIGHUP with nothing new: said so')
  // A raw TLS client that never sends telnet data must not hold up the check.
  const idle = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(p.pki.ca), servername: 'localhost' })
  idle.on('error', () => {})
  t.teardown(() => { idle.destroy() })
})
