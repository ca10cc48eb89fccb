// Screen: a 3270 presentation space that applies outbound records the way a terminal does, and
// answers AID keys with Read Modified records. Semantics follow GA23-0059 ch. 3-4 as implemented
// by x3270 Common/ctlr.c (ctlr_write, ctlr_erase_all_unprotected, ctlr_read_modified):
//  * EW/EWA clear the buffer and select the default/alternate size; W writes from the cursor.
//  * WCC reset-MDT clears every MDT before the orders; keyboard-restore unlocks after them.
//  * SF/SFE put a field attribute at the current address (it displays as a blank); text overwrites.
//  * RA/EUA run to the stop address (exclusive); stop == current means the whole buffer.
//  * PT moves to the first position of the next unprotected field (0 if none before the end),
//    nulling the rest of the current field when it follows a command or data.
//  * IC sets the cursor; without IC, EW/EWA leave it at 0 and W leaves it where it was.
// Character attributes (SA, extended colours) are accepted and not modelled.

import { ErrorCodes, lbError } from '../errors.js'
import { addressModeFor, encodeAddress } from './address.js'
import { Aid, type AidName, ExtendedAttribute, FieldBit, isFormatControl, Order, SHORT_READ_AIDS, StructuredFieldId } from './constants.js'
import { type CodePage, decodeByte, DEFAULT_CODE_PAGE, EBCDIC_SUBSTITUTE, encode } from './ebcdic.js'
import { decodeFieldAttribute, type FieldAttribute } from './fields.js'
import { type OutboundOrder, type OutboundRecord, parseOutbound } from './outbound.js'

export interface ScreenOptions {
  /** Default size (Erase/Write); 24×80 unless given. */
  rows?: number
  cols?: number
  /** Alternate size (Erase/Write Alternate); defaults to the default size. */
  altRows?: number
  altCols?: number
  cp?: CodePage
}

export interface ScreenField {
  /** Address of the field attribute. */
  address: number
  /** Address of the first data position. */
  start: number
  length: number
  row: number
  col: number
  attribute: FieldAttribute
  /** Contents with nulls shown as spaces (hidden fields included, unmasked). */
  text: string
  /** Contents with nulls removed: what Read Modified sends. */
  value: string
}

const NO_FA = -1

function malformed (what: string): never {
  throw lbError(ErrorCodes.DATASTREAM_MALFORMED, what)
}

export class Screen {
  readonly defaultRows: number
  readonly defaultCols: number
  readonly altRows: number
  readonly altCols: number
  readonly cp: CodePage
  rows: number
  cols: number
  /** Cursor buffer address. */
  cursor = 0
  /** Locked after an AID is sent until a write with keyboard-restore (or EAU). */
  keyboardLocked = true
  /** The last write asked to sound the alarm. */
  alarm = false
  /** Records applied so far. */
  writes = 0
  private chars: Uint8Array
  private attrs: Int16Array

  constructor (opts: ScreenOptions = {}) {
    this.defaultRows = opts.rows ?? 24
    this.defaultCols = opts.cols ?? 80
    this.altRows = opts.altRows ?? this.defaultRows
    this.altCols = opts.altCols ?? this.defaultCols
    this.cp = opts.cp ?? DEFAULT_CODE_PAGE
    this.rows = this.defaultRows
    this.cols = this.defaultCols
    const cap = Math.max(this.defaultRows * this.defaultCols, this.altRows * this.altCols)
    if (cap > 16384) malformed(`screen of ${cap} positions exceeds 14-bit addressing`)
    this.chars = new Uint8Array(cap)
    this.attrs = new Int16Array(cap).fill(NO_FA)
  }

  get size (): number { return this.rows * this.cols }

  /** Apply one outbound record (bytes or an already parsed record). Malformed input throws DATASTREAM_MALFORMED. */
  apply (record: Uint8Array | OutboundRecord): this {
    this.applyRecord(record instanceof Uint8Array ? parseOutbound(record, { cp: this.cp }) : record)
    this.writes++
    return this
  }

