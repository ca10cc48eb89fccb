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

/** A request we sent that may still get a response (keyed by flow + SNF): its name and kind only. */
interface SentRequest { name: string, definite: boolean }
/**
 * A request we received that we still owe (or may owe) a response to, as what its response needs
 * (GA27-3136 responses): whether it asked for a definite or an exception response, the TH's ODAI,
 * EFI and addresses and the RH's category, FI, DR1, DR2 and QRI packed in `head`; the echoed
 * request code or NS header (at most 3 bytes) packed in `echo`. Not the PIU: its RU is a view of
 * the link's read and up to MAX_EXCEPTION_TRACKED exception requests wait here per session, so
 * keeping it pinned that memory and four objects per request (~200 KiB per session after a long
 * FLOOD; bench/README.md, stalled sessions).
 */
interface ReceivedRequest { name: string, head: number, echo: number }

/** Flow + SNF as one small integer: expedited flow above the 16-bit SNF. */
const EXPEDITED_KEY = 0x10000
const flowKey = (efi: boolean, snf: number): number => (efi ? EXPEDITED_KEY : 0) | snf
const MAX_EXCEPTION_TRACKED = 256
const CATEGORY_CODES: RequestRh['category'][] = ['FMD', 'NC', 'DFC', 'SC']

/** head bits: definite and exception response asked (RQD, RQE) above the TH and RH fields. */
const HEAD_DEFINITE = 1 << 24
const HEAD_EXCEPTION = 1 << 25

/** head: ODAI 1, EFI 2, FI 4, DR1 8, DR2 16, QRI 32, category << 6, OAF' << 8, DAF' << 16, RQD/RQE above. */
function packHead (th: Th, rh: RequestRh): number {
  return (th.odai ? 1 : 0) | (th.efi ? 2 : 0) | (rh.fi ? 4 : 0) | (rh.dr1 ? 8 : 0) | (rh.dr2 ? 16 : 0) | (rh.qri ? 32 : 0) |
    (CATEGORY_CODES.indexOf(rh.category) << 6) | (th.oaf << 8) | (th.daf << 16) |
    (isDefinite(rh) ? HEAD_DEFINITE : 0) | (isException(rh) ? HEAD_EXCEPTION : 0)
}

/** What a response echoes of the request's RU (GA27-3136 responses): FMD data nothing, NS its header, others the request code. */
function packEcho (rh: RequestRh, ru: Buffer): number {
  const n = Math.min(ru.length, rh.category === 'FMD' ? (rh.fi ? 3 : 0) : 1)
  let v = n << 24
  for (let i = 0; i < n; i++) v |= ru[i]! << (16 - 8 * i)
  return v
}

/** The request as the response builders take it, from what the book kept. */
function keptRequest (r: ReceivedRequest, snf: number): Piu {
  const h = r.head
  const th: Th = { mpf: 'whole', odai: (h & 1) !== 0, efi: (h & 2) !== 0, daf: (h >> 16) & 0xff, oaf: (h >> 8) & 0xff, snf }
  const rh: RequestRh = {
    rri: false, category: CATEGORY_CODES[(h >> 6) & 3]!, fi: (h & 4) !== 0, sdi: false, bci: true, eci: true,
    dr1: (h & 8) !== 0, dr2: (h & 16) !== 0, qri: (h & 32) !== 0, pi: false, lcci: false, eri: (h & HEAD_EXCEPTION) !== 0, rlwi: false,
    bbi: false, ebi: false, cdi: false, csi: false, edi: false, pdi: false, cebi: false,
  }
  const n = r.echo >>> 24
  const ru = Buffer.alloc(n)
  for (let i = 0; i < n; i++) ru[i] = (r.echo >> (16 - 8 * i)) & 0xff
  return { th, rh, ru }
}

export class RequestBook {
  readonly sent = new Map<number, SentRequest>()
  readonly received = new Map<number, ReceivedRequest>()

  /** `exceptionLimit`: how many exception-response requests each way are remembered. */
  constructor (private readonly exceptionLimit = MAX_EXCEPTION_TRACKED) {}

  trackSent (piu: Piu, name: string, mode: ResponseMode): void {
    if (mode === 'none') return
    const definite = !mode.startsWith('RQE')
    const key = flowKey(piu.th.efi, piu.th.snf)
    this.sent.delete(key)
    this.sent.set(key, { name, definite })
    if (this.sent.size > this.exceptionLimit) {
      // exception requests normally never get a response: forget the oldest one
      for (const [k, v] of this.sent) { if (!v.definite) { this.sent.delete(k); break } }
    }
  }

  trackReceived (piu: Piu, name: string): void {
    const rh = piu.rh as RequestRh
    if (!isDefinite(rh) && !isException(rh)) return
    const key = flowKey(piu.th.efi, piu.th.snf)
    this.received.delete(key)
    const head = packHead(piu.th, rh)
    // The oldest exception request is forgotten before adding (the map's table never grows past
    // the limit); with none to forget, a new exception request is the one not remembered.
    if (this.received.size >= this.exceptionLimit && !this.forgetOldestReceivedException() && (head & HEAD_DEFINITE) === 0) return
    this.received.set(key, { name, head, echo: packEcho(rh, piu.ru) })
  }

  private forgetOldestReceivedException (): boolean {
    for (const [k, v] of this.received) {
      if ((v.head & HEAD_DEFINITE) === 0) { this.received.delete(k); return true }
    }
    return false
  }

  /** The response a received request with this SNF still waits for (an exception request: only a negative one). */
  owed (snf: number, expedited: boolean): 'definite' | 'exception' | undefined {
    const r = this.received.get(flowKey(expedited, snf))
    return r === undefined ? undefined : (r.head & HEAD_EXCEPTION) !== 0 ? 'exception' : 'definite'
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
  if (result === true && (pending.head & HEAD_EXCEPTION) !== 0) throw lbError(ErrorCodes.SNA_STATE, `request SNF ${snf} (${pending.name}) asked for an exception response: a positive response is not allowed`)
  book.received.delete(key)
  const req = keptRequest(pending, snf)
  return encodePiu(result === true ? buildPositiveResponse(req, opts.ru, { pacing: opts.pacing === true }) : buildNegativeResponse(req, result))
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
