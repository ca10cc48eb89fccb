// Half-session state machines for both roles (primary = host side, secondary = PU 2.0 / gateway side).
// Pure: each input returns a Decision (PIUs to send, events to surface); no I/O, no timers.
//
//   SSCP-PU / SSCP-LU (ActivationHalfSession):
//     reset --ACTPU|ACTLU sent--> pending-active --+RSP--> active --DACT sent--> pending-reset --+RSP--> reset
//     reset|active --ACT received (secondary)--> active (+RSP);  active --DACT received--> reset (+RSP)
//   LU-LU (LuLuHalfSession):
//     reset --BIND sent--> pending-bind --+RSP--> bound (TS 3/4) | active (other TS profiles)
//     reset --BIND received, accepted--> bound | active  (rejected: -RSP 0835xxxx, stays reset)
//     bound --SDT--> active;  active --CLEAR--> bound;  any bound state --UNBIND received--> unbinding --+RSP sent--> reset
//     unbinding (type X'07'-X'7F') --BIND received--> bound (sna-formats.md §3.7, KB Q161040)
//     bound|active --UNBIND sent--> pending-unbind --+RSP--> reset (types X'07'-X'7F': reset at once)
//   Data traffic (active): per-direction sequence numbers (first request SNF 1, reset on BIND/SDT/CLEAR, §1),
//   chaining BC/EC (2002), brackets BB/EB/CEB (2003), definite/exception response bookkeeping (responses echo SNF).
import { ErrorCodes, lbError } from '../errors.js'
import {
  commandRh, isDefinite, isException, requestRh, responseMode,
  type RequestRh, type ResponseMode, type RuCategory, type Th,
} from './headers.js'
import {
  buildNegativeResponse, buildPositiveResponse, decodeIpmRu, encodeIpm, encodeIpr, encodePiu, isIpm, isIpr,
  responseSense, type Ipm, type Piu,
} from './piu.js'
import { RequestCode, requestName, decodeUnbind, encodeUnbind, unbindAllowsEarlyRebind } from './ru.js'
import { decodeBind, decodeBindResponse, bindDecodeSense, bindPointerSense, type BindImage } from './bind.js'
import { chainPosition, type ChainPosition } from './chain.js'
import { Sense } from './sense.js'

export type Role = 'primary' | 'secondary'

export interface Decision<E> {
  send: Buffer[]
  events: E[]
}

function stateError (what: string, state: string, allowed: string): never {
  throw lbError(ErrorCodes.SNA_STATE, `${what} not allowed in state ${state} (needs ${allowed})`)
}

const nextSnf = (n: number): number => (n + 1) & 0xffff

interface Addresses { local: number, remote: number, odai: boolean }

function requestPiu (addr: Addresses, snf: number, efi: boolean, rh: RequestRh, ru: Buffer): Piu {
  const th: Th = { mpf: 'whole', odai: addr.odai, efi, daf: addr.remote, oaf: addr.local, snf }
  return { th, rh, ru }
}

/** Bookkeeping of requests we sent that may still get a response (keyed by flow + SNF). */
interface SentRequest { name: string, definite: boolean, piu: Piu }
/** Requests we received that we still owe (or may owe) a response to. */
interface ReceivedRequest { name: string, definite: boolean, exception: boolean, piu: Piu }

const flowKey = (efi: boolean, snf: number): string => `${efi ? 'X' : 'N'}${snf}`
const MAX_EXCEPTION_TRACKED = 256

class RequestBook {
  sent = new Map<string, SentRequest>()
  received = new Map<string, ReceivedRequest>()

  trackSent (piu: Piu, name: string, mode: ResponseMode): void {
    if (mode === 'none') return
    const definite = !mode.startsWith('RQE')
    const key = flowKey(piu.th.efi, piu.th.snf)
    this.sent.delete(key)
    this.sent.set(key, { name, definite, piu })
    if (this.sent.size > MAX_EXCEPTION_TRACKED) {
      // exception requests normally never get a response: forget the oldest one
      for (const [k, v] of this.sent) { if (!v.definite) { this.sent.delete(k); break } }
    }
  }

  trackReceived (piu: Piu, name: string): void {
    const rh = piu.rh as RequestRh
    if (!isDefinite(rh) && !isException(rh)) return
    const key = flowKey(piu.th.efi, piu.th.snf)
    this.received.delete(key)
    this.received.set(key, { name, definite: isDefinite(rh), exception: isException(rh), piu })
    if (this.received.size > MAX_EXCEPTION_TRACKED) {
      for (const [k, v] of this.received) { if (!v.definite) { this.received.delete(k); break } }
    }
  }