  private applyRecord (rec: OutboundRecord): void {
    switch (rec.command) {
      case 'EW':
      case 'EWA':
        this.erase(rec.command === 'EWA')
        this.writeOrders(rec, true)
        break
      case 'W':
        this.writeOrders(rec, false)
        break
      case 'EAU':
        this.eraseAllUnprotected()
        break
      case 'WSF':
        for (const sf of rec.structuredFields ?? []) {
          if (sf.id === StructuredFieldId.ERASE_RESET) {
            this.erase(((sf.data[0] ?? 0) & 0x80) !== 0)
          } else if (sf.id === StructuredFieldId.OUTBOUND_3270DS && sf.data.length >= 2) {
            // Outbound 3270DS: PID, command, [WCC, orders] (GA23-0059 ch. 5).
            this.applyRecord(parseOutbound(sf.data.subarray(1), { cp: this.cp }))
          }
        }
        break
      default:
        break // Read commands: the terminal would answer; the model has nothing to change.
    }
  }

  private erase (alternate: boolean): void {
    this.rows = alternate ? this.altRows : this.defaultRows
    this.cols = alternate ? this.altCols : this.defaultCols
    this.chars.fill(0)
    this.attrs.fill(NO_FA)
    this.cursor = 0
  }

  private writeOrders (rec: OutboundRecord, erased: boolean): void {
    const wcc = rec.wcc
    if (wcc?.resetMdt === true) {
      for (let a = 0; a < this.size; a++) {
        const fa = this.attrs[a] as number
        if (fa !== NO_FA) this.attrs[a] = fa & ~FieldBit.MDT
      }
    }
    const size = this.size
    let ba = erased ? 0 : this.cursor
    let cursor: number | undefined
    let afterData = true // a PT right after the command or data nulls the field remainder
    const check = (o: OutboundOrder & { address: number }): number => {
      if (o.address >= size) malformed(`3270 data stream malformed at offset ${o.offset}: ${o.order} address ${o.address} outside the ${this.rows}x${this.cols} buffer`)
      return o.address
    }
    for (const o of rec.orders) {
      let data = false
      switch (o.order) {
        case 'SBA':
          ba = check(o)
          break
        case 'TEXT':
          for (const c of o.bytes) { this.put(ba, c); ba = (ba + 1) % size }
          data = true
          break
        case 'GE':
          this.put(ba, o.char)
          ba = (ba + 1) % size
          data = true
          break
        case 'SF':
        case 'SFE':
          this.attrs[ba] = o.attribute.raw
          this.chars[ba] = 0
          ba = (ba + 1) % size
          break
        case 'MF': {
          const fa = this.attrs[ba] as number
          if (fa !== NO_FA) {
            const p = o.pairs.find((x) => x.type === ExtendedAttribute.FIELD)
            if (p !== undefined) this.attrs[ba] = p.value
            ba = (ba + 1) % size
          }
          break
        }
        case 'SA':
          break
        case 'IC':
          cursor = ba
          break
        case 'PT':
          ba = this.programTab(ba, afterData)
          break
        case 'RA': {
          const stop = check(o)
          do { this.put(ba, o.char); ba = (ba + 1) % size } while (ba !== stop)
          break
        }
        case 'EUA': {
          const stop = check(o)
          this.eraseUnprotected(ba, stop)
          ba = stop
          break
        }
      }
      afterData = data
    }
    if (cursor !== undefined) this.cursor = cursor
    this.alarm = wcc?.alarm === true
    if (wcc?.restore === true) this.keyboardLocked = false
  }

  private put (a: number, c: number): void {
    this.chars[a] = c
    this.attrs[a] = NO_FA
  }

  private programTab (ba: number, nullFill: boolean): number {
    const size = this.size
    const here = this.attrs[ba] as number
    if (here !== NO_FA && (here & FieldBit.PROTECTED) === 0) return (ba + 1) % size
    let target = 0
    for (let k = 1; k <= size; k++) {
      const a = (ba + k) % size
      const fa = this.attrs[a] as number
      if (fa !== NO_FA && (fa & FieldBit.PROTECTED) === 0) {
        target = (a + 1) % size
        break
      }
    }
    if (target < ba) target = 0
    if (nullFill) {
      for (let a = ba; a < size && (this.attrs[a] as number) === NO_FA; a++) {
        if (a === target) break
        this.chars[a] = 0
      }
    }
    return target
  }

