// Inbound (terminal → host) 3270 records: Read Modified replies, short reads, structured fields.
// Layouts (IBM "3270 Data Stream Programmer's Reference", GA23-0059, ch. 3 "Inbound Data Stream",
// ch. 6 "Query Reply"):
//   Read Modified : AID, cursor address (2), then per modified field SBA + address + data
//                   (nulls suppressed); on an unformatted screen the data follows the cursor directly.
//   Short read    : PA1/PA2/PA3/CLEAR send the AID byte alone (x3270 ctlr_read_modified).
//   Read Buffer   : AID, cursor, then the whole buffer with SF/SFE orders at field attributes.
//   AID X'88'     : structured fields; a Query Reply is SFID X'81' + QCODE + data. Usable Area
//                   (QCODE X'81'): flags1, flags2, width (2), height (2), units, Xr (4), Yr (4),
//                   AW, AH, buffer size (2) — the x3270 sf.c do_qr_usable_area layout.

import { ErrorCodes, lbError } from '../errors.js'
import { type AddressMode, addressModeFor, decodeAddress, encodeAddress } from './address.js'
import { Aid, type AidName, aidName, ExtendedAttribute, isFormatControl, Order, QueryCode, type QueryCodeName, queryCodeName, SHORT_READ_AIDS, StructuredFieldId } from './constants.js'
import { type CodePage, codePointTable, DEFAULT_CODE_PAGE, EBCDIC_SUBSTITUTE, encode } from './ebcdic.js'
import { decodeFieldAttribute, type FieldAttribute } from './fields.js'
import { parseStructuredFields, type StructuredField } from './outbound.js'

export interface InboundField {
  /** Buffer address of the field's first data position. */
  address: number
  text: string
  raw: Buffer
  /** Read Buffer replies only: the attribute from the SF/SFE order before the field. */
  attribute?: FieldAttribute
}

export interface QueryReply { code: number; name: QueryCodeName | undefined; data: Buffer }

export interface UsableArea {
  rows: number
  cols: number
  /** flags1 low nibble: 1 = 12/14-bit addressing allowed, 3 = 12/14/16-bit (GA23-0059). */
  addressing: number
  bufferSize?: number
}

/**
 * The base character set of a Character Sets query reply (QCODE X'85', GA23-0059 "Query Reply
 * (Character Sets)"): its CGCSGID, a 2-byte graphic character set id then the 2-byte code page id
 * (x3270 sends e.g. 02B9 0111 for code page 273).
 */
export interface CharacterSet { characterSetId: number; codePageId: number }

export interface InboundRecord {
  aid: AidName
  aidCode: number
  /** True when the record is the AID alone (PA1-3, CLEAR, or any AID sent without a cursor). */
  shortRead: boolean
  cursor?: number
  fields: InboundField[]
  /** Data that followed the cursor before any SBA (a Read Modified of an unformatted screen). */
  unformatted?: { text: string; raw: Buffer }
  /** AID X'88' only. */
  structuredFields?: StructuredField[]
  /** AID X'88' only: the Query Reply structured fields (SFID X'81'). */
  queryReplies?: QueryReply[]
  /** AID X'88' only, when a Usable Area reply (QCODE X'81') is present. */
  usableArea?: UsableArea
  /** AID X'88' only, when a Character Sets reply (QCODE X'85') names the base set's CGCSGID. */
  characterSet?: CharacterSet
}

export interface InboundOptions { rows: number; cols: number; cp?: CodePage }

function malformed (offset: number, what: string): never {
  throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `3270 inbound record malformed at offset ${offset}: ${what}`)
}

function hex (b: number): string { return `X'${b.toString(16).toUpperCase().padStart(2, '0')}'` }

/**
 * Data collected for one field (or for the unformatted data before the first SBA): the bytes as
 * received and the code points they show, made into the field's text once, when it closes.
 */
interface OpenField { address: number; bytes: number[]; chars: number[]; attribute?: FieldAttribute }

