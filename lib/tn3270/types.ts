// The contract between the TN3270 server engine and whoever hands out LUs (docs/internals.md §tn3270/,
// docs/tn3270.md), and the hand-over a front proxy decides instead (docs/routing.md).
import type { Socket } from 'node:net'
import type { Logger } from '../observability/index.js'
import type { Clock } from '../clock.js'
import type { RejectReason } from './constants.js'
import type { NegotiationSnapshot } from './snapshot.js'

export type { RejectReason }

export interface DeviceRequest {
  mode: 'tn3270e' | 'tn3270'
  /** As the client sent it (TN3270E DEVICE-TYPE or TTYPE without @NAME), upper-cased. */
  deviceType: string
  /** TN3270E CONNECT name or TTYPE `@NAME`; undefined = generic. */
  resourceName?: string
  /** TN3270E ASSOCIATE (printer to display LU). */
  associate?: string
  /** address:port, for logs. */
  client: string
}

export type DeviceDecision =
  /** `printer`: the LU is a printer of LU type 1 (SCS) or 3 (3270 data stream); absent = a display. */
  | { ok: true, lu: string, lease: LuLease, bindImage: boolean, printer?: 'lu1' | 'lu3' }
  | { ok: false, reason: RejectReason, message: string }

export interface LuLease { readonly lu: string, readonly pool: string, release: () => void }

/** What the negotiator knows about a device request beyond its fields. */
export interface AllocationContext {
  /** The negotiation stopped at this request, for a hand-over to another process (negotiateServer `resume`). */
  readonly snapshot: NegotiationSnapshot
  /** Aborted when the client leaves (close, timeout, fallback) before the decision is in. */
  readonly signal: AbortSignal
}

export interface ResourceProvider {
  /**
   * A gateway answers synchronously (choice and hand-out are atomic). A front proxy may answer
   * with a promise: the client is held at its request meanwhile, and a lease granted after the
   * client left is released by the negotiator.
   */
  allocate: (req: DeviceRequest, ctx: AllocationContext) => DeviceDecision | PromiseLike<DeviceDecision>
}

/**
 * A front proxy's answer: another server continues this negotiation from `ctx.snapshot`. The
 * negotiator answers nothing, closes nothing, and hands the socket over (HandedOver).
 */
export interface HandOverDecision { readonly handedOver: true }

/** What a front proxy's provider may answer: an LU of its own, a refusal, or a hand-over. */
export type FrontDecision = DeviceDecision | HandOverDecision

export interface HandOverProvider {
  allocate: (req: DeviceRequest, ctx: AllocationContext) => FrontDecision | PromiseLike<FrontDecision>
}

/** The outcome of a negotiation handed over: the raw client socket, paused, and what it sent since. */
export interface HandedOver {
  readonly handedOver: true
  readonly socket: Socket
  /** Bytes the client sent after its request, exactly as received: the next bytes of its stream. */
  readonly rest: Buffer
}

export function isHandOver (d: FrontDecision): d is HandOverDecision {
  return (d as { handedOver?: unknown }).handedOver === true
}

/** A device request refused during negotiation, by the engine or by the provider (for metrics). */
export interface RejectInfo {
  mode: 'tn3270e' | 'tn3270'
  deviceType: string
  resourceName?: string
  reason: RejectReason
  message: string
  client: string
}

export interface NegotiateOptions<P extends ResourceProvider | HandOverProvider = ResourceProvider> {
  provider: P
  logger?: Logger
  /**
   * Bindings for the negotiation's logger besides `client` (e.g. the listener), bound in the same
   * child logger: one child per connection rather than a chain of two, each of which an idle
   * session would keep (docs/internals.md).
   */
  logBindings?: Record<string, unknown>
  /** Negotiation deadline in ms (default 10 000). */
  timeout?: number
  /** Offer TN3270E (default true); false = traditional TN3270 only (RFC 1576). */
  tn3270e?: boolean
  /** Largest subnegotiation body (default 1 KiB). */
  maxSubneg?: number
  /** Largest inbound record (default 64 KiB). */
  maxRecord?: number
  /** Client identity for logs and DeviceRequest.client; default the socket's remote address:port (pass the PROXY v2 source here). */
  client?: string
  clock?: Clock
  /** Called for every REJECT (TN3270E) or refused TTYPE (TN3270), e.g. to count device_type_rejects_total{reason}. */
  onReject?: (info: RejectInfo) => void
  /** Grace period for a graceful close before the socket is destroyed (ms, default 2000). */
  closeGraceMs?: number
  /**
   * Continue a negotiation another process began on this byte stream (docs/tn3270.md): nothing
   * is sent first; the snapshot's device request is handled as if it had just arrived.
   */
  resume?: NegotiationSnapshot
}
