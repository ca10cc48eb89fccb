// Checked byte access for every SNA decoder: no read ever goes past the buffer; a short or bad
// field raises SNA_MALFORMED naming the field and its offset (offset is also kept as a number so
// a BIND decoder failure can become the X'0835xxxx' pointer sense, "SNA Formats", GA27-3136, Sense Data).
import { ErrorCodes, Tn3270LbError } from '../errors.js'

export class SnaMalformedError extends Tn3270LbError {
  readonly field: string
  readonly offset: number
  constructor (field: string, offset: number, message: string) {
    super(ErrorCodes.SNA_MALFORMED, `${field} at offset ${offset}: ${message}`)
    this.field = field
    this.offset = offset
  }
}

export function malformed (field: string, offset: number, message: string): SnaMalformedError {
  return new SnaMalformedError(field, offset, message)
}

/**
 * An exact-size copy of bytes kept beyond the current turn (a BIND image, for the session's life).
 * Outside Node's 8 KiB buffer pool: a small pooled copy or view keeps its whole slab alive, and
 * with it whatever else was allocated there (bench/README.md, gateway memory per idle session).
 */
export function keptCopy (b: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(b.length)
  b.copy(copy)
  return copy
}

/** Sequential reader over one RU/header; `base` shifts reported offsets (e.g. RU inside a PIU). */
export class ByteReader {
  pos = 0
  constructor (readonly buf: Buffer, readonly what: string, readonly base = 0) {}

  get remaining (): number { return this.buf.length - this.pos }
  get atEnd (): boolean { return this.pos >= this.buf.length }

  private need (n: number, field: string): void {
    if (this.pos + n > this.buf.length) {
      throw malformed(`${this.what} ${field}`, this.base + this.pos,
        `needs ${n} byte(s), only ${this.buf.length - this.pos} left (length ${this.buf.length})`)
    }
  }

  u8 (field: string): number {
    this.need(1, field)
    return this.buf[this.pos++]!
  }

  u16 (field: string): number {
    this.need(2, field)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  bytes (n: number, field: string): Buffer {
    this.need(n, field)
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n))
    this.pos += n
    return b
  }

  /** 1-byte length followed by that many bytes. */
  lenPrefixed (field: string): Buffer {
    const len = this.u8(`${field} length`)
    return this.bytes(len, field)
  }

  rest (): Buffer {
    const b = Buffer.from(this.buf.subarray(this.pos))
    this.pos = this.buf.length
    return b
  }

  /** Current absolute offset (for error messages and pointer senses). */
  get offset (): number { return this.base + this.pos }
}

export function checkByte (value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw malformed(field, 0, `value ${value} is not a byte (0-255)`)
  }
}

export function checkRange (value: number, min: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw malformed(field, 0, `value ${value} out of range ${min}-${max}`)
  }
}

export function lenPrefix (data: Buffer, field: string): Buffer {
  if (data.length > 0xff) throw malformed(field, 0, `length ${data.length} exceeds 255`)
  return Buffer.concat([Buffer.from([data.length]), data])
}

export function hex (buf: Buffer): string {
  return buf.toString('hex').toUpperCase()
}
