// Host link transports (ARCHITECTURE §2, internals.md hostlink/): the `sna` link carries whole
// FID2 PIUs over TCP (wire format: docs/hostlink.md). PIU contents are opaque here (sna/).
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
export * from './tn3270-client.js'
