// RU codecs other than BIND ("SNA Formats", GA27-3136, RUs). Every decoder checks the request code and lengths.
import { ByteReader, checkByte, checkRange, lenPrefix, malformed } from './bytes.js'
import type { RuCategory } from './headers.js'

/** Request codes, "SNA Formats", GA27-3136, request codes (Linux-SNA SNA_RU_RC_*, Hercules format_sna). */
export const RequestCode = {
  ACTPU: 0x11,
  DACTPU: 0x12,
  ACTLU: 0x0d,
  DACTLU: 0x0e,
  BIND: 0x31,
  UNBIND: 0x32,
  SDT: 0xa0,
  CLEAR: 0xa1,
  STSN: 0xa2,
  RQR: 0xa3,
  CRV: 0xc0,
  SHUTD: 0xc0,
  SHUTC: 0xc1,
  RSHUTD: 0xc2,
  BID: 0xc8,
  SIG: 0xc9,
  LUSTAT: 0x04,
  RTR: 0x05,
  BIS: 0x70,
  SBI: 0x71,
  QEC: 0x80,
  QC: 0x81,
  RELQ: 0x82,
  CANCEL: 0x83,
  CHASE: 0x84,
} as const

/** NS headers, GA27-3136 request codes (format 1 = X'81', format 0 = X'01' first byte; KB Q267902 shows TERMSELF X'010683'). */
export const NsHeader = {
  NOTIFY: 0x810620,
  INITSELF: 0x810681,
  TERMSELF: 0x810683,
  INITSELF_FMT0: 0x010681,
  TERMSELF_FMT0: 0x010683,
} as const

const SC_NAMES: Record<number, string> = {
  0x11: 'ACTPU', 0x12: 'DACTPU', 0x0d: 'ACTLU', 0x0e: 'DACTLU', 0x31: 'BIND', 0x32: 'UNBIND',
  0xa0: 'SDT', 0xa1: 'CLEAR', 0xa2: 'STSN', 0xa3: 'RQR', 0xc0: 'CRV',
}
const DFC_NAMES: Record<number, string> = {
  0x04: 'LUSTAT', 0x05: 'RTR', 0x70: 'BIS', 0x71: 'SBI', 0x80: 'QEC', 0x81: 'QC', 0x82: 'RELQ',
  0x83: 'CANCEL', 0x84: 'CHASE', 0xc0: 'SHUTD', 0xc1: 'SHUTC', 0xc2: 'RSHUTD', 0xc8: 'BID', 0xc9: 'SIG',
}
const NS_NAMES: Record<number, string> = {
  0x810620: 'NOTIFY', 0x810681: 'INITSELF', 0x810683: 'TERMSELF', 0x010681: 'INITSELF', 0x010683: 'TERMSELF',
}

/** Human name of a request by category and RU ('DATA' for FMD without FI; 'NS-xxxxxx' for unknown NS). */
export function requestName (category: RuCategory, fi: boolean, ru: Buffer): string {
  if (category === 'FMD') {
    if (!fi) return 'DATA'
    if (ru.length < 3) return 'NS?'
    const h = ru.readUIntBE(0, 3)
    return NS_NAMES[h] ?? `NS-${h.toString(16).padStart(6, '0').toUpperCase()}`
  }
  if (ru.length < 1) return `${category}?`
  const names = category === 'SC' ? SC_NAMES : category === 'DFC' ? DFC_NAMES : {}
  return names[ru[0]!] ?? `${category}-${ru[0]!.toString(16).padStart(2, '0').toUpperCase()}`
}

function expectCode (r: ByteReader, code: number, name: string): void {
  const c = r.u8('request code')
  if (c !== code) throw malformed(`${name} request code`, 0, `is X'${c.toString(16).padStart(2, '0').toUpperCase()}', expected X'${code.toString(16).padStart(2, '0').toUpperCase()}'`)
}

