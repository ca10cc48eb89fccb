// Joins one TN3270(E) client session to its dependent LU's sessions with the host. The client
// leg (credit, keepalive, response time, ending once) is the shared ClientLeg; this file keeps
// what is SNA:
//   host → client: LU-LU FMD chains become 3270 records, BIND/UNBIND become BIND-IMAGE/UNBIND
//     records where negotiated, SSCP-LU data becomes SSCP-LU-DATA (TN3270E with BIND-IMAGE) or a
//     screen (otherwise; held while the terminal shows the LU-LU session, shown on SYSREQ);
//     session-level pacing grants the host a window only with client credit (KB Q181737) — an IPR
//     under fixed pacing, a solicited IPM under adaptive pacing ("SNA Formats", GA27-3136).
//   client → host: records become FMD chains split at the BIND's max RU size, paced by the host's
//     window (IPR or IPM) with a bounded queue; TN3270E responses become SNA responses (RFC 2355 §10).
//     ATTN (IAC IP, or IAC BRK in TN3270) becomes SIGNAL X'0001', as an SNA 3270's ATTN key sends
//     it and as z/OS Telnet converts it on SNA sessions (z/OS Communications Server: IP
//     Configuration Guide, SC27-3650, "Telnet device type and logmode considerations"). SYSREQ
//     (IAC AO with SYSREQ, RFC 2355 §10.5; or the Test Request Read a TN3270 client sends, GA23-0059)
//     switches the terminal between the LU-LU and the SSCP-LU session; back on the LU-LU session,
//     LUSTAT X'082B' tells the application to repaint (Host Integration Server, "LUSTAT sense codes").
// Printer LUs (docs/printers.md): an LU type 1 session's chains go to the client as SCS-DATA, an
// LU type 3 session's as 3270-DATA, and a chain that ends the host's bracket (EB, or CEB at its
// end; "SNA Formats", GA27-3136) ends the print job: PRINT-EOJ follows where SCS-CTL-CODES or
// DATA-STREAM-CTL was agreed (RFC 2355 §10.3). Pacing and keepalive are the same as for displays.
// When either side ends, the LU is cleaned as SNA requires (UNBIND, NOTIFY disabled) before the
// lease goes back to the pool, and the next client attaches only once the host has answered that
// NOTIFY: nothing meant for this client reaches the next.
import { systemClock, type Clock } from '../clock.js'
import type { GatewayConfig } from '../config/index.js'
import { decode as ebcdicDecode, encode as ebcdicEncode, parseInbound, ScreenWriter } from '../datastream/index.js'
import { errorMessage } from '../errors.js'
import type { GatewayMetrics } from '../observability/index.js'
import {
  chainRu, encodeLustat, LustatStatus, SessionPacing, UnbindType,
  type BindImage, type DependentLu, type Ipm, type LuDataEvent, type LuEvents, type PacingViolation, type ReceiverDecision,
  type SenderDecision,
} from '../sna/index.js'
import { ClientLeg } from './client-leg.js'
import type { ClientBinding } from './host-side.js'

/** An RU becomes a record of at most RU + 5-byte TN3270E header + IAC EOR (doubling aside). */
const RECORD_OVERHEAD = 7
/** Adaptive next-window sizes are 15 bits ("SNA Formats", GA27-3136 IPM); byte credit decides below that. */
const ADAPTIVE_WINDOW_LIMIT = 32767
/** How long to wait for the host's +RSP(UNBIND), and for its +RSP(NOTIFY), before freeing the LU anyway. */
const HOST_ANSWER_WAIT_MS = 3000
/** SSCP-LU messages kept while the terminal shows the LU-LU session (the newest ones). */
const HELD_SSCP_LIMIT = 8
/** Test Request Read: SOH % / STX, what a TN3270 client sends for SYSREQ (GA23-0059; x3270 ctlr.c). */
const TEST_REQUEST_READ = Buffer.from([0x01, 0x6c, 0x61, 0x02])
/** Inbound structured fields (query replies) start with AID X'88' (GA23-0059). */
const AID_STRUCTURED_FIELD = 0x88