  /** The field attribute that governs address `a` (the nearest one before it, wrapping), or undefined if unformatted. */
  private governing (a: number): number | undefined {
    const size = this.size
    for (let k = 0; k < size; k++) {
      const p = (a - k + size) % size
      const fa = this.attrs[p] as number
      if (fa !== NO_FA) return fa
    }
    return undefined
  }

  private eraseUnprotected (from: number, stop: number): void {
    const size = this.size
    let fa = this.governing(from)
    let a = from
    do {
      const here = this.attrs[a] as number
      if (here !== NO_FA) fa = here
      else if (fa === undefined || (fa & FieldBit.PROTECTED) === 0) this.chars[a] = 0
      a = (a + 1) % size
    } while (a !== stop)
  }

  private eraseAllUnprotected (): void {
    const size = this.size
    if (this.isFormatted()) {
      this.eraseUnprotected(0, 0)
      for (let a = 0; a < size; a++) {
        const fa = this.attrs[a] as number
        if (fa !== NO_FA && (fa & FieldBit.PROTECTED) === 0) this.attrs[a] = fa & ~FieldBit.MDT
      }
    } else {
      this.chars.fill(0, 0, size)
    }
    this.cursor = this.firstUnprotected() ?? 0
    this.keyboardLocked = false
  }

  private firstUnprotected (from = 0): number | undefined {
    const size = this.size
    for (let k = 0; k < size; k++) {
      const a = (from + k) % size
      const fa = this.attrs[a] as number
      if (fa !== NO_FA && (fa & FieldBit.PROTECTED) === 0 && this.attrs[(a + 1) % size] === NO_FA) return (a + 1) % size
    }
    return undefined
  }

  isFormatted (): boolean {
    for (let a = 0; a < this.size; a++) if (this.attrs[a] !== NO_FA) return true
    return false
  }

  // ---- reading the screen ----

  /** The screen as text rows (field attributes, nulls, hidden fields and controls shown as spaces). */
  lines (): string[] {
    const size = this.size
    const out: string[] = []
    let fa = this.governing(size - 1)
    let row = ''
    for (let a = 0; a < size; a++) {
      const here = this.attrs[a] as number
      if (here !== NO_FA) {
        fa = here
        row += ' '
      } else if (fa !== undefined && (fa & FieldBit.INTENSITY) === 0x0c) {
        row += ' '
      } else {
        row += this.glyph(this.chars[a] as number)
      }
      if ((a + 1) % this.cols === 0) { out.push(row); row = '' }
    }
    return out
  }

  toString (): string { return this.lines().join('\n') }

  /** Text of one row (0-based). */
  line (row: number): string { return this.lines()[row] ?? '' }

  contains (text: string): boolean { return this.find(text) !== undefined }

  /** First (row, col) where `text` appears on a single row. */
  find (text: string): { row: number; col: number } | undefined {
    const ls = this.lines()
    for (let r = 0; r < ls.length; r++) {
      const c = (ls[r] as string).indexOf(text)
      if (c >= 0) return { row: r, col: c }
    }
    return undefined
  }

  /** Cursor as (row, col). */
  cursorPosition (): { row: number; col: number } {
    return { row: Math.floor(this.cursor / this.cols), col: this.cursor % this.cols }
  }

  /** Fields in buffer order. */
  fields (): ScreenField[] {
    const size = this.size
    const fas: number[] = []
    for (let a = 0; a < size; a++) if (this.attrs[a] !== NO_FA) fas.push(a)
    return fas.map((address, i) => {
      const next = fas[(i + 1) % fas.length] as number
      const start = (address + 1) % size
      const length = (next - address - 1 + size) % size
      let text = ''
      let value = ''
      for (let k = 0; k < length; k++) {
        const c = this.chars[(start + k) % size] as number
        text += c === 0 ? ' ' : this.glyph(c)
        if (c !== 0) value += decodeByte(c, this.cp)
      }
      return {
        address, start, length,
        row: Math.floor(address / this.cols), col: address % this.cols,
        attribute: decodeFieldAttribute(this.attrs[address] as number),
        text, value,
      }
    })
  }

