// SNA session-level pacing ("SNA Formats", GA27-3136, pacing), one half-session direction at a time.
//
// `PacingSender` is the sending end of one direction (gateway: client input toward the host; host
// simulator: host output toward the LU). `PacingReceiver` is the receiving end (gateway: host output
// toward the client; host simulator: LU input), and decides when the pacing response may go back,
// using the application-credit rule of KB Q181737 through `CreditGate`.
//
// Pure: no I/O, no bytes. Callers tell us which RH bits arrived (PI, RLWI) and which IPR/IPM arrived
// (decoded by the sna codec), and we return decisions ({ setPi }, { sendIpr }, { sendIpm }) that the
// codec turns into RH bits and isolated pacing messages (GA27-3136 IPR/IPM). Only normal-flow requests are paced
// (GA27-3136 pacing): expedited requests and responses never go through these classes.
import { ErrorCodes, lbError, type Tn3270LbError } from '../errors.js'
import type { Clock } from '../clock.js'
import { CreditGate, type CreditDecision, type CreditEvent } from './pacing-credit.js'
import { formatSense, Sense } from './sense.js'

export { CreditGate, creditFromClientState } from './pacing-credit.js'
export type { CreditDecision, CreditEvent, CreditGateOptions, ClientCreditState } from './pacing-credit.js'

// Sense data for pacing errors, by their names in the sense table (sense.ts).
export const PacingSense = {
  /** Normal-flow request received after the pacing count reached 0 and before a pacing response was sent. */
  BEYOND_WINDOW: Sense.PACING_ERROR,
  /** Unexpected IPM (also used for an IPR nobody asked for). */
  UNEXPECTED_IPM: Sense.PACING_UNEXPECTED_IPM,
  /** Unexpected pacing request: PI where none may be. */
  UNEXPECTED_PI: Sense.PACING_UNEXPECTED_PI,
  /** PI set in a non-IPM response under adaptive pacing. */
  PI_IN_NON_IPM_RESPONSE: Sense.PACING_PI_IN_NON_IPM_RESPONSE,
  /** Invalid IPM contents (solicited with NWS 0 or RWI on; unsolicited without RWI). */
  INVALID_IPM: Sense.IPM_FORMAT_ERROR,
} as const

export interface PacingViolation {
  sense: number
  /** Code PACING_VIOLATION; the message names the rule and the sense in hex. */
  error: Tn3270LbError
}

function violation (sense: number, what: string): PacingViolation {
  const hex = formatSense(sense)
  return { sense, error: lbError(ErrorCodes.PACING_VIOLATION, `${what} (sense ${hex.slice(0, 4)} ${hex.slice(4)})`) }
}

/**
 * Isolated pacing message contents (GA27-3136 IPR/IPM): type, reset-window indicator, next-window size. Same shape
 * as the codec's `Ipm` (piu.ts), so decoded IPMs pass straight in and decisions go straight to encodeIpm.
 */
export interface PacingIpm {
  type: 'solicited' | 'unsolicited' | 'reset-ack'
  rwi: boolean
  nws: number
}
/** Same type under the codec's name (lib/hostsim imports it so); re-export explicitly, not with `export *`. */
export type Ipm = PacingIpm

// ---------------------------------------------------------------------------------------------------
// BIND windows (GA27-3136 BIND bytes 8, 9, 12, 13; GA27-3136 pacing which byte governs which direction)

/** The window fields of a BIND; the codec's decoded `BindPacing` (bind.ts) has this shape and more. */
export interface BindPacingWindows {
  /** Byte 8 bits 2-7: secondary send window (SLU→PLU). */
  secondarySendWindow: number
  /** Byte 9 bits 2-7: secondary receive window (PLU→SLU). */
  secondaryReceiveWindow: number
  /** Byte 12 bits 2-7: primary send window (PLU→SLU). */
  primarySendWindow: number
  /** Byte 13 bits 2-7: primary receive window (SLU→PLU). */
  primaryReceiveWindow: number
  /** Byte 9 bit 0: adaptive session-level pacing. */
  adaptive: boolean
}

/** Pacing fields of a BIND RU (X'31' = byte 0). */
export function pacingFromBindRu (bind: Uint8Array): BindPacingWindows {
  if (bind.length < 14 || bind[0] !== 0x31) {
    throw lbError(ErrorCodes.SNA_MALFORMED, `BIND RU too short or not X'31' (${bind.length} bytes) for pacing fields`)
  }
  // SNA numbers bits from the left: bit 0 = X'80', bits 2-7 = X'3F'.
  return {
    secondarySendWindow: bind[8]! & 0x3f,
    secondaryReceiveWindow: bind[9]! & 0x3f,
    primarySendWindow: bind[12]! & 0x3f,
    primaryReceiveWindow: bind[13]! & 0x3f,
    adaptive: (bind[9]! & 0x80) !== 0,
  }
}

