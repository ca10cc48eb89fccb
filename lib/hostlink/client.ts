// Gateway side of the `sna` host link: connect to the host (simulator), keep one SnaLink up,
// reconnect with capped exponential backoff and jitter whenever it goes down (docs/hostlink.md).
//
//   idle ──start()──▶ connecting ──TCP up──▶ link(hello → up) ──down──▶ waiting ──timer──▶ connecting
//                        └──refused/timeout──────────────────────────────▶ waiting
//   any ──close()──▶ closed (no timers, no socket)
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { systemClock, type Clock, type Timer } from '../clock.js'
import { ErrorCodes, lbError } from '../errors.js'
import type { Logger } from '../observability/index.js'
import { backoffDelay } from './backoff.js'
import { makeHello, type Hello, type LuOffer } from './hello.js'
import { SnaLink, linkDefaults, type DownInfo } from './link.js'

export interface SnaLinkClientOptions {
  /** Accepted so a gateway `hosts[].link` config section can be spread in as is. */
  type?: 'sna'
  host: string
  port: number
  /** Our PU name, sent in HELLO. */
  node: string
  /** Dependent LUs this gateway offers on the link. */
  lus?: LuOffer[]
  /** If set, the host's HELLO must carry this node name (the configured host name). */
  expectNode?: string
  keepaliveInterval?: number
  keepaliveLimit?: number
  reconnectMin?: number
  reconnectMax?: number
  connectTimeout?: number
  helloTimeout?: number
  maxPiuSize?: number
  closeTimeout?: number
  logger: Logger
  clock?: Clock
  random?: () => number
}

export interface SnaLinkClientEvents {
  up: [hello: Hello]
  down: [reason: string, info: DownInfo]
  piu: [piu: Buffer]
  drain: []
  /** A reconnect is scheduled: `attempt` failures in a row so far, next try in `delay` ms. */
  reconnect: [info: { attempt: number, delay: number }]
}

export type SnaLinkClientState = 'idle' | 'connecting' | 'hello' | 'up' | 'waiting' | 'closed'

export class SnaLinkClient extends EventEmitter<SnaLinkClientEvents> {
  private current: SnaLinkClientState = 'idle'
  private socket: net.Socket | undefined
  private link: SnaLink | undefined
  private retryTimer: Timer | undefined
  private connectTimer: Timer | undefined
  private failures = 0
  private readonly clock: Clock
  private readonly random: () => number
  private readonly hello: Hello
  private readonly log: Logger
  private readonly o: Required<Pick<SnaLinkClientOptions, 'keepaliveInterval' | 'keepaliveLimit' | 'reconnectMin' | 'reconnectMax' | 'connectTimeout' | 'helloTimeout' | 'maxPiuSize' | 'closeTimeout'>>
  private closing: Promise<void> | undefined

  constructor (private readonly opts: SnaLinkClientOptions) {
    super()
    this.clock = opts.clock ?? systemClock
    this.random = opts.random ?? Math.random
    this.hello = makeHello('gateway', opts.node, opts.lus)
    this.o = {
      ...linkDefaults,
      reconnectMin: 250,
      reconnectMax: 10_000,
      connectTimeout: 5000,
      ...Object.fromEntries(Object.entries({
        keepaliveInterval: opts.keepaliveInterval, keepaliveLimit: opts.keepaliveLimit, reconnectMin: opts.reconnectMin,
        reconnectMax: opts.reconnectMax, connectTimeout: opts.connectTimeout, helloTimeout: opts.helloTimeout,
        maxPiuSize: opts.maxPiuSize, closeTimeout: opts.closeTimeout,
      }).filter(([, v]) => v !== undefined)),
    }
    backoffDelay(0, this.o.reconnectMin, this.o.reconnectMax, () => 0) // validates min/max now
    // The gateway's logger already names the host (`host`); the link adds only what it is.
    this.log = opts.logger.child({ hostlink: 'sna' })
  }

  get state (): SnaLinkClientState { return this.current }
  get isUp (): boolean { return this.current === 'up' }
  /** The host's HELLO while up. */
  get peer (): Hello | undefined { return this.link?.peer }
  /** Failed attempts since the link was last up (drives the backoff). */
  get attempt (): number { return this.failures }

  /** Starts connecting (idempotent). Listen for 'up' / 'down' first. */
  start (): void {
    if (this.current !== 'idle') return
    this.connect()
  }

