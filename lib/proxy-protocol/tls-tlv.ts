// The client's TLS facts in PROXY v2 TLVs, written by a TLS-terminating front proxy and read by
// a gateway (HAProxy doc/proxy-protocol.txt §2.2.6, "The PP2_TYPE_SSL type and subtypes"):
//
//   PP2_TYPE_SSL 0x20:  client (1 byte: PP2_CLIENT_SSL 0x01, PP2_CLIENT_CERT_CONN 0x02,
//                       PP2_CLIENT_CERT_SESS 0x04), verify (4 bytes, network order: 0 when
//                       the client presented a certificate and it verified, else non-zero),
//                       then sub-TLVs:
//     PP2_SUBTYPE_SSL_VERSION 0x21  US-ASCII protocol, e.g. "TLSv1.3"
//     PP2_SUBTYPE_SSL_CN      0x22  UTF-8 common name of the client certificate's subject
//     PP2_SUBTYPE_SSL_CIPHER  0x23  US-ASCII cipher name, e.g. "TLS_AES_256_GCM_SHA384"
//
// and, in the range 0xE0–0xEF that §2.2.8 "Reserved type ranges" leaves to applications (0xE0 carries a
// negotiation hand-over, docs/tn3270.md):
//
//   0xE1  UTF-8 subject DN of the client certificate, RFC 4514 order (most specific RDN first)
//   0xE2  UTF-8 subject alternative names, one per line: "DNS:x", "IP:a.b.c.d", "email:x", "URI:x"
//
// A proxy whose listener terminates TLS sends PP2_TYPE_SSL for every client, with
// PP2_CLIENT_SSL clear for one that stayed in plain telnet, so a gateway can tell "no TLS" from
// "this proxy does not say". A gateway believes these only from its trusted sources.
import { ErrorCodes, lbError } from '../errors.js'
import type { ProxyTlv } from './codec.js'
import { findTlv } from './tlv.js'

export const PP2_TYPE_SSL = 0x20
export const PP2_SUBTYPE_SSL_VERSION = 0x21
export const PP2_SUBTYPE_SSL_CN = 0x22
export const PP2_SUBTYPE_SSL_CIPHER = 0x23
export const PP2_CLIENT_SSL = 0x01
export const PP2_CLIENT_CERT_CONN = 0x02
export const PP2_CLIENT_CERT_SESS = 0x04
/** Custom TLVs (§2.2.8 PP2_TYPE_MIN_CUSTOM..MAX_CUSTOM) for what §2.2.6 has no subtype for. */
export const PP2_TYPE_CLIENT_SUBJECT = 0xe1
export const PP2_TYPE_CLIENT_SANS = 0xe2

/** The client's TLS facts as they cross from proxy to gateway. */
export interface ClientTlsFacts {
  /** The client spoke TLS to the proxy (PP2_CLIENT_SSL). */
  tls: boolean
  /** It presented a certificate on this connection (PP2_CLIENT_CERT_CONN). */
  certificate: boolean
  /** That certificate verified (verify field 0). */
  verified: boolean
  protocol?: string
  cipher?: string
  cn?: string
  subject?: string
  sans?: string[]
}

/** PP2_TYPE_SSL with its sub-TLVs, then the custom subject and SAN TLVs when there is a certificate. */
export function encodeClientTls (facts: ClientTlsFacts): ProxyTlv[] {
  const head = Buffer.alloc(5)
  head[0] = (facts.tls ? PP2_CLIENT_SSL : 0) | (facts.certificate ? PP2_CLIENT_CERT_CONN : 0)
  head.writeUInt32BE(facts.certificate && facts.verified ? 0 : 1, 1)
  const subs: ProxyTlv[] = []
  if (facts.tls && facts.protocol !== undefined) subs.push({ type: PP2_SUBTYPE_SSL_VERSION, value: Buffer.from(facts.protocol, 'ascii') })
  if (facts.cn !== undefined) subs.push({ type: PP2_SUBTYPE_SSL_CN, value: Buffer.from(facts.cn, 'utf8') })
  if (facts.tls && facts.cipher !== undefined) subs.push({ type: PP2_SUBTYPE_SSL_CIPHER, value: Buffer.from(facts.cipher, 'ascii') })
  const out: ProxyTlv[] = [{ type: PP2_TYPE_SSL, value: Buffer.concat([head, ...subs.map(tlvBytes)]) }]
  if (facts.subject !== undefined) out.push({ type: PP2_TYPE_CLIENT_SUBJECT, value: Buffer.from(facts.subject, 'utf8') })
  if (facts.sans !== undefined && facts.sans.length > 0) out.push({ type: PP2_TYPE_CLIENT_SANS, value: Buffer.from(facts.sans.join('\n'), 'utf8') })
  return out
}

/** The client's TLS facts, or undefined when the header has no PP2_TYPE_SSL; throws PROXY_HEADER when it is malformed. */
export function decodeClientTls (tlvs: readonly ProxyTlv[]): ClientTlsFacts | undefined {
  const ssl = findTlv(tlvs, PP2_TYPE_SSL)
  if (ssl === undefined) return undefined
  if (ssl.length < 5) throw lbError(ErrorCodes.PROXY_HEADER, `PROXY header: PP2_TYPE_SSL of ${ssl.length} bytes, expected at least 5 (client, verify)`)
  const client = ssl[0]!
  const certificate = (client & (PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS)) !== 0
  const facts: ClientTlsFacts = { tls: (client & PP2_CLIENT_SSL) !== 0, certificate, verified: certificate && ssl.readUInt32BE(1) === 0 }
  for (const sub of subTlvs(ssl.subarray(5))) {
    if (sub.type === PP2_SUBTYPE_SSL_VERSION) facts.protocol = sub.value.toString('ascii')
    else if (sub.type === PP2_SUBTYPE_SSL_CN) facts.cn = sub.value.toString('utf8')
    else if (sub.type === PP2_SUBTYPE_SSL_CIPHER) facts.cipher = sub.value.toString('ascii')
  }
  const subject = findTlv(tlvs, PP2_TYPE_CLIENT_SUBJECT)
  if (subject !== undefined) facts.subject = subject.toString('utf8')
  const sans = findTlv(tlvs, PP2_TYPE_CLIENT_SANS)
  if (sans !== undefined) facts.sans = sans.toString('utf8').split('\n').filter(s => s !== '')
  return facts
}

function tlvBytes (tlv: ProxyTlv): Buffer {
  const head = Buffer.alloc(3)
  head[0] = tlv.type
  head.writeUInt16BE(tlv.value.length, 1)
  return Buffer.concat([head, tlv.value])
}

/** §2.2.6: the sub-TLVs of PP2_TYPE_SSL use the TLV layout of §2.2. */
function subTlvs (buf: Buffer): ProxyTlv[] {
  const out: ProxyTlv[] = []
  let off = 0
  while (off < buf.length) {
    if (buf.length - off < 3) throw lbError(ErrorCodes.PROXY_HEADER, `PROXY header: truncated PP2_TYPE_SSL sub-TLV at offset ${off}`)
    const len = buf.readUInt16BE(off + 1)
    if (off + 3 + len > buf.length) throw lbError(ErrorCodes.PROXY_HEADER, `PROXY header: PP2_TYPE_SSL sub-TLV 0x${buf[off]!.toString(16)} runs past its end`)
    out.push({ type: buf[off]!, value: buf.subarray(off + 3, off + 3 + len) })
    off += 3 + len
  }
  return out
}