/** The windows one end uses: the SLU sends with byte 8 and receives with byte 9; the PLU uses 12 and 13. */
export function pacingWindows (p: BindPacingWindows, role: 'primary' | 'secondary'): { send: number, receive: number, adaptive: boolean } {
  return role === 'secondary'
    ? { send: p.secondarySendWindow, receive: p.secondaryReceiveWindow, adaptive: p.adaptive }
    : { send: p.primarySendWindow, receive: p.primaryReceiveWindow, adaptive: p.adaptive }
}

// ---------------------------------------------------------------------------------------------------
// Sender

export interface PacedRequest<T> {
  item: T
  /** Set PI in the RH: first request of a window (the pacing request, GA27-3136 pacing). */
  setPi: boolean
  /** Set RLWI (adaptive only): the sender has more queued than this window holds (GA27-3136 RH byte 1 X'04'). */
  setRlwi: boolean
}

export interface SenderDecision<T> {
  /** Send these now, in order, with the RH bits given. */
  send: Array<PacedRequest<T>>
  /** Send this IPM now, before `send` (reset acknowledgement after an unsolicited IPM). */
  sendIpm?: PacingIpm
  /** The peer broke the pacing protocol; nothing changed. Send -RSP/UNBIND with this sense. */
  violation?: PacingViolation
}

export type SubmitResult<T> =
  | { ok: true, send: Array<PacedRequest<T>> }
  /** The wait queue is at its limit (code PACING_QUEUE_FULL); the item was not taken. */
  | { ok: false, error: Tn3270LbError }

export interface PacingSenderOptions {
  /** Our send window from the BIND; 0 = no pacing. */
  window: number
  adaptive?: boolean
  /** Most requests that may wait for a pacing response. */
  queueLimit: number
}

export class PacingSender<T> {
  readonly adaptive: boolean
  readonly queueLimit: number
  /** Send window from the BIND; 0 = not paced. */
  readonly bindWindow: number
  /** Size of the current window (fixed: the BIND window; adaptive: the last NWS started). */
  windowSize: number
  /** Requests we may still send in the current window without a PI. */
  residualPacingCount = 0
  /** A window authorised but not yet started (the BIND authorises the first one). */
  nextWindowSize: number
  /** A PI went out (or a reset to 0 was acknowledged) and no pacing response came back yet. */
  awaitingPacingResponse = false
  private readonly queue: T[] = []

  constructor (opts: PacingSenderOptions) {
    if (!Number.isInteger(opts.window) || opts.window < 0 || opts.window > 63) throw new RangeError(`BIND pacing window must be 0..63, got ${opts.window}`)
    if (!Number.isInteger(opts.queueLimit) || opts.queueLimit < 1) throw new RangeError(`queueLimit must be >= 1, got ${opts.queueLimit}`)
    this.bindWindow = opts.window
    this.windowSize = opts.window
    this.nextWindowSize = opts.window
    this.adaptive = opts.adaptive === true && opts.window > 0
    this.queueLimit = opts.queueLimit
  }

  /** Window 0 in the BIND: nothing is paced (GA27-3136 pacing). */
  get paced (): boolean { return this.bindWindow > 0 }
  /** Requests waiting for a pacing response. */
  get queued (): number { return this.queue.length }

  /** A normal-flow request to send. Goes out at once while the window allows, else waits (bounded). */
  submit (item: T): SubmitResult<T> {
    // A non-empty queue means the window is closed (pump() empties it otherwise), so a full queue
    // really is full: refuse loudly instead of dropping.
    if (this.queue.length >= this.queueLimit) {
      return { ok: false, error: lbError(ErrorCodes.PACING_QUEUE_FULL, `pacing queue full: ${this.queue.length} requests wait for the partner's pacing response (limit ${this.queueLimit})`) }
    }
    this.queue.push(item)
    return { ok: true, send: this.pump() }
  }

