// What the gateway needs from a host, whatever the link type: LU activation state flows into
// the LuRegistry, and a negotiated client session is handed over to be served on its LU.
// What differs between link types is said by capabilities (`bindImage`, `lu62`), never by
// asking which class a host side is (docs/internals.md, gateway/).
import type { EventEmitter } from 'node:events'
import type { Clock } from '../clock.js'
import type { GatewayConfig } from '../config/index.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import type { Tn3270ServerSession } from '../tn3270/index.js'
import type { Lease, LuDefinition, LuRegistry } from './lu-pool.js'
import type { SessionActivity } from './session-record.js'

/** What every host side is built with. */
/** How much /status lists (docs/operations.md, "Admin API"). */
export interface StatusDetail { allLus?: boolean }

export interface HostSideContext {
  config: GatewayConfig
  lus: LuRegistry
  metrics: GatewayMetrics
  /** Child logger carrying the host name. */
  logger: Logger
  /** Default: the system clock. */
  clock?: Clock
}

export interface ClientBinding {
  session: Tn3270ServerSession
  lease: Lease
  lu: LuDefinition
  /** Child logger carrying client, lu, pool. */
  logger: Logger
  /** Called exactly once when the client side is finished and the LU may be cleaned. */
  onEnd: (reason: string) => void
  /** Counts for GET /v1/sessions and the audit record (the client leg and the host side fill it). */
  activity?: SessionActivity
}

/** The APPC engine's side of an sna link: it receives ODAI = 1 PIUs and is told of link changes. */
export interface Lu62Attachment {
  receive: (piu: Buffer) => void
  linkUp: () => void
  linkDown: () => void
}

/**
 * A host link that can carry LU 6.2 sessions (sna links: FID2 PIUs with ODAI = 1, "SNA Formats",
 * GA27-3136). The APPC engine sends through it and attaches to what arrives.
 */
export interface Lu62Port {
  send: (piu: Buffer) => boolean
  attach: (attachment: Lu62Attachment) => void
}

export interface HostSideEvents {
  /** The link is up and the host has activated its LUs (sna: ACTPU and every ACTLU): they can be handed out. */
  up: []
  /** The link went down (reason for logs). */
  down: [string]
}

/**
 * Where a dependent LU is on an sna host: its PU (1 = the host's first) and its local address on
 * that PU ("SNA Formats", GA27-3136: FID2 DAF'/OAF' are local to a PU's link station).
 */
export interface LuAddress { pu: number, locaddr: number }

export interface HostSide extends EventEmitter<HostSideEvents> {
  readonly name: string
  readonly type: 'sna' | 'tn3270'
  /** True while the link is up (tn3270_gateway_host_link_up). */
  readonly up: boolean
  /** Capability: sessions on this host carry BIND images to TN3270E clients (BIND-IMAGE, RFC 2355 §10.3). */
  readonly bindImage: boolean
  /** Capability: the link carries LU 6.2 traffic for the APPC engine (sna links only). */
  readonly lu62: Lu62Port | undefined
  start: () => void
  /**
   * Serves a client on the LU it was given. Resolves when the client and the LU session are
   * both finished and the LU has been cleaned as the host protocol requires, i.e. when the LU
   * may be handed to someone else.
   */
  serve: (binding: ClientBinding) => Promise<void>
  /**
   * Capability: the LUs the links offered when they were set up, by name with their PU and local
   * address (sna links: the HELLO of each PU's link, docs/hostlink.md). A reload may add only
   * these on such a host. Undefined: any LU may be added (tn3270 links ask the host per session).
   */
  readonly offered?: ReadonlyMap<string, LuAddress>
  /** A reload added LUs of this host to the registry: activate those the host can serve now. */
  adoptLus: () => void
  /** Tells every client of this host that the gateway is stopping; resolves when their sessions have ended. */
  endAll: (reason: string) => Promise<void>
  close: () => Promise<void>
  /** `allLus`: every LU (GET /status?lus=1); otherwise counts and only the LUs in use or not active. */
  status: (opts?: StatusDetail) => Record<string, unknown>
}
