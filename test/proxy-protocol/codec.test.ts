import t from 'tap'
import fc from 'fast-check'
import { ErrorCodes, isLbError } from '../../lib/errors.js'
import { PROXY_V2_SIGNATURE, cidrMatch, encodeProxyV2, parseIp, parseProxyHeader } from '../../lib/proxy-protocol/index.js'

const code = (c: string) => (err: unknown) => isLbError(err) && err.code === c

t.test('IPv4 header bytes follow proxy-protocol.txt §2.2', async t => {
  const buf = encodeProxyV2({ src: { address: '192.0.2.10', port: 51000 }, dst: { address: '10.0.0.1', port: 3270 } })
  t.same(buf, Buffer.concat([
    PROXY_V2_SIGNATURE,
    Buffer.from([0x21, 0x11, 0x00, 0x0c]),
    Buffer.from([192, 0, 2, 10, 10, 0, 0, 1, 0xc7, 0x38, 0x0c, 0xc6]),
  ]))
  const r = parseProxyHeader(Buffer.concat([buf, Buffer.from('rest')]))
  t.same(r, { consumed: 28, header: { command: 'proxy', family: 'inet', transport: 'stream', src: { address: '192.0.2.10', port: 51000 }, dst: { address: '10.0.0.1', port: 3270 }, tlvs: [] } })
})

t.test('IPv6, IPv4-mapped and mixed families', async t => {
  const v6 = encodeProxyV2({ src: { address: '2001:db8::1', port: 1 }, dst: { address: '::1', port: 2 } })
  t.equal(v6[13], 0x21)
  t.equal(v6.readUInt16BE(14), 36)
  t.equal(v6.length, 52)
  t.match(parseProxyHeader(v6), { consumed: 52, header: { family: 'inet6', src: { address: '2001:db8::1', port: 1 }, dst: { address: '::1', port: 2 } } })
  // Node reports clients of a dual-stack listener as ::ffff:a.b.c.d: sent as plain IPv4
  const mapped = encodeProxyV2({ src: { address: '::ffff:127.0.0.1', port: 40000 }, dst: { address: '127.0.0.1', port: 3270 } })
  t.equal(mapped[13], 0x11)
  t.match(parseProxyHeader(mapped), { header: { src: { address: '127.0.0.1', port: 40000 } } })
  // IPv4 and true IPv6: the IPv4 side is mapped into IPv6
  const mixed = encodeProxyV2({ src: { address: '198.51.100.7', port: 5 }, dst: { address: 'fe80::1%eth0', port: 6 } })
  t.equal(mixed[13], 0x21)
  t.match(parseProxyHeader(mixed), { header: { src: { address: '::ffff:c633:6407' }, dst: { address: 'fe80::1' } } })
  t.match(parseProxyHeader(encodeProxyV2({ src: { address: '1:2:3:4:5:6:7:8', port: 0 }, dst: { address: '1:0:0:2::', port: 0 } })), { header: { src: { address: '1:2:3:4:5:6:7:8' }, dst: { address: '1:0:0:2::' } } })
  t.match(parseProxyHeader(encodeProxyV2({ src: { address: '1:0:0:1:0:0:0:1', port: 0 }, dst: { address: '::', port: 0 } })), { header: { src: { address: '1:0:0:1::1' }, dst: { address: '::' } } })
})

t.test('LOCAL header and TLVs', async t => {
  const local = encodeProxyV2({ local: true })
  t.same(local, Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]))
  t.same(parseProxyHeader(local), { consumed: 16, header: { command: 'local', tlvs: [] } })
  const withTlv = encodeProxyV2({ src: { address: '1.2.3.4', port: 1 }, dst: { address: '5.6.7.8', port: 2 }, tlvs: [{ type: 0x04, value: Buffer.from([]) }, { type: 0xe0, value: Buffer.from('gw1') }] })
  t.equal(withTlv.readUInt16BE(14), 12 + 3 + 6)
  t.same((parseProxyHeader(withTlv) as { header: { tlvs: unknown } }).header.tlvs, [{ type: 4, value: Buffer.alloc(0) }, { type: 0xe0, value: Buffer.from('gw1') }])
  // LOCAL with an INET block: addresses skipped, TLVs kept
  const b = Buffer.from(withTlv); b[12] = 0x20
  t.match(parseProxyHeader(b), { consumed: withTlv.length, header: { command: 'local', tlvs: [{ type: 4 }, { type: 0xe0 }] } })
  // PROXY with family UNSPEC: no addresses, body skipped
  const unspec = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x00, 0x00, 0x02, 9, 9])])
  t.same(parseProxyHeader(unspec), { consumed: 18, header: { command: 'proxy', family: 'unspec', transport: 'unspec', tlvs: [] } })
})

