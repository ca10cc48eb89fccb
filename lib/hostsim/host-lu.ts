// The simulated host's view of one dependent LU behind a gateway: its SSCP-LU session (the sna
// ActivationHalfSession in the primary role: ACTLU, USS, NOTIFY, INIT-SELF, TERM-SELF) and its
// LU-LU session with an application (session.ts).
//
//   → ACTLU (DAF'=LU, OAF'=00, RU 0D 01 01: cold, FM profile 0, TS profile 1)
//   ← +RSP(ACTLU) [CV X'0C' 03 enabled / 01 disabled, as the IBM 3274 simulator i3274_cc.c sends]
//   ← NOTIFY(enabled) when a terminal attaches (KB Q267902)
//   → USS logon screen (USSMSG10) as character-coded SSCP-LU data, or a BIND for the default
//     application (z/OS DEFAPPL)
//   ← typed `LOGON APPLID(DEMO)` (character-coded) or INIT-SELF → BIND (session.ts)
//   ← NOTIFY(disabled) when the terminal goes → UNBIND cleanup if a session is still up
// A printer LU (LU type 1 or 3 in the gateway's HELLO) gets no logon screen: once its printer
// attaches, the host binds it to `printerApplication`, as VTAM does for an LU defined with
// LOGAPPL ("z/OS Communications Server: SNA Resource Definition Reference", SC27-3675), and
// again if the application ends that session while the printer stays; DEMO's PRINT sends jobs
// over it.
import { errorMessage } from '../errors.js'
import type { Logger } from '../observability/index.js'
import {
  ActivationHalfSession, NsHeader, Sense, UnbindType,
  decodeActluResponse, decodeInitSelf, decodeNotify, decodeTermSelf, ebcdicToName, encodeActlu,
  formatSense, isDefinite, requestName, senseName,
  type ActivationEvent, type Decision, type Piu, type ResponseEvent,
} from '../sna/index.js'
import { PluSession, PLU_ADDRESS } from './session.js'
import { decodeSscpLuInput, encodeSscpLuText, logonScreenLines, parseUssCommand, USS_MESSAGES } from './uss.js'
import { effectiveRuSize, lu2BindRu, printerBindRu } from './bindimage.js'
import type { HostEnv } from './pu.js'

/** What the gateway says the LU is: LU type 2 (a display, maybe with an associated printer), 1 or 3. */
export interface HostLuKind { luType: 1 | 2 | 3, printer?: string }

export type LuState = 'reset' | 'pending-active' | 'active' | 'rejected'

/** What an LU needs from its PU controller. */
export interface LuContext {
  env: HostEnv
  log: Logger
  send: (piu: Buffer) => boolean | void
  /** The PU is active and not closed (sessions that end then show the logon screen again). */
  puActive: () => boolean
  /**
   * Another LU by name (a display's associated printer): on the same PU, or on another PU of this
   * host, as LU names are unique in an SNA network ("SNA Formats", GA27-3136, network names).
   */
  lu: (name: string) => HostLu | undefined
}

type SscpData = Extract<ActivationEvent, { type: 'data' }>

export class HostLu {
  state: LuState = 'reset'
  /** A terminal is attached (ACTLU +RSP status / NOTIFY). */
  enabled = false
  session: PluSession | undefined
  /** DEFAPPL ... FIRSTONLY bookkeeping: the default application was used since NOTIFY(enabled). */
  private defaultUsed = false
  lastSense: number | undefined
  private readonly sscp: ActivationHalfSession

  constructor (readonly name: string, readonly address: number, private readonly ctx: LuContext, readonly kind: HostLuKind = { luType: 2 }) {
    this.sscp = new ActivationHalfSession({ kind: 'sscp-lu', role: 'primary', localAddress: 0, remoteAddress: address })
  }

  /** ACTLU (expedited, RQD1). */
  activate (): void {
    this.state = 'pending-active'
    this.apply(this.sscp.activate(encodeActlu({ enhancedAddressManagement: false, dynamicAddress: false, activationType: 1, fmProfile: 0, tsProfile: 1, controlVectors: [] })))
  }

  /** Link gone or host restart: both sessions are gone, no flows. */
  close (reason: string): void {
    this.session?.abort(reason)
    this.session = undefined
    this.sscp.reset()
    this.state = 'reset'
  }

