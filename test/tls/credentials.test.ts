// Server credentials (lib/tls/credentials.ts, peer.ts): PEM text or files checked by building a
// context, the served certificate's facts, reloads that change, keep or refuse, the file watch
// (docs/operations.md "TLS"), and the names a certificate carries (RFC 4514, RFC 5280 §4.2.1.6).
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { systemClock } from '../../lib/clock.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'
import { certificateNames, commonName, formatDn, parseSans, ServerCredentials, type CertificateFacts } from '../../lib/tls/index.js'
import { makePki, serverCert } from '../helpers/certs.js'

function errorOf (fn: () => unknown): unknown {
  try { fn() } catch (err) { return err }
  return undefined
}

t.test('load: files or PEM text; facts of the served certificate', async t => {
  const pki = await makePki(t)
  const srv = await serverCert(pki, 'server', 0x4242)
  const creds = ServerCredentials.load({ cert: srv.cert, key: srv.key, minVersion: 'TLSv1.2' }, 'listeners.main.tls')
  t.equal(creds.certificate.serial, '4242')
  t.equal(creds.certificate.subject, 'CN=localhost,O=tn3270-lb tests')
  t.ok(creds.certificate.notAfter > Date.now() + 29 * 86400_000, 'notAfter 30 days out')
  t.match(creds.certificate.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  const inline = ServerCredentials.load({ cert: pki.read(srv.cert), key: pki.read(srv.key), ca: pki.read(pki.ca), minVersion: 'TLSv1.3', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }, 'x')
  t.equal(inline.certificate.serial, '4242', 'PEM text works the same')
  t.match(inline.contextOptions, { minVersion: 'TLSv1.3', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })
  t.equal(inline.reload(), 'unchanged', 'PEM text never changes')
  inline.watch(systemClock)
  inline.close()
})

t.test('load errors name the key and what is wrong (TLS_CONFIG)', async t => {
  const pki = await makePki(t)
  const a = await serverCert(pki, 'a')
  const b = await serverCert(pki, 'b')
  const missing = errorOf(() => ServerCredentials.load({ cert: join(pki.dir, 'nope.pem'), key: a.key, minVersion: 'TLSv1.2' }, 'listeners.main.tls'))
  t.ok(isLbError(missing, ErrorCodes.TLS_CONFIG))
  t.match(String((missing as Error).message), /^listeners\.main\.tls\.cert = ".*nope\.pem": expected PEM text or a readable PEM file/)
  const mismatch = errorOf(() => ServerCredentials.load({ cert: a.cert, key: b.key, minVersion: 'TLSv1.2' }, 'l'))
  t.ok(isLbError(mismatch, ErrorCodes.TLS_CONFIG))
  t.match(String((mismatch as Error).message), /^l: cert, key cannot be used together: .*key values mismatch/)
  const badCa = errorOf(() => ServerCredentials.load({ cert: a.cert, key: a.key, ca: a.key, minVersion: 'TLSv1.2' }, 'l'))
  t.match(String((badCa as Error).message), /^l\.ca: no PEM certificate in it/)
  const badCipher = errorOf(() => ServerCredentials.load({ cert: a.cert, key: a.key, minVersion: 'TLSv1.2', ciphers: 'NOT-A-CIPHER' }, 'l'))
  t.match(String((badCipher as Error).message), /^l: cert, key, ciphers cannot be used together/)
})

t.test('reload: changed (event), unchanged, a broken pair keeps the old one', async t => {
  const pki = await makePki(t)
  const one = await serverCert(pki, 'one', 0x101)
  const two = await serverCert(pki, 'two', 0x202)
  const other = await serverCert(pki, 'other', 0x303)
  const cert = join(pki.dir, 'live.pem')
  const key = join(pki.dir, 'live.key')
  copyFileSync(one.cert, cert); copyFileSync(one.key, key)
  const creds = ServerCredentials.load({ cert, key, minVersion: 'TLSv1.2' }, 'l')
  const changed: CertificateFacts[] = []
  creds.on('changed', f => { changed.push(f) })
  t.equal(creds.reload(), 'unchanged')
  copyFileSync(two.cert, cert); copyFileSync(two.key, key)
  t.equal(creds.reload(), 'changed')
  t.equal(creds.certificate.serial, '0202')
  t.same(changed.map(f => f.serial), ['0202'])
  copyFileSync(other.cert, cert) // key still two's: a half-written rotation
  t.throws(() => creds.reload(), { code: ErrorCodes.TLS_CONFIG })
  t.equal(creds.certificate.serial, '0202', 'the working pair stays in use')
  writeFileSync(cert, 'not a certificate')
  copyFileSync(other.key, key)
  t.throws(() => creds.reload(), { code: ErrorCodes.TLS_CONFIG })
  t.equal(creds.certificate.serial, '0202')
})

t.test('watch: a rotation on disk is picked up without a signal; failures are reported, not thrown', async t => {
  const pki = await makePki(t)
  const one = await serverCert(pki, 'one', 0x111)
  const two = await serverCert(pki, 'two', 0x222)
  const three = await serverCert(pki, 'three', 0x333)
  const cert = join(pki.dir, 'w.pem')
  const key = join(pki.dir, 'w.key')
  copyFileSync(one.cert, cert); copyFileSync(one.key, key)
  const creds = ServerCredentials.load({ cert, key, ca: pki.ca, minVersion: 'TLSv1.2' }, 'l')
  // The watcher and its settle timer do not hold the process open (a listener does, in a server).
  const alive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(alive); creds.close() })
  creds.watch(systemClock)
  const changed = new Promise<CertificateFacts>(resolve => creds.once('changed', resolve))
  copyFileSync(two.cert, cert); copyFileSync(two.key, key)
  t.equal((await changed).serial, '0222', 'reloaded after the files changed')
  const failed = new Promise<Error>(resolve => creds.once('reload-failed', resolve))
  writeFileSync(key, readFileSync(three.key))
  t.match((await failed).message, /cannot be used together/, 'a half-done rotation is reported')
  const fixed = new Promise<CertificateFacts>(resolve => creds.once('changed', resolve))
  copyFileSync(three.cert, cert)
  t.equal((await fixed).serial, '0333', 'and taken once the pair is whole')
  creds.close()
  creds.close()
})