  clearNormal (): void {
    for (const k of [...this.sent.keys()]) if (k.startsWith('N')) this.sent.delete(k)
    for (const k of [...this.received.keys()]) if (k.startsWith('N')) this.received.delete(k)
  }

  clear (): void { this.sent.clear(); this.received.clear() }
}

export interface ResponseEvent {
  type: 'response'
  /** SNF of the request this answers (echoed, §1). */
  snf: number
  expedited: boolean
  request: string
  positive: boolean
  sense?: number
  ru: Buffer
  /** PI set in the response (pacing response carried in a normal response). */
  pacing: boolean
}

export interface ProtocolErrorEvent { type: 'protocol-error', reason: string, sense?: number, snf?: number }

/** Answer a pending received request: +RSP (optionally with RU) or -RSP with sense. */
function respondTo (book: RequestBook, snf: number, result: true | number, opts: { expedited?: boolean, ru?: Buffer, pacing?: boolean }): Buffer {
  const key = flowKey(opts.expedited === true, snf)
  const pending = book.received.get(key)
  if (pending === undefined) throw lbError(ErrorCodes.SNA_STATE, `no received ${opts.expedited === true ? 'expedited' : 'normal-flow'} request with SNF ${snf} awaits a response`)
  if (result === true && pending.exception) throw lbError(ErrorCodes.SNA_STATE, `request SNF ${snf} (${pending.name}) asked for an exception response: a positive response is not allowed`)
  book.received.delete(key)
  return encodePiu(result === true ? buildPositiveResponse(pending.piu, opts.ru, { pacing: opts.pacing === true }) : buildNegativeResponse(pending.piu, result))
}

/** Matches a received response against what we sent; returns the event (or a protocol error). */
function matchResponse (book: RequestBook, piu: Piu): ResponseEvent | ProtocolErrorEvent {
  const rh = piu.rh!
  const key = flowKey(piu.th.efi, piu.th.snf)
  const sent = book.sent.get(key)
  if (rh.rri && rh.rti && piu.ru.length < 4) return { type: 'protocol-error', reason: `negative response with SNF ${piu.th.snf} carries ${piu.ru.length} byte(s) of sense data (needs 4)`, snf: piu.th.snf }
  const sense = rh.rri && rh.rti ? responseSense(piu) : undefined
  if (sent === undefined) return { type: 'protocol-error', reason: `response with SNF ${piu.th.snf} matches no outstanding request`, snf: piu.th.snf }
  if (sense === undefined && !sent.definite) {
    book.sent.delete(key)
    return { type: 'protocol-error', reason: `positive response to exception-response request SNF ${piu.th.snf} (${sent.name})`, snf: piu.th.snf }
  }
  book.sent.delete(key)
  const ev: ResponseEvent = { type: 'response', snf: piu.th.snf, expedited: piu.th.efi, request: sent.name, positive: sense === undefined, ru: piu.ru, pacing: rh.pi }
  if (sense !== undefined) { ev.sense = sense; ev.ru = Buffer.from(piu.ru.subarray(4)) }
  return ev
}

// =====================================================================================================
// SSCP-PU and SSCP-LU

export type ActivationState = 'reset' | 'pending-active' | 'active' | 'pending-reset'

export type ActivationEvent =
  | { type: 'active', request: Buffer, response?: Buffer, reactivation: boolean }
  | { type: 'inactive' }
  | { type: 'activation-failed', sense: number }
  | { type: 'data', ru: Buffer, rh: RequestRh, snf: number, fi: boolean, expedited: boolean }
  | { type: 'request', name: string, piu: Piu }
  | ResponseEvent
  | ProtocolErrorEvent

export interface ActivationOptions {
  kind: 'sscp-pu' | 'sscp-lu'
  role: Role
  /** Our address (secondary: PU 0 or the LU's local address; primary: SSCP address). */
  localAddress: number
  /** Partner's address; a secondary learns it from the activation request's OAF (I3274, §1). */
  remoteAddress: number
  /** Secondary: RU of the +RSP to an activation request (default: the request code, §2.3). */
  activationResponse?: (requestRu: Buffer) => Buffer
}

/** SSCP-PU / SSCP-LU half-session (sna-formats.md §3.2-§3.4). */
export class ActivationHalfSession {
  private st: ActivationState = 'reset'
  private readonly addr: Addresses
  private readonly book = new RequestBook()
  private sendSnf = 0
  private expId = 0
  private readonly actCode: number
  private readonly deactCode: number

