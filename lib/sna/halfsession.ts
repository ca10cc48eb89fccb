// The LU-LU half-session, both roles, for every user in the code base: the gateway's dependent LU
// (secondary, ODAI = 0), the host simulator's PLU (primary, ODAI = 0) and both ends of an LU 6.2
// session (APPC engine primary, LU 6.2 partner secondary, ODAI = 1). Pure: each input returns a
// Decision (PIUs to send, events to surface); no I/O, no timers.
//
//   reset --BIND sent--> pending-bind --+RSP--> bound (TS profiles 3/4) | active (other TS profiles)
//   reset --BIND received, accepted--> bound | active  (rejected: -RSP 0835xxxx, stays reset)
//   bound --SDT--> active;  active --CLEAR--> bound;  any bound state --UNBIND received--> unbinding --+RSP sent--> reset
//   unbinding (type X'07'-X'7F') --BIND received--> bound (KB Q161040)
//   bound|active --UNBIND sent--> pending-unbind --+RSP--> reset (types X'07'-X'7F': reset at once)
//
// Data traffic (active), per "SNA Formats", GA27-3136 (TH, RH and RU chapters): sequence numbers
// per direction, first request SNF 1 after BIND/SDT/CLEAR (Hercules comm3705.c pre-increments;
// the IBM 3274 simulator snhstq/IBM3705_R5 i3274_cc.c counts from 0, which a receiver may accept),
// chaining BC/EC (2002), brackets BB/EB/CEB (2003) when the BIND uses brackets, definite/exception
// response bookkeeping (responses echo the SNF, KB Q195170). Session-level pacing is not decided
// here (pacing.ts is): an inbound pacing hook lets the owner check PI/RLWI in order (after the
// sequence check, before chaining) and answer with an IPR/IPM; IPR, IPM and PI in a response come
// out as events. LU 6.2 concerns (FMH-5/FMH-7, GDS, CONFIRM, conversation ends) stay in lib/appc:
// this half-session only carries FI, CD, CEB and the response modes it is given.
import { ErrorCodes, errorMessage, lbError } from '../errors.js'
import {
  commandRh, isDefinite, requestRh, responseMode,
  type RequestRh, type ResponseMode, type RuCategory,
} from './headers.js'
import {
  buildNegativeResponse, buildPositiveResponse, decodeIpmRu, encodeIpm, encodeIpr, encodePiu, isIpm, isIpr,
  type Ipm, type Piu,
} from './piu.js'
import { RequestCode, requestName, decodeUnbind, encodeSig, encodeUnbind, unbindAllowsEarlyRebind, type Sig } from './ru.js'
import { decodeBindResponse, decodeSharedBind, bindDecodeSense, bindPointerSense, type BindImage } from './bind.js'
import { keptCopy } from './bytes.js'
import { chainPosition, type ChainPosition } from './chain.js'
import { formatSense, Sense } from './sense.js'
import {
  matchResponse, nextSnf, rejectRequest, requestPiu, respondTo, RequestBook, stateError,
  type Addresses, type Decision, type ProtocolErrorEvent, type RespondOptions, type ResponseEvent, type Role,
} from './requests.js'

export type LuLuState = 'reset' | 'pending-bind' | 'bound' | 'pending-sdt' | 'active' | 'unbinding' | 'pending-unbind'

export interface DataEvent {
  type: 'data'
  ru: Buffer
  rh: RequestRh
  chain: ChainPosition
  definite: boolean
  snf: number
  pacing: boolean
}

export type LuLuEvent =
  | { type: 'bind', bind: BindImage, ru: Buffer }
  /** `local`: we refused (a received BIND, or the partner's negotiated image); else the partner's -RSP(BIND). */
  | { type: 'bind-rejected', sense: number, reason: string, local: boolean }
  | { type: 'sdt' }
  | { type: 'clear' }
  | { type: 'unbind', unbindType: number, sense?: number, local: boolean }
  | DataEvent
  | { type: 'request', name: string, ru: Buffer, rh: RequestRh, snf: number, expedited: boolean }
  | { type: 'pacing', snf: number }
  | { type: 'ipr' }
  | { type: 'ipm', ipm: Ipm }
  /** A positive normal-flow response with PI: the fixed-pacing response carried in a response. */
  | { type: 'response-pacing', snf: number }
  | ResponseEvent
  | ProtocolErrorEvent

