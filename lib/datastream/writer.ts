// ScreenWriter: a fluent builder for outbound 3270 records (host → terminal).
// Byte layouts: IBM "3270 Data Stream Programmer's Reference", GA23-0059, ch. 3-5 (commands, WCC,
// orders and their operands, 12/14-bit addresses, structured fields). Builder misuse (an order before a command, an
// address off the screen) throws DATASTREAM_MALFORMED: it is a programming error, not peer data.
//
//   new ScreenWriter({ rows: 24, cols: 80 })
//     .eraseWrite({ restore: true, resetMdt: true })
//     .sba(0, 0).sf({ protected: true, intensified: true }).text('RECORD 17 OF 500')
//     .inputField(2, 10, 8).ic()
//     .toBuffer()

import { ErrorCodes, lbError } from '../errors.js'
import { type AddressMode, addressModeFor, encodeAddress } from './address.js'
import { Command, type CommandName, commandHasWcc, ExtendedAttribute, isFormatControl, Order, ReadPartitionType, StructuredFieldId } from './constants.js'
import { type CodePage, DEFAULT_CODE_PAGE, EBCDIC_SUBSTITUTE, encode, encodeInto, latin1Table } from './ebcdic.js'
import { encodeFieldAttribute, encodeWcc, type FieldAttributeOptions, type WccOptions } from './fields.js'
import type { AttributePair } from './outbound.js'
import { RecordTemplate } from './template.js'

export interface ScreenWriterOptions {
  rows?: number
  cols?: number
  cp?: CodePage
  /** Default: 12-bit unless rows×cols > 4096 (x3270's rule: 14-bit only where 12 bits cannot reach). */
  addressMode?: AddressMode
}

export interface ExtendedFieldOptions extends FieldAttributeOptions {
  /** X'41' highlighting: F0 normal, F1 blink, F2 reverse, F4 underscore, F8 intensify. */
  highlighting?: number
  /** X'42' foreground colour: F1 blue, F2 red, F3 pink, F4 green, F5 turquoise, F6 yellow, F7 white. */
  foreground?: number
  /** X'45' background colour. */
  background?: number
  /** Further raw (type, value) pairs. */
  pairs?: AttributePair[]
}

export interface InputFieldOptions {
  /** Initial contents; truncated to the field length. */
  initial?: string
  hidden?: boolean
  numeric?: boolean
  intensified?: boolean
  /** Give the field an initial MDT so it is read even if untouched. */
  mdt?: boolean
}

function misuse (what: string): never {
  throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `ScreenWriter: ${what}`)
}

export class ScreenWriter {
  readonly rows: number
  readonly cols: number
  readonly cp: CodePage
  readonly addressMode: AddressMode
  private readonly bytes: number[] = []
  /** Offsets in `bytes` where toTemplate() leaves a text slot. */
  private readonly slots: number[] = []
  private command: CommandName | undefined

  constructor (opts: ScreenWriterOptions = {}) {
    this.rows = opts.rows ?? 24
    this.cols = opts.cols ?? 80
    this.cp = opts.cp ?? DEFAULT_CODE_PAGE
    if (!Number.isInteger(this.rows) || !Number.isInteger(this.cols) || this.rows < 1 || this.cols < 1) {
      misuse(`bad screen size ${this.rows}x${this.cols}`)
    }
    const size = this.rows * this.cols
    this.addressMode = opts.addressMode ?? addressModeFor(size)
    if (size > (this.addressMode === 12 ? 4096 : 16384)) misuse(`screen ${this.rows}x${this.cols} too large for ${this.addressMode}-bit addressing`)
  }

  get size (): number { return this.rows * this.cols }

  // ---- commands (exactly one, first) ----

  /** Write (F1) + WCC. */
  write (wcc: WccOptions | number = {}): this { return this.cmd('W', wcc) }
  /** Erase/Write (F5) + WCC: clears the screen to the default (24×80) size. */
  eraseWrite (wcc: WccOptions | number = {}): this { return this.cmd('EW', wcc) }
  /** Erase/Write Alternate (7E) + WCC: clears to the alternate (model) size. */
  eraseWriteAlternate (wcc: WccOptions | number = {}): this { return this.cmd('EWA', wcc) }
  /** Erase All Unprotected (6F): no WCC, no data. */
  eraseAllUnprotected (): this { return this.cmd('EAU') }
  /** Write Structured Field (F3): follow with structuredField()/readPartitionQuery(). */
  writeStructuredField (): this { return this.cmd('WSF') }
  readBuffer (): this { return this.cmd('RB') }
  readModified (): this { return this.cmd('RM') }
  readModifiedAll (): this { return this.cmd('RMA') }

  private cmd (name: CommandName, wcc?: WccOptions | number): this {
    if (this.command !== undefined) misuse(`a record has one command; ${name} after ${this.command}`)
    this.command = name
    this.bytes.push(Command[name])
    if (commandHasWcc(name)) this.bytes.push(encodeWcc(wcc))
    return this
  }

