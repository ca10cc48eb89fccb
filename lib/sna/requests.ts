// Request/response bookkeeping shared by every half-session (SSCP-PU, SSCP-LU, LU-LU): which of our
// requests may still get a response, which received requests we still owe one, and the building of
// those responses. Pure. Rules ("SNA Formats", GA27-3136, TH and RH chapters; KB Q195170): a
// response echoes the request's flow (EFI) and SNF, so requests are keyed by flow + SNF; a
// definite-response request (RQD) always gets one; an exception-response request (RQE) gets only a
// negative one, so those are forgotten oldest first once more than MAX_EXCEPTION_TRACKED wait.
import { ErrorCodes, lbError } from '../errors.js'
import { isDefinite, isException, type RequestRh, type ResponseMode, type Th } from './headers.js'
import { buildNegativeResponse, buildPositiveResponse, encodePiu, responseSense, type Piu } from './piu.js'

export type Role = 'primary' | 'secondary'

/** What a half-session decided on one input: PIUs to send now (in order) and events to surface. */
export interface Decision<E> {
  send: Buffer[]
  events: E[]
}

export function stateError (what: string, state: string, allowed: string): never {
  throw lbError(ErrorCodes.SNA_STATE, `${what} not allowed in state ${state} (needs ${allowed})`)
}

/** Next sequence number or expedited identifier (16 bits, wrapping). */
export const nextSnf = (n: number): number => (n + 1) & 0xffff

export interface Addresses { local: number, remote: number, odai: boolean }

export function requestPiu (addr: Addresses, snf: number, efi: boolean, rh: RequestRh, ru: Buffer): Piu {
  const th: Th = { mpf: 'whole', odai: addr.odai, efi, daf: addr.remote, oaf: addr.local, snf }
  return { th, rh, ru }
}

/**
 * A request we sent that may still get a response (keyed by flow + SNF). Not the PIU: up to
 * MAX_EXCEPTION_TRACKED exception requests wait here, and holding their RUs kept every session's
 * last 256 records alive (old-space garbage on a FLOOD).
 */
interface SentRequest { name: string, definite: boolean }
/** A request we received that we still owe (or may owe) a response to. */
interface ReceivedRequest { name: string, definite: boolean, exception: boolean, piu: Piu }

/** Flow + SNF as one number (expedited above 0xFFFF): no key string per request sent or received. */
const flowKey = (efi: boolean, snf: number): number => efi ? EXPEDITED_KEY + snf : snf
const EXPEDITED_KEY = 0x10000
const MAX_EXCEPTION_TRACKED = 256
const NO_RU = Buffer.alloc(0)

export class RequestBook {
  readonly sent = new Map<number, SentRequest>()
  readonly received = new Map<number, ReceivedRequest>()

  trackSent (piu: Piu, name: string, mode: ResponseMode): void {
    if (mode === 'none') return
    const definite = !mode.startsWith('RQE')
    const key = flowKey(piu.th.efi, piu.th.snf)
    this.sent.delete(key)
    this.sent.set(key, { name, definite })
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
    // A response to FMD data echoes none of its RU (GA27-3136 responses; responseEcho): keep none,
    // or the last MAX_EXCEPTION_TRACKED records received stay alive until they are forgotten.
    const kept = rh.category === 'FMD' && !rh.fi && piu.ru.length > 0 ? { th: piu.th, rh, ru: NO_RU } : piu
    this.received.set(key, { name, definite: isDefinite(rh), exception: isException(rh), piu: kept })
    if (this.received.size > MAX_EXCEPTION_TRACKED) {
      for (const [k, v] of this.received) { if (!v.definite) { this.received.delete(k); break } }
    }
  }

  /** The response a received request with this SNF still waits for (an exception request: only a negative one). */
  owed (snf: number, expedited: boolean): 'definite' | 'exception' | undefined {
    const r = this.received.get(flowKey(expedited, snf))
    return r === undefined ? undefined : r.exception ? 'exception' : 'definite'
  }

  clearNormal (): void {
    for (const k of [...this.sent.keys()]) if (k < EXPEDITED_KEY) this.sent.delete(k)
    for (const k of [...this.received.keys()]) if (k < EXPEDITED_KEY) this.received.delete(k)
  }

  clear (): void { this.sent.clear(); this.received.clear() }
}

export interface ResponseEvent {
  type: 'response'
  /** SNF of the request this answers (echoed). */
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

export interface RespondOptions { expedited?: boolean, ru?: Buffer, pacing?: boolean }

/** Answer a pending received request: +RSP (optionally with RU) or -RSP with sense. */
export function respondTo (book: RequestBook, snf: number, result: true | number, opts: RespondOptions): Buffer {
  const key = flowKey(opts.expedited === true, snf)
  const pending = book.received.get(key)
  if (pending === undefined) throw lbError(ErrorCodes.SNA_STATE, `no received ${opts.expedited === true ? 'expedited' : 'normal-flow'} request with SNF ${snf} awaits a response`)
  if (result === true && pending.exception) throw lbError(ErrorCodes.SNA_STATE, `request SNF ${snf} (${pending.name}) asked for an exception response: a positive response is not allowed`)
  book.received.delete(key)
  return encodePiu(result === true ? buildPositiveResponse(pending.piu, opts.ru, { pacing: opts.pacing === true }) : buildNegativeResponse(pending.piu, result))
}

/** Matches a received response against what we sent; returns the event (or a protocol error). */
export function matchResponse (book: RequestBook, piu: Piu): ResponseEvent | ProtocolErrorEvent {
  const rh = piu.rh!
  const key = flowKey(piu.th.efi, piu.th.snf)
  const sent = book.sent.get(key)
  if (rh.rri && rh.rti && piu.ru.length < 4) return { type: 'protocol-error', reason: `negative response with SNF ${piu.th.snf} carries ${piu.ru.length} byte(s) of sense data (needs 4)`, snf: piu.th.snf }
  const sense = rh.rri && rh.rti ? responseSense(piu) : undefined
  if (sent === undefined) return { type: 'protocol-error', reason: `response with SNF ${piu.th.snf} matches no outstanding request`, snf: piu.th.snf }
  book.sent.delete(key)
  if (sense === undefined && !sent.definite) {
    return { type: 'protocol-error', reason: `positive response to exception-response request SNF ${piu.th.snf} (${sent.name})`, snf: piu.th.snf }
  }
  const ev: ResponseEvent = { type: 'response', snf: piu.th.snf, expedited: piu.th.efi, request: sent.name, positive: sense === undefined, ru: piu.ru, pacing: rh.pi }
  if (sense !== undefined) { ev.sense = sense; ev.ru = Buffer.from(piu.ru.subarray(4)) }
  return ev
}

/** -RSP to a received request when it asked for any response, plus the protocol-error event. */
export function rejectRequest<E> (piu: Piu, rh: RequestRh, sense: number, reason: string): Decision<E | ProtocolErrorEvent> {
  const canRespond = isDefinite(rh) || isException(rh)
  return { send: canRespond ? [encodePiu(buildNegativeResponse(piu, sense))] : [], events: [{ type: 'protocol-error', reason, sense, snf: piu.th.snf }] }
}
