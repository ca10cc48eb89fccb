// A compact TN3270E load client for the benchmarks: negotiates like s3270 (DEVICE-TYPE
// IBM-3278-2-E, FUNCTIONS RESPONSES; RFC 2355 §7), splits the stream into records with
// Buffer.indexOf (so the client costs as little CPU as possible), answers ALWAYS-RESPONSE and
// TIMING-MARK, and types text + Enter into the DEMO input field. Bench code may not import
// test/, hence this copy.
import { connect, type Socket } from 'node:net'
import { buildInbound, encode, Aid } from '../lib/datastream/index.js'

const IAC = 0xff; const SB = 0xfa; const SE = 0xf0; const WILL = 0xfb; const WONT = 0xfc; const DO = 0xfd; const DONT = 0xfe; const EOR = 0xef
const TN3270E = 40; const TM = 6
const IAC_EOR = Buffer.from([IAC, EOR])

/** DEMO input field: row 5, after `==> ` (lib/hostsim/screens.ts DemoLayout). */
export const DEMO_INPUT_ADDRESS = 5 * 80 + 5

export interface BenchRecord {
  /** TN3270E data type (0 = 3270-DATA); -1 in raw mode (no TN3270E header). */
  dataType: number
  /** Record payload after the 5-byte TN3270E header, IAC doubling undone. */
  data: Buffer
}

export interface BenchClientOptions {
  port: number
  host?: string
  /** CONNECT name (LU or pool); undefined = generic. */
  resource?: string
  /** Records without a 5-byte TN3270E header and no negotiation (the plain-TCP baseline). */
  raw?: boolean
}

export class BenchClient {
  readonly socket: Socket
  /** Records received so far (counted, not kept). */
  records = 0
  bytes = 0
  onRecord: ((r: BenchRecord) => void) | undefined
  private pending: Buffer | undefined
  private parts: Buffer[] = []
  private readonly opts: BenchClientOptions

  private constructor (socket: Socket, opts: BenchClientOptions) {
    this.socket = socket
    this.opts = opts
    socket.setNoDelay(true)
    socket.on('data', chunk => this.onData(chunk))
    socket.on('error', () => {}) // close follows; callers notice through their own timeouts
  }

