// FID2 transmission header and request/response header codecs.
import { ByteReader, checkByte, malformed } from './bytes.js'

// ---------------------------------------------------------------- TH ("SNA Formats", GA27-3136, TH)

/** MPF: "SNA Formats", GA27-3136, TH, Wireshark packet-sna.c hf_sna_th_mpf 0x0C (3 whole, 2 first, 1 last, 0 middle). */
export type Mpf = 'whole' | 'first' | 'middle' | 'last'
const MPF_BITS: Record<Mpf, number> = { whole: 0x0c, first: 0x08, last: 0x04, middle: 0x00 }
const MPF_FROM_BITS: Mpf[] = ['middle', 'last', 'first', 'whole']

export interface Th {
  mpf: Mpf
  /** OAF'-DAF' assignor indicator; 0 for dependent LUs (GA27-3136 TH). */
  odai: boolean
  /** Expedited flow. */
  efi: boolean
  daf: number
  oaf: number
  snf: number
}

export const TH_LENGTH = 6

/** The TH, into `out` at `at` when given (encodePiu builds a PIU in one buffer); returns `out`. */
export function encodeTh (th: Th, out: Buffer = Buffer.alloc(TH_LENGTH), at = 0): Buffer {
  checkByte(th.daf, 'TH DAF\'')
  checkByte(th.oaf, 'TH OAF\'')
  if (!Number.isInteger(th.snf) || th.snf < 0 || th.snf > 0xffff) throw malformed('TH SNF', 4, `value ${th.snf} is not 16-bit`)
  // GA27-3136 TH: byte 0 = FID 0010 (F0) | MPF (0C) | ODAI (02) | EFI (01); byte 1 reserved; DAF' 2; OAF' 3; SNF 4-5
  out[at] = 0x20 | MPF_BITS[th.mpf] | (th.odai ? 0x02 : 0) | (th.efi ? 0x01 : 0)
  out[at + 1] = 0
  out[at + 2] = th.daf
  out[at + 3] = th.oaf
  out[at + 4] = th.snf >> 8
  out[at + 5] = th.snf & 0xff
  return out
}

export function decodeTh (buf: Buffer): Th {
  if (buf.length >= TH_LENGTH) return thAt(buf)
  const r = new ByteReader(buf, 'TH')
  const b0 = r.u8('byte 0 (FID/MPF/ODAI/EFI)')
  if ((b0 & 0xf0) !== 0x20) throw malformed('TH FID', 0, `FID ${(b0 >> 4).toString(16)} is not FID2 (byte 0 = ${b0.toString(16).padStart(2, '0')})`)
  r.u8('byte 1 (reserved)') // reserved, ignored (GA27-3136 TH)
  const daf = r.u8('DAF\'')
  const oaf = r.u8('OAF\'')
  const snf = r.u16('SNF')
  return { mpf: MPF_FROM_BITS[(b0 & 0x0c) >> 2]!, odai: (b0 & 0x02) !== 0, efi: (b0 & 0x01) !== 0, daf, oaf, snf }
}

/**
 * The TH at the start of `buf`, which holds at least TH_LENGTH bytes (the caller checked): read in
 * place, no reader object or view per PIU (every PIU on a host link comes through here).
 */
export function thAt (buf: Buffer): Th {
  const b0 = buf[0]!
  if ((b0 & 0xf0) !== 0x20) throw malformed('TH FID', 0, `FID ${(b0 >> 4).toString(16)} is not FID2 (byte 0 = ${b0.toString(16).padStart(2, '0')})`)
  return { mpf: MPF_FROM_BITS[(b0 & 0x0c) >> 2]!, odai: (b0 & 0x02) !== 0, efi: (b0 & 0x01) !== 0, daf: buf[2]!, oaf: buf[3]!, snf: (buf[4]! << 8) | buf[5]! }
}

// ---------------------------------------------------------------- RH ("SNA Formats", GA27-3136, RH)

export type RuCategory = 'FMD' | 'NC' | 'DFC' | 'SC'
const CATEGORIES: RuCategory[] = ['FMD', 'NC', 'DFC', 'SC']

interface RhCommon {
  category: RuCategory
  /** Format indicator (FMD: FM header / NS; others: formatted). */
  fi: boolean
  /** Sense data included. */
  sdi: boolean
  bci: boolean
  eci: boolean
  dr1: boolean
  dr2: boolean
  qri: boolean
  pi: boolean
}

