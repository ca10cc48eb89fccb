// The gateway's connection pipeline. Every accepted client goes through the same stages, each a
// small function of one ClientConnection (connection.ts), and ends through the connection's one
// end path:
//
//   accept (ListenerManager: CloseListenSocket, capacity reserved, KB Q101235)
//     → proxy-header  PROXY v2 from trusted networks (HAProxy doc/proxy-protocol.txt): the real
//                     client's address and, from a TLS-terminating proxy, its TLS facts (TLVs)
//     → admission     per-client caps keyed by that real address (lib/listen/client-limits.ts)
//     → tls           the listener's `tls` (lib/tls): direct, START_TLS or optional; may replace
//                     the socket; a listener without TLS closes a TLS client with one line
//     → negotiating   TN3270E (RFC 2355 §7.1) or TN3270 (RFC 1576); the client's identity rule
//                     narrows the allocator, which allocates the LU inside, synchronously; a
//                     negotiation the front proxy handed over (identity.handover) is resumed
//     → serving       the LU's host side serves the session until it ends
//
// A new concern is one more stage here or one more field on the connection.
import type { Clock } from '../clock.js'
import type { GatewayConfig } from '../config/index.js'
import { ErrorCodes, lbError } from '../errors.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { decodeClientTls, findTlv, PP2_TYPE_TN3270_NEGOTIATION, readProxyHeader } from '../proxy-protocol/index.js'
import { screenPlainListener, type TlsEndpoint } from '../tls/index.js'
import { ClientLimits } from '../listen/index.js'
import { decodeSnapshot, negotiateServer, type NegotiationSnapshot } from '../tn3270/index.js'
import { ListenerAllocator } from './allocator.js'
import { ClientConnection, type ConnectionEndInfo, type ConnectionStage } from './connection.js'
import type { HostSide } from './host-side.js'
import { IdentityMap } from './identity-map.js'
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
  /** The TLS side of each listener that has a `tls` section, by listener name. */
  tls?: ReadonlyMap<string, TlsEndpoint>
  onConnectionEnd?: (info: ConnectionEndInfo) => void
  /** Takes each session's audit record when it ends (audit.ts). */
  audit?: (record: SessionAuditRecord) => void
}

export class ConnectionPipeline {
  readonly stages: readonly ConnectionStage[]
  private readonly opts: PipelineOptions
  private readonly live = new Map<ClientConnection, Promise<void>>()