function expectNs (r: ByteReader, headers: number[], name: string): number {
  const h = (r.u8('NS header') << 16) | r.u16('NS header')
  if (!headers.includes(h)) {
    throw malformed(`${name} NS header`, 0, `is X'${h.toString(16).padStart(6, '0').toUpperCase()}', expected ${headers.map((x) => `X'${x.toString(16).padStart(6, '0').toUpperCase()}'`).join(' or ')}`)
  }
  return h
}

function noTrailing (r: ByteReader, name: string): void {
  if (!r.atEnd) throw malformed(name, r.offset, `${r.remaining} unexpected trailing byte(s)`)
}

function nsHeader (h: number): Buffer { const b = Buffer.alloc(3); b.writeUIntBE(h, 0, 3); return b }

// ---------------------------------------------------------------- control vectors

export interface ControlVector { key: number, data: Buffer }

/** `key, length, data` vectors to the end of the RU (GA27-3136 ACTPU, GA27-3136 BIND CVs after the SLU name). */
export function decodeControlVectors (r: ByteReader, what: string): ControlVector[] {
  const out: ControlVector[] = []
  while (!r.atEnd) {
    const key = r.u8(`${what} CV key`)
    const data = r.lenPrefixed(`${what} CV X'${key.toString(16).padStart(2, '0').toUpperCase()}'`)
    out.push({ key, data })
  }
  return out
}

export function encodeControlVectors (cvs: ControlVector[]): Buffer {
  return Buffer.concat(cvs.map((cv) => { checkByte(cv.key, 'CV key'); return Buffer.concat([Buffer.from([cv.key]), lenPrefix(cv.data, `CV X'${cv.key.toString(16)}'`)]) }))
}

// ---------------------------------------------------------------- ACTPU / DACTPU (GA27-3136 ACTPU, GA27-3136 DACTPU/DACTLU)

export interface Actpu {
  /** Byte 1 bits 0-3. */
  format: number
  /** Byte 1 bits 4-7: 1 cold, 2 ERP. */
  activationType: number
  fmProfile: number
  tsProfile: number
  /** 6-byte SSCP ID. */
  sscpId: Buffer
  controlVectors: ControlVector[]
}

export function encodeActpu (a: Actpu): Buffer {
  checkRange(a.format, 0, 15, 'ACTPU format'); checkRange(a.activationType, 0, 15, 'ACTPU type')
  checkRange(a.fmProfile, 0, 15, 'ACTPU FM profile'); checkRange(a.tsProfile, 0, 15, 'ACTPU TS profile')
  if (a.sscpId.length !== 6) throw malformed('ACTPU SSCP ID', 3, `must be 6 bytes, got ${a.sscpId.length}`)
  // GA27-3136 ACTPU: 11 | format(4) type(4) | FM(4) TS(4) | SSCP ID (6) | CVs
  return Buffer.concat([Buffer.from([RequestCode.ACTPU, (a.format << 4) | a.activationType, (a.fmProfile << 4) | a.tsProfile]), a.sscpId, encodeControlVectors(a.controlVectors)])
}

export function decodeActpu (ru: Buffer): Actpu {
  const r = new ByteReader(ru, 'ACTPU')
  expectCode(r, RequestCode.ACTPU, 'ACTPU')
  const ft = r.u8('format/type')
  const prof = r.u8('FM/TS profiles')
  const sscpId = r.bytes(6, 'SSCP ID')
  return { format: ft >> 4, activationType: ft & 0x0f, fmProfile: prof >> 4, tsProfile: prof & 0x0f, sscpId, controlVectors: decodeControlVectors(r, 'ACTPU') }
}

/** +RSP(ACTPU): X'11' + echoed format/type byte + optional data (GA27-3136 ACTPU; body after the code UNCONFIRMED). */
export interface ActpuResponse { formatType?: number, data: Buffer }

