// BIND (X'31') codec: full layout of "SNA Formats", GA27-3136, BIND for LU type 2 and LU 6.2, offsets with X'31' = byte 0.
import { ByteReader, checkByte, checkRange, lenPrefix, malformed, SnaMalformedError } from './bytes.js'
import { decodeControlVectors, encodeControlVectors, RequestCode, type ControlVector } from './ru.js'
import { Sense } from './sense.js'

/** GA27-3136 BIND bytes 4/5 bits 2-3: 00 none, 01 exception, 10 definite, 11 either. */
export type ChainResponseProtocol = 'none' | 'exception' | 'definite' | 'either'
const CHAIN_RSP: ChainResponseProtocol[] = ['none', 'exception', 'definite', 'either']

/** GA27-3136 BIND bytes 4 (primary) and 5 (secondary): LU protocols for FM data. */
export interface LuProtocols {
  /** bit 0: multiple-RU chains allowed. */
  multiRuChains: boolean
  /** bit 1: delayed request mode. */
  delayedRequestMode: boolean
  /** bits 2-3. */
  chainResponse: ChainResponseProtocol
  /** bit 4: two-phase commit. */
  twoPhaseCommit: boolean
  /** bit 6: compression. */
  compression: boolean
  /** bit 7: this LU may send EB. */
  mayEndBracket: boolean
}

/** GA27-3136 BIND byte 7 bits 0-1. */
export type SendReceiveMode = 'FDX' | 'HDX-contention' | 'HDX-FF'
const SR_MODES: SendReceiveMode[] = ['FDX', 'HDX-contention', 'HDX-FF']

export interface BindPacing {
  /** Byte 8 bit 0 (HP: 0 = one-stage for secondary→primary, GA27-3136 BIND). */
  secondarySendTwoStage: boolean
  /** Byte 8 bits 2-7: SLU→PLU window. */
  secondarySendWindow: number
  /** Byte 9 bit 0: adaptive session-level pacing supported. */
  adaptive: boolean
  /** Byte 9 bits 2-7: PLU→SLU window as seen by the secondary. */
  secondaryReceiveWindow: number
  /** Byte 12 bit 0 (HP: 1 = one-stage — inverted polarity vs byte 8). */
  primarySendOneStage: boolean
  /** Byte 12 bits 2-7: PLU→SLU window. */
  primarySendWindow: number
  /** Byte 13 bits 2-7: SLU→PLU window as seen by the primary. */
  primaryReceiveWindow: number
}

/** LU type 2 presentation-space characteristics, bytes 15-25 (GA27-3136 BIND). */
export interface Lu2Ps {
  kind: 'lu2'
  /** Byte 15 (X'80' in most LU2 logmodes: extended data stream, query the device). */
  flags: number
  /** Bytes 16-19 (zero in all observed BINDs). */
  reserved: Buffer
  rows: number
  cols: number
  altRows: number
  altCols: number
  /** Byte 24: 00 undefined, 01 12x40, 02 24x80, 03 query, 7E default, 7F default/alternate. */
  screenSizeCode: number
  /** Byte 25 bits 6-7: 00 none, 01 bid, 11 required. */
  compression: number
}

/** LU 6.2 fields, bytes 15-25 (GA27-3136 BIND). */
export interface Lu62Ps {
  kind: 'lu62'
  /** Bytes 16-21 (reserved). */
  reserved: Buffer
  /** Byte 22 bit 0 / bit 1 [UNCONFIRMED]. */
  extendedSecurity: boolean
  extendedSecuritySense: boolean
  /** Byte 23 bits 3-7. */
  accessSecurityAccepted: boolean
  luLuVerification: boolean
  passwordSubstitution: boolean
  alreadyVerifiedAccepted: boolean
  persistentVerification: boolean
  /** Byte 24 bits 1-2: 0 none, 1 confirm, 2/3 confirm+syncpt [UNCONFIRMED]. */
  syncLevel: number
  /** Byte 24 bits 4-5. */
  reinitiation: number
  /** Byte 24 bit 6. */
  parallelSessions: boolean
  /** Byte 24 bit 7. */
  cnosSupported: boolean
  /** Byte 25 bit 1. */
  limitedResource: boolean
  /** Byte 25 bits 6-7. */
  lccCompression: number
}

