// Wire format of the `sna` host link (docs/hostlink.md): frames of
//   type (1 byte) | length (4 bytes, unsigned big-endian, payload bytes only) | payload
// carrying HELLO (JSON), PIU (one whole FID2 PIU, opaque here), PING/PONG (u32 id) and BYE
// (UTF-8 reason). Pure: encoders and an incremental decoder, no I/O.
import { ErrorCodes, lbError, Tn3270LbError } from '../errors.js'

export const FrameType = { HELLO: 0x01, PIU: 0x02, PING: 0x03, PONG: 0x04, BYE: 0x05 } as const
export type FrameTypeName = 'HELLO' | 'PIU' | 'PING' | 'PONG' | 'BYE'

export const HEADER_LENGTH = 5
export const PROTOCOL = 'tn3270-lb/sna'
export const PROTOCOL_VERSION = 1
export const MAX_HELLO = 64 * 1024
export const MAX_BYE = 1024
/**
 * Default PIU limit: TH (6) + RH (3) + a 32 KiB RU fit with room to spare. A BIND gives the maximum
 * RU size as mantissa × 2^exponent in bytes 10-11 (SNA Formats, GA27-3136); 32 KiB = X'8C'.
 */
export const DEFAULT_MAX_PIU = 65536

export type Frame =
  | { type: 'HELLO', hello: unknown }
  | { type: 'PIU', piu: Buffer }
  | { type: 'PING', id: number }
  | { type: 'PONG', id: number }
  | { type: 'BYE', reason: string }

function frame (type: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length)
  out[0] = type
  out.writeUInt32BE(payload.length, 1)
  payload.copy(out, HEADER_LENGTH)
  return out
}

export function encodeHello (hello: object): Buffer {
  const payload = Buffer.from(JSON.stringify(hello), 'utf8')
  if (payload.length > MAX_HELLO) throw lbError(ErrorCodes.HOSTLINK_HELLO, `HELLO of ${payload.length} bytes exceeds the ${MAX_HELLO}-byte limit`)
  return frame(FrameType.HELLO, payload)
}

export function encodePiu (piu: Buffer, maxPiuSize = DEFAULT_MAX_PIU): Buffer {
  if (piu.length === 0) throw lbError(ErrorCodes.HOSTLINK_FRAME, 'cannot send an empty PIU')
  if (piu.length > maxPiuSize) throw lbError(ErrorCodes.HOSTLINK_FRAME, `PIU of ${piu.length} bytes exceeds maxPiuSize ${maxPiuSize}`)
  return frame(FrameType.PIU, piu)
}

function idFrame (type: number, id: number): Buffer {
  const payload = Buffer.allocUnsafe(4)
  payload.writeUInt32BE(id >>> 0, 0)
  return frame(type, payload)
}
export const encodePing = (id: number): Buffer => idFrame(FrameType.PING, id)
export const encodePong = (id: number): Buffer => idFrame(FrameType.PONG, id)

export function encodeBye (reason: string): Buffer {
  let payload = Buffer.from(reason, 'utf8')
  if (payload.length > MAX_BYE) payload = payload.subarray(0, MAX_BYE)
  return frame(FrameType.BYE, payload)
}

export interface DecodeResult {
  frames: Frame[]
  /** Set once the stream is unusable; frames decoded before the bad one are still returned. */
  error?: Tn3270LbError
}

/** Incremental decoder: push TCP chunks of any size, get whole frames. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0)
  private failed: Tn3270LbError | undefined
  constructor (private readonly maxPiuSize = DEFAULT_MAX_PIU) {}

  /** Bytes held waiting for the rest of a frame. */
  get buffered (): number { return this.buf.length }

  push (chunk: Buffer): DecodeResult {
    if (this.failed !== undefined) return { frames: [], error: this.failed }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    const frames: Frame[] = []
    let off = 0
    while (this.buf.length - off >= HEADER_LENGTH) {
      const type = this.buf[off]!
      const length = this.buf.readUInt32BE(off + 1)
      const bad = this.checkHeader(type, length)
      if (bad !== undefined) return this.fail(frames, bad)
      if (this.buf.length - off < HEADER_LENGTH + length) break
      const f = decodePayload(type, this.buf.subarray(off + HEADER_LENGTH, off + HEADER_LENGTH + length))
      if (f instanceof Tn3270LbError) return this.fail(frames, f)
      frames.push(f)
      off += HEADER_LENGTH + length
    }
    // Keep the remainder only; copy so a large chunk's memory is not pinned by a small tail.
    this.buf = off === this.buf.length ? Buffer.alloc(0) : off === 0 ? this.buf : Buffer.from(this.buf.subarray(off))
    return { frames }
  }

  /** The stream is unusable from here on: frames decoded before the bad one are still returned. */
  private fail (frames: Frame[], error: Tn3270LbError): DecodeResult {
    this.failed = error
    this.buf = Buffer.alloc(0)
    return { frames, error }
  }

  /** Why a frame header is unacceptable (docs/hostlink.md, "Bad frames"), or undefined if it is fine. */
  private checkHeader (type: number, length: number): Tn3270LbError | undefined {
    const bad = (msg: string) => lbError(ErrorCodes.HOSTLINK_FRAME, msg)
    switch (type) {
      case FrameType.HELLO:
        return length === 0 || length > MAX_HELLO ? bad(`HELLO frame length ${length} outside 1..${MAX_HELLO}`) : undefined
      case FrameType.PIU:
        return length === 0 || length > this.maxPiuSize ? bad(`PIU frame length ${length} outside 1..${this.maxPiuSize} (maxPiuSize)`) : undefined
      case FrameType.PING:
      case FrameType.PONG:
        return length !== 4 ? bad(`${type === FrameType.PING ? 'PING' : 'PONG'} frame length ${length}, expected 4`) : undefined
      case FrameType.BYE:
        return length > MAX_BYE ? bad(`BYE frame length ${length} exceeds ${MAX_BYE}`) : undefined
      default:
        return bad(`unknown frame type 0x${type.toString(16).padStart(2, '0')} (length ${length})`)
    }
  }
}

/** The frame a checked header and its payload make, or the error that ends the stream. */
function decodePayload (type: number, payload: Buffer): Frame | Tn3270LbError {
  switch (type) {
    case FrameType.HELLO: {
      try {
        return { type: 'HELLO', hello: JSON.parse(payload.toString('utf8')) }
      } catch (err) {
        return lbError(ErrorCodes.HOSTLINK_HELLO, 'HELLO payload is not valid JSON', err)
      }
    }
    // Copy: the PIU outlives the receive buffer it arrived in.
    case FrameType.PIU: return { type: 'PIU', piu: Buffer.from(payload) }
    case FrameType.PING: return { type: 'PING', id: payload.readUInt32BE(0) }
    case FrameType.PONG: return { type: 'PONG', id: payload.readUInt32BE(0) }
    default: return { type: 'BYE', reason: payload.toString('utf8') }
  }
}