export function encodeActpuResponse (r: ActpuResponse): Buffer {
  if (r.formatType === undefined) {
    if (r.data.length > 0) throw malformed('+RSP(ACTPU) data', 1, 'needs formatType when data is present')
    return Buffer.from([RequestCode.ACTPU])
  }
  checkByte(r.formatType, '+RSP(ACTPU) format/type')
  return Buffer.concat([Buffer.from([RequestCode.ACTPU, r.formatType]), r.data])
}

export function decodeActpuResponse (ru: Buffer): ActpuResponse {
  const r = new ByteReader(ru, '+RSP(ACTPU)')
  expectCode(r, RequestCode.ACTPU, '+RSP(ACTPU)')
  if (r.atEnd) return { data: Buffer.alloc(0) }
  return { formatType: r.u8('format/type'), data: r.rest() }
}

export interface Deactivate { type?: number, cause?: number }

function encodeDeact (code: number, d: Deactivate, name: string): Buffer {
  const out = [code]
  if (d.type !== undefined) { checkByte(d.type, `${name} type`); out.push(d.type) }
  if (d.cause !== undefined) {
    if (d.type === undefined) throw malformed(`${name} cause`, 2, 'needs a type')
    checkByte(d.cause, `${name} cause`); out.push(d.cause)
  }
  return Buffer.from(out)
}

function decodeDeact (ru: Buffer, code: number, name: string): Deactivate {
  const r = new ByteReader(ru, name)
  expectCode(r, code, name)
  const d: Deactivate = {}
  if (!r.atEnd) d.type = r.u8('type')
  if (!r.atEnd) d.cause = r.u8('cause')
  noTrailing(r, name)
  return d
}

/** DACTPU `12 | type | cause` (GA27-3136 DACTPU/DACTLU, Linux-SNA sna_ru_dactpu); type/cause optional. */
export const encodeDactpu = (d: Deactivate = { type: 1 }): Buffer => encodeDeact(RequestCode.DACTPU, d, 'DACTPU')
export const decodeDactpu = (ru: Buffer): Deactivate => decodeDeact(ru, RequestCode.DACTPU, 'DACTPU')
/** DACTLU `0E | type | cause` (GA27-3136 DACTPU/DACTLU). */
export const encodeDactlu = (d: Deactivate = { type: 1 }): Buffer => encodeDeact(RequestCode.DACTLU, d, 'DACTLU')
export const decodeDactlu = (ru: Buffer): Deactivate => decodeDeact(ru, RequestCode.DACTLU, 'DACTLU')

// ---------------------------------------------------------------- ACTLU (GA27-3136 ACTLU)

export interface Actlu {
  /** Byte 1 bit 0. */
  enhancedAddressManagement: boolean
  /** Byte 1 bit 1 (static/dynamic address). */
  dynamicAddress: boolean
  /** Byte 1 bits 6-7: 1 cold, 2 ERP. */
  activationType: number
  fmProfile: number
  tsProfile: number
  controlVectors: ControlVector[]
}

function actluByte1 (a: Pick<Actlu, 'enhancedAddressManagement' | 'dynamicAddress' | 'activationType'>): number {
  checkRange(a.activationType, 0, 3, 'ACTLU activation type')
  // GA27-3136 ACTLU: bit0 enhanced address mgmt (80), bit1 static/dynamic (40), bits 6-7 activation type
  return (a.enhancedAddressManagement ? 0x80 : 0) | (a.dynamicAddress ? 0x40 : 0) | a.activationType
}

function profiles (fm: number, ts: number, name: string): number {
  checkRange(fm, 0, 15, `${name} FM profile`); checkRange(ts, 0, 15, `${name} TS profile`)
  return (fm << 4) | ts
}

export function encodeActlu (a: Actlu): Buffer {
  return Buffer.concat([Buffer.from([RequestCode.ACTLU, actluByte1(a), profiles(a.fmProfile, a.tsProfile, 'ACTLU')]), encodeControlVectors(a.controlVectors)])
}