/** How received normal-flow sequence numbers are checked (-RSP 2001 on a mismatch). */
export interface InboundSequenceRule {
  /** Accept SNF 0 as well as 1 for the first request after BIND/SDT/CLEAR (a 3274 counts from 0). */
  firstMayBeZero: boolean
  /** After an error expect the wrong SNF + 1 next (one gap is reported once); else keep expecting the old one. */
  resyncAfterError: boolean
}

export const DEFAULT_SEQUENCE_RULE: InboundSequenceRule = { firstMayBeZero: false, resyncAfterError: true }

/** What the inbound pacing hook decided for one normal-flow request. */
export interface InboundPacingResult {
  /** PIUs to send at once (an IPR or IPM built with ipr()/ipm()). */
  send?: Buffer[]
  /** Refuse the request with this sense (a pacing violation). */
  reject?: { sense: number, reason: string }
}

export interface LuLuOptions {
  role: Role
  localAddress: number
  /** Partner address; a secondary learns it from the BIND's OAF' (i3274_cc.c). */
  remoteAddress: number
  /** ODAI of every PIU: 0 for dependent LUs behind a boundary function, 1 for LU 6.2 local-form session ids. */
  odai?: boolean
  /** Secondary: decide on a decoded BIND; return a sense (e.g. 0835xxxx) to reject, undefined to accept. */
  validateBind?: (bind: BindImage) => number | undefined
  /** Secondary: RU of +RSP(BIND); default X'31' for non-negotiable, the unchanged image for negotiable. */
  bindResponse?: (bind: BindImage, ru: Buffer) => Buffer
  /** Secondary: answer UNBIND at once (default) or leave it pending until respondUnbind(). */
  autoRespondUnbind?: boolean
  /** Received normal-flow sequence numbers: a rule (default DEFAULT_SEQUENCE_RULE) or 'unchecked'. */
  inboundSequence?: InboundSequenceRule | 'unchecked'
  /** Called for every received normal-flow request that passed the sequence check. */
  inboundPacing?: (rh: RequestRh, snf: number) => InboundPacingResult | undefined
  /** DFC/NC requests asking for a definite response: answered +RSP here (default) or left to the owner (false). */
  autoRespondRequests?: boolean
  /**
   * Received (and sent) exception-response requests remembered for a late -RSP, oldest forgotten
   * first; default 256 (requests.ts). Definite-response requests are always remembered.
   */
  exceptionRequestsTracked?: number
}

export interface SendDataOptions {
  /** Definite response (RQD1) instead of exception response (RQE1). Default false. */
  definite?: boolean
  /** Response mode; overrides `definite`. */
  mode?: ResponseMode
  bci?: boolean
  eci?: boolean
  /** Default: set automatically on the first RU of a chain between brackets when brackets are used. */
  bbi?: boolean
  ebi?: boolean
  cdi?: boolean
  cebi?: boolean
  /** FM header (FMD) / formatted (other categories). */
  fi?: boolean
  pi?: boolean
  /** Request larger window (adaptive pacing). */
  rlwi?: boolean
  category?: RuCategory
}

/** Does this TS profile use SDT? (TS 3/4 yes, TS 7 no: LU 6.2 starts data traffic at +RSP(BIND), as Linux-SNA does.) */
export function tsProfileUsesSdt (ts: number): boolean { return ts === 3 || ts === 4 }

interface DirectionState { lastSnf: number, inChain: boolean, started: boolean }
const freshDirection = (): DirectionState => ({ lastSnf: 0, inChain: false, started: false })

type LuLuDecision = Decision<LuLuEvent>
/** A local SC command: the decision plus the expedited identifier (SNF) its response will echo. */
export type CommandDecision = LuLuDecision & { snf: number }

