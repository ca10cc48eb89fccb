// PROXY v2 TLVs (HAProxy doc/proxy-protocol.txt §2.2 TLV layout, §2.2.7 application types
// 0xE0-0xEF): finding a TLV, building an application TLV, and reading them off a socket from a
// trusted sender only. The hand-over TLV carries a negotiation snapshot (docs/tn3270.md).
import t, { type Test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import {
  customTlv, encodeProxyV2, findTlv, parseProxyHeader, readProxyHeader,
  PP2_TYPE_MAX_CUSTOM, PP2_TYPE_MIN_CUSTOM, PP2_TYPE_TN3270_NEGOTIATION,
} from '../../lib/proxy-protocol/index.js'
import { ErrorCodes } from '../../lib/errors.js'

// docs/tn3270.md: the snapshot of `DEVICE-TYPE REQUEST IBM-3278-5-E CONNECT myterm`.
const SNAPSHOT = Buffer.from('0101012802001502074942 4d2d333237382d352d4501 6d797465726d 00000000'.replace(/ /g, ''), 'hex')

t.test('the application range and the hand-over type', async t => {
  t.equal(PP2_TYPE_MIN_CUSTOM, 0xe0)
  t.equal(PP2_TYPE_MAX_CUSTOM, 0xef)
  t.equal(PP2_TYPE_TN3270_NEGOTIATION, 0xe0, 'the first application type')
})

t.test('customTlv builds an application TLV; anything outside 0xE0-0xEF is refused', async t => {
  t.same(customTlv(0xe0, SNAPSHOT), { type: 0xe0, value: SNAPSHOT })
  t.same(customTlv(0xef, new Uint8Array([1])), { type: 0xef, value: Buffer.from([1]) })
  for (const bad of [0x04, 0x20, 0xdf, 0xf0, 256, -1, 1.5]) {
    t.throws(() => customTlv(bad, Buffer.alloc(0)), { code: ErrorCodes.PROXY_HEADER, message: /not an application type/ }, `type ${bad}`)
  }
  t.throws(() => customTlv(0xe0, Buffer.alloc(70_000)), { code: ErrorCodes.PROXY_HEADER, message: /exceeds 65535/ })
})

t.test('findTlv: the first TLV of a type, or undefined', async t => {
  const tlvs = [{ type: 0x04, value: Buffer.from('noop') }, { type: 0xe0, value: Buffer.from('a') }, { type: 0xe0, value: Buffer.from('b') }]
  t.same(findTlv(tlvs, 0xe0), Buffer.from('a'))
  t.same(findTlv(tlvs, 0x04), Buffer.from('noop'))
  t.equal(findTlv(tlvs, 0xe1), undefined)
  t.equal(findTlv([], 0xe0), undefined)
})

t.test('the hand-over TLV on the wire: §2.2 type, 2-byte length, value', async t => {
  const header = encodeProxyV2({ src: { address: '192.0.2.7', port: 40000 }, dst: { address: '10.0.0.1', port: 3270 }, tlvs: [customTlv(PP2_TYPE_TN3270_NEGOTIATION, SNAPSHOT)] })
  // 16 fixed + 12 IPv4 address block, then e0 00 20 and the 32 snapshot bytes.
  t.equal(header.readUInt16BE(14), 12 + 3 + SNAPSHOT.length)
  t.same(header.subarray(28, 31), Buffer.from([0xe0, 0x00, SNAPSHOT.length]))
  const parsed = parseProxyHeader(header)
  if (parsed.needMore === true) throw new Error('incomplete')
  t.same(findTlv(parsed.header.tlvs, PP2_TYPE_TN3270_NEGOTIATION), SNAPSHOT)
})

/** One accepted socket and the client that sent `bytes` to it. */
async function accepted (t: Test, bytes: Buffer): Promise<net.Socket> {
  const server = net.createServer({ pauseOnConnect: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const got = once(server, 'connection')
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  t.teardown(() => client.destroy())
  client.write(bytes)
  const [socket] = await got as [net.Socket]
  t.teardown(() => socket.destroy())
  return socket
}

t.test('readProxyHeader passes the TLVs of a trusted header on; the stream after it is untouched', async t => {
  const header = encodeProxyV2({ src: { address: '192.0.2.7', port: 40000 }, dst: { address: '127.0.0.1', port: 3270 }, tlvs: [customTlv(0xe0, SNAPSHOT)] })
  const socket = await accepted(t, Buffer.concat([header, Buffer.from([0xff, 0xfa])]))
  socket.resume()
  const id = await readProxyHeader(socket, { mode: 'required', trustedSources: ['127.0.0.0/8'] }, 2000)
  t.same(id, { client: '192.0.2.7:40000', address: '192.0.2.7', proxied: true, tlvs: [{ type: 0xe0, value: SNAPSHOT }] })
  const next = once(socket, 'data')
  socket.resume()
  t.same((await next)[0], Buffer.from([0xff, 0xfa]), 'the client bytes after the header are read next')
})

t.test('a header with TLVs from an untrusted sender is refused, TLVs and all', async t => {
  const header = encodeProxyV2({ src: { address: '192.0.2.7', port: 40000 }, dst: { address: '127.0.0.1', port: 3270 }, tlvs: [customTlv(0xe0, SNAPSHOT)] })
  const socket = await accepted(t, header)
  socket.resume()
  await t.rejects(readProxyHeader(socket, { mode: 'optional', trustedSources: ['10.0.0.0/8'] }, 2000), { code: ErrorCodes.PROXY_HEADER_UNTRUSTED })
})

t.test('no header: no TLVs', async t => {
  const off = await accepted(t, Buffer.from([0xff, 0xfb, 0x28]))
  t.same(await readProxyHeader(off, { mode: 'off', trustedSources: [] }, 2000), { client: `127.0.0.1:${off.remotePort!}`, address: '127.0.0.1', proxied: false, tlvs: [] })
  const direct = await accepted(t, Buffer.from([0xff, 0xfb, 0x28]))
  direct.resume()
  t.match(await readProxyHeader(direct, { mode: 'optional', trustedSources: ['127.0.0.0/8'] }, 2000), { proxied: false, tlvs: [] })
})
