// The backend set of one listener: membership from discovery (static + DNS sources, applied
// without dropping sessions), one /status poller per polled backend, the balancer over snapshots,
// and a 'change' event whenever whether a client can be served may have changed — including by
// the passing of time (ejection end, status going stale; balancer.nextTransition). With tn3270e
// routing it also routes each request by pool or LU (docs/routing.md). The operator's drain /
// maint and runtime weight are HAProxy's `set server` states (doc/management.txt).
import { EventEmitter } from 'node:events'
import type { Dispatcher } from 'undici'
import type { Clock, Timer } from '../clock.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import {
  canServe, canServeRoutes, chooseBackend, chooseRoute, eligibility, kindOf, nextTransition,
  type BalancerOptions, type Eligibility, type RouteChoice, type RouteKind, type RouteOptions, type RouteRequest,
} from './balancer.js'
import { Backend, type BackendAdmin, type BackendTarget, type ConnectFailureReason } from './backend.js'
import type { EjectionPolicy } from './health.js'
import { StatusPoller } from './status-poll.js'

/** How a listener chooses: by free LUs in total (tcp), or by what the client asks for (tn3270e). */
export type RoutingMode =
  | { mode: 'tcp' }
  | { mode: 'tn3270e', offered?: ReadonlySet<string>, defaultPool?: string }

export interface PoolOptions {
  listener: string
  /** Default tcp. */
  routing?: RoutingMode
  staleAfter: number
  ejection: EjectionPolicy
  statusInterval: number
  statusTimeout: number
  dispatcher: Dispatcher
  clock: Clock
  logger: Logger
  metrics: ProxyMetrics
}

/** The settings a config reload may change (proxy `status*`, `ejection`). */
export type PoolSettings = Pick<PoolOptions, 'staleAfter' | 'ejection' | 'statusInterval' | 'statusTimeout'>

export interface BackendStatus {
  name: string
  address: string
  source: string
  /** The weight in effect (a runtime weight if one was set). */
  weight: number
  /** The configured weight. */
  configWeight: number
  /** The operator's state: ready, drain or maint (runtime API). */
  admin: BackendAdmin
  up: boolean
  /** Why it can or cannot take a new client; `drain` / `maint` when the operator said so. */
  eligibility: Eligibility | 'drain' | 'maint'
  sessions: number
  freeLus: number | null
  /** Per pool behind the gateway listener: LUs a new client can get (estimate), from the last /status. */
  pools: Array<{ name: string, free: number }> | null
  statusAgeMs: number | null
  ejectedUntil: string | null
  removed: boolean
  lastError: { at: string, message: string } | null
}

export class BackendPool extends EventEmitter<{ change: [] }> {
  private readonly backends = new Map<string, Backend>()
  private readonly pollers = new Map<string, StatusPoller>()
  private readonly sources = new Map<string, BackendTarget[]>()
  private readonly balancer: BalancerOptions
  private routes: RouteOptions | undefined
  /** The per-pool gauge series set per backend, to remove them with it. */
  private readonly poolSeries = new Map<string, Set<string>>()
  private timer: Timer | undefined
  private timerAt: number | undefined
  private closed = false

  constructor (private readonly opts: PoolOptions) {
    super()
    this.balancer = { staleAfter: opts.staleAfter }
    this.routes = routeOptions(opts.routing, opts.staleAfter)
  }

  /** Replaces the targets one discovery source contributes; others are untouched. */
  setSource (source: string, targets: BackendTarget[]): void {
    this.sources.set(source, targets)
    this.reconcileMembers()
  }

  /** A source a reload removed: its backends leave (their sessions continue). */
  removeSource (source: string): void {
    if (!this.sources.delete(source)) return
    this.reconcileMembers()
  }

  /** A reload's status timing and ejection policy; pollers restart with the new timing. */
  reconfigure (settings: PoolSettings, routing: RoutingMode | undefined = this.opts.routing): void {
    const timing = settings.statusInterval !== this.opts.statusInterval || settings.statusTimeout !== this.opts.statusTimeout
    Object.assign(this.opts, settings, { routing })
    this.balancer.staleAfter = settings.staleAfter
    this.routes = routeOptions(routing, settings.staleAfter)
    if (timing) for (const b of this.list()) if (this.pollers.has(b.id)) { this.stopPoller(b.id); this.startPoller(b) }
    this.changed()
  }

