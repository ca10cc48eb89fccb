// DependentLuNode: the gateway side of a PU type 2.0 with dependent LUs (type 2 displays; type 1 and 3 printers). No I/O of its own:
// PIUs from the host (ODAI = 0) come in through receive(); PIUs to the host go out through `send`.
// Addresses ("SNA Formats", GA27-3136, TH): SSCP-PU DAF'=OAF'=0; SSCP-LU SSCP = the ACTLU's OAF' (0), LU = locaddr;
// LU-LU PLU = the BIND's OAF' (1), SLU = locaddr.
import { EventEmitter } from 'node:events'
import { presetEventShape, restoreEventShape } from '../event-shape.js'
import { ErrorCodes, errorMessage, lbError } from '../errors.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import { bindPointerSense, validateDependentLuBind, type BindImage, type DependentLuType } from './bind.js'
import { chainRu } from './chain.js'
import { isDefinite, isException, type RequestRh } from './headers.js'
import { ActivationHalfSession, type ActivationEvent } from './activation.js'
import { LuLuHalfSession, type DataEvent, type LuLuEvent } from './halfsession.js'
import type { Decision, ResponseEvent } from './requests.js'
import { buildNegativeResponse, decodePiu, encodePiu, type Ipm, type Piu } from './piu.js'
import { actluPositiveRu, decodeActlu, encodeActpuResponse, encodeNotify, RequestCode, SignalCode, UnbindType } from './ru.js'
import { formatSense, Sense } from './sense.js'

export type LuState = 'inactive' | 'active' | 'bound' | 'in-session'

/** An FMD request on the LU-LU session; `pacing`: PI was set (the pacing engine decides when to sendIpr()). */
export type LuDataEvent = Omit<DataEvent, 'type'>

export interface LuRequestEvent { name: string, ru: Buffer, rh: RequestRh, snf: number, expedited: boolean }

export interface LuEvents {
  active: []
  inactive: []
  bind: [BindImage]
  sdt: []
  clear: []
  unbind: [number]
  data: [LuDataEvent]
  sscpData: [Buffer]
  /** A normal-flow request with PI set arrived (pacing request). */
  pacing: [{ snf: number }]
  /** Responses to requests this LU sent on the LU-LU session. */
  response: [ResponseEvent]
  sscpResponse: [ResponseEvent]
  /** The host answered NOTIFY(disabled) (or the SSCP-LU session ended): the LU is quiet. */
  detached: []
  /** DFC/SC requests other than BIND/SDT/CLEAR/UNBIND (LUSTAT, SIG, ...). */
  request: [LuRequestEvent]
  ipr: []
  ipm: [Ipm]
  protocolError: [{ reason: string, sense?: number }]
}

/**
 * Every event a DependentLu emits, in the order event-shape.ts wants them: first those the gateway
 * listens to for the LU's life (sna-host.ts: active, inactive) or never, then a session's, in the
 * reverse of the order they go when it ends (the bridge's wait for +RSP(UNBIND) drops 'response'
 * first, then its subscriptions from 'bind' on; lib/gateway/lu-bridge.ts), so the LU keeps one fixed
 * shape instead of Node's dictionary (idle-session memory, bench/README.md).
 */
const LU_EVENTS: ReadonlyArray<keyof LuEvents> = [
  'active', 'inactive', 'sdt', 'clear', 'pacing', 'sscpResponse', 'request', 'detached',
  'protocolError', 'ipm', 'ipr', 'sscpData', 'data', 'unbind', 'bind', 'response',
]

export interface SendDataOpts {
  /** Definite response requested (RQD1); default exception response (RQE1). */
  definite?: boolean
  /** First RU of a chain; default true. */
  beginChain?: boolean
  /** Last RU of a chain; default true. */
  endChain?: boolean
  /** CD on the last RU of the chain. */
  changeDirection?: boolean
  /** Split `ru` into a chain using the BIND's secondary max RU size (beginChain/endChain ignored). */
  chain?: boolean
  /** Set PI (pacing request) on the first RU. */
  pacing?: boolean
  endBracket?: boolean
  conditionalEndBracket?: boolean
  /** A DFC request (LUSTAT) rather than FMD data: formatted (FI), paced like data. */
  category?: 'DFC'
}

