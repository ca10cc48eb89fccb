// PIU = TH + RH + RU ("SNA Formats", GA27-3136, TH: FID2 PIUs are never blocked; middle/last segments carry no RH),
// plus response builders (GA27-3136 responses) and the isolated pacing response / message (GA27-3136 IPR/IPM).
import { ByteReader, checkRange, malformed } from './bytes.js'
import {
  encodeRh, encodeTh, rhAt, RH_LENGTH, thAt, TH_LENGTH,
  type RequestRh, type ResponseRh, type Rh, type Th,
} from './headers.js'

export interface Piu {
  th: Th
  /** Absent exactly for middle/last segments (GA27-3136 TH). */
  rh?: Rh
  ru: Buffer
}

export function encodePiu (piu: { th: Th, rh?: Rh | undefined, ru?: Buffer | undefined }): Buffer {
  const segmentOnly = piu.th.mpf === 'middle' || piu.th.mpf === 'last'
  if (segmentOnly && piu.rh !== undefined) throw malformed('PIU RH', TH_LENGTH, `an MPF=${piu.th.mpf} segment carries no RH (GA27-3136 TH)`)
  if (!segmentOnly && piu.rh === undefined) throw malformed('PIU RH', TH_LENGTH, `an MPF=${piu.th.mpf} PIU needs an RH`)
  // One buffer, headers written in place: every PIU a half-session sends is built here.
  const rhLength = piu.rh === undefined ? 0 : RH_LENGTH
  const ruLength = piu.ru === undefined ? 0 : piu.ru.length
  const out = Buffer.allocUnsafe(TH_LENGTH + rhLength + ruLength)
  encodeTh(piu.th, out, 0)
  if (piu.rh !== undefined) encodeRh(piu.rh, out, TH_LENGTH)
  if (ruLength > 0) out.set(piu.ru!, TH_LENGTH + rhLength)
  return out
}

/**
 * The TH, RH and RU of one PIU ("SNA Formats", GA27-3136). The RU is a view of `buf`, not a copy:
 * the host link hands each PIU over in memory of its own (FrameDecoder copies it out of the read).
 */
export function decodePiu (buf: Buffer): Piu {
  if (buf.length < TH_LENGTH) throw malformed('PIU TH', 0, `needs ${TH_LENGTH} bytes, PIU has ${buf.length}`)
  // Lengths checked here, so the headers are read in place (thAt, rhAt): no view per header.
  const th = thAt(buf)
  if (th.mpf === 'middle' || th.mpf === 'last') {
    return { th, ru: buf.subarray(TH_LENGTH) }
  }
  if (buf.length < TH_LENGTH + RH_LENGTH) {
    throw malformed('PIU RH', TH_LENGTH, `needs ${RH_LENGTH} bytes, only ${buf.length - TH_LENGTH} after the TH`)
  }
  const rh = rhAt(buf, TH_LENGTH)
  return { th, rh, ru: buf.subarray(TH_LENGTH + RH_LENGTH) }
}

function asPiu (req: Buffer | Piu): Piu { return Buffer.isBuffer(req) ? decodePiu(req) : req }

function requestOf (piu: Piu, what: string): RequestRh {
  if (piu.rh === undefined) throw malformed(`${what}: request RH`, TH_LENGTH, 'segment without RH cannot be answered')
  if (piu.rh.rri) throw malformed(`${what}: request RH`, TH_LENGTH, 'is a response, not a request')
  return piu.rh
}

/** TH of a response: addresses swapped, same ODAI/EFI, SNF echoed (GA27-3136 TH, GA27-3136 responses; KB Q195170). */
export function responseTh (reqTh: Th): Th {
  return { mpf: 'whole', odai: reqTh.odai, efi: reqTh.efi, daf: reqTh.oaf, oaf: reqTh.daf, snf: reqTh.snf }
}

/**
 * The default RU of a positive response (GA27-3136 responses): SC/DFC/NC → the request code byte; NS (FMD FI=1)
 * → the 3-byte NS header; FMD data → empty.
 */
export function responseEcho (rh: RequestRh, ru: Buffer): Buffer {
  if (rh.category === 'FMD') {
    if (!rh.fi) return Buffer.alloc(0)
    if (ru.length < 3) throw malformed('NS request header', TH_LENGTH + RH_LENGTH, `needs 3 bytes, RU has ${ru.length}`)
    return Buffer.from(ru.subarray(0, 3))
  }
  if (ru.length < 1) throw malformed(`${rh.category} request code`, TH_LENGTH + RH_LENGTH, 'RU is empty')
  return Buffer.from(ru.subarray(0, 1))
}

function responseRh (req: RequestRh, negative: boolean, pacing: boolean): ResponseRh {
  // GA27-3136 responses: RH0 = request RH0 | 83 (category and FI kept, BC/EC on), SDI only on -RSP;
  // RH1 = DR1/DR2 and QRI echoed, RTI = negative; RH2 = 00.
  return {
    rri: true,
    category: req.category,
    fi: req.fi,
    sdi: negative,
    bci: true,
    eci: true,
    dr1: req.dr1,
    dr2: req.dr2,
    qri: req.qri,
    pi: pacing,
    rti: negative,
  }
}

export interface ResponseOptions {
  /** Set PI in the response (a pacing response carried in a normal response, GA27-3136 pacing). */
  pacing?: boolean
}

/** +RSP for `req`; `ru` replaces the default echo (GA27-3136 responses) when given (e.g. +RSP(ACTLU) with CVs). */
export function buildPositiveResponse (req: Buffer | Piu, ru?: Buffer, opts: ResponseOptions = {}): Piu {
  const piu = asPiu(req)
  const rh = requestOf(piu, '+RSP')
  return { th: responseTh(piu.th), rh: responseRh(rh, false, opts.pacing === true), ru: ru ?? responseEcho(rh, piu.ru) }
}