/** LU-LU half-session, either role. */
export class LuLuHalfSession {
  private st: LuLuState = 'reset'
  private readonly addr: Addresses
  private readonly book: RequestBook
  private out: DirectionState = freshDirection()
  private inb: DirectionState = freshDirection()
  private expId = 0
  private inBracket = false
  private endBracketAtChainEnd = false
  private image: BindImage | undefined
  private imageRu: Buffer | undefined
  private pendingBind: { bind: BindImage, ru: Buffer } | undefined
  private unbindPending: { snf: number, type: number } | undefined
  private sentUnbindType = 0

  constructor (private readonly opts: LuLuOptions) {
    this.addr = { local: opts.localAddress, remote: opts.remoteAddress, odai: opts.odai === true }
    this.book = new RequestBook(opts.exceptionRequestsTracked)
  }

  get state (): LuLuState { return this.st }
  get role (): Role { return this.opts.role }
  get bind (): BindImage | undefined { return this.image }
  get bindRu (): Buffer | undefined { return this.imageRu }
  get remoteAddress (): number { return this.addr.remote }
  get localAddress (): number { return this.addr.local }
  get inBracketState (): boolean { return this.inBracket }
  /** SNF the next normal-flow request we send will carry. */
  get nextSendSnf (): number { return nextSnf(this.out.lastSnf) }
  /** True while the session is bound (whether or not data traffic is active). */
  get isBound (): boolean { return this.st === 'bound' || this.st === 'pending-sdt' || this.st === 'active' }

  private resetDataTraffic (): void {
    this.out = freshDirection()
    this.inb = freshDirection()
    this.inBracket = false
    this.endBracketAtChainEnd = false
    this.book.clearNormal()
  }

  private enterBound (bind: BindImage, ru: Buffer): void {
    this.image = bind
    this.imageRu = ru
    this.resetDataTraffic()
    this.st = tsProfileUsesSdt(bind.tsProfile) ? 'bound' : 'active'
  }

  private toReset (): void {
    this.st = 'reset'
    this.image = undefined
    this.imageRu = undefined
    this.pendingBind = undefined
    this.resetDataTraffic()
    this.book.clear()
  }

  private sendExpedited (ru: Buffer, name: string, category: 'SC' | 'DFC' = 'SC'): Buffer {
    this.expId = nextSnf(this.expId)
    const piu = requestPiu(this.addr, this.expId, true, commandRh(category), ru)
    this.book.trackSent(piu, name, 'RQD1')
    return encodePiu(piu)
  }

  private command (ru: Buffer, name: string, events: LuLuEvent[]): CommandDecision {
    const piu = this.sendExpedited(ru, name)
    return { send: [piu], events, snf: this.expId }
  }

  private needRole (role: Role, what: string): void {
    if (this.opts.role !== role) stateError(`${what} by a ${this.opts.role}`, this.st, `role ${role}`)
  }

  // ------------------------------------------------------------------ local commands

  /** Primary: send BIND. */
  sendBind (bind: BindImage, ru: Buffer): CommandDecision {
    this.needRole('primary', 'BIND send')
    if (this.st !== 'reset') stateError('BIND send', this.st, 'reset')
    this.st = 'pending-bind'
    this.pendingBind = { bind, ru }
    return this.command(ru, 'BIND', [])
  }

  /** Primary: send SDT. */
  sendSdt (): CommandDecision {
    this.needRole('primary', 'SDT send')
    if (this.st !== 'bound') stateError('SDT send', this.st, 'bound')
    this.st = 'pending-sdt'
    return this.command(Buffer.from([RequestCode.SDT]), 'SDT', [])
  }

  /** Primary: send CLEAR (data traffic reset; sequence numbers reset). */
  sendClear (): CommandDecision {
    this.needRole('primary', 'CLEAR send')
    if (this.st !== 'active' && this.st !== 'bound') stateError('CLEAR send', this.st, 'bound or active')
    this.resetDataTraffic()
    this.st = 'bound'
    return this.command(Buffer.from([RequestCode.CLEAR]), 'CLEAR', [])
  }

  /** Either role: send UNBIND. Types X'07'-X'7F' reset the half-session at once (KB Q161040). */
  sendUnbind (type: number, sense?: number): CommandDecision {
    if (!this.isBound && this.st !== 'pending-bind') stateError('UNBIND send', this.st, 'a bound state')
    const ru = encodeUnbind(sense === undefined ? { type } : { type, sense })
    if (unbindAllowsEarlyRebind(type)) {
      this.toReset()
      const ev: LuLuEvent = { type: 'unbind', unbindType: type, local: true }
      if (sense !== undefined) ev.sense = sense
      return this.command(ru, 'UNBIND', [ev])
    }
    this.st = 'pending-unbind'
    this.sentUnbindType = type
    return this.command(ru, 'UNBIND', [])
  }