/**
 * TN3270E negative response codes (RFC 2355 §10.4) as SNA sense data for the host:
 * COMMAND-REJECT → 1003 (function not supported), INTERVENTION-REQUIRED → 0802,
 * OPERATION-CHECK → 1001 (RU data error), COMPONENT-DISCONNECTED → 0831 (LU component disconnected).
 */
const NEGATIVE_SENSE: Record<number, number> = { 0: 0x10030000, 1: 0x08020000, 2: 0x10010000, 3: 0x08310000 }

/** send3270/sendScs options, shared rather than made per record. */
const ASK_RESPONSE: Readonly<{ response: boolean }> = Object.freeze({ response: true })
const NO_RESPONSE: Readonly<{ response: boolean }> = Object.freeze({ response: false })

/** One RU of an inbound chain, as queued by the pacing sender (each RU counts in the window). */
interface InboundRu { ru: Buffer, bci: boolean, eci: boolean, dfc?: boolean }

/** The session the client's terminal talks to: the application's, or the SSCP's (after SYSREQ). */
type Dialog = 'lu-lu' | 'sscp'

export interface BridgeContext {
  config: GatewayConfig
  metrics: GatewayMetrics
  clock?: Clock
  /** Sends what the host link has batched in this turn now (after a pacing response). */
  flushHost?: () => void
}

/** Pacing accounting for /status: what the gateway holds for this client right now. */
export interface BridgePacingStatus {
  window: number
  adaptive: boolean
  held: number
  owed: boolean
  stalled: boolean
  clientQueuedBytes: number
  inboundQueued: number
}

export class LuBridge {
  private readonly b: ClientBinding
  private readonly lu: DependentLu
  private readonly ctx: BridgeContext
  private readonly clock: Clock
  private readonly leg: ClientLeg
  private pacing: SessionPacing<InboundRu, LuDataEvent> | undefined
  private bind: BindImage | undefined
  private chain: Buffer[] = []
  /** The chain being reassembled ends the bracket (EB on its first RU, or CEB): a print job's end. */
  private chainEndsBracket = false
  /**
   * Credit counts bytes (KB Q181737 with the client's write queue as the application): what one
   * more request costs is estimated from the largest RU of the host's current and previous window
   * (plus TN3270E header and IAC EOR); before any window is complete, from the BIND's max RU.
   */
  private previousWindowLargest = 0
  private windowLargest = 0
  /**
   * Definite responses the host asked for, by TN3270E SEQ: the host's SNF to answer. Made with the
   * first one (RFC 2355 §10.4): most idle sessions never owe a response.
   */
  private pendingResponses: Map<number, number> | undefined
  private readonly done: Promise<void>
  private resolveDone!: () => void
  /** After SYSREQ the client talks to the SSCP (LOGOFF, ...) until the next SYSREQ. */
  private dialog: Dialog = 'lu-lu'
  /** SSCP-LU data for a client without SSCP-LU-DATA, kept until it looks at the SSCP session. */
  private heldSscp: Buffer[] = []

  constructor (binding: ClientBinding, lu: DependentLu, ctx: BridgeContext) {
    this.b = binding
    this.lu = lu
    this.ctx = ctx
    this.clock = ctx.clock ?? systemClock
    this.done = new Promise(resolve => { this.resolveDone = resolve })
    this.leg = new ClientLeg({
      binding, config: ctx.config, metrics: ctx.metrics, clock: this.clock,
      onCredit: () => { this.evaluateCredit() },
      end: reason => { this.end(reason) },
    })
  }

  /** Serves until the client or the LU goes away; resolves once the LU is clean. */
  run (): Promise<void> {
    this.listenToClient()
    this.leg.startKeepAlive()
    void this.attachWhenQuiet()
    return this.done
  }