  /** A PIU on the SSCP-LU session (DAF' = 00, OAF' = this LU). */
  receiveSscp (piu: Piu): void { this.apply(this.sscp.receive(piu)) }

  /** A PIU on the LU-LU session (DAF' = PLU); false when there is no session to take it. */
  receiveLuLu (piu: Piu): boolean {
    if (this.session === undefined) return false
    this.session.receive(piu)
    return true
  }

  private apply (d: Decision<ActivationEvent>): void {
    for (const piu of d.send) this.ctx.send(piu)
    for (const ev of d.events) {
      switch (ev.type) {
        case 'active': this.activated(ev.response ?? Buffer.alloc(0)); break
        case 'activation-failed': this.activationFailed(ev.sense); break
        case 'data': this.sscpData(ev); break
        case 'request': this.answer(ev.piu.th.snf, Sense.FUNCTION_NOT_SUPPORTED, ev.piu.th.efi, `${ev.name} not supported on the SSCP-LU session`); break
        case 'response': this.ussResponse(ev); break
        case 'protocol-error': this.ctx.log.warn({ lu: this.name, reason: ev.reason, sense: ev.sense === undefined ? undefined : formatSense(ev.sense) }, 'SSCP-LU protocol error'); break
        default:
      }
    }
  }

  private activated (response: Buffer): void {
    this.state = 'active'
    // +RSP(ACTLU) CV X'0C': 03 = powered on / enabled, 01 = off (i3274_cc.c). No CV: a terminal
    // that is always on, like a 3274 without the vector.
    let enabled = true
    try {
      const cv = decodeActluResponse(response).controlVectors.find(v => v.key === 0x0c)
      if (cv !== undefined && cv.data.length > 0) enabled = cv.data[0] === 0x03
    } catch (err) {
      this.ctx.log.warn({ lu: this.name, err: errorMessage(err) }, '+RSP(ACTLU) body not understood; LU taken as enabled')
    }
    this.ctx.log.info({ lu: this.name, event: 'lu_active', enabled }, 'LU active')
    if (enabled) this.notify(true)
  }

  private activationFailed (sense: number): void {
    this.state = 'rejected'
    this.lastSense = sense
    this.ctx.log.warn({ lu: this.name, event: 'actlu_rejected', sense: formatSense(sense), senseName: senseName(sense) }, 'ACTLU rejected')
  }

  private ussResponse (ev: ResponseEvent): void {
    if (ev.positive) return
    this.ctx.log.warn({ lu: this.name, sense: formatSense(ev.sense!), senseName: senseName(ev.sense!) }, 'USS message refused by the LU')
  }

  /** +RSP or -RSP to a request on the SSCP-LU session that asked for one. */
  private answer (snf: number, result: true | number, expedited: boolean, why?: string): void {
    if (result !== true) this.ctx.log.warn({ lu: this.name, sense: formatSense(result), senseName: senseName(result), reason: why }, 'request from the gateway rejected')
    const owed = this.sscp.owedResponse(snf, expedited)
    if (owed === undefined || (result === true && owed === 'exception')) return
    this.ctx.send(this.sscp.respond(snf, result, { expedited }))
  }

  // ------------------------------------------------------------------ requests from the LU

  private sscpData (ev: SscpData): void {
    try {
      if (ev.fi) this.nsRequest(ev)
      else {
        if (isDefinite(ev.rh)) this.answer(ev.snf, true, ev.expedited)
        this.ussInput(ev.ru)
      }
    } catch (err) {
      // a codec error on a request we understood the RH of: -RSP 1001 rather than a crash
      this.answer(ev.snf, Sense.RU_DATA_ERROR, ev.expedited, errorMessage(err))
    }
  }

