// Application credit gate (KB Q181737): the transport-neutral half of the pacing engine.
//
// A receiver hands out "windows" of messages to an upstream sender (SNA: the IPR/IPM; a TN3270 host
// link: resuming socket reads) and passes what arrives on to a downstream consumer (the client).
// Q181737: "SNA Server will not grant the host another pacing window's worth of credit until it can
// guarantee to be able to immediately pass every message in that pacing window to the 3270
// application". So a grant is made only when
//
//     application credit in hand >= messages held + messages already guaranteed + one full window
//
// where "guaranteed" = granted to upstream but not yet received. Credit is re-evaluated on every
// change (drain, response, arrival), so a grant that is owed is made at the first moment it can be:
// as long as the consumer eventually drains to at least one window of credit, upstream can always
// send again. Nothing here knows about PIUs, RH bits or sockets.
import type { Clock, Timer } from '../clock.js'

export type CreditEvent =
  /** A grant has been owed for longer than `stallAfter` (metric: pacing_stalled_sessions +1). */
  | { type: 'stalled', owedForMs: number }
  /** A stalled grant was made, cancelled or the gate closed (metric: pacing_stalled_sessions -1). */
  | { type: 'unstalled', owedForMs: number }
  /** A grant was made: time from "owed" to "granted" (metric: pacing_credit_wait_seconds). */
  | { type: 'credit-wait', seconds: number }

export interface CreditGateOptions {
  /** One full window: the smallest grant (fixed pacing: the BIND window). 0 = no pacing, never grants. */
  window: number
  /** Largest single grant (adaptive pacing's next-window size); default `window` (fixed pacing). */
  maxWindow?: number
  /** Messages upstream may send before any grant (SNA: the BIND authorises the first window). Default `window`. */
  initialGuaranteed?: number
  /** Application credit in messages at the start. Default 0. */
  initialCredit?: number
  clock: Clock
  /** Owed longer than this (ms) counts as stalled. */
  stallAfter: number
  onEvent?: (event: CreditEvent) => void
}

export interface CreditDecision<T> {
  /** Pass these to the consumer now, in this order (each one has already used one credit). */
  deliver: T[]
  /** Messages granted to upstream now (0 = no grant). SNA: send the IPR / an IPM with NWS = grant. */
  grant: number
  /** When `grant > 0`: how long the grant was owed, in ms. */
  creditWaitMs?: number
}

export class CreditGate<T> {
  readonly window: number
  readonly maxWindow: number
  private creditInHand: number
  private guaranteedCount: number
  /**
   * Held messages, oldest at `heldHead`: a FIFO without Array#shift, which copies the whole array
   * once it is large (with pacing off in the BIND nothing bounds what the host sends ahead, so a
   * flood held here made every delivery cost O(held)).
   */
  private heldItems: T[] = []
  private heldHead = 0
  private owedSince: number | undefined
  private stallTimer: Timer | undefined
  private isStalled = false
  private closed = false
  private readonly clock: Clock
  private readonly stallAfter: number
  private readonly onEvent: (event: CreditEvent) => void

  constructor (opts: CreditGateOptions) {
    if (!Number.isInteger(opts.window) || opts.window < 0) throw new RangeError(`pacing window must be an integer >= 0, got ${opts.window}`)
    this.window = opts.window
    this.maxWindow = Math.max(opts.window, opts.maxWindow ?? opts.window)
    this.guaranteedCount = opts.initialGuaranteed ?? opts.window
    this.creditInHand = Math.max(0, opts.initialCredit ?? 0)
    this.clock = opts.clock
    this.stallAfter = opts.stallAfter
    this.onEvent = opts.onEvent ?? (() => {})
  }

  /** Application credit in hand (messages the consumer can take now). */
  get credit (): number { return this.creditInHand }
  /** Granted to upstream and not yet received. */
  get guaranteed (): number { return this.guaranteedCount }
  /** Received but not yet deliverable (no credit). Bounded by what was granted. */
  get held (): number { return this.heldItems.length - this.heldHead }
  get owed (): boolean { return this.owedSince !== undefined }
  get stalled (): boolean { return this.isStalled }
  /** How long the current grant has been owed (0 if none). */
  owedForMs (): number { return this.owedSince === undefined ? 0 : this.clock.now() - this.owedSince }
  /** Credit no longer covers what upstream may still send (credit was taken back by setAvailableCredit). */
  get overcommitted (): boolean { return this.creditInHand < this.held + this.guaranteedCount }

  /** Upstream asks for its next window (SNA: a request with PI arrived). Idempotent while owed. */
  owe (): CreditDecision<T> {
    if (this.window > 0 && this.owedSince === undefined && !this.closed) {
      this.owedSince = this.clock.now()
      this.stallTimer = this.clock.setTimeout(() => this.markStalled(), this.stallAfter)
    }
    return this.evaluate([])
  }

  /** Drop an owed grant without making it (adaptive reset: the sender's pacing request is void). */
  cancelOwed (): void { this.endOwed() }