/** The text of code points (U+0000-U+00FF), in slices so that no call gets too many arguments. */
function textOf (chars: readonly number[]): string {
  if (chars.length <= TEXT_SLICE) return String.fromCharCode(...chars)
  let s = ''
  for (let i = 0; i < chars.length; i += TEXT_SLICE) s += String.fromCharCode(...chars.slice(i, i + TEXT_SLICE))
  return s
}
const TEXT_SLICE = 4096

/**
 * Walks the part of a Read Modified / Read Buffer record after the cursor: SBA starts a modified
 * field, SF/SFE (Read Buffer) start a field after its attribute position, SA pairs (character
 * reply mode, GA23-0059 "Reply Modes") are skipped, GE and plain bytes are data.
 */
class InboundFieldReader {
  readonly fields: InboundField[] = []
  /** Data before any SBA: a Read Modified of an unformatted screen. */
  readonly unformatted: OpenField = { address: 0, bytes: [], chars: [] }
  private current: OpenField | undefined
  /** Buffer address of the next data byte (for Read Buffer SF orders). */
  private running = 0
  private readonly size: number
  /** EBCDIC byte → the code point it shows, in the terminal's code page. */
  private readonly codePoints: readonly number[]

  constructor (private readonly b: Buffer, private readonly opts: InboundOptions) {
    this.size = opts.rows * opts.cols
    this.codePoints = codePointTable(opts.cp ?? DEFAULT_CODE_PAGE)
  }

  /** The 2-byte buffer address at `at` (the caller has checked both bytes are there), inside the screen. */
  address (at: number, what: string): number {
    const a = decodeAddress(this.b[at] as number, this.b[at + 1] as number)
    if (a >= this.size) malformed(at, `${what} ${a} outside the ${this.opts.rows}x${this.opts.cols} buffer`)
    return a
  }

  read (start: number): void {
    const b = this.b
    let i = start
    while (i < b.length) {
      const c = b[i] as number
      if (c === Order.SBA) i = this.setBufferAddress(i)
      else if (c === Order.SF || c === Order.SFE) i = this.fieldAttribute(i)
      else if (c === Order.SA) i = this.skipSetAttribute(i)
      else if (c === Order.GE) i = this.graphicEscape(i)
      else { this.data(c, false); i += 1 }
    }
    this.closeField()
  }

  private setBufferAddress (i: number): number {
    if (i + 3 > this.b.length) malformed(i, 'SBA address needs 2 bytes')
    this.startField(this.address(i + 1, 'SBA address'))
    return i + 3
  }

  /** Read Buffer: the attribute occupies one position; the field's data starts after it. */
  private fieldAttribute (i: number): number {
    const b = this.b
    if (b[i] === Order.SF) {
      if (i + 2 > b.length) malformed(i, 'SF attribute needs 1 byte')
      this.startField((this.running + 1) % this.size, decodeFieldAttribute(b[i + 1] as number))
      return i + 2
    }
    if (i + 2 > b.length) malformed(i, 'SFE pair count needs 1 byte')
    const n = b[i + 1] as number
    if (i + 2 + 2 * n > b.length) malformed(i, `SFE with ${n} pair(s) runs past the end of the record`)
    let attrByte = 0
    for (let k = 0; k < n; k++) if (b[i + 2 + 2 * k] === ExtendedAttribute.FIELD) attrByte = b[i + 3 + 2 * k] as number
    this.startField((this.running + 1) % this.size, decodeFieldAttribute(attrByte))
    return i + 2 + 2 * n
  }

  private skipSetAttribute (i: number): number {
    if (i + 3 > this.b.length) malformed(i, 'SA needs type and value')
    return i + 3
  }

  private graphicEscape (i: number): number {
    if (i + 2 > this.b.length) malformed(i, 'GE needs a character')
    this.data(this.b[i + 1] as number, true)
    return i + 2
  }

  /** One buffer position of data: the character `ch`, after a GE order when `escaped` (kept in the raw bytes). */
  private data (ch: number, escaped: boolean): void {
    const target = this.current ?? this.unformatted
    if (escaped) target.bytes.push(Order.GE)
    target.bytes.push(ch)
    target.chars.push(this.codePoints[ch]!)
    this.running = (this.running + 1) % this.size
  }