/** Bytes 15-25 of other LU types, kept verbatim (11 bytes). */
export interface RawPs { kind: 'raw', bytes: Buffer }

export type PsCharacteristics = Lu2Ps | Lu62Ps | RawPs

export interface UserDataSubfield { key: number, data: Buffer }

/** LU 6.2 structured user data keys (GA27-3136 BIND). */
export const UserDataKey = {
  MODE_NAME: 0x02,
  SESSION_INSTANCE_ID: 0x03,
  PLU_NETWORK_NAME: 0x04,
  SLU_NETWORK_NAME: 0x05,
  RANDOM_DATA: 0x11,
  ENCIPHERED_RANDOM_DATA: 0x12,
  NONCE: 0x13,
  SECURITY_MECHANISM: 0x14,
} as const

/** User data: raw (LU2) or LU 6.2 structured (first byte X'00', then `len key data` subfields). */
export type BindUserData = { kind: 'raw', bytes: Buffer } | { kind: 'structured', subfields: UserDataSubfield[] }

export interface BindImage {
  /** Byte 1 bits 4-7: 0 negotiable, 1 non-negotiable. */
  negotiable: boolean
  fmProfile: number
  tsProfile: number
  primary: LuProtocols
  secondary: LuProtocols
  /** Byte 6. */
  common: {
    /** bit 0 (Linux-SNA "whole BIU required") [UNCONFIRMED]. */
    wholeBiuRequired: boolean
    fmHeaders: boolean
    brackets: boolean
    /** bit 3: 1 = rule 1 (conditional), 0 = rule 2. */
    bracketTerminationRule1: boolean
    alternateCodeSet: boolean
    sequenceNumbersAvailable: boolean
    bisSent: boolean
    bindQueuing: boolean
  }
  /** Byte 7 bits 0-1. */
  sendReceiveMode: SendReceiveMode
  /** Byte 7 bit 2: 0 contention loser responsible, 1 symmetric. */
  symmetricRecovery: boolean
  /** Byte 7 bit 3: 0 secondary is contention winner, 1 primary. */
  primaryContentionWinner: boolean
  /** Byte 7 bits 4-5. */
  alternateCodeProcessingId: number
  /** Byte 7 bit 7: HDX-FF reset state (1 = primary sends first / wins). */
  primarySendsFirst: boolean
  pacing: BindPacing
  /** Bytes 10/11 decoded sizes (0 = no maximum). */
  maxSecondarySendRu: number
  maxPrimarySendRu: number
  /** Byte 14 bit 0 (0 = basic PS usage format). */
  psUsageNonBasic: boolean
  /** Byte 14 bits 1-7. */
  luType: number
  ps: PsCharacteristics
  /** Byte 26. */
  cryptography: number
  pluName: Buffer
  /** Absent when the RU ends after the PLU name (KB Q157444). */
  userData?: BindUserData
  urc?: Buffer
  sluName?: Buffer
  /** Present iff byte 7 bit 6 is set (GA27-3136 BIND). */
  controlVectors?: ControlVector[]
}

// ---------------------------------------------------------------- RU size (GA27-3136 BIND bytes 10/11)

/** `X'ab'` = a × 2^b with a in 8..F; X'00' = no maximum (X3270 maxru). */
export function decodeRuSize (byte: number, offset = 0): number {
  if (byte === 0) return 0
  if ((byte & 0x80) === 0) throw malformed('BIND max RU size', offset, `X'${byte.toString(16).padStart(2, '0').toUpperCase()}' has mantissa < 8`)
  return (byte >> 4) * (1 << (byte & 0x0f))
}

/** Encoder (Linux-SNA sna_sm_bind_ru_fold): halve until ≤ 15, rounding down; 0 = no maximum. */
export function encodeRuSize (size: number): number {
  if (!Number.isInteger(size) || size < 0) throw malformed('BIND max RU size', 0, `value ${size} is not a non-negative integer`)
  if (size === 0) return 0
  if (size < 8) throw malformed('BIND max RU size', 0, `value ${size} is below the smallest encodable size 8`)
  let m = size; let e = 0
  while (m > 15) { m = Math.floor(m / 2); e++ }
  if (e > 15) return 0xff // clamp: largest encodable size 15 × 2^15
  return (m << 4) | e
}

