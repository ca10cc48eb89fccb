// PROXY protocol v2 codec (HAProxy doc/proxy-protocol.txt §2.2). The proxy encodes; the gateway
// parses. Pure: no sockets, no clock.
import { ErrorCodes, lbError } from '../errors.js'
import { formatIpv6, parseIp, v4Mapped, writeIpv4 } from './address.js'

/** §2.2: the 12-byte v2 signature. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
/** §2.2: signature (12) + version/command (1) + family/transport (1) + length (2). */
export const PROXY_V2_FIXED_LENGTH = 16
/** §2.1: a v1 line starts with "PROXY " (only detected here, to say so clearly). */
const V1_PREFIX = Buffer.from('PROXY', 'latin1')

export interface ProxyEndpoint { address: string, port: number }
export interface ProxyTlv { type: number, value: Buffer }

export type ProxyHeader =
  /** §2.2 command 0x0 LOCAL: health check or the sender's own connection; use the real socket addresses. */
  | { command: 'local', tlvs: ProxyTlv[] }
  /** §2.2 command 0x1 PROXY with family UNSPEC: addresses unknown; the receiver may use the real ones. */
  | { command: 'proxy', family: 'unspec', transport: Transport, tlvs: ProxyTlv[] }
  | { command: 'proxy', family: 'inet' | 'inet6' | 'unix', transport: Transport, src: ProxyEndpoint, dst: ProxyEndpoint, tlvs: ProxyTlv[] }

export type Transport = 'unspec' | 'stream' | 'dgram'

export type ParseResult =
  | { needMore: true }
  | { needMore?: undefined, consumed: number, header: ProxyHeader }

export type EncodeInput =
  | { local: true, tlvs?: ProxyTlv[] }
  | { local?: false, src: ProxyEndpoint, dst: ProxyEndpoint, tlvs?: ProxyTlv[] }

// ---------------------------------------------------------------------------------- encode

/**
 * Builds a v2 header (§2.2). `{ local: true }` gives a LOCAL header (§2.2 command 0x0, family
 * UNSPEC, no addresses). Otherwise src and dst must both be IPv4 (IPv4-mapped IPv6 counts as IPv4)
 * or both IPv6; a mix is sent as IPv6 with the IPv4 side mapped (::ffff:a.b.c.d).
 */
export function encodeProxyV2 (input: EncodeInput): Buffer {
  if (input.local !== true) {
    const quick = encodeInet(input.src, input.dst, input.tlvs ?? [])
    if (quick !== undefined) return quick
  }
  const tlvBytes = encodeTlvs(input.tlvs ?? [])
  if (input.local === true) {
    // §2.2: version 2 (high nibble 0x2) | command LOCAL (0x0); family/transport UNSPEC (0x00).
    return assemble(0x20, 0x00, Buffer.alloc(0), tlvBytes)
  }
  const src = endpointBytes(input.src, 'src')
  const dst = endpointBytes(input.dst, 'dst')
  const family: 4 | 6 = src.v4 !== undefined && dst.v4 !== undefined ? 4 : 6
  const srcAddr = family === 4 ? src.v4! : src.v6
  const dstAddr = family === 4 ? dst.v4! : dst.v6
  // §2.2 address block for TCP: src_addr, dst_addr, src_port, dst_port (network byte order).
  const block = Buffer.alloc(srcAddr.length * 2 + 4)
  srcAddr.copy(block, 0)
  dstAddr.copy(block, srcAddr.length)
  block.writeUInt16BE(input.src.port, srcAddr.length * 2)
  block.writeUInt16BE(input.dst.port, srcAddr.length * 2 + 2)
  // §2.2: 0x21 = version 2, command PROXY; 0x11 = AF_INET + STREAM, 0x21 = AF_INET6 + STREAM.
  return assemble(0x21, family === 4 ? 0x11 : 0x21, block, tlvBytes)
}

/** §2.2 fixed part with version 2, command PROXY, AF_INET + STREAM and `len` bytes following. */
const INET_HEAD = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11])])

/**
 * The common case in one allocation: both ends dotted-quad IPv4 text (as Node reports an IPv4
 * client). Undefined for anything else, which the general path encodes (or rejects).
 */