  constructor (private readonly opts: ActivationOptions) {
    this.addr = { local: opts.localAddress, remote: opts.remoteAddress, odai: false }
    this.actCode = opts.kind === 'sscp-pu' ? RequestCode.ACTPU : RequestCode.ACTLU
    this.deactCode = opts.kind === 'sscp-pu' ? RequestCode.DACTPU : RequestCode.DACTLU
  }

  get state (): ActivationState { return this.st }
  get remoteAddress (): number { return this.addr.remote }
  get localAddress (): number { return this.addr.local }

  private get actName (): string { return this.opts.kind === 'sscp-pu' ? 'ACTPU' : 'ACTLU' }
  private get deactName (): string { return this.opts.kind === 'sscp-pu' ? 'DACTPU' : 'DACTLU' }

  /** Primary: send ACTPU/ACTLU (expedited, RQD1). */
  activate (ru: Buffer): Decision<ActivationEvent> {
    if (this.opts.role !== 'primary') stateError(`${this.actName} send by a secondary`, this.st, 'role primary')
    if (this.st !== 'reset') stateError(`${this.actName} send`, this.st, 'reset')
    if (ru[0] !== this.actCode) throw lbError(ErrorCodes.SNA_STATE, `activate() needs an ${this.actName} RU`)
    this.st = 'pending-active'
    return { send: [this.sendExpedited(ru, this.actName)], events: [] }
  }

  /** Primary: send DACTPU/DACTLU. */
  deactivate (ru: Buffer): Decision<ActivationEvent> {
    if (this.opts.role !== 'primary') stateError(`${this.deactName} send by a secondary`, this.st, 'role primary')
    if (this.st !== 'active') stateError(`${this.deactName} send`, this.st, 'active')
    if (ru[0] !== this.deactCode) throw lbError(ErrorCodes.SNA_STATE, `deactivate() needs a ${this.deactName} RU`)
    this.st = 'pending-reset'
    return { send: [this.sendExpedited(ru, this.deactName)], events: [] }
  }

  private sendExpedited (ru: Buffer, name: string): Buffer {
    this.expId = nextSnf(this.expId)
    const piu = requestPiu(this.addr, this.expId, true, commandRh('SC'), ru)
    this.book.trackSent(piu, name, 'RQD1')
    return encodePiu(piu)
  }

  /**
   * Normal-flow FMD request on the session (character-coded data with fi=false, NS RUs such as
   * NOTIFY/INITSELF with fi=true). Returns the PIU and the SNF used.
   */
  sendData (ru: Buffer, opts: { fi?: boolean, mode?: ResponseMode, cdi?: boolean } = {}): { send: Buffer[], snf: number } {
    if (this.st !== 'active') stateError(`${this.opts.kind} data send`, this.st, 'active')
    this.sendSnf = nextSnf(this.sendSnf)
    const mode = opts.mode ?? 'RQD1'
    const piu = requestPiu(this.addr, this.sendSnf, false, requestRh({ category: 'FMD', fi: opts.fi === true, mode, cdi: opts.cdi === true }), ru)
    this.book.trackSent(piu, requestName('FMD', opts.fi === true, ru), mode)
    return { send: [encodePiu(piu)], snf: this.sendSnf }
  }

  /** Answer a received request surfaced as 'data' or 'request'. */
  respond (snf: number, result: true | number, opts: { expedited?: boolean, ru?: Buffer } = {}): Buffer {
    return respondTo(this.book, snf, result, opts)
  }

  /** Link down / hierarchical reset: back to reset, no PIUs. */
  reset (): Decision<ActivationEvent> {
    const was = this.st
    this.st = 'reset'
    this.book.clear()
    this.sendSnf = 0
    return { send: [], events: was === 'active' || was === 'pending-reset' ? [{ type: 'inactive' }] : [] }
  }

