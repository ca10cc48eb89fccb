// A negotiated TN3270 / TN3270E session (docs/internals.md §tn3270/). Adds and strips the
// TN3270E header (RFC 2355 §8.1), numbers outbound messages, and turns telnet commands into
// ATTN / SYSREQ events (RFC 2355 §10.4, §10.5; anchors §3.2).
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { ErrorCodes, isLbError, lbError } from '../errors.js'
import type { Logger } from '../observability/index.js'
import { Opt, type CommandName, type OptionChange, type TelnetConnection } from '../telnet/index.js'
import { ResponseFlag, ResponseKind, SEQ_MASK, type DataType, type Tn3270eFunction } from './constants.js'
import { decodeMessage, encodeMessage } from './header.js'
import type { LuLease } from './types.js'

export interface SessionData {
  type: '3270-DATA' | 'SCS-DATA' | 'SSCP-LU-DATA' | 'NVT-DATA'
  data: Buffer
  /** SEQ-NUMBER of the client's message (0 in TN3270 mode). */
  seq: number
  /** RESPONSE-FLAG: NO-RESPONSE 0, ERROR-RESPONSE 1, ALWAYS-RESPONSE 2 (0 in TN3270 mode). */
  responseFlag: number
}

export interface SessionResponse { seq: number, positive: boolean, code: number }

export interface Tn3270ServerSessionEvents {
  data: [SessionData]
  response: [SessionResponse]
  sysreq: []
  attn: []
  timingMarkReply: [verb: 'WILL' | 'WONT']
  close: [reason: string]
}

export interface SessionInit {
  conn: TelnetConnection
  logger: Logger
  client: string
  mode: 'tn3270e' | 'tn3270'
  deviceType: string
  lu: string
  lease: LuLease
  functions: ReadonlySet<Tn3270eFunction>
  rows: number
  cols: number
  altRows: number
  altCols: number
}

const DATA_TYPES: ReadonlySet<DataType> = new Set(['3270-DATA', 'SCS-DATA', 'SSCP-LU-DATA', 'NVT-DATA'])

export class Tn3270ServerSession extends EventEmitter<Tn3270ServerSessionEvents> {
  readonly mode: 'tn3270e' | 'tn3270'
  readonly deviceType: string
  readonly lu: string
  readonly lease: LuLease
  readonly functions: ReadonlySet<Tn3270eFunction>
  readonly rows: number
  readonly cols: number
  readonly altRows: number
  readonly altCols: number
  readonly socket: Socket
  readonly client: string
  readonly telnet: TelnetConnection
  private readonly log: Logger
  private seq = 0
  // Events raised before the caller could attach listeners (same tick as negotiateServer's
  // resolution) are held until setImmediate, so nothing the client sent early is lost.
  private held: Array<() => void> | null = []

  constructor (init: SessionInit) {
    super()
    this.telnet = init.conn
    this.socket = init.conn.socket
    this.log = init.logger
    this.client = init.client
    this.mode = init.mode
    this.deviceType = init.deviceType
    this.lu = init.lu
    this.lease = init.lease
    this.functions = init.functions
    this.rows = init.rows
    this.cols = init.cols
    this.altRows = init.altRows
    this.altCols = init.altCols
    const c = this.telnet
    c.on('record', (r) => this.guard(() => this.onRecord(r)))
    c.on('command', (cmd) => this.guard(() => this.onCommand(cmd)))
    c.on('option', (o) => this.guard(() => this.onOption(o)))
    c.on('nvt', (d) => this.log.debug({ event: 'tn3270_stray_nvt', bytes: d.length }, 'NVT data outside records ignored'))
    c.on('timingMarkReply', (v) => this.raise(() => this.emit('timingMarkReply', v)))
    c.on('close', (reason) => this.raise(() => this.emit('close', reason)))
    setImmediate(() => {
      const h = this.held
      this.held = null
      for (const f of h ?? []) this.guard(f)
    })
  }

  get closed (): boolean { return this.telnet.closed }

  /** Send 3270 data; in TN3270E mode with a header. Returns the SEQ when a response was asked for. */
  send3270 (data: Uint8Array, opts: { response?: boolean } = {}): number | undefined {
    return this.sendData('3270-DATA', data, opts.response === true)
  }

  /** SCS data (printers; RFC 2355 §10.3). */
  sendScs (data: Uint8Array, opts: { response?: boolean } = {}): number | undefined {
    return this.sendData('SCS-DATA', data, opts.response === true)
  }

  /** BIND-IMAGE (RFC 2355 §10.1); only with the BIND-IMAGE function. */
  sendBindImage (bindRu: Uint8Array): void {
    this.requireFunction('BIND-IMAGE', 'BIND-IMAGE')
    this.telnet.sendRecord(encodeMessage(this.header('BIND-IMAGE', 0), bindRu))
  }

  /** UNBIND (RFC 2355 §10.1): data is the UNBIND RU, request code X'32' + type. */
  sendUnbind (type: number): void {
    this.requireFunction('BIND-IMAGE', 'UNBIND')
    this.telnet.sendRecord(encodeMessage(this.header('UNBIND', 0), Buffer.from([0x32, type & 0xff])))
  }

  /** SSCP-LU-DATA (RFC 2355 §10.1, with BIND-IMAGE). */
  sendSscpLuData (data: Uint8Array): void {
    this.requireFunction('BIND-IMAGE', 'SSCP-LU-DATA')
    this.telnet.sendRecord(encodeMessage(this.header('SSCP-LU-DATA', 0), data))
  }

