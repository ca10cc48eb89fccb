// How a running proxy stops, as a state machine:
//
//   serving --shutdown()--> draining --sessions ended or closed (drain.ts)--> closed
//   serving | draining --close()--> closing --every session ended--> closed
//
// A soft stop is HAProxy's soft stop (doc/management.txt, "Stopping and restarting HAProxy"):
// /readyz answers 503, listeners close, sessions continue up to drainTimeout. A hard stop ends
// every session at once; it may also cut a soft stop short (a second SIGTERM). Both end in the
// same release of the proxy's resources (resources.ts).
import type { Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import { drainSessions, type Drainable, type DrainReport } from './drain.js'

export type LifecycleState = 'serving' | 'draining' | 'closing' | 'closed'

export interface ShutdownOptions {
  /** Hard stop now (a second SIGTERM): same as close(). */
  immediate?: boolean
  drainTimeout?: number
  closeSpreadTime?: number
}

/** What the stop needs of a frontend (frontend.ts): its sessions, and a way to stop accepting. */
export interface SessionSource {
  readonly sessions: ReadonlySet<Drainable>
  stopAccepting: () => void
}

export interface LifecycleOptions {
  frontends: readonly SessionSource[]
  /** Releases listeners, polls, the admin server (resources.ts); called once. */
  release: () => Promise<void>
  drainTimeout: number
  closeSpreadTime: number
  clock: Clock
  logger: Logger
  /** [0, 1) source for the close spread at drain. */
  random?: () => number
}

export class ProxyLifecycle {
  private current: LifecycleState = 'serving'
  private drained: Promise<void> | undefined
  private released: Promise<void> | undefined
  private report: DrainReport | undefined

  constructor (private readonly opts: LifecycleOptions) {}

  get state (): LifecycleState { return this.current }
  /** /readyz: only while serving. */
  get ready (): boolean { return this.current === 'serving' }
  /** Counts from the last completed soft stop. */
  get drainReport (): DrainReport | undefined { return this.report }

  /** Soft stop (or a hard one with `immediate`); a second call returns the first one's promise. */
  shutdown (opts: ShutdownOptions = {}): Promise<void> {
    if (opts.immediate === true) return this.close()
    this.drained ??= this.drain(opts)
    return this.drained
  }

  /** Hard stop: every session ends now, then everything is released. */
  async close (): Promise<void> {
    if (this.current === 'serving' || this.current === 'draining') this.current = 'closing'
    this.stopAccepting()
    const sessions = this.sessions()
    for (const s of sessions) s.terminate('shutdown', 0)
    await Promise.all(sessions.map(s => s.done))
    await this.finish()
  }

  private async drain (opts: ShutdownOptions): Promise<void> {
    if (this.current === 'serving') this.current = 'draining'
    const { logger, clock } = this.opts
    const drainTimeout = opts.drainTimeout ?? this.opts.drainTimeout
    logger.info({ event: 'drain_start', sessions: this.sessions().length, drainTimeout }, 'draining: no new clients, sessions continue')
    this.stopAccepting()
    this.report = await drainSessions(() => this.sessions(), {
      drainTimeout,
      closeSpreadTime: opts.closeSpreadTime ?? this.opts.closeSpreadTime,
      clock,
      logger,
      random: this.opts.random,
    })
    await this.finish()
    logger.info({ event: 'drain_done', ...this.report }, 'drained')
  }

  /** The one way into `closed`, whichever stop gets there first; later calls await the same release. */
  private finish (): Promise<void> {
    this.released ??= this.opts.release().then(() => { this.current = 'closed' })
    return this.released
  }

  private stopAccepting (): void {
    for (const f of this.opts.frontends) f.stopAccepting()
  }

  private sessions (): Drainable[] {
    return this.opts.frontends.flatMap(f => [...f.sessions])
  }
}
