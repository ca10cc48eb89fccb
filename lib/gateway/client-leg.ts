// The client leg of a session, the same whatever the host link: application credit from the
// client's socket (KB Q181737), the credit check when queued bytes leave the process, KeepAlive
// on the client connection (KB Q137309), RFC 2562 response time, holding client reads while the
// host is backed up, and ending once. LuBridge (sna) and Relay (tn3270) keep only what belongs to
// their host protocol.
import type { Clock } from '../clock.js'
import type { GatewayConfig } from '../config/index.js'
import { commandHasWcc, commandName, WccBit } from '../datastream/index.js'
import { errorMessage } from '../errors.js'
import { attachKeepAlive, telnetKeepAliveTarget, type KeepAliveHandle } from '../keepalive/index.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { creditFromClientState } from '../sna/index.js'
import type { Tn3270ServerSession } from '../tn3270/index.js'
import type { ClientBinding } from './host-side.js'

const EMPTY = Buffer.alloc(0)

export interface ClientLegOptions {
  binding: ClientBinding
  config: GatewayConfig
  metrics: GatewayMetrics
  clock: Clock
  /** Room may have come back toward the client: the owner re-evaluates its credit. */
  onCredit: () => void
  /** How the owner ends the whole session (host side included); the leg calls it on client close and on errors. */
  end: (reason: string) => void
}

/** What one message toward the client may cost, for `credit()`. */
export interface CreditShape {
  /** Largest record the host may send, in bytes as queued toward the client. */
  maxMessageBytes: number
  /** The window the owner grants upstream; a drained client always yields at least this. */
  window: number
  /** TN3270E definite responses the client still owes. */
  responsesOutstanding: number
  /** Most responses that may be outstanding before credit stops. */
  responseLimit?: number
}

/** A handler of any event's arguments (its own parameter types say what it expects). */
type AnyListener = (...args: never[]) => void
/** Anything with on/off: Node's EventEmitter, typed (EventEmitter<Events>) or not (Socket). */
interface Subscribable {
  on: (event: never, listener: never) => unknown
  off: (event: never, listener: never) => unknown
}
interface Untyped { on: (event: string, listener: AnyListener) => unknown, off: (event: string, listener: AnyListener) => unknown }

type LegState =
  | { kind: 'open' }
  | { kind: 'ended', reason: string }

/** Whose method a shared guard calls: the leg's own, or its owner's (the bridge or relay). */
type GuardTarget = 'leg' | 'owner'

export class ClientLeg {
  readonly session: Tn3270ServerSession
  readonly log: Logger
  private closedPromise: Promise<void> | undefined
  private state: LegState = { kind: 'open' }
  private readonly opts: ClientLegOptions
  private keepalive: KeepAliveHandle | undefined
  /** A credit check waits for the bytes written so far to leave the process. */
  private creditCheckScheduled = false
  /** Client reads are paused until the host's socket drains. */
  private readsHeld = false
  /** When the client's last inbound record went to the host, until a reply restores the keyboard. */
  private awaitingReplySince: number | undefined
  /**
   * What listen() subscribed, flat (emitter, event, listener, emitter, ...), to unsubscribe in
   * dispose(): one array rather than an object per subscription (idle-session memory,
   * docs/internals.md).
   */
  private readonly subscriptions: Array<Untyped | string | AnyListener> = []
  /** The owner whose methods listen() subscribes (the first one given other than the leg). */
  private owner: unknown

  /**
   * Guarded listeners shared by every leg, one per (method, event, target), called with the leg
   * as `this`: a subscription keeps only a bound function without bound arguments (idle-session
   * memory, bench/README.md). Methods live on prototypes, so this stays small.
   */
  private static readonly sharedGuards = new WeakMap<AnyListener, Map<string, AnyListener>>()

  constructor (opts: ClientLegOptions) {
    this.opts = opts
    this.session = opts.binding.session
    this.log = opts.binding.logger
    const socket = this.session.socket
    this.listen(this.session, 'close', this.onClientClose, this)
    // Records from the client, for GET /v1/sessions and the audit record: one increment each.
    if (opts.binding.activity !== undefined) this.listen(this.session, 'data', this.countClientRecord, this)
    this.listen(socket, 'drain', opts.onCredit)
  }

