// The front proxy's answer to a client's device request with tn3270e routing (docs/routing.md):
// a HandOverProvider for lib/tn3270's negotiateServer. It asks the pure chooser
// (balancer.chooseRoute, through BackendPool.route) for a gateway that can serve what the
// client asked for, hands the negotiation over to it (handover.ts) and, when that gateway
// refuses, closes, stalls or cannot be reached, tries the next one; the client sees none of
// it. Only when no gateway is left does the client get the answer: REJECT with the RFC 2355
// §7.1.2 reason that fits, or in TN3270 the next TERMINAL-TYPE SEND (RFC 1091). With affinity,
// a returning client address asks for its previous LU first (affinity.ts).
import type net from 'node:net'
import type { Clock } from '../clock.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import type { ProxyEndpoint, ProxyTlv } from '../proxy-protocol/index.js'
import type { TlsClientMaterial } from '../tls/index.js'
import {
  splitTerminalType,
  type AllocationContext, type DeviceRequest, type FrontDecision, type HandOverProvider, type NegotiationSnapshot, type RejectReason,
} from '../tn3270/index.js'
import type { AffinityTable } from './affinity.js'
import type { Backend } from './backend.js'
import type { RouteKind, RouteRequest } from './balancer.js'
import { handOver, healthReason, type HandoverResult } from './handover.js'
import type { BackendPool } from './pool.js'

/** The gateway that took the client, with the answer its client is owed. */
export interface Chosen {
  backend: Backend
  socket: net.Socket
  /** The gateway's answer (DEVICE-TYPE IS, DO EOR ...) and anything after it, for the client. */
  answer: Buffer
  lu?: string
  pool?: string
  kind: RouteKind
  connectMs: number
  /** Failed attempts before this one, for this client. */
  retries: number
}

export interface RouterContext {
  listener: string
  pool: BackendPool
  /** Per attempt: connect plus answer. */
  attemptTimeout: number
  keepAlive: number
  clock: Clock
  logger: Logger
  metrics: ProxyMetrics
  affinity: AffinityTable
  client: ProxyEndpoint
  local: ProxyEndpoint
  /** address:port, for logs. */
  clientText: string
  /** The client's TLS facts for the gateways (PROXY v2 TLVs), when this proxy terminated it. */
  tlvs?: readonly ProxyTlv[]
  /** TLS toward a gateway, by backend id (re-encryption). */
  backendTls?: (backend: string) => TlsClientMaterial | undefined
}

/** What a DeviceRequest asks routing for. */
export function routeRequestOf (req: DeviceRequest): RouteRequest {
  if (req.associate !== undefined) return { kind: 'associate', lu: req.associate.toUpperCase() }
  if (req.resourceName !== undefined && req.resourceName !== '') return { kind: 'name', name: req.resourceName.toUpperCase() }
  return { kind: 'generic' }
}

/** The same request naming `name` (a default pool, the LU of an affinity): CONNECT name, or `type@name` (RFC 1646 era). */
export function withResource (s: NegotiationSnapshot, name: string): NegotiationSnapshot {
  if (s.mode === 'tn3270e') return { ...s, request: { deviceType: s.request.deviceType, connect: name } }
  return { ...s, terminalType: `${splitTerminalType(s.terminalType).deviceType}@${name}` }
}

type Outcome =
  | { ok: true }
  | { ok: false, aborted: true }
  | { ok: false, aborted?: false, kind: RouteKind, reason: RejectReason, message: string }

/** A metric label for a REJECT reason: DEVICE-IN-USE → device_in_use. */
const label = (reason: RejectReason): string => reason.toLowerCase().replace(/-/g, '_')

export class Router implements HandOverProvider {
  private chosen: Chosen | undefined
  private retries = 0
  /** Requests this client was refused (REJECT / TTYPE SEND): its connection counts as refused. */
  refused = 0

  constructor (private readonly ctx: RouterContext) {}

  async allocate (req: DeviceRequest, ctx: AllocationContext): Promise<FrontDecision> {
    const request = routeRequestOf(req)
    const kind = this.ctx.pool.kindOf(request)
    if (await this.viaAffinity(request, kind, ctx)) return this.decided(kind, 'handed_over')
    const out = await this.route(request, ctx.snapshot, ctx.signal)
    if (out.ok) return this.decided(kind, 'handed_over')
    if (out.aborted === true) return this.decided(kind, 'aborted', { ok: false, reason: 'UNKNOWN-ERROR', message: 'client left' })
    this.refused++
    this.ctx.logger.info({ event: 'route_refused', listener: this.ctx.listener, client: this.ctx.clientText, kind: out.kind, request: describe(request), reason: out.reason, why: out.message }, 'no gateway can serve the request; the client is told')
    return this.decided(out.kind, label(out.reason), { ok: false, reason: out.reason, message: out.message })
  }

  /** The gateway that took the client over, once: from then on its socket is the caller's. */
  take (): Chosen | undefined {
    const c = this.chosen
    this.chosen = undefined
    return c
  }

  /** A hand-over that will not be used (the client left just as it was decided): close it, count it back. */
  discard (): void {
    const c = this.take()
    if (c === undefined) return
    c.socket.destroy()
    this.ctx.pool.sessionEnded(c.backend, true, c.pool)
  }

