// One established TCP connection of the `sna` host link, either side: HELLO exchange, PIU
// frames, link-level keepalive (PING/PONG driven by the KeepAlive engine, KB Q137309), BYE
// (docs/hostlink.md).
//
//   hello ──valid peer HELLO──▶ up ──close()/BYE/bad frame/keepalive limit/socket gone──▶ down
//     └──── bad/missing HELLO, hello timeout ───────────────────────────────────────────▶ down
//
// 'down' is emitted exactly once, after the socket has closed, with the first reason recorded.
import { abortSocket } from '../telnet/index.js'
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import type { Clock, Timer } from '../clock.js'
import { ErrorCodes, lbError, Tn3270LbError } from '../errors.js'
import type { Logger } from '../observability/index.js'
import { attachKeepAlive, type KeepAliveHandle, type KeepAliveTarget } from '../keepalive/index.js'
import { DEFAULT_MAX_PIU, FrameDecoder, encodeBye, encodeHello, encodePiu, encodePing, encodePong, type Frame } from './frame.js'
import { checkHello, type Hello, type LinkRole } from './hello.js'

export type LinkState = 'hello' | 'up' | 'closing' | 'down'

export interface SnaLinkOptions {
  /** Our side of the link; the peer must be the other role. */
  role: LinkRole
  /** Our HELLO (makeHello). */
  hello: Hello
  /** If set, the peer's HELLO must name this node. */
  expectNode?: string
  keepaliveInterval: number
  keepaliveLimit: number
  helloTimeout: number
  maxPiuSize: number
  /** After close(): how long the orderly close may take before the socket is destroyed. */
  closeTimeout: number
  logger: Logger
  clock: Clock
  /**
   * How long PIU writes are batched: 'tick' (default) until the current callback's nextTicks
   * have run; 'turn' until the event loop's turn ends (setImmediate), so the records of every
   * client read in that turn leave in one write (the gateway's side, many sessions per link).
   */
  batch?: 'tick' | 'turn'
}

export interface DownInfo {
  /** The link had exchanged HELLOs before it went down. */
  wasUp: boolean
  /** The protocol error behind the close, if any (HOSTLINK_FRAME, HOSTLINK_HELLO, KEEPALIVE_LIMIT). */
  error?: Tn3270LbError
}

export interface SnaLinkEvents {
  up: [hello: Hello]
  piu: [piu: Buffer]
  down: [reason: string, info: DownInfo]
  drain: []
}

export class SnaLink extends EventEmitter<SnaLinkEvents> {
  private current: LinkState = 'hello'
  private peerHello: Hello | undefined
  private reason: string | undefined
  private error: Tn3270LbError | undefined
  private wasUp = false
  private readonly decoder: FrameDecoder
  private helloTimer: Timer | undefined
  private closeTimer: Timer | undefined
  private keepalive: KeepAliveHandle | undefined
  private pingSeq = 0
  /** PIU writes of this batch are corked into one (batchThisTurn, `batch`). */
  private corked = false
  /** The end-of-batch uncork is scheduled; it survives an early flush(). */
  private uncorkScheduled = false
  private outstandingPing: number | undefined
  private pongListener: (() => void) | undefined
  private readonly closed: Promise<void>
  readonly remote: string
  private readonly log: Logger