  /**
   * Resolves when the client's socket has closed. Made when first asked for (the tn3270 relay
   * does, the SNA bridge does not): an idle session keeps no promise it never awaits.
   */
  get closed (): Promise<void> {
    this.closedPromise ??= new Promise(resolve => {
      const socket = this.session.socket
      if (socket.closed) { resolve(); return }
      socket.once('close', () => resolve())
    })
    return this.closedPromise
  }

  /** The reason the session is ending, once it is. */
  get endReason (): string | undefined { return this.state.kind === 'ended' ? this.state.reason : undefined }
  get open (): boolean { return this.state.kind === 'open' }

  /**
   * Subscribes for the life of the session. A listener that throws ends this client, never the
   * gateway: one bad exchange must not hurt other sessions. With `owner`, `fn` is called as its
   * method (`leg.listen(lu, 'bind', this.onBind, this)`), so an owner's handler needs no closure of
   * its own: one bound guard per subscription is what an idle session keeps.
   */
  listen<O = undefined> (emitter: Subscribable, event: string, fn: (this: O, ...args: never[]) => void, owner?: O): void {
    const who: unknown = owner
    if (who !== undefined && who !== this) this.owner ??= who
    const guardTarget: GuardTarget | undefined = who === undefined ? undefined : who === this ? 'leg' : who === this.owner ? 'owner' : undefined
    // A method of the leg or its owner: a shared guard bound to this leg. Anything else (a
    // closure of its own): a bound function with its arguments, no context object either.
    const guarded: AnyListener = guardTarget === undefined
      ? this.dispatch.bind(this, event, fn as AnyListener, owner)
      : ClientLeg.sharedGuard(event, fn as AnyListener, guardTarget).bind(this)
    // Typed emitters narrow on/off per event name; the handler's own types are the check here.
    const target = emitter as unknown as Untyped
    target.on(event, guarded)
    this.subscriptions.push(target, event, guarded)
  }

  /** KeepAlive on the client connection (KB Q137309): one probe outstanding at a time. */
  startKeepAlive (): void {
    const { config, metrics, clock, binding } = this.opts
    if (config.keepalive.method === 'none' || this.keepalive !== undefined || !this.open) return
    this.keepalive = attachKeepAlive(telnetKeepAliveTarget(this.session), config.keepalive, {
      logger: this.log, metrics, clock, client: this.session.client, lu: binding.lu.name,
    })
  }

  /** Application credit in messages: room below pacing.highWaterMark, capped by responses owed. */
  credit (shape: CreditShape): number {
    return creditFromClientState({
      queuedBytes: this.session.socket.writableLength,
      highWaterMark: this.opts.config.pacing.highWaterMark,
      maxMessageBytes: shape.maxMessageBytes,
      window: shape.window,
      responsesOutstanding: shape.responsesOutstanding,
      ...(shape.responseLimit === undefined ? {} : { responseLimit: shape.responseLimit }),
    })
  }

  /**
   * Credit is room in the client's write queue, so it comes back when delivered records leave
   * the process. An empty write's callback runs once everything before it was handed to the
   * kernel — for a client that stopped reading, never, which is the point. 'drain' only fires
   * after the socket's own buffer limit was crossed, so it alone would miss small records.
   * Records written after the check was scheduled are still queued when it runs: while anything
   * is, the check is scheduled again behind them, so credit is looked at once more when the last
   * of them leaves (a window-63 session otherwise waited for a pacing response for good).
   */
  checkCreditWhenFlushed (): void {
    if (this.creditCheckScheduled || !this.open || this.session.socket.destroyed) return
    this.creditCheckScheduled = true
    this.session.socket.write(EMPTY, () => {
      this.creditCheckScheduled = false
      // Next turn: the write callback runs inside the stream's own bookkeeping.
      setImmediate(() => {
        if (!this.open) return
        this.guard('credit', this.opts.onCredit)
        if (this.session.socket.writableLength > 0) this.checkCreditWhenFlushed()
      })
    })
  }