  /**
   * Sends one whole PIU. Throws HOSTLINK_DOWN while the link is not up (the caller learns of
   * it through 'down' and must not assume delivery); returns false under backpressure.
   */
  send (piu: Buffer): boolean {
    if (this.current !== 'up' || this.link === undefined) {
      throw lbError(ErrorCodes.HOSTLINK_DOWN, `host link to ${this.opts.expectNode ?? `${this.opts.host}:${this.opts.port}`} is ${this.current}; PIU of ${piu.length} bytes not sent`)
    }
    return this.link.send(piu)
  }

  /** Sends the PIUs batched in this turn now (SnaLink.flush); nothing while the link is not up. */
  flush (): void { this.link?.flush() }

  /** Stops reconnecting and closes the link (BYE). Resolves when no socket or timer is left. */
  close (): Promise<void> {
    if (this.closing !== undefined) return this.closing
    this.current = 'closed'
    if (this.retryTimer !== undefined) { this.clock.clearTimeout(this.retryTimer); this.retryTimer = undefined }
    if (this.connectTimer !== undefined) { this.clock.clearTimeout(this.connectTimer); this.connectTimer = undefined }
    const socket = this.socket
    const link = this.link
    this.closing = (async () => {
      if (link !== undefined) await link.close('gateway closing the link')
      else if (socket !== undefined && !socket.closed) { socket.destroy(); await new Promise(resolve => socket.once('close', resolve)) }
    })()
    return this.closing
  }

  private connect (): void {
    this.current = 'connecting'
    const socket = net.connect({ host: this.opts.host, port: this.opts.port, noDelay: true })
    this.socket = socket
    let reason: string | undefined
    this.connectTimer = this.clock.setTimeout(() => {
      this.connectTimer = undefined
      reason = `connect timeout after ${this.o.connectTimeout} ms`
      socket.destroy()
    }, this.o.connectTimeout)
    socket.on('error', (err: NodeJS.ErrnoException) => { reason ??= `connect failed: ${err.code ?? err.message}` })
    socket.once('close', () => {
      if (this.link !== undefined) return // the link reports its own down
      this.clearConnectTimer()
      this.socket = undefined
      this.ended(reason ?? 'connection closed before it was established', { wasUp: false })
    })
    socket.once('connect', () => {
      this.clearConnectTimer()
      if (this.closing !== undefined) { socket.destroy(); return }
      this.current = 'hello'
      const link = new SnaLink(socket, {
        role: 'gateway',
        hello: this.hello,
        ...(this.opts.expectNode === undefined ? {} : { expectNode: this.opts.expectNode }),
        keepaliveInterval: this.o.keepaliveInterval,
        keepaliveLimit: this.o.keepaliveLimit,
        helloTimeout: this.o.helloTimeout,
        maxPiuSize: this.o.maxPiuSize,
        closeTimeout: this.o.closeTimeout,
        logger: this.log,
        clock: this.clock,
        // Many sessions share the link: their records of one event-loop turn leave in one write.
        batch: 'turn',
      })
      this.link = link
      link.on('up', hello => {
        this.failures = 0
        if (this.closing !== undefined) return
        this.current = 'up'
        this.emit('up', hello)
      })
      link.on('piu', piu => this.emit('piu', piu))
      link.on('drain', () => this.emit('drain'))
      link.on('down', (why, info) => {
        this.link = undefined
        this.socket = undefined
        this.ended(why, info)
      })
    })
  }

  private clearConnectTimer (): void {
    if (this.connectTimer !== undefined) { this.clock.clearTimeout(this.connectTimer); this.connectTimer = undefined }
  }

  private ended (reason: string, info: DownInfo): void {
    this.emit('down', reason, info)
    if (this.closing !== undefined) return // closed, possibly by a 'down' listener
    const delay = backoffDelay(this.failures, this.o.reconnectMin, this.o.reconnectMax, this.random)
    this.failures++
    this.current = 'waiting'
    this.log.warn({ reason, attempt: this.failures, delay, code: info.error?.code }, `host link down (${reason}); reconnecting in ${delay} ms`)
    this.emit('reconnect', { attempt: this.failures, delay })
    this.retryTimer = this.clock.setTimeout(() => { this.retryTimer = undefined; this.connect() }, delay)
  }
}
