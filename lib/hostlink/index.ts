// Host link transports (docs/internals.md §hostlink/): the `sna` link carries whole FID2 PIUs
// over TCP (wire format: docs/hostlink.md; PIU contents are opaque here, lib/sna); the `tn3270`
// link is a TCP or TLS connection on which lib/tn3270's client negotiation runs.
export { SnaLinkClient, type SnaLinkClientOptions, type SnaLinkClientEvents, type SnaLinkClientState } from './client.js'
export { SnaLinkServer, type SnaLinkServerOptions, type SnaLinkServerEvents } from './server.js'
export { SnaLink, linkDefaults, type SnaLinkOptions, type SnaLinkEvents, type LinkState, type DownInfo } from './link.js'
export { makeHello, validateHello, type Hello, type LuOffer, type LinkRole } from './hello.js'
export { backoffDelay } from './backoff.js'
export {
  FrameDecoder, FrameType, encodeHello, encodePiu, encodePing, encodePong, encodeBye,
  HEADER_LENGTH, PROTOCOL, PROTOCOL_VERSION, MAX_HELLO, MAX_BYE, DEFAULT_MAX_PIU,
  type Frame, type FrameTypeName, type DecodeResult,
} from './frame.js'
export {
  connectTn3270Host, isHostConnectError, screenRefusal, Tn3270HostSession,
  type Tn3270ClientOptions, type Tn3270HostSessionEvents, type HostData, type HostResponse, type HostFailureKind,
} from './tn3270-client.js'
export { probeTn3270Host, type Tn3270TlsMaterial, type Tn3270Endpoint } from './tn3270-transport.js'
