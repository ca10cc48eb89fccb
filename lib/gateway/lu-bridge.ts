// Joins one TN3270(E) client session to its dependent LU's sessions with the host:
//   host → client: LU-LU FMD chains become 3270 records, BIND/UNBIND become BIND-IMAGE/UNBIND
//     records where negotiated, SSCP-LU data becomes SSCP-LU-DATA (TN3270E) or a screen (TN3270);
//     session-level pacing grants the host a window only with client credit (seed 003).
//   client → host: records become FMD chains split at the BIND's max RU size, paced by the host's
//     window with a bounded queue; TN3270E responses become SNA responses (RFC 2355 §10).
//   KeepAlive runs on the client connection (seed 004).
// When either side ends, the LU is cleaned as SNA requires (UNBIND, NOTIFY disabled) before
// the lease goes back to the pool.
import type { EventEmitter } from 'node:events'
import { systemClock, type Clock } from '../clock.js'
import type { GatewayConfig } from '../config/index.js'
import { decode as ebcdicDecode, encode as ebcdicEncode, parseInbound, ScreenWriter } from '../datastream/index.js'
import { attachKeepAlive, telnetKeepAliveTarget, type KeepAliveHandle } from '../keepalive/index.js'
import type { GatewayMetrics } from '../observability/index.js'
import { chainRu, UnbindType, type BindImage, type DependentLu, type LuDataEvent } from '../sna/index.js'
import { creditFromClientState, SessionPacing, type ReceiverDecision } from '../sna/index.js'
import type { ClientBinding } from './host-side.js'

/** How long to wait for the host's +RSP(UNBIND) when the client leaves before freeing the LU. */
const UNBIND_WAIT_MS = 3000

/**
 * TN3270E negative response codes (RFC 2355 §10.4) as SNA sense data for the host:
 * COMMAND-REJECT → 1003 (function not supported), INTERVENTION-REQUIRED → 0802,
 * OPERATION-CHECK → 1001 (RU data error), COMPONENT-DISCONNECTED → 0831 (LU component disconnected).
 */
const NEGATIVE_SENSE: Record<number, number> = { 0: 0x10030000, 1: 0x08020000, 2: 0x10010000, 3: 0x08310000 }

/** 3270 commands that carry a WCC (SNA codes and their local-channel twins), GA23-0059. */
const WCC_COMMANDS = new Set([0xf1, 0xf5, 0x7e, 0x01, 0x05, 0x0d])

const EMPTY = Buffer.alloc(0)

/** One RU of an inbound chain, as queued by the pacing sender (each RU counts in the window). */
interface InboundRu { ru: Buffer, bci: boolean, eci: boolean }

export interface BridgeContext {
  config: GatewayConfig
  metrics: GatewayMetrics
  clock?: Clock
}

export class LuBridge {
  private readonly b: ClientBinding
  private readonly lu: DependentLu
  private readonly ctx: BridgeContext
  private readonly clock: Clock
  private pacing: SessionPacing<InboundRu, LuDataEvent> | undefined
  private bind: BindImage | undefined
  private chain: Buffer[] = []
  /** Definite responses the host asked for, by TN3270E SEQ: the host's SNF to answer. */
  private readonly pendingResponses = new Map<number, number>()
  private keepalive: KeepAliveHandle | undefined
  private inboundSince: bigint | undefined
  private ending = false
  private clientClosed = false
  private readonly done: Promise<void>
  private resolveDone!: () => void
  private readonly listeners: Array<() => void> = []
  /** After SYSREQ the client talks to the SSCP (LOGOFF, ...) until the next SYSREQ. */
  private sscpMode = false
  /** A credit check is scheduled for when the bytes written so far have left the process. */
  private creditCheckPending = false

  constructor (binding: ClientBinding, lu: DependentLu, ctx: BridgeContext) {
    this.b = binding
    this.lu = lu
    this.ctx = ctx
    this.clock = ctx.clock ?? systemClock
    this.done = new Promise(resolve => { this.resolveDone = resolve })
  }