// ---------------------------------------------------------------- helpers

function protocolsByte (p: LuProtocols): number {
  // GA27-3136 BIND bytes 4/5: bit0 chaining 80, bit1 request mode 40, bits2-3 chain response 30, bit4 2PC 08, bit6 compression 02, bit7 EB 01
  return (p.multiRuChains ? 0x80 : 0) | (p.delayedRequestMode ? 0x40 : 0) | (CHAIN_RSP.indexOf(p.chainResponse) << 4) |
    (p.twoPhaseCommit ? 0x08 : 0) | (p.compression ? 0x02 : 0) | (p.mayEndBracket ? 0x01 : 0)
}

function decodeProtocols (b: number): LuProtocols {
  return {
    multiRuChains: (b & 0x80) !== 0,
    delayedRequestMode: (b & 0x40) !== 0,
    chainResponse: CHAIN_RSP[(b >> 4) & 3]!,
    twoPhaseCommit: (b & 0x08) !== 0,
    compression: (b & 0x02) !== 0,
    mayEndBracket: (b & 0x01) !== 0,
  }
}

function windowBits (w: number, field: string): number { checkRange(w, 0, 63, field); return w }

function decodeUserData (raw: Buffer, luType: number, offset: number): BindUserData {
  if (luType !== 6 || raw.length === 0 || raw[0] !== 0x00) return { kind: 'raw', bytes: raw }
  // GA27-3136 BIND LU 6.2 structured user data: X'00', then `len key data` with len counting key + data (KB Q185503, Q194324)
  const r = new ByteReader(raw, 'BIND user data', offset)
  r.u8('format byte')
  const subfields: UserDataSubfield[] = []
  while (!r.atEnd) {
    const at = r.offset
    const len = r.u8('subfield length')
    if (len < 1) throw malformed('BIND user data subfield length', at, 'is 0 (needs at least the key byte)')
    const key = r.u8('subfield key')
    subfields.push({ key, data: r.bytes(len - 1, `subfield X'${key.toString(16).padStart(2, '0').toUpperCase()}'`) })
  }
  return { kind: 'structured', subfields }
}

function encodeUserData (u: BindUserData): Buffer {
  if (u.kind === 'raw') return u.bytes
  return Buffer.concat([Buffer.from([0x00]), ...u.subfields.map((s) => {
    checkByte(s.key, 'BIND user data key')
    if (s.data.length > 254) throw malformed('BIND user data subfield', 0, `X'${s.key.toString(16)}' is ${s.data.length} bytes (max 254)`)
    return Buffer.concat([Buffer.from([s.data.length + 1, s.key]), s.data])
  })])
}

/** Data of the first structured user-data subfield with `key`, if any. */
export function bindUserDataField (bind: BindImage, key: number): Buffer | undefined {
  if (bind.userData?.kind !== 'structured') return undefined
  return bind.userData.subfields.find((s) => s.key === key)?.data
}

// ---------------------------------------------------------------- encode / decode