  private startField (address: number, attribute?: FieldAttribute): void {
    this.closeField()
    this.current = { address, bytes: [], chars: [] }
    if (attribute !== undefined) this.current.attribute = attribute
    this.running = address
  }

  private closeField (): void {
    const cur = this.current
    if (cur === undefined) return
    const f: InboundField = { address: cur.address, text: textOf(cur.chars), raw: Buffer.from(cur.bytes) }
    if (cur.attribute !== undefined) f.attribute = cur.attribute
    this.fields.push(f)
    this.current = undefined
  }
}

/** Parse an inbound record (no TN3270E header, no IAC EOR). */
export function parseInbound (buf: Uint8Array, opts: InboundOptions): InboundRecord {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  if (b.length === 0) malformed(0, 'empty record (no AID)')
  const aidCode = b[0] as number
  const aid = aidName(aidCode)
  if (aid === undefined) malformed(0, `unknown AID ${hex(aidCode)}`)
  if (aidCode === Aid.STRUCTURED_FIELD) return parseSfInbound(b, aid)
  const rec: InboundRecord = { aid, aidCode, shortRead: b.length === 1, fields: [] }
  if (b.length === 1) return rec
  if (b.length === 2) malformed(1, 'cursor address needs 2 bytes, record ends after 1')
  const reader = new InboundFieldReader(b, opts)
  rec.cursor = reader.address(1, 'cursor address')
  reader.read(3)
  rec.fields = reader.fields
  const pre = reader.unformatted
  if (pre.bytes.length > 0) rec.unformatted = { text: textOf(pre.chars), raw: Buffer.from(pre.bytes) }
  return rec
}

function parseSfInbound (b: Buffer, aid: AidName): InboundRecord {
  const sfs = parseStructuredFields(b, 1)
  const rec: InboundRecord = { aid, aidCode: Aid.STRUCTURED_FIELD, shortRead: false, fields: [], structuredFields: sfs, queryReplies: [] }
  for (const sf of sfs) {
    if (sf.id !== StructuredFieldId.QUERY_REPLY) continue
    if (sf.data.length < 1) malformed(sf.offset, 'query reply without a QCODE')
    const code = sf.data[0] as number
    const data = sf.data.subarray(1)
    rec.queryReplies?.push({ code, name: queryCodeName(code), data: Buffer.from(data) })
    if (code === QueryCode.USABLE_AREA) {
      if (data.length < 6) malformed(sf.offset, `Usable Area query reply has ${data.length} data byte(s), needs at least 6`)
      const ua: UsableArea = {
        addressing: (data[0] as number) & 0x0f,
        cols: data.readUInt16BE(2),
        rows: data.readUInt16BE(4),
      }
      if (data.length >= 19) ua.bufferSize = data.readUInt16BE(17)
      rec.usableArea = ua
    }
    if (code === QueryCode.CHARACTER_SETS) {
      const cs = baseCharacterSet(data)
      if (cs !== undefined) rec.characterSet = cs
    }
  }
  return rec
}

/**
 * The CGCSGID of the descriptor with LCID X'00' (the base set). Layout after the QCODE: FLAGS1
 * (X'02' = CGCSGIDs present), FLAGS2, SDW, SDH, FORM (4), DL, then descriptors of DL bytes: SET,
 * FLAGS, LCID, [SW, SH, SUBSN (2)], CGCSGID (4, last). Undefined when absent or too short: a
 * terminal that says nothing about its code page is not an error.
 */
function baseCharacterSet (data: Buffer): CharacterSet | undefined {
  if (data.length < 9 || ((data[0] as number) & 0x02) === 0) return undefined
  const dl = data[8] as number
  if (dl < 7) return undefined
  for (let at = 9; at + dl <= data.length; at += dl) {
    if (data[at + 2] !== 0x00) continue
    return { characterSetId: data.readUInt16BE(at + dl - 4), codePageId: data.readUInt16BE(at + dl - 2) }
  }
  return undefined
}

export interface BuildInboundField { address: number; text?: string; raw?: Uint8Array }