/** One dependent LU as seen by the gateway. */
export class DependentLu extends EventEmitter<LuEvents> {
  readonly sscpLu: ActivationHalfSession
  readonly luLu: LuLuHalfSession
  private isAttached = false
  /** SNF of a NOTIFY(disabled) the host has not answered yet. */
  private detachSnf: number | undefined
  /** Clock time of the last PIU received for this LU (ms). */
  lastActivity = 0

  /**
   * `luType`: what the LU is bound as, 2 (display) unless the gateway's pool says it is a printer
   * (1 SCS, 3 3270 data stream); a BIND of another LU type is refused with 0835 pointing at byte 14.
   */
  constructor (readonly name: string, readonly locaddr: number, private readonly node: DependentLuNode, validateBind: ((lu: string, bind: BindImage) => number | undefined) | undefined, readonly luType: DependentLuType = 2) {
    super()
    presetEventShape(this, LU_EVENTS)
    this.sscpLu = new ActivationHalfSession({
      kind: 'sscp-lu',
      role: 'secondary',
      localAddress: locaddr,
      remoteAddress: 0,
      activationResponse: (ru) => {
        // +RSP(ACTLU) with the LU status vector: enabled iff a client is attached (GA27-3136 ACTLU; i3274_cc.c)
        try { return actluPositiveRu(decodeActlu(ru), this.isAttached) } catch { return Buffer.from([RequestCode.ACTLU]) }
      },
    })
    this.luLu = new LuLuHalfSession({
      role: 'secondary',
      localAddress: locaddr,
      remoteAddress: 1,
      // The gateway answers an exception-response request at once (a pacing violation's -RSP) or
      // never, and the host's responses follow its input within a pacing window (at most 63,
      // "SNA Formats", GA27-3136 pacing): one window is enough to remember, not 256 entries and
      // their table per busy session (bench/README.md, stalled sessions).
      exceptionRequestsTracked: 64,
      validateBind: (bind) => {
        // No terminal behind the LU (its client left, NOTIFY disabled sent): a BIND the host sent
        // before it saw that finds nobody; IBM sense 083A "LU not enabled" (sc083a).
        if (!this.isAttached) return Sense.LU_NOT_ENABLED
        const problem = validateDependentLuBind(bind, luType)
        if (problem !== undefined) {
          node.logger.warn({ lu: name, offset: problem.offset, reason: problem.reason }, 'BIND rejected')
          return bindPointerSense(problem.offset)
        }
        return validateBind?.(name, bind)
      },
    })
  }

  get state (): LuState {
    if (this.sscpLu.state !== 'active') return 'inactive'
    if (this.luLu.state === 'active') return 'in-session'
    if (this.luLu.isBound) return 'bound'
    return 'active'
  }

  get attached (): boolean { return this.isAttached }
  /**
   * NOTIFY(disabled) is out and unanswered: the host may still send what it meant for the client
   * that left (a BIND, a USS screen). A new client attaches once 'detached' fires.
   */
  get detaching (): boolean { return this.detachSnf !== undefined }

  /** @internal the node saw a response on the SSCP-LU session, or the session ended. */
  settleDetach (snf: number | undefined): void {
    if (this.detachSnf === undefined || (snf !== undefined && snf !== this.detachSnf)) return
    this.detachSnf = undefined
    this.emit('detached')
  }
  get bindImage (): Buffer | undefined { return this.luLu.bindRu }
  get bind (): BindImage | undefined { return this.luLu.bind }