export function encodeBind (b: BindImage): Buffer {
  checkByte(b.fmProfile, 'BIND FM profile'); checkByte(b.tsProfile, 'BIND TS profile'); checkRange(b.luType, 0, 127, 'BIND LU type')
  checkRange(b.alternateCodeProcessingId, 0, 3, 'BIND alternate code processing id'); checkByte(b.cryptography, 'BIND cryptography')
  const h = Buffer.alloc(27)
  h[0] = RequestCode.BIND
  h[1] = b.negotiable ? 0x00 : 0x01 // GA27-3136 BIND byte 1: format 0000, type 0 negotiable / 1 non-negotiable
  h[2] = b.fmProfile
  h[3] = b.tsProfile
  h[4] = protocolsByte(b.primary)
  h[5] = protocolsByte(b.secondary)
  const c = b.common // GA27-3136 BIND byte 6
  h[6] = (c.wholeBiuRequired ? 0x80 : 0) | (c.fmHeaders ? 0x40 : 0) | (c.brackets ? 0x20 : 0) | (c.bracketTerminationRule1 ? 0x10 : 0) |
    (c.alternateCodeSet ? 0x08 : 0) | (c.sequenceNumbersAvailable ? 0x04 : 0) | (c.bisSent ? 0x02 : 0) | (c.bindQueuing ? 0x01 : 0)
  // GA27-3136 BIND byte 7: bits0-1 send/receive mode, bit2 recovery, bit3 contention winner, bits4-5 alt code, bit6 CVs, bit7 HDX-FF reset state
  h[7] = (SR_MODES.indexOf(b.sendReceiveMode) << 6) | (b.symmetricRecovery ? 0x20 : 0) | (b.primaryContentionWinner ? 0x10 : 0) |
    (b.alternateCodeProcessingId << 2) | (b.controlVectors !== undefined ? 0x02 : 0) | (b.primarySendsFirst ? 0x01 : 0)
  const p = b.pacing // GA27-3136 BIND bytes 8, 9, 12, 13: staging/adaptive bit 0, window bits 2-7
  h[8] = (p.secondarySendTwoStage ? 0x80 : 0) | windowBits(p.secondarySendWindow, 'BIND secondary send window')
  h[9] = (p.adaptive ? 0x80 : 0) | windowBits(p.secondaryReceiveWindow, 'BIND secondary receive window')
  h[10] = encodeRuSize(b.maxSecondarySendRu)
  h[11] = encodeRuSize(b.maxPrimarySendRu)
  h[12] = (p.primarySendOneStage ? 0x80 : 0) | windowBits(p.primarySendWindow, 'BIND primary send window')
  h[13] = windowBits(p.primaryReceiveWindow, 'BIND primary receive window')
  h[14] = (b.psUsageNonBasic ? 0x80 : 0) | b.luType // GA27-3136 BIND byte 14: format bit 0, LU type bits 1-7
  encodePs(b.ps, h)
  h[26] = b.cryptography
  const parts = [h, lenPrefix(b.pluName, 'BIND PLU name')]
  // GA27-3136 BIND: PLU name → user data → URC → SLU name → CVs; a later field forces earlier ones (length 0)
  const hasCv = b.controlVectors !== undefined
  const hasSlu = hasCv || b.sluName !== undefined
  const hasUrc = hasSlu || b.urc !== undefined
  const hasUser = hasUrc || b.userData !== undefined
  if (hasUser) parts.push(lenPrefix(b.userData === undefined ? Buffer.alloc(0) : encodeUserData(b.userData), 'BIND user data'))
  if (hasUrc) parts.push(lenPrefix(b.urc ?? Buffer.alloc(0), 'BIND URC'))
  if (hasSlu) parts.push(lenPrefix(b.sluName ?? Buffer.alloc(0), 'BIND SLU name'))
  if (hasCv) parts.push(encodeControlVectors(b.controlVectors!))
  return Buffer.concat(parts)
}