  /** The operator drains, disables (maint) or enables a backend; returns its previous state. */
  setAdmin (b: Backend, admin: BackendAdmin): BackendAdmin {
    const before = b.admin
    if (before === admin) return before
    b.admin = admin
    if (admin === 'maint') this.stopPoller(b.id)
    else if (before === 'maint' && !b.removed) this.startPoller(b)
    this.opts.logger.info({ event: `backend_${admin === 'maint' ? 'disabled' : admin === 'drain' ? 'drained' : 'enabled'}`, listener: this.opts.listener, backend: b.id, sessions: b.sessions },
      admin === 'ready' ? 'backend enabled by the operator' : `backend set to ${admin} by the operator; its sessions continue`)
    this.changed()
    return before
  }

  /** The operator sets a backend's weight (0-256) until a reload changes the configured one. */
  setWeight (b: Backend, weight: number): void {
    b.weightOverride = weight
    this.opts.logger.info({ event: 'backend_weight', listener: this.opts.listener, backend: b.id, weight, configWeight: b.target.weight }, 'backend weight set by the operator')
    this.changed()
  }

  list (): Backend[] { return [...this.backends.values()] }

  get (id: string): Backend | undefined { return this.backends.get(id) }

  /** Picks a backend for a client (counting the session at once), or undefined if none can serve. */
  choose (tried: ReadonlySet<string>): Backend | undefined {
    const now = this.opts.clock.now()
    const chosen = chooseBackend(this.list().map(b => Object.assign(b.view(), { backend: b })), tried, now, this.balancer)?.backend
    if (chosen === undefined) return undefined
    chosen.picked(now)
    this.sessionsChanged(chosen)
    return chosen
  }

  /**
   * tn3270e routing: the next gateway for a request (counting the pick at once, in its pool), or
   * the refusal the client gets when none is left (chooseRoute).
   */
  route (req: RouteRequest, tried: ReadonlySet<string>): RouteChoice<Backend> {
    const now = this.opts.clock.now()
    const choice = chooseRoute(this.list().map(b => Object.assign(b.view(), { backend: b })), req, tried, now, this.routes ?? this.balancer)
    if (!choice.ok) return choice
    const { backend: _view, ...rest } = choice
    choice.backend.backend.picked(now, choice.pool)
    this.sessionsChanged(choice.backend.backend)
    return { ...rest, backend: choice.backend.backend }
  }

  /** What a request names, to the gateways as their last /status describes them. */
  kindOf (req: RouteRequest): RouteKind {
    return kindOf(this.list().map(b => b.view()), req, this.routes ?? this.balancer)
  }

  /** The routing options (tn3270e) this pool was built with, if any. */
  get routing (): RouteOptions | undefined { return this.routes }

  /** With tn3270e routing: some gateway can serve some pool offered here; else some backend has a free LU. */
  canServe (): boolean {
    const views = this.list().map(b => b.view())
    const now = this.opts.clock.now()
    return this.routes === undefined ? canServe(views, now, this.balancer) : canServeRoutes(views, now, this.routes)
  }

  /** The gateway refused a handed-over request (tn3270e routing); `full` = DEVICE-IN-USE for the pool. */
  handoverRefused (b: Backend, pool: string | undefined, full: boolean): void {
    b.handoverRefused(pool, full)
    this.changed()
  }

  /** A pick the client left before it led anywhere. */
  abandoned (b: Backend, pool?: string): void {
    b.abandoned(pool)
    if (b.removed && b.sessions === 0) this.forget(b)
    this.changed()
  }

  /**
   * A failed attempt: the connect (refused, timeout, reset), or with tn3270e routing a gateway
   * that closed, stalled or spoke out of turn after it. Counts toward passive ejection;
   * `metric` false when the caller counts the failure under another metric.
   */
  connectFailed (b: Backend, reason: ConnectFailureReason, message: string, o: { pool?: string, metric?: boolean } = {}): void {
    const now = this.opts.clock.now()
    const wasEjected = b.health.state === 'ejected'
    b.connectFailed(reason, message, now, this.opts.ejection, o.pool)
    if (o.metric !== false) this.opts.metrics.backendConnectErrors.inc({ backend: b.id, reason })
    const h = b.health
    // Ejected by this failure: either now, or again at the end of an ejection (on probation).
    if (h.state === 'ejected' && (!wasEjected || h.since === now)) {
      const how = wasEjected ? 'backend ejected again on probation' : 'backend ejected after connect failures'
      this.opts.logger.warn({ event: 'backend_ejected', listener: this.opts.listener, backend: b.id, until: new Date(h.until).toISOString(), ejections: h.ejections, reason, error: message }, how)
    }
    this.changed()
  }