export interface BuildInboundOptions {
  aid: AidName | number
  /** Required unless this is a short read; default 0. */
  cursor?: number
  fields?: BuildInboundField[]
  /** Data after the cursor with no SBA (unformatted screen). */
  unformatted?: string
  rows: number
  cols: number
  cp?: CodePage
  /** Force (true) or forbid (false) a short read; default: short for PA1-3 and CLEAR. */
  shortRead?: boolean
  addressMode?: AddressMode
}

function encodeData (text: string, cp: CodePage): number[] {
  // Bytes that would read as orders become SUB, as in ScreenWriter.text().
  return [...encode(text, cp)].map((x) => (x < 0x40 && !isFormatControl(x) ? EBCDIC_SUBSTITUTE : x))
}

/** Build an inbound Read Modified record (what a terminal sends on an AID key). */
export function buildInbound (o: BuildInboundOptions): Buffer {
  const code = typeof o.aid === 'number' ? o.aid : Aid[o.aid]
  if (code === undefined) throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `unknown AID ${String(o.aid)}`)
  const name = aidName(code)
  const short = o.shortRead ?? (name !== undefined && SHORT_READ_AIDS.has(name))
  if (short) return Buffer.of(code)
  const cp = o.cp ?? DEFAULT_CODE_PAGE
  const size = o.rows * o.cols
  const mode = o.addressMode ?? addressModeFor(size)
  const addr = (a: number, what: string): [number, number] => {
    if (!Number.isInteger(a) || a < 0 || a >= size) {
      throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `${what} ${a} outside the ${o.rows}x${o.cols} buffer`)
    }
    return encodeAddress(a, mode)
  }
  const out: number[] = [code, ...addr(o.cursor ?? 0, 'cursor address')]
  if (o.unformatted !== undefined) out.push(...encodeData(o.unformatted, cp))
  for (const f of o.fields ?? []) {
    out.push(Order.SBA, ...addr(f.address, 'field address'))
    if (f.raw !== undefined) out.push(...f.raw)
    else if (f.text !== undefined) out.push(...encodeData(f.text, cp))
  }
  return Buffer.from(out)
}

export interface BuildQueryReplyOptions {
  /** Usable Area reply (QCODE X'81'), laid out as x3270 sends it. */
  usableArea?: { rows: number; cols: number }
  /** Character Sets reply (QCODE X'85') with one base set of this code page, laid out as x3270 sends it. */
  codePageId?: number
  /** Further replies, sent as given (QCODE + data). */
  replies?: Array<{ code: number; data?: Uint8Array }>
}

/** Build an inbound AID X'88' record with Query Reply structured fields (answer to Read Partition Query). */
export function buildQueryReply (o: BuildQueryReplyOptions): Buffer {
  const sfs: number[][] = []
  if (o.usableArea !== undefined) {
    const { rows, cols } = o.usableArea
    const d: number[] = [0x01, 0x00, cols >> 8, cols & 0xff, rows >> 8, rows & 0xff, 0x01,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // Xr, Yr (not modelled)
      0x07, 0x0c, // AW, AH: a 7×12 cell
      ((rows * cols) >> 8) & 0xff, (rows * cols) & 0xff]
    sfs.push([QueryCode.USABLE_AREA, ...d])
  }
  if (o.codePageId !== undefined) {
    // FLAGS1 X'82' (graphic escape, CGCSGIDs present), SDW/SDH of a 3279-2, DL 7, set 0 LCID 0, GCSGID 697.
    const cp = o.codePageId
    sfs.push([QueryCode.CHARACTER_SETS, 0x82, 0x00, 0x09, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x10, 0x00, 0x02, 0xb9, (cp >> 8) & 0xff, cp & 0xff])
  }
  for (const r of o.replies ?? []) sfs.push([r.code, ...(r.data ?? [])])
  const out: number[] = [Aid.STRUCTURED_FIELD]
  for (const body of sfs) {
    const len = 3 + body.length // length (2) + SFID X'81' + QCODE + data
    out.push(len >> 8, len & 0xff, StructuredFieldId.QUERY_REPLY, ...body)
  }
  return Buffer.from(out)
}
