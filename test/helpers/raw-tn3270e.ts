// A raw TN3270E client for tests that need what a real emulator won't do on request: stop
// reading (so its receive window fills), ignore TIMING-MARKs, drop the connection mid-screen.
// It negotiates like s3270 (tn3270-anchors §5.3) and splits the stream into records.
import { connect, type Socket } from 'node:net'
import { EventEmitter } from 'node:events'
import { decode, buildInbound, Aid } from '../../lib/datastream/index.js'

const IAC = 0xff; const SB = 0xfa; const SE = 0xf0; const WILL = 0xfb; const WONT = 0xfc; const DO = 0xfd; const DONT = 0xfe; const EOR = 0xef
const TN3270E = 40; const TM = 6

/** The DEMO input field: row 5, after `==> ` (lib/hostsim/screens.ts DemoLayout). */
const INPUT_ADDRESS = 5 * 80 + 5

export interface RawRecord { dataType: number, seq: number, data: Buffer, text: string }

export interface RawClientOptions {
  port: number
  host?: string
  /** CONNECT name (LU or pool); undefined = generic. */
  resource?: string
  /** Answer DO TIMING-MARK with WONT (like x3270); false = stay silent. */
  answerTimingMark?: boolean
}

export class RawTn3270eClient extends EventEmitter {
  readonly socket: Socket
  lu = ''
  readonly records: RawRecord[] = []
  timingMarks = 0
  closedWith: 'reset' | 'end' | 'error' | undefined
  error: NodeJS.ErrnoException | undefined
  private buf = Buffer.alloc(0)
  private current: number[] = []
  private readonly opts: RawClientOptions

  private constructor (socket: Socket, opts: RawClientOptions) {
    super()
    this.socket = socket
    this.opts = opts
    socket.on('data', chunk => this.onData(chunk))
    socket.on('error', err => { this.error = err; this.closedWith = (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? 'reset' : 'error' })
    socket.on('end', () => { this.closedWith ??= 'end' })
    socket.on('close', () => this.emit('closed'))
  }

  static async connect (opts: RawClientOptions): Promise<RawTn3270eClient> {
    const socket = connect({ port: opts.port, host: opts.host ?? '127.0.0.1' })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const c = new RawTn3270eClient(socket, opts)
    await c.until(() => c.records.length > 0, 10_000, 'first screen')
    return c
  }

  /** Waits (polling events) until `cond` holds. */
  async until (cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms
    while (!cond()) {
      if (Date.now() > end) throw new Error(`raw client: timed out waiting for ${what}`)
      if (this.socket.destroyed && !cond()) throw new Error(`raw client: connection closed while waiting for ${what} (${this.closedWith ?? 'closed'})`)
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  }

  /** Types text into the input field and presses Enter (3270-DATA record, RFC 2355 §8.1 header). */
  enter (text: string, address = INPUT_ADDRESS): void {
    const record = buildInbound({ aid: Aid.ENTER, cursor: address + text.length, fields: [{ address, text }], rows: 24, cols: 80 })
    const header = Buffer.from([0, 0, 0, 0, 0])
    this.socket.write(Buffer.concat([escape(Buffer.concat([header, record])), Buffer.from([IAC, EOR])]))
  }

  stopReading (): void { this.socket.pause() }
  resumeReading (): void { this.socket.resume() }
  close (): void { this.socket.destroy() }

  private send (bytes: number[]): void { this.socket.write(Buffer.from(bytes)) }

  private onData (chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk])
    let i = 0
    const b = this.buf
    while (i < b.length) {
      if (b[i] !== IAC) { this.current.push(b[i]!); i++; continue }
      if (i + 1 >= b.length) break
      const cmd = b[i + 1]!
      if (cmd === IAC) { this.current.push(IAC); i += 2; continue }
      if (cmd === EOR) { this.finishRecord(); i += 2; continue }
      if (cmd === DO || cmd === DONT || cmd === WILL || cmd === WONT) {
        if (i + 2 >= b.length) break
        this.negotiate(cmd, b[i + 2]!)
        i += 3
        continue
      }
      if (cmd === SB) {
        const end = b.indexOf(SE, i + 2)
        if (end === -1 || b[end - 1] !== IAC) break
        this.subneg(b.subarray(i + 2, end - 1))
        i = end + 1
        continue
      }
      i += 2
    }
    this.buf = b.subarray(i)
  }

  private negotiate (verb: number, option: number): void {
    if (verb === DO && option === TN3270E) this.send([IAC, WILL, TN3270E])
    else if (verb === DO && option === TM) {
      this.timingMarks++
      if (this.opts.answerTimingMark !== false) this.send([IAC, WONT, TM])
    } else if (verb === DO) this.send([IAC, WONT, option])
    else if (verb === WILL) this.send([IAC, DONT, option])
  }

  private subneg (body: Buffer): void {
    if (body[0] !== TN3270E) return
    const verbNoun = body.subarray(1)
    // SEND DEVICE-TYPE → DEVICE-TYPE REQUEST IBM-3278-2-E [CONNECT name] (RFC 2355 §7.1)
    if (verbNoun[0] === 0x08 && verbNoun[1] === 0x02) {
      const req = [IAC, SB, TN3270E, 0x02, 0x07, ...Buffer.from('IBM-3278-2-E')]
      if (this.opts.resource !== undefined) req.push(0x01, ...Buffer.from(this.opts.resource))
      this.send([...req, IAC, SE])
    } else if (verbNoun[0] === 0x02 && verbNoun[1] === 0x04) {
      const connect = verbNoun.indexOf(0x01, 2)
      this.lu = connect === -1 ? '' : verbNoun.subarray(connect + 1).toString('latin1')
      this.send([IAC, SB, TN3270E, 0x03, 0x07, 0x02, IAC, SE]) // FUNCTIONS REQUEST RESPONSES
    } else if (verbNoun[0] === 0x03 && verbNoun[1] === 0x07) {
      this.send([IAC, SB, TN3270E, 0x03, 0x04, ...verbNoun.subarray(2), IAC, SE]) // agree to the server's list
    }
  }

  private finishRecord (): void {
    const r = Buffer.from(this.current)
    this.current = []
    if (r.length < 5) return
    const data = r.subarray(5)
    const rec: RawRecord = { dataType: r[0]!, seq: r.readUInt16BE(3), data, text: decode(data) }
    this.records.push(rec)
    // ALWAYS-RESPONSE (RFC 2355 §8.1.3): answer positively as a terminal would.
    if (r[0] === 0 && r[2] === 2) {
      const rsp = Buffer.from([0x02, 0, 0, r[3]!, r[4]!, 0x00])
      this.socket.write(Buffer.concat([escape(rsp), Buffer.from([IAC, EOR])]))
    }
    this.emit('record', rec)
  }
}

function escape (b: Buffer): Buffer {
  const out: number[] = []
  for (const x of b) { out.push(x); if (x === IAC) out.push(IAC) }
  return Buffer.from(out)
}