  private decided (kind: RouteKind, result: string, d: FrontDecision = { handedOver: true }): FrontDecision {
    this.ctx.metrics.routingDecisions.inc({ listener: this.ctx.listener, kind, result })
    return d
  }

  /** A returning client address asks for the LU it had first, if it fits what it asks for now. */
  private async viaAffinity (request: RouteRequest, kind: RouteKind, ctx: AllocationContext): Promise<boolean> {
    const { affinity, clock, client, pool } = this.ctx
    if (!affinity.enabled || !(kind === 'generic' || kind === 'pool')) return false
    const prev = affinity.recall(client.address, clock.now())
    if (prev === undefined) return false
    const want = request.kind === 'name' ? request.name : pool.routing?.defaultPool
    const offered = pool.routing?.offered
    if ((want !== undefined && prev.pool !== want) || (offered !== undefined && (prev.pool === undefined || !offered.has(prev.pool)))) return false
    const out = await this.route({ kind: 'name', name: prev.lu }, withResource(ctx.snapshot, prev.lu), ctx.signal)
    this.ctx.metrics.affinity.inc({ listener: this.ctx.listener, result: out.ok ? 'kept' : 'lost' })
    this.ctx.logger.info({ event: 'affinity', listener: this.ctx.listener, client: this.ctx.clientText, lu: prev.lu, kept: out.ok }, out.ok ? 'returning client got its previous LU' : 'returning client\'s previous LU cannot be had; routing as asked')
    return out.ok
  }

  /** Gateways in the chooser's order until one takes the request; the last gateway's REJECT reason wins over ours. */
  private async route (request: RouteRequest, snapshot: NegotiationSnapshot, signal: AbortSignal): Promise<Outcome> {
    const tried = new Set<string>()
    let told: { reason: RejectReason, message: string } | undefined
    for (;;) {
      if (signal.aborted) return { ok: false, aborted: true }
      const choice = this.ctx.pool.route(request, tried)
      if (!choice.ok) return { ok: false, kind: choice.kind, reason: told?.reason ?? choice.reason, message: told?.message ?? choice.message }
      tried.add(choice.backend.id)
      const r = await handOver({
        host: choice.backend.target.host,
        port: choice.backend.target.port,
        timeout: this.ctx.attemptTimeout,
        keepAlive: this.ctx.keepAlive,
        clock: this.ctx.clock,
        client: this.ctx.client,
        local: this.ctx.local,
        snapshot: choice.connect === undefined ? snapshot : withResource(snapshot, choice.connect),
        ...(this.ctx.tlvs === undefined ? {} : { tlvs: this.ctx.tlvs }),
        ...tlsFor(this.ctx.backendTls?.(choice.backend.id)),
        signal,
      })
      if (r.ok) {
        this.accepted(choice.backend, choice.kind, choice.pool, r)
        return { ok: true }
      }
      this.failed(choice.backend, choice.kind, choice.pool, r)
      if (r.stage === 'answer' && r.reason !== undefined) told = { reason: r.reason, message: r.message }
    }
  }

  private accepted (backend: Backend, kind: RouteKind, pool: string | undefined, r: Extract<HandoverResult, { ok: true }>): void {
    const { metrics } = this.ctx
    this.ctx.pool.connected(backend)
    metrics.backendConnectSeconds.observe(r.connectMs / 1000)
    this.chosen = {
      backend, socket: r.socket, answer: r.answer, kind, connectMs: r.connectMs, retries: this.retries,
      ...(r.lu === undefined ? {} : { lu: r.lu }),
      ...(pool === undefined ? {} : { pool }),
    }
  }

  /** Counts and logs a failed attempt; the pick is undone, a sick gateway counts toward ejection. */
  private failed (b: Backend, kind: RouteKind, pool: string | undefined, r: Exclude<HandoverResult, { ok: true }>): void {
    const { metrics, logger, listener, clientText } = this.ctx
    const p = pool === undefined ? {} : { pool }
    if (r.stage === 'aborted') { this.ctx.pool.abandoned(b, pool); return }
    this.retries++
    if (r.stage === 'connect') {
      this.ctx.pool.connectFailed(b, r.reason, r.message, p)
      logger.info({ event: 'backend_connect_failed', listener, client: clientText, backend: b.id, reason: r.reason, error: r.message }, 'backend connect failed; trying another')
      return
    }
    const reason = r.why === 'reject' && r.reason !== undefined ? label(r.reason) : r.why
    metrics.handoverRefusals.inc({ backend: b.id, reason })
    const health = healthReason(r.why)
    if (health !== undefined) this.ctx.pool.connectFailed(b, health, r.message, { ...p, metric: false })
    // DEVICE-IN-USE for a pool (or the default pool) says the pool is full there; for an LU, only that LU is taken.
    else this.ctx.pool.handoverRefused(b, pool, r.reason === 'DEVICE-IN-USE' && (kind === 'pool' || kind === 'generic'))
    logger.info({ event: 'handover_refused', listener, client: clientText, backend: b.id, reason, error: r.message }, 'gateway did not take the request; trying another')
  }
}

function describe (r: RouteRequest): string {
  return r.kind === 'generic' ? 'generic' : r.kind === 'associate' ? `ASSOCIATE ${r.lu}` : r.name
}

function tlsFor (material: TlsClientMaterial | undefined): { tls?: TlsClientMaterial } {
  return material === undefined ? {} : { tls: material }
}
