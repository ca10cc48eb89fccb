// PROXY protocol v2 (HAProxy doc/proxy-protocol.txt): the codec the proxy writes and the gateway
// reads, the CIDR check for trusted senders, reading a header off an accepted socket, and the
// TLV helpers (the application TLV that carries a TN3270 negotiation, docs/routing.md).
export { encodeProxyV2, parseProxyHeader, PROXY_V2_SIGNATURE, PROXY_V2_FIXED_LENGTH, type ProxyHeader, type ProxyEndpoint, type ProxyTlv, type ParseResult, type EncodeInput, type Transport } from './codec.js'
export { cidrMatch, parseIp } from './address.js'
export { readProxyHeader, peerOf, OPTIONAL_HEADER_WAIT_MS, type ProxyHeaderPolicy, type ClientIdentity } from './read.js'
export { findTlv, customTlv, PP2_TYPE_MIN_CUSTOM, PP2_TYPE_MAX_CUSTOM, PP2_TYPE_TN3270_NEGOTIATION } from './tlv.js'