  /** Inbound (LU→host) FMD data on the LU-LU session; returns the SNF of the last RU sent. */
  sendData (ru: Buffer, opts: SendDataOpts = {}): number {
    if (this.luLu.state !== 'active') throw lbError(ErrorCodes.SNA_STATE, `LU ${this.name}: sendData in state ${this.state} (needs in-session)`)
    const parts = opts.chain === true
      ? chainRu(ru, this.luLu.bind!.maxSecondarySendRu)
      : [{ ru, bci: opts.beginChain ?? true, eci: opts.endChain ?? true }]
    let snf = 0
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!
      const out = this.luLu.sendData(p.ru, {
        ...(opts.category === undefined ? {} : { category: opts.category, fi: true }),
        bci: p.bci,
        eci: p.eci,
        definite: p.eci && opts.definite === true,
        ...(p.eci ? { cdi: opts.changeDirection === true, cebi: opts.conditionalEndBracket === true } : {}),
        ...(p.bci ? { ebi: opts.endBracket === true, pi: opts.pacing === true } : {}),
      })
      snf = out.snf
      this.node.transmit(out.send)
    }
    return snf
  }

  /** Character-coded data on the SSCP-LU session (e.g. typed LOGON text), RQD1; returns its SNF. */
  sendSscpData (ru: Buffer): number {
    if (this.sscpLu.state !== 'active') throw lbError(ErrorCodes.SNA_STATE, `LU ${this.name}: sendSscpData while the SSCP-LU session is ${this.sscpLu.state}`)
    const out = this.sscpLu.sendData(ru, { fi: false, mode: 'RQD1' })
    this.node.transmit(out.send)
    return out.snf
  }

  /** Response to a received LU-LU request by its SNF: true = +RSP, a number = -RSP with that sense. */
  sendResponse (forSnf: number, positiveOrSense: true | number, opts: { pacing?: boolean } = {}): void {
    this.node.transmit([this.luLu.respond(forSnf, positiveOrSense, opts)])
  }

  /** ATTN: SIGNAL, code X'0001' request to send, expedited RQD1 (GA27-3136 SIG). Returns its identifier. */
  sendSignal (): number {
    const out = this.luLu.sendSignal({ code: SignalCode.REQUEST_TO_SEND, extension: 0 })
    this.node.transmit(out.send)
    return out.snf
  }

  /** UNBIND from the SLU (e.g. type 01 when the client leaves). */
  sendUnbind (type: number = UnbindType.NORMAL): void {
    this.node.apply(this, this.luLu.sendUnbind(type), 'lulu')
  }

  /** Isolated pacing response toward the PLU. */
  sendIpr (): void {
    if (!this.luLu.isBound) throw lbError(ErrorCodes.SNA_STATE, `LU ${this.name}: sendIpr without an LU-LU session (state ${this.state})`)
    this.node.transmit([this.luLu.ipr()])
  }

  /** Isolated pacing message toward the PLU (adaptive pacing: solicited grant or reset acknowledgement). */
  sendIpm (ipm: Ipm): void {
    if (!this.luLu.isBound) throw lbError(ErrorCodes.SNA_STATE, `LU ${this.name}: sendIpm without an LU-LU session (state ${this.state})`)
    this.node.transmit([this.luLu.ipm(ipm)])
  }

  /** A client took the LU: NOTIFY(SLU enabled) if the SSCP-LU session is up (GA27-3136 NOTIFY). */
  attach (): void {
    this.isAttached = true
    // A new client's session: the listener storage back to its fixed shape (an earlier session's
    // going may have left Node's dictionary).
    restoreEventShape(this, LU_EVENTS)
    if (this.sscpLu.state === 'active') this.notify(true)
  }

  /**
   * The client left: NOTIFY(SLU disabled) if the SSCP-LU session is up (GA27-3136 NOTIFY, KB
   * Q267902). It asks a definite response: the host answers in order after anything it sent for
   * the old terminal (a BIND, a USS screen), so once the response is in (see `detaching`), nothing
   * meant for the old client can still reach the next one. Returns the NOTIFY's SNF, or undefined
   * when none was sent.
   */
  detach (): number | undefined {
    this.isAttached = false
    if (this.sscpLu.state !== 'active') return undefined
    this.detachSnf = this.notify(false)
    return this.detachSnf
  }

  private notify (enabled: boolean): number {
    // GA27-3136 NOTIFY, i3274_cc.c F2_NOTIFY_Req: RH 0B 00 20 (FMD FI, BC EC, CD), no response for
    // "enabled"; RQD1 for "disabled" (see detach()).
    const out = this.sscpLu.sendData(encodeNotify({ enabled }), { fi: true, mode: enabled ? 'none' : 'RQD1', cdi: true })
    this.node.logger.debug({ lu: this.name, enabled }, 'NOTIFY sent')
    this.node.transmit(out.send)
    return out.snf
  }
}

