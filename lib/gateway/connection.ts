// One accepted client connection on its way through the gateway's pipeline (pipeline.ts): an
// explicit phase, the client identity learned so far, what it holds (its slot among this
// client's connections, the capacity reserved at accept, later the LU lease), and ONE end path
// that gives all of it back, counts it and logs it, whatever phase the connection ended in.
//
//   proxy-header → admission → tls → negotiating → serving → ending → closed
//
// Metrics (docs/metrics.md): tn3270_gateway_connections_total{result} once per connection
// (accepted when it starts serving; rejected_resource / rejected_error when it ends before, the
// RFC 2561 ConnResrceRejs / ConnErrorRejs split), negotiation seconds and sessions_active while
// serving. Logs: session_start when serving starts, exactly one line when the connection ends,
// and for a session its audit record (session-record.ts) through the context's `audit`.
import type { Socket } from 'node:net'
import type { Clock } from '../clock.js'
import type { GatewayListenerConfig } from '../config/index.js'
import { errorCode, errorMessage } from '../errors.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { clientAddress, peerOf } from '../proxy-protocol/index.js'
import type { Tn3270ServerSession } from '../tn3270/index.js'
import type { ListenerAllocator } from './allocator.js'
import type { ClientSlot } from '../listen/index.js'
import type { Lease } from './lu-pool.js'
import { SessionActivity, sessionAuditRecord, sessionFacts, type SessionAuditRecord, type SessionFacts, type SessionSource, type TlsIdentity } from './session-record.js'

/** The phases a stage runs in, in pipeline order. */
export type StagePhase = 'proxy-header' | 'admission' | 'tls' | 'negotiating' | 'serving'
export type ConnectionPhase = StagePhase | 'ending' | 'closed'
export type ConnectionResult = 'accepted' | 'rejected_resource' | 'rejected_error'

/**
 * Who the client is, as far as the pipeline has learned. Stages add what they learn here (the TLS
 * stage its certificate facts, a PROXY v2 TLV a device request handed over by the proxy); later
 * stages decide from it (allowed pools, per-client caps keyed by the real client).
 */
export interface ClientIdentity {
  /** address:port of the real client: the socket's peer, or the source of a trusted PROXY v2 header. */
  client: string
  /** The real client's address alone: the key of per-client caps and identity rules. */
  address: string
  /** `client` came from a PROXY v2 header (HAProxy doc/proxy-protocol.txt). */
  proxied: boolean
  /**
   * A TN3270 negotiation the front proxy began and handed over: the negotiation snapshot from
   * the trusted PROXY v2 header's application TLV 0xE0 (docs/routing.md), still encoded; the
   * negotiate stage decodes it and resumes instead of starting afresh.
   */
  handover?: Buffer
  /**
   * The client's own TLS, where it ended: at this gateway, or at a TLS-terminating front proxy
   * that said so in PROXY v2 TLVs (doc/proxy-protocol.txt §2.2.6). Undefined = plain telnet.
   * Copied into the audit record.
   */
  tls?: TlsIdentity
  /** A trusted proxy reported the client's TLS state (PP2_TYPE_SSL): the gateway's own TLS, if any, is the proxy's link. */
  tlsReportedByProxy?: boolean
  /** The identity rule (docs/configuration.md `identity`) that decided its pools and LUs. */
  rule?: string
}

/** Handed to GatewayDeps.onConnectionEnd once per connection. */
export interface ConnectionEndInfo {
  /** The phase the connection was in when it ended. */
  phase: StagePhase
  result: ConnectionResult
  reason: string
  /** Stable error code of what ended it, when it was an error with one (lib/errors.ts). */
  code?: string
  client: string
  listener: string
  lu?: string
  pool?: string
  mode?: 'tn3270' | 'tn3270e'
  /** The session's audit record (serving only). */
  record?: SessionAuditRecord
}

/** One step of the pipeline. Throwing ends the connection in this stage's phase. */
export interface ConnectionStage {
  readonly phase: StagePhase
  run: (conn: ClientConnection) => Promise<void> | void
}

export interface ConnectionContext {
  metrics: GatewayMetrics
  logger: Logger
  clock: Clock
  onEnd?: (info: ConnectionEndInfo) => void
  /** Takes the audit record of every session that had an LU (audit.ts). */
  audit?: (record: SessionAuditRecord) => void
}

