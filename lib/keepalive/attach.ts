// Binds a KeepAliveEngine to a transport: a TN3270 server session, a raw telnet socket, or a
// host link. The transport is reduced to KeepAliveTarget so this file knows nothing of telnet.
// Log lines: event 700 (warn) at each tick with a keepalive still outstanding, event 701
// (error) when keepAliveLimit is reached, both with the client address (KB Q137309).
import type { Socket } from 'node:net'
import { abortSocket } from '../telnet/index.js'
import type { Clock } from '../clock.js'
import { ErrorCodes, lbError, type Tn3270LbError } from '../errors.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { KeepAliveEngine } from './engine.js'
import type { CloseKind, KeepAliveAction, KeepAliveSettings, KeepAliveState, ProbeMethod } from './machine.js'

export interface KeepAliveTarget {
  /** Queue one keepalive; call `done` when its bytes were handed to the kernel (write callback). */
  sendProbe: (method: ProbeMethod, done: () => void) => void
  /** Register for the peer's answer to a probe (TIMING-MARK: IAC WILL/WONT TM). */
  onReply: (cb: () => void) => void
  /** Register for the transport closing, whatever the cause. */
  onClose: (cb: () => void) => void
  /** Abort with RST (net.Socket#resetAndDestroy). */
  reset: () => void
  /** Orderly close (net.Socket#end). */
  end: () => void
}

export type KeepAliveMetrics = Pick<GatewayMetrics, 'keepaliveSent' | 'keepaliveOverdue' | 'keepaliveAborts'>

export interface AttachKeepAliveOptions {
  logger: Logger
  metrics?: KeepAliveMetrics
  clock: Clock
  /** Peer address:port for events 700/701. */
  client: string
  lu?: string
  /** Called once when the limit is reached (before the close), with a KEEPALIVE_LIMIT error. */
  onAbort?: (err: Tn3270LbError) => void
}

export interface KeepAliveHandle {
  readonly state: KeepAliveState
  /** Disarm (the caller is closing the transport itself). Idempotent. */
  stop: () => void
}

/**
 * The fields the logger does not carry yet (a session's logger usually names the client and LU;
 * pino would repeat a key). A function of its own, so the logger's bindings object is not kept
 * alive by the session's keepalive closures (idle-session memory, docs/internals.md).
 */
function unboundKeys (logger: Logger, fields: Record<string, string | undefined>): Record<string, string> {
  const bound = logger.bindings()
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && !(k in bound)) out[k] = v
  // Usually none (a session's logger names both): one shared empty object, not one per session.
  return Object.keys(out).length === 0 ? NO_KEYS : out
}

const NO_KEYS: Record<string, string> = Object.freeze({})

export function attachKeepAlive (target: KeepAliveTarget, settings: KeepAliveSettings, opts: AttachKeepAliveOptions): KeepAliveHandle {
  return new AttachedKeepAlive(target, settings, opts)
}

/**
 * The engine bound to its target. A class rather than closures over attachKeepAlive's scope: one
 * object per connection kept for the session's life, its methods shared (idle-session memory,
 * bench/README.md "Gateway memory per idle session").
 */
class AttachedKeepAlive implements KeepAliveHandle {
  private readonly engine: KeepAliveEngine
  private readonly who: Record<string, string>
  private stopped = false

  constructor (private readonly target: KeepAliveTarget, private readonly settings: KeepAliveSettings, private readonly opts: AttachKeepAliveOptions) {
    this.who = unboundKeys(opts.logger, { client: opts.client, lu: opts.lu })
    this.engine = new KeepAliveEngine(settings, opts.clock, action => { this.onAction(action) })
    target.onReply(() => { if (!this.stopped) this.engine.reply() })
    target.onClose(() => { this.engine.closed() })
    this.engine.start()
  }

  get state (): KeepAliveState { return this.engine.state }

  stop (): void { this.stopped = true; this.engine.closed() }

  private onAction (action: KeepAliveAction): void {
    const { target, settings } = this
    const { logger, metrics } = this.opts
    switch (action.type) {
      case 'send':
        metrics?.keepaliveSent.inc()
        target.sendProbe(action.method, () => { if (!this.stopped) this.engine.written(action.id) })
        break
      case 'completed':
        break
      case 'overdue':
        metrics?.keepaliveOverdue.inc()
        logger.warn({ event: 700, ...this.who, ticks: action.ticks, method: settings.method },
          'keepalive still outstanding at watchdog tick; not queuing another')
        break
      case 'limit':
        metrics?.keepaliveAborts.inc({ close: action.close })
        logger.error({ event: 701, ...this.who, ticks: action.ticks, close: action.close, method: settings.method },
          `keepalive limit reached (${action.ticks} watchdog ticks); aborting connection`)
        this.opts.onAbort?.(lbError(ErrorCodes.KEEPALIVE_LIMIT,
          `keepalive to ${this.opts.client} outstanding for ${action.ticks} watchdog ticks (keepAliveLimit ${settings.keepAliveLimit}); ${closeText(action.close)}`))
        break
      case 'end':
        target.end()
        break
      case 'reset':
        if (action.reason === 'gracefulCloseTimeout') {
          logger.warn({ ...this.who, gracefulCloseTimeout: settings.gracefulCloseTimeout }, 'graceful close after keepalive limit did not finish in time; resetting')
        }
        target.reset()
        break
    }
  }
}

function closeText (close: CloseKind): string {
  return close === 'hard' ? 'resetting (hardClose)' : 'closing gracefully'
}

/**
 * The structural slice of a telnet/TN3270 server session the engine needs: the internals
 * contract of Tn3270ServerSession and TelnetConnection (sendTimingMark/sendNop with a write
 * callback, a 'timingMarkReply' event, the underlying socket).
 */
export interface TelnetKeepAliveSession {
  readonly socket: Socket
  sendTimingMark: (done: () => void) => void
  sendNop: (done: () => void) => void
  on: (event: 'timingMarkReply', listener: () => void) => unknown
}

/**
 * KeepAliveTarget over a telnet session: TM/NOP probes, RST via resetAndDestroy (or `reset` when
 * given, e.g. a relay's own host reset), FIN via end.
 */
export function telnetKeepAliveTarget (session: TelnetKeepAliveSession, reset?: () => void): KeepAliveTarget {
  return new TelnetTarget(session, reset)
}

/** Methods on the prototype, not five closures per connection (idle-session memory, as above). */
class TelnetTarget implements KeepAliveTarget {
  constructor (private readonly session: TelnetKeepAliveSession, private readonly resetHook: (() => void) | undefined) {}

  sendProbe (method: ProbeMethod, done: () => void): void {
    if (method === 'timingmark') this.session.sendTimingMark(done)
    else this.session.sendNop(done)
  }

  onReply (cb: () => void): void { this.session.on('timingMarkReply', cb) }

  onClose (cb: () => void): void {
    if (this.session.socket.closed) queueMicrotask(cb)
    else this.session.socket.once('close', cb)
  }

  reset (): void {
    if (this.resetHook !== undefined) { this.resetHook(); return }
    // RST while possible (a zero-window client keeps data queued, so no shutdown was issued).
    abortSocket(this.session.socket)
  }

  end (): void { this.session.socket.end() }
}