  /**
   * The previous client's NOTIFY(disabled) may still be unanswered: until the host answers, it may
   * send what it meant for that terminal, so this client is attached only after (the LU refuses a
   * BIND and drops SSCP data while no client is attached).
   */
  private async attachWhenQuiet (): Promise<void> {
    if (this.lu.detaching) await this.waitForHost('NOTIFY', () => !this.lu.detaching, ['detached'])
    if (!this.leg.open) return
    this.listenToLu()
    // A BIND left from an earlier client cannot be reused: the host's view of the screen is wrong.
    if (this.lu.luLu.isBound) this.lu.sendUnbind(UnbindType.NORMAL)
    // NOTIFY(SLU enabled): the host's SSCP now starts the session (USS or DEFAPPL).
    this.lu.attach()
    if (this.lu.state === 'inactive') this.end('LU is not active')
  }

  pacingStatus (): BridgePacingStatus {
    const r = this.pacing?.receiver
    return {
      window: r?.windowSize ?? 0,
      adaptive: r?.adaptive ?? false,
      held: r?.held ?? 0,
      owed: r?.pacingResponseOwed ?? false,
      stalled: r?.stalled ?? false,
      clientQueuedBytes: this.b.session.socket.writableLength,
      inboundQueued: this.pacing?.sender.queued ?? 0,
    }
  }

  get luName (): string { return this.lu.name }

  /** Ends the client side (if still open) and cleans the LU. Idempotent. */
  end (reason: string): void {
    if (!this.leg.end(reason)) return
    this.pacing?.close()
    void this.cleanLu().finally(() => {
      this.leg.dispose()
      this.resolveDone()
    })
  }

  private listenToLu (): void {
    const { leg, lu } = this
    // Methods with their owner, not arrows: no closure per subscription beyond the leg's guard.
    leg.listen(lu, 'bind', this.onBind, this)
    leg.listen(lu, 'unbind', this.onUnbind, this)
    leg.listen(lu, 'data', this.onHostData, this)
    leg.listen(lu, 'sscpData', this.onSscpData, this)
    leg.listen(lu, 'ipr', this.onPacingResponse, this)
    leg.listen(lu, 'ipm', this.onIpm, this)
    leg.listen(lu, 'inactive', this.onLuInactive, this)
    leg.listen(lu, 'protocolError', this.onProtocolError, this)
  }

  private listenToClient (): void {
    const { leg } = this
    const { session } = this.b
    leg.listen(session, 'data', this.onClientData, this)
    leg.listen(session, 'response', this.onClientResponse, this)
    leg.listen(session, 'attn', this.onAttn, this)
    leg.listen(session, 'sysreq', this.onSysreq, this)
  }

  private onLuInactive (): void { this.end('host deactivated the LU (DACTLU or link down)') }

  private onProtocolError (e: { reason: string, sense?: number }): void {
    this.b.logger.warn({ reason: e.reason, sense: e.sense }, 'SNA protocol error on LU')
  }

  /**
   * The client is gone; the LU goes back once the host has ended the LU-LU session (our UNBIND
   * answered) and NOTIFY(disabled) is out. The host answers that NOTIFY after anything it sent for
   * this terminal (a BIND it had started, refused with 083A once detached; a USS screen, dropped),
   * and the LU's next client attaches only after that answer (attachWhenQuiet).
   */
  private async cleanLu (): Promise<void> {
    const lu = this.lu
    if (lu.luLu.isBound) {
      try {
        lu.sendUnbind(UnbindType.NORMAL)
      } catch (err) {
        this.b.logger.debug({ err: errorMessage(err) }, 'UNBIND not sent')
      }
    }
    await this.waitForHost('UNBIND', () => this.luLuEnded(), ['unbind', 'response'])
    if (lu.attached) lu.detach()
  }