t.test('a directory that cannot be watched is reported; SIGHUP still reloads', async t => {
  const pki = await makePki(t)
  const one = await serverCert(pki, 'one')
  const dir = mkdtempSync(join(pki.dir, 'gone-'))
  copyFileSync(one.cert, join(dir, 'c.pem')); copyFileSync(one.key, join(dir, 'c.key'))
  const creds = ServerCredentials.load({ cert: join(dir, 'c.pem'), key: join(dir, 'c.key'), minVersion: 'TLSv1.2' }, 'l')
  rmSync(dir, { recursive: true })
  const failures: Error[] = []
  creds.on('reload-failed', err => { failures.push(err) })
  creds.watch(systemClock)
  t.match(failures, [{ code: ErrorCodes.TLS_CONFIG, message: /cannot watch .*gone-.*; reload with SIGHUP/ }])
  creds.close()
})

t.test('names: RFC 4514 subject, CN, SANs as Node prints them', async t => {
  t.equal(formatDn('C=US\nO=Example\\, Inc.\nOU=Tellers\nCN=teller-01'), 'CN=teller-01,OU=Tellers,O=Example\\, Inc.,C=US')
  t.equal(formatDn('O=Bank\nCN=a + UID=u1'), 'CN=a+UID=u1,O=Bank', 'multi-valued RDN')
  t.equal(commonName('C=US\nCN=first\nCN=x\\,y'), 'x,y', 'the most specific CN, unescaped')
  t.equal(commonName('O=Bank\nCN=a + UID=u1'), 'a')
  t.equal(commonName('O=Bank'), undefined)
  t.same(parseSans('DNS:a.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:a@b.c, URI:https://x.example/a'),
    ['DNS:a.example', 'IP:127.0.0.1', 'IP:0:0:0:0:0:0:0:1', 'email:a@b.c', 'URI:https://x.example/a'])
  t.same(parseSans('DNS:"a, b", DNS:c'), ['DNS:a, b', 'DNS:c'], 'quoted values (Node quotes those with commas)')
  t.same(parseSans(undefined), [])
  t.same(parseSans(''), [])
  const pki = await makePki(t)
  const c = await pki.issue('c', '/C=US/O=Example Bank/CN=teller-01', { san: 'DNS:teller-01.branch.example,email:t01@example.com' })
  t.same(certificateNames(new X509Certificate(readFileSync(c.cert))), { subject: 'CN=teller-01,O=Example Bank,C=US', cn: 'teller-01', sans: ['DNS:teller-01.branch.example', 'email:t01@example.com'] })
  const noCn = await pki.issue('n', '/O=Only Org')
  t.same(certificateNames(new X509Certificate(readFileSync(noCn.cert))), { subject: 'O=Only Org', sans: [] })
})