export function decodeActlu (ru: Buffer): Actlu {
  const r = new ByteReader(ru, 'ACTLU')
  expectCode(r, RequestCode.ACTLU, 'ACTLU')
  const b1 = r.u8('type byte')
  const p = r.u8('FM/TS profiles')
  return { enhancedAddressManagement: (b1 & 0x80) !== 0, dynamicAddress: (b1 & 0x40) !== 0, activationType: b1 & 0x03, fmProfile: p >> 4, tsProfile: p & 0x0f, controlVectors: decodeControlVectors(r, 'ACTLU') }
}

/**
 * +RSP(ACTLU) (GA27-3136 ACTLU, i3274_cc.c F2_ACTLU_Rsp): `0D type profiles | 00 + 4-byte SSCP-LU capabilities
 * (CV X'00' has no length byte) | CV X'0C' (LU status; first body byte 03 enabled / 01 disabled)`.
 */
export interface ActluResponse {
  typeByte: number
  fmProfile: number
  tsProfile: number
  /** CV X'00' body (4 bytes), absent in a minimal response. */
  sscpLuCapabilities?: Buffer
  /** Further CVs (usually X'0C'). */
  controlVectors: ControlVector[]
}

export function encodeActluResponse (a: ActluResponse): Buffer {
  checkByte(a.typeByte, '+RSP(ACTLU) type byte')
  const parts: Buffer[] = [Buffer.from([RequestCode.ACTLU, a.typeByte, profiles(a.fmProfile, a.tsProfile, '+RSP(ACTLU)')])]
  if (a.sscpLuCapabilities !== undefined) {
    if (a.sscpLuCapabilities.length !== 4) throw malformed('+RSP(ACTLU) CV X\'00\'', 4, `body must be 4 bytes, got ${a.sscpLuCapabilities.length}`)
    parts.push(Buffer.from([0x00]), a.sscpLuCapabilities)
  } else if (a.controlVectors.length > 0) {
    throw malformed('+RSP(ACTLU) CV X\'00\'', 3, 'needed before other control vectors')
  }
  parts.push(encodeControlVectors(a.controlVectors))
  return Buffer.concat(parts)
}

export function decodeActluResponse (ru: Buffer): ActluResponse {
  const r = new ByteReader(ru, '+RSP(ACTLU)')
  expectCode(r, RequestCode.ACTLU, '+RSP(ACTLU)')
  const typeByte = r.u8('type byte')
  const p = r.u8('FM/TS profiles')
  const out: ActluResponse = { typeByte, fmProfile: p >> 4, tsProfile: p & 0x0f, controlVectors: [] }
  if (r.atEnd) return out
  const key = r.u8('CV key')
  if (key !== 0x00) throw malformed('+RSP(ACTLU) CV', 3, `first vector must be X'00', got X'${key.toString(16).toUpperCase()}'`)
  out.sscpLuCapabilities = r.bytes(4, 'CV X\'00\' body')
  out.controlVectors = decodeControlVectors(r, '+RSP(ACTLU)')
  return out
}

/** LU status vector X'0C' body (i3274_cc.c; GA27-3136 NOTIFY): status 03 enabled, 01 disabled, then 00 01 00 00 00 + 8 blanks. */
export function luStatusVector (enabled: boolean): Buffer {
  return Buffer.from([enabled ? 0x03 : 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40])
}

/** The +RSP(ACTLU) RU a PU 2.0 returns (i3274_cc.c bytes exactly for `0D 01 01`, enabled). */
export function actluPositiveRu (req: Actlu, enabled: boolean): Buffer {
  return encodeActluResponse({
    typeByte: actluByte1(req),
    fmProfile: req.fmProfile,
    tsProfile: req.tsProfile,
    sscpLuCapabilities: Buffer.from([0x85, 0x00, 0x00, 0x00]),
    controlVectors: [{ key: 0x0c, data: luStatusVector(enabled) }],
  })
}

// ---------------------------------------------------------------- NOTIFY (GA27-3136 NOTIFY)