  /** After our UNBIND the half-session is pending-unbind until the host's +RSP(UNBIND). */
  private luLuEnded (): boolean {
    const lu = this.lu
    return lu.state === 'inactive' || (!lu.luLu.isBound && lu.luLu.state !== 'pending-unbind')
  }

  /** Resolves when `done()` holds (checked on each of `events` and on 'inactive') or after HOST_ANSWER_WAIT_MS. */
  private waitForHost (what: string, done: () => boolean, events: Array<keyof LuEvents>): Promise<void> {
    return new Promise(resolve => {
      if (done()) { resolve(); return }
      const lu = this.lu as unknown as { on: (e: string, f: () => void) => void, off: (e: string, f: () => void) => void }
      const check = (): void => { if (done()) finish(false) }
      const finish = (late: boolean): void => {
        this.clock.clearTimeout(timer)
        for (const e of [...events, 'inactive']) lu.off(e, check)
        if (late) this.b.logger.warn({ waitedMs: HOST_ANSWER_WAIT_MS }, `host did not answer ${what} in time`)
        resolve()
      }
      const timer = this.clock.setTimeout(() => { finish(!done()) }, HOST_ANSWER_WAIT_MS)
      for (const e of [...events, 'inactive']) lu.on(e, check)
    })
  }

  // ---------------------------------------------------------------- ATTN and SYSREQ

  /** The client can take SSCP-LU-DATA records (TN3270E with BIND-IMAGE, RFC 2355 §10.1). */
  private get sscpRecords (): boolean {
    const s = this.b.session
    return s.mode === 'tn3270e' && s.functions.has('BIND-IMAGE')
  }

  private onAttn (): void {
    if (this.lu.state !== 'in-session') {
      this.b.logger.debug('ATTN with no LU-LU session: nothing to signal')
      return
    }
    this.lu.sendSignal()
  }

  /** SYSREQ toggles the terminal between the two sessions, as a 3270 on a 3274 does. */
  private onSysreq (): void {
    const inSession = this.lu.state === 'in-session'
    this.b.logger.debug({ dialog: this.dialog, inSession }, 'SYSREQ from client')
    if (inSession && this.dialog === 'sscp') {
      this.dialog = 'lu-lu'
      // Back on the LU-LU session: the screen shows the SSCP's; the application paints it again.
      this.sendToHost({ ru: encodeLustat({ status: LustatStatus.PRESENTATION_SPACE_LOST, extension: 0 }), bci: true, eci: true, dfc: true })
      return
    }
    this.dialog = 'sscp'
    // A client with SSCP-LU-DATA keeps its screen until the SSCP writes; the others get the SSCP's
    // screen now (held messages, or an empty one), which also gives them back the keyboard.
    if (!this.sscpRecords) this.showSscp(Buffer.concat(this.heldSscp.splice(0)))
  }

  private onBindReset (): void {
    this.dialog = 'lu-lu'
    this.heldSscp = []
  }

  // ---------------------------------------------------------------- host → client

  private onBind (bind: BindImage): void {
    const { config, metrics } = this.ctx
    this.bind = bind
    // The application is the BIND's primary LU name ("SNA Formats", GA27-3136, BIND RU).
    if (this.b.activity !== undefined) this.b.activity.application = ebcdicDecode(bind.pluName).trim()
    this.onBindReset()
    this.chain = []
    this.previousWindowLargest = bind.maxPrimarySendRu + RECORD_OVERHEAD
    this.windowLargest = 0
    this.pacing?.close()
    this.pacing = new SessionPacing<InboundRu, LuDataEvent>({
      bind: bind.pacing,
      role: 'secondary',
      // Adaptive pacing ("SNA Formats", GA27-3136 IPM): the next-window size may exceed the BIND's
      // window; how far is decided by byte credit at each grant.
      maxWindow: ADAPTIVE_WINDOW_LIMIT,
      queueLimit: config.pacing.inboundQueueLimit,
      clock: this.clock,
      stallAfter: config.pacing.stallAfter,
      initialCredit: this.credit(bind),
      onEvent: e => {
        if (e.type === 'stalled') {
          metrics.pacingStalledSessions.inc()
          this.b.logger.debug({ owedForMs: e.owedForMs }, 'pacing stalled: waiting for client credit')
        } else if (e.type === 'unstalled') {
          metrics.pacingStalledSessions.dec()
        } else {
          metrics.pacingCreditWaitSeconds.observe(e.seconds)
        }
      },
    })
    this.warnIfHighWaterMarkTooLow(bind, this.pacing.receiver.windowSize)
    const { session } = this.b
    if (session.functions.has('BIND-IMAGE') && this.lu.bindImage !== undefined) session.sendBindImage(this.lu.bindImage)
  }