  /** NVT data: a NVT-DATA message in TN3270E, raw telnet data otherwise. */
  sendNvt (data: Uint8Array): void {
    if (this.mode === 'tn3270e') this.telnet.sendRecord(encodeMessage(this.header('NVT-DATA', 0), data))
    else this.telnet.sendData(data)
  }

  /** PRINT-EOJ (RFC 2355 §10.3, with SCS-CTL-CODES or DATA-STREAM-CTL). */
  sendPrintEoj (): void {
    if (this.mode !== 'tn3270e') throw lbError(ErrorCodes.TN3270_SESSION_STATE, 'PRINT-EOJ needs TN3270E')
    this.telnet.sendRecord(encodeMessage(this.header('PRINT-EOJ', 0)))
  }

  /** RESPONSE to a client message (RFC 2355 §10.2): copies the request's SEQ. */
  sendResponse (seq: number, positive: boolean, code: number): void {
    this.requireFunction('RESPONSES', 'RESPONSE')
    const h = { dataType: 'RESPONSE' as const, requestFlag: 0, responseFlag: positive ? ResponseKind.POSITIVE : ResponseKind.NEGATIVE, seq: seq & 0xffff }
    this.telnet.sendRecord(encodeMessage(h, Buffer.from([code & 0xff])))
  }

  sendTimingMark (done?: () => void): boolean { return this.telnet.sendTimingMark(done) }
  sendNop (done?: () => void): boolean { return this.telnet.sendNop(done) }
  close (reason: string): void {
    this.log.info({ event: 'tn3270_session_close', reason, lu: this.lu }, 'closing session')
    this.telnet.close(reason)
  }

  reset (reason: string): void {
    this.log.info({ event: 'tn3270_session_reset', reason, lu: this.lu }, 'resetting session')
    this.telnet.reset(reason)
  }

  private sendData (type: '3270-DATA' | 'SCS-DATA', data: Uint8Array, response: boolean): number | undefined {
    if (this.mode !== 'tn3270e') { this.telnet.sendRecord(data); return undefined }
    if (response && !this.functions.has('RESPONSES')) throw lbError(ErrorCodes.TN3270_SESSION_STATE, 'a response was requested but RESPONSES was not negotiated')
    const seq = this.seq
    this.seq = (this.seq + 1) & SEQ_MASK
    this.telnet.sendRecord(encodeMessage({ dataType: type, requestFlag: 0, responseFlag: response ? ResponseFlag.ALWAYS_RESPONSE : ResponseFlag.NO_RESPONSE, seq }, data))
    return response ? seq : undefined
  }

  private header (dataType: DataType, responseFlag: number): { dataType: DataType, requestFlag: number, responseFlag: number, seq: number } {
    return { dataType, requestFlag: 0, responseFlag, seq: 0 }
  }

  private requireFunction (f: Tn3270eFunction, what: string): void {
    if (this.mode !== 'tn3270e' || !this.functions.has(f)) {
      throw lbError(ErrorCodes.TN3270_SESSION_STATE, `cannot send ${what}: ${f} was not negotiated`)
    }
  }

  private onRecord (rec: Buffer): void {
    if (this.mode === 'tn3270') {
      this.raise(() => this.emit('data', { type: '3270-DATA', data: rec, seq: 0, responseFlag: 0 }))
      return
    }
    const { header, data } = decodeMessage(rec)
    if (DATA_TYPES.has(header.dataType)) {
      const ev: SessionData = { type: header.dataType as SessionData['type'], data, seq: header.seq, responseFlag: header.responseFlag }
      this.raise(() => this.emit('data', ev))
    } else if (header.dataType === 'RESPONSE') {
      const ev: SessionResponse = { seq: header.seq, positive: header.responseFlag === ResponseKind.POSITIVE, code: data[0] ?? 0 }
      this.raise(() => this.emit('response', ev))
    } else {
      this.log.debug({ event: 'tn3270e_ignored_message', dataType: header.dataType }, 'client message type not meaningful from a client; ignored')
    }
  }

  private onCommand (cmd: CommandName): void {
    if (cmd === 'IP' || cmd === 'BRK') {
      // ATTN: IAC IP in TN3270E (RFC 2355 §10.4); x3270 sends IAC BRK in TN3270 mode.
      this.raise(() => this.emit('attn'))
    } else if (cmd === 'AO' && this.mode === 'tn3270e' && this.functions.has('SYSREQ')) {
      // SYSREQ: IAC AO with the SYSREQ function (RFC 2355 §10.5).
      this.raise(() => this.emit('sysreq'))
    } else {
      this.log.debug({ event: 'telnet_command_ignored', command: cmd }, 'telnet command ignored in 3270 mode')
    }
  }

  private onOption (o: OptionChange): void {
    if (o.enabled) return
    const needed: number[] = this.mode === 'tn3270e' ? [Opt.TN3270E] : [Opt.BINARY, Opt.EOR, Opt.TTYPE]
    if (needed.includes(o.option)) {
      // Turning off any 3270 option leaves 3270 mode (RFC 1576 §2; RFC 2355 §7): end the session.
      this.close(`client left 3270 mode (disabled option ${o.option} on the ${o.side} side)`)
    }
  }

  private raise (fn: () => void): void {
    if (this.held !== null) this.held.push(fn)
    else fn()
  }

  private guard (fn: () => void): void {
    try { fn() } catch (err) {
      const reason = isLbError(err) ? `${err.code}: ${err.message}` : `internal error: ${err instanceof Error ? err.message : String(err)}`
      this.log.warn({ event: 'tn3270_session_error', reason }, 'closing session on bad input or handler failure')
      this.telnet.reset(reason)
    }
  }
}
