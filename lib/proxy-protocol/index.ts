// PROXY protocol v2 (HAProxy doc/proxy-protocol.txt): the codec the proxy writes and the gateway
// reads, the CIDR check for trusted senders, and reading a header off an accepted socket.
export { encodeProxyV2, parseProxyHeader, PROXY_V2_SIGNATURE, PROXY_V2_FIXED_LENGTH, type ProxyHeader, type ProxyEndpoint, type ProxyTlv, type ParseResult, type EncodeInput, type Transport } from './codec.js'
export { cidrMatch, parseIp } from './address.js'
export { readProxyHeader, peerOf, OPTIONAL_HEADER_WAIT_MS, type ProxyHeaderPolicy, type ClientIdentity } from './read.js'