t.test('UNIX family', async t => {
  const body = Buffer.alloc(216)
  body.write('/run/a.sock', 0); body.write('/run/b.sock', 108)
  const buf = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x31, 0x00, 216]), body])
  t.match(parseProxyHeader(buf), { consumed: 232, header: { family: 'unix', transport: 'stream', src: { address: '/run/a.sock', port: 0 }, dst: { address: '/run/b.sock' } } })
  const full = Buffer.alloc(216, 0x61)
  t.match(parseProxyHeader(Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x32, 0x00, 216]), full])), { header: { transport: 'dgram', src: { address: 'a'.repeat(108) } } })
})

t.test('incremental: needMore for every proper prefix', async t => {
  const buf = encodeProxyV2({ src: { address: '192.0.2.10', port: 51000 }, dst: { address: '10.0.0.1', port: 3270 } })
  for (let n = 0; n < buf.length; n++) t.same(parseProxyHeader(buf.subarray(0, n)), { needMore: true }, `prefix ${n}`)
  t.same(parseProxyHeader(Buffer.from('PRO')), { needMore: true }, 'could still be a v1 line')
})

t.test('malformed headers: clear errors', async t => {
  const good = encodeProxyV2({ src: { address: '1.2.3.4', port: 1 }, dst: { address: '5.6.7.8', port: 2 } })
  const mut = (i: number, v: number) => { const b = Buffer.from(good); b[i] = v; return b }
  t.throws(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')), { code: ErrorCodes.PROXY_HEADER, message: /v1 \(text\) header.*only v2/ })
  t.throws(() => parseProxyHeader(Buffer.from([0xff, 0xfd, 0x18])), { code: ErrorCodes.PROXY_HEADER_MISSING, message: /missing.*fffd18/ })
  t.throws(() => parseProxyHeader(mut(5, 0x01)), { code: ErrorCodes.PROXY_HEADER, message: /bad v2 signature/ })
  t.throws(() => parseProxyHeader(mut(12, 0x11)), { code: ErrorCodes.PROXY_HEADER, message: /version 1 in byte 13, expected 2/ })
  t.throws(() => parseProxyHeader(mut(12, 0x22)), { message: /command 0x2 in byte 13/ })
  t.throws(() => parseProxyHeader(mut(13, 0x41)), { message: /address family 0x4 in byte 14/ })
  t.throws(() => parseProxyHeader(mut(13, 0x13)), { message: /transport 0x3 in byte 14/ })
  const short = Buffer.concat([good.subarray(0, 14), Buffer.from([0, 8]), Buffer.alloc(8)])
  t.throws(() => parseProxyHeader(short), { message: /length 8 shorter than the inet address block \(12 bytes\)/ })
  const shortLocal = Buffer.concat([Buffer.from(short.subarray(0, 12)), Buffer.from([0x20, 0x21, 0, 8]), Buffer.alloc(8)])
  t.throws(() => parseProxyHeader(shortLocal), { message: /length 8 shorter than the inet6 address block/ })
  const badTlv = Buffer.concat([good.subarray(0, 14), Buffer.from([0, 14]), good.subarray(16), Buffer.from([1, 0])])
  t.throws(() => parseProxyHeader(badTlv), { message: /truncated TLV header/ })
  const longTlv = Buffer.concat([good.subarray(0, 14), Buffer.from([0, 16]), good.subarray(16), Buffer.from([1, 0, 9, 0])])
  t.throws(() => parseProxyHeader(longTlv), { message: /TLV type 0x1 length 9 runs past/ })
  t.ok(code(ErrorCodes.PROXY_HEADER)((() => { try { parseProxyHeader(mut(12, 0x11)) } catch (e) { return e } })()))
})

t.test('encode rejects bad input', async t => {
  t.throws(() => encodeProxyV2({ src: { address: 'gw1', port: 1 }, dst: { address: '1.2.3.4', port: 2 } }), { code: ErrorCodes.PROXY_HEADER, message: /src address "gw1" is not an IP/ })
  t.throws(() => encodeProxyV2({ src: { address: '1.2.3.4', port: 70000 }, dst: { address: '1.2.3.4', port: 2 } }), { message: /src port 70000/ })
  t.throws(() => encodeProxyV2({ local: true, tlvs: [{ type: 256, value: Buffer.alloc(0) }] }), { message: /TLV type 256/ })
  t.throws(() => encodeProxyV2({ local: true, tlvs: [{ type: 1, value: Buffer.alloc(70000) }] }), { message: /longer than 65535/ })
  t.throws(() => encodeProxyV2({ local: true, tlvs: [{ type: 1, value: Buffer.alloc(65000) }, { type: 2, value: Buffer.alloc(1000) }] }), { message: /exceeds 65535/ })
})

t.test('parseIp', async t => {
  t.same(parseIp('010.2.255.0')?.bytes, Buffer.from([10, 2, 255, 0]), 'leading zeros: decimal, as before')
  for (const bad of ['', '.1.2.3', '1.2.3.', '1..2.3', '1.2.3.4.5', '1234.1.1.1', '1.2.3.-4', ' 1.2.3.4']) t.equal(parseIp(bad), undefined, JSON.stringify(bad))
  for (const bad of ['1.2.3', '1.2.3.256', '1.2.3.x', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3', 'g::1', '::1.2.3', '1:2:3:4:5:6:7::8']) t.equal(parseIp(bad), undefined, bad)
  t.same(parseIp('::ffff:1.2.3.4')?.bytes, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]))
})

t.test('cidrMatch', async t => {
  t.ok(cidrMatch('10.1.2.3', ['10.0.0.0/8']))
  t.notOk(cidrMatch('11.1.2.3', ['10.0.0.0/8']))
  t.ok(cidrMatch('192.168.1.130', ['192.168.1.128/25']))
  t.notOk(cidrMatch('192.168.1.127', ['192.168.1.128/25']))
  t.ok(cidrMatch('::ffff:127.0.0.1', ['127.0.0.0/8']), 'IPv4-mapped matches an IPv4 network')
  t.ok(cidrMatch('::1', ['10.0.0.0/8', '::1/128']))
  t.notOk(cidrMatch('::2', ['::1/128']))
  t.ok(cidrMatch('2001:db8:abcd::7', ['2001:db8::/32']))
  t.ok(cidrMatch('1.2.3.4', ['1.2.3.4']), 'bare address = host')
  t.ok(cidrMatch('8.8.8.8', ['0.0.0.0/0']))
  t.notOk(cidrMatch('10.0.0.1', ['::/0']), 'IPv4 does not match an IPv6 network')
  t.notOk(cidrMatch('not-an-ip', ['0.0.0.0/0']))
  t.notOk(cidrMatch('10.0.0.1', []))
  for (const bad of ['10.0.0.0/33', 'x/8', '10.0.0.0/8/1', '10.0.0.0/', '::/129']) {
    t.throws(() => cidrMatch('10.0.0.1', [bad]), { code: ErrorCodes.PROXY_HEADER_UNTRUSTED, message: /is not a network/ }, bad)
  }
})

t.test('property: the one-allocation IPv4 encoding equals the general one (via an IPv4-mapped source)', async t => {
  // doc/proxy-protocol.txt §2.2: an IPv4-mapped source with an IPv4 destination is sent as AF_INET,
  // by the general path; plain dotted quads take the one-allocation path. Same bytes either way.
  const tlv = fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 40 }).map(a => Buffer.from(a)) })
  fc.assert(fc.property(fc.ipV4(), fc.ipV4(), fc.nat(65535), fc.nat(65535), fc.array(tlv, { maxLength: 3 }), (a, b, pa, pb, tlvs) => {
    const quick = encodeProxyV2({ src: { address: a, port: pa }, dst: { address: b, port: pb }, tlvs })
    const general = encodeProxyV2({ src: { address: `::ffff:${a}`, port: pa }, dst: { address: b, port: pb }, tlvs })
    return quick.equals(general)
  }))
  t.pass('same bytes')
})