const PRE_SESSION_LINES: Record<Exclude<StagePhase, 'serving'>, { level: 'warn' | 'info', message: (reason: string) => string }> = {
  'proxy-header': { level: 'warn', message: () => 'connection rejected' },
  admission: { level: 'warn', message: reason => `connection refused: ${reason}` },
  tls: { level: 'warn', message: reason => reason },
  negotiating: { level: 'info', message: () => 'connection ended before a session started' },
}

export class ClientConnection {
  readonly listener: GatewayListenerConfig
  /**
   * Chooses the LU; holds the capacity reserved at accept (CloseListenSocket) until then. Let go
   * once serving starts: a session keeps no allocator, reservation or their callbacks
   * (idle-session memory, bench/README.md).
   */
  allocator: ListenerAllocator | undefined
  readonly acceptedAt: number
  identity: ClientIdentity
  /** This client's slot among its connections (negotiation.maxPendingPerClient, maxSessionsPerClient). */
  clientSlot: ClientSlot | undefined
  /** How an end before serving is counted: no LU for the request, or anything else. */
  rejection: Exclude<ConnectionResult, 'accepted'> = 'rejected_error'
  /** The negotiated session (negotiating stage); it owns the LU lease. */
  session: Tn3270ServerSession | undefined
  /** Extra fields for the end line (e.g. the limit that refused it). */
  readonly detail: Record<string, unknown> = {}
  /** Records each way and the host application, counted by the client leg. */
  readonly activity = new SessionActivity()
  private sessionStartedAt = 0
  private current: ConnectionPhase = 'proxy-header'
  private transport: Socket
  private sessionLog: Logger | undefined
  private endReason: string | undefined
  private failure: unknown
  private readonly ctx: ConnectionContext

  constructor (init: { socket: Socket, listener: GatewayListenerConfig, allocator: ListenerAllocator }, ctx: ConnectionContext) {
    this.listener = init.listener
    this.allocator = init.allocator
    this.ctx = ctx
    this.acceptedAt = ctx.clock.now()
    this.transport = init.socket
    this.identity = { client: peerOf(init.socket), address: clientAddress(init.socket.remoteAddress), proxied: false }
    init.socket.on('error', () => { /* reported through close and the stage that was running */ })
  }

  get phase (): ConnectionPhase { return this.current }
  get socket (): Socket { return this.transport }
  /** Logger carrying client, lu and pool once serving (the gateway's before). */
  get log (): Logger { return this.sessionLog ?? this.ctx.logger }
  get lease (): Lease | undefined { return this.session?.lease as Lease | undefined }

  /** A stage that wraps the transport (TLS) hands the socket the next stages use over here. */
  useSocket (socket: Socket): void {
    if (socket === this.transport) return
    socket.on('error', () => { /* as for the accepted socket */ })
    this.transport = socket
  }

  /** Runs the stages in order, then ends once, whichever way it went. Never rejects. */
  async run (stages: readonly ConnectionStage[]): Promise<void> {
    try {
      // An index, not for-of: the suspended frame of a serving connection keeps no array iterator.
      for (let i = 0; i < stages.length; i++) {
        const stage = stages[i]!
        if (this.endReason !== undefined) break
        this.enter(stage.phase)
        await stage.run(this)
      }
    } catch (err) {
      this.failure = err
    }
    this.finish()
  }

  /** Ends the connection from outside (shutdown): a session is closed, anything earlier dropped. */
  end (reason: string): void {
    if (this.current === 'ending' || this.current === 'closed') return
    if (this.current === 'serving' && this.session !== undefined) {
      this.session.close(reason)
      return
    }
    this.endReason ??= reason
    this.transport.destroy()
  }

  /** The host side is done with the client (ClientBinding.onEnd): the first reason is kept. */
  sessionEnded (reason: string): void { this.endReason ??= reason }

  /** The GET /v1/sessions row while serving; undefined in any other phase. */
  facts (): SessionFacts | undefined {
    return this.current === 'serving' ? sessionFacts(this.source()) : undefined
  }

  private source (): SessionSource {
    const session = this.session!
    return {
      client: this.identity.client,
      proxied: this.identity.proxied,
      tls: this.identity.tls,
      listener: this.listener.name,
      lease: this.lease!,
      session: { deviceType: session.deviceType, mode: session.mode, socket: session.socket },
      activity: this.activity,
      startedAt: this.sessionStartedAt,
    }
  }

