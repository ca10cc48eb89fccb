// What the gateway needs from a host, whatever the link type: LU activation state flows into
// the LuRegistry, and a negotiated client session is handed over to be served on its LU.
import type { Lease, LuDefinition } from './lu-pool.js'
import type { Tn3270ServerSession } from '../tn3270/index.js'
import type { Logger } from '../observability/index.js'

export interface ClientBinding {
  session: Tn3270ServerSession
  lease: Lease
  lu: LuDefinition
  /** Child logger carrying client, lu, pool. */
  logger: Logger
  /** Called exactly once when the client side is finished and the LU may be cleaned. */
  onEnd: (reason: string) => void
}

export interface HostSide {
  readonly name: string
  readonly type: 'sna' | 'tn3270'
  /** True while the link is up (tn3270_gateway_host_link_up). */
  readonly up: boolean
  /** Whether sessions on this host carry BIND images to TN3270E clients (BIND-IMAGE function). */
  readonly sendsBindImage: boolean
  start: () => void
  /**
   * Serves a client on the LU it was given. Resolves when the client and the LU session are
   * both finished and the LU has been cleaned as the host protocol requires, i.e. when the LU
   * may be handed to someone else.
   */
  serve: (binding: ClientBinding) => Promise<void>
  /** Tells every client of this host that the gateway is stopping, ends LU sessions cleanly. */
  endAll: (reason: string) => Promise<void>
  close: () => Promise<void>
  status: () => Record<string, unknown>
}