  /** An IPR arrived (or, kind 'response-pi', a normal response with PI: the other fixed form, GA27-3136 pacing). */
  receivePacingResponse (kind: 'ipr' | 'response-pi' = 'ipr'): SenderDecision<T> {
    // Adaptive sessions answer pacing requests with IPMs only (GA27-3136 Sense Data 2011 0003).
    if (this.adaptive) return { send: [], violation: violation(PacingSense.PI_IN_NON_IPM_RESPONSE, `pacing response (${kind}) without IPM on an adaptive-paced session`) }
    if (!this.paced || !this.awaitingPacingResponse) {
      return { send: [], violation: violation(PacingSense.UNEXPECTED_IPM, `pacing response (${kind}) with no pacing request outstanding`) }
    }
    // Fixed pacing: one more window of the BIND size after the current one.
    this.awaitingPacingResponse = false
    this.nextWindowSize = this.windowSize
    return { send: this.pump() }
  }

  /** An IPM arrived for our send direction (solicited or unsolicited; reset-ack belongs to the receiver). */
  receiveIpm (ipm: PacingIpm): SenderDecision<T> {
    if (!this.adaptive) return { send: [], violation: violation(PacingSense.UNEXPECTED_IPM, `IPM (${ipm.type}) on a session without adaptive pacing`) }
    switch (ipm.type) {
      case 'solicited':
        // Linux-SNA validation (GA27-3136 IPR/IPM): a solicited IPM grants a real window and never resets.
        if (ipm.nws === 0 || ipm.rwi) return { send: [], violation: violation(PacingSense.INVALID_IPM, `solicited IPM with ${ipm.rwi ? 'RWI set' : 'NWS 0'}`) }
        if (!this.awaitingPacingResponse) return { send: [], violation: violation(PacingSense.UNEXPECTED_IPM, 'solicited IPM with no pacing request outstanding') }
        this.awaitingPacingResponse = false
        this.nextWindowSize = ipm.nws
        return { send: this.pump() }
      case 'unsolicited':
        if (!ipm.rwi) return { send: [], violation: violation(PacingSense.INVALID_IPM, 'unsolicited IPM without RWI') }
        // Reset window (GA27-3136 IPR/IPM): the residual count is void, NWS is adopted at once, and any pacing
        // request we had outstanding is answered by this IPM. With NWS 0 we have nothing left to send
        // with, so our reset acknowledgement doubles as the next pacing request.
        this.residualPacingCount = 0
        this.nextWindowSize = ipm.nws
        this.awaitingPacingResponse = ipm.nws === 0
        return { send: this.pump(), sendIpm: { type: 'reset-ack', rwi: false, nws: ipm.nws } }
      default:
        return { send: [], violation: violation(PacingSense.UNEXPECTED_IPM, 'reset acknowledgement IPM received by the sending side') }
    }
  }

  /** Give back what never went out (session ending): the caller decides what to tell the client. */
  drainQueue (): T[] { return this.queue.splice(0) }

  private pump (): Array<PacedRequest<T>> {
    const out: Array<PacedRequest<T>> = []
    while (this.queue.length > 0) {
      if (!this.paced) {
        out.push({ item: this.queue.shift() as T, setPi: false, setRlwi: false })
      } else if (this.residualPacingCount > 0) {
        this.residualPacingCount--
        out.push({ item: this.queue.shift() as T, setPi: false, setRlwi: false })
      } else if (this.nextWindowSize > 0) {
        // First request of a window carries PI (GA27-3136 pacing) and asks for the next window.
        this.windowSize = this.nextWindowSize
        this.residualPacingCount = this.nextWindowSize - 1
        this.nextWindowSize = 0
        this.awaitingPacingResponse = true
        const item = this.queue.shift() as T
        out.push({ item, setPi: true, setRlwi: this.adaptive && this.queue.length > this.residualPacingCount })
      } else {
        break
      }
    }
    return out
  }
}

// ---------------------------------------------------------------------------------------------------
// Receiver

export interface ReceiverDecision<T> {
  /** Pass these on (to the client) now, in order. */
  deliver: T[]
  /** Send an IPR (RH 83 01 00, no RU, GA27-3136 IPR/IPM) now: fixed pacing's grant of one more window. */
  sendIpr: boolean
  /** Send this IPM now (adaptive: solicited grant, or the unsolicited reset from resetWindow()). */
  sendIpm?: PacingIpm
  /** The grant made now had been owed this long (ms). */
  creditWaitMs?: number
  /** The peer broke the pacing protocol; the request was not taken. Send -RSP with this sense. */
  violation?: PacingViolation
}