function encodePs (ps: PsCharacteristics, h: Buffer): void {
  if (ps.kind === 'raw') {
    if (ps.bytes.length !== 11) throw malformed('BIND PS characteristics', 15, `raw bytes 15-25 must be 11 bytes, got ${ps.bytes.length}`)
    ps.bytes.copy(h, 15)
    return
  }
  if (ps.kind === 'lu2') {
    // GA27-3136 BIND LU type 2: 15 flags, 16-19 reserved, 20/21 rows/cols, 22/23 alternate, 24 screen-size code, 25 bits 6-7 compression
    checkByte(ps.flags, 'BIND LU2 byte 15')
    if (ps.reserved.length !== 4) throw malformed('BIND LU2 bytes 16-19', 16, `must be 4 bytes, got ${ps.reserved.length}`)
    for (const [v, n] of [[ps.rows, 'rows'], [ps.cols, 'cols'], [ps.altRows, 'alternate rows'], [ps.altCols, 'alternate cols'], [ps.screenSizeCode, 'screen size code']] as Array<[number, string]>) checkByte(v, `BIND LU2 ${n}`)
    checkRange(ps.compression, 0, 3, 'BIND LU2 compression')
    h[15] = ps.flags
    ps.reserved.copy(h, 16)
    h[20] = ps.rows; h[21] = ps.cols; h[22] = ps.altRows; h[23] = ps.altCols; h[24] = ps.screenSizeCode
    h[25] = ps.compression
    return
  }
  // GA27-3136 BIND LU 6.2: 15 = X'02' level, 16-21 reserved, 22 security flags, 23 acceptance, 24 sync/parallel/CNOS, 25 limited resource/LCC
  if (ps.reserved.length !== 6) throw malformed('BIND LU 6.2 bytes 16-21', 16, `must be 6 bytes, got ${ps.reserved.length}`)
  checkRange(ps.syncLevel, 0, 3, 'BIND sync level'); checkRange(ps.reinitiation, 0, 3, 'BIND reinitiation'); checkRange(ps.lccCompression, 0, 3, 'BIND LCC compression')
  h[15] = 0x02
  ps.reserved.copy(h, 16)
  h[22] = (ps.extendedSecurity ? 0x80 : 0) | (ps.extendedSecuritySense ? 0x40 : 0)
  h[23] = (ps.accessSecurityAccepted ? 0x10 : 0) | (ps.luLuVerification ? 0x08 : 0) | (ps.passwordSubstitution ? 0x04 : 0) |
    (ps.alreadyVerifiedAccepted ? 0x02 : 0) | (ps.persistentVerification ? 0x01 : 0)
  h[24] = (ps.syncLevel << 5) | (ps.reinitiation << 2) | (ps.parallelSessions ? 0x02 : 0) | (ps.cnosSupported ? 0x01 : 0)
  h[25] = (ps.limitedResource ? 0x40 : 0) | ps.lccCompression
}

function decodePs (r: ByteReader, luType: number): PsCharacteristics {
  const bytes = r.bytes(11, 'PS characteristics (bytes 15-25)')
  if (luType === 2) {
    return { kind: 'lu2', flags: bytes[0]!, reserved: Buffer.from(bytes.subarray(1, 5)), rows: bytes[5]!, cols: bytes[6]!, altRows: bytes[7]!, altCols: bytes[8]!, screenSizeCode: bytes[9]!, compression: bytes[10]! & 0x03 }
  }
  if (luType === 6 && bytes[0] === 0x02) {
    const b22 = bytes[7]!; const b23 = bytes[8]!; const b24 = bytes[9]!; const b25 = bytes[10]!
    return {
      kind: 'lu62',
      reserved: Buffer.from(bytes.subarray(1, 7)),
      extendedSecurity: (b22 & 0x80) !== 0,
      extendedSecuritySense: (b22 & 0x40) !== 0,
      accessSecurityAccepted: (b23 & 0x10) !== 0,
      luLuVerification: (b23 & 0x08) !== 0,
      passwordSubstitution: (b23 & 0x04) !== 0,
      alreadyVerifiedAccepted: (b23 & 0x02) !== 0,
      persistentVerification: (b23 & 0x01) !== 0,
      syncLevel: (b24 >> 5) & 3,
      reinitiation: (b24 >> 2) & 3,
      parallelSessions: (b24 & 0x02) !== 0,
      cnosSupported: (b24 & 0x01) !== 0,
      limitedResource: (b25 & 0x40) !== 0,
      lccCompression: b25 & 0x03,
    }
  }
  return { kind: 'raw', bytes }
}

/** Decodes a BIND RU; errors are SnaMalformedError whose `offset` is the BIND offset of the bad field. */
export function decodeBind (ru: Buffer): BindImage { return decodeBindParts(ru).image }

