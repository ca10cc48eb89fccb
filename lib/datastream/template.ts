// RecordTemplate: an outbound 3270 record whose orders are fixed and only some text changes (a
// host application's screen with one message line, a FLOOD record with its number). Built once by
// ScreenWriter#slot / #toTemplate, filled per record with one allocation: the bytes are exactly
// those ScreenWriter#text would write at each slot (IBM "3270 Data Stream Programmer's Reference",
// GA23-0059: characters that would encode to an order byte become X'3F' SUB).
//
//   const t = new ScreenWriter().write().sba(7, 0).sf({ protected: true }).slot().toTemplate()
//   t.fill(['RECORD 17 OF 500'])
import { ErrorCodes, lbError } from '../errors.js'
import { encodeInto } from './ebcdic.js'

export class RecordTemplate {
  private readonly constantBytes: number

  /**
   * `parts`: the constant bytes around the slots (one more part than slots); `text`: Unicode
   * U+0000-U+00FF → the byte written for it (the writer's code page, order bytes as SUB).
   */
  constructor (private readonly parts: readonly Buffer[], private readonly text: Uint8Array) {
    this.constantBytes = parts.reduce((n, p) => n + p.length, 0)
  }

  /** Number of text slots. */
  get slots (): number { return this.parts.length - 1 }

  /** Byte offset of the first slot's text in a filled record (later slots move with the text before them). */
  get firstSlotOffset (): number { return this.parts[0]!.length }

  /** The record with `texts[i]` in slot i (one text per slot). */
  fill (texts: readonly string[]): Buffer {
    const slots = this.parts.length - 1
    if (texts.length !== slots) {
      throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `RecordTemplate: ${texts.length} texts for ${slots} slots`)
    }
    let room = this.constantBytes
    for (let i = 0; i < slots; i++) room += texts[i]!.length
    const out = Buffer.allocUnsafe(room)
    let n = 0
    for (let i = 0; i < slots; i++) {
      const part = this.parts[i]!
      out.set(part, n)
      n = encodeInto(texts[i]!, out, n + part.length, this.text)
    }
    const last = this.parts[slots]!
    out.set(last, n)
    n += last.length
    // Fewer bytes than UTF-16 units only when the text had surrogate pairs (one SUB each).
    return n === room ? out : out.subarray(0, n)
  }
}