  /** Secondary with autoRespondUnbind=false: send the owed +RSP(UNBIND). */
  respondUnbind (): LuLuDecision {
    if (this.unbindPending === undefined) stateError('+RSP(UNBIND)', this.st, 'a received UNBIND')
    const { snf } = this.unbindPending
    this.unbindPending = undefined
    const rsp = respondTo(this.book, snf, true, { expedited: true })
    if (this.st === 'unbinding') this.toReset()
    return { send: [rsp], events: [] }
  }

  /**
   * SIGNAL: an expedited DFC request, RQD1, while data traffic is active (GA27-3136 SIG). An LU2's
   * ATTN key sends code X'0001' (request to send). Returns the identifier its response echoes.
   */
  sendSignal (sig: Sig): { send: Buffer[], snf: number } {
    if (this.st !== 'active') stateError('SIGNAL send', this.st, 'active (after BIND and SDT)')
    const piu = this.sendExpedited(encodeSig(sig), 'SIG', 'DFC')
    return { send: [piu], snf: this.expId }
  }

  /** Normal-flow request (FMD data by default, or DFC with `category`). */
  sendData (ru: Buffer, o: SendDataOptions = {}): { send: Buffer[], snf: number } {
    if (this.st !== 'active') stateError('data send', this.st, 'active (after BIND and SDT)')
    const bci = o.bci ?? true
    const eci = o.eci ?? true
    if (bci && this.out.inChain) throw lbError(ErrorCodes.SNA_STATE, 'begin-chain while an outbound chain is in progress (2002)')
    if (!bci && !this.out.inChain) throw lbError(ErrorCodes.SNA_STATE, 'middle/last RU without an outbound chain in progress (2002)')
    const { bbi, ends } = this.outboundBrackets(o, bci, eci)
    const mode: ResponseMode = o.mode ?? (o.definite === true ? 'RQD1' : 'RQE1')
    this.out.lastSnf = nextSnf(this.out.lastSnf)
    const rh = requestRh({
      category: o.category ?? 'FMD', fi: o.fi ?? false, bci, eci, mode, bbi, ebi: o.ebi ?? false,
      cdi: o.cdi ?? false, cebi: o.cebi ?? false, pi: o.pi ?? false, rlwi: o.rlwi ?? false,
    })
    const piu = requestPiu(this.addr, this.out.lastSnf, false, rh, ru)
    this.book.trackSent(piu, requestName(rh.category, rh.fi, ru), mode)
    this.out.inChain = !eci
    if (this.image!.common.brackets) this.trackBracket(bci && bbi, ends, eci)
    return { send: [encodePiu(piu)], snf: this.out.lastSnf }
  }

  /** BB for an outbound chain (automatic between brackets) and whether it ends the bracket (EB/CEB). */
  private outboundBrackets (o: SendDataOptions, bci: boolean, eci: boolean): { bbi: boolean, ends: boolean } {
    const bind = this.image!
    let bbi = o.bbi ?? false
    if (bind.common.brackets && bci) {
      if (o.bbi === undefined && !this.inBracket) bbi = true
      if (bbi && this.inBracket) throw lbError(ErrorCodes.SNA_STATE, 'begin-bracket while in a bracket (2003)')
      if (!bbi && !this.inBracket) throw lbError(ErrorCodes.SNA_STATE, 'first chain between brackets needs BB (2003)')
    }
    const ends = (bci && o.ebi === true) || (eci && o.cebi === true)
    if (ends && bind.common.brackets) {
      const mine = this.opts.role === 'primary' ? bind.primary : bind.secondary
      if (!mine.mayEndBracket) throw lbError(ErrorCodes.SNA_STATE, `the BIND does not allow the ${this.opts.role} to end brackets (2003)`)
    }
    return { bbi, ends }
  }

