// PROXY protocol v2 (HAProxy doc/proxy-protocol.txt): the codec the proxy writes and the gateway
// reads, the CIDR check for trusted senders, reading a header off an accepted socket, and the
// TLV helpers (the application TLV that carries a TN3270 negotiation, docs/routing.md).
export { encodeProxyV2, parseProxyHeader, PROXY_V2_SIGNATURE, PROXY_V2_FIXED_LENGTH, type ProxyHeader, type ProxyEndpoint, type ProxyTlv, type ParseResult, type EncodeInput, type Transport } from './codec.js'
export { cidrMatch, parseIp, v4Mapped } from './address.js'
export { readProxyHeader, peerOf, clientAddress, OPTIONAL_HEADER_WAIT_MS, type ProxyHeaderPolicy, type ClientIdentity } from './read.js'
export { findTlv, customTlv, PP2_TYPE_MIN_CUSTOM, PP2_TYPE_MAX_CUSTOM, PP2_TYPE_TN3270_NEGOTIATION } from './tlv.js'
export {
  encodeClientTls, decodeClientTls, type ClientTlsFacts,
  PP2_TYPE_SSL, PP2_SUBTYPE_SSL_VERSION, PP2_SUBTYPE_SSL_CN, PP2_SUBTYPE_SSL_CIPHER,
  PP2_CLIENT_SSL, PP2_CLIENT_CERT_CONN, PP2_CLIENT_CERT_SESS, PP2_TYPE_CLIENT_SUBJECT, PP2_TYPE_CLIENT_SANS,
} from './tls-tlv.js'
