// FM headers for LU 6.2 (SC31-6808: FMH-5 Attach, FMH-7 error; traces in KB Q169575, Q263206, Q156083).
import { ErrorCodes, lbError } from '../errors.js'
import { fromEbcdic, toEbcdic } from './ebcdic.js'

export type ConversationType = 'basic' | 'mapped'
export type SyncLevel = 'none' | 'confirm' | 'syncpt'

export interface AccessSecurity { userId?: Buffer, password?: Buffer, passwordSubstitute?: boolean }

export interface Fmh5 {
  /** TP name, already EBCDIC; use `tpNameBytes` for names, raw bytes for service TPs (X'06F1'). */
  tpName: Buffer
  conversationType: ConversationType
  syncLevel: SyncLevel
  /** Byte 4 security indicators (KB Q169575 X'18'); kept as-is. */
  securityIndicators: number
  /** Access security subfields `len type data` (type 02 user id, 01 password), SC31-6808 FMH-5. */
  accessSecurity: Buffer
  luwId: Buffer
  conversationCorrelator: Buffer
  /** Attach sequence number field (Linux-SNA: 8 bytes), empty when absent. */
  attachSequence: Buffer | undefined
  /** Bytes after the FMH (PIP GDS variables) are not part of the header. */
}

const FMH5_TYPE = 0x05
const FMH7_TYPE = 0x07
const ATTACH = 0x02ff
// SC31-6808 FMH-5 byte 6: X'D0' basic, X'D1' mapped; byte 8 bits 0-1 sync level 00/01/10
const CONV_TYPE: Record<ConversationType, number> = { basic: 0xd0, mapped: 0xd1 }
const SYNC: Record<SyncLevel, number> = { none: 0x00, confirm: 0x40, syncpt: 0x80 }

function malformed (what: string): Error { return lbError(ErrorCodes.APPC_MALFORMED, what) }

export function tpNameBytes (tp: string): Buffer { return toEbcdic(tp, 'TP name') }
export function tpNameText (tp: Buffer): string { return fromEbcdic(tp) }

function lp (b: Buffer, what: string): Buffer {
  if (b.length > 255) throw malformed(`FMH-5 ${what}: length ${b.length} exceeds 255`)
  return Buffer.concat([Buffer.from([b.length]), b])
}

export function attach (tp: string | Buffer, conversationType: ConversationType, syncLevel: SyncLevel = 'none'): Fmh5 {
  return {
    tpName: typeof tp === 'string' ? tpNameBytes(tp) : tp,
    conversationType,
    syncLevel,
    securityIndicators: 0,
    accessSecurity: Buffer.alloc(0),
    luwId: Buffer.alloc(0),
    conversationCorrelator: Buffer.alloc(0),
    attachSequence: undefined,
  }
}

/** SC31-6808 FMH-5: len | type 05 | 02FF | security byte | 03 | conv type | 00 | sync | LL fields. */
export function encodeFmh5 (f: Fmh5): Buffer {
  if (f.tpName.length === 0) throw malformed('FMH-5: TP name is empty')
  const body = Buffer.concat([
    Buffer.from([FMH5_TYPE, ATTACH >> 8, ATTACH & 0xff, f.securityIndicators, 0x03, CONV_TYPE[f.conversationType], 0x00, SYNC[f.syncLevel]]),
    lp(f.tpName, 'TP name'),
    lp(f.accessSecurity, 'access security'),
    ...(f.luwId.length > 0 || f.conversationCorrelator.length > 0 || f.attachSequence !== undefined
      ? [lp(f.luwId, 'LUW id'), lp(f.conversationCorrelator, 'conversation correlator')]
      : []),
    ...(f.attachSequence !== undefined ? [lp(f.attachSequence, 'attach sequence number')] : []),
  ])
  if (body.length + 1 > 255) throw malformed(`FMH-5: length ${body.length + 1} exceeds 255`)
  return Buffer.concat([Buffer.from([body.length + 1]), body])
}

export function fmhType (ru: Buffer): number {
  if (ru.length < 2) throw malformed(`FM header: RU of ${ru.length} bytes is too short`)
  return ru[1]! & 0x7f // SC31-6808 FMH-5 byte 1: bit 0 concatenation, bits 1-7 type
}