  private warnIfHighWaterMarkTooLow (bind: BindImage, window: number): void {
    const { highWaterMark } = this.ctx.config.pacing
    const twoWindows = 2 * window * (bind.maxPrimarySendRu + 7)
    if (window === 0 || highWaterMark >= twoWindows) return
    // The pacing response needs credit for the rest of the current window plus the next one
    // (KB Q181737), so below two windows of max-size RUs the host only gets one window per round
    // trip, and a response owed at the end of a partial window waits until the host sends again.
    this.b.logger.warn({ highWaterMark, window, maxRu: bind.maxPrimarySendRu, needed: twoWindows },
      'pacing.highWaterMark is below two pacing windows of max-size RUs; outbound throughput will be limited')
  }

  private onUnbind (type: number): void {
    this.pacing?.close()
    this.pacing = undefined
    this.chain = []
    this.pendingResponses?.clear()
    const { session } = this.b
    if (this.leg.open && session.functions.has('BIND-IMAGE')) session.sendUnbind(type)
  }

  private onHostData (ev: LuDataEvent): void {
    const pacing = this.pacing
    if (pacing === undefined) {
      this.deliverToClient(ev)
      return
    }
    this.noteRequestSize(ev)
    // A pacing request is answered as soon as the whole next window is guaranteed (KB Q181737):
    // look at the client's queue now, not as it was at the last flush.
    if (ev.pacing) this.evaluateCredit()
    // The event may be held past this tick by the pacing gate: its RU is a view of the PIU the
    // host link copied out of its read (FrameDecoder), so it is ours already; no copy here.
    const d = pacing.receiver.receiveRequest(ev, { pi: ev.pacing, rlwi: ev.rh.rlwi })
    if (d.violation !== undefined) {
      // Pacing protocol error by the host: negative response with the sense the decision names
      // (2011 xxxx, "SNA Formats", GA27-3136); the request is not passed on.
      this.lu.sendResponse(ev.snf, d.violation.sense)
      this.warnPacing(d.violation)
      return
    }
    this.applyReceiver(d)
  }

  /** A pacing request starts the host's next window: the estimate follows the sizes it sends. */
  private noteRequestSize (ev: LuDataEvent): void {
    if (ev.pacing) {
      this.previousWindowLargest = this.windowLargest === 0 ? this.previousWindowLargest : this.windowLargest
      this.windowLargest = 0
    }
    this.windowLargest = Math.max(this.windowLargest, ev.ru.length + RECORD_OVERHEAD)
  }

  private applyReceiver (d: ReceiverDecision<LuDataEvent>): void {
    if (d.violation !== undefined) { this.warnPacing(d.violation); return }
    // The grant of the host's next window first (an IPR under fixed pacing, a solicited IPM under
    // adaptive): it is decided, so it leaves ahead of the client's records, and the host's next
    // window is not kept waiting behind their write (KB Q181737: answer as soon as it is guaranteed).
    if (d.sendIpr || d.sendIpm !== undefined) {
      if (d.sendIpr) this.lu.sendIpr()
      if (d.sendIpm !== undefined) this.lu.sendIpm(d.sendIpm)
      // The host waits for it before its next window: on the wire now, not at the end of the turn.
      this.ctx.flushHost?.()
    }
    if (d.deliver.length > 1) {
      // One write to the kernel for a window's records instead of one per record.
      const socket = this.b.session.socket
      socket.cork()
      try {
        for (const ev of d.deliver) this.deliverToClient(ev)
      } finally {
        socket.uncork()
      }
    } else if (d.deliver.length === 1) {
      this.deliverToClient(d.deliver[0]!)
    }
    if (this.creditCheckWanted(d.deliver.length > 0)) this.leg.checkCreditWhenFlushed()
  }