/** The image, and where its per-LU tail (URC, SLU name, control vectors) starts in the RU. */
function decodeBindParts (ru: Buffer): { image: BindImage, tailAt: number } {
  const r = new ByteReader(ru, 'BIND')
  const code = r.u8('request code')
  if (code !== RequestCode.BIND) throw malformed('BIND request code', 0, `is X'${code.toString(16).padStart(2, '0').toUpperCase()}', expected X'31'`)
  const b1 = r.u8('format/type')
  if ((b1 & 0xf0) !== 0 || (b1 & 0x0f) > 1) throw malformed('BIND format/type', 1, `X'${b1.toString(16).padStart(2, '0').toUpperCase()}' is not format 0 type 0/1`)
  const fmProfile = r.u8('FM profile')
  const tsProfile = r.u8('TS profile')
  const primary = decodeProtocols(r.u8('primary LU protocols'))
  const secondary = decodeProtocols(r.u8('secondary LU protocols'))
  const b6 = r.u8('common LU protocols')
  const b7 = r.u8('common LU protocols (2)')
  if ((b7 >> 6) === 3) throw malformed('BIND send/receive mode', 7, 'bits 0-1 = 11 is reserved')
  const b8 = r.u8('secondary send pacing'); const b9 = r.u8('secondary receive pacing')
  const b10 = r.u8('max secondary RU size'); const b11 = r.u8('max primary RU size')
  const b12 = r.u8('primary send pacing'); const b13 = r.u8('primary receive pacing')
  const maxSecondarySendRu = decodeRuSize(b10, 10)
  const maxPrimarySendRu = decodeRuSize(b11, 11)
  const b14 = r.u8('PS usage / LU type')
  const luType = b14 & 0x7f
  const ps = decodePs(r, luType)
  const cryptography = r.u8('cryptography options')
  const pluName = r.lenPrefixed('PLU name')
  const bind: BindImage = {
    negotiable: (b1 & 0x0f) === 0,
    fmProfile,
    tsProfile,
    primary,
    secondary,
    common: {
      wholeBiuRequired: (b6 & 0x80) !== 0,
      fmHeaders: (b6 & 0x40) !== 0,
      brackets: (b6 & 0x20) !== 0,
      bracketTerminationRule1: (b6 & 0x10) !== 0,
      alternateCodeSet: (b6 & 0x08) !== 0,
      sequenceNumbersAvailable: (b6 & 0x04) !== 0,
      bisSent: (b6 & 0x02) !== 0,
      bindQueuing: (b6 & 0x01) !== 0,
    },
    sendReceiveMode: SR_MODES[b7 >> 6]!,
    symmetricRecovery: (b7 & 0x20) !== 0,
    primaryContentionWinner: (b7 & 0x10) !== 0,
    alternateCodeProcessingId: (b7 >> 2) & 3,
    primarySendsFirst: (b7 & 0x01) !== 0,
    pacing: {
      secondarySendTwoStage: (b8 & 0x80) !== 0,
      secondarySendWindow: b8 & 0x3f,
      adaptive: (b9 & 0x80) !== 0,
      secondaryReceiveWindow: b9 & 0x3f,
      primarySendOneStage: (b12 & 0x80) !== 0,
      primarySendWindow: b12 & 0x3f,
      primaryReceiveWindow: b13 & 0x3f,
    },
    maxSecondarySendRu,
    maxPrimarySendRu,
    psUsageNonBasic: (b14 & 0x80) !== 0,
    luType,
    ps,
    cryptography,
    pluName,
  }
  if (!r.atEnd) {
    const at = r.offset + 1
    bind.userData = decodeUserData(r.lenPrefixed('user data'), luType, at)
  }
  const tailAt = r.offset
  if (!r.atEnd) bind.urc = r.lenPrefixed('URC')
  if (!r.atEnd) bind.sluName = r.lenPrefixed('SLU name')
  if ((b7 & 0x02) !== 0) bind.controlVectors = decodeControlVectors(r, 'BIND')
  else if (!r.atEnd) throw malformed('BIND', r.offset, `${r.remaining} byte(s) after the SLU name but byte 7 bit 6 (control vectors) is off`)
  return { image: bind, tailAt }
}

/**
 * BIND images share what one logmode's BINDs have in common: a host sends the same BIND, but for
 * the secondary LU's name (and URC), to thousands of LUs ("SNA Formats", GA27-3136, BIND), and
 * each idle session kept its own decoded copy of the protocols, pacing, PS and user data
 * (docs/internals.md, gateway memory). Shared parts come from the first BIND seen with the same
 * bytes up to the URC, decoded from the cache's own copy of them (so no read buffer is pinned).
 * Everything shared is frozen (Buffers excepted), so sharing cannot leak one session's change
 * into another; a BIND with a URC or SLU name gets its own top-level object over the shared parts.
 */
const SHARED_BIND_LIMIT = 64
const bindTemplates = new Map<string, Readonly<BindImage>>()

