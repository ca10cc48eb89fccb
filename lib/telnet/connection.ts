// TelnetConnection: TelnetParser + OptionTable bound to a net.Socket. It owns the byte-level
// protocol (IAC doubling, EOR framing, option negotiation, TIMING-MARK) and reports
// higher-level events. Nothing thrown by the parser or by a listener escapes a socket
// handler: bad input closes this connection only, with a logged reason.
import { presetEventShape } from '../event-shape.js'
import { abortSocket } from './abort.js'
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import type { Logger } from '../observability/index.js'
import { silentLogger } from '../observability/index.js'
import { isLbError } from '../errors.js'
import { IAC, SB, SE, NOP, VERB_CODE, Opt, doubleIac, encodeRecord, optionName, type CommandName, type Verb } from './codes.js'
import { TelnetParser, type ParserLimits, type TelnetEvent } from './parser.js'
import { OptionTable, type OptionChange, type OptionResult, type Side } from './options.js'

export interface TelnetConnectionOptions {
  logger?: Logger
  limits?: ParserLimits
  /** Options we agree to enable on our side when the peer asks (DO). */
  acceptLocal?: Iterable<number>
  /** Options we let the peer enable (WILL). */
  acceptRemote?: Iterable<number>
  /** Grace period for a graceful close before the socket is destroyed (ms). */
  closeGraceMs?: number
  /** Options already in force on this stream (agreed before a hand-over); no bytes are sent for them. */
  agreed?: Iterable<{ side: Side, option: number }>
}

export interface TelnetConnectionEvents {
  record: [data: Buffer]
  nvt: [data: Buffer]
  subneg: [option: number, data: Buffer]
  option: [change: OptionChange]
  negotiate: [verb: Verb, option: number]
  timingMarkReply: [verb: 'WILL' | 'WONT']
  command: [command: CommandName]
  close: [reason: string]
}

/** Every event a TelnetConnection emits, in the order event-shape.ts wants them. */
const TELNET_EVENTS: ReadonlyArray<keyof TelnetConnectionEvents> = ['record', 'command', 'option', 'nvt', 'timingMarkReply', 'close', 'negotiate', 'subneg']

function uncorkConnection (c: TelnetConnection): void { c.uncork() }

export class TelnetConnection extends EventEmitter<TelnetConnectionEvents> {
  readonly socket: Socket
  readonly options: OptionTable
  readonly acceptLocal: Set<number>
  readonly acceptRemote: Set<number>
  /** When true, data is collected into records ended by IAC EOR; otherwise it is NVT data. */
  recordMode = false
  private readonly parser: TelnetParser
  private readonly log: Logger
  private readonly closeGraceMs: number
  private chunks: Buffer[] = []
  private outstandingTm = 0
  /** Writes of this tick are corked into one (see write). */
  private corked = false
  private closing: string | undefined
  private closedEmitted = false
  /**
   * Input kept as it came while a decision is pending (hold()); undefined while parsing. The
   * parser stops at the event that asked for the hold, so these are whole telnet bytes.
   */
  private held: Buffer[] | undefined
  private readonly socketHandlers: { data: (c: Buffer) => void, error: (e: Error) => void, close: () => void, end: () => void }

  constructor (socket: Socket, opts: TelnetConnectionOptions = {}) {
    super()
    // The negotiation's own listeners go when it ends (tn3270 driver.ts): SUBNEG is the one event
    // only it listens to, so it comes last (event-shape.ts).
    presetEventShape(this, TELNET_EVENTS)
    this.socket = socket
    this.log = opts.logger ?? silentLogger()
    this.parser = new TelnetParser(opts.limits)
    this.closeGraceMs = opts.closeGraceMs ?? 2000
    this.acceptLocal = new Set(opts.acceptLocal ?? [])
    this.acceptRemote = new Set(opts.acceptRemote ?? [])
    this.options = new OptionTable({
      acceptLocal: (o) => this.acceptLocal.has(o),
      acceptRemote: (o) => this.acceptRemote.has(o),
    })
    for (const a of opts.agreed ?? []) this.options.assume(a.side, a.option)
    this.socketHandlers = {
      data: (chunk: Buffer) => this.onData(chunk),
      error: (err: Error) => { this.closing ??= `socket error: ${err.message}` },
      close: () => this.emitClose(this.closing ?? 'peer closed the connection'),
      end: () => { this.closing ??= 'peer closed the connection'; if (!socket.destroyed) socket.end() },
    }
    for (const [event, fn] of Object.entries(this.socketHandlers)) socket.on(event, fn)
  }