function encodeInet (src: ProxyEndpoint, dst: ProxyEndpoint, tlvs: readonly ProxyTlv[]): Buffer | undefined {
  if (!validPort(src.port) || !validPort(dst.port)) return undefined
  let tlvLength = 0
  for (const tlv of tlvs) {
    if (!Number.isInteger(tlv.type) || tlv.type < 0 || tlv.type > 255 || tlv.value.length > 0xffff) return undefined
    tlvLength += 3 + tlv.value.length
  }
  const len = 12 + tlvLength
  if (len > 0xffff) return undefined
  const out = Buffer.allocUnsafe(PROXY_V2_FIXED_LENGTH + len)
  INET_HEAD.copy(out, 0)
  out.writeUInt16BE(len, 14)
  // §2.2 address block for TCP over IPv4: src_addr, dst_addr, src_port, dst_port (network order).
  if (!writeIpv4(src.address, out, 16) || !writeIpv4(dst.address, out, 20)) return undefined
  out.writeUInt16BE(src.port, 24)
  out.writeUInt16BE(dst.port, 26)
  let at = 28
  for (const tlv of tlvs) {
    out[at] = tlv.type
    out.writeUInt16BE(tlv.value.length, at + 1)
    out.set(tlv.value, at + 3)
    at += 3 + tlv.value.length
  }
  return out
}

function validPort (port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535
}

function endpointBytes (ep: ProxyEndpoint, which: string): { family: 4 | 6, v4?: Buffer, v6: Buffer } {
  if (!Number.isInteger(ep.port) || ep.port < 0 || ep.port > 65535) {
    throw lbError(ErrorCodes.PROXY_HEADER, `PROXY v2 encode: ${which} port ${String(ep.port)} is not 0-65535`)
  }
  const ip = parseIp(ep.address)
  if (ip === undefined) throw lbError(ErrorCodes.PROXY_HEADER, `PROXY v2 encode: ${which} address ${JSON.stringify(ep.address)} is not an IP address`)
  if (ip.family === 4) {
    const v6 = Buffer.alloc(16)
    v6[10] = 0xff; v6[11] = 0xff
    ip.bytes.copy(v6, 12)
    return { family: 4, v4: ip.bytes, v6 }
  }
  const mapped = v4Mapped(ip.bytes)
  return mapped === undefined ? { family: 6, v6: ip.bytes } : { family: 4, v4: Buffer.from(mapped), v6: ip.bytes }
}

function encodeTlvs (tlvs: ProxyTlv[]): Buffer {
  // §2.2.x TLV: type (1 byte), length (2 bytes, network order), value.
  const parts: Buffer[] = []
  for (const tlv of tlvs) {
    if (!Number.isInteger(tlv.type) || tlv.type < 0 || tlv.type > 255) {
      throw lbError(ErrorCodes.PROXY_HEADER, `PROXY v2 encode: TLV type ${tlv.type} is not 0-255`)
    }
    if (tlv.value.length > 0xffff) throw lbError(ErrorCodes.PROXY_HEADER, `PROXY v2 encode: TLV ${tlv.type} value longer than 65535 bytes`)
    const head = Buffer.alloc(3)
    head[0] = tlv.type
    head.writeUInt16BE(tlv.value.length, 1)
    parts.push(head, tlv.value)
  }
  return Buffer.concat(parts)
}

function assemble (verCmd: number, fam: number, addresses: Buffer, tlvs: Buffer): Buffer {
  const len = addresses.length + tlvs.length
  if (len > 0xffff) throw lbError(ErrorCodes.PROXY_HEADER, `PROXY v2 encode: header body of ${len} bytes exceeds 65535`)
  const head = Buffer.alloc(PROXY_V2_FIXED_LENGTH)
  PROXY_V2_SIGNATURE.copy(head, 0)
  head[12] = verCmd
  head[13] = fam
  head.writeUInt16BE(len, 14) // §2.2: number of bytes following the 16-byte fixed part
  return Buffer.concat([head, addresses, tlvs])
}

// ---------------------------------------------------------------------------------- parse

/** §2.2 address block sizes per family: INET 12, INET6 36, UNIX 216. */
const ADDRESS_LENGTH = { inet: 12, inet6: 36, unix: 216 } as const
const FAMILIES = ['unspec', 'inet', 'inet6', 'unix'] as const
const TRANSPORTS = ['unspec', 'stream', 'dgram'] as const

function headerError (message: string): Error {
  return lbError(ErrorCodes.PROXY_HEADER, `PROXY header: ${message}`)
}

/**
 * Parses a PROXY v2 header at the start of `buf`. Returns `{ needMore: true }` while `buf` is a
 * proper prefix of a header; `{ consumed, header }` once whole (bytes after `consumed` belong to
 * the client stream). Throws PROXY_HEADER_MISSING when the bytes are not a PROXY header at all,
 * PROXY_HEADER for a v1 text header or a malformed v2 one (signature, version, command, family,
 * transport, lengths, TLVs).
 */
