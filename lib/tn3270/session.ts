// The session core both roles share once negotiation is over (docs/tn3270.md): records in and
// out with the TN3270E header added and stripped (RFC 2355 §8.1), SEQ numbering, RESPONSE
// messages (RFC 2355 §10.2), events held until the owner has attached its listeners, leaving
// 3270 mode when a 3270 option is turned off (RFC 1576 §2; RFC 2355 §7), close and reset,
// TIMING-MARK (RFC 860) and NOP. The server and client sessions add what only their role does.
import { presetEventShape } from '../event-shape.js'
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { ErrorCodes, errorMessage, isLbError, lbError } from '../errors.js'
import type { Logger } from '../observability/index.js'
import { optionName, type CommandName, type OptionChange, type TelnetConnection } from '../telnet/index.js'
import { DATA_TYPE_CODE, ResponseFlag, ResponseKind, SEQ_MASK, type DataType, type Tn3270eFunction } from './constants.js'
import { encodeMessage, HEADER_LENGTH } from './header.js'
import { decodeRecord, type SessionData, type SessionResponse } from './record.js'

export interface Tn3270SessionEvents {
  data: [SessionData]
  response: [SessionResponse]
  timingMarkReply: [verb: 'WILL' | 'WONT']
  /** PRINT-EOJ from a host (RFC 2355 §10.3): the print job sent so far is complete. */
  printEoj: []
  close: [reason: string]
}

/** The events every session emits: its listener storage starts with these (event-shape.ts). */
const SESSION_EVENTS: ReadonlyArray<keyof Tn3270SessionEvents> = ['data', 'response', 'timingMarkReply', 'printEoj', 'close']

export interface SessionCoreInit {
  conn: TelnetConnection
  logger: Logger
  mode: 'tn3270e' | 'tn3270'
  functions: ReadonlySet<Tn3270eFunction>
  /** Who is on the other end, for messages: a server talks to a client, a client to a host. */
  peer: 'client' | 'host'
  /** Options whose loss ends 3270 mode for this role (RFC 1576 §2; RFC 2355 §7: TN3270E alone). */
  modeOptions: readonly number[]
}

/** The TN3270E header of the record being sent (see sendData): filled and copied at once. */
const RECORD_HEADER = Buffer.alloc(HEADER_LENGTH)

// A subclass's event map adds events; the core emits only the ones it declares.
type Events<E> = { [K in keyof E]: unknown[] }

export abstract class Tn3270Session<E extends Events<E> & Tn3270SessionEvents = Tn3270SessionEvents> extends EventEmitter<E> {
  readonly mode: 'tn3270e' | 'tn3270'
  readonly functions: ReadonlySet<Tn3270eFunction>
  readonly telnet: TelnetConnection
  protected readonly log: Logger
  protected readonly peer: 'client' | 'host'
  private readonly modeOptions: readonly number[]
  private seq = 0
  // Events raised before the owner attached its listeners (negotiation resolves in the same
  // tick as later records of one TCP chunk are parsed) are held and replayed in order by start().
  private held: Array<() => void> | null = []

  constructor (init: SessionCoreInit) {
    super()
    presetEventShape(this, SESSION_EVENTS)
    ;({ conn: this.telnet, logger: this.log, mode: this.mode, functions: this.functions, peer: this.peer, modeOptions: this.modeOptions } = init)
    const c = this.telnet
    c.on('record', (r) => this.guard(() => this.onRecord(r)))
    c.on('command', (cmd) => this.guard(() => this.onCommand(cmd)))
    c.on('option', (o) => this.guard(() => this.onOption(o)))
    c.on('nvt', (d) => this.log.debug({ event: 'tn3270_stray_nvt', bytes: d.length }, 'NVT data outside records ignored'))
    c.on('timingMarkReply', (v) => this.hold('timingMarkReply', [v]))
    c.on('close', (reason) => this.hold('close', [reason]))
  }

  get socket (): Socket { return this.telnet.socket }
  get closed (): boolean { return this.telnet.closed }

  /** Listeners are attached: replay what arrived meanwhile, in order, and deliver from now on. */
  start (): void {
    const h = this.held
    if (h === null) return
    this.held = null
    for (const f of h) this.guard(f)
  }

  /** RESPONSE to a peer's message (RFC 2355 §10.2): copies the request's SEQ. Only with RESPONSES. */
  sendResponse (seq: number, positive: boolean, code: number): void {
    this.requireFunction('RESPONSES', 'a RESPONSE')
    const h = { dataType: 'RESPONSE' as const, requestFlag: 0, responseFlag: positive ? ResponseKind.POSITIVE : ResponseKind.NEGATIVE, seq: seq & 0xffff }
    this.telnet.sendRecord(encodeMessage(h, Buffer.from([code & 0xff])))
  }