  get closed (): boolean { return this.closing !== undefined || this.socket.destroyed }
  get closeReason (): string | undefined { return this.closing }
  /** DO TIMING-MARK sent and not yet answered. */
  get timingMarksOutstanding (): number { return this.outstandingTm }

  isLocal (option: number): boolean { return this.options.isEnabled('local', option) }
  isRemote (option: number): boolean { return this.options.isEnabled('remote', option) }

  enableLocal (option: number): void { this.acceptLocal.add(option); this.apply(this.options.request('local', option, true)) }
  disableLocal (option: number): void { this.apply(this.options.request('local', option, false)) }
  enableRemote (option: number): void { this.acceptRemote.add(option); this.apply(this.options.request('remote', option, true)) }
  disableRemote (option: number): void { this.apply(this.options.request('remote', option, false)) }
  /** Enable or disable one side, ignoring "already in that state" (RFC 1143: no redundant bytes). */
  request (side: Side, option: number, enable: boolean): void {
    if (side === 'local') { if (enable) this.enableLocal(option); else this.disableLocal(option) } else if (enable) this.enableRemote(option); else this.disableRemote(option)
  }

  /**
   * Stop interpreting input after the event being handled now (a device request waiting for a
   * decision): later bytes are kept exactly as they arrive, and the peer closing is still seen.
   */
  hold (): void { this.held ??= [] }

  /** Interpret what was held, in order, then go on as before. */
  unhold (): void {
    const queue = this.held
    if (queue === undefined) return
    this.held = undefined
    for (let i = 0; i < queue.length; i++) {
      this.onData(queue[i]!)
      // Held again by what those bytes said: keep the rest behind what is held now.
      const again = this.heldNow()
      if (again !== undefined) { again.push(...queue.slice(i + 1)); return }
    }
  }

  /**
   * Hand the socket to someone else (a front proxy passing the client on, docs/tn3270.md): no
   * more parsing, writing or events from this connection. Returns the bytes held since hold(),
   * which the new owner must treat as the next bytes from the peer. The socket is left paused.
   */
  release (): Buffer {
    const rest = Buffer.concat(this.held ?? [])
    this.held = undefined
    this.closing ??= 'handed over'
    this.closedEmitted = true
    this.socket.pause()
    for (const [event, fn] of Object.entries(this.socketHandlers)) this.socket.off(event, fn)
    return rest
  }

  /**
   * One record: IAC doubled, terminated by IAC EOR (RFC 885). `head` (a TN3270E header) goes
   * before `data` in the same single allocation.
   */
  sendRecord (data: Uint8Array, done?: () => void, head?: Uint8Array): boolean {
    return this.write(encodeRecord(data, head), done)
  }

  /** NVT data (IAC doubled, no EOR). */
  sendData (data: Uint8Array, done?: () => void): boolean { return this.write(doubleIac(data), done) }

  /** IAC SB option <data, IAC doubled> IAC SE (RFC 855). */
  sendSubneg (option: number, data: Uint8Array, done?: () => void): boolean {
    return this.write(Buffer.concat([Buffer.from([IAC, SB, option]), doubleIac(data), Buffer.from([IAC, SE])]), done)
  }

  /** A bare command, e.g. IAC NOP. */
  sendCommand (code: number, done?: () => void): boolean { return this.write(Buffer.from([IAC, code]), done) }

  /** IAC DO TIMING-MARK (RFC 860); the peer's WILL or WONT is the `timingMarkReply` event. */
  sendTimingMark (done?: () => void): boolean {
    if (this.closed) return false
    this.outstandingTm++
    return this.write(Buffer.from([IAC, VERB_CODE.DO, Opt.TIMING_MARK]), done)
  }

  sendNop (done?: () => void): boolean { return this.sendCommand(NOP, done) }

  /** Graceful close: FIN now, destroy after a bounded grace period. */
  close (reason: string): void {
    if (this.closing !== undefined) return
    this.closing = reason
    if (this.socket.destroyed) { this.emitClose(reason); return }
    this.socket.end()
    const t = setTimeout(() => this.socket.destroy(), this.closeGraceMs)
    t.unref()
    this.socket.once('close', () => clearTimeout(t))
  }

