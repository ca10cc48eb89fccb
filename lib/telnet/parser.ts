// Incremental telnet input parser (RFC 854, 855, 885). Pure: bytes in, events out; it keeps
// its state between feed() calls so any TCP segmentation (down to one byte per chunk) gives
// the same events, except that data runs may arrive split over several 'data' events.
import { ErrorCodes, lbError } from '../errors.js'
import { IAC, SB, SE, EOR_CMD, commandName, verbFromCode, type CommandName, type Verb } from './codes.js'

export type TelnetEvent =
  | { type: 'data', data: Buffer }
  | { type: 'eor' }
  | { type: 'command', command: CommandName, code: number }
  | { type: 'negotiate', verb: Verb, option: number }
  | { type: 'subneg', option: number, data: Buffer }

export interface ParserLimits {
  /** Largest subnegotiation body (bytes between `IAC SB opt` and `IAC SE`, undoubled). */
  maxSubneg?: number
  /** Largest record: data bytes between two IAC EOR. */
  maxRecord?: number
}

export const DEFAULT_MAX_SUBNEG = 1024
export const DEFAULT_MAX_RECORD = 64 * 1024

// Explicit states of the RFC 854 byte grammar.
const enum S {
  Data, // plain data
  Iac, // after IAC
  Verb, // after IAC WILL/WONT/DO/DONT: next byte is the option
  SbOpt, // after IAC SB: next byte is the option
  SbData, // inside a subnegotiation
  SbIac, // IAC inside a subnegotiation: IAC (doubled 255) or SE
}

/** A Buffer view of the same memory (Uint8Array input is allowed; no copy either way). */
function asBuffer (chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

export class TelnetParser {
  private state: S = S.Data
  private verb: Verb = 'WILL'
  private sbOption = 0
  private sb: number[] = []
  private recordLen = 0
  private readonly maxSubneg: number
  private readonly maxRecord: number

  constructor (limits: ParserLimits = {}) {
    this.maxSubneg = limits.maxSubneg ?? DEFAULT_MAX_SUBNEG
    this.maxRecord = limits.maxRecord ?? DEFAULT_MAX_RECORD
  }

  /** Bytes of the current (unterminated) record seen so far. */
  get pendingRecordLength (): number { return this.recordLen }

  /**
   * Parse one chunk. Throws TELNET_SUBNEG_TOO_LONG / TELNET_RECORD_TOO_LONG / TELNET_PROTOCOL;
   * after a throw the parser is unusable (the connection must be closed).
   */
  feed (chunk: Uint8Array): TelnetEvent[] {
    const events: TelnetEvent[] = []
    this.feedEach(chunk, (ev) => { events.push(ev); return true })
    return events
  }

  /**
   * Parse `chunk`, handing each event to `onEvent` as soon as it is complete. When `onEvent`
   * returns false the parser stops right after that event, at an event boundary, and returns
   * how many bytes of `chunk` it consumed: the rest is untouched and may be fed later, or handed
   * to another reader as raw telnet bytes (a negotiation handed over, docs/tn3270.md). Returns
   * `chunk.length` when it parsed everything. Throws as `feed` does.
   */
  feedEach (chunk: Uint8Array, onEvent: (ev: TelnetEvent) => boolean): number {
    let runStart = -1 // start of a run of plain data bytes inside chunk
    /** Hands over the data run before `end`; false = the reader wants no more. */
    const flush = (end: number): boolean => {
      const start = runStart
      runStart = -1
      // A view, not a copy: the connection copies once when the record ends.
      return start === -1 || end <= start || onEvent({ type: 'data', data: asBuffer(chunk).subarray(start, end) })
    }
    const countData = (n: number): void => {
      this.recordLen += n
      if (this.recordLen > this.maxRecord) {
        throw lbError(ErrorCodes.TELNET_RECORD_TOO_LONG, `telnet record exceeds ${this.maxRecord} bytes without IAC EOR`)
      }
    }
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!
      let ev: TelnetEvent | undefined
      switch (this.state) {
        case S.Data: {
          if (b !== IAC) {
            // A data run ends at the next IAC (RFC 854): found by indexOf, not byte by byte.
            const next = chunk.indexOf(IAC, i + 1)
            const end = next === -1 ? chunk.length : next
            countData(end - i)
            if (runStart === -1) runStart = i
            i = end - 1
            break
          }
          // The IAC is not consumed when the reader stops at the data before it.
          if (!flush(i)) return i
          this.state = S.Iac
          break
        }
        case S.Iac:
          ev = this.afterIac(b, countData)
          break
        case S.Verb:
          this.state = S.Data
          ev = { type: 'negotiate', verb: this.verb, option: b }
          break
        case S.SbOpt:
          this.sbOption = b
          this.sb = []
          this.state = S.SbData
          break
        case S.SbData:
          if (b === IAC) this.state = S.SbIac
          else this.pushSb(b)
          break
        case S.SbIac:
          ev = this.inSubnegIac(b)
          break
      }
      // Every state change above is done before the reader sees the event.
      if (ev !== undefined && !onEvent(ev)) return i + 1
    }
    flush(chunk.length)
    return chunk.length
  }

  /** The byte after an IAC outside a subnegotiation; an event when it completes one. */
  private afterIac (b: number, countData: (n: number) => void): TelnetEvent | undefined {
    this.state = S.Data
    if (b === IAC) { // IAC IAC = one data byte 255 (RFC 854)
      countData(1)
      return { type: 'data', data: Buffer.from([IAC]) }
    }
    const verb = verbFromCode(b)
    if (verb !== undefined) { this.verb = verb; this.state = S.Verb; return undefined }
    if (b === SB) { this.state = S.SbOpt; return undefined }
    if (b === EOR_CMD) { // RFC 885: IAC EOR ends a record
      this.recordLen = 0
      return { type: 'eor' }
    }
    const name = commandName(b)
    if (name === undefined) {
      // SE outside a subnegotiation or an unassigned code: not telnet.
      throw lbError(ErrorCodes.TELNET_PROTOCOL, `unexpected telnet command IAC ${b} outside a subnegotiation`)
    }
    return { type: 'command', command: name, code: b }
  }

  /** The byte after an IAC inside a subnegotiation: IAC IAC or the IAC SE that ends it (RFC 855). */
  private inSubnegIac (b: number): TelnetEvent | undefined {
    if (b === IAC) { this.pushSb(IAC); this.state = S.SbData; return undefined }
    if (b === SE) {
      const ev: TelnetEvent = { type: 'subneg', option: this.sbOption, data: Buffer.from(this.sb) }
      this.sb = []
      this.state = S.Data
      return ev
    }
    // RFC 855: only IAC IAC and IAC SE may appear inside a subnegotiation.
    throw lbError(ErrorCodes.TELNET_PROTOCOL, `IAC ${b} inside subnegotiation of option ${this.sbOption} (expected IAC SE or IAC IAC)`)
  }

  private pushSb (b: number): void {
    if (this.sb.length >= this.maxSubneg) {
      throw lbError(ErrorCodes.TELNET_SUBNEG_TOO_LONG, `subnegotiation of option ${this.sbOption} exceeds ${this.maxSubneg} bytes`)
    }
    this.sb.push(b)
  }
}