export interface DependentLuNodeOptions {
  puName: string
  /** `luType` 2 (display) by default; 1 or 3 for printer LUs. */
  lus: Array<{ name: string, locaddr: number, luType?: DependentLuType }>
  send: (piu: Buffer) => void
  logger: Logger
  clock: Clock
  /** Extra BIND check after the LU type checks; return a sense to reject. */
  validateBind?: (lu: string, bind: BindImage) => number | undefined
}

export interface NodeEvents {
  puActive: []
  puInactive: []
  protocolError: [{ reason: string, sense?: number, lu?: string }]
}

export class DependentLuNode extends EventEmitter<NodeEvents> {
  readonly puName: string
  readonly logger: Logger
  readonly sscpPu: ActivationHalfSession
  private readonly byName = new Map<string, DependentLu>()
  private readonly byAddr = new Map<number, DependentLu>()
  private readonly sendFn: (piu: Buffer) => void
  private readonly clock: Clock

  constructor (opts: DependentLuNodeOptions) {
    super()
    this.puName = opts.puName
    this.logger = opts.logger
    this.sendFn = opts.send
    this.clock = opts.clock
    this.sscpPu = new ActivationHalfSession({
      kind: 'sscp-pu',
      role: 'secondary',
      localAddress: 0,
      remoteAddress: 0,
      // +RSP(ACTPU): X'11' + echoed format/type byte (GA27-3136 ACTPU, Hercules)
      activationResponse: (ru) => ru.length >= 2 ? encodeActpuResponse({ formatType: ru[1]!, data: Buffer.alloc(0) }) : Buffer.from([RequestCode.ACTPU]),
    })
    for (const { name, locaddr, luType } of opts.lus) {
      if (!Number.isInteger(locaddr) || locaddr < 1 || locaddr > 255) throw lbError(ErrorCodes.SNA_STATE, `LU ${name}: local address ${locaddr} must be 1-255`)
      if (this.byName.has(name)) throw lbError(ErrorCodes.SNA_STATE, `LU ${name} is defined twice`)
      if (this.byAddr.has(locaddr)) throw lbError(ErrorCodes.SNA_STATE, `LU ${name}: local address ${locaddr} is already used by ${this.byAddr.get(locaddr)!.name}`)
      const lu = new DependentLu(name, locaddr, this, opts.validateBind, luType)
      this.byName.set(name, lu)
      this.byAddr.set(locaddr, lu)
    }
  }

  get puActive (): boolean { return this.sscpPu.state === 'active' }

  lu (name: string): DependentLu {
    const lu = this.byName.get(name)
    if (lu === undefined) throw lbError(ErrorCodes.LU_UNAVAILABLE, `PU ${this.puName} has no LU named ${name}`)
    return lu
  }

  lus (): DependentLu[] { return [...this.byName.values()] }

  /** @internal */
  transmit (pius: Buffer[]): void { for (const p of pius) this.sendFn(p) }

  /** A PIU from the host. Malformed PIUs are logged and dropped (no RH = nothing to answer). */
  receive (buf: Buffer): void {
    let piu: Piu
    try {
      piu = decodePiu(buf)
    } catch (err) {
      this.logger.warn({ pu: this.puName, err: errorMessage(err), length: buf.length }, 'malformed PIU dropped')
      this.emit('protocolError', { reason: errorMessage(err) })
      return
    }
    try {
      this.dispatch(piu)
    } catch (err) {
      // the half-sessions answer protocol errors themselves; anything thrown here is a bug or a
      // PIU no rule covers: log it and keep the node alive
      this.logger.error({ pu: this.puName, err: errorMessage(err), daf: piu.th.daf, oaf: piu.th.oaf }, 'PIU handling failed')
      this.emit('protocolError', { reason: `PIU handling failed: ${errorMessage(err)}` })
    }
  }