  private nsRequest (ev: SscpData): void {
    const header = ev.ru.length >= 3 ? ev.ru.readUIntBE(0, 3) : -1
    switch (header) {
      case NsHeader.NOTIFY: {
        const n = decodeNotify(ev.ru)
        // Act first, answer after: the gateway frees the LU on this response, so whatever the
        // terminal's departure makes us send (an UNBIND) must be on the link before it.
        this.notify(n.enabled)
        if (isDefinite(ev.rh)) this.answer(ev.snf, true, ev.expedited)
        return
      }
      case NsHeader.INITSELF:
      case NsHeader.INITSELF_FMT0: {
        const appl = ebcdicToName(decodeInitSelf(ev.ru).pluName).trim()
        const problem = this.logonProblem(appl)
        if (problem !== undefined) { this.answer(ev.snf, problem.sense, ev.expedited, problem.message); return }
        this.answer(ev.snf, true, ev.expedited)
        this.startSession(appl)
        return
      }
      case NsHeader.TERMSELF:
      case NsHeader.TERMSELF_FMT0:
        decodeTermSelf(ev.ru)
        if (this.session === undefined) { this.answer(ev.snf, Sense.NO_LU_LU_SESSION, ev.expedited, `TERMSELF from ${this.name} with no session`); return }
        this.answer(ev.snf, true, ev.expedited)
        this.session.unbind(UnbindType.NORMAL, 'TERMSELF')
        return
      default:
        this.answer(ev.snf, Sense.FUNCTION_NOT_SUPPORTED, ev.expedited, `${requestName('FMD', true, ev.ru)} not supported on the SSCP-LU session`)
    }
  }

  /** Terminal attached / detached (NOTIFY, or the ACTLU response's status vector). */
  private notify (enabled: boolean): void {
    const was = this.enabled
    this.enabled = enabled
    this.ctx.log.info({ lu: this.name, event: enabled ? 'slu_enabled' : 'slu_disabled' }, enabled ? 'terminal attached (SLU enabled)' : 'terminal detached (SLU disabled)')
    if (!enabled) {
      this.defaultUsed = false
      // The terminal is gone: end what is left of its session (UNBIND cleanup, type X'0F').
      this.session?.unbind(UnbindType.CLEANUP, 'SLU disabled')
      return
    }
    if (was || this.session !== undefined) return
    if (this.isPrinter) this.bindPrinter()
    else this.greet(undefined)
  }

  /** What a terminal sees with no LU-LU session: DEFAPPL's application, or the logon screen. */
  private greet (message: string | undefined): void {
    const env = this.ctx.env
    const def = env.defaultApplication
    if (def !== null && !(env.defaultApplicationFirstOnly && this.defaultUsed) && message === undefined) {
      this.defaultUsed = true
      const problem = this.logonProblem(def)
      if (problem === undefined) {
        this.startSession(def)
        return
      }
      message = USS_MESSAGES.logonFailed(def, formatSense(problem.sense))
    }
    this.logonScreen(message)
  }

  private logonScreen (message: string | undefined): void {
    const env = this.ctx.env
    const text = encodeSscpLuText(logonScreenLines({ host: env.host, lu: this.name, applications: env.applications, message }))
    // SSCP-LU data is character-coded FMD (FI=0), RQD1 as Hercules comm3705.c sends it.
    const out = this.sscp.sendData(text, { fi: false, mode: 'RQD1' })
    for (const piu of out.send) this.ctx.send(piu)
  }

  private ussInput (ru: Buffer): void {
    const decoded = decodeSscpLuInput(ru)
    const cmd = typeof decoded === 'string' ? parseUssCommand(decoded, this.ctx.env.applications) : decoded
    switch (cmd.kind) {
      case 'empty':
      case 'clear':
        if (this.session === undefined) this.logonScreen(undefined)
        return
      case 'invalid':
        this.logonScreen(cmd.message)
        return
      case 'logoff':
        if (this.session === undefined) this.logonScreen(USS_MESSAGES.notBound())
        else this.session.unbind(UnbindType.NORMAL, 'USS LOGOFF')
        return
      case 'logon':
        this.logon(cmd.applid ?? this.ctx.env.defaultApplication ?? undefined)
    }
  }

  private logon (appl: string | undefined): void {
    if (appl === undefined) {
      this.logonScreen(USS_MESSAGES.omitted('APPLID'))
      return
    }
    const problem = this.logonProblem(appl)
    if (problem !== undefined) {
      this.ctx.log.info({ lu: this.name, application: appl, sense: formatSense(problem.sense) }, 'logon refused')
      this.logonScreen(problem.sense === Sense.RESOURCE_UNKNOWN_PLU ? USS_MESSAGES.value('APPLID') : USS_MESSAGES.logonFailed(appl, formatSense(problem.sense)))
      return
    }
    this.startSession(appl)
  }

