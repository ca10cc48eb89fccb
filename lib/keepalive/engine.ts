// Drives the pure keepAliveStep with a Clock: one recurring watchdog timer while the machine is
// idle or outstanding, one grace timer while a graceful close is pending, none otherwise.
// Still no I/O: actions go to a callback (the binding in attach.ts turns them into writes,
// resets, log lines and metrics).
import type { Clock, Timer } from '../clock.js'
import {
  initialKeepAliveState, keepAliveStep,
  type KeepAliveAction, type KeepAliveInput, type KeepAliveSettings, type KeepAliveState,
} from './machine.js'

export class KeepAliveEngine {
  private current: KeepAliveState = initialKeepAliveState
  private tickTimer: Timer | undefined
  private graceTimer: Timer | undefined
  private started = false

  constructor (
    private readonly settings: KeepAliveSettings,
    private readonly clock: Clock,
    private readonly onAction: (action: KeepAliveAction) => void,
  ) {
    if (!(settings.watchdogTimeout > 0)) throw new RangeError(`keepalive watchdogTimeout must be > 0 ms, got ${settings.watchdogTimeout}`)
    if (!Number.isInteger(settings.keepAliveLimit) || settings.keepAliveLimit < 1) throw new RangeError(`keepalive keepAliveLimit must be a whole number ≥ 1, got ${settings.keepAliveLimit}`)
    if (!(settings.gracefulCloseTimeout >= 0)) throw new RangeError(`keepalive gracefulCloseTimeout must be ≥ 0 ms, got ${settings.gracefulCloseTimeout}`)
  }

  get state (): KeepAliveState { return this.current }

  /** True while a watchdog or grace timer is armed (tests check nothing is left behind). */
  get armed (): boolean { return this.tickTimer !== undefined || this.graceTimer !== undefined }

  /** Arms the watchdog; the first keepalive goes out one watchdogTimeout from now. */
  start (): void {
    if (this.started) return
    this.started = true
    this.arm()
  }

  /** The write callback of keepalive `id` ran. */
  written (id: number): void { this.dispatch({ type: 'written', id }) }
  /** The peer answered the TIMING-MARK. */
  reply (): void { this.dispatch({ type: 'reply' }) }
  /** Other inbound data: does not complete a keepalive (kept for symmetry and tests). */
  inbound (): void { this.dispatch({ type: 'inbound' }) }
  /** The transport closed: disarm everything. Idempotent. */
  closed (): void { this.dispatch({ type: 'closed' }) }

  private dispatch (input: KeepAliveInput): void {
    const { state, actions } = keepAliveStep(this.settings, this.current, input)
    this.current = state
    this.arm()
    for (const action of actions) this.onAction(action)
  }

  private arm (): void {
    const phase = this.current.phase
    const wantTick = this.started && this.settings.method !== 'none' && (phase === 'idle' || phase === 'outstanding')
    if (wantTick && this.tickTimer === undefined) {
      this.tickTimer = this.clock.setTimeout(() => { this.tickTimer = undefined; this.dispatch({ type: 'tick' }) }, this.settings.watchdogTimeout)
    } else if (!wantTick && this.tickTimer !== undefined) {
      this.clock.clearTimeout(this.tickTimer)
      this.tickTimer = undefined
    }
    const wantGrace = phase === 'closing'
    if (wantGrace && this.graceTimer === undefined) {
      this.graceTimer = this.clock.setTimeout(() => { this.graceTimer = undefined; this.dispatch({ type: 'graceTimeout' }) }, this.settings.gracefulCloseTimeout)
    } else if (!wantGrace && this.graceTimer !== undefined) {
      this.clock.clearTimeout(this.graceTimer)
      this.graceTimer = undefined
    }
  }
}