/**
 * decodeBind, with the parts common to the logmode shared between sessions; errors as decodeBind's.
 * The image's URC and SLU name are views of `ru`: pass bytes that are kept as long as the image.
 */
export function decodeSharedBind (ru: Buffer): Readonly<BindImage> {
  const { image, tailAt } = decodeBindParts(ru)
  const key = ru.toString('latin1', 0, tailAt)
  let template = bindTemplates.get(key)
  if (template === undefined) {
    const copy = Buffer.allocUnsafeSlow(tailAt)
    ru.copy(copy, 0, 0, tailAt)
    template = deepFreeze(decodeBindParts(copy).image)
    // Oldest out first (Map keeps insertion order): a bound, not an LRU; a miss costs one decode.
    if (bindTemplates.size >= SHARED_BIND_LIMIT) bindTemplates.delete(bindTemplates.keys().next().value!)
    bindTemplates.set(key, template)
  }
  if (tailAt === ru.length) return template
  const own: BindImage = { ...image, primary: template.primary, secondary: template.secondary, common: template.common, pacing: template.pacing, ps: template.ps, pluName: template.pluName }
  if (template.userData !== undefined) own.userData = template.userData
  // The session's URC and SLU name as views of `ru` (the half-session passes the exact-size copy
  // it keeps), not the reader's copies: a small copy comes from Node's 8 KiB buffer pool and
  // would pin its slab for the session's life.
  const urcAt = tailAt + 1
  if (own.urc !== undefined) own.urc = ru.subarray(urcAt, urcAt + own.urc.length)
  const sluAt = urcAt + (own.urc?.length ?? 0) + 1
  if (own.sluName !== undefined) own.sluName = ru.subarray(sluAt, sluAt + own.sluName.length)
  // Not frozen itself: this object is the session's own, and V8 gives a frozen copy of a spread
  // object a map of its own (hundreds of bytes per session); what it shares is frozen.
  return own
}

function deepFreeze<T> (value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value
  for (const v of Object.values(value)) deepFreeze(v)
  return Object.freeze(value)
}

/** +RSP(BIND) RU: just X'31' (non-negotiable acceptance) or the full (possibly negotiated) image (GA27-3136 BIND). */
export function decodeBindResponse (ru: Buffer): BindImage | undefined {
  if (ru.length === 1 && ru[0] === RequestCode.BIND) return undefined
  return decodeBind(ru)
}

// ---------------------------------------------------------------- LU2 validation (gateway side)

export interface BindProblem { offset: number, reason: string }

/** sense X'0835' + 2-byte pointer (GA27-3136 Sense Data; offsets with X'31' = 0, KB Q157444). */
export function bindPointerSense (offset: number): number { return (Sense.INVALID_PARAMETER + (offset & 0xffff)) >>> 0 }

/** Sense for a BIND that failed to decode: 0835 + the failing offset. */
export function bindDecodeSense (err: unknown): number | undefined {
  return err instanceof SnaMalformedError ? bindPointerSense(err.offset) : undefined
}

const LU2_SCREEN_CODES = new Set([0x00, 0x01, 0x02, 0x03, 0x7e, 0x7f])

/**
 * Checks a decoded BIND for an LU type 2 secondary (GA27-3136 BIND: FM/TS profile 3, LU type 2, HDX-FF,
 * screen-size code; X3270: default screen ≥ 24×80). Returns the first problem or undefined.
 */
export function validateLu2Bind (b: BindImage): BindProblem | undefined {
  if (b.fmProfile !== 0x03) return { offset: 2, reason: `FM profile ${b.fmProfile} is not 3` }
  if (b.tsProfile !== 0x03) return { offset: 3, reason: `TS profile ${b.tsProfile} is not 3` }
  if (b.sendReceiveMode !== 'HDX-FF') return { offset: 7, reason: `send/receive mode ${b.sendReceiveMode} is not HDX-FF` }
  if (b.luType !== 2 || b.ps.kind !== 'lu2') return { offset: 14, reason: `LU type ${b.luType} is not 2` }
  if (!LU2_SCREEN_CODES.has(b.ps.screenSizeCode)) return { offset: 24, reason: `screen size code X'${b.ps.screenSizeCode.toString(16).toUpperCase()}' is not defined` }
  if ((b.ps.screenSizeCode === 0x7e || b.ps.screenSizeCode === 0x7f) && (b.ps.rows < 24 || b.ps.cols < 80)) {
    return { offset: 20, reason: `default screen ${b.ps.rows}x${b.ps.cols} is smaller than 24x80` }
  }
  if (b.ps.screenSizeCode === 0x7f && (b.ps.altRows < b.ps.rows || b.ps.altCols < b.ps.cols)) {
    return { offset: 22, reason: `alternate screen ${b.ps.altRows}x${b.ps.altCols} is smaller than the default` }
  }
  if (b.cryptography !== 0) return { offset: 26, reason: 'cryptography is not supported' }
  return undefined
}