export interface Notify {
  enabled: boolean
  /** CV X'0C' body after the status byte (default `00 01 00 00 00` + 8 blanks; short form without blanks). */
  detail: Buffer
}

const NOTIFY_DETAIL: Buffer = Buffer.from(luStatusVector(true).subarray(1))

export function encodeNotify (n: { enabled: boolean, detail?: Buffer }): Buffer {
  const body = Buffer.concat([Buffer.from([n.enabled ? 0x03 : 0x01]), n.detail ?? NOTIFY_DETAIL])
  // GA27-3136 NOTIFY: 81 06 20 | 0C len | 03 enabled / 01 disabled | detail
  return Buffer.concat([nsHeader(NsHeader.NOTIFY), Buffer.from([0x0c]), lenPrefix(body, 'NOTIFY CV X\'0C\'')])
}

export function decodeNotify (ru: Buffer): Notify {
  const r = new ByteReader(ru, 'NOTIFY')
  expectNs(r, [NsHeader.NOTIFY], 'NOTIFY')
  const key = r.u8('CV key')
  if (key !== 0x0c) throw malformed('NOTIFY CV key', 3, `is X'${key.toString(16).toUpperCase()}', expected X'0C'`)
  const body = r.lenPrefixed('CV X\'0C\'')
  noTrailing(r, 'NOTIFY')
  if (body.length < 1) throw malformed('NOTIFY status byte', 5, 'vector body is empty')
  const status = body[0]!
  if (status !== 0x03 && status !== 0x01) throw malformed('NOTIFY status byte', 5, `is X'${status.toString(16).padStart(2, '0').toUpperCase()}', expected X'03' (enabled) or X'01' (disabled)`)
  return { enabled: status === 0x03, detail: Buffer.from(body.subarray(1)) }
}

// ---------------------------------------------------------------- INITSELF / TERMSELF (GA27-3136 request codes, KB Q267902)

/**
 * INIT-SELF. Layout used here (NS header GA27-3136 request codes; field order [UNCONFIRMED] beyond the KB Q267902 TERMSELF
 * prefix `type | name type X'F3' | PLU name length | name`): header | type byte | name type |
 * PLU name (len-prefixed) | mode name | requester ID | password | user field (each len-prefixed).
 */
export interface InitSelf {
  format: 0 | 1
  typeByte: number
  nameType: number
  pluName: Buffer
  modeName: Buffer
  requesterId: Buffer
  password: Buffer
  userField: Buffer
}

export function encodeInitSelf (i: InitSelf): Buffer {
  checkByte(i.typeByte, 'INITSELF type'); checkByte(i.nameType, 'INITSELF name type')
  return Buffer.concat([nsHeader(i.format === 1 ? NsHeader.INITSELF : NsHeader.INITSELF_FMT0), Buffer.from([i.typeByte, i.nameType]),
    lenPrefix(i.pluName, 'INITSELF PLU name'), lenPrefix(i.modeName, 'INITSELF mode name'), lenPrefix(i.requesterId, 'INITSELF requester ID'),
    lenPrefix(i.password, 'INITSELF password'), lenPrefix(i.userField, 'INITSELF user field')])
}

export function decodeInitSelf (ru: Buffer): InitSelf {
  const r = new ByteReader(ru, 'INITSELF')
  const h = expectNs(r, [NsHeader.INITSELF, NsHeader.INITSELF_FMT0], 'INITSELF')
  const out: InitSelf = {
    format: h === NsHeader.INITSELF ? 1 : 0,
    typeByte: r.u8('type'),
    nameType: r.u8('name type'),
    pluName: r.lenPrefixed('PLU name'),
    modeName: r.lenPrefixed('mode name'),
    requesterId: r.lenPrefixed('requester ID'),
    password: r.lenPrefixed('password'),
    userField: r.lenPrefixed('user field'),
  }
  noTrailing(r, 'INITSELF')
  return out
}