  /** Serves until the client or the LU goes away; resolves once the LU is clean. */
  run (): Promise<void> {
    const { session } = this.b
    const { config, metrics } = this.ctx
    this.on(this.lu, 'bind', (bind: BindImage) => this.onBind(bind))
    this.on(this.lu, 'unbind', (type: number) => this.onUnbind(type))
    this.on(this.lu, 'data', (ev: LuDataEvent) => this.onHostData(ev))
    this.on(this.lu, 'sscpData', (ru: Buffer) => this.onSscpData(ru))
    this.on(this.lu, 'ipr', () => this.onPacingResponse())
    this.on(this.lu, 'inactive', () => { this.end('host deactivated the LU (DACTLU or link down)') })
    this.on(this.lu, 'protocolError', (e: { reason: string, sense?: number }) => this.b.logger.warn({ reason: e.reason, sense: e.sense }, 'SNA protocol error on LU'))
    this.on(session, 'data', (d: { type: string, data: Buffer, seq: number }) => this.onClientData(d))
    this.on(session, 'response', (r: { seq: number, positive: boolean, code: number }) => this.onClientResponse(r))
    this.on(session, 'attn', () => this.b.logger.debug('ATTN from client'))
    // SYSREQ (RFC 2355 §10.5; anchors §3.2): switch the client between the LU-LU and the SSCP-LU
    // session, as a 3270 terminal does; the SSCP answers on SSCP-LU-DATA.
    this.on(session, 'sysreq', () => {
      this.sscpMode = !this.sscpMode
      this.b.logger.debug({ sscpMode: this.sscpMode }, 'SYSREQ from client')
    })
    this.on(session, 'close', (reason: string) => { this.clientClosed = true; this.end(`client: ${reason}`) })
    this.on(session.socket, 'drain', () => this.evaluateCredit())
    if (config.keepalive.method !== 'none') {
      this.keepalive = attachKeepAlive(telnetKeepAliveTarget(session), config.keepalive, {
        logger: this.b.logger,
        metrics,
        clock: this.clock,
        client: session.client,
        lu: this.lu.name,
      })
    }
    // A BIND left from an earlier client cannot be reused: the host's view of the screen is wrong.
    if (this.lu.luLu.isBound) this.lu.sendUnbind(UnbindType.NORMAL)
    // NOTIFY(SLU enabled): the host's SSCP now starts the session (USS or DEFAPPL), §3.5.
    this.lu.attach()
    if (this.lu.state === 'inactive') this.end('LU is not active')
    return this.done
  }