export function parseProxyHeader (buf: Buffer): ParseResult {
  const sigLen = Math.min(buf.length, PROXY_V2_SIGNATURE.length)
  if (!buf.subarray(0, sigLen).equals(PROXY_V2_SIGNATURE.subarray(0, sigLen))) {
    const v1Len = Math.min(buf.length, V1_PREFIX.length)
    if (v1Len > 0 && buf.subarray(0, v1Len).equals(V1_PREFIX.subarray(0, v1Len))) {
      if (v1Len < V1_PREFIX.length) return { needMore: true }
      throw headerError('PROXY protocol v1 (text) header received; only v2 (binary) is accepted')
    }
    if (buf.length >= 1 && buf[0] === PROXY_V2_SIGNATURE[0] && sigLen > 1) {
      throw headerError(`bad v2 signature (first ${sigLen} bytes ${buf.subarray(0, sigLen).toString('hex')})`)
    }
    throw lbError(ErrorCodes.PROXY_HEADER_MISSING, `PROXY header: missing (stream starts with 0x${buf.subarray(0, 4).toString('hex')}, not the v2 signature)`)
  }
  if (buf.length < PROXY_V2_FIXED_LENGTH) return { needMore: true }
  const version = buf[12] >> 4
  const command = buf[12] & 0x0f
  if (version !== 2) throw headerError(`version ${version} in byte 13, expected 2`)
  if (command > 1) throw headerError(`command 0x${command.toString(16)} in byte 13, expected 0 (LOCAL) or 1 (PROXY)`)
  const familyCode = buf[13] >> 4
  const transportCode = buf[13] & 0x0f
  if (familyCode >= FAMILIES.length) throw headerError(`address family 0x${familyCode.toString(16)} in byte 14, expected 0-3`)
  if (transportCode >= TRANSPORTS.length) throw headerError(`transport 0x${transportCode.toString(16)} in byte 14, expected 0-2`)
  const len = buf.readUInt16BE(14)
  const total = PROXY_V2_FIXED_LENGTH + len
  if (buf.length < total) return { needMore: true }
  const body = buf.subarray(PROXY_V2_FIXED_LENGTH, total)
  const family = FAMILIES[familyCode]
  const transport = TRANSPORTS[transportCode]

  if (command === 0) {
    // §2.2 LOCAL: the receiver must ignore the address information; skip the block if any.
    const skip = family === 'unspec' ? len : ADDRESS_LENGTH[family]
    if (skip > len) throw headerError(`length ${len} shorter than the ${family} address block (${skip})`)
    return { consumed: total, header: { command: 'local', tlvs: family === 'unspec' ? [] : parseTlvs(body.subarray(skip)) } }
  }
  if (family === 'unspec') {
    return { consumed: total, header: { command: 'proxy', family, transport, tlvs: [] } }
  }
  const need = ADDRESS_LENGTH[family]
  if (len < need) throw headerError(`length ${len} shorter than the ${family} address block (${need} bytes)`)
  let src: ProxyEndpoint
  let dst: ProxyEndpoint
  if (family === 'inet') {
    // §2.2: 4-byte src_addr, 4-byte dst_addr, 2-byte src_port, 2-byte dst_port.
    src = { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) }
    dst = { address: [...body.subarray(4, 8)].join('.'), port: body.readUInt16BE(10) }
  } else if (family === 'inet6') {
    // §2.2: 16-byte src_addr, 16-byte dst_addr, 2-byte src_port, 2-byte dst_port.
    src = { address: formatIpv6(body.subarray(0, 16)), port: body.readUInt16BE(32) }
    dst = { address: formatIpv6(body.subarray(16, 32)), port: body.readUInt16BE(34) }
  } else {
    // §2.2: 108-byte NUL-padded src path, 108-byte dst path; no ports.
    const path = (b: Buffer) => { const end = b.indexOf(0); return b.subarray(0, end === -1 ? b.length : end).toString('utf8') }
    src = { address: path(body.subarray(0, 108)), port: 0 }
    dst = { address: path(body.subarray(108, 216)), port: 0 }
  }
  return { consumed: total, header: { command: 'proxy', family, transport, src, dst, tlvs: parseTlvs(body.subarray(need)) } }
}

function parseTlvs (buf: Buffer): ProxyTlv[] {
  const out: ProxyTlv[] = []
  let off = 0
  while (off < buf.length) {
    if (buf.length - off < 3) throw headerError(`truncated TLV header at offset ${off} of ${buf.length} TLV bytes`)
    const type = buf[off]
    const len = buf.readUInt16BE(off + 1)
    if (off + 3 + len > buf.length) throw headerError(`TLV type 0x${type.toString(16)} length ${len} runs past the header end`)
    out.push({ type, value: Buffer.from(buf.subarray(off + 3, off + 3 + len)) })
    off += 3 + len
  }
  return out
}

// ---------------------------------------------------------------------------------- CIDR