/** TERM-SELF: header | type byte | name type | PLU name (len-prefixed) | trailing fields kept raw (KB Q267902). */
export interface TermSelf {
  format: 0 | 1
  typeByte: number
  nameType: number
  pluName: Buffer
  trailing: Buffer
}

export function encodeTermSelf (t: TermSelf): Buffer {
  checkByte(t.typeByte, 'TERMSELF type'); checkByte(t.nameType, 'TERMSELF name type')
  return Buffer.concat([nsHeader(t.format === 1 ? NsHeader.TERMSELF : NsHeader.TERMSELF_FMT0), Buffer.from([t.typeByte, t.nameType]), lenPrefix(t.pluName, 'TERMSELF PLU name'), t.trailing])
}

export function decodeTermSelf (ru: Buffer): TermSelf {
  const r = new ByteReader(ru, 'TERMSELF')
  const h = expectNs(r, [NsHeader.TERMSELF, NsHeader.TERMSELF_FMT0], 'TERMSELF')
  return { format: h === NsHeader.TERMSELF ? 1 : 0, typeByte: r.u8('type'), nameType: r.u8('name type'), pluName: r.lenPrefixed('PLU name'), trailing: r.rest() }
}

// ---------------------------------------------------------------- UNBIND (GA27-3136 UNBIND)

/** UNBIND type codes, GA27-3136 UNBIND table. */
export const UnbindType = {
  NORMAL: 0x01,
  BIND_FORTHCOMING: 0x02,
  INVALID_SESSION_PARAMETERS: 0x06,
  VR_INOPERATIVE: 0x07,
  ROUTE_EXTENSION_INOPERATIVE: 0x08,
  HIERARCHICAL_RESET: 0x09,
  SSCP_GONE: 0x0a,
  VR_DEACTIVATED: 0x0b,
  UNRECOVERABLE_LU_FAILURE: 0x0c,
  RECOVERABLE_LU_FAILURE: 0x0e,
  CLEANUP: 0x0f,
  SESSION_FAILURE: 0xfe,
} as const

const UNBIND_NAMES: Record<number, string> = {
  0x01: 'normal end of session', 0x02: 'BIND forthcoming', 0x06: 'invalid session parameters',
  0x07: 'virtual route inoperative', 0x08: 'route extension inoperative', 0x09: 'hierarchical reset',
  0x0a: 'SSCP gone', 0x0b: 'virtual route deactivated', 0x0c: 'unrecoverable LU failure',
  0x0e: 'recoverable LU failure', 0x0f: 'cleanup', 0xfe: 'session failure (sense follows)',
}

export function unbindTypeName (type: number): string {
  return UNBIND_NAMES[type] ?? `type X'${type.toString(16).padStart(2, '0').toUpperCase()}'`
}

/** GA27-3136 UNBIND (KB Q161040): for types X'07'-X'7F' the sender may BIND again before our +RSP(UNBIND). */
export function unbindAllowsEarlyRebind (type: number): boolean { return type >= 0x07 && type <= 0x7f }

export interface Unbind { type: number, sense?: number }

export function encodeUnbind (u: Unbind): Buffer {
  checkByte(u.type, 'UNBIND type')
  // GA27-3136 UNBIND: 32 | type | [4-byte sense when type = FE]
  if (u.type === UnbindType.SESSION_FAILURE) {
    if (u.sense === undefined) throw malformed('UNBIND sense', 2, 'type X\'FE\' needs sense data')
    const b = Buffer.alloc(6); b[0] = RequestCode.UNBIND; b[1] = u.type; b.writeUInt32BE(u.sense >>> 0, 2); return b
  }
  if (u.sense !== undefined) throw malformed('UNBIND sense', 2, 'only type X\'FE\' carries sense data')
  return Buffer.from([RequestCode.UNBIND, u.type])
}

