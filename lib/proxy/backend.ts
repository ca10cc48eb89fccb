// One backend gateway as this proxy sees it: sessions it relays there, passive health (health.ts),
// the latest /status capacity, and an estimate of free LUs between polls, in total and per pool
// (tn3270e routing, docs/routing.md). Mutations happen only through the event methods below; the
// balancer reads `view()`.
import type { ConnectFailureReason } from '../errors.js'
import type { BackendView, PoolView } from './balancer.js'
import { INITIAL_HEALTH, isAdmitted, onConnectFailure, onConnectSuccess, onGoodCheck, type EjectionPolicy, type HealthState } from './health.js'
import type { GatewayCapacity, PollResult } from './status-poll.js'

export interface BackendTarget {
  /** Unique within a listener's set; the metric label `backend`. */
  id: string
  host: string
  port: number
  /** Base URL of the gateway admin server; /status is polled there. Undefined = no polling. */
  adminUrl?: string
  weight: number
  /** Where it came from: 'static' or the DNS name. */
  source: string
}

/**
 * Consecutive failed /status polls after which the last good answer no longer counts (HAProxy's
 * `fall`): a stopped gateway shows as down after ~2 poll intervals, not after statusStaleAfter.
 */
export const STATUS_FALL = 2

export type { ConnectFailureReason }

/**
 * The operator's state of a backend (runtime API, docs/operations.md), as HAProxy's `set server
 * state` has it (doc/management.txt): `ready`; `drain`, no new clients while its sessions continue
 * and /status is still polled; `maint`, no new clients and no polling (sessions continue too).
 */
export type BackendAdmin = 'ready' | 'drain' | 'maint'

export class Backend {
  sessions = 0
  lastPickedAt = -Infinity
  removed = false
  admin: BackendAdmin = 'ready'
  /** Weight set through the runtime API; a reload that changes the configured weight clears it. */
  weightOverride: number | undefined
  health: HealthState = INITIAL_HEALTH
  capacity: (GatewayCapacity & { at: number }) | undefined
  lastError: { at: number, message: string } | undefined
  /** Sessions started and ended since the last /status answer (free-LU estimate between polls). */
  private openedSinceStatus = 0
  private closedSinceStatus = 0
  /** The backend refused a connect since the last /status: its listener is closed, so no free LU. */
  private refusedSinceStatus = false
  /** /status polls that failed in a row since the last good answer. */
  private failedPolls = 0
  /** Per pool since the last /status: sessions placed minus sessions ended that freed an LU. */
  private readonly poolDelta = new Map<string, number>()
  /** Pools the gateway said were full (a REJECT DEVICE-IN-USE) since the last /status. */
  private readonly fullPools = new Set<string>()

  constructor (public target: BackendTarget) {}

  get id (): string { return this.target.id }
  get polled (): boolean { return this.target.adminUrl !== undefined }
  /** The weight in effect: the runtime one if set, else the configured one. */
  get weight (): number { return this.weightOverride ?? this.target.weight }

  /** Free LUs per the last /status, net of sessions placed and ended since; 0 after a refusal. */
  estimatedFreeLus (): number {
    if (this.capacity === undefined || this.refusedSinceStatus) return 0
    return Math.max(0, this.capacity.freeLus - this.openedSinceStatus + this.closedSinceStatus)
  }

  /** LUs a new client can get in `pool`, per the last /status net of what happened since; 0 after a refusal. */
  estimatedPoolFree (pool: string): number {
    const p = this.capacity?.pools.find(x => x.name === pool)
    if (p === undefined || this.refusedSinceStatus || this.fullPools.has(pool)) return 0
    return Math.max(0, p.free - (this.poolDelta.get(pool) ?? 0))
  }

  private poolViews (): PoolView[] | undefined {
    const c = this.capacity
    if (c === undefined) return undefined
    return c.pools.map(p => ({ name: p.name, free: this.estimatedPoolFree(p.name), owns: (lu: string) => p.lus.has(lu), kind: p.kind }))
  }

  view (): BackendView {
    const pools = this.poolViews()
    return {
      id: this.id,
      // Drained or in maintenance: no new sessions, exactly as weight 0 (HAProxy does the same).
      weight: this.admin === 'ready' ? this.weight : 0,
      sessions: this.sessions,
      lastPickedAt: this.lastPickedAt,
      removed: this.removed,
      ejectedUntil: this.health.state === 'ejected' ? this.health.until : 0,
      polled: this.polled,
      // After STATUS_FALL failed polls the last answer no longer counts: it reads as stale.
      status: this.capacity === undefined
        ? undefined
        : { at: this.failedPolls >= STATUS_FALL ? -Infinity : this.capacity.at, ready: this.capacity.ready, freeLus: this.estimatedFreeLus(), ...(pools === undefined ? {} : { pools }) },
    }
  }

  /** Up for the metric and /status: admitted, and (if polled) a fresh ready status. */
  isUp (now: number, staleAfter: number): boolean {
    if (this.removed || !isAdmitted(this.health, now)) return false
    if (!this.polled) return true
    return this.capacity !== undefined && this.failedPolls < STATUS_FALL && now - this.capacity.at < staleAfter && this.capacity.ready
  }

  /** A client placed here; `pool` when known (tn3270e routing), for the per-pool estimate. */
  picked (now: number, pool?: string): void {
    this.sessions++
    this.openedSinceStatus++
    this.lastPickedAt = now
    if (pool !== undefined) this.adjustPool(pool, +1)
  }

  connectFailed (reason: ConnectFailureReason, message: string, now: number, policy: EjectionPolicy, pool?: string): void {
    this.unpick(pool)
    if (reason === 'refused') this.refusedSinceStatus = true
    this.health = onConnectFailure(this.health, now, policy)
    this.lastError = { at: now, message }
  }

  /**
   * The gateway answered a handed-over request with a refusal (tn3270e routing): no session.
   * `full`: it said DEVICE-IN-USE for a pool, which counts as full until the next /status.
   */
  handoverRefused (pool: string | undefined, full: boolean): void {
    this.unpick(pool)
    if (full && pool !== undefined) this.fullPools.add(pool)
  }

  /** A pick that led nowhere (the client left first): undo it, no health consequence. */
  abandoned (pool?: string): void {
    this.unpick(pool)
  }

  private unpick (pool: string | undefined): void {
    this.sessions--
    this.openedSinceStatus--
    if (pool !== undefined) this.adjustPool(pool, -1)
  }

  private adjustPool (pool: string, by: number): void {
    this.poolDelta.set(pool, (this.poolDelta.get(pool) ?? 0) + by)
  }

  connected (): void {
    this.health = onConnectSuccess(this.health)
  }

  /**
   * `freedLu` false: the backend closed the session itself (stopping, crashed, draining), so the
   * LU it held is not counted free until the next /status says so.
   */
  sessionEnded (freedLu = true, pool?: string): void {
    this.sessions--
    if (freedLu) {
      this.closedSinceStatus++
      if (pool !== undefined) this.adjustPool(pool, -1)
    }
  }

  polledStatus (result: PollResult): void {
    if (!result.ok) {
      this.lastError = { at: result.at, message: result.error }
      this.failedPolls++
      return
    }
    this.failedPolls = 0
    this.capacity = { ...result.capacity, at: result.at }
    this.openedSinceStatus = 0
    this.closedSinceStatus = 0
    this.refusedSinceStatus = false
    this.poolDelta.clear()
    this.fullPools.clear()
    if (result.capacity.ready && result.capacity.freeLus > 0) this.health = onGoodCheck(this.health, result.at)
  }
}