  /** Bracket state after a chain element went out or came in (one bracket state per session). */
  private trackBracket (begins: boolean, ends: boolean, eci: boolean): void {
    if (begins) this.inBracket = true
    if (ends) this.endBracketAtChainEnd = true
    if (eci && this.endBracketAtChainEnd) { this.inBracket = false; this.endBracketAtChainEnd = false }
  }

  /** Respond to a received normal-flow (or expedited) request by SNF. */
  respond (snf: number, result: true | number, opts: RespondOptions = {}): Buffer {
    return respondTo(this.book, snf, result, opts)
  }

  /** The response a received request still waits for: 'definite', 'exception' (only a -RSP allowed) or none. */
  owedResponse (snf: number, expedited = false): 'definite' | 'exception' | undefined { return this.book.owed(snf, expedited) }

  /** Isolated pacing response toward the partner ("SNA Formats", GA27-3136; KB Q172484). */
  ipr (): Buffer { return encodeIpr({ daf: this.addr.remote, oaf: this.addr.local, odai: this.addr.odai }) }

  /** Isolated pacing message toward the partner (adaptive pacing). */
  ipm (ipm: Ipm): Buffer { return encodeIpm({ daf: this.addr.remote, oaf: this.addr.local, odai: this.addr.odai }, ipm) }

  /** Link down / hierarchical reset: back to reset without PIUs; emits 'unbind' if a session existed. */
  reset (unbindType: number): LuLuDecision {
    const had = this.isBound || this.st === 'unbinding' || this.st === 'pending-unbind'
    this.toReset()
    this.unbindPending = undefined
    return { send: [], events: had ? [{ type: 'unbind', unbindType, local: true }] : [] }
  }

  // ------------------------------------------------------------------ receive

  receive (piu: Piu): LuLuDecision {
    const rh = piu.rh
    if (rh === undefined) return { send: [], events: [{ type: 'protocol-error', reason: 'segmented PIU (no RH) is not supported on an LU-LU session' }] }
    if (rh.rri) return this.receiveResponse(piu)
    if (piu.th.efi || rh.category === 'SC') return this.receiveExpedited(piu, rh)
    return this.receiveNormal(piu, rh)
  }

  private reject (piu: Piu, rh: RequestRh, sense: number, reason: string): LuLuDecision {
    // After our UNBIND, requests the partner sent before it saw it (SDT, data, SIG) cross it on the
    // wire: an ordinary race, answered (if asked) but not a protocol error (KB Q161040 describes
    // the same crossing for a BIND after UNBIND).
    if (this.st === 'pending-unbind') return { send: rejectRequest<LuLuEvent>(piu, rh, sense, reason).send, events: [] }
    return rejectRequest<LuLuEvent>(piu, rh, sense, reason)
  }

  /** A surfaced DFC/NC request; a definite one is answered +RSP here unless the owner answers. */
  private surfaceRequest (piu: Piu, rh: RequestRh, name: string): LuLuDecision {
    this.book.trackReceived(piu, name)
    const answer = isDefinite(rh) && this.opts.autoRespondRequests !== false
    return {
      send: answer ? [respondTo(this.book, piu.th.snf, true, { expedited: piu.th.efi })] : [],
      events: [{ type: 'request', name, ru: piu.ru, rh, snf: piu.th.snf, expedited: piu.th.efi }],
    }
  }

  private receiveExpedited (piu: Piu, rh: RequestRh): LuLuDecision {
    const name = requestName(rh.category, rh.fi, piu.ru)
    if (rh.category !== 'SC') {
      // expedited DFC (SIG ...)
      if (!this.isBound) return this.reject(piu, rh, Sense.NO_LU_LU_SESSION, `${name} received in state ${this.st}`)
      return this.surfaceRequest(piu, rh, name)
    }
    switch (piu.ru[0]) {
      case RequestCode.BIND: return this.receiveBind(piu, rh)
      case RequestCode.UNBIND: return this.receiveUnbind(piu, rh)
      case RequestCode.SDT: return this.receiveSdt(piu, rh)
      case RequestCode.CLEAR: return this.receiveClear(piu, rh)
      default:
        if (!this.isBound) return this.reject(piu, rh, Sense.NO_LU_LU_SESSION, `${name} received in state ${this.st}`)
        this.book.trackReceived(piu, name)
        return { send: [], events: [{ type: 'request', name, ru: piu.ru, rh, snf: piu.th.snf, expedited: piu.th.efi }] }
    }
  }