export function decodeUnbind (ru: Buffer): Unbind {
  const r = new ByteReader(ru, 'UNBIND')
  expectCode(r, RequestCode.UNBIND, 'UNBIND')
  const type = r.u8('type')
  if (type === UnbindType.SESSION_FAILURE) {
    const sense = (r.u16('sense') * 0x10000) + r.u16('sense')
    noTrailing(r, 'UNBIND')
    return { type, sense }
  }
  // Other types: anything after the type byte (e.g. extension vectors) is ignored.
  return { type }
}

// ---------------------------------------------------------------- single-byte commands (GA27-3136 SDT/CLEAR)

function single (code: number, name: string): { encode: () => Buffer, decode: (ru: Buffer) => void } {
  return {
    encode: () => Buffer.from([code]),
    decode: (ru: Buffer) => { const r = new ByteReader(ru, name); expectCode(r, code, name); noTrailing(r, name) },
  }
}

const sdt = single(RequestCode.SDT, 'SDT')
const clear = single(RequestCode.CLEAR, 'CLEAR')
const rqr = single(RequestCode.RQR, 'RQR')
const shutd = single(RequestCode.SHUTD, 'SHUTD')
const shutc = single(RequestCode.SHUTC, 'SHUTC')
const bid = single(RequestCode.BID, 'BID')
const rtr = single(RequestCode.RTR, 'RTR')
export const encodeSdt = sdt.encode
export const decodeSdt = sdt.decode
export const encodeClear = clear.encode
export const decodeClear = clear.decode
export const encodeRqr = rqr.encode
export const decodeRqr = rqr.decode
export const encodeShutd = shutd.encode
export const decodeShutd = shutd.decode
export const encodeShutc = shutc.encode
export const decodeShutc = shutc.decode
export const encodeBid = bid.encode
export const decodeBid = bid.decode
export const encodeRtr = rtr.encode
export const decodeRtr = rtr.decode

// ---------------------------------------------------------------- LUSTAT / SIG (GA27-3136 request codes; i3274_cc.c, KB Q172484)

/** LUSTAT `04 | 2-byte status | 2-byte extension` (i3274_cc.c "LU now available" = 04 00 01 00 00). */
export interface Lustat { status: number, extension: number }
/** SIG `C9 | 2-byte signal code | 2-byte extension`. */
export interface Sig { code: number, extension: number }
/**
 * SIG signal code X'0001' "request to send" (GA27-3136 SIG): what an SNA 3270's ATTN key sends; the
 * PLU application takes it as attention and the direction comes back with its answer. LUSTAT
 * status X'082B' (with X'0000'): the terminal's screen was lost to the SSCP session (SYSREQ), as
 * 3270 emulators send it when they return to the LU-LU session (Host Integration Server docs,
 * "LUSTAT sense codes").
 */
export const SignalCode = { REQUEST_TO_SEND: 0x0001 } as const
export const LustatStatus = { PRESENTATION_SPACE_LOST: 0x082b } as const

function enc5 (code: number, a: number, b: number, name: string): Buffer {
  checkRange(a, 0, 0xffff, `${name} code`); checkRange(b, 0, 0xffff, `${name} extension`)
  const buf = Buffer.alloc(5); buf[0] = code; buf.writeUInt16BE(a, 1); buf.writeUInt16BE(b, 3); return buf
}

function dec5 (ru: Buffer, code: number, name: string): [number, number] {
  const r = new ByteReader(ru, name)
  expectCode(r, code, name)
  const a = r.u16('code'); const b = r.u16('extension')
  noTrailing(r, name)
  return [a, b]
}

export function encodeLustat (l: Lustat): Buffer { return enc5(RequestCode.LUSTAT, l.status, l.extension, 'LUSTAT') }
export function decodeLustat (ru: Buffer): Lustat { const [status, extension] = dec5(ru, RequestCode.LUSTAT, 'LUSTAT'); return { status, extension } }
export function encodeSig (s: Sig): Buffer { return enc5(RequestCode.SIG, s.code, s.extension, 'SIG') }
export function decodeSig (ru: Buffer): Sig { const [code, extension] = dec5(ru, RequestCode.SIG, 'SIG'); return { code, extension } }
