// The gateway's connection pipeline. Every accepted client goes through the same stages, each a
// small function of one ClientConnection (connection.ts), and ends through the connection's one
// end path:
//
//   accept (ListenerManager: CloseListenSocket, capacity reserved, KB Q101235)
//     → admission     negotiation.maxPendingPerClient, per client address
//     → proxy-header  PROXY v2 from trusted networks (HAProxy doc/proxy-protocol.txt)
//     → [tls]         next: may replace the socket and add TLS facts to the identity
//     → negotiating   TN3270E (RFC 2355 §7.1) or TN3270 (RFC 1576); the LU is allocated inside,
//                     synchronously, by the listener's ListenerAllocator; a negotiation the
//                     front proxy handed over (identity.handover) is resumed, not restarted
//     → serving       the LU's host side serves the session until it ends
//
// A new concern is one more stage here or one more field on the connection.
import type { Clock } from '../clock.js'
import type { GatewayConfig } from '../config/index.js'
import { ErrorCodes, lbError } from '../errors.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { cidrMatch, findTlv, PP2_TYPE_TN3270_NEGOTIATION, readProxyHeader } from '../proxy-protocol/index.js'
import { decodeSnapshot, negotiateServer, type NegotiationSnapshot } from '../tn3270/index.js'
import { ListenerAllocator } from './allocator.js'
import { ClientConnection, type ConnectionEndInfo, type ConnectionStage } from './connection.js'
import type { HostSide } from './host-side.js'
import type { AcceptedConnection } from './listeners.js'
import type { LuRegistry } from './lu-pool.js'
import type { SessionAuditRecord, SessionFacts } from './session-record.js'

export interface PipelineOptions {
  config: GatewayConfig
  lus: LuRegistry
  hosts: ReadonlyMap<string, HostSide>
  metrics: GatewayMetrics
  logger: Logger
  clock: Clock
  onConnectionEnd?: (info: ConnectionEndInfo) => void
  /** Takes each session's audit record when it ends (audit.ts). */
  audit?: (record: SessionAuditRecord) => void
}

/** Connections still negotiating per client key, for negotiation.maxPendingPerClient. */
export class PendingPerClient {
  private readonly counts = new Map<string, number>()

  count (key: string): number { return this.counts.get(key) ?? 0 }

  /** A slot for `key`, or undefined when it already holds `limit`. Releasing is idempotent. */
  take (key: string, limit: number): (() => void) | undefined {
    const n = this.count(key)
    if (n >= limit) return undefined
    this.counts.set(key, n + 1)
    let held = true
    return () => {
      if (!held) return
      held = false
      const left = this.count(key) - 1
      if (left <= 0) this.counts.delete(key)
      else this.counts.set(key, left)
    }
  }
}

export class ConnectionPipeline {
  readonly stages: readonly ConnectionStage[]
  private readonly opts: PipelineOptions
  private readonly live = new Map<ClientConnection, Promise<void>>()

  constructor (opts: PipelineOptions, stages?: readonly ConnectionStage[]) {
    this.opts = opts
    this.stages = stages ?? [
      admissionStage(opts.config, new PendingPerClient()),
      proxyHeaderStage(opts.config),
      // The TLS stage goes here: phase 'tls', conn.useSocket(tlsSocket), TLS facts on conn.identity.
      negotiateStage(opts),
      serveStage(opts),
    ]
  }

  /** Takes an accepted socket through the stages; the connection is tracked until it has ended. */
  accept ({ socket, listener, reservation }: AcceptedConnection): ClientConnection {
    const { lus, hosts, config } = this.opts
    const allocator = new ListenerAllocator({
      registry: lus,
      pools: listener.pools,
      ...(reservation === undefined ? {} : { reservation }),
      sendsBindImage: pool => hosts.get(config.pools.find(p => p.name === pool)!.host)!.bindImage,
    })
    const conn = new ClientConnection({ socket, listener, allocator }, {
      metrics: this.opts.metrics,
      logger: this.opts.logger,
      clock: this.opts.clock,
      ...(this.opts.onConnectionEnd === undefined ? {} : { onEnd: this.opts.onConnectionEnd }),
      ...(this.opts.audit === undefined ? {} : { audit: this.opts.audit }),
    })
    const done = conn.run(this.stages).finally(() => { this.live.delete(conn) })
    this.live.set(conn, done)
    return conn
  }

  /** Connections with a session (serving until their LU is clean). */
  get sessions (): number { return this.count(c => c.phase === 'serving') }
  /** Connections not serving yet (admission, PROXY header, negotiation). */
  get negotiating (): number { return this.count(c => c.phase !== 'serving' && c.phase !== 'ending' && c.phase !== 'closed') }

