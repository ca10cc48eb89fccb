// lib/tls: TLS on the client legs of gateway and proxy listeners (docs/operations.md "TLS"):
// direct TLS, TELNET START_TLS (draft-altman-telnet-starttls-02), detection of a ClientHello,
// server credentials reloaded on change, and the client's TLS identity.
export { TlsEndpoint, screenPlainListener, type TlsListenerSettings, type TlsEndpointDeps, type HandshakeResult } from './endpoint.js'
export { acceptTls, refuseTlsOnPlain, type TlsAccepted, type TlsAcceptOptions, type TlsMode } from './accept.js'
export { ServerCredentials, type CertificateFacts, type ClientAuth, type TlsCredentialSettings } from './credentials.js'
export { TlsAcceptor } from './handshake.js'
export { checkClientHello, type HelloCheck } from './hello.js'
export { StartTlsServer, commandLength, FOLLOWS, START_TLS_OFFER, START_TLS_FOLLOWS, type StartTlsOutcome } from './starttls.js'
export { tlsClientIdentity, certificateNames, formatDn, commonName, parseSans, type TlsClientIdentity } from './peer.js'
export { ReplayStream } from './replay.js'
export { loadClientTls, startClientTls, type TlsClientSettings, type TlsClientMaterial } from './client.js'