  private receiveSdt (piu: Piu, rh: RequestRh): LuLuDecision {
    if (this.opts.role !== 'secondary') return this.reject(piu, rh, Sense.FUNCTION_NOT_SUPPORTED, 'SDT received by a primary')
    if (this.st !== 'bound') return this.reject(piu, rh, this.isBound ? Sense.FUNCTION_ACTIVE : Sense.NO_LU_LU_SESSION, `SDT received in state ${this.st}`)
    this.resetDataTraffic()
    this.st = 'active'
    return { send: [encodePiu(buildPositiveResponse(piu))], events: [{ type: 'sdt' }] }
  }

  private receiveClear (piu: Piu, rh: RequestRh): LuLuDecision {
    if (this.opts.role !== 'secondary') return this.reject(piu, rh, Sense.FUNCTION_NOT_SUPPORTED, 'CLEAR received by a primary')
    if (this.st !== 'active' && this.st !== 'bound') return this.reject(piu, rh, Sense.NO_LU_LU_SESSION, `CLEAR received in state ${this.st}`)
    this.resetDataTraffic()
    this.st = 'bound'
    return { send: [encodePiu(buildPositiveResponse(piu))], events: [{ type: 'clear' }] }
  }

  private receiveBind (piu: Piu, rh: RequestRh): LuLuDecision {
    if (this.opts.role !== 'secondary') return this.reject(piu, rh, Sense.FUNCTION_NOT_SUPPORTED, 'BIND received by a primary')
    const earlyRebind = this.st === 'unbinding' && this.unbindPending !== undefined && unbindAllowsEarlyRebind(this.unbindPending.type)
    if (this.st !== 'reset' && !earlyRebind) {
      // an LU 6.2 BIND on a local-form session id already in use is 0815 0004 (IBM sc0815)
      return this.reject(piu, rh, this.addr.odai ? Sense.FUNCTION_ACTIVE_LFSID_IN_USE : Sense.FUNCTION_ACTIVE, `BIND received in state ${this.st}`)
    }
    // Kept for the session's life (BIND-IMAGE; the image's SLU name and URC are views of it): an
    // exact-size copy, not a view of the PIU the link copied into a shared pool slab.
    const ru = keptCopy(piu.ru)
    let bind: BindImage
    try {
      // Frozen, its logmode's parts shared with other sessions' BINDs (bind.ts).
      bind = decodeSharedBind(ru)
    } catch (err) {
      const sense = bindDecodeSense(err) ?? bindPointerSense(0)
      return { send: [encodePiu(buildNegativeResponse(piu, sense))], events: [{ type: 'bind-rejected', sense, reason: errorMessage(err), local: true }] }
    }
    const sense = this.opts.validateBind?.(bind)
    if (sense !== undefined) {
      return { send: [encodePiu(buildNegativeResponse(piu, sense))], events: [{ type: 'bind-rejected', sense, reason: `BIND rejected by validation (sense ${formatSense(sense)})`, local: true }] }
    }
    // a BIND that overtakes our +RSP(UNBIND): the old session is gone; the owed response stays owed
    if (earlyRebind) { this.st = 'reset' }
    this.addr.remote = piu.th.oaf
    this.enterBound(bind, ru)
    const rspRu = this.opts.bindResponse?.(bind, ru) ?? (bind.negotiable ? ru : Buffer.from([RequestCode.BIND]))
    return { send: [encodePiu(buildPositiveResponse(piu, rspRu))], events: [{ type: 'bind', bind, ru }] }
  }

