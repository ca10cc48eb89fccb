// The server role of a negotiated TN3270 / TN3270E session (docs/internals.md §tn3270/): what a
// server sends beyond 3270 data (SCS, BIND-IMAGE, UNBIND, SSCP-LU-DATA, NVT, PRINT-EOJ; RFC 2355
// §10) and the client's ATTN and SYSREQ keys as events (RFC 2355 §10.4, §10.5).
import { presetEventShape } from '../event-shape.js'
import { ErrorCodes, lbError } from '../errors.js'
import { Opt, type CommandName } from '../telnet/index.js'
import { ResponseFlag } from './constants.js'
import { Tn3270Session, type SessionCoreInit, type Tn3270SessionEvents } from './session.js'
import type { LuLease } from './types.js'

export interface Tn3270ServerSessionEvents extends Tn3270SessionEvents {
  sysreq: []
  attn: []
}

/** Shared by every session of a mode rather than an array each. */
const TN3270E_MODE: readonly number[] = Object.freeze([Opt.TN3270E])
const TN3270_MODE: readonly number[] = Object.freeze([Opt.BINARY, Opt.EOR, Opt.TTYPE])
const SERVER_SESSION_EVENTS: ReadonlyArray<keyof Tn3270ServerSessionEvents> = ['data', 'response', 'timingMarkReply', 'printEoj', 'close', 'sysreq', 'attn']

export interface ServerSessionInit extends Omit<SessionCoreInit, 'peer' | 'modeOptions'> {
  client: string
  deviceType: string
  lu: string
  lease: LuLease
  rows: number
  cols: number
  altRows: number
  altCols: number
}

export class Tn3270ServerSession extends Tn3270Session<Tn3270ServerSessionEvents> {
  readonly deviceType: string
  readonly lu: string
  readonly lease: LuLease
  readonly rows: number
  readonly cols: number
  readonly altRows: number
  readonly altCols: number
  readonly client: string

  constructor (init: ServerSessionInit) {
    // A TN3270 server needs TERMINAL-TYPE, BINARY and EOR to stay in 3270 mode (RFC 1576 §2).
    const modeOptions = init.mode === 'tn3270e' ? TN3270E_MODE : TN3270_MODE
    super({ ...init, peer: 'client', modeOptions })
    // The core's events and a server's own: one fixed shape, not a dictionary (event-shape.ts).
    presetEventShape(this, SERVER_SESSION_EVENTS)
    ;({ client: this.client, deviceType: this.deviceType, lu: this.lu, lease: this.lease } = init)
    ;({ rows: this.rows, cols: this.cols, altRows: this.altRows, altCols: this.altCols } = init)
    // negotiateServer resolves with this session; the caller attaches its listeners in the same
    // tick, so events held until then are delivered right after.
    setImmediate(() => this.start())
  }

  /** Send 3270 data; in TN3270E mode with a header. Returns the SEQ when a response was asked for. */
  send3270 (data: Uint8Array, opts: { response?: boolean } = {}): number | undefined {
    return this.sendNumbered('3270-DATA', data, opts.response === true)
  }

  /** SCS data (printers; RFC 2355 §10.3). */
  sendScs (data: Uint8Array, opts: { response?: boolean } = {}): number | undefined {
    return this.sendNumbered('SCS-DATA', data, opts.response === true)
  }

  /** BIND-IMAGE (RFC 2355 §10.1); only with the BIND-IMAGE function. */
  sendBindImage (bindRu: Uint8Array): void {
    this.requireFunction('BIND-IMAGE', 'BIND-IMAGE')
    this.sendMessage('BIND-IMAGE', bindRu)
  }

  /** UNBIND (RFC 2355 §10.1): data is the UNBIND RU, request code X'32' + type. */
  sendUnbind (type: number): void {
    this.requireFunction('BIND-IMAGE', 'UNBIND')
    this.sendMessage('UNBIND', Buffer.from([0x32, type & 0xff]))
  }

  /** SSCP-LU-DATA (RFC 2355 §10.1, with BIND-IMAGE). */
  sendSscpLuData (data: Uint8Array): void {
    this.requireFunction('BIND-IMAGE', 'SSCP-LU-DATA')
    this.sendMessage('SSCP-LU-DATA', data)
  }

  /** NVT data: a NVT-DATA message in TN3270E, raw telnet data otherwise. */
  sendNvt (data: Uint8Array): void {
    if (this.mode === 'tn3270e') this.sendMessage('NVT-DATA', data)
    else this.telnet.sendData(data)
  }

  /** PRINT-EOJ (RFC 2355 §10.3, with SCS-CTL-CODES or DATA-STREAM-CTL). */
  sendPrintEoj (): void {
    if (this.mode !== 'tn3270e') throw lbError(ErrorCodes.TN3270_SESSION_STATE, 'PRINT-EOJ needs TN3270E')
    this.sendMessage('PRINT-EOJ')
  }

  override close (reason: string): void {
    this.log.info({ event: 'tn3270_session_close', reason, lu: this.lu }, 'closing session')
    super.close(reason)
  }

  override reset (reason: string): void {
    this.log.info({ event: 'tn3270_session_reset', reason, lu: this.lu }, 'resetting session')
    super.reset(reason)
  }

  protected override onCommand (cmd: CommandName): void {
    if (cmd === 'IP' || cmd === 'BRK') {
      // ATTN: IAC IP in TN3270E (RFC 2355 §10.4); x3270 sends IAC BRK in TN3270 mode.
      this.raise('attn')
    } else if (cmd === 'AO' && this.mode === 'tn3270e' && this.functions.has('SYSREQ')) {
      // SYSREQ: IAC AO with the SYSREQ function (RFC 2355 §10.5).
      this.raise('sysreq')
    } else {
      super.onCommand(cmd)
    }
  }

  private sendNumbered (type: '3270-DATA' | 'SCS-DATA', data: Uint8Array, response: boolean): number | undefined {
    if (response && this.mode === 'tn3270e' && !this.functions.has('RESPONSES')) {
      throw lbError(ErrorCodes.TN3270_SESSION_STATE, 'a response was requested but RESPONSES was not negotiated')
    }
    return this.sendData(type, data, response ? ResponseFlag.ALWAYS_RESPONSE : ResponseFlag.NO_RESPONSE)
  }
}