/** The LU types a dependent LU of this gateway is bound as: 2 display, 1 SCS printer, 3 3270 printer. */
export type DependentLuType = 1 | 2 | 3

/**
 * Checks a BIND for an LU type 1 printer (SCS): FM and TS profile 3, HDX flip-flop, LU type 1, as
 * the SCS entry of VTAM's sample logon mode table ISTINCLM sends it (FMPROF X'03', TSPROF X'03',
 * COMPROT X'3080', PSERVIC X'01000000E1...'; "SNA Formats", GA27-3136, BIND; "z/OS Communications
 * Server: SNA Resource Definition Reference", SC27-3675, MODEENT). Bytes 15-25 (the SCS profile)
 * are the application's business and pass to the client in BIND-IMAGE unchanged.
 */
export function validateLu1Bind (b: BindImage): BindProblem | undefined {
  return checkCommonPrinterBind(b, 1)
}

/**
 * Checks a BIND for an LU type 3 printer (3270 data stream, a 3287 on a 3274 in data stream
 * compatibility mode): FM and TS profile 3, HDX flip-flop, LU type 3 ("SNA Formats", GA27-3136,
 * BIND; the D6328902 entry of ISTINCLM carries PSERVIC X'03...7F00'). The printer's buffer size
 * in bytes 20-24 is for the client.
 */
export function validateLu3Bind (b: BindImage): BindProblem | undefined {
  return checkCommonPrinterBind(b, 3)
}

function checkCommonPrinterBind (b: BindImage, luType: 1 | 3): BindProblem | undefined {
  if (b.fmProfile !== 0x03) return { offset: 2, reason: `FM profile ${b.fmProfile} is not 3` }
  if (b.tsProfile !== 0x03) return { offset: 3, reason: `TS profile ${b.tsProfile} is not 3` }
  if (b.sendReceiveMode !== 'HDX-FF') return { offset: 7, reason: `send/receive mode ${b.sendReceiveMode} is not HDX-FF` }
  if (b.luType !== luType) return { offset: 14, reason: `LU type ${b.luType} is not ${luType} (this LU is an LU type ${luType} printer)` }
  if (b.cryptography !== 0) return { offset: 26, reason: 'cryptography is not supported' }
  return undefined
}

/** The check for a dependent LU bound as `luType` (2 display, 1 or 3 printer). */
export function validateDependentLuBind (b: BindImage, luType: DependentLuType): BindProblem | undefined {
  if (luType === 1) return validateLu1Bind(b)
  if (luType === 3) return validateLu3Bind(b)
  return validateLu2Bind(b)
}

// ---------------------------------------------------------------- EBCDIC names

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@#$ '
const NAME_EBCDIC = [0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9,
  0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0x4b, 0x7c, 0x7b, 0x5b, 0x40]

/** SNA names (A-Z 0-9 . @ # $ blank) to EBCDIC cp037; lower case is upper-cased. */
export function nameToEbcdic (name: string): Buffer {
  return Buffer.from([...name.toUpperCase()].map((ch, i) => {
    const k = NAME_CHARS.indexOf(ch)
    if (k < 0) throw malformed('SNA name', i, `character '${ch}' is not allowed in "${name}"`)
    return NAME_EBCDIC[k]!
  }))
}

/** EBCDIC name to text; bytes outside the name alphabet become '?'. */
export function ebcdicToName (buf: Buffer): string {
  return [...buf].map((b) => { const k = NAME_EBCDIC.indexOf(b); return k < 0 ? '?' : NAME_CHARS[k]! }).join('')
}