export interface PacingReceiverOptions {
  /** Our receive window from the BIND; 0 = no pacing. */
  window: number
  adaptive?: boolean
  /** Adaptive: largest next-window size we grant (default: the BIND window). */
  maxWindow?: number
  /** Application credit at the start in messages (more via addCredit/setAvailableCredit). */
  initialCredit?: number
  clock: Clock
  /** ms a pacing response may be owed before the session counts as stalled. */
  stallAfter: number
  onEvent?: (event: CreditEvent) => void
}

export class PacingReceiver<T> {
  readonly adaptive: boolean
  /** Size of the window the sender is in (fixed: BIND window; adaptive: the NWS it started with). */
  windowSize: number
  /** Requests the sender may still send in the current window (our view). */
  residualPacingCount = 0
  /** A window granted and not yet started by a PI (the BIND grants the first one). */
  nextWindowSize: number
  /** Adaptive: an unsolicited reset IPM (NWS 0) is out and its reset acknowledgement not yet back. */
  resetOutstanding = false
  readonly gate: CreditGate<T>

  constructor (opts: PacingReceiverOptions) {
    if (!Number.isInteger(opts.window) || opts.window < 0 || opts.window > 63) throw new RangeError(`BIND pacing window must be 0..63, got ${opts.window}`)
    this.windowSize = opts.window
    this.nextWindowSize = opts.window
    this.adaptive = opts.adaptive === true && opts.window > 0
    // Adaptive NWS is 15 bits (GA27-3136 IPR/IPM).
    const maxWindow = this.adaptive ? Math.min(32767, opts.maxWindow ?? opts.window) : opts.window
    this.gate = new CreditGate<T>({
      window: opts.window,
      maxWindow,
      initialGuaranteed: opts.window,
      initialCredit: opts.initialCredit,
      clock: opts.clock,
      stallAfter: opts.stallAfter,
      onEvent: opts.onEvent,
    })
  }

  get paced (): boolean { return this.gate.window > 0 }
  /** A pacing request is waiting for credit. */
  get pacingResponseOwed (): boolean { return this.gate.owed }
  get stalled (): boolean { return this.gate.stalled }
  get credit (): number { return this.gate.credit }
  get held (): number { return this.gate.held }

  /** A normal-flow request arrived with these RH bits. */
  receiveRequest (item: T, rh: { pi: boolean, rlwi?: boolean }): ReceiverDecision<T> {
    if (!this.paced) {
      if (rh.pi) return this.refuse(PacingSense.UNEXPECTED_PI, 'PI on a session without pacing')
      return this.decide(this.gate.receive(item))
    }
    if (rh.pi) {
      // A pacing request starts a window: the previous one must be used up and a new one granted.
      if (this.residualPacingCount > 0) return this.refuse(PacingSense.UNEXPECTED_PI, `PI with ${this.residualPacingCount} requests left in the current window`)
      if (this.nextWindowSize === 0) return this.refuse(PacingSense.BEYOND_WINDOW, 'pacing request before a pacing response was sent')
      this.windowSize = this.nextWindowSize
      this.residualPacingCount = this.nextWindowSize - 1
      this.nextWindowSize = 0
      const d = this.gate.receive(item)
      // During a reset the request predates it: the reset answers it, so nothing is owed.
      if (this.resetOutstanding) return this.decide(d)
      return this.decide(d, this.gate.owe())
    }
    // Count reached 0 and this is not a pacing request: over the window (a missing PI included).
    if (this.residualPacingCount === 0) return this.refuse(PacingSense.BEYOND_WINDOW, 'request after the pacing count reached 0')
    this.residualPacingCount--
    return this.decide(this.gate.receive(item))
  }

  /** Client credit tokens (messages). Re-evaluates delivery and the owed pacing response. */
  addCredit (n: number): ReceiverDecision<T> { return this.decide(this.gate.addCredit(n)) }

  /** Client credit, absolute (e.g. creditFromClientState after a drain or a TN3270E response). */
  setAvailableCredit (n: number): ReceiverDecision<T> { return this.decide(this.gate.setAvailableCredit(n)) }

  /**
   * Adaptive only: stop the sender now with an unsolicited IPM, RWI on, NWS 0 (GA27-3136 IPR/IPM). Use when the
   * client stopped draining and credit was taken back (`gate.overcommitted`). The sender acknowledges;
   * its acknowledgement counts as the next pacing request, granted again once credit is back.
   */
  resetWindow (): ReceiverDecision<T> {
    if (!this.adaptive) throw lbError(ErrorCodes.SNA_STATE, 'resetWindow needs adaptive pacing')
    if (this.resetOutstanding) return { deliver: [], sendIpr: false }
    this.resetOutstanding = true
    this.gate.cancelOwed()
    return { deliver: [], sendIpr: false, sendIpm: { type: 'unsolicited', rwi: true, nws: 0 } }
  }