  private orderAllowed (what: string): void {
    if (this.command === undefined) misuse(`${what} before a command (call write/eraseWrite/... first)`)
    if (!commandHasWcc(this.command)) misuse(`${what} is not allowed after the ${this.command} command`)
  }

  private addr (address: number): void {
    if (!Number.isInteger(address) || address < 0 || address >= this.size) {
      misuse(`address ${address} outside the ${this.rows}x${this.cols} buffer`)
    }
    const [b1, b2] = encodeAddress(address, this.addressMode)
    this.bytes.push(b1, b2)
  }

  /** Buffer address of (row, col), 0-based; throws when off the screen. */
  address (row: number, col: number): number {
    if (!Number.isInteger(row) || !Number.isInteger(col) || row < 0 || col < 0 || row >= this.rows || col >= this.cols) {
      misuse(`position (${row},${col}) outside the ${this.rows}x${this.cols} screen`)
    }
    return row * this.cols + col
  }

  // ---- orders ----

  /** Set Buffer Address (11) to (row, col). */
  sba (row: number, col: number): this { return this.sbaAddress(this.address(row, col)) }
  sbaAddress (address: number): this { return this.addressOrder('SBA', address) }

  /** Start Field (1D) + attribute; the attribute occupies the current position. */
  sf (attr: FieldAttributeOptions | number = {}): this {
    this.orderAllowed('SF')
    this.bytes.push(Order.SF, encodeFieldAttribute(attr))
    return this
  }

  /** Start Field Extended (29): count, then (type, value) pairs; the X'C0' field attribute always first. */
  sfe (opts: ExtendedFieldOptions = {}): this {
    this.orderAllowed('SFE')
    const pairs = this.extPairs(opts)
    this.pushPairs(Order.SFE, pairs)
    return this
  }

  /** Modify Field (2C): change the attribute at the current position. */
  mf (pairs: AttributePair[]): this {
    this.orderAllowed('MF')
    this.pushPairs(Order.MF, pairs)
    return this
  }

  /** Set Attribute (28): character attribute for the following data. */
  sa (type: number, value: number): this {
    this.orderAllowed('SA')
    this.bytes.push(Order.SA, type & 0xff, value & 0xff)
    return this
  }

  /** Insert Cursor (13) at the current position. */
  ic (): this { this.orderAllowed('IC'); this.bytes.push(Order.IC); return this }
  /** Program Tab (05). */
  pt (): this { this.orderAllowed('PT'); this.bytes.push(Order.PT); return this }

  /** Repeat to Address (3C): fill from the current position up to (not including) (row, col). */
  ra (row: number, col: number, char: string | number, opts: { ge?: boolean } = {}): this {
    return this.raAddress(this.address(row, col), char, opts)
  }

  raAddress (address: number, char: string | number, opts: { ge?: boolean } = {}): this {
    this.orderAllowed('RA')
    this.bytes.push(Order.RA)
    this.addr(address)
    if (opts.ge === true) this.bytes.push(Order.GE)
    this.bytes.push(typeof char === 'number' ? char & 0xff : this.dataByte(char))
    return this
  }

  /** Erase Unprotected to Address (12). */
  eua (row: number, col: number): this { return this.euaAddress(this.address(row, col)) }
  euaAddress (address: number): this { return this.addressOrder('EUA', address) }

  /** An order whose one operand is a buffer address (SBA, EUA). */
  private addressOrder (order: 'SBA' | 'EUA', address: number): this {
    this.orderAllowed(order)
    this.bytes.push(Order[order])
    this.addr(address)
    return this
  }

  /** Graphic Escape (08) + one character of the alternate (APL) set. */
  ge (char: number): this {
    this.orderAllowed('GE')
    this.bytes.push(Order.GE, char & 0xff)
    return this
  }

  /**
   * Text in the writer's code page. A character that would encode to an order byte (below X'40'
   * and not a format-control character) is written as X'3F' (SUB), so text can never corrupt the
   * record; characters outside the code page also become X'3F'.
   */
  text (s: string): this {
    this.orderAllowed('text')
    const scratch = new Uint8Array(s.length)
    const n = encodeInto(s, scratch, 0, textTable(this.cp))
    for (let i = 0; i < n; i++) this.bytes.push(scratch[i]!)
    return this
  }

  /**
   * A place for text given later (RecordTemplate.fill), encoded as text() would encode it: the
   * record's constant orders are built once and only the text changes per record.
   */
  slot (): this {
    this.orderAllowed('text slot')
    this.slots.push(this.bytes.length)
    return this
  }

  /** Raw bytes appended as they are (escape hatch for tests). */
  raw (bytes: Iterable<number>): this {
    if (this.command === undefined) misuse('raw bytes before a command')
    for (const b of bytes) this.bytes.push(b & 0xff)
    return this
  }