  private dispatch (piu: Piu): void {
    if (piu.th.odai) {
      this.logger.warn({ pu: this.puName, daf: piu.th.daf, oaf: piu.th.oaf }, 'PIU with ODAI=1 is not dependent-LU traffic; dropped')
      this.emit('protocolError', { reason: 'ODAI=1 PIU received by the dependent-LU node' })
      return
    }
    const rh = piu.rh
    if (rh !== undefined && !rh.rri && rh.category === 'FMD' && rh.fi && piu.ru.length < 3) {
      // An NS request (FMD with FI) starts with a 3-byte NS header (GA27-3136 responses); a shorter RU cannot
      // be routed or echoed, so it is refused here rather than deep in a half-session.
      this.rejectUnrouted(piu, Sense.RU_LENGTH_ERROR, `NS request of ${piu.ru.length} bytes is shorter than its 3-byte header`)
      return
    }
    if (piu.th.daf === 0) { this.applyPu(this.sscpPu.receive(piu)); return }
    const lu = this.byAddr.get(piu.th.daf)
    if (lu === undefined) { this.rejectUnrouted(piu, Sense.UNRECOGNIZED_DAF, `no LU at local address ${piu.th.daf}`); return }
    lu.lastActivity = this.clock.now()
    if (piu.th.oaf === lu.sscpLu.remoteAddress) { this.apply(lu, lu.sscpLu.receive(piu), 'sscplu'); return }
    if (lu.sscpLu.state !== 'active' && piu.rh !== undefined && !piu.rh.rri) {
      // GA27-3136 Sense Data 8009: LU-LU traffic to an LU without an SSCP-LU session
      this.rejectUnrouted(piu, Sense.LU_NOT_ACTIVE, `LU ${lu.name} is not active`, lu.name)
      return
    }
    this.apply(lu, lu.luLu.receive(piu), 'lulu')
  }

  private rejectUnrouted (piu: Piu, sense: number, reason: string, lu?: string): void {
    this.logger.warn({ pu: this.puName, lu, daf: piu.th.daf, oaf: piu.th.oaf, sense: formatSense(sense) }, reason)
    const rh = piu.rh
    if (rh !== undefined && !rh.rri && (isDefinite(rh) || isException(rh))) this.transmit([encodePiu(buildNegativeResponse(piu, sense))])
    this.emit('protocolError', lu === undefined ? { reason, sense } : { reason, sense, lu })
  }

  private applyPu (d: Decision<ActivationEvent>): void {
    this.transmit(d.send)
    for (const ev of d.events) {
      switch (ev.type) {
        case 'active':
          this.logger.info({ pu: this.puName }, 'SSCP-PU session active')
          this.emit('puActive')
          break
        case 'inactive':
          this.logger.info({ pu: this.puName }, 'SSCP-PU session reset')
          for (const lu of this.byName.values()) this.resetLu(lu, UnbindType.HIERARCHICAL_RESET)
          this.emit('puInactive')
          break
        case 'protocol-error':
          this.logger.warn({ pu: this.puName, reason: ev.reason }, 'SSCP-PU protocol error')
          this.emit('protocolError', ev.sense === undefined ? { reason: ev.reason } : { reason: ev.reason, sense: ev.sense })
          break
        case 'request':
          // e.g. NMVT / REQMS: not supported by this PU; answer so the SSCP is not left waiting
          if (ev.piu.rh !== undefined && !ev.piu.rh.rri && (isDefinite(ev.piu.rh) || isException(ev.piu.rh))) {
            this.transmit([this.sscpPu.respond(ev.piu.th.snf, Sense.FUNCTION_NOT_SUPPORTED, { expedited: ev.piu.th.efi })])
          }
          break
        case 'data':
          if (isDefinite(ev.rh) || isException(ev.rh)) this.transmit([this.sscpPu.respond(ev.snf, Sense.FUNCTION_NOT_SUPPORTED, { expedited: ev.expedited })])
          break
        default:
          break
      }
    }
  }

  /** @internal applies a half-session decision for one LU. */
  apply (lu: DependentLu, d: Decision<ActivationEvent> | Decision<LuLuEvent>, session: 'sscplu' | 'lulu'): void {
    this.transmit(d.send)
    if (session === 'sscplu') {
      for (const ev of (d as Decision<ActivationEvent>).events) this.onSscpLuEvent(lu, ev)
    } else {
      for (const ev of (d as Decision<LuLuEvent>).events) this.onLuLuEvent(lu, ev)
    }
  }