  /** Abortive close (RST). */
  reset (reason: string): void {
    if (this.closing === undefined) this.closing = reason
    abortSocket(this.socket)
  }

  private write (buf: Buffer, done?: () => void): boolean {
    if (this.closed) return false
    // Everything written in this turn of the event loop (the records of one window, a response
    // and the next screen) leaves in one writev, not one write() per record.
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(uncorkConnection, this)
    }
    // The write callback runs when the bytes were handed to the kernel (or failed).
    return this.socket.write(buf, done === undefined ? undefined : () => { try { done() } catch (err) { this.fail(err) } })
  }

  /** @internal The end of this tick's batch (see write). */
  uncork (): void {
    this.corked = false
    this.socket.uncork()
  }

  private onData (chunk: Buffer): void {
    if (this.closing !== undefined) return
    if (this.held !== undefined) { this.held.push(chunk); return }
    try {
      const used = this.parser.feedEach(chunk, (ev) => {
        this.dispatch(ev)
        return this.closing === undefined && this.held === undefined
      })
      const held = this.heldNow()
      if (held !== undefined && this.closing === undefined && used < chunk.length) held.push(chunk.subarray(used))
    } catch (err) {
      this.fail(err)
    }
  }

  /** The hold as it is now (handlers called in between may have changed it). */
  private heldNow (): Buffer[] | undefined { return this.held }

  private fail (err: unknown): void {
    const reason = isLbError(err) ? `${err.code}: ${err.message}` : `internal error: ${err instanceof Error ? err.message : String(err)}`
    this.log.warn({ event: 'telnet_error', reason }, 'closing telnet connection: bad input or handler failure')
    this.reset(reason)
  }

  private dispatch (ev: TelnetEvent): void {
    switch (ev.type) {
      case 'data':
        if (this.recordMode) this.chunks.push(ev.data)
        else this.emit('nvt', ev.data)
        break
      case 'eor': {
        // Data runs are views of the socket's chunk (the parser does not copy): one copy here
        // gives the record its own memory, so a kept record does not pin a 64 KiB read.
        const rec = this.chunks.length === 1 ? Buffer.from(this.chunks[0]!) : Buffer.concat(this.chunks)
        this.chunks = []
        if (this.recordMode) this.emit('record', rec)
        else this.log.debug({ event: 'telnet_stray_eor' }, 'IAC EOR outside record mode ignored')
        break
      }
      case 'command':
        this.emit('command', ev.command)
        break
      case 'subneg':
        this.emit('subneg', ev.option, ev.data)
        break
      case 'negotiate':
        this.onNegotiate(ev.verb, ev.option)
        break
    }
  }

  private onNegotiate (verb: Verb, option: number): void {
    this.emit('negotiate', verb, option)
    if (option === Opt.TIMING_MARK) {
      // RFC 860: TIMING-MARK carries no lasting state, so it bypasses the Q method.
      if (verb === 'DO') {
        // Everything before the DO has been processed (dispatch is synchronous): confirm.
        this.write(Buffer.from([IAC, VERB_CODE.WILL, Opt.TIMING_MARK]))
      } else if (verb === 'WILL' || verb === 'WONT') {
        if (this.outstandingTm > 0) { this.outstandingTm--; this.emit('timingMarkReply', verb) } else this.log.debug({ event: 'telnet_unsolicited_tm', verb }, 'unsolicited TIMING-MARK reply ignored')
      } // DONT TM: we never turn TM on, nothing to acknowledge.
      return
    }
    this.apply(this.options.received(verb, option))
  }

  private apply (r: OptionResult): void {
    if (r.send.length > 0) {
      const bytes: number[] = []
      for (const n of r.send) bytes.push(IAC, VERB_CODE[n.verb], n.option)
      this.write(Buffer.from(bytes))
    }
    for (const e of r.errors) this.log.debug({ event: 'telnet_option_note', note: e }, 'option negotiation note')
    for (const c of r.changes) {
      this.log.debug({ event: 'telnet_option', side: c.side, option: optionName(c.option), enabled: c.enabled }, 'option changed')
      this.emit('option', c)
    }
  }

  private emitClose (reason: string): void {
    if (this.closedEmitted) return
    this.closedEmitted = true
    this.closing ??= reason
    try { this.emit('close', this.closing) } catch (err) {
      this.log.error({ event: 'telnet_close_handler_error', err }, 'close listener threw')
    }
  }
}