  /** Why a session for `appl` cannot start now (VTAM: the INIT fails with this sense). */
  private logonProblem (appl: string): { sense: number, message: string } | undefined {
    if (!this.ctx.env.applications.includes(appl)) return { sense: Sense.RESOURCE_UNKNOWN_PLU, message: `application ${appl} is not defined` }
    if (this.session !== undefined) return { sense: Sense.FUNCTION_ACTIVE, message: `LU ${this.name} already has a session with ${this.session.application}` }
    // Fault: the application refuses the session (0801: "also returned when an application rejects the CINIT/logon", IBM sc0801).
    const sense = this.ctx.env.faults.takeBindReject(this.name)
    if (sense !== undefined) return { sense, message: `fault: session start for ${this.name} rejected with ${formatSense(sense)}` }
    return undefined
  }

  private get isPrinter (): boolean { return this.kind.luType !== 2 }

  /** A printer LU is bound to the printer application (LOGAPPL), never shown a logon screen. */
  private bindPrinter (): void {
    const appl = this.ctx.env.printerApplication
    if (appl === null) return
    const problem = this.logonProblem(appl)
    if (problem !== undefined) {
      this.ctx.log.warn({ lu: this.name, application: appl, sense: formatSense(problem.sense) }, 'printer session not started')
      return
    }
    this.startSession(appl)
  }

  /**
   * DEMO's PRINT on this display: the job goes to the associated printer's session. Returns the
   * message line for the display's screen.
   */
  private printOnAssociatedPrinter (lines: string[], copies: number): string {
    const name = this.kind.printer
    const printer = name === undefined ? undefined : this.ctx.lu(name)
    if (name === undefined || printer === undefined) return `NO PRINTER IS ASSOCIATED WITH ${this.name}`
    if (printer.session?.readyToPrint !== true) return `PRINTER ${name} IS NOT READY (NO PRINTER SESSION)`
    printer.session.print(lines, copies)
    return copies === 1 ? `PRINTED ON ${name}` : `${copies} COPIES PRINTED ON ${name}`
  }

  private startSession (appl: string): void {
    const env = this.ctx.env
    const b = env.bind
    const printer = this.kind.luType === 1 ? 'lu1' as const : this.kind.luType === 3 ? 'lu3' as const : undefined
    const session = new PluSession({
      host: env.host,
      lu: this.name,
      address: this.address,
      application: appl,
      bind: printer === undefined ? lu2BindRu({ bind: b, application: appl, lu: this.name }) : printerBindRu({ bind: b, application: appl, lu: this.name, type: printer }),
      rows: b.rows,
      cols: b.cols,
      maxRuPrimary: effectiveRuSize(b.maxRuPrimary),
      primarySendWindow: b.primarySendWindow,
      secondarySendWindow: b.secondarySendWindow,
      adaptive: b.adaptivePacing,
      query: b.query && printer === undefined,
      ...(printer === undefined ? { print: (lines: string[], copies: number) => this.printOnAssociatedPrinter(lines, copies) } : { printer }),
      clock: env.clock,
      logger: this.ctx.log,
      send: piu => this.ctx.send(piu),
      onEnded: info => this.sessionEnded(session, info),
    })
    this.session = session
    this.lastSense = undefined
    this.ctx.log.info({ lu: this.name, application: appl, event: 'bind', plu: PLU_ADDRESS }, 'BIND sent')
    session.start()
  }

  private sessionEnded (session: PluSession, info: { reason: string, byPlu: boolean, bindSense?: number }): void {
    if (this.session !== session) return
    this.session = undefined
    if (!this.ctx.puActive() || this.state !== 'active') return
    if (info.bindSense !== undefined) {
      this.lastSense = info.bindSense
      if (this.enabled) this.logonScreen(USS_MESSAGES.logonFailed(session.application, formatSense(info.bindSense)))
      return
    }
    if (!this.enabled) return
    // A printer is bound again while it stays attached (LOGAPPL) when the application ended the
    // session; an UNBIND from the LU comes before its NOTIFY(disabled): the printer is leaving.
    if (this.isPrinter) {
      if (info.byPlu) this.bindPrinter()
      return
    }
    // After a logoff VTAM shows the logon screen again; DEFAPPL (without FIRSTONLY) reconnects.
    if (info.byPlu && this.ctx.env.defaultApplication !== null && !this.ctx.env.defaultApplicationFirstOnly) {
      this.greet(undefined)
      return
    }
    this.logonScreen(USS_MESSAGES.sessionEnded(session.application))
  }
}