  private onSscpLuEvent (lu: DependentLu, ev: ActivationEvent): void {
    switch (ev.type) {
      case 'active':
        this.logger.info({ pu: this.puName, lu: lu.name }, 'SSCP-LU session active')
        lu.emit('active')
        break
      case 'inactive':
        this.resetLu(lu, UnbindType.HIERARCHICAL_RESET, false)
        lu.settleDetach(undefined)
        lu.emit('inactive')
        break
      case 'data':
        // SSCP-LU data (USS messages): accepted at once when a definite response is asked
        if (isDefinite(ev.rh)) this.transmit([lu.sscpLu.respond(ev.snf, true, { expedited: ev.expedited })])
        // Written for a terminal that has left (the host had not seen NOTIFY disabled yet): not delivered.
        if (!lu.attached) this.logger.debug({ pu: this.puName, lu: lu.name, bytes: ev.ru.length }, 'SSCP-LU data for an LU with no client: not delivered')
        else lu.emit('sscpData', ev.ru)
        break
      case 'request':
        if (ev.piu.rh !== undefined && !ev.piu.rh.rri && (isDefinite(ev.piu.rh) || isException(ev.piu.rh))) {
          this.transmit([lu.sscpLu.respond(ev.piu.th.snf, Sense.FUNCTION_NOT_SUPPORTED, { expedited: ev.piu.th.efi })])
        }
        break
      case 'response':
        lu.emit('sscpResponse', ev)
        if (!ev.expedited) lu.settleDetach(ev.snf)
        break
      case 'protocol-error':
        this.protocolError(lu, ev.reason, ev.sense)
        break
      default:
        break
    }
  }

  private onLuLuEvent (lu: DependentLu, ev: LuLuEvent): void {
    switch (ev.type) {
      case 'bind':
        this.logger.info({ pu: this.puName, lu: lu.name }, 'BIND accepted')
        lu.emit('bind', ev.bind)
        break
      case 'bind-rejected':
        if (ev.sense === Sense.LU_NOT_ENABLED) {
          // The host bound just before it learnt that the terminal left: an ordinary race.
          this.logger.info({ pu: this.puName, lu: lu.name, sense: formatSense(ev.sense) }, 'BIND for an LU whose client has left refused')
          break
        }
        this.logger.warn({ pu: this.puName, lu: lu.name, sense: formatSense(ev.sense), reason: ev.reason }, 'BIND rejected')
        this.emit('protocolError', { reason: ev.reason, sense: ev.sense, lu: lu.name })
        break
      case 'sdt': lu.emit('sdt'); break
      case 'clear': lu.emit('clear'); break
      case 'unbind':
        this.logger.info({ pu: this.puName, lu: lu.name, type: ev.unbindType, local: ev.local }, 'LU-LU session unbound')
        lu.emit('unbind', ev.unbindType)
        break
      case 'data':
        // The half-session's event as it is (a LuDataEvent with its `type`): no copy per RU.
        lu.emit('data', ev)
        break
      case 'pacing': lu.emit('pacing', { snf: ev.snf }); break
      case 'request': lu.emit('request', { name: ev.name, ru: ev.ru, rh: ev.rh, snf: ev.snf, expedited: ev.expedited }); break
      case 'response': lu.emit('response', ev); break
      case 'ipr': lu.emit('ipr'); break
      case 'ipm': lu.emit('ipm', ev.ipm); break
      case 'protocol-error': this.protocolError(lu, ev.reason, ev.sense); break
    }
  }

  private protocolError (lu: DependentLu, reason: string, sense?: number): void {
    this.logger.warn({ pu: this.puName, lu: lu.name, reason, sense: sense === undefined ? undefined : formatSense(sense) }, 'SNA protocol error')
    lu.emit('protocolError', sense === undefined ? { reason } : { reason, sense })
  }

  private resetLu (lu: DependentLu, unbindType: number, resetSscp = true): void {
    for (const ev of lu.luLu.reset(unbindType).events) this.onLuLuEvent(lu, ev)
    if (resetSscp) for (const ev of lu.sscpLu.reset().events) this.onSscpLuEvent(lu, ev)
  }

  /** Host link lost: every LU-LU session unbinds (type 08), every LU and the PU go inactive. */
  linkDown (): void {
    this.logger.info({ pu: this.puName }, 'host link down: resetting all sessions')
    for (const lu of this.byName.values()) this.resetLu(lu, UnbindType.ROUTE_EXTENSION_INOPERATIVE)
    const wasActive = this.sscpPu.state === 'active'
    this.sscpPu.reset()
    if (wasActive) this.emit('puInactive')
  }
}