  receive (piu: Piu): Decision<ActivationEvent> {
    const rh = piu.rh
    if (rh === undefined) return { send: [], events: [{ type: 'protocol-error', reason: 'segmented PIU on an SSCP session' }] }
    if (rh.rri) return this.receiveResponse(piu)
    const name = requestName(rh.category, rh.fi, piu.ru)
    const wantsResponse = isDefinite(rh) || isException(rh)
    if (rh.category === 'SC' && piu.ru[0] === this.actCode) return this.receiveActivation(piu, wantsResponse)
    if (rh.category === 'SC' && piu.ru[0] === this.deactCode) return this.receiveDeactivation(piu, wantsResponse)
    if (this.st !== 'active') {
      // §4.1: 8009 LU not active (SSCP-LU) / 8005 no session (SSCP-PU)
      const sense = this.opts.kind === 'sscp-lu' ? Sense.LU_NOT_ACTIVE : Sense.NO_SESSION
      return { send: wantsResponse ? [encodePiu(buildNegativeResponse(piu, sense))] : [], events: [{ type: 'protocol-error', reason: `${name} received in state ${this.st}`, sense, snf: piu.th.snf }] }
    }
    this.book.trackReceived(piu, name)
    if (rh.category === 'FMD') return { send: [], events: [{ type: 'data', ru: piu.ru, rh, snf: piu.th.snf, fi: rh.fi, expedited: piu.th.efi }] }
    return { send: [], events: [{ type: 'request', name, piu }] }
  }

  private receiveActivation (piu: Piu, wantsResponse: boolean): Decision<ActivationEvent> {
    if (this.opts.role !== 'secondary') {
      return { send: wantsResponse ? [encodePiu(buildNegativeResponse(piu, Sense.FUNCTION_NOT_SUPPORTED))] : [], events: [{ type: 'protocol-error', reason: `${this.actName} received by a primary`, sense: Sense.FUNCTION_NOT_SUPPORTED }] }
    }
    // reset → active, or active → active (re-activation, cold/ERP): the session restarts either way
    const wasActive = this.st === 'active'
    this.st = 'active'
    this.addr.remote = piu.th.oaf
    this.book.clear()
    this.sendSnf = 0
    const ru = this.opts.activationResponse?.(piu.ru)
    const rsp = encodePiu(buildPositiveResponse(piu, ru))
    // a re-activation (ERP or cold) of an active session is reported as 'active' again, with reactivation set
    return { send: [rsp], events: [{ type: 'active', request: piu.ru, reactivation: wasActive }] }
  }

  private receiveDeactivation (piu: Piu, wantsResponse: boolean): Decision<ActivationEvent> {
    if (this.opts.role !== 'secondary') {
      return { send: wantsResponse ? [encodePiu(buildNegativeResponse(piu, Sense.FUNCTION_NOT_SUPPORTED))] : [], events: [{ type: 'protocol-error', reason: `${this.deactName} received by a primary`, sense: Sense.FUNCTION_NOT_SUPPORTED }] }
    }
    const was = this.st
    this.st = 'reset'
    this.book.clear()
    this.sendSnf = 0
    return { send: [encodePiu(buildPositiveResponse(piu))], events: was === 'active' ? [{ type: 'inactive' }] : [] }
  }

  private receiveResponse (piu: Piu): Decision<ActivationEvent> {
    const ev = matchResponse(this.book, piu)
    if (ev.type === 'protocol-error') return { send: [], events: [ev] }
    const events: ActivationEvent[] = []
    if (ev.request === this.actName && this.st === 'pending-active') {
      if (ev.positive) { this.st = 'active'; events.push({ type: 'active', request: Buffer.alloc(0), response: piu.ru, reactivation: false }) } else { this.st = 'reset'; events.push({ type: 'activation-failed', sense: ev.sense! }) }
      return { send: [], events }
    }
    if (ev.request === this.deactName && this.st === 'pending-reset') {
      this.st = 'reset'
      this.book.clear()
      return { send: [], events: [{ type: 'inactive' }] }
    }
    return { send: [], events: [ev] }
  }
}

// =====================================================================================================
// LU-LU

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
  | { type: 'bind-rejected', sense: number, reason: string }
  | { type: 'sdt' }
  | { type: 'clear' }
  | { type: 'unbind', unbindType: number, sense?: number, local: boolean }
  | DataEvent
  | { type: 'request', name: string, ru: Buffer, rh: RequestRh, snf: number, expedited: boolean }
  | { type: 'pacing', snf: number }
  | { type: 'ipr' }
  | { type: 'ipm', ipm: Ipm }
  | ResponseEvent
  | ProtocolErrorEvent

export interface LuLuOptions {
  role: Role
  localAddress: number
  /** Partner address; a secondary learns it from the BIND's OAF (I3274, §1). */
  remoteAddress: number
  odai?: boolean
  /** Secondary: decide on a decoded BIND; return a sense (e.g. 0835xxxx) to reject, undefined to accept. */
  validateBind?: (bind: BindImage) => number | undefined
  /** Secondary: RU of +RSP(BIND); default X'31' for non-negotiable, the unchanged image for negotiable. */
  bindResponse?: (bind: BindImage, ru: Buffer) => Buffer
  /** Secondary: answer UNBIND at once (default) or leave it pending until respondUnbind(). */
  autoRespondUnbind?: boolean
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
  fi?: boolean
  pi?: boolean
  category?: RuCategory
}

