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
  return out
}

export function attachKeepAlive (target: KeepAliveTarget, settings: KeepAliveSettings, opts: AttachKeepAliveOptions): KeepAliveHandle {
  const { logger, metrics, client, lu } = opts
  const who = unboundKeys(logger, { client, lu })
  let stopped = false
  const engine = new KeepAliveEngine(settings, opts.clock, (action: KeepAliveAction) => {
    switch (action.type) {
      case 'send':
        metrics?.keepaliveSent.inc()
        target.sendProbe(action.method, () => { if (!stopped) engine.written(action.id) })
        break
      case 'completed':
        break
      case 'overdue':
        metrics?.keepaliveOverdue.inc()
        logger.warn({ event: 700, ...who, ticks: action.ticks, method: settings.method },
          'keepalive still outstanding at watchdog tick; not queuing another')
        break
      case 'limit':
        metrics?.keepaliveAborts.inc({ close: action.close })
        logger.error({ event: 701, ...who, ticks: action.ticks, close: action.close, method: settings.method },
          `keepalive limit reached (${action.ticks} watchdog ticks); aborting connection`)
        opts.onAbort?.(lbError(ErrorCodes.KEEPALIVE_LIMIT,
          `keepalive to ${client} outstanding for ${action.ticks} watchdog ticks (keepAliveLimit ${settings.keepAliveLimit}); ${closeText(action.close)}`))
        break
      case 'end':
        target.end()
        break
      case 'reset':
        if (action.reason === 'gracefulCloseTimeout') {
          logger.warn({ ...who, gracefulCloseTimeout: settings.gracefulCloseTimeout }, 'graceful close after keepalive limit did not finish in time; resetting')
        }
        target.reset()
        break
    }
  })
  target.onReply(() => { if (!stopped) engine.reply() })
  target.onClose(() => { engine.closed() })
  engine.start()
  return {
    get state () { return engine.state },
    stop () { stopped = true; engine.closed() },
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

/** KeepAliveTarget over a telnet session: TM/NOP probes, RST via resetAndDestroy, FIN via end. */
export function telnetKeepAliveTarget (session: TelnetKeepAliveSession): KeepAliveTarget {
  return {
    sendProbe: (method, done) => { if (method === 'timingmark') session.sendTimingMark(done); else session.sendNop(done) },
    onReply: (cb) => { session.on('timingMarkReply', cb) },
    onClose: (cb) => {
      if (session.socket.closed) queueMicrotask(cb)
      else session.socket.once('close', cb)
    },
    // RST while possible (a zero-window client keeps data queued, so no shutdown was issued).
    reset: () => { abortSocket(session.socket) },
    end: () => { session.socket.end() },
  }
}