  private enter (phase: StagePhase): void {
    this.current = phase
    // The negotiating stage resolves only with a session, so serving always has one.
    if (phase === 'serving') this.startSession(this.session!)
  }

  private startSession (session: Tn3270ServerSession): void {
    const { metrics, clock, logger } = this.ctx
    const lease = session.lease as Lease
    this.clientSlot?.settle()
    this.allocator?.dispose()
    this.allocator = undefined
    metrics.connections.inc({ listener: this.listener.name, result: 'accepted' })
    metrics.negotiationSeconds.observe((clock.now() - this.acceptedAt) / 1000)
    metrics.sessionsActive.inc({ pool: lease.pool, mode: session.mode })
    this.sessionStartedAt = clock.now()
    this.sessionLog = logger.child({ client: this.identity.client, lu: lease.lu, pool: lease.pool })
    this.sessionLog.info({ event: 'session_start', mode: session.mode, deviceType: session.deviceType, listener: this.listener.name, ...identityFields(this.identity) }, 'client session started')
  }

  /** The one end path: give back, count, log, tell — for every phase. */
  private finish (): void {
    const phase = this.current as StagePhase
    this.current = 'ending'
    this.clientSlot?.release()
    this.allocator?.dispose()
    // Until negotiation starts the pipeline owns the socket; from then on the telnet layer closes
    // it (gracefully, with its own grace period).
    if (phase !== 'negotiating' && phase !== 'serving') this.transport.destroy()
    const info = phase === 'serving' ? this.endSession() : this.endEarly(phase)
    this.current = 'closed'
    try {
      this.ctx.onEnd?.(info)
    } catch (err) {
      this.ctx.logger.error({ err: errorMessage(err) }, 'onConnectionEnd hook failed')
    }
  }

  private endSession (): ConnectionEndInfo {
    const session = this.session!
    const lease = this.lease!
    const reason = this.endReason ?? (this.failure === undefined ? 'ended' : `gateway error: ${errorMessage(this.failure)}`)
    if (this.failure !== undefined) this.ctx.logger.error({ err: this.failure, client: this.identity.client }, 'connection handler failed')
    // Host sides close the client before they resolve; one that failed may not have.
    if (!session.closed) session.close(reason)
    this.ctx.metrics.sessionsActive.dec({ pool: lease.pool, mode: session.mode })
    lease.release()
    this.log.info({ event: 'session_end', reason }, 'client session ended')
    const record = sessionAuditRecord(this.source(), this.ctx.clock.now(), reason)
    try {
      this.ctx.audit?.(record)
    } catch (err) {
      this.ctx.logger.error({ err: errorMessage(err) }, 'audit record could not be written')
    }
    return { phase: 'serving', result: 'accepted', reason, client: this.identity.client, listener: this.listener.name, lu: lease.lu, pool: lease.pool, mode: session.mode, record }
  }

  private endEarly (phase: Exclude<StagePhase, 'serving'>): ConnectionEndInfo {
    const result = this.rejection
    const reason = this.endReason ?? (this.failure === undefined ? 'ended' : errorMessage(this.failure))
    const code = this.endReason === undefined ? errorCode(this.failure) : undefined
    this.ctx.metrics.connections.inc({ listener: this.listener.name, result })
    const line = PRE_SESSION_LINES[phase]
    const fields = { client: this.identity.client, listener: this.listener.name, event: 'connection_end', phase, result, reason, ...(code === undefined ? {} : { code }), ...this.detail }
    this.ctx.logger[line.level](fields, line.message(reason))
    return { phase, result, reason, ...(code === undefined ? {} : { code }), client: this.identity.client, listener: this.listener.name }
  }
}

/** Who the client is, for the session-start line: its TLS (and whose), certificate subject, identity rule. */
function identityFields (id: ClientIdentity): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (id.tls !== undefined) {
    out.tls = id.tls.protocol
    out.tlsBy = id.tls.terminatedBy
    if (id.tls.subject !== undefined) out.subject = id.tls.subject
    if (id.tls.certificate) out.certVerified = id.tls.verified
  }
  if (id.rule !== undefined) out.rule = id.rule
  return out
}