  /** Runs `fn` once everything written to the client so far was handed to the kernel. */
  afterFlush (fn: () => void): void {
    const socket = this.session.socket
    if (socket.destroyed) return
    socket.write(EMPTY, () => { if (this.open) this.guard('flush', fn) })
  }

  /** A client record went on to the host: RFC 2562 response time runs until the keyboard is restored. */
  clientRecordForwarded (): void { this.awaitingReplySince = this.opts.clock.now() }

  /** A host record was handed to the client: one that restores the keyboard ends the transaction. */
  hostRecordDelivered (record: Buffer): void {
    if (this.opts.binding.activity !== undefined) this.opts.binding.activity.recordsOut++
    if (this.awaitingReplySince === undefined || !restoresKeyboard(record)) return
    const seconds = (this.opts.clock.now() - this.awaitingReplySince) / 1000
    this.awaitingReplySince = undefined
    this.opts.metrics.responseTimeSeconds.observe({ pool: this.opts.binding.lease.pool }, seconds)
  }

  /** Backpressure toward the client: stop reading it while the host's side is backed up. */
  holdReads (): void {
    if (this.readsHeld || !this.open) return
    this.readsHeld = true
    this.session.socket.pause()
  }

  releaseReads (): void {
    if (!this.readsHeld) return
    this.readsHeld = false
    this.session.socket.resume()
  }

  /**
   * Ends the client leg once: keepalive off, reads released, the owner's onEnd told, the client
   * closed. True the first time, so the owner runs its host-side ending exactly once.
   */
  end (reason: string): boolean {
    if (this.state.kind !== 'open') return false
    this.state = { kind: 'ended', reason }
    this.keepalive?.stop()
    this.releaseReads()
    this.opts.binding.onEnd(reason)
    if (!this.session.closed) this.session.close(reason)
    return true
  }

  /** Drops every subscription (after the owner's own clean-up, so late events are still seen). */
  dispose (): void {
    const subs = this.subscriptions.splice(0)
    for (let i = 0; i < subs.length; i += 3) (subs[i] as Untyped).off(subs[i + 1] as string, subs[i + 2] as AnyListener)
  }

  /** What a subscription runs: the handler, guarded. */
  private dispatch (event: string, fn: AnyListener, owner: unknown, ...args: never[]): void {
    this.guard(event, fn, owner, args)
  }

  /** The shared guard of `fn` for `event` (see sharedGuards). */
  private static sharedGuard (event: string, fn: AnyListener, target: GuardTarget): AnyListener {
    let byEvent = ClientLeg.sharedGuards.get(fn)
    if (byEvent === undefined) ClientLeg.sharedGuards.set(fn, byEvent = new Map())
    const key = target === 'leg' ? `leg ${event}` : event
    let g = byEvent.get(key)
    if (g === undefined) {
      g = function (this: ClientLeg, ...args: never[]): void { this.guard(event, fn, target === 'leg' ? this : this.owner, args) }
      byEvent.set(key, g)
    }
    return g
  }

  private onClientClose (reason: string): void { this.opts.end(`client closed: ${reason}`) }

  private countClientRecord (): void { this.opts.binding.activity!.recordsIn++ }

  private guard (what: string, fn: AnyListener | (() => void), owner?: unknown, args?: never[]): void {
    try {
      if (args === undefined) (fn as () => void).call(owner)
      else fn.apply(owner, args)
    } catch (err) {
      this.log.error({ event: 'session_bridge_error', during: what, err: errorMessage(err) }, 'session bridge failed')
      this.opts.end(`bridge error: ${errorMessage(err)}`)
    }
  }
}

/**
 * A host record whose WCC has Keyboard Restore ends an RFC 2562 transaction ("3270 Data Stream
 * Programmer's Reference", GA23-0059: Write, Erase/Write, Erase/Write Alternate carry a WCC).
 */
export function restoresKeyboard (record: Buffer): boolean {
  if (record.length < 2) return false
  const cmd = commandName(record[0]!)
  return cmd !== undefined && commandHasWcc(cmd) && (record[1]! & WccBit.KEYBOARD_RESTORE) !== 0
}