  private receiveUnbind (piu: Piu, rh: RequestRh): LuLuDecision {
    let type: number; let sense: number | undefined
    try {
      const u = decodeUnbind(piu.ru); type = u.type; sense = u.sense
    } catch (err) {
      return this.reject(piu, rh, bindPointerSense(1), errorMessage(err))
    }
    if (!this.isBound && this.st !== 'pending-unbind' && this.st !== 'pending-bind') {
      return this.reject(piu, rh, Sense.UNBIND_NO_SESSION, `UNBIND received in state ${this.st}`)
    }
    const ev: LuLuEvent = { type: 'unbind', unbindType: type, local: false }
    if (sense !== undefined) ev.sense = sense
    this.toReset()
    this.book.trackReceived(piu, 'UNBIND')
    if (this.opts.autoRespondUnbind === false && isDefinite(rh)) {
      this.st = 'unbinding'
      this.unbindPending = { snf: piu.th.snf, type }
      return { send: [], events: [ev] }
    }
    const send = isDefinite(rh) ? [respondTo(this.book, piu.th.snf, true, { expedited: piu.th.efi })] : []
    return { send, events: [ev] }
  }

  private receiveNormal (piu: Piu, rh: RequestRh): LuLuDecision {
    const name = requestName(rh.category, rh.fi, piu.ru)
    if (this.st !== 'active') {
      // bound, waiting for SDT (or after CLEAR): data traffic reset; otherwise there is no session
      const sense = this.st === 'bound' ? Sense.DATA_TRAFFIC_RESET : Sense.NO_LU_LU_SESSION
      return this.reject(piu, rh, sense, `${name} received in state ${this.st}`)
    }
    try { responseMode(rh) } catch (err) { return this.reject(piu, rh, Sense.INVALID_RESPONSE_MODE, errorMessage(err)) }
    const sequenceError = this.checkSequence(piu.th.snf)
    if (sequenceError !== undefined) return this.reject(piu, rh, Sense.SEQUENCE_ERROR, sequenceError)
    const send: Buffer[] = []
    const pacing = this.opts.inboundPacing?.(rh, piu.th.snf)
    if (pacing?.send !== undefined) send.push(...pacing.send)
    if (pacing?.reject !== undefined) return withSend(send, this.reject(piu, rh, pacing.reject.sense, pacing.reject.reason))
    const flowError = this.checkChainAndBrackets(rh)
    if (flowError !== undefined) return withSend(send, this.reject(piu, rh, flowError.sense, flowError.reason))
    this.book.trackReceived(piu, name)
    const events: LuLuEvent[] = []
    if (rh.pi) events.push({ type: 'pacing', snf: piu.th.snf })
    if (rh.category === 'FMD') {
      events.push({ type: 'data', ru: piu.ru, rh, chain: chainPosition(rh.bci, rh.eci), definite: isDefinite(rh), snf: piu.th.snf, pacing: rh.pi })
      return { send, events }
    }
    // normal-flow DFC (LUSTAT, BID, RTR, SHUTD, CHASE ...) and NC
    const surfaced = this.surfaceRequest(piu, rh, name)
    return { send: [...send, ...surfaced.send], events: [...events, ...surfaced.events] }
  }

  /** Sequence number check of a received normal-flow request; the reason of a 2001, or undefined. */
  private checkSequence (snf: number): string | undefined {
    const rule = this.opts.inboundSequence ?? DEFAULT_SEQUENCE_RULE
    if (rule === 'unchecked') return undefined
    const expected = nextSnf(this.inb.lastSnf)
    const ok = snf === expected || (rule.firstMayBeZero && !this.inb.started && snf === 0)
    if (ok || rule.resyncAfterError) { this.inb.lastSnf = snf; this.inb.started = true }
    if (ok) return undefined
    return `SNF ${snf} received, expected ${!this.inb.started && rule.firstMayBeZero ? '0 or 1' : expected}`
  }

