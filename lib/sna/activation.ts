// SSCP-PU and SSCP-LU half-sessions, both roles (primary = the SSCP of the host, secondary = the
// PU 2.0 / its dependent LUs). Pure: each input returns a Decision. "SNA Formats", GA27-3136
// (ACTPU X'11', ACTLU X'0D', DACTPU X'12', DACTLU X'0E'); a secondary learns the SSCP address
// from the activation request's OAF' as the IBM 3274 simulator does (snhstq/IBM3705_R5
// I327x/i3274_cc.c).
//
//   reset --ACTPU|ACTLU sent--> pending-active --+RSP--> active --DACT sent--> pending-reset --+RSP--> reset
//   reset|active --ACT received (secondary)--> active (+RSP);  active --DACT received--> reset (+RSP)
import { ErrorCodes, lbError } from '../errors.js'
import { commandRh, isDefinite, isException, requestRh, type RequestRh, type ResponseMode } from './headers.js'
import { buildNegativeResponse, buildPositiveResponse, encodePiu, type Piu } from './piu.js'
import { RequestCode, requestName } from './ru.js'
import { Sense } from './sense.js'
import {
  matchResponse, nextSnf, requestPiu, respondTo, RequestBook, stateError,
  type Addresses, type Decision, type ProtocolErrorEvent, type ResponseEvent, type Role,
} from './requests.js'

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
  /** Partner's address; a secondary learns it from the activation request's OAF' (i3274_cc.c). */
  remoteAddress: number
  /** Secondary: RU of the +RSP to an activation request (default: the request code). */
  activationResponse?: (requestRu: Buffer) => Buffer
}

/** SSCP-PU / SSCP-LU half-session. */
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

  /** The response a received request still waits for: 'definite', 'exception' (only a -RSP allowed) or none. */
  owedResponse (snf: number, expedited = false): 'definite' | 'exception' | undefined { return this.book.owed(snf, expedited) }

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
      // path errors: 8009 LU not active (SSCP-LU) / 8005 no session (SSCP-PU)
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