  sendTimingMark (done?: () => void): boolean { return this.telnet.sendTimingMark(done) }
  sendNop (done?: () => void): boolean { return this.telnet.sendNop(done) }
  close (reason: string): void { this.telnet.close(reason) }
  /** Abortive close: RST on TCP; a TLS socket cannot send RST from Node, so it is destroyed. */
  reset (reason: string): void { this.telnet.reset(reason) }

  /**
   * 3270 or SCS data: in TN3270E with a header carrying the next SEQ-NUMBER (15 bits, wrapping
   * like x3270 and z/OS); returns that SEQ when a response was asked for. Plain TN3270 records
   * carry no header.
   */
  protected sendData (type: '3270-DATA' | 'SCS-DATA', data: Uint8Array, responseFlag: number, done?: () => void): number | undefined {
    if (this.mode !== 'tn3270e') { this.telnet.sendRecord(data, done); return undefined }
    const seq = this.seq
    this.seq = (this.seq + 1) & SEQ_MASK
    // Header and data go into the record in one copy (encodeRecord), not concatenated first. The
    // header is written into one scratch buffer all sessions share: sendRecord copies it before it
    // returns, so nothing is allocated for it per record (RFC 2355 §8.1 layout, as encodeHeader).
    const head = RECORD_HEADER
    head[0] = DATA_TYPE_CODE[type]
    head[1] = 0
    head[2] = responseFlag & 0xff
    head[3] = seq >>> 8
    head[4] = seq & 0xff
    this.telnet.sendRecord(data, done, head)
    return responseFlag === ResponseFlag.NO_RESPONSE ? undefined : seq
  }

  /** A header-only or unnumbered TN3270E message (BIND-IMAGE, UNBIND, NVT-DATA, ...): SEQ 0. */
  protected sendMessage (dataType: DataType, data: Uint8Array = Buffer.alloc(0)): void {
    this.telnet.sendRecord(encodeMessage({ dataType, requestFlag: 0, responseFlag: 0, seq: 0 }, data))
  }

  protected requireFunction (f: Tn3270eFunction, what: string): void {
    if (this.mode !== 'tn3270e' || !this.functions.has(f)) {
      throw lbError(ErrorCodes.TN3270_SESSION_STATE, `cannot send ${what}: ${f} was not negotiated with the ${this.peer}`)
    }
  }

  /** Telnet commands after negotiation: the server turns some into ATTN / SYSREQ. */
  protected onCommand (cmd: CommandName): void {
    this.log.debug({ event: 'telnet_command_ignored', command: cmd }, 'telnet command ignored in 3270 mode')
  }

  /** Emit a role's own event now, or hold it until start(). */
  protected raise<K extends keyof E & string> (event: K, ...args: E[K]): void { this.hold(event, args) }

  private hold (event: string, args: unknown[]): void {
    // Once started (every record after the first turn), straight to the listeners: no closure per record.
    if (this.held === null) {
      if (args.length === 1) EventEmitter.prototype.emit.call(this, event, args[0])
      else EventEmitter.prototype.emit.call(this, event, ...args)
      return
    }
    this.held.push(() => { EventEmitter.prototype.emit.call(this, event, ...args) })
  }

  private onRecord (rec: Buffer): void {
    const d = decodeRecord(this.mode, rec)
    if (d.kind === 'data') this.hold('data', [d.data])
    else if (d.kind === 'response') this.hold('response', [d.response])
    else if (d.kind === 'print-eoj' && this.peer === 'host') this.hold('printEoj', [])
    else this.log.debug({ event: 'tn3270e_ignored_message', dataType: d.kind === 'print-eoj' ? 'PRINT-EOJ' : d.dataType }, `${this.peer} message type not meaningful here; ignored`)
  }

  private onOption (o: OptionChange): void {
    if (o.enabled || !this.modeOptions.includes(o.option)) return
    // Turning off any 3270 option leaves 3270 mode (RFC 1576 §2; RFC 2355 §7): end the session.
    this.close(`${this.peer} left 3270 mode (disabled option ${o.option} ${optionName(o.option)} on the ${o.side} side)`)
  }

  // Bad input or a failing listener ends this session only, with its reason logged.
  private guard (fn: () => void): void {
    try { fn() } catch (err) {
      const reason = isLbError(err) ? `${err.code}: ${err.message}` : `internal error: ${errorMessage(err)}`
      this.log.warn({ event: 'tn3270_session_error', reason }, `closing the ${this.peer} connection on bad input or handler failure`)
      this.telnet.reset(reason)
    }
  }
}