/** Decodes the FMH-5 at the start of `ru`; `rest` = bytes after it (PIP or data). */
export function decodeFmh5 (ru: Buffer): { fmh: Fmh5, rest: Buffer } {
  const len = ru[0]
  if (len === undefined || len < 9 || len > ru.length) throw malformed(`FMH-5: length byte ${len ?? 'missing'} invalid for an RU of ${ru.length} bytes`)
  if (fmhType(ru) !== FMH5_TYPE) throw malformed(`FMH-5: type ${fmhType(ru)} is not 5`)
  const cmd = ru.readUInt16BE(2)
  if (cmd !== ATTACH) throw malformed(`FMH-5: command X'${cmd.toString(16).toUpperCase()}' is not ATTACH (X'02FF')`)
  const fixed = ru[5]!
  const ct = ru[6]!
  const conversationType = ct === 0xd0 ? 'basic' : ct === 0xd1 ? 'mapped' : undefined
  if (conversationType === undefined) throw malformed(`FMH-5: conversation type X'${ct.toString(16).toUpperCase()}' is neither basic (D0) nor mapped (D1)`)
  const s = ru[8]! & 0xc0
  const syncLevel: SyncLevel | undefined = s === 0x00 ? 'none' : s === 0x40 ? 'confirm' : s === 0x80 ? 'syncpt' : undefined
  if (syncLevel === undefined) throw malformed('FMH-5: sync level bits 11 are reserved')
  let pos = 6 + fixed
  const fields: Buffer[] = []
  while (pos < len) {
    const l = ru[pos]!
    if (pos + 1 + l > len) throw malformed(`FMH-5: field at offset ${pos} (length ${l}) runs past the header length ${len}`)
    fields.push(Buffer.from(ru.subarray(pos + 1, pos + 1 + l)))
    pos += 1 + l
  }
  if (fields.length < 1 || fields[0]!.length === 0) throw malformed('FMH-5: TP name missing')
  return {
    fmh: {
      tpName: fields[0]!,
      conversationType,
      syncLevel,
      securityIndicators: ru[4]!,
      accessSecurity: fields[1] ?? Buffer.alloc(0),
      luwId: fields[2] ?? Buffer.alloc(0),
      conversationCorrelator: fields[3] ?? Buffer.alloc(0),
      attachSequence: fields[4],
    },
    rest: Buffer.from(ru.subarray(len)),
  }
}

/** SC31-6808 FMH-5 access security subfields: `len type data`, len counting type + data. */
export function decodeAccessSecurity (b: Buffer): Array<{ type: number, data: Buffer }> {
  const out: Array<{ type: number, data: Buffer }> = []
  let pos = 0
  while (pos < b.length) {
    const l = b[pos]!
    if (l < 1 || pos + 1 + l > b.length) throw malformed(`FMH-5 access security: subfield at ${pos} has bad length ${l}`)
    out.push({ type: b[pos + 1]!, data: Buffer.from(b.subarray(pos + 2, pos + 1 + l)) })
    pos += 1 + l
  }
  return out
}

export interface Fmh7 { sense: number, errorLogFollows: boolean }

/** SC31-6808 FMH-7: `07 07 | sense(4) | flags (bit 0 = error-log GDS variable follows)`. */
export function encodeFmh7 (f: Fmh7): Buffer {
  const b = Buffer.alloc(7)
  b[0] = 7
  b[1] = FMH7_TYPE
  b.writeUInt32BE(f.sense >>> 0, 2)
  b[6] = f.errorLogFollows ? 0x80 : 0
  return b
}

export function decodeFmh7 (ru: Buffer): { fmh: Fmh7, rest: Buffer } {
  if (ru.length < 7 || ru[0]! < 7) throw malformed(`FMH-7: needs 7 bytes, RU has ${ru.length}`)
  if (fmhType(ru) !== FMH7_TYPE) throw malformed(`FMH-7: type ${fmhType(ru)} is not 7`)
  return { fmh: { sense: ru.readUInt32BE(2), errorLogFollows: (ru[6]! & 0x80) !== 0 }, rest: Buffer.from(ru.subarray(ru[0])) }
}