t.test('property: encode/parse round trip for IPv4 and IPv6', async t => {
  fc.assert(fc.property(fc.ipV4(), fc.ipV4(), fc.nat(65535), fc.nat(65535), (a, b, pa, pb) => {
    const r = parseProxyHeader(encodeProxyV2({ src: { address: a, port: pa }, dst: { address: b, port: pb } }))
    return !('needMore' in r && r.needMore) && 'header' in r && r.header.command === 'proxy' && 'src' in r.header &&
      r.header.src.address === a && r.header.dst.address === b && r.header.src.port === pa && r.header.dst.port === pb
  }))
  fc.assert(fc.property(fc.ipV6(), fc.ipV6(), (a, b) => {
    const r = parseProxyHeader(encodeProxyV2({ src: { address: a, port: 1 }, dst: { address: b, port: 2 } }))
    if (!('header' in r) || !('src' in r.header)) return false
    const same = (x: string, y: string) => parseIp(x)!.bytes.equals(parseIp(y)!.bytes) ||
      (parseIp(x)!.family !== parseIp(y)!.family) // a mapped pair round-trips as IPv4
    return same(r.header.src.address, a) && same(r.header.dst.address, b)
  }))
  t.pass('round trips held')
})

t.test('property: no input throws anything but a PROXY_HEADER* error', async t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 60 }), fc.boolean(), (bytes, withSig) => {
    const buf = withSig ? Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from(bytes)]) : Buffer.from(bytes)
    try { parseProxyHeader(buf); return true } catch (err) { return isLbError(err) && err.code.startsWith('TN3270LB_ERR_PROXY_HEADER') }
  }))
  t.pass('held')
})