  /** Pacing accounting for /status: what the gateway holds for this client right now. */
  pacingStatus (): { window: number, held: number, owed: boolean, stalled: boolean, clientQueuedBytes: number, inboundQueued: number } {
    const r = this.pacing?.receiver
    return {
      window: r?.windowSize ?? 0,
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
    if (this.ending) return
    this.ending = true
    this.b.onEnd(reason)
    this.keepalive?.stop()
    this.pacing?.close()
    if (!this.clientClosed) this.b.session.close(reason)
    void this.cleanLu().finally(() => {
      for (const off of this.listeners) off()
      this.resolveDone()
    })
  }

  private async cleanLu (): Promise<void> {
    const lu = this.lu
    // After our UNBIND the half-session is pending-unbind (not "bound") until the host's
    // +RSP(UNBIND): the LU may only go back to the pool once the host has ended its session too.
    const ended = (): boolean => lu.state === 'inactive' || (!lu.luLu.isBound && lu.luLu.state !== 'pending-unbind')
    if (lu.luLu.isBound) {
      try {
        lu.sendUnbind(UnbindType.NORMAL)
      } catch (err) {
        this.b.logger.debug({ err: (err as Error).message }, 'UNBIND not sent')
      }
    }
    if (!ended()) {
      await this.waitUntil(ended, UNBIND_WAIT_MS)
      if (!ended()) this.b.logger.warn({ waitedMs: UNBIND_WAIT_MS }, 'host did not answer UNBIND in time')
    }
    if (lu.attached) lu.detach()
  }

  private waitUntil (cond: () => boolean, ms: number): Promise<void> {
    return new Promise(resolve => {
      if (cond()) { resolve(); return }
      const check = (): void => { if (cond()) finish() }
      const finish = (): void => {
        this.clock.clearTimeout(timer)
        this.lu.off('unbind', check)
        this.lu.off('response', check)
        this.lu.off('inactive', finish)
        resolve()
      }
      const timer = this.clock.setTimeout(finish, ms)
      this.lu.on('unbind', check)
      this.lu.on('response', check)
      this.lu.on('inactive', finish)
    })
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private on (emitter: EventEmitter<any>, event: string, fn: (...args: any[]) => void): void {
    const guarded = (...args: any[]): void => {
      try {
        fn(...args)
      } catch (err) {
        // One bad exchange ends this client, never the gateway.
        this.b.logger.error({ err: (err as Error).message, event }, 'session bridge failed')
        this.end(`bridge error: ${(err as Error).message}`)
      }
    }
    emitter.on(event, guarded)
    this.listeners.push(() => emitter.off(event, guarded))
  }

  // ---------------------------------------------------------------- host → client

  private onBind (bind: BindImage): void {
    const { config, metrics } = this.ctx
    this.bind = bind
    this.chain = []
    this.pacing?.close()
    this.pacing = new SessionPacing<InboundRu, LuDataEvent>({
      bind: bind.pacing,
      role: 'secondary',
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
    const window = this.pacing.receiver.windowSize
    const twoWindows = 2 * window * (bind.maxPrimarySendRu + 7)
    if (window > 0 && config.pacing.highWaterMark < twoWindows) {
      // The IPR needs credit for the rest of the current window plus the next one (seed 003),
      // so below two windows of max-size RUs the host only gets one window per round trip,
      // and an IPR owed at the end of a partial window waits until the host sends again.
      this.b.logger.warn({ highWaterMark: config.pacing.highWaterMark, window, maxRu: bind.maxPrimarySendRu, needed: twoWindows },
        'pacing.highWaterMark is below two pacing windows of max-size RUs; outbound throughput will be limited')
    }
    const { session } = this.b
    if (session.functions.has('BIND-IMAGE') && this.lu.bindImage !== undefined) session.sendBindImage(this.lu.bindImage)
  }

  private onUnbind (type: number): void {
    this.pacing?.close()
    this.pacing = undefined
    this.chain = []
    this.pendingResponses.clear()
    const { session } = this.b
    if (!this.ending && session.functions.has('BIND-IMAGE')) session.sendUnbind(type)
  }

  private onHostData (ev: LuDataEvent): void {
    const pacing = this.pacing
    if (pacing === undefined) {
      this.deliverToClient(ev)
      return
    }
    const d = pacing.receiver.receiveRequest(copyEvent(ev), { pi: ev.pacing, rlwi: ev.rh.rlwi })
    if (d.violation !== undefined) {
      // Pacing protocol error by the host: negative response with the 2011/1001 sense (§4.1).
      this.lu.sendResponse(ev.snf, d.violation.sense)
      this.b.logger.warn({ sense: d.violation.sense.toString(16) }, d.violation.error.message)
      return
    }
    this.applyReceiver(d)
  }

  private applyReceiver (d: ReceiverDecision<LuDataEvent>): void {
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
    if (d.sendIpr) this.lu.sendIpr()
    if (d.deliver.length > 0) this.scheduleCreditCheck()
  }

  /**
   * Credit is room in the client's write queue, so it comes back when delivered records leave
   * the process. An empty write's callback runs once everything before it was handed to the
   * kernel — for a client that stopped reading, never, which is the point. 'drain' only fires
   * after the socket's own buffer limit was crossed, so it alone would miss small records.
   */
  private scheduleCreditCheck (): void {
    if (this.creditCheckPending || this.ending) return
    this.creditCheckPending = true
    this.b.session.socket.write(EMPTY, () => {
      this.creditCheckPending = false
      setImmediate(() => this.evaluateCredit())
    })
  }

  private deliverToClient (ev: LuDataEvent): void {
    const { session } = this.b
    this.chain.push(ev.ru)
    if (ev.chain !== 'only' && ev.chain !== 'last') return
    const record = this.chain.length === 1 ? this.chain[0]! : Buffer.concat(this.chain)
    this.chain = []
    const wantsResponse = ev.definite && session.functions.has('RESPONSES')
    const seq = session.send3270(record, wantsResponse ? { response: true } : {})
    if (wantsResponse && seq !== undefined) this.pendingResponses.set(seq, ev.snf)
    // The client cannot answer (no RESPONSES): the gateway does, once the record is queued.
    else if (ev.definite) this.lu.sendResponse(ev.snf, true)
    this.observeResponseTime(record)
  }

  private onSscpData (ru: Buffer): void {
    const { session } = this.b
    if (session.mode === 'tn3270e') {
      session.sendSscpLuData(ru)
      return
    }
    // A traditional TN3270 client has no SSCP-LU data type: show the USS text as a screen with
    // an input line, as TN3270 servers do for the SSCP-LU session.
    const text = ebcdicDecode(ru).replace(/[\x00-\x1f]/g, ' ')
    const w = new ScreenWriter({ rows: session.rows, cols: session.cols }).eraseWrite({ restore: true })
    const lines = wrap(text, session.cols)
    lines.slice(0, session.rows - 2).forEach((line, i) => { w.sba(i, 0).sf({ protected: true }).text(line.slice(0, session.cols - 1)) })
    w.sba(session.rows - 2, 0).sf({ protected: false }).ic().sba(session.rows - 2, session.cols - 1).sf({ protected: true })
    session.send3270(w.toBuffer())
  }

  private onPacingResponse (): void {
    const p = this.pacing
    if (p === undefined) return
    const d = p.receivePacingResponse('ipr')
    for (const item of d.send) this.sendRuToHost(item)
  }

  // ---------------------------------------------------------------- client → host

  private onClientData (d: { type: string, data: Buffer, seq: number }): void {
    const lu = this.lu
    if (d.type === 'SSCP-LU-DATA' || (d.type === '3270-DATA' && (this.sscpMode || lu.state !== 'in-session'))) {
      if (lu.state === 'inactive') return
      // Typed text on the SSCP-LU session (LOGON ...): character-coded, §6.2 HERC.
      const text = d.type === 'SSCP-LU-DATA' ? d.data : sscpTextFromInbound(d.data, this.b.session.rows, this.b.session.cols)
      if (text.length > 0) lu.sendSscpData(text)
      return
    }
    if (d.type !== '3270-DATA' || lu.state !== 'in-session' || this.bind === undefined) return
    this.inboundSince = process.hrtime.bigint()
    const parts = chainRu(d.data, this.bind.maxSecondarySendRu)
    const p = this.pacing!
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      const r = p.sender.submit({ ru: part.ru, bci: part.bci, eci: part.eci })
      if (!r.ok) {
        // Bounded inbound queue (issue 7): say so and end, never drop silently.
        this.b.logger.warn({ queued: p.sender.queued, limit: this.ctx.config.pacing.inboundQueueLimit }, r.error.message)
        this.end('inbound queue limit reached while the host withheld its pacing window')
        return
      }
      for (const item of r.send) this.sendRuToHost(item)
    }
  }

  private sendRuToHost ({ item, setPi }: { item: InboundRu, setPi: boolean }): void {
    // Inbound 3270 data: RH 03 90 20 = FMD, BC EC, RQE1, CD on the last RU (sna-formats §6.2).
    this.lu.sendData(item.ru, { beginChain: item.bci, endChain: item.eci, changeDirection: item.eci, pacing: setPi })
  }

  private onClientResponse (r: { seq: number, positive: boolean, code: number }): void {
    const snf = this.pendingResponses.get(r.seq)
    if (snf === undefined) return
    this.pendingResponses.delete(r.seq)
    this.lu.sendResponse(snf, r.positive ? true : (NEGATIVE_SENSE[r.code] ?? 0x10030000))
    this.evaluateCredit()
  }

  // ---------------------------------------------------------------- credit and timing

  /** Application credit in messages (seed 003): room below the high-water mark, responses owed. */
  private credit (bind = this.bind): number {
    const { config } = this.ctx
    return creditFromClientState({
      queuedBytes: this.b.session.socket.writableLength,
      highWaterMark: config.pacing.highWaterMark,
      // An RU becomes a record of at most RU + 5-byte header + IAC EOR (doubling aside).
      maxMessageBytes: (bind?.maxPrimarySendRu ?? 4096) + 7,
      window: this.pacing?.receiver.windowSize ?? bind?.pacing.secondaryReceiveWindow ?? 0,
      responsesOutstanding: this.pendingResponses.size,
    })
  }

  private evaluateCredit (): void {
    const p = this.pacing
    if (p === undefined || this.ending) return
    this.applyReceiver(p.receiver.setAvailableCredit(this.credit()))
  }

  /** RFC 2562: client inbound record to the first host record that restores the keyboard. */
  private observeResponseTime (record: Buffer): void {
    if (this.inboundSince === undefined || record.length < 2) return
    if (!WCC_COMMANDS.has(record[0]!) || (record[1]! & 0x02) === 0) return
    const seconds = Number(process.hrtime.bigint() - this.inboundSince) / 1e9
    this.inboundSince = undefined
    this.ctx.metrics.responseTimeSeconds.observe({ pool: this.b.lease.pool }, seconds)
  }
}

/** The pacing gate may hold an event past this tick: own its RU. A literal, not a spread (hot path). */
function copyEvent (ev: LuDataEvent): LuDataEvent {
  return { ru: Buffer.from(ev.ru), rh: ev.rh, chain: ev.chain, definite: ev.definite, snf: ev.snf, pacing: ev.pacing }
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