  /**
   * Whether credit must be looked at again once the bytes written so far have left: when records
   * just went out and something waits for credit (held requests, an owed pacing response), the
   * session has no pacing (nothing else refreshes its credit) or adaptive pacing (a window may
   * cost more than estimated: evaluateCredit's reset); and while the client's queue is not empty
   * and something waits. Not otherwise: under fixed pacing the next pacing request reads the
   * queue itself, so a one-record transaction costs no empty write and immediate, and with
   * nothing written and nothing queued a check would only come straight back (a busy loop).
   */
  private creditCheckWanted (delivered: boolean): boolean {
    const r = this.pacing?.receiver
    if (r === undefined) return false
    const waits = r.held > 0 || r.pacingResponseOwed
    if (delivered) return waits || !r.paced || r.adaptive
    return waits && this.b.session.socket.writableLength > 0
  }

  private deliverToClient (ev: LuDataEvent): void {
    const { session } = this.b
    if (ev.chain === 'only' || ev.chain === 'first') this.chainEndsBracket = ev.rh.ebi
    if (ev.rh.cebi) this.chainEndsBracket = true
    let record: Buffer
    if (ev.chain === 'only' && this.chain.length === 0) {
      // A one-RU chain (most records): the RU is the record, no chain array per record.
      record = ev.ru
    } else {
      this.chain.push(ev.ru)
      if (ev.chain !== 'only' && ev.chain !== 'last') return
      record = this.chain.length === 1 ? this.chain[0]! : Buffer.concat(this.chain)
      this.chain = []
    }
    const wantsResponse = ev.definite && session.functions.has('RESPONSES')
    const opts = wantsResponse ? ASK_RESPONSE : NO_RESPONSE
    // An LU type 1 printer's data is SCS (RFC 2355 §8.1.1 SCS-DATA); everything else is 3270 data.
    const seq = this.b.lu.printer === 'lu1' ? session.sendScs(record, opts) : session.send3270(record, opts)
    if (this.chainEndsBracket) this.endPrintJob()
    if (wantsResponse && seq !== undefined) (this.pendingResponses ??= new Map()).set(seq, ev.snf)
    // The client cannot answer (no RESPONSES): the gateway does, once the record is queued.
    else if (ev.definite) this.lu.sendResponse(ev.snf, true)
    this.leg.hostRecordDelivered(record)
  }

  /** The host ended its bracket: on a printer session that is the end of a print job. */
  private endPrintJob (): void {
    this.chainEndsBracket = false
    const { session } = this.b
    if (this.b.lu.printer === undefined || session.mode !== 'tn3270e') return
    if (session.functions.has('SCS-CTL-CODES') || session.functions.has('DATA-STREAM-CTL')) session.sendPrintEoj()
  }

  private onSscpData (ru: Buffer): void {
    if (!this.leg.open) {
      // The host wrote before it saw NOTIFY(disabled); the terminal it was for has gone.
      this.b.logger.debug({ bytes: ru.length }, 'SSCP-LU data after the client left: not delivered')
      return
    }
    if (this.sscpRecords) {
      this.b.session.sendSscpLuData(ru)
      return
    }
    if (this.dialog === 'lu-lu' && this.lu.state === 'in-session') {
      // The terminal shows the application: keep the SSCP's message for its next SYSREQ.
      this.heldSscp.push(ru)
      if (this.heldSscp.length > HELD_SSCP_LIMIT) this.heldSscp.shift()
      this.b.logger.debug({ bytes: ru.length, held: this.heldSscp.length }, 'SSCP-LU data held until SYSREQ')
      return
    }
    this.showSscp(ru)
  }