/** Does this TS profile use SDT? (§3.8: TS 3/4 yes, TS 7 no [rule UNCONFIRMED, consistent with LSNA/I3274]) */
export function tsProfileUsesSdt (ts: number): boolean { return ts === 3 || ts === 4 }

interface DirectionState { lastSnf: number, inChain: boolean }

/** LU-LU half-session, either role. */
export class LuLuHalfSession {
  private st: LuLuState = 'reset'
  private readonly addr: Addresses
  private readonly book = new RequestBook()
  private out: DirectionState = { lastSnf: 0, inChain: false }
  private inb: DirectionState = { lastSnf: 0, inChain: false }
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
  }

  get state (): LuLuState { return this.st }
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
    this.out = { lastSnf: 0, inChain: false }
    this.inb = { lastSnf: 0, inChain: false }
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

  private sendExpedited (ru: Buffer, name: string): Buffer {
    this.expId = nextSnf(this.expId)
    const piu = requestPiu(this.addr, this.expId, true, commandRh('SC'), ru)
    this.book.trackSent(piu, name, 'RQD1')
    return encodePiu(piu)
  }

  // ------------------------------------------------------------------ local commands

  /** Primary: send BIND. */
  sendBind (bind: BindImage, ru: Buffer): Decision<LuLuEvent> {
    if (this.opts.role !== 'primary') stateError('BIND send by a secondary', this.st, 'role primary')
    if (this.st !== 'reset') stateError('BIND send', this.st, 'reset')
    this.st = 'pending-bind'
    this.pendingBind = { bind, ru }
    return { send: [this.sendExpedited(ru, 'BIND')], events: [] }
  }

  /** Primary: send SDT. */
  sendSdt (): Decision<LuLuEvent> {
    if (this.opts.role !== 'primary') stateError('SDT send by a secondary', this.st, 'role primary')
    if (this.st !== 'bound') stateError('SDT send', this.st, 'bound')
    this.st = 'pending-sdt'
    return { send: [this.sendExpedited(Buffer.from([RequestCode.SDT]), 'SDT')], events: [] }
  }

  /** Primary: send CLEAR (data traffic reset; sequence numbers reset). */
  sendClear (): Decision<LuLuEvent> {
    if (this.opts.role !== 'primary') stateError('CLEAR send by a secondary', this.st, 'role primary')
    if (this.st !== 'active' && this.st !== 'bound') stateError('CLEAR send', this.st, 'bound or active')
    this.resetDataTraffic()
    this.st = 'bound'
    return { send: [this.sendExpedited(Buffer.from([RequestCode.CLEAR]), 'CLEAR')], events: [] }
  }

  /** Either role: send UNBIND. Types X'07'-X'7F' reset the half-session at once (§3.7). */
  sendUnbind (type: number, sense?: number): Decision<LuLuEvent> {
    if (!this.isBound && this.st !== 'pending-bind') stateError('UNBIND send', this.st, 'a bound state')
    const ru = encodeUnbind(sense === undefined ? { type } : { type, sense })
    if (unbindAllowsEarlyRebind(type)) {
      this.toReset()
      const ev: LuLuEvent = { type: 'unbind', unbindType: type, local: true }
      if (sense !== undefined) ev.sense = sense
      return { send: [this.sendExpedited(ru, 'UNBIND')], events: [ev] }
    }
    this.st = 'pending-unbind'
    this.sentUnbindType = type
    return { send: [this.sendExpedited(ru, 'UNBIND')], events: [] }
  }

  /** Secondary with autoRespondUnbind=false: send the owed +RSP(UNBIND). */
  respondUnbind (): Decision<LuLuEvent> {
    if (this.unbindPending === undefined) stateError('+RSP(UNBIND)', this.st, 'a received UNBIND')
    const { snf } = this.unbindPending
    this.unbindPending = undefined
    const rsp = respondTo(this.book, snf, true, { expedited: true })
    if (this.st === 'unbinding') this.toReset()
    return { send: [rsp], events: [] }
  }

  /** Normal-flow request (FMD data by default, or DFC with `category`). */
  sendData (ru: Buffer, o: SendDataOptions = {}): { send: Buffer[], snf: number } {
    if (this.st !== 'active') stateError('data send', this.st, 'active (after BIND and SDT)')
    const bci = o.bci ?? true
    const eci = o.eci ?? true
    if (bci && this.out.inChain) throw lbError(ErrorCodes.SNA_STATE, 'begin-chain while an outbound chain is in progress (2002)')
    if (!bci && !this.out.inChain) throw lbError(ErrorCodes.SNA_STATE, 'middle/last RU without an outbound chain in progress (2002)')
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
    const mode: ResponseMode = o.mode ?? (o.definite === true ? 'RQD1' : 'RQE1')
    this.out.lastSnf = nextSnf(this.out.lastSnf)
    const rh = requestRh({ category: o.category ?? 'FMD', fi: o.fi ?? false, bci, eci, mode, bbi, ebi: o.ebi ?? false, cdi: o.cdi ?? false, cebi: o.cebi ?? false, pi: o.pi ?? false })
    const piu = requestPiu(this.addr, this.out.lastSnf, false, rh, ru)
    this.book.trackSent(piu, requestName(rh.category, rh.fi, ru), mode)
    this.out.inChain = !eci
    if (bind.common.brackets) {
      if (bbi) this.inBracket = true
      if (ends) this.endBracketAtChainEnd = true
      if (eci && this.endBracketAtChainEnd) { this.inBracket = false; this.endBracketAtChainEnd = false }
    }
    return { send: [encodePiu(piu)], snf: this.out.lastSnf }
  }

  /** Respond to a received normal-flow (or expedited) request by SNF. */
  respond (snf: number, result: true | number, opts: { expedited?: boolean, ru?: Buffer, pacing?: boolean } = {}): Buffer {
    return respondTo(this.book, snf, result, opts)
  }

  /** Isolated pacing response toward the partner (§2.4). */
  ipr (): Buffer { return encodeIpr({ daf: this.addr.remote, oaf: this.addr.local, odai: this.addr.odai }) }

  /** Isolated pacing message toward the partner (§2.4). */
  ipm (ipm: Ipm): Buffer { return encodeIpm({ daf: this.addr.remote, oaf: this.addr.local, odai: this.addr.odai }, ipm) }

  /** Link down / hierarchical reset: back to reset without PIUs; emits 'unbind' if a session existed. */
  reset (unbindType: number): Decision<LuLuEvent> {
    const had = this.isBound || this.st === 'unbinding' || this.st === 'pending-unbind'
    this.toReset()
    this.unbindPending = undefined
    return { send: [], events: had ? [{ type: 'unbind', unbindType, local: true }] : [] }
  }

  // ------------------------------------------------------------------ receive

  receive (piu: Piu): Decision<LuLuEvent> {
    const rh = piu.rh
    if (rh === undefined) return { send: [], events: [{ type: 'protocol-error', reason: 'segmented PIU (no RH) is not supported on a dependent-LU session' }] }
    if (rh.rri) return this.receiveResponse(piu)
    if (piu.th.efi || rh.category === 'SC') return this.receiveExpedited(piu, rh)
    return this.receiveNormal(piu, rh)
  }

  private reject (piu: Piu, rh: RequestRh, sense: number, reason: string): Decision<LuLuEvent> {
    const canRespond = isDefinite(rh) || isException(rh)
    return { send: canRespond ? [encodePiu(buildNegativeResponse(piu, sense))] : [], events: [{ type: 'protocol-error', reason, sense, snf: piu.th.snf }] }
  }

  private receiveExpedited (piu: Piu, rh: RequestRh): Decision<LuLuEvent> {
    const name = requestName(rh.category, rh.fi, piu.ru)
    if (rh.category !== 'SC') {
      // expedited DFC (SIG ...): surface; a definite one is answered positively
      if (!this.isBound) return this.reject(piu, rh, Sense.NO_LU_LU_SESSION, `${name} received in state ${this.st}`)
      this.book.trackReceived(piu, name)
      return { send: isDefinite(rh) ? [respondTo(this.book, piu.th.snf, true, { expedited: piu.th.efi })] : [], events: [{ type: 'request', name, ru: piu.ru, rh, snf: piu.th.snf, expedited: piu.th.efi }] }
    }
    switch (piu.ru[0]) {
      case RequestCode.BIND: return this.receiveBind(piu, rh)
      case RequestCode.UNBIND: return this.receiveUnbind(piu, rh)
      case RequestCode.SDT:
        if (this.opts.role !== 'secondary') return this.reject(piu, rh, Sense.FUNCTION_NOT_SUPPORTED, 'SDT received by a primary')
        if (this.st !== 'bound') return this.reject(piu, rh, this.isBound ? Sense.FUNCTION_ACTIVE : Sense.NO_LU_LU_SESSION, `SDT received in state ${this.st}`)
        this.resetDataTraffic()
        this.st = 'active'
        return { send: [encodePiu(buildPositiveResponse(piu))], events: [{ type: 'sdt' }] }
      case RequestCode.CLEAR:
        if (this.opts.role !== 'secondary') return this.reject(piu, rh, Sense.FUNCTION_NOT_SUPPORTED, 'CLEAR received by a primary')
        if (this.st !== 'active' && this.st !== 'bound') return this.reject(piu, rh, Sense.NO_LU_LU_SESSION, `CLEAR received in state ${this.st}`)
        this.resetDataTraffic()
        this.st = 'bound'
        return { send: [encodePiu(buildPositiveResponse(piu))], events: [{ type: 'clear' }] }
      default:
        if (!this.isBound) return this.reject(piu, rh, Sense.NO_LU_LU_SESSION, `${name} received in state ${this.st}`)
        this.book.trackReceived(piu, name)
        return { send: [], events: [{ type: 'request', name, ru: piu.ru, rh, snf: piu.th.snf, expedited: piu.th.efi }] }
    }
  }

  private receiveBind (piu: Piu, rh: RequestRh): Decision<LuLuEvent> {
    if (this.opts.role !== 'secondary') return this.reject(piu, rh, Sense.FUNCTION_NOT_SUPPORTED, 'BIND received by a primary')
    const earlyRebind = this.st === 'unbinding' && this.unbindPending !== undefined && unbindAllowsEarlyRebind(this.unbindPending.type)
    if (this.st !== 'reset' && !earlyRebind) {
      return this.reject(piu, rh, Sense.FUNCTION_ACTIVE, `BIND received in state ${this.st}`)
    }
    let bind: BindImage
    try {
      bind = decodeBind(piu.ru)
    } catch (err) {
      const sense = bindDecodeSense(err) ?? bindPointerSense(0)
      return { send: [encodePiu(buildNegativeResponse(piu, sense))], events: [{ type: 'bind-rejected', sense, reason: (err as Error).message }] }
    }
    const sense = this.opts.validateBind?.(bind)
    if (sense !== undefined) {
      return { send: [encodePiu(buildNegativeResponse(piu, sense))], events: [{ type: 'bind-rejected', sense, reason: `BIND rejected by validation (sense ${sense.toString(16).padStart(8, '0').toUpperCase()})` }] }
    }
    // a BIND that overtakes our +RSP(UNBIND) (§3.7): the old session is gone; the owed response stays owed
    if (earlyRebind) { this.st = 'reset' }
    this.addr.remote = piu.th.oaf
    this.enterBound(bind, piu.ru)
    const rspRu = this.opts.bindResponse?.(bind, piu.ru) ?? (bind.negotiable ? piu.ru : Buffer.from([RequestCode.BIND]))
    return { send: [encodePiu(buildPositiveResponse(piu, rspRu))], events: [{ type: 'bind', bind, ru: piu.ru }] }
  }

  private receiveUnbind (piu: Piu, rh: RequestRh): Decision<LuLuEvent> {
    let type: number; let sense: number | undefined
    try {
      const u = decodeUnbind(piu.ru); type = u.type; sense = u.sense
    } catch (err) {
      return this.reject(piu, rh, bindPointerSense(1), (err as Error).message)
    }
    if (!this.isBound && this.st !== 'pending-unbind' && this.st !== 'pending-bind') {
      return this.reject(piu, rh, 0x80050004, `UNBIND received in state ${this.st}`)
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

  private receiveNormal (piu: Piu, rh: RequestRh): Decision<LuLuEvent> {
    const name = requestName(rh.category, rh.fi, piu.ru)
    if (this.st !== 'active') {
      const sense = this.isBound ? Sense.DATA_TRAFFIC_RESET : Sense.NO_LU_LU_SESSION
      return this.reject(piu, rh, sense, `${name} received in state ${this.st}`)
    }
    try { responseMode(rh) } catch (err) { return this.reject(piu, rh, Sense.INVALID_RESPONSE_MODE, (err as Error).message) }
    const events: LuLuEvent[] = []
    // §1: sequence numbers per direction, first request after BIND/SDT/CLEAR is SNF 1
    const expected = nextSnf(this.inb.lastSnf)
    this.inb.lastSnf = piu.th.snf // resynchronise after an error so one gap is reported once
    if (piu.th.snf !== expected) return this.reject(piu, rh, Sense.SEQUENCE_ERROR, `SNF ${piu.th.snf} received, expected ${expected}`)
    // chaining (2002)
    if (rh.bci && this.inb.inChain) { this.inb.inChain = false; return this.reject(piu, rh, Sense.CHAINING_ERROR, 'begin-chain while an inbound chain is in progress') }
    if (!rh.bci && !this.inb.inChain) return this.reject(piu, rh, Sense.CHAINING_ERROR, 'middle/last RU without a chain in progress')
    // brackets (2003)
    const bind = this.image!
    if (bind.common.brackets) {
      if (rh.bci && rh.bbi && this.inBracket) return this.reject(piu, rh, Sense.BRACKET_ERROR, 'begin-bracket received while in a bracket')
      if (rh.bci && !rh.bbi && !this.inBracket) return this.reject(piu, rh, Sense.BRACKET_ERROR, 'chain received between brackets without BB')
      const ends = (rh.bci && rh.ebi) || (rh.eci && rh.cebi)
      const theirs = this.opts.role === 'primary' ? bind.secondary : bind.primary
      if (ends && !theirs.mayEndBracket) return this.reject(piu, rh, Sense.BRACKET_ERROR, 'end-bracket from an LU the BIND does not allow to end brackets')
      if (rh.bci && rh.bbi) this.inBracket = true
      if (ends) this.endBracketAtChainEnd = true
      if (rh.eci && this.endBracketAtChainEnd) { this.inBracket = false; this.endBracketAtChainEnd = false }
    }
    this.inb.inChain = !rh.eci
    this.book.trackReceived(piu, name)
    if (rh.pi) events.push({ type: 'pacing', snf: piu.th.snf })
    if (rh.category === 'FMD') {
      events.push({ type: 'data', ru: piu.ru, rh, chain: chainPosition(rh.bci, rh.eci), definite: isDefinite(rh), snf: piu.th.snf, pacing: rh.pi })
      return { send: [], events }
    }
    // normal-flow DFC (LUSTAT, BID, RTR, SHUTD, CHASE ...): accepted positively when a definite response is asked
    events.push({ type: 'request', name, ru: piu.ru, rh, snf: piu.th.snf, expedited: false })
    return { send: isDefinite(rh) ? [respondTo(this.book, piu.th.snf, true, {})] : [], events }
  }

  private receiveResponse (piu: Piu): Decision<LuLuEvent> {
    if (isIpr(piu)) return { send: [], events: [{ type: 'ipr' }] }
    if (isIpm(piu)) {
      try { return { send: [], events: [{ type: 'ipm', ipm: decodeIpmRu(piu.ru) }] } } catch (err) { return { send: [], events: [{ type: 'protocol-error', reason: (err as Error).message, sense: 0x10010003 }] } }
    }
    const ev = matchResponse(this.book, piu)
    if (ev.type === 'protocol-error') return { send: [], events: [ev] }
    const events: LuLuEvent[] = [ev]
    if (ev.request === 'BIND' && this.st === 'pending-bind') {
      const pending = this.pendingBind!
      this.pendingBind = undefined
      if (!ev.positive) { this.toReset(); return { send: [], events: [{ type: 'bind-rejected', sense: ev.sense!, reason: 'negative response to BIND' }] } }
      let negotiated = pending.bind
      try { negotiated = decodeBindResponse(piu.ru) ?? pending.bind } catch (err) {
        // a malformed negotiated image: end the session attempt with UNBIND type 06 (§3.7)
        this.st = 'bound'
        const out = this.sendUnbind(0x06)
        return { send: out.send, events: [{ type: 'protocol-error', reason: (err as Error).message }, ...out.events] }
      }
      this.enterBound(negotiated, piu.ru.length > 1 ? piu.ru : pending.ru)
      return { send: [], events: [{ type: 'bind', bind: negotiated, ru: this.imageRu! }] }
    }
    if (ev.request === 'SDT' && this.st === 'pending-sdt') {
      if (ev.positive) { this.resetDataTraffic(); this.st = 'active'; return { send: [], events: [{ type: 'sdt' }] } }
      this.st = 'bound'
      return { send: [], events }
    }
    if (ev.request === 'CLEAR') return { send: [], events: ev.positive ? [{ type: 'clear' }] : events }
    if (ev.request === 'UNBIND') {
      if (this.st === 'pending-unbind') { this.toReset(); return { send: [], events: [{ type: 'unbind', unbindType: this.sentUnbindType, local: true }] } }
      return { send: [], events: [] } // late +RSP(UNBIND) after an early-reset type
    }
    return { send: [], events }
  }
}
