// One backend gateway as this proxy sees it: sessions it relays there, passive health (health.ts),
// the latest /status capacity, and an estimate of free LUs between polls. Mutations happen only
// through the event methods below; the balancer reads `view()`.
import type { ConnectFailureReason } from '../errors.js'
import type { BackendView } from './balancer.js'
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

  view (): BackendView {
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
      status: this.capacity === undefined ? undefined : { at: this.failedPolls >= STATUS_FALL ? -Infinity : this.capacity.at, ready: this.capacity.ready, freeLus: this.estimatedFreeLus() },
    }
  }

  /** Up for the metric and /status: admitted, and (if polled) a fresh ready status. */
  isUp (now: number, staleAfter: number): boolean {
    if (this.removed || !isAdmitted(this.health, now)) return false
    if (!this.polled) return true
    return this.capacity !== undefined && this.failedPolls < STATUS_FALL && now - this.capacity.at < staleAfter && this.capacity.ready
  }

  picked (now: number): void {
    this.sessions++
    this.openedSinceStatus++
    this.lastPickedAt = now
  }

  connectFailed (reason: ConnectFailureReason, message: string, now: number, policy: EjectionPolicy): void {
    this.sessions--
    this.openedSinceStatus--
    if (reason === 'refused') this.refusedSinceStatus = true
    this.health = onConnectFailure(this.health, now, policy)
    this.lastError = { at: now, message }
  }

  connected (): void {
    this.health = onConnectSuccess(this.health)
  }

  /**
   * `freedLu` false: the backend closed the session itself (stopping, crashed, draining), so the
   * LU it held is not counted free until the next /status says so.
   */
  sessionEnded (freedLu = true): void {
    this.sessions--
    if (freedLu) this.closedSinceStatus++
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
    if (result.capacity.ready && result.capacity.freeLus > 0) this.health = onGoodCheck(this.health, result.at)
  }
}
