// The client's TLS facts in PROXY v2 TLVs (HAProxy doc/proxy-protocol.txt §2.2.6 PP2_TYPE_SSL and
// its sub-TLVs; 0xE1 / 0xE2 in the §2.2.8 application range): byte layouts as hex vectors, the
// round trip through a whole header, and what a malformed TLV is told.
import t from 'tap'
import { ErrorCodes, isLbError } from '../../lib/errors.js'
import {
  decodeClientTls, encodeClientTls, encodeProxyV2, findTlv, parseProxyHeader,
  PP2_CLIENT_CERT_CONN, PP2_CLIENT_CERT_SESS, PP2_CLIENT_SSL, PP2_SUBTYPE_SSL_CIPHER, PP2_SUBTYPE_SSL_CN, PP2_SUBTYPE_SSL_VERSION,
  PP2_TYPE_CLIENT_SANS, PP2_TYPE_CLIENT_SUBJECT, PP2_TYPE_SSL,
} from '../../lib/proxy-protocol/index.js'

t.test('constants are the registered values (§2.2, §2.2.6)', async t => {
  t.same([PP2_TYPE_SSL, PP2_SUBTYPE_SSL_VERSION, PP2_SUBTYPE_SSL_CN, PP2_SUBTYPE_SSL_CIPHER], [0x20, 0x21, 0x22, 0x23])
  t.same([PP2_CLIENT_SSL, PP2_CLIENT_CERT_CONN, PP2_CLIENT_CERT_SESS], [0x01, 0x02, 0x04])
  t.same([PP2_TYPE_CLIENT_SUBJECT, PP2_TYPE_CLIENT_SANS], [0xe1, 0xe2])
})

t.test('a verified client certificate: PP2_TYPE_SSL bytes, then subject and SANs', async t => {
  const tlvs = encodeClientTls({ tls: true, certificate: true, verified: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', cn: 'teller-01', subject: 'CN=teller-01,O=Example Bank', sans: ['DNS:a.example', 'IP:10.1.2.3'] })
  t.equal(tlvs.length, 3)
  const ssl = tlvs[0]!
  t.equal(ssl.type, 0x20)
  t.equal(ssl.value.toString('hex'),
    '03' + '00000000' + // client = SSL | CERT_CONN, verify = 0 (verified)
    '21' + '0007' + Buffer.from('TLSv1.3').toString('hex') +
    '22' + '0009' + Buffer.from('teller-01').toString('hex') +
    '23' + '0016' + Buffer.from('TLS_AES_256_GCM_SHA384').toString('hex'))
  t.same(tlvs[1], { type: 0xe1, value: Buffer.from('CN=teller-01,O=Example Bank') })
  t.same(tlvs[2], { type: 0xe2, value: Buffer.from('DNS:a.example\nIP:10.1.2.3') })
  t.same(decodeClientTls(tlvs), { tls: true, certificate: true, verified: true, protocol: 'TLSv1.3', cn: 'teller-01', cipher: 'TLS_AES_256_GCM_SHA384', subject: 'CN=teller-01,O=Example Bank', sans: ['DNS:a.example', 'IP:10.1.2.3'] })
})

t.test('no certificate, an unverified one, a plain client', async t => {
  const none = encodeClientTls({ tls: true, certificate: false, verified: false, protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', sans: [] })
  t.equal(none.length, 1, 'no subject or SAN TLV without a certificate')
  t.equal(none[0]!.value.subarray(0, 5).toString('hex'), '0100000001', 'SSL only, verify non-zero')
  t.same(decodeClientTls(none), { tls: true, certificate: false, verified: false, protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' })
  const unverified = encodeClientTls({ tls: true, certificate: true, verified: false, protocol: 'TLSv1.3', cipher: 'X', cn: 'rogue' })
  t.equal(unverified[0]!.value.subarray(0, 5).toString('hex'), '0300000001')
  t.match(decodeClientTls(unverified), { certificate: true, verified: false, cn: 'rogue' })
  const plain = encodeClientTls({ tls: false, certificate: false, verified: false })
  t.same(plain, [{ type: 0x20, value: Buffer.from('0000000001', 'hex') }], 'a plain client: client 0, no sub-TLVs')
  t.same(decodeClientTls(plain), { tls: false, certificate: false, verified: false })
  t.equal(decodeClientTls([]), undefined, 'no PP2_TYPE_SSL: the sender said nothing')
})

t.test('CERT_SESS alone counts as a certificate (a resumed session, §2.2.6)', async t => {
  t.match(decodeClientTls([{ type: 0x20, value: Buffer.from('0500000000', 'hex') }]), { tls: true, certificate: true, verified: true })
})

t.test('through a whole PROXY v2 header', async t => {
  const tlvs = encodeClientTls({ tls: true, certificate: true, verified: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', cn: 'Zoë', subject: 'CN=Zoë', sans: ['email:zoe@example.com'] })
  const header = encodeProxyV2({ src: { address: '192.0.2.7', port: 4000 }, dst: { address: '10.0.0.1', port: 992 }, tlvs })
  const parsed = parseProxyHeader(header)
  if (parsed.needMore === true) throw new Error('whole header expected')
  t.equal(findTlv(parsed.header.tlvs, 0xe1)?.toString('utf8'), 'CN=Zoë', 'UTF-8 subject')
  t.match(decodeClientTls(parsed.header.tlvs), { cn: 'Zoë', sans: ['email:zoe@example.com'] })
  t.equal(findTlv(parsed.header.tlvs, 0x05), undefined)
})

t.test('malformed PP2_TYPE_SSL is a PROXY_HEADER error that says what is wrong', async t => {
  const bad = (value: string, message: RegExp) => {
    let caught: unknown
    try { decodeClientTls([{ type: 0x20, value: Buffer.from(value, 'hex') }]) } catch (err) { caught = err }
    t.ok(isLbError(caught, ErrorCodes.PROXY_HEADER), `${value}: PROXY_HEADER`)
    t.match(String((caught as { message?: string }).message), message)
  }
  bad('0300', /at least 5/)
  bad('030000000021', /truncated/)
  bad('03000000002100ff41', /runs past/)
})