export function positiveResponse (req: Buffer | Piu, ru?: Buffer, opts: ResponseOptions = {}): Buffer {
  return encodePiu(buildPositiveResponse(req, ru, opts))
}

export function senseBytes (sense: number): Buffer {
  if (!Number.isInteger(sense) || sense < 0 || sense > 0xffffffff) throw malformed('sense data', 0, `value ${sense} is not 32-bit`)
  const b = Buffer.alloc(4)
  b.writeUInt32BE(sense, 0)
  return b
}

/**
 * -RSP for `req` (GA27-3136 responses): RU = 4-byte sense, then for SC/DFC/NC requests the request code, for NS
 * requests the NS header ([UNCONFIRMED]: no trace shows one), for FMD data nothing.
 */
export function buildNegativeResponse (req: Buffer | Piu, sense: number): Piu {
  const piu = asPiu(req)
  const rh = requestOf(piu, '-RSP')
  // a request too short to echo (e.g. an empty SC RU) is still answered: echo what there is
  const echoLen = rh.category === 'FMD' ? (rh.fi ? 3 : 0) : 1
  return { th: responseTh(piu.th), rh: responseRh(rh, true, false), ru: Buffer.concat([senseBytes(sense), Buffer.from(piu.ru.subarray(0, echoLen))]) }
}

export function negativeResponse (req: Buffer | Piu, sense: number): Buffer {
  return encodePiu(buildNegativeResponse(req, sense))
}

/** Sense of a negative response RU (first 4 bytes). */
export function responseSense (piu: Piu): number | undefined {
  if (piu.rh === undefined || !piu.rh.rri || !piu.rh.rti) return undefined
  if (piu.ru.length < 4) throw malformed('-RSP sense data', TH_LENGTH + RH_LENGTH, `needs 4 bytes, RU has ${piu.ru.length}`)
  return piu.ru.readUInt32BE(0)
}

// ---------------------------------------------------------------- IPR / IPM (GA27-3136 IPR/IPM)

export interface IprAddress { daf: number, oaf: number, odai?: boolean, snf?: number }

/** RH `83 01 00`: FMD response, BC+EC, PI, positive (GA27-3136 IPR/IPM; KB Q172484, Q263206). */
export const IPR_RH: ResponseRh = {
  rri: true, category: 'FMD', fi: false, sdi: false, bci: true, eci: true,
  dr1: false, dr2: false, qri: false, pi: true, rti: false,
}

/** Isolated pacing response: TH normal flow, SNF 0000 as observed (GA27-3136 IPR/IPM), RH 83 01 00, no RU. */
export function encodeIpr (addr: IprAddress): Buffer {
  return encodePiu({ th: { mpf: 'whole', odai: addr.odai ?? false, efi: false, daf: addr.daf, oaf: addr.oaf, snf: addr.snf ?? 0 }, rh: IPR_RH, ru: Buffer.alloc(0) })
}

function isIpmRh (rh: Rh | undefined): boolean {
  return rh !== undefined && rh.rri && rh.category === 'FMD' && !rh.fi && !rh.sdi && rh.bci && rh.eci &&
    !rh.dr1 && !rh.dr2 && !rh.qri && rh.pi && !rh.rti
}

/** True for an isolated pacing response (RH 83 01 00, empty RU). */
export function isIpr (piu: Piu): boolean { return isIpmRh(piu.rh) && piu.ru.length === 0 }

/** True for an isolated pacing message (RH 83 01 00 and a 3-byte RU). */
export function isIpm (piu: Piu): boolean { return isIpmRh(piu.rh) && piu.ru.length === 3 }

export type IpmType = 'solicited' | 'unsolicited' | 'reset-ack'
const IPM_TYPES: Array<IpmType | undefined> = ['solicited', 'unsolicited', 'reset-ack', undefined]

export interface Ipm {
  type: IpmType
  /** Reset-window indicator (byte 0 bit 2). */
  rwi: boolean
  /** Next-window size, 15 bits. */
  nws: number
}

export function encodeIpmRu (ipm: Ipm): Buffer {
  checkRange(ipm.nws, 0, 0x7fff, 'IPM next-window size')
  const b = Buffer.alloc(3)
  // GA27-3136 IPR/IPM: byte 0 bits 0-1 type, bit 2 RWI; bytes 1-2 bit 0 format (0), bits 1-15 NWS
  b[0] = (IPM_TYPES.indexOf(ipm.type) << 6) | (ipm.rwi ? 0x20 : 0)
  b.writeUInt16BE(ipm.nws, 1)
  return b
}

export function decodeIpmRu (ru: Buffer): Ipm {
  const r = new ByteReader(ru, 'IPM')
  const b0 = r.u8('type byte')
  const nwsField = r.u16('next-window size')
  if (!r.atEnd) throw malformed('IPM', 3, `RU is ${ru.length} bytes, expected 3`)
  const type = IPM_TYPES[b0 >> 6]
  if (type === undefined) throw malformed('IPM type', 0, 'type 11 is reserved')
  if ((nwsField & 0x8000) !== 0) throw malformed('IPM NWS format indicator', 1, 'must be 0')
  return { type, rwi: (b0 & 0x20) !== 0, nws: nwsField & 0x7fff }
}

export function encodeIpm (addr: IprAddress, ipm: Ipm): Buffer {
  return encodePiu({ th: { mpf: 'whole', odai: addr.odai ?? false, efi: false, daf: addr.daf, oaf: addr.oaf, snf: addr.snf ?? 0 }, rh: IPR_RH, ru: encodeIpmRu(ipm) })
}
