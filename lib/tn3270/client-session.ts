// The client role of a negotiated TN3270 / TN3270E session (docs/tn3270.md): the gateway as a
// terminal toward a host. Adds the client's keys (ATTN, SYSREQ), read pausing for flow control,
// and the records that arrived during negotiation, replayed by start().
import { AO, BRK, IP, Opt } from '../telnet/index.js'
import { ResponseFlag } from './constants.js'
import type { SessionData } from './record.js'
import { Tn3270Session, type SessionCoreInit, type Tn3270SessionEvents } from './session.js'

export type Tn3270ClientSessionEvents = Tn3270SessionEvents

export interface ClientSessionInit extends Omit<SessionCoreInit, 'peer' | 'modeOptions'> {
  /** The device the host named in DEVICE-TYPE IS ... CONNECT (TN3270E), else undefined. */
  device?: string
  terminalType: string
  /** Records that arrived during the negotiation (the first screen when it was awaited). */
  pending: SessionData[]
}

export class Tn3270ClientSession extends Tn3270Session<Tn3270ClientSessionEvents> {
  readonly device: string | undefined
  readonly terminalType: string
  /** Records that arrived during the connect; replayed by start() before anything newer. */
  readonly pending: readonly SessionData[]
  private paused = false

  constructor (init: ClientSessionInit) {
    // The client side needs BINARY and EOR both ways in TN3270 (RFC 1576 §2), TN3270E alone in TN3270E.
    super({ ...init, peer: 'host', modeOptions: init.mode === 'tn3270e' ? [Opt.TN3270E] : [Opt.BINARY, Opt.EOR] })
    this.device = init.device
    this.terminalType = init.terminalType
    this.pending = [...init.pending]
    for (const d of this.pending) this.raise('data', d)
  }

  /**
   * Send 3270 data (an inbound record: AID, cursor, fields). On a TN3270E host the header is
   * added (RFC 2355 §8.1) and the SEQ returned when a response is asked for (asked only with
   * RESPONSES agreed, RFC 2355 §8.1.3); `done` runs when the bytes were handed to the kernel.
   */
  send3270 (data: Uint8Array, opts: { responseFlag?: number, done?: () => void } = {}): number | undefined {
    let flag = opts.responseFlag ?? ResponseFlag.NO_RESPONSE
    if (!this.functions.has('RESPONSES')) flag = ResponseFlag.NO_RESPONSE
    return this.sendData('3270-DATA', data, flag, opts.done)
  }

  /** ATTN: IAC IP in TN3270E (RFC 2355 §10.4); IAC BRK on a plain TN3270 host (the x3270 convention). */
  sendAttn (): void { this.telnet.sendCommand(this.mode === 'tn3270e' ? IP : BRK) }

  /**
   * SYSREQ: IAC AO when SYSREQ was agreed (RFC 2355 §10.5); otherwise the SysReq key's inbound Test
   * Request Read, SOH % / STX (what x3270 sends in TN3270 mode, ctlr.c; 3270 Data Stream
   * Programmer's Reference, GA23-0059, "Test Request Read").
   */
  sendSysreq (): void {
    if (this.mode === 'tn3270e' && this.functions.has('SYSREQ')) this.telnet.sendCommand(AO)
    else this.send3270(Buffer.from([0x01, 0x6c, 0x61, 0x02]))
  }

  /** Stop reading from the host (credit-based flow control toward the client). */
  pause (): void {
    if (this.paused) return
    this.paused = true
    this.telnet.socket.pause()
  }

  resume (): void {
    if (!this.paused) return
    this.paused = false
    this.telnet.socket.resume()
  }

  get isPaused (): boolean { return this.paused }
}