  /** Chaining (2002) and bracket (2003) rules for a received chain element; updates the state when it passes. */
  private checkChainAndBrackets (rh: RequestRh): { sense: number, reason: string } | undefined {
    if (rh.bci && this.inb.inChain) { this.inb.inChain = false; return { sense: Sense.CHAINING_ERROR, reason: 'begin-chain while an inbound chain is in progress' } }
    if (!rh.bci && !this.inb.inChain) return { sense: Sense.CHAINING_ERROR, reason: 'middle/last RU without a chain in progress' }
    const bind = this.image!
    if (bind.common.brackets) {
      if (rh.bci && rh.bbi && this.inBracket) return { sense: Sense.BRACKET_ERROR, reason: 'begin-bracket received while in a bracket' }
      if (rh.bci && !rh.bbi && !this.inBracket) return { sense: Sense.BRACKET_ERROR, reason: 'chain received between brackets without BB' }
      const ends = (rh.bci && rh.ebi) || (rh.eci && rh.cebi)
      const theirs = this.opts.role === 'primary' ? bind.secondary : bind.primary
      if (ends && !theirs.mayEndBracket) return { sense: Sense.BRACKET_ERROR, reason: 'end-bracket from an LU the BIND does not allow to end brackets' }
      this.trackBracket(rh.bci && rh.bbi, ends, rh.eci)
    }
    this.inb.inChain = !rh.eci
    return undefined
  }

  private receiveResponse (piu: Piu): LuLuDecision {
    if (isIpr(piu)) return { send: [], events: [{ type: 'ipr' }] }
    if (isIpm(piu)) {
      try {
        return { send: [], events: [{ type: 'ipm', ipm: decodeIpmRu(piu.ru) }] }
      } catch (err) {
        return { send: [], events: [{ type: 'protocol-error', reason: errorMessage(err), sense: Sense.IPM_FORMAT_ERROR }] }
      }
    }
    const ev = matchResponse(this.book, piu)
    const rh = piu.rh!
    const carriesPacing: LuLuEvent[] = !piu.th.efi && rh.rri && rh.pi && !rh.rti ? [{ type: 'response-pacing', snf: piu.th.snf }] : []
    if (ev.type === 'protocol-error') return { send: [], events: [ev, ...carriesPacing] }
    return withEvents(this.afterResponse(piu, ev), carriesPacing)
  }

  /** State changes a response to one of our SC requests brings. */
  private afterResponse (piu: Piu, ev: ResponseEvent): LuLuDecision {
    if (ev.request === 'BIND' && this.st === 'pending-bind') return this.bindResponse(piu, ev)
    if (ev.request === 'SDT' && this.st === 'pending-sdt') {
      if (ev.positive) { this.resetDataTraffic(); this.st = 'active'; return { send: [], events: [{ type: 'sdt' }] } }
      this.st = 'bound'
      return { send: [], events: [ev] }
    }
    if (ev.request === 'CLEAR') return { send: [], events: ev.positive ? [{ type: 'clear' }] : [ev] }
    if (ev.request === 'UNBIND') {
      if (this.st !== 'pending-unbind') return { send: [], events: [] } // late +RSP(UNBIND) after an early-reset type
      this.toReset()
      return { send: [], events: [{ type: 'unbind', unbindType: this.sentUnbindType, local: true }] }
    }
    return { send: [], events: [ev] }
  }

  private bindResponse (piu: Piu, ev: ResponseEvent): LuLuDecision {
    const pending = this.pendingBind!
    this.pendingBind = undefined
    if (!ev.positive) { this.toReset(); return { send: [], events: [{ type: 'bind-rejected', sense: ev.sense!, reason: 'negative response to BIND', local: false }] } }
    let negotiated: BindImage
    try {
      negotiated = decodeBindResponse(piu.ru) ?? pending.bind
    } catch (err) {
      // a malformed negotiated image: end the session attempt with UNBIND type 06 (invalid session parameters)
      this.st = 'bound'
      const out = this.sendUnbind(0x06)
      const reason = `malformed +RSP(BIND): ${errorMessage(err)}`
      const sense = bindDecodeSense(err) ?? bindPointerSense(0)
      return { send: out.send, events: [{ type: 'protocol-error', reason }, { type: 'bind-rejected', sense, reason, local: true }, ...out.events] }
    }
    this.enterBound(negotiated, piu.ru.length > 1 ? piu.ru : pending.ru)
    return { send: [], events: [{ type: 'bind', bind: negotiated, ru: this.imageRu! }] }
  }
}

function withSend (send: Buffer[], d: LuLuDecision): LuLuDecision {
  return send.length === 0 ? d : { send: [...send, ...d.send], events: d.events }
}

function withEvents (d: LuLuDecision, events: LuLuEvent[]): LuLuDecision {
  return events.length === 0 ? d : { send: d.send, events: [...d.events, ...events] }
}