  /** The sessions being served, as GET /v1/sessions lists them. */
  sessionList (): SessionFacts[] {
    const out: SessionFacts[] = []
    for (const c of this.live.keys()) {
      const facts = c.facts()
      if (facts !== undefined) out.push(facts)
    }
    return out
  }

  /** Ends every connection, whatever its phase (shutdown without drain). */
  endAll (reason: string): void {
    for (const conn of this.live.keys()) conn.end(reason)
  }

  /** Resolves when every connection accepted so far has ended. */
  async settled (): Promise<void> {
    await Promise.all([...this.live.values()])
  }

  private count (pred: (c: ClientConnection) => boolean): number {
    let n = 0
    for (const c of this.live.keys()) if (pred(c)) n++
    return n
  }
}

/**
 * Capacity is reserved at accept, so one client holding silent connects could keep a listener
 * closed: cap its connections still negotiating. A trusted front proxy carries many clients and
 * is exempt.
 */
export function admissionStage (config: GatewayConfig, pending: PendingPerClient): ConnectionStage {
  return {
    phase: 'admission',
    run: conn => {
      const source = conn.socket.remoteAddress ?? ''
      const limit = config.negotiation.maxPendingPerClient
      const pp = conn.listener.proxyProtocol
      if (limit === 0 || (pp.mode !== 'off' && cidrMatch(source, pp.trustedSources))) return
      const slot = pending.take(source, limit)
      if (slot === undefined) {
        Object.assign(conn.detail, { pending: pending.count(source), limit })
        throw lbError(ErrorCodes.CLIENT_PENDING_LIMIT, 'too many connections from this client still negotiating')
      }
      conn.pendingSlot = slot
    },
  }
}

/** The real client's address from a PROXY v2 header, believed only from trusted networks. */
export function proxyHeaderStage (config: GatewayConfig): ConnectionStage {
  return {
    phase: 'proxy-header',
    run: async conn => {
      const id = await readProxyHeader(conn.socket, conn.listener.proxyProtocol, config.negotiation.timeout)
      const handover = findTlv(id.tlvs, PP2_TYPE_TN3270_NEGOTIATION)
      conn.identity = { ...conn.identity, client: id.client, proxied: id.proxied, ...(handover === undefined ? {} : { handover }) }
    },
  }
}

/**
 * TN3270E or TN3270 negotiation; the LU comes from the listener's allocator inside it. A
 * negotiation handed over by the front proxy (docs/routing.md) resumes at the client's request:
 * the answer to it is the first thing this gateway writes. A snapshot that does not decode
 * ends the connection (TN3270_SNAPSHOT_MALFORMED): the proxy then tries another gateway.
 */
export function negotiateStage (opts: PipelineOptions): ConnectionStage {
  const { config, metrics, logger, clock } = opts
  return {
    phase: 'negotiating',
    run: async conn => {
      const resume = handedOver(conn)
      const negotiation = negotiateServer(conn.socket, {
        provider: {
          allocate: req => {
            const d = conn.allocator.allocate(req)
            if (!d.ok) metrics.deviceTypeRejects.inc({ reason: d.reason })
            // The last refusal tells RFC 2561's ConnResrceRejs (no LU) from ConnErrorRejs.
            conn.rejection = !d.ok && d.reason === 'DEVICE-IN-USE' ? 'rejected_resource' : 'rejected_error'
            return d
          },
        },
        // negotiateServer binds `client` itself.
        logger: logger.child({ listener: conn.listener.name }),
        timeout: config.negotiation.timeout,
        tn3270e: config.negotiation.tn3270e,
        maxRecord: config.negotiation.maxRecordSize,
        maxSubneg: config.negotiation.maxSubnegotiation,
        client: conn.identity.client,
        clock,
        ...(resume === undefined ? {} : { resume }),
      })
      // The PROXY header stage left the socket explicitly paused (bytes after the header
      // unshifted); negotiateServer has attached its listeners synchronously, so let data flow.
      conn.socket.resume()
      conn.session = await negotiation
    },
  }
}

/** The negotiation snapshot the proxy handed over, if any; a bad one closes the socket (nothing else would yet). */
function handedOver (conn: ClientConnection): NegotiationSnapshot | undefined {
  if (conn.identity.handover === undefined) return undefined
  try {
    return decodeSnapshot(conn.identity.handover)
  } catch (err) {
    conn.socket.destroy()
    throw err
  }
}

/** The LU's host side serves the session; resolves once the LU is clean and may be reused. */
export function serveStage (opts: PipelineOptions): ConnectionStage {
  return {
    phase: 'serving',
    run: async conn => {
      const session = conn.session!
      const lease = conn.lease!
      const lu = opts.lus.lu(lease.lu)!
      await opts.hosts.get(lu.def.host)!.serve({
        session,
        lease,
        lu: lu.def,
        logger: conn.log,
        onEnd: reason => { conn.sessionEnded(reason) },
        activity: conn.activity,
      })
    },
  }
}
