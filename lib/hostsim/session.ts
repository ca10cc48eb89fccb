// The primary (PLU) end of one LU-LU session between an application of the simulated host and a
// dependent LU behind a gateway: the sna LU-LU half-session in the primary role (BIND, SDT, UNBIND,
// sequence numbers, chaining, brackets, response bookkeeping) with the DEMO application on top.
//
//   pending-bind --+RSP(BIND)--> pending-sdt --+RSP(SDT)--> active --UNBIND sent--> pending-unbind
//        |  -RSP(BIND)              | -RSP(SDT): UNBIND cleanup     |  UNBIND received / link down
//        v                          v                               v
//      ended  <---------------------+-------------------------------+-- response to our UNBIND
//
// Flows ("SNA Formats", GA27-3136; VTAM's LU2 BIND to a PU 2.0 in KB Q195170): BIND/SDT/UNBIND are
// expedited SC requests, RH 6B 80 00; LU2 (TS profile 3) gets SDT after +RSP(BIND). Outbound data
// is normal-flow FMD, RQE1, BB on the first chain, CD on the record that unlocks the keyboard
// (plu-output.ts paces and chains it). Inbound data is checked by the half-session (a 3274 counts
// sequence numbers from 0, Hercules from 1: both accepted), paced by the host's receive window
// (PI → IPR, or a solicited IPM, at once: the host always has room) and reassembled into records.
// A session with a printer LU (LU type 1 or 3, `printer`) runs no DEMO dialog: it waits for print
// jobs from the DEMO sessions of displays (print()), each job one bracket (print.ts).
import type { Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import type { Timer } from '../clock.js'
import { Aid, parseInbound, type InboundRecord } from '../datastream/index.js'
import { errorMessage } from '../errors.js'
import {
  ChainReassembler, LuLuHalfSession, PacingReceiver, RequestCode, Sense, UnbindType,
  decodeBind, decodeLustat, formatSense, negativeResponse, requestName, senseName, isDefinite,
  type DataEvent, type Decision, type Ipm, type LuLuEvent, type Piu, type RequestRh, type ResponseEvent,
} from '../sna/index.js'
import { DemoApp, type DemoAction } from './demo.js'
import { DemoScreens, demoScreenLines, renderDemo } from './screens.js'
import { terminalFromQueryReply, type TerminalScreen } from './terminal.js'
import { PluOutput, type OutputPacingStatus } from './plu-output.js'
import { printJob, type PrinterLuType } from './print.js'

export type SessionState = 'pending-bind' | 'pending-sdt' | 'active' | 'pending-unbind' | 'ended'

export interface SessionEnv {
  host: string
  lu: string
  /** LU local address (DAF' of outbound PIUs); the PLU is X'01' (KB Q195170, Q267902). */
  address: number
  application: string
  bind: Buffer
  rows: number
  cols: number
  maxRuPrimary: number
  primarySendWindow: number
  secondarySendWindow: number
  adaptive: boolean
  /** The BIND leaves the screen to the terminal (X'03'): DEMO queries it after SDT. */
  query: boolean
  clock: Clock
  logger: Logger
  /** Returns false when the link's buffer is full: output pauses until resume() (socket 'drain'). */
  send: (piu: Buffer) => boolean | void
  /** A session with a printer LU of this type: print jobs only, no DEMO dialog. */
  printer?: PrinterLuType
  /**
   * Display sessions: prints `lines` (`copies` times) on this display's associated printer;
   * returns what the screen says then (where the job went, or why it did not).
   */
  print?: (lines: string[], copies: number) => string
  /** Called once when the session has ended; `byPlu` = we sent the UNBIND (logoff). */
  onEnded: (info: { reason: string, byPlu: boolean, bindSense?: number }) => void
}

export const PLU_ADDRESS = 0x01
/** Largest inbound chain accepted (bytes); beyond it the chain is refused (ChainReassembler: 0812). */
export const MAX_INBOUND_CHAIN = 64 * 1024

export interface SessionStatus {
  lu: string
  application: string
  state: SessionState
  since: string
  sent: { records: number, requests: number }
  received: { records: number, requests: number }
  pacing: OutputPacingStatus
}

/** DFC requests the LU may send: acknowledged (SIG and LUSTAT also reach DEMO). */
const ACKNOWLEDGED = new Set<number>([RequestCode.LUSTAT, RequestCode.SIG, RequestCode.CHASE, RequestCode.RTR, RequestCode.SHUTC])
/** How long DEMO waits for the terminal's query reply before painting a 24x80 screen. */
export const QUERY_REPLY_WAIT_MS = 5000
/** LUSTAT status X'082B': presentation space integrity lost, sent after SYSREQ ("LUSTAT sense codes", Host Integration Server docs). */
const LUSTAT_PS_LOST = 0x082b

export class PluSession {
  private st: SessionState = 'pending-bind'
  private readonly since: number
  private readonly app: DemoApp
  /** The terminal's screen as DEMO draws it: the BIND's size until a query reply says more. */
  private screen: TerminalScreen
  /** DEMO's record templates for `screen` (made on first use, again when the screen changes). */
  private screens: DemoScreens | undefined
  private queryTimer: Timer | undefined
  private readonly hs: LuLuHalfSession
  private readonly output: PluOutput
  private readonly receiver: PacingReceiver<true>
  private readonly reassembler = new ChainReassembler(MAX_INBOUND_CHAIN)
  private unbindReason = 'logoff'
  /** Expedited identifier of our UNBIND: its response ends the session. */
  private unbindSnf: number | undefined
  /** An end asked for while the BIND was on its way: the UNBIND (this type) follows its +RSP. */
  private unbindOnceBound: number | undefined
  private readonly counters = { recordsIn: 0, requestsIn: 0 }
  /** The message line of the screen DEMO painted last (what PRINT prints with the rest). */
  private shownMessage: string | undefined
  jobsPrinted = 0

  constructor (private readonly env: SessionEnv) {
    this.since = env.clock.now()
    this.app = new DemoApp({ query: env.query })
    this.screen = { rows: env.rows, cols: env.cols, alternate: false }
    this.hs = new LuLuHalfSession({
      role: 'primary',
      localAddress: PLU_ADDRESS,
      remoteAddress: env.address,
      inboundSequence: { firstMayBeZero: true, resyncAfterError: false },
      inboundPacing: (rh) => this.inboundPacing(rh),
      autoRespondRequests: false,
    })
    this.output = new PluOutput({
      lu: env.lu,
      window: env.primarySendWindow,
      adaptive: env.adaptive,
      maxRu: env.maxRuPrimary,
      clock: env.clock,
      logger: env.logger,
      transmit: (item, pi, rlwi) => {
        const out = this.hs.sendData(item.ru, { bci: item.bci, eci: item.eci, mode: 'RQE1', pi, rlwi, cdi: item.cd, ebi: item.eb === true })
        return this.env.send(out.send[0]!) !== false
      },
      active: () => this.st === 'active',
    })
    // The host application always has room: unlimited credit, so a pacing response goes back for every PI.
    this.receiver = new PacingReceiver<true>({
      window: env.secondarySendWindow,
      adaptive: env.adaptive,
      initialCredit: Number.MAX_SAFE_INTEGER / 2,
      clock: env.clock,
      stallAfter: 3_600_000,
    })
  }

  get state (): SessionState { return this.st }
  get application (): string { return this.env.application }
  /** A printer session whose data traffic is active: it can take a print job now. */
  get readyToPrint (): boolean { return this.env.printer !== undefined && this.st === 'active' }

  /** Queues a print job (printer sessions): `copies` copies of `lines`, one bracket. */
  print (lines: string[], copies: number): void {
    if (!this.readyToPrint) return
    this.jobsPrinted++
    this.env.logger.info({ lu: this.env.lu, event: 'print_job', copies, lines: lines.length }, 'print job queued')
    this.output.enqueue(printJob(this.env.printer!, lines, copies, this.screen.cp))
  }

  /** Sends the BIND (expedited, RH 6B 80 00). */
  start (): void {
    if (this.st !== 'pending-bind' || this.hs.state !== 'reset') return
    this.apply(this.hs.sendBind(decodeBind(this.env.bind), this.env.bind))
  }

  /** PLU-initiated end (application logoff, TERMSELF, NOTIFY disabled): UNBIND with `type`. */
  unbind (type: number = UnbindType.NORMAL, reason = 'logoff'): void {
    if (this.st === 'ended' || this.st === 'pending-unbind') return
    this.app.end()
    this.output.stop()
    this.unbindReason = reason
    if (!this.hs.isBound && this.hs.state !== 'pending-bind') {
      this.finish(reason, true)
      return
    }
    this.st = 'pending-unbind'
    if (this.hs.state === 'pending-bind') {
      // UNBIND and the BIND's response would cross; end in order instead: BIND answered, then UNBIND.
      this.unbindOnceBound = type
      return
    }
    this.sendUnbind(type)
  }

  private sendUnbind (type: number): void {
    const d = this.hs.sendUnbind(type)
    this.unbindSnf = d.snf
    this.apply(d)
  }

  /** Link gone or host restart: no flows, just forget the session. */
  abort (reason: string): void {
    if (this.st === 'ended') return
    this.finish(reason, false)
  }

  /** The link drained after a send returned false: continue the output. */
  resume (): void { this.output.resume() }

  /** A PIU on this LU-LU session (DAF' = PLU, OAF' = the LU). */
  receive (piu: Piu): void {
    const rh = piu.rh!
    if (this.st === 'ended') {
      if (!rh.rri) this.refuseEnded(piu, rh)
      return
    }
    const answersUnbind = rh.rri && this.st === 'pending-unbind' && piu.th.efi && piu.th.snf === this.unbindSnf
    this.apply(this.hs.receive(piu))
    if (answersUnbind && this.st === 'pending-unbind') {
      if (rh.rri && rh.rti) this.env.logger.warn({ lu: this.env.lu }, 'UNBIND answered negatively; session ended anyway')
      this.finish(this.unbindReason, true)
    }
  }

  status (): SessionStatus {
    return {
      lu: this.env.lu,
      application: this.env.application,
      state: this.st,
      since: new Date(this.since).toISOString(),
      sent: { records: this.output.recordsOut, requests: this.output.requestsOut },
      received: { records: this.counters.recordsIn, requests: this.counters.requestsIn },
      pacing: this.output.status(),
    }
  }

  // ------------------------------------------------------------------ half-session decisions

  private apply (d: Decision<LuLuEvent>): void {
    for (const piu of d.send) this.env.send(piu)
    for (const ev of d.events) {
      if (this.st === 'ended') return
      this.onEvent(ev)
    }
  }

  private onEvent (ev: LuLuEvent): void {
    switch (ev.type) {
      case 'bind': this.bound(); return
      case 'bind-rejected': this.bindRejected(ev.sense, ev.local); return
      case 'sdt': this.started(); return
      case 'response': this.response(ev); return
      case 'response-pacing': this.pacingResponse('response-pi'); return
      case 'ipr': this.pacingResponse('ipr'); return
      case 'ipm': this.ipm(ev.ipm); return
      case 'data': this.data(ev); return
      case 'request': this.request(ev.name, ev.ru, ev.rh, ev.snf, ev.expedited); return
      case 'unbind':
        if (!ev.local) this.unbindFromLu(ev.unbindType)
        return
      case 'protocol-error':
        this.env.logger.warn({ lu: this.env.lu, reason: ev.reason, sense: ev.sense === undefined ? undefined : formatSense(ev.sense) }, 'LU-LU protocol error')
        return
      default:
    }
  }

  private bound (): void {
    if (this.unbindOnceBound !== undefined) { this.sendUnbind(this.unbindOnceBound); return }
    if (this.st !== 'pending-bind') return
    this.st = 'pending-sdt'
    // LU2 is TS profile 3: data traffic starts with SDT.
    if (this.hs.state === 'bound') this.apply(this.hs.sendSdt())
    else this.started()
  }

  private bindRejected (sense: number, local: boolean): void {
    const why = local ? 'BIND response not understood' : 'BIND rejected by the LU'
    // 083A: the terminal left while the BIND was on its way (it had sent NOTIFY disabled); ordinary.
    const level = sense === Sense.LU_NOT_ENABLED ? 'info' : 'warn'
    this.env.logger[level]({ lu: this.env.lu, application: this.env.application, sense: formatSense(sense), senseName: senseName(sense) }, why)
    this.finish(`${local ? 'BIND response not understood' : 'BIND rejected'}, sense ${formatSense(sense)}`, false, sense)
  }

  private started (): void {
    this.st = 'active'
    this.env.logger.info({ lu: this.env.lu, application: this.env.application, event: 'session_started', ...(this.env.printer === undefined ? {} : { printer: this.env.printer }) }, 'LU-LU session started')
    // A printer waits for print jobs; a display gets DEMO's first screen.
    if (this.env.printer === undefined) this.runActions(this.app.start())
  }

  private response (ev: ResponseEvent): void {
    if (ev.positive) return
    const sense = ev.sense!
    if (ev.request === 'SDT' && this.st === 'pending-sdt') {
      this.env.logger.warn({ lu: this.env.lu, sense: formatSense(sense), senseName: senseName(sense) }, 'SDT rejected by the LU; unbinding')
      this.unbind(UnbindType.CLEANUP, `SDT rejected, sense ${formatSense(sense)}`)
      return
    }
    this.env.logger.warn({ lu: this.env.lu, snf: ev.snf, sense: formatSense(sense), senseName: senseName(sense) }, `negative response to ${ev.request === 'DATA' ? 'outbound data' : ev.request}`)
  }

  private unbindFromLu (type: number): void {
    this.env.logger.info({ lu: this.env.lu, unbindType: type }, 'UNBIND from the LU')
    this.finish(`UNBIND type ${type.toString(16).padStart(2, '0').toUpperCase()} from the LU`, false)
  }

  // ------------------------------------------------------------------ pacing

  /** Inbound pacing (the half-session's hook): PI answered at once, violations refused. */
  private inboundPacing (rh: RequestRh): { send?: Buffer[], reject?: { sense: number, reason: string } } {
    this.counters.requestsIn++
    const d = this.receiver.receiveRequest(true, { pi: rh.pi, rlwi: rh.rlwi })
    if (d.violation !== undefined) return { reject: { sense: d.violation.sense, reason: d.violation.error.message } }
    const send: Buffer[] = []
    if (d.sendIpr) send.push(this.hs.ipr())
    if (d.sendIpm !== undefined) send.push(this.hs.ipm(d.sendIpm))
    return { send }
  }

  private pacingResponse (kind: 'ipr' | 'response-pi'): void {
    // A response cannot be answered with a response: a violation (2011 0001) is logged.
    const violation = this.output.pacingResponse(kind)
    if (violation !== undefined) this.env.logger.warn({ lu: this.env.lu, sense: formatSense(violation.sense) }, violation.error.message)
  }

  private ipm (ipm: Ipm): void {
    // A reset acknowledgement answers a receive-window reset; the others pace what we send.
    const violation = ipm.type === 'reset-ack'
      ? this.receiver.receiveIpm(ipm).violation
      : this.output.ipm(ipm, ack => { this.env.send(this.hs.ipm(ack)) })
    if (violation !== undefined) this.env.logger.warn({ lu: this.env.lu, sense: formatSense(violation.sense) }, violation.error.message)
  }

  // ------------------------------------------------------------------ requests from the LU

  private request (name: string, ru: Buffer, rh: RequestRh, snf: number, expedited: boolean): void {
    if (rh.category === 'DFC' && ACKNOWLEDGED.has(ru[0]!)) {
      if (isDefinite(rh)) this.answer(snf, true, expedited)
      // ATTN from an SNA 3270 is a SIGNAL; LUSTAT X'082B' says the screen was lost to the SSCP (SYSREQ).
      if (ru[0] === RequestCode.SIG) this.runActions(this.app.attention())
      else if (ru[0] === RequestCode.LUSTAT && lustatStatus(ru) === LUSTAT_PS_LOST) this.runActions(this.app.repaint())
      return
    }
    this.answer(snf, Sense.FUNCTION_NOT_SUPPORTED, expedited, `${name} not supported on an LU2 session`)
  }

  private data (ev: DataEvent): void {
    // Chaining: the half-session checked BC/EC; a chain beyond MAX_INBOUND_CHAIN is refused (0812).
    // A record in one RU (only in chain, none in progress) is taken as it is, without a copy.
    const whole = ev.rh.bci && ev.rh.eci && !this.reassembler.inProgress && ev.ru.length <= MAX_INBOUND_CHAIN
    const chained = whole ? undefined : this.reassembler.push(ev.ru, ev.rh.bci, ev.rh.eci)
    if (chained?.kind === 'error') { this.answer(ev.snf, chained.sense, false, chained.reason); return }
    if (chained?.kind === 'partial') {
      if (ev.definite) this.answer(ev.snf, true, false)
      return
    }
    const record = chained === undefined ? ev.ru : chained.data
    let parsed: InboundRecord
    try {
      parsed = parseInbound(record, { rows: this.screen.rows, cols: this.screen.cols, ...(this.screen.cp === undefined ? {} : { cp: this.screen.cp }) })
    } catch (err) {
      this.answer(ev.snf, Sense.RU_DATA_ERROR, false, `3270 input not understood: ${errorMessage(err)}`)
      return
    }
    if (ev.definite) this.answer(ev.snf, true, false)
    this.counters.recordsIn++
    // Never log screen contents at info level (passwords): AID and sizes only.
    this.env.logger.debug({ lu: this.env.lu, aid: parsed.aid, fields: parsed.fields.length, bytes: record.length }, 'inbound 3270 record')
    if (parsed.aidCode === Aid.STRUCTURED_FIELD) { this.queryReply(parsed); return }
    if (this.app.state === 'querying') this.stopQueryWait()
    const texts = parsed.fields.map(f => f.text.replace(/\u0000/g, ''))
    if (parsed.unformatted !== undefined) texts.unshift(parsed.unformatted.text)
    this.runActions(this.app.input({ aid: parsed.aidCode, fields: texts }))
  }

  /** +RSP or -RSP to a received request that asked for one. */
  private answer (snf: number, result: true | number, expedited: boolean, why?: string): void {
    if (result !== true) this.env.logger.warn({ lu: this.env.lu, sense: formatSense(result), senseName: senseName(result), reason: why }, 'request from the LU rejected')
    const owed = this.hs.owedResponse(snf, expedited)
    if (owed === undefined || (result === true && owed === 'exception')) return
    this.env.send(this.hs.respond(snf, result, { expedited }))
  }

  /** A request after the session ended: -RSP 8005 0001 (no session). */
  private refuseEnded (piu: Piu, rh: RequestRh): void {
    this.env.logger.warn({ lu: this.env.lu, sense: formatSense(Sense.NO_LU_LU_SESSION), reason: `${requestName(rh.category, rh.fi, piu.ru)} on an ended session` }, 'request from the LU rejected')
    if (rh.dr1 || rh.dr2) this.env.send(negativeResponse(piu, Sense.NO_LU_LU_SESSION))
  }

  // ------------------------------------------------------------------ the terminal's size

  /** A query reply (AID X'88'): the Usable Area sizes the screen, the Character Sets reply its code page. */
  private queryReply (reply: InboundRecord): void {
    if (this.app.state !== 'querying') return
    this.stopQueryWait()
    this.screen = terminalFromQueryReply(reply, this.screen)
    this.screens = undefined
    this.env.logger.info({ lu: this.env.lu, event: 'terminal_queried', rows: this.screen.rows, cols: this.screen.cols, codePage: this.screen.codePageId }, 'terminal size from its query reply')
    this.runActions(this.app.queryDone())
  }

  private stopQueryWait (): void {
    if (this.queryTimer === undefined) return
    this.env.clock.clearTimeout(this.queryTimer)
    this.queryTimer = undefined
  }

  // ------------------------------------------------------------------ outbound

  private runActions (actions: DemoAction[]): void {
    for (const action of actions) {
      if (action.type === 'logoff') {
        this.unbind(UnbindType.NORMAL, 'logoff')
        return
      }
      if (action.type === 'query') {
        // A terminal that never answers still gets a (24x80) screen.
        this.queryTimer = this.env.clock.setTimeout(() => {
          this.queryTimer = undefined
          this.env.logger.info({ lu: this.env.lu, waitedMs: QUERY_REPLY_WAIT_MS }, 'no query reply from the terminal; using the BIND\'s 24x80 screen')
          this.runActions(this.app.queryDone())
        }, QUERY_REPLY_WAIT_MS)
      }
      if (action.type === 'print') {
        this.printScreen(action.copies)
        continue
      }
      if (action.type === 'screen') this.shownMessage = action.message
      this.output.enqueue(renderDemo(this.demoScreens(), action))
    }
  }

  private demoScreens (): DemoScreens {
    const s = this.screen
    this.screens ??= new DemoScreens({ host: this.env.host, lu: this.env.lu, rows: s.rows, cols: s.cols, alternate: s.alternate, terminal: describe(s), ...(s.cp === undefined ? {} : { cp: s.cp }) })
    return this.screens
  }

  /** PRINT: the screen as it is now goes to the associated printer; the screen says how it went. */
  private printScreen (copies: number): void {
    const s = this.screen
    const lines = demoScreenLines({ host: this.env.host, lu: this.env.lu, rows: s.rows, cols: s.cols, terminal: describe(s) }, this.shownMessage)
    const message = this.env.print === undefined ? 'NO PRINTER ON THIS HOST' : this.env.print(lines, copies)
    this.runActions([{ type: 'screen', message, alarm: false }])
  }

  private finish (reason: string, byPlu: boolean, bindSense?: number): void {
    if (this.st === 'ended') return
    this.st = 'ended'
    this.stopQueryWait()
    this.app.end()
    this.output.stop()
    this.receiver.close()
    this.hs.reset(UnbindType.CLEANUP)
    this.env.logger.info({ lu: this.env.lu, application: this.env.application, event: 'session_ended', reason }, 'LU-LU session ended')
    this.env.onEnded({ reason, byPlu, bindSense })
  }
}

/** LUSTAT status field, or undefined for a malformed RU. */
function lustatStatus (ru: Buffer): number | undefined {
  try { return decodeLustat(ru).status } catch { return undefined }
}

/** The terminal line of the DEMO screen: what the session learnt (nothing without a query). */
function describe (s: TerminalScreen): string | undefined {
  if (s.queried !== true) return undefined
  return `SCREEN ${s.rows}x${s.cols}${s.codePageId === undefined ? '' : `  CODE PAGE ${s.codePageId}`}`
}
