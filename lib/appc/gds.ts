// GDS variables and LL-framed logical records (SC31-6808 GDS; the CNOS trace of KB Q308927):
// `LL(2) ID(2) data`, LL counts itself; LL bit 0 (X'8000') = "another segment of this variable
// follows" (Wireshark packet-sna.c hf_sna_gds_cont). Basic-conversation logical records use the same LL without an ID.
import { ErrorCodes, lbError } from '../errors.js'

export const GDS_CNOS = 0x1210            // SC31-6808 CNOS Change Number of Sessions
export const GDS_APPLICATION_DATA = 0x12ff // SC31-6808 GDS mapped conversation application data
export const GDS_NULL_DATA = 0x12f1
export const GDS_MAP_NAME = 0x12f3
export const GDS_ERROR_DATA = 0x12f4
export const GDS_ERROR_LOG = 0x12e1       // SC31-6808 FMH-7 error log

const CONTINUED = 0x8000
/** Largest LL value of one segment (15 bits). */
export const MAX_SEGMENT = 0x7fff

export interface GdsVariable { id: number, data: Buffer }

function malformed (what: string): Error {
  return lbError(ErrorCodes.APPC_MALFORMED, `GDS: ${what}`)
}

/**
 * Encodes one GDS variable; data longer than one segment is split, every segment but the last
 * with the continuation bit. The ID is in the first segment only.
 */
export function encodeGds (id: number, data: Buffer, maxSegment = MAX_SEGMENT): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw malformed(`id ${id} is not 16-bit`)
  if (maxSegment < 5 || maxSegment > MAX_SEGMENT) throw malformed(`segment size ${maxSegment} out of range 5-${MAX_SEGMENT}`)
  const parts: Buffer[] = []
  let rest = data
  let first = true
  do {
    const header = first ? 4 : 2
    const take = Math.min(rest.length, maxSegment - header)
    const chunk = rest.subarray(0, take)
    rest = rest.subarray(take)
    const h = Buffer.alloc(header)
    h.writeUInt16BE((header + take) | (rest.length > 0 ? CONTINUED : 0), 0)
    if (first) h.writeUInt16BE(id, 2)
    parts.push(h, chunk)
    first = false
  } while (rest.length > 0)
  return Buffer.concat(parts)
}

/** Incremental GDS parser: feed bytes in any split, get whole variables (continuations joined). */
export class GdsParser {
  private buf: Buffer = Buffer.alloc(0)
  private current: { id: number, parts: Buffer[] } | undefined

  feed (chunk: Buffer): GdsVariable[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    const out: GdsVariable[] = []
    for (;;) {
      const header = this.current === undefined ? 4 : 2
      if (this.buf.length < 2) break
      const ll = this.buf.readUInt16BE(0)
      const len = ll & ~CONTINUED
      if (len < header) throw malformed(`LL ${len} shorter than its ${header}-byte header`)
      if (this.buf.length < len) break
      if (this.current === undefined) this.current = { id: this.buf.readUInt16BE(2), parts: [] }
      this.current.parts.push(Buffer.from(this.buf.subarray(header, len)))
      this.buf = this.buf.subarray(len)
      if ((ll & CONTINUED) === 0) {
        out.push({ id: this.current.id, data: Buffer.concat(this.current.parts) })
        this.current = undefined
      }
    }
    return out
  }

  /** True when no partial variable is buffered. */
  get idle (): boolean { return this.buf.length === 0 && this.current === undefined }
}

/** Parses a buffer that must hold only whole GDS variables. */
export function decodeGdsAll (buf: Buffer): GdsVariable[] {
  const p = new GdsParser()
  const vars = p.feed(buf)
  if (!p.idle) throw malformed(`${buf.length} bytes end inside a variable`)
  return vars
}

/** Basic conversation: one logical record = LL + data (no ID), split with the continuation bit. */
export function encodeLogicalRecord (data: Buffer, maxSegment = MAX_SEGMENT): Buffer {
  const parts: Buffer[] = []
  let rest = data
  do {
    const take = Math.min(rest.length, maxSegment - 2)
    const h = Buffer.alloc(2)
    rest = rest.subarray(take)
    h.writeUInt16BE((2 + take) | (rest.length > 0 ? CONTINUED : 0), 0)
    parts.push(h, data.subarray(data.length - rest.length - take, data.length - rest.length))
  } while (rest.length > 0)
  return Buffer.concat(parts)
}