  /** A message arrived from upstream. Delivered at once if credit allows, else held. */
  receive (item: T): CreditDecision<T> {
    // Never below 0: the protocol layer rejects messages beyond the window before they get here.
    if (this.guaranteedCount > 0) this.guaranteedCount--
    // The common case, nothing held and credit in hand: straight through, nothing queued.
    if (this.heldHead === this.heldItems.length && this.creditInHand >= 1) {
      this.creditInHand -= 1
      return this.evaluate([item])
    }
    this.heldItems.push(item)
    return this.evaluate(this.flush())
  }

  /** Credit tokens from the consumer (like a Status(Resource) message in Q181737). */
  addCredit (n: number): CreditDecision<T> {
    if (!(n >= 0)) throw new RangeError(`credit must be >= 0, got ${n}`)
    this.creditInHand += n
    return this.evaluate(this.flush())
  }

  /** Absolute credit, recomputed by the caller from the consumer's state (see creditFromClientState). */
  setAvailableCredit (n: number): CreditDecision<T> {
    if (!(n >= 0)) throw new RangeError(`credit must be >= 0, got ${n}`)
    this.creditInHand = n
    return this.evaluate(this.flush())
  }

  /** Upstream's allowance was reset by the protocol (adaptive reset acknowledged): it may now send `n`. */
  setGuaranteed (n: number): CreditDecision<T> {
    this.guaranteedCount = n
    return this.evaluate([])
  }

  /** Session over: stop the stall timer (and report un-stalling so a gauge goes back down). */
  close (): void {
    this.endOwed()
    this.closed = true
  }

  private flush (): T[] {
    const held = this.heldItems
    const n = Math.min(held.length - this.heldHead, Math.floor(this.creditInHand))
    if (n <= 0) return []
    const out = new Array<T>(n)
    // Delivered slots are cleared: a held RU is not kept alive by the queue once it has gone.
    for (let i = 0, at = this.heldHead; i < n; i++, at++) { out[i] = held[at] as T; held[at] = undefined as T }
    this.creditInHand -= n
    this.heldHead += n
    if (this.heldHead === held.length) {
      // Everything delivered: start again with an empty array (the old one's slots are dropped).
      this.heldItems = []
      this.heldHead = 0
    } else if (this.heldHead >= 1024 && this.heldHead * 2 >= held.length) {
      // Mostly delivered: drop the delivered front once, in O(held), not on every delivery.
      this.heldItems = held.slice(this.heldHead)
      this.heldHead = 0
    }
    return out
  }

  private evaluate (deliver: T[]): CreditDecision<T> {
    if (this.owedSince === undefined) return { deliver, grant: 0 }
    // The Q181737 rule: in hand >= held + guaranteed + one full window.
    const spare = this.creditInHand - this.held - this.guaranteedCount
    if (spare < this.window) return { deliver, grant: 0 }
    const grant = Math.min(this.maxWindow, spare)
    const creditWaitMs = this.clock.now() - this.owedSince
    this.guaranteedCount += grant
    this.endOwed()
    this.onEvent({ type: 'credit-wait', seconds: creditWaitMs / 1000 })
    return { deliver, grant, creditWaitMs }
  }

  private endOwed (): void {
    if (this.owedSince === undefined) return
    const owedForMs = this.clock.now() - this.owedSince
    this.owedSince = undefined
    if (this.stallTimer !== undefined) this.clock.clearTimeout(this.stallTimer)
    this.stallTimer = undefined
    if (this.isStalled) {
      this.isStalled = false
      this.onEvent({ type: 'unstalled', owedForMs })
    }
  }

  private markStalled (): void {
    // Only armed while owed, and cleared when the debt ends, so the debt is still open here.
    this.stallTimer = undefined
    this.isStalled = true
    this.onEvent({ type: 'stalled', owedForMs: this.clock.now() - (this.owedSince as number) })
  }
}

export interface ClientCreditState {
  /** Bytes queued toward the client and not yet written to the kernel (socket.writableLength). */
  queuedBytes: number
  /** pacing.highWaterMark. */
  highWaterMark: number
  /** Largest message the upstream may send (BIND max RU size sent by the primary). */
  maxMessageBytes: number
  /** The window the gate grants; a drained client always yields at least this. */
  window: number
  /** TN3270E RESPONSES: definite responses the client still owes, and how many may be outstanding. */
  responsesOutstanding?: number
  responseLimit?: number
}

/**
 * Application credit in messages from the client side: whole max-size messages that fit below the
 * high-water mark, capped by the TN3270E definite responses still allowed. A fully drained client
 * (nothing queued, no response owed) always counts as at least one window (and one message): otherwise a high-water
 * mark below window x max RU size could never pay for an IPR and the session would hang exactly like
 * Q181737's emulator. Memory stays bounded by one window of max-size messages plus the high-water mark.
 */
export function creditFromClientState (s: ClientCreditState): number {
  const room = Math.max(0, s.highWaterMark - s.queuedBytes)
  let credit = Math.floor(room / Math.max(1, s.maxMessageBytes))
  const outstanding = s.responsesOutstanding ?? 0
  if (s.responseLimit !== undefined) credit = Math.min(credit, Math.max(0, s.responseLimit - outstanding))
  // At least one message too: with no pacing (window 0) a drained client must still take the next one.
  if (s.queuedBytes === 0 && outstanding === 0) credit = Math.max(credit, s.window, 1)
  return credit
}