  /**
   * A client with no SSCP-LU data type (TN3270, or TN3270E without BIND-IMAGE) sees SSCP-LU text as
   * a screen with an input line, as TN3270 servers show the SSCP-LU session.
   */
  private showSscp (ru: Buffer): void {
    const { session } = this.b
    const text = ebcdicDecode(ru).replace(/[\x00-\x1f]/g, ' ')
    const w = new ScreenWriter({ rows: session.rows, cols: session.cols }).eraseWrite({ restore: true })
    const lines = ru.length === 0 ? [] : wrap(text, session.cols)
    lines.slice(0, session.rows - 2).forEach((line, i) => { w.sba(i, 0).sf({ protected: true }).text(line.slice(0, session.cols - 1)) })
    w.sba(session.rows - 2, 0).sf({ protected: false }).ic().sba(session.rows - 2, session.cols - 1).sf({ protected: true })
    session.send3270(w.toBuffer())
  }

  /** An IPR from the host: the next window for what we send (fixed pacing). */
  private onPacingResponse (): void {
    const p = this.pacing
    if (p === undefined) return
    this.applySender(p.receivePacingResponse('ipr'))
  }

  /**
   * An IPM from the host (adaptive pacing, "SNA Formats", GA27-3136): solicited and unsolicited
   * IPMs pace what we send (an unsolicited one is acknowledged with a reset-ack IPM); a reset
   * acknowledgement answers a reset of ours.
   */
  private onIpm (ipm: Ipm): void {
    const p = this.pacing
    if (p === undefined) return
    const d = p.receiveIpm(ipm)
    if (d.to === 'sender') this.applySender(d.decision)
    else this.applyReceiver(d.decision)
  }

  private applySender (d: SenderDecision<InboundRu>): void {
    // A pacing response cannot be answered with a response: say so and carry on.
    if (d.violation !== undefined) { this.warnPacing(d.violation); return }
    if (d.sendIpm !== undefined) this.lu.sendIpm(d.sendIpm)
    for (const item of d.send) this.sendRuToHost(item)
  }

  private warnPacing (v: PacingViolation): void {
    this.b.logger.warn({ sense: v.sense.toString(16).toUpperCase().padStart(8, '0'), code: v.error.code }, v.error.message)
  }

  // ---------------------------------------------------------------- client → host

  private onClientData (d: { type: string, data: Buffer, seq: number }): void {
    const lu = this.lu
    if (!lu.attached) {
      // Before the LU is the client's (attachWhenQuiet) or after it left: no session to take it.
      this.b.logger.debug({ type: d.type, bytes: d.data.length }, 'client record while the LU is not attached: not forwarded')
      return
    }
    if (d.type === '3270-DATA' && d.data.subarray(0, TEST_REQUEST_READ.length).equals(TEST_REQUEST_READ)) {
      // SYSREQ from a client without IAC AO: a Test Request Read, never application data.
      this.onSysreq()
      return
    }
    if (d.type === 'SSCP-LU-DATA' || (d.type === '3270-DATA' && (this.dialog === 'sscp' || lu.state !== 'in-session'))) {
      if (lu.state === 'inactive') return
      // Typed text on the SSCP-LU session (LOGON ...) is character-coded.
      const text = d.type === 'SSCP-LU-DATA' ? d.data : sscpTextFromInbound(d.data, this.b.session.rows, this.b.session.cols)
      if (text.length > 0) lu.sendSscpData(text)
      return
    }
    if (d.type !== '3270-DATA' || lu.state !== 'in-session' || this.bind === undefined) return
    // A query reply (AID X'88', GA23-0059) answers the application, not a user's key: no RFC 2562 transaction.
    if (d.data[0] !== AID_STRUCTURED_FIELD) this.leg.clientRecordForwarded()
    for (const part of chainRu(d.data, this.bind.maxSecondarySendRu)) {
      if (!this.sendToHost({ ru: part.ru, bci: part.bci, eci: part.eci })) return
    }
  }