export interface RequestRh extends RhCommon {
  rri: false
  lcci: boolean
  eri: boolean
  rlwi: boolean
  bbi: boolean
  ebi: boolean
  cdi: boolean
  csi: boolean
  edi: boolean
  pdi: boolean
  cebi: boolean
}

export interface ResponseRh extends RhCommon {
  rri: true
  /** Response type indicator: true = negative response. */
  rti: boolean
}

export type Rh = RequestRh | ResponseRh

export const RH_LENGTH = 3

/** The RH, into `out` at `at` when given; returns `out`. */
export function encodeRh (rh: Rh, out: Buffer = Buffer.alloc(RH_LENGTH), at = 0): Buffer {
  // GA27-3136 RH byte 0: RRI 80, category 60, FI 08, SDI 04, BCI 02, ECI 01
  out[at] = (rh.rri ? 0x80 : 0) | (CATEGORIES.indexOf(rh.category) << 5) | (rh.fi ? 0x08 : 0) |
    (rh.sdi ? 0x04 : 0) | (rh.bci ? 0x02 : 0) | (rh.eci ? 0x01 : 0)
  // GA27-3136 RH byte 1: DR1 80, LCCI 40 (req), DR2 20, ERI/RTI 10, RLWI 04 (req), QRI 02, PI 01
  const b1 = (rh.dr1 ? 0x80 : 0) | (rh.dr2 ? 0x20 : 0) | (rh.qri ? 0x02 : 0) | (rh.pi ? 0x01 : 0)
  if (rh.rri) {
    out[at + 1] = b1 | (rh.rti ? 0x10 : 0)
    out[at + 2] = 0 // response byte 2 reserved (GA27-3136 RH)
  } else {
    out[at + 1] = b1 | (rh.lcci ? 0x40 : 0) | (rh.eri ? 0x10 : 0) | (rh.rlwi ? 0x04 : 0)
    // GA27-3136 RH byte 2: BBI 80, EBI 40, CDI 20, CSI 08, EDI 04, PDI 02, CEBI 01
    out[at + 2] = (rh.bbi ? 0x80 : 0) | (rh.ebi ? 0x40 : 0) | (rh.cdi ? 0x20 : 0) | (rh.csi ? 0x08 : 0) |
      (rh.edi ? 0x04 : 0) | (rh.pdi ? 0x02 : 0) | (rh.cebi ? 0x01 : 0)
  }
  return out
}

/** Decodes 3 RH bytes (reserved bits are ignored). `base` = offset of the RH in the PIU. */
export function decodeRh (buf: Buffer, base = 0): Rh {
  if (buf.length >= RH_LENGTH) return rhAt(buf, 0)
  const r = new ByteReader(buf, 'RH', base)
  r.u8('byte 0')
  r.u8('byte 1')
  r.u8('byte 2')
  return rhAt(buf, 0)
}

/** The RH at `at` in `buf`, which holds its 3 bytes (the caller checked): read in place. */
export function rhAt (buf: Buffer, at: number): Rh {
  const b0 = buf[at]!
  const b1 = buf[at + 1]!
  const b2 = buf[at + 2]!
  // One object literal per branch: spreading a shared part and adding fields is a slow path in
  // V8 11 (bench/README.md: 17 µs per RH), and every PIU on a host link comes through here.
  const category = CATEGORIES[(b0 & 0x60) >> 5]!
  if ((b0 & 0x80) !== 0) {
    return {
      category,
      fi: (b0 & 0x08) !== 0,
      sdi: (b0 & 0x04) !== 0,
      bci: (b0 & 0x02) !== 0,
      eci: (b0 & 0x01) !== 0,
      dr1: (b1 & 0x80) !== 0,
      dr2: (b1 & 0x20) !== 0,
      qri: (b1 & 0x02) !== 0,
      pi: (b1 & 0x01) !== 0,
      rri: true,
      rti: (b1 & 0x10) !== 0,
    }
  }
  return {
    category,
    fi: (b0 & 0x08) !== 0,
    sdi: (b0 & 0x04) !== 0,
    bci: (b0 & 0x02) !== 0,
    eci: (b0 & 0x01) !== 0,
    dr1: (b1 & 0x80) !== 0,
    dr2: (b1 & 0x20) !== 0,
    qri: (b1 & 0x02) !== 0,
    pi: (b1 & 0x01) !== 0,
    rri: false,
    lcci: (b1 & 0x40) !== 0,
    eri: (b1 & 0x10) !== 0,
    rlwi: (b1 & 0x04) !== 0,
    bbi: (b2 & 0x80) !== 0,
    ebi: (b2 & 0x40) !== 0,
    cdi: (b2 & 0x20) !== 0,
    csi: (b2 & 0x08) !== 0,
    edi: (b2 & 0x04) !== 0,
    pdi: (b2 & 0x02) !== 0,
    cebi: (b2 & 0x01) !== 0,
  }
}