  /** An IPM arrived for our receive direction: only a reset acknowledgement belongs here. */
  receiveIpm (ipm: PacingIpm): ReceiverDecision<T> {
    if (ipm.type !== 'reset-ack' || !this.resetOutstanding) {
      return this.refuse(PacingSense.UNEXPECTED_IPM, `${ipm.type} IPM with no reset outstanding`)
    }
    if (ipm.rwi) return this.refuse(PacingSense.INVALID_IPM, 'reset acknowledgement with RWI set')
    // Every request sent before the reset is in (same flow, in order); the sender now has nothing
    // authorised and is waiting for a solicited IPM.
    this.resetOutstanding = false
    this.residualPacingCount = 0
    this.nextWindowSize = 0
    this.gate.setGuaranteed(0)
    return this.decide(this.gate.owe())
  }

  /** Session ended: stop timers (a stalled session is reported un-stalled). */
  close (): void { this.gate.close() }

  private refuse (sense: number, what: string): ReceiverDecision<T> {
    return { deliver: [], sendIpr: false, violation: violation(sense, what) }
  }

  /** One decision, or two in order (a request's delivery, then the grant it owed). Called per request: no rest arrays. */
  private decide (d: CreditDecision<T>, then?: CreditDecision<T>): ReceiverDecision<T> {
    const deliver = then === undefined || then.deliver.length === 0 ? d.deliver : d.deliver.length === 0 ? then.deliver : [...d.deliver, ...then.deliver]
    const out: ReceiverDecision<T> = { deliver, sendIpr: false }
    this.grant(out, d)
    if (then !== undefined) this.grant(out, then)
    return out
  }

  private grant (out: ReceiverDecision<T>, d: CreditDecision<T>): void {
    if (d.grant <= 0) return
    // The grant authorises the sender's next window (GA27-3136 pacing): remember it to check the next PI.
    this.nextWindowSize = d.grant
    out.creditWaitMs = d.creditWaitMs
    if (this.adaptive) out.sendIpm = { type: 'solicited', rwi: false, nws: d.grant }
    else out.sendIpr = true
  }
}

// ---------------------------------------------------------------------------------------------------
// Both directions of one LU-LU session

export interface SessionPacingOptions {
  /** Pacing fields of the BIND as finally agreed (the BIND response's values, GA27-3136 pacing). */
  bind: BindPacingWindows
  /** Our end: the gateway is the secondary (SLU); the host simulator is the primary (PLU). */
  role: 'primary' | 'secondary'
  /** Requests of ours that may wait for the partner's pacing response (pacing.inboundQueueLimit). */
  queueLimit: number
  clock: Clock
  stallAfter: number
  maxWindow?: number
  initialCredit?: number
  onEvent?: (event: CreditEvent) => void
}

export type IpmDecision<S, R> =
  | { to: 'sender', decision: SenderDecision<S> }
  | { to: 'receiver', decision: ReceiverDecision<R> }

/** Our sending half (S = what we send) and receiving half (R = what we receive) of one session. */
export class SessionPacing<S, R> {
  readonly sender: PacingSender<S>
  readonly receiver: PacingReceiver<R>

  constructor (opts: SessionPacingOptions) {
    const w = pacingWindows(opts.bind, opts.role)
    this.sender = new PacingSender<S>({ window: w.send, adaptive: w.adaptive, queueLimit: opts.queueLimit })
    this.receiver = new PacingReceiver<R>({
      window: w.receive,
      adaptive: w.adaptive,
      maxWindow: opts.maxWindow,
      initialCredit: opts.initialCredit,
      clock: opts.clock,
      stallAfter: opts.stallAfter,
      onEvent: opts.onEvent,
    })
  }

  /** An IPR (or a response with PI) always answers our own pacing request. */
  receivePacingResponse (kind: 'ipr' | 'response-pi' = 'ipr'): SenderDecision<S> { return this.sender.receivePacingResponse(kind) }

  /** Solicited/unsolicited IPMs pace what we send; a reset acknowledgement answers our reset (GA27-3136 IPR/IPM). */
  receiveIpm (ipm: PacingIpm): IpmDecision<S, R> {
    return ipm.type === 'reset-ack'
      ? { to: 'receiver', decision: this.receiver.receiveIpm(ipm) }
      : { to: 'sender', decision: this.sender.receiveIpm(ipm) }
  }

  close (): void { this.receiver.close() }
}