  connected (b: Backend): void {
    const health = b.health
    b.connected()
    // An ejection ended by this success moves the next time-driven transition; else only counts moved.
    if (b.health !== health) this.changed()
    else this.sessionsChanged(b)
  }

  /** `freedLu` false when the backend closed the session: no LU is assumed free until its next /status. */
  sessionEnded (b: Backend, freedLu = true, pool?: string): void {
    b.sessionEnded(freedLu, pool)
    if (b.removed && b.sessions === 0) {
      this.forget(b)
      this.changed()
    } else {
      this.sessionsChanged(b)
    }
  }

  /** Polls every polled backend once now; resolves when all have answered or timed out. */
  async pollAll (): Promise<void> {
    await Promise.all([...this.pollers.values()].map(p => p.pollNow()))
  }

  status (): BackendStatus[] {
    const now = this.opts.clock.now()
    return this.list().map(b => ({
      name: b.id,
      address: `${b.target.host}:${b.target.port}`,
      source: b.target.source,
      weight: b.weight,
      configWeight: b.target.weight,
      admin: b.admin,
      up: b.isUp(now, this.opts.staleAfter),
      eligibility: b.admin !== 'ready' && !b.removed ? b.admin : eligibility(b.view(), now, this.balancer),
      sessions: b.sessions,
      freeLus: b.capacity === undefined ? null : b.estimatedFreeLus(),
      pools: b.capacity === undefined ? null : b.capacity.pools.map(p => ({ name: p.name, free: b.estimatedPoolFree(p.name) })),
      statusAgeMs: b.capacity === undefined ? null : now - b.capacity.at,
      ejectedUntil: b.health.state === 'ejected' && b.health.until > now ? new Date(b.health.until).toISOString() : null,
      removed: b.removed,
      lastError: b.lastError === undefined ? null : { at: new Date(b.lastError.at).toISOString(), message: b.lastError.message },
    }))
  }