  // ---- conveniences ----

  /** SBA(row, col) SF(attr) text: a field whose attribute sits at (row, col), text from col+1. */
  field (row: number, col: number, text: string, attr: FieldAttributeOptions = { protected: true }): this {
    return this.sba(row, col).sf(attr).text(text)
  }

  /**
   * An input field: unprotected attribute at (row, col), `length` positions from col+1, then an
   * autoskip attribute to end it (if it fits on the screen). Leaves the buffer address after it.
   */
  inputField (row: number, col: number, length: number, opts: InputFieldOptions = {}): this {
    const start = this.address(row, col)
    this.sbaAddress(start).sf({ hidden: opts.hidden, numeric: opts.numeric, intensified: opts.intensified, mdt: opts.mdt })
    if (opts.initial !== undefined && opts.initial !== '') this.text([...opts.initial].slice(0, length).join(''))
    const end = start + 1 + length
    if (end < this.size) this.sbaAddress(end).sf({ skip: true })
    return this
  }

  /** SBA(row, col) then IC: put the cursor at (row, col). */
  cursorAt (row: number, col: number): this { return this.sba(row, col).ic() }

  // ---- structured fields (after writeStructuredField) ----

  /** One structured field: 2-byte length (including itself), id (1 or 2 bytes), data (GA23-0059 ch. 5). */
  structuredField (id: number, data: Iterable<number> = []): this {
    if (this.command !== 'WSF') misuse('structuredField() needs the WSF command first')
    const body = [...data].map((b) => b & 0xff)
    const idBytes = id > 0xff ? [(id >> 8) & 0xff, id & 0xff] : [id & 0xff]
    const len = 2 + idBytes.length + body.length
    if (len > 0xffff) misuse(`structured field of ${len} bytes exceeds 65535`)
    this.bytes.push(len >> 8, len & 0xff, ...idBytes, ...body)
    return this
  }

  /** Read Partition Query: SF `00 05 01 FF 02` (PID X'FF' = query, type 02). */
  readPartitionQuery (): this {
    return this.structuredField(StructuredFieldId.READ_PARTITION, [0xff, ReadPartitionType.QUERY])
  }

  // ---- output ----

  toBuffer (): Buffer {
    if (this.command === undefined) misuse('no command: an empty record')
    if (this.slots.length > 0) misuse('a record with text slots is a template (toTemplate)')
    return Buffer.from(this.bytes)
  }

  /** The record so far as a RecordTemplate: its constant bytes, with a text slot wherever slot() was called. */
  toTemplate (): RecordTemplate {
    if (this.command === undefined) misuse('no command: an empty record')
    const parts: Buffer[] = []
    let from = 0
    for (const at of this.slots) {
      parts.push(Buffer.from(this.bytes.slice(from, at)))
      from = at
    }
    parts.push(Buffer.from(this.bytes.slice(from)))
    return new RecordTemplate(parts, textTable(this.cp))
  }

  private extPairs (opts: ExtendedFieldOptions): AttributePair[] {
    const pairs: AttributePair[] = [{ type: ExtendedAttribute.FIELD, value: encodeFieldAttribute(opts) }]
    if (opts.highlighting !== undefined) pairs.push({ type: ExtendedAttribute.HIGHLIGHTING, value: opts.highlighting })
    if (opts.foreground !== undefined) pairs.push({ type: ExtendedAttribute.FOREGROUND, value: opts.foreground })
    if (opts.background !== undefined) pairs.push({ type: ExtendedAttribute.BACKGROUND, value: opts.background })
    if (opts.pairs !== undefined) pairs.push(...opts.pairs)
    return pairs
  }

  private pushPairs (order: number, pairs: AttributePair[]): void {
    if (pairs.length > 255) misuse(`${pairs.length} attribute pairs exceed 255`)
    this.bytes.push(order, pairs.length)
    for (const p of pairs) this.bytes.push(p.type & 0xff, p.value & 0xff)
  }

  private dataByte (ch: string): number {
    if ([...ch].length !== 1) misuse(`expected one character, got ${JSON.stringify(ch)}`)
    const b = encode(ch, this.cp)[0] as number
    return b < 0x40 && !isFormatControl(b) ? EBCDIC_SUBSTITUTE : b
  }
}

const TEXT_TABLES = new Map<CodePage, Uint8Array>()

/**
 * Unicode (U+0000-U+00FF) → the byte text() writes: the code page's byte, or X'3F' (SUB) where
 * that byte would be an order (below X'40' and not a format control, GA23-0059).
 */
function textTable (cp: CodePage): Uint8Array {
  let t = TEXT_TABLES.get(cp)
  if (t === undefined) {
    t = latin1Table(cp).map(b => b < 0x40 && !isFormatControl(b) ? EBCDIC_SUBSTITUTE : b)
    TEXT_TABLES.set(cp, t)
  }
  return t
}