  /** Connects; unless raw, resolves once the first 3270 record (the DEMO screen) has arrived. */
  static async connect (opts: BenchClientOptions, timeoutMs = 10_000): Promise<BenchClient> {
    const socket = connect({ port: opts.port, host: opts.host ?? '127.0.0.1' })
    const c = new BenchClient(socket, opts)
    await withTimeout(new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.once('close', () => reject(new Error('closed before the first screen')))
      if (opts.raw === true) socket.once('connect', resolve)
      else c.onRecord = () => { c.onRecord = undefined; resolve() }
    }), timeoutMs, `first screen from port ${opts.port}`)
    socket.removeAllListeners('close')
    return c
  }

  /** Waits for the next record for which `match` holds (the others are ignored). */
  async next (match: (r: BenchRecord) => boolean = () => true, timeoutMs = 10_000): Promise<BenchRecord> {
    return await withTimeout(new Promise<BenchRecord>((resolve) => {
      this.onRecord = (r) => { if (match(r)) { this.onRecord = undefined; resolve(r) } }
    }), timeoutMs, 'a record')
  }

  /** Types text into the DEMO input field and presses Enter (a 3270-DATA record). */
  enter (text: string): void {
    const record = buildInbound({ aid: Aid.ENTER, cursor: DEMO_INPUT_ADDRESS + text.length, fields: [{ address: DEMO_INPUT_ADDRESS, text }], rows: 24, cols: 80 })
    this.socket.write(frame(Buffer.concat([Buffer.alloc(5), record])))
  }

  close (): void { this.socket.destroy() }

  private onData (chunk: Buffer): void {
    this.bytes += chunk.length
    let b = chunk
    if (this.pending !== undefined) { b = Buffer.concat([this.pending, chunk]); this.pending = undefined }
    let i = 0
    while (i < b.length) {
      const j = b.indexOf(IAC, i)
      if (j === -1) { this.parts.push(b.subarray(i)); return }
      if (j > i) this.parts.push(b.subarray(i, j))
      if (j + 1 >= b.length) { this.pending = b.subarray(j); return }
      const cmd = b[j + 1]!
      if (cmd === IAC) { this.parts.push(b.subarray(j, j + 1)); i = j + 2 } else if (cmd === EOR) {
        this.finishRecord(); i = j + 2
      } else if (cmd === DO || cmd === DONT || cmd === WILL || cmd === WONT) {
        if (j + 2 >= b.length) { this.pending = b.subarray(j); return }
        this.negotiate(cmd, b[j + 2]!); i = j + 3
      } else if (cmd === SB) {
        let end = b.indexOf(SE, j + 2)
        while (end !== -1 && b[end - 1] !== IAC) end = b.indexOf(SE, end + 1)
        if (end === -1) { this.pending = b.subarray(j); return }
        this.subneg(b.subarray(j + 2, end - 1)); i = end + 1
      } else i = j + 2
    }
  }

  private send (bytes: number[]): void { this.socket.write(Buffer.from(bytes)) }

  private negotiate (verb: number, option: number): void {
    if (verb === DO && option === TN3270E) this.send([IAC, WILL, TN3270E])
    else if (verb === DO && option === TM) this.send([IAC, WONT, TM])
    else if (verb === DO) this.send([IAC, WONT, option])
    else if (verb === WILL) this.send([IAC, DONT, option])
  }

  private subneg (body: Buffer): void {
    if (body[0] !== TN3270E) return
    const v = body.subarray(1)
    if (v[0] === 0x08 && v[1] === 0x02) { // SEND DEVICE-TYPE → DEVICE-TYPE REQUEST (RFC 2355 §7.1)
      const req = [IAC, SB, TN3270E, 0x02, 0x07, ...Buffer.from('IBM-3278-2-E')]
      if (this.opts.resource !== undefined) req.push(0x01, ...Buffer.from(this.opts.resource))
      this.send([...req, IAC, SE])
    } else if (v[0] === 0x02 && v[1] === 0x04) { // DEVICE-TYPE IS → FUNCTIONS REQUEST RESPONSES
      this.send([IAC, SB, TN3270E, 0x03, 0x07, 0x02, IAC, SE])
    } else if (v[0] === 0x03 && v[1] === 0x07) { // FUNCTIONS REQUEST from the server: agree
      this.send([IAC, SB, TN3270E, 0x03, 0x04, ...v.subarray(2), IAC, SE])
    }
  }

  private finishRecord (): void {
    const r = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)
    this.parts = []
    let rec: BenchRecord
    if (this.opts.raw === true) {
      rec = { dataType: -1, data: r }
    } else {
      if (r.length < 5) return
      rec = { dataType: r[0]!, data: r.subarray(5) }
      // ALWAYS-RESPONSE (RFC 2355 §8.1.3): answer positively, as a terminal would.
      if (r[0] === 0 && r[2] === 2) this.socket.write(frame(Buffer.from([0x02, 0, 0, r[3]!, r[4]!, 0x00])))
    }
    this.records++
    this.onRecord?.(rec)
  }
}

/** IAC doubling + IAC EOR: one record on the wire. */
export function frame (record: Buffer): Buffer {
  let n = 0
  for (let i = record.indexOf(IAC); i !== -1; i = record.indexOf(IAC, i + 1)) n++
  if (n === 0) return Buffer.concat([record, IAC_EOR])
  const out = Buffer.alloc(record.length + n + 2)
  let o = 0
  for (const x of record) { out[o++] = x; if (x === IAC) out[o++] = IAC }
  out[o++] = IAC; out[o] = EOR
  return out
}

export async function withTimeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`bench client: timed out after ${ms} ms waiting for ${what}`)), ms)
    })])
  } finally { clearTimeout(timer) }
}

const RECORD_TAG = encode('RECORD ')

/**
 * The i of a DEMO FLOOD record (`RECORD i OF n`, EBCDIC digits X'F0'-X'F9'; lib/hostsim/screens.ts),
 * or -1 if the record is not one: the bench checks that records arrive in order.
 */
export function floodSequence (data: Buffer): number {
  const at = data.indexOf(RECORD_TAG)
  if (at === -1) return -1
  let n = 0
  let digits = 0
  for (let i = at + RECORD_TAG.length; i < data.length; i++) {
    const d = data[i]!
    if (d < 0xf0 || d > 0xf9) break
    n = n * 10 + (d - 0xf0)
    digits++
  }
  return digits === 0 ? -1 : n
}