  close (): void {
    this.closed = true
    for (const p of this.pollers.values()) p.stop()
    this.pollers.clear()
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private reconcileMembers (): void {
    const wanted = new Map<string, BackendTarget>()
    for (const targets of this.sources.values()) for (const t of targets) if (!wanted.has(t.id)) wanted.set(t.id, t)
    for (const [id, target] of wanted) {
      const existing = this.backends.get(id)
      if (existing === undefined) {
        const b = new Backend(target)
        this.backends.set(id, b)
        this.opts.logger.info({ event: 'backend_added', listener: this.opts.listener, backend: id, address: `${target.host}:${target.port}`, source: target.source }, 'backend added')
        this.startPoller(b)
      } else if (existing.removed) {
        existing.removed = false
        existing.target = target
        this.opts.logger.info({ event: 'backend_added', listener: this.opts.listener, backend: id, source: target.source }, 'backend back in discovery')
        this.startPoller(existing)
      } else if (!sameTarget(existing.target, target)) {
        // A reload (or DNS) changed it: a new configured weight replaces a runtime one; a new
        // address takes the next clients while open sessions stay where they are.
        if (existing.target.weight !== target.weight) existing.weightOverride = undefined
        existing.target = target
        this.stopPoller(id)
        this.startPoller(existing)
      }
    }
    for (const b of this.list()) {
      if (wanted.has(b.id) || b.removed) continue
      b.removed = true
      this.stopPoller(b.id)
      this.opts.logger.info({ event: 'backend_removed', listener: this.opts.listener, backend: b.id, sessions: b.sessions }, 'backend left discovery; its sessions continue')
      if (b.sessions === 0) this.forget(b)
    }
    this.changed()
  }

  private forget (b: Backend): void {
    this.backends.delete(b.id)
    for (const g of [this.opts.metrics.backendUp, this.opts.metrics.backendSessionsActive, this.opts.metrics.backendLusFree]) g.remove({ backend: b.id })
    for (const pool of this.poolSeries.get(b.id) ?? []) this.opts.metrics.backendPoolLusFree.remove({ backend: b.id, pool })
    this.poolSeries.delete(b.id)
  }

  private startPoller (b: Backend): void {
    if (this.closed || b.target.adminUrl === undefined || b.admin === 'maint') return
    const poller = new StatusPoller({
      url: new URL('/status', b.target.adminUrl).toString(),
      port: b.target.port,
      interval: this.opts.statusInterval,
      timeout: this.opts.statusTimeout,
      dispatcher: this.opts.dispatcher,
      clock: this.opts.clock,
      onResult: (result) => {
        const before = b.lastError?.message
        const wasEjected = b.health.state === 'ejected'
        b.polledStatus(result)
        if (!result.ok && before !== result.error) {
          this.opts.logger.warn({ event: 'status_poll_failed', listener: this.opts.listener, backend: b.id, error: result.error }, 'status poll failed')
        }
        if (wasEjected && b.health.state === 'admitted') {
          this.opts.logger.info({ event: 'backend_readmitted', listener: this.opts.listener, backend: b.id, freeLus: b.estimatedFreeLus() }, 'backend re-admitted by a good status check')
        }
        this.changed()
      },
    })
    this.pollers.set(b.id, poller)
    poller.start()
  }

  private stopPoller (id: string): void {
    this.pollers.get(id)?.stop()
    this.pollers.delete(id)
  }

  /** tn3270_proxy_backend_pool_lus_free: per pool of the gateway listener, as its last /status said. */
  private poolGauges (b: Backend): void {
    const seen = this.poolSeries.get(b.id) ?? new Set<string>()
    this.poolSeries.set(b.id, seen)
    for (const p of b.capacity?.pools ?? []) {
      this.opts.metrics.backendPoolLusFree.set({ backend: b.id, pool: p.name }, p.free)
      seen.add(p.name)
    }
  }

  /**
   * A session count moved (a pick, a connect, an end): this backend's session gauge and the
   * 'change' event. Health and status timing did not move, so the other backends' gauges and the
   * next time-driven re-evaluation stay as they are (changed() does all of it, for every backend:
   * three times per session was a visible part of the proxy's CPU per new session, bench/README.md).
   * The free-LU gauges show the last /status as it came (not the estimate between polls): only a
   * poll moves them, and changed() sets them then.
   */
  private sessionsChanged (b: Backend): void {
    if (this.closed) return
    this.opts.metrics.backendSessionsActive.set({ backend: b.id }, b.sessions)
    this.emit('change')
  }

  /** Metrics, the next time-driven re-evaluation, and the 'change' event. */
  private changed (): void {
    if (this.closed) return
    const now = this.opts.clock.now()
    const m = this.opts.metrics
    for (const b of this.backends.values()) {
      m.backendUp.set({ backend: b.id }, b.isUp(now, this.opts.staleAfter) ? 1 : 0)
      m.backendSessionsActive.set({ backend: b.id }, b.sessions)
      m.backendLusFree.set({ backend: b.id }, b.capacity?.freeLus ?? 0)
      if (this.routes !== undefined) this.poolGauges(b)
    }
    const next = nextTransition(this.list().map(b => b.view()), now, this.balancer)
    if (next !== this.timerAt) {
      if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer)
      this.timer = undefined
      this.timerAt = next
      if (next !== undefined) {
        this.timer = this.opts.clock.setTimeout(() => {
          this.timer = undefined
          this.timerAt = undefined
          this.changed()
        }, next - now)
      }
    }
    this.emit('change')
  }
}

function sameTarget (a: BackendTarget, b: BackendTarget): boolean {
  return a.weight === b.weight && a.adminUrl === b.adminUrl && a.host === b.host && a.port === b.port
}

/** The balancer's routing options for a tn3270e listener; undefined for a tcp one. */
function routeOptions (r: RoutingMode | undefined, staleAfter: number): RouteOptions | undefined {
  if (r?.mode !== 'tn3270e') return undefined
  return { staleAfter, ...(r.offered === undefined ? {} : { offered: r.offered }), ...(r.defaultPool === undefined ? {} : { defaultPool: r.defaultPool }) }
}