  /** One normal-flow RU through the pacing sender; false when the session had to end. */
  private sendToHost (item: InboundRu): boolean {
    const p = this.pacing
    if (p === undefined) return false
    const r = p.sender.submit(item)
    if (!r.ok) {
      // Bounded inbound queue: say so and end, never drop silently.
      this.b.logger.warn({ queued: p.sender.queued, limit: this.ctx.config.pacing.inboundQueueLimit }, r.error.message)
      this.end('inbound queue limit reached while the host withheld its pacing window')
      return false
    }
    for (const out of r.send) this.sendRuToHost(out)
    return true
  }

  private sendRuToHost ({ item, setPi }: { item: InboundRu, setPi: boolean }): void {
    // Inbound 3270 data: FMD, RQE1, CD on the last RU of the chain ("SNA Formats", GA27-3136);
    // LUSTAT the same way as a DFC request (KB Q172484 shows one: RQE1, PI, CD).
    this.lu.sendData(item.ru, { beginChain: item.bci, endChain: item.eci, changeDirection: item.eci, pacing: setPi, ...(item.dfc === true ? { category: 'DFC' as const } : {}) })
  }

  private onClientResponse (r: { seq: number, positive: boolean, code: number }): void {
    const snf = this.pendingResponses?.get(r.seq)
    if (snf === undefined) return
    this.pendingResponses!.delete(r.seq)
    this.lu.sendResponse(snf, r.positive ? true : (NEGATIVE_SENSE[r.code] ?? 0x10030000))
    this.evaluateCredit()
  }

  // ---------------------------------------------------------------- credit

  /**
   * Application credit (KB Q181737): the bytes of room below the high-water mark, in requests of
   * the size the host has been sending (never above the BIND's max RU), capped by responses owed.
   */
  private credit (bind = this.bind): number {
    const maxRequest = (bind?.maxPrimarySendRu ?? 4096) + RECORD_OVERHEAD
    return this.leg.credit({
      maxMessageBytes: Math.min(maxRequest, Math.max(this.previousWindowLargest, this.windowLargest)),
      window: this.pacing?.receiver.windowSize ?? bind?.pacing.secondaryReceiveWindow ?? 0,
      responsesOutstanding: this.pendingResponses?.size ?? 0,
    })
  }

  private evaluateCredit (): void {
    const p = this.pacing
    if (p === undefined || !this.leg.open) return
    const r = p.receiver
    this.applyReceiver(r.setAvailableCredit(this.credit()))
    // The host sent larger requests than the estimate paid for: under adaptive pacing, stop it
    // now with a reset IPM (GA27-3136) rather than let the client's queue grow past what a
    // window may cost; the reset acknowledgement asks again, granted once credit is back.
    if (r.adaptive && r.gate.overcommitted && r.gate.guaranteed > 0 && this.b.session.socket.writableLength > 0) {
      this.applyReceiver(r.resetWindow())
    }
  }
}

function wrap (text: string, cols: number): string[] {
  const out: string[] = []
  for (const para of text.split(/\r?\n|\x15/)) {
    for (let i = 0; i < para.length; i += cols - 1) out.push(para.slice(i, i + cols - 1))
    if (para.length === 0) out.push('')
  }
  return out
}

/** The typed text of a Read Modified on the USS screen, as EBCDIC for the SSCP-LU session. */
function sscpTextFromInbound (record: Buffer, rows: number, cols: number): Buffer {
  try {
    const parsed = parseInbound(record, { rows, cols })
    const text = parsed.fields.map(f => f.text).join(' ').trim()
    return ebcdicEncode(text)
  } catch {
    return Buffer.alloc(0)
  }
}