  constructor (private readonly socket: Socket, private readonly opts: SnaLinkOptions) {
    super()
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`
    // The caller's logger names the link (client.ts, server.ts bind `hostlink`): only the peer here.
    this.log = opts.logger.child({ peerAddress: this.remote })
    this.decoder = new FrameDecoder(opts.maxPiuSize)
    this.closed = new Promise(resolve => socket.once('close', () => resolve()))
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => this.emit('drain'))
    socket.on('end', () => this.note('peer closed the connection without BYE'))
    socket.on('error', (err: NodeJS.ErrnoException) => this.note(`socket error: ${err.code ?? err.message}`))
    socket.once('close', () => this.onClose())
    this.helloTimer = opts.clock.setTimeout(() => {
      this.helloTimer = undefined
      this.fail(lbError(ErrorCodes.HOSTLINK_HELLO, `no HELLO from the peer within ${opts.helloTimeout} ms`))
    }, opts.helloTimeout)
    socket.write(encodeHello(opts.hello))
  }

  get state (): LinkState { return this.current }
  get up (): boolean { return this.current === 'up' }
  /** The peer's HELLO once the link is up. */
  get peer (): Hello | undefined { return this.peerHello }
  /** Bytes queued toward the peer in this process (socket.writableLength). */
  get queued (): number { return this.socket.writableLength }

  /**
   * Sends one whole PIU. Returns false when the socket's buffer is above its high-water mark
   * (wait for 'drain'), like net.Socket#write. Throws HOSTLINK_DOWN unless the link is up,
   * HOSTLINK_FRAME for an empty or oversized PIU.
   */
  send (piu: Buffer): boolean {
    if (this.current !== 'up') throw lbError(ErrorCodes.HOSTLINK_DOWN, `host link to ${this.peerHello?.node ?? this.remote} is ${this.current === 'hello' ? 'not up yet' : 'down'}; PIU of ${piu.length} bytes not sent`)
    this.batchThisTurn()
    return this.socket.write(encodePiu(piu, this.opts.maxPiuSize))
  }

  /**
   * Sends what this turn has batched now rather than at its end: for a PIU the peer is waiting
   * for before it can send again (a pacing response, KB Q181737), so it is not held behind the
   * rest of the turn's work.
   */
  flush (): void {
    if (!this.corked) return
    this.corked = false
    this.socket.uncork()
  }

  /**
   * Every PIU sent in this batch leaves in one writev instead of one write each: a pacing window
   * the host sends on an IPR, the responses and IPRs for one received chunk, and with
   * `batch: 'turn'` the inbound records of every client whose data was read in this turn of the
   * event loop (the uncork runs after the turn's I/O callbacks, not after each one).
   */
  private batchThisTurn (): void {
    if (this.corked) return
    this.corked = true
    this.socket.cork()
    if (this.uncorkScheduled) return
    this.uncorkScheduled = true
    if (this.opts.batch === 'turn') setImmediate(this.endOfBatch)
    else process.nextTick(this.endOfBatch)
  }

  private readonly endOfBatch = (): void => {
    this.uncorkScheduled = false
    this.flush()
  }

  /** Orderly close: BYE with the reason, FIN, destroy if not closed within closeTimeout. */
  close (reason = 'closed by the local side'): Promise<void> {
    if (this.current === 'down' || this.current === 'closing') return this.closed
    this.note(reason)
    this.current = 'closing'
    this.stopTimers()
    if (!this.socket.destroyed) {
      this.socket.end(encodeBye(reason))
      this.closeTimer = this.opts.clock.setTimeout(() => { this.closeTimer = undefined; this.socket.destroy() }, this.opts.closeTimeout)
    }
    return this.closed
  }

  private note (reason: string, error?: Tn3270LbError): void {
    if (this.reason === undefined) { this.reason = reason; this.error = error }
  }

  /** Protocol error: tell the peer why (best effort), then drop the connection. */
  private fail (err: Tn3270LbError): void {
    if (this.current !== 'hello' && this.current !== 'up') return
    this.note(err.message, err)
    this.log.warn({ err: { code: err.code, message: err.message } }, `host link protocol error; closing: ${err.message}`)
    this.current = 'closing'
    this.stopTimers()
    if (!this.socket.destroyed) {
      this.socket.end(encodeBye(err.message))
      this.closeTimer = this.opts.clock.setTimeout(() => { this.closeTimer = undefined; this.socket.destroy() }, this.opts.closeTimeout)
    }
  }

  private onData (chunk: Buffer): void {
    if (this.current === 'closing' || this.current === 'down') return
    const { frames, error } = this.decoder.push(chunk)
    for (const f of frames) {
      this.onFrame(f)
      if (this.current !== 'hello' && this.current !== 'up') return
    }
    if (error !== undefined) this.fail(error)
  }

  private onFrame (f: Frame): void {
    if (this.current === 'hello') {
      if (f.type === 'BYE') { this.byeFromPeer(f.reason); return }
      if (f.type !== 'HELLO') { this.fail(lbError(ErrorCodes.HOSTLINK_HELLO, `expected HELLO as the first frame, got ${f.type}`)); return }
      const hello = checkHello(f.hello, this.opts.role === 'gateway' ? 'host' : 'gateway', this.opts.expectNode)
      if (hello instanceof Tn3270LbError) { this.fail(hello); return }
      this.peerHello = hello
      this.current = 'up'
      this.wasUp = true
      if (this.helloTimer !== undefined) { this.opts.clock.clearTimeout(this.helloTimer); this.helloTimer = undefined }
      this.startKeepAlive()
      this.log.info({ peer: hello.node, peerRole: hello.role, version: hello.version, lus: hello.lus?.length }, 'host link up')
      this.emit('up', hello)
      return
    }
    switch (f.type) {
      case 'PIU': this.emit('piu', f.piu); return
      case 'PING': this.socket.write(encodePong(f.id)); return
      case 'PONG':
        if (f.id === this.outstandingPing) { this.outstandingPing = undefined; this.pongListener?.() }
        return
      case 'BYE': this.byeFromPeer(f.reason); return
      case 'HELLO': this.fail(lbError(ErrorCodes.HOSTLINK_HELLO, 'second HELLO on a link that is already up'))
    }
  }

  private byeFromPeer (reason: string): void {
    this.note(`peer closed the link: ${reason === '' ? '(no reason given)' : reason}`)
    this.current = 'closing'
    this.stopTimers()
    this.socket.end()
    this.closeTimer = this.opts.clock.setTimeout(() => { this.closeTimer = undefined; this.socket.destroy() }, this.opts.closeTimeout)
  }

  private startKeepAlive (): void {
    const target: KeepAliveTarget = {
      sendProbe: (_method, done) => {
        const id = this.pingSeq = (this.pingSeq + 1) >>> 0
        this.outstandingPing = id
        this.socket.write(encodePing(id), err => { if (err == null) done() })
      },
      onReply: (cb) => { this.pongListener = cb },
      onClose: (cb) => { this.socket.once('close', cb) },
      reset: () => { abortSocket(this.socket) },
      end: () => { this.socket.end() },
    }
    this.keepalive = attachKeepAlive(target, {
      method: 'timingmark', // a probe that needs an answer: PING → PONG
      watchdogTimeout: this.opts.keepaliveInterval,
      keepAliveLimit: this.opts.keepaliveLimit,
      hardClose: true,
      gracefulCloseTimeout: 0,
    }, {
      logger: this.log,
      clock: this.opts.clock,
      client: this.remote,
      onAbort: (err) => {
        this.note(`keepalive timeout: no PONG for ${this.opts.keepaliveLimit} intervals of ${this.opts.keepaliveInterval} ms`, err)
        this.current = 'closing' // the engine resets the socket next
      },
    })
  }

  private stopTimers (): void {
    if (this.helloTimer !== undefined) { this.opts.clock.clearTimeout(this.helloTimer); this.helloTimer = undefined }
    this.keepalive?.stop()
  }

  private onClose (): void {
    this.stopTimers()
    if (this.closeTimer !== undefined) { this.opts.clock.clearTimeout(this.closeTimer); this.closeTimer = undefined }
    this.current = 'down'
    const reason = this.reason ?? 'connection closed'
    const info: DownInfo = this.error === undefined ? { wasUp: this.wasUp } : { wasUp: this.wasUp, error: this.error }
    this.log.info({ reason, wasUp: this.wasUp, code: this.error?.code }, `host link down: ${reason}`)
    this.emit('down', reason, info)
  }
}

export const linkDefaults = {
  keepaliveInterval: 5000,
  keepaliveLimit: 3,
  helloTimeout: 5000,
  maxPiuSize: DEFAULT_MAX_PIU,
  closeTimeout: 1000,
}