// ---------------------------------------------------------------- response modes (GA27-3136 RH response modes)

export type ResponseMode = 'none' | 'RQD1' | 'RQD2' | 'RQD3' | 'RQE1' | 'RQE2' | 'RQE3'

/** "SNA Formats", GA27-3136, RH response modes (Linux-SNA SNA_DFC_RQD1/RQE1/...): DR1, DR2, ERI. */
const MODE_BITS: Record<ResponseMode, { dr1: boolean, dr2: boolean, eri: boolean }> = {
  none: { dr1: false, dr2: false, eri: false },
  RQD1: { dr1: true, dr2: false, eri: false },
  RQD2: { dr1: false, dr2: true, eri: false },
  RQD3: { dr1: true, dr2: true, eri: false },
  RQE1: { dr1: true, dr2: false, eri: true },
  RQE2: { dr1: false, dr2: true, eri: true },
  RQE3: { dr1: true, dr2: true, eri: true },
}

export function responseModeBits (mode: ResponseMode): { dr1: boolean, dr2: boolean, eri: boolean } {
  return { ...MODE_BITS[mode] }
}

/** Modes by DR1 (1) | DR2 (2), without and with ERI (the same table as MODE_BITS). */
const DEFINITE_MODES: readonly ResponseMode[] = ['none', 'RQD1', 'RQD2', 'RQD3']
const EXCEPTION_MODES: readonly ResponseMode[] = ['none', 'RQE1', 'RQE2', 'RQE3']

/** Response mode of a request RH; ERI without DR1/DR2 is not a valid mode (throws). */
export function responseMode (rh: RequestRh): ResponseMode {
  // Looked up by bits, not by searching MODE_BITS: every received request is checked here.
  const dr = (rh.dr1 ? 1 : 0) | (rh.dr2 ? 2 : 0)
  if (dr === 0 && rh.eri) throw malformed('RH response mode', 1, 'ERI set without DR1 or DR2')
  return (rh.eri ? EXCEPTION_MODES : DEFINITE_MODES)[dr]!
}

export function isDefinite (rh: RequestRh): boolean { return (rh.dr1 || rh.dr2) && !rh.eri }
export function isException (rh: RequestRh): boolean { return (rh.dr1 || rh.dr2) && rh.eri }

export type RequestRhInit = Partial<Omit<RequestRh, 'rri' | 'dr1' | 'dr2' | 'eri'>> & { mode?: ResponseMode }

/** Builds a request RH: defaults to FMD, BC+EC (only in chain), RQD1, everything else off. */
export function requestRh (init: RequestRhInit = {}): RequestRh {
  const mode = MODE_BITS[init.mode ?? 'RQD1']
  // One object literal, no rest/spread of defaults (V8's slow path, as in decodeRh): every
  // request a half-session sends is built here.
  return {
    rri: false,
    category: init.category ?? 'FMD',
    fi: init.fi ?? false,
    sdi: init.sdi ?? false,
    bci: init.bci ?? true,
    eci: init.eci ?? true,
    lcci: init.lcci ?? false,
    rlwi: init.rlwi ?? false,
    qri: init.qri ?? false,
    pi: init.pi ?? false,
    bbi: init.bbi ?? false,
    ebi: init.ebi ?? false,
    cdi: init.cdi ?? false,
    csi: init.csi ?? false,
    edi: init.edi ?? false,
    pdi: init.pdi ?? false,
    cebi: init.cebi ?? false,
    dr1: mode.dr1,
    dr2: mode.dr2,
    eri: mode.eri,
  }
}

/** RH of an SC/DFC/NC command request: formatted (FI=1), BC+EC, RQD1 by default (GA27-3136 SDT/CLEAR `6B 80 00`). */
export function commandRh (category: RuCategory, init: RequestRhInit = {}): RequestRh {
  return requestRh({ category, fi: true, ...init })
}