  /** The field containing (row, col), if the screen is formatted. */
  fieldAt (row: number, col: number): ScreenField | undefined {
    const a = row * this.cols + col
    return this.fields().find((f) => a === f.address || ((a - f.start + this.size) % this.size) < f.length)
  }

  private glyph (c: number): string {
    if (c === 0) return ' '
    const ch = decodeByte(c, this.cp)
    const u = ch.charCodeAt(0)
    return u < 0x20 || (u >= 0x7f && u < 0xa0) ? ' ' : ch
  }

  // ---- acting as the terminal ----

  /** Move the cursor to (row, col). */
  moveCursor (row: number, col: number): this {
    if (row < 0 || col < 0 || row >= this.rows || col >= this.cols) malformed(`cursor (${row},${col}) outside the ${this.rows}x${this.cols} screen`)
    this.cursor = row * this.cols + col
    return this
  }

  /** Tab to the first position of the next unprotected field. */
  tab (): this {
    this.cursor = this.firstUnprotected(this.cursor) ?? 0
    return this
  }

  /**
   * Type text at the cursor into an unprotected field, setting its MDT; at the end of a field the
   * cursor skips to the next unprotected field. Typing into a protected position throws.
   */
  type (text: string): this {
    if (this.keyboardLocked) malformed('keyboard locked: cannot type until the host restores it')
    const size = this.size
    for (const b of encode(text, this.cp)) {
      if (this.attrs[this.cursor] !== NO_FA) this.tab()
      const fa = this.governing(this.cursor)
      const where = `(${Math.floor(this.cursor / this.cols)},${this.cursor % this.cols})`
      if (fa !== undefined && (fa & FieldBit.PROTECTED) !== 0) malformed(`cannot type at ${where}: protected field`)
      this.chars[this.cursor] = b < 0x40 && !isFormatControl(b) ? EBCDIC_SUBSTITUTE : b
      if (fa !== undefined) this.setMdt(this.cursor)
      this.cursor = (this.cursor + 1) % size
    }
    if (this.attrs[this.cursor] !== NO_FA) this.tab()
    return this
  }

  /** moveCursor(row, col) then type(text). */
  fill (row: number, col: number, text: string): this { return this.moveCursor(row, col).type(text) }

  private setMdt (a: number): void {
    const size = this.size
    for (let k = 0; k < size; k++) {
      const p = (a - k + size) % size
      const fa = this.attrs[p] as number
      if (fa !== NO_FA) { this.attrs[p] = fa | FieldBit.MDT; return }
    }
  }

  /**
   * Press an AID key: the Read Modified record the terminal sends (GA23-0059 ch. 3): AID,
   * cursor, then SBA + data (nulls suppressed) per field with MDT; PA1-3/CLEAR are short reads;
   * unformatted screens send all non-null data after the cursor. Locks the keyboard; CLEAR also
   * clears the screen to the default size.
   */
  readModified (aid: AidName): Buffer {
    const code = Aid[aid]
    this.keyboardLocked = true
    if (SHORT_READ_AIDS.has(aid)) {
      if (aid === 'CLEAR') { this.erase(false); this.writes++ }
      return Buffer.of(code)
    }
    const size = this.size
    const mode = addressModeFor(size)
    const out: number[] = [code, ...encodeAddress(this.cursor, mode)]
    if (!this.isFormatted()) {
      for (let a = 0; a < size; a++) if (this.chars[a] !== 0) out.push(this.chars[a] as number)
      return Buffer.from(out)
    }
    for (const f of this.fields()) {
      if (!f.attribute.mdt) continue
      out.push(Order.SBA, ...encodeAddress(f.start, mode))
      for (let k = 0; k < f.length; k++) {
        const c = this.chars[(f.start + k) % size] as number
        if (c !== 0) out.push(c)
      }
    }
    return Buffer.from(out)
  }
}