  constructor (opts: PipelineOptions, stages?: readonly ConnectionStage[]) {
    this.opts = opts
    this.stages = stages ?? [
      proxyHeaderStage(opts.config),
      admissionStage(opts, new ClientLimits(() => ({ pending: opts.config.negotiation.maxPendingPerClient, sessions: opts.config.maxSessionsPerClient }))),
      tlsStage(opts),
      negotiateStage(opts, new IdentityMap(opts.config.identity)),
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
      onIdentityRefusal: r => {
        this.opts.logger.warn({ event: 'identity_refused', client: conn.identity.client, listener: listener.name, rule: r.rule, request: r.request, reason: r.reason, ...(conn.identity.tls?.subject === undefined ? {} : { subject: conn.identity.tls.subject }) }, 'device request outside the client\'s identity mapping refused')
      },
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
  /** Connections not serving yet (PROXY header, admission, TLS, negotiation). */
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
 * The real client's address from a PROXY v2 header, believed only from trusted networks, and the
 * TLS facts a TLS-terminating proxy put in its TLVs (doc/proxy-protocol.txt §2.2.6).
 */
export function proxyHeaderStage (config: GatewayConfig): ConnectionStage {
  return {
    phase: 'proxy-header',
    run: async conn => {
      const id = await readProxyHeader(conn.socket, conn.listener.proxyProtocol, config.negotiation.timeout)
      const handover = findTlv(id.tlvs, PP2_TYPE_TN3270_NEGOTIATION)
      conn.identity = { ...conn.identity, client: id.client, address: id.address, proxied: id.proxied, ...(handover === undefined ? {} : { handover }) }
      const facts = id.proxied ? decodeClientTls(id.tlvs) : undefined
      if (facts === undefined) return
      conn.identity.tlsReportedByProxy = true
      if (!facts.tls) return
      conn.identity.tls = {
        terminatedBy: 'proxy',
        protocol: facts.protocol ?? 'unknown',
        cipher: facts.cipher ?? 'unknown',
        certificate: facts.certificate,
        verified: facts.verified,
        sans: facts.sans ?? [],
        ...(facts.subject === undefined ? {} : { subject: facts.subject }),
        ...(facts.cn === undefined ? {} : { cn: facts.cn }),
      }
    },
  }
}

/**
 * Capacity is reserved at accept, so one client holding silent connects could keep a listener
 * closed: cap its connections still negotiating, and its connections in all, by its real
 * address (a trusted front proxy carries many clients; each counts as itself).
 */
export function admissionStage (opts: Pick<PipelineOptions, 'metrics'>, limits: ClientLimits): ConnectionStage {
  const { metrics } = opts
  return {
    phase: 'admission',
    run: conn => {
      const address = conn.identity.address
      const admitted = limits.admit(address)
      if (admitted.ok) {
        conn.clientSlot = admitted.slot
        return
      }
      metrics.clientLimitRefusals.inc({ listener: conn.listener.name, limit: admitted.limit })
      if (admitted.limit === 'pending') {
        Object.assign(conn.detail, { pending: admitted.count, limit: admitted.max })
        throw lbError(ErrorCodes.CLIENT_PENDING_LIMIT, 'too many connections from this client still negotiating')
      }
      Object.assign(conn.detail, { connections: admitted.count, limit: admitted.max })
      throw lbError(ErrorCodes.CLIENT_SESSION_LIMIT, 'too many connections from this client')
    },
  }
}

/**
 * The listener's TLS (lib/tls): the socket the next stages use becomes the TLS socket, and the
 * client's TLS facts join its identity, unless a trusted proxy already reported the client's
 * TLS (then this TLS is the proxy's own link, mutual TLS between the tiers).
 */
export function tlsStage (opts: Pick<PipelineOptions, 'tls' | 'metrics' | 'config' | 'clock'>): ConnectionStage {
  return {
    phase: 'tls',
    run: async conn => {
      const endpoint = opts.tls?.get(conn.listener.name)
      if (endpoint === undefined) {
        // The PROXY reader in optional mode already waited for a direct client's first bytes,
        // and a proxy sends the client's bytes right behind its header: one turn is enough there.
        const pp = conn.listener.proxyProtocol.mode
        const waitMs = pp === 'off' ? opts.config.negotiation.clientHelloWait : 0
        await screenPlainListener(conn.socket, { role: 'gateway', listener: conn.listener.name, metrics: opts.metrics.tls, waitMs, clock: opts.clock })
        return
      }
      const accepted = await endpoint.accept(conn.socket)
      if (!accepted.tls) return
      conn.useSocket(accepted.socket)
      if (conn.identity.tlsReportedByProxy === true) return
      conn.identity.tls = { ...accepted.identity, terminatedBy: 'gateway' }
    },
  }
}

/**
 * TN3270E or TN3270 negotiation; the LU comes from the listener's allocator inside it, narrowed
 * first to what the client's identity rule allows. A negotiation handed over by the front proxy
 * (docs/routing.md) resumes at the client's request: the answer to it is the first thing this
 * gateway writes. A snapshot that does not decode ends the connection
 * (TN3270_SNAPSHOT_MALFORMED): the proxy then tries another gateway.
 */
export function negotiateStage (opts: PipelineOptions, identity: IdentityMap): ConnectionStage {
  const { config, metrics, logger, clock } = opts
  return {
    phase: 'negotiating',
    run: async conn => {
      const resume = handedOver(conn)
      const tls = conn.identity.tls
      const allowed = identity.resolve({ address: conn.identity.address, certificate: tls?.certificate === true ? tls : undefined })
      // The allocator is the connection's until serving starts (connection.ts); read through the
      // connection, so the provider below does not keep it alive after that.
      conn.allocator!.restrict(allowed)
      if (allowed !== undefined) conn.identity.rule = allowed.rule
      const negotiation = negotiateServer(conn.socket, {
        provider: {
          allocate: req => {
            const d = conn.allocator!.allocate(req)
            if (!d.ok) metrics.deviceTypeRejects.inc({ reason: d.reason })
            // The last refusal tells RFC 2561's ConnResrceRejs (no LU) from ConnErrorRejs.
            conn.rejection = !d.ok && d.reason === 'DEVICE-IN-USE' ? 'rejected_resource' : 'rejected_error'
            return d
          },
        },
        // negotiateServer binds `client` itself, after these, in one child logger.
        logger,
        logBindings: { listener: conn.listener.name },
        timeout: config.negotiation.timeout,
        tn3270e: config.negotiation.tn3270e,
        maxRecord: config.negotiation.maxRecordSize,
        maxSubneg: config.negotiation.maxSubnegotiation,
        client: conn.identity.client,
        clock,
        ...(resume === undefined ? {} : { resume }),
      })
      // The earlier stages left the socket explicitly paused (bytes they read unshifted);
      // negotiateServer has attached its listeners synchronously, so let data flow.
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
    // Not async: the host side's promise is returned as it is, no suspended frame per session.
    run: conn => {
      const session = conn.session!
      const lease = conn.lease!
      const lu = opts.lus.lu(lease.lu)!
      return opts.hosts.get(lu.def.host)!.serve({
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
