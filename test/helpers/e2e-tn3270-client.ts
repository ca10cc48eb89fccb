// The raw TN3270E client of the end-to-end tests, against a gateway or through the proxy
// (RFC 2355 §7, §8). Written independently of lib/telnet and lib/tn3270 on purpose (it checks
// them), using lib/datastream only for the 3270 screen model (Screen, parseOutbound via
// Screen.apply), buildInbound and EBCDIC decoding. It does on request what a real emulator won't:
// stop reading (so its receive window fills), leave TIMING-MARKs unanswered, drop the connection
// mid-negotiation or mid-screen.
//
//   const c = await E2eClient.connect(port)           // rejects with err.code ECONNREFUSED etc.
//   const n = await c.negotiate()                      // { ok: true, lu } | { ok: false, ... }
//   await c.waitForText('tn3270-lb demo host')         // applies 3270-DATA records to c.screen
//   c.sendInput('ECHO ME'); await c.waitForText('ECHO: ECHO ME')
//   await c.end()                                      // FIN, then wait for the server's close
//
//   const s = await E2eClient.open(port)               // connect + negotiate (RESPONSES) + first screen
//   s.sendInput('FLOOD 100'); s.stopReading()          // s.received keeps every record, with its text
//
// Telnet framing (RFC 854): IAC IAC is a data 0xFF, IAC EOR (RFC 885) ends a record, IAC SB ...
// IAC SE is a subnegotiation; DO/WILL for anything but TN3270E is refused (RFC 1143 keeps this
// loop-free because the server only asks once).
import { connect as netConnect, type Socket } from 'node:net'
import { buildInbound, buildQueryReply, decode, Screen } from '../../lib/datastream/index.js'
import { errorCode, errorMessage } from '../../lib/errors.js'

const IAC = 255
const DONT = 254
const DO = 253
const WONT = 252
const WILL = 251
const SB = 250
const SE = 240
const EOR = 239
const OPT_TN3270E = 40
const OPT_TIMING_MARK = 6

// RFC 2355 §8 subnegotiation codes.
const ASSOCIATE = 0
const CONNECT = 1
const DEVICE_TYPE = 2
const FUNCTIONS = 3
const IS = 4
const REASON = 5
const REJECT = 6
const REQUEST = 7
const SEND = 8

/** RFC 2355 §8 REASON codes. */
export const REJECT_REASON_NAMES = ['CONN-PARTNER', 'DEVICE-IN-USE', 'INV-ASSOCIATE', 'INV-NAME', 'INV-DEVICE-TYPE', 'TYPE-NAME-ERROR', 'UNKNOWN-ERROR', 'UNSUPPORTED-REQ']

/** RFC 2355 §8.1.1 DATA-TYPE. */
export const DataType = { DATA_3270: 0x00, SCS: 0x01, RESPONSE: 0x02, BIND_IMAGE: 0x03, UNBIND: 0x04, NVT: 0x05, REQUEST: 0x06, SSCP_LU: 0x07, PRINT_EOJ: 0x08 } as const
/** RFC 2355 §8 function codes. */
export const Fn = { BIND_IMAGE: 0, DATA_STREAM_CTL: 1, RESPONSES: 2, SCS_CTL_CODES: 3, SYSREQ: 4 } as const

export interface E2eRecord {
  dataType: number
  requestFlag: number
  responseFlag: number
  seq: number
  data: Buffer
  /** `data` read as EBCDIC (cp037), orders included: enough to look for words a screen shows. */
  text: string
}

export type NegotiationResult =
  | { ok: true, lu: string, deviceType: string, functions: number[] }
  | { ok: false, kind: 'reject', reason: string }
  | { ok: false, kind: 'closed', detail: string }

export interface NegotiateOptions {
  deviceType?: string
  /** CONNECT resource name (LU or pool). */
  connect?: string
  /** ASSOCIATE display LU name (a printer, RFC 2355 §7.1). */
  associate?: string
  /** Functions to REQUEST (default none: plain 3270-DATA records). */
  functions?: number[]
  timeoutMs?: number
  /** Resolve as soon as DEVICE-TYPE IS arrives, without sending FUNCTIONS (to drop mid-negotiation). */
  stopAfterDeviceType?: boolean
}

export interface OpenOptions {
  host?: string
  /** CONNECT resource name (LU or pool); undefined = generic. */
  connect?: string
  /** Answer DO TIMING-MARK with WONT, as x3270 does (default); false = stay silent. */
  answerTimingMark?: boolean
  timeoutMs?: number
  /** Source address (127.0.0.x on loopback): a distinct client for per-client caps. */
  localAddress?: string
}

export interface CloseInfo {
  /** The server's FIN arrived ('end' event) before the socket closed. */
  gotFin: boolean
  /** The socket closed with an error (ECONNRESET = the server sent RST). */
  error: string | undefined
}

type Waiter = () => boolean

/** Connect a TCP socket; rejects with the socket error (err.code ECONNREFUSED, ECONNRESET ...). */
export async function tcpConnect (port: number, host = '127.0.0.1', timeoutMs = 10_000, localAddress?: string): Promise<Socket> {
  return await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) })
    const timer = setTimeout(() => { s.destroy(); reject(Object.assign(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })) }, timeoutMs)
    s.once('connect', () => { clearTimeout(timer); s.off('error', reject); resolve(s) })
    s.once('error', err => { clearTimeout(timer); s.destroy(); reject(err) })
  })
}

/** Resolves with the connect error code (ECONNREFUSED ...) or 'connected' (then closes the socket). */
export async function probeConnect (port: number): Promise<string> {
  try {
    const s = await tcpConnect(port)
    s.destroy()
    return 'connected'
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message
  }
}

export class E2eClient {
  readonly socket: Socket
  readonly screen: Screen
  /** Records received and not yet consumed by nextRecord or waitForText (all data types). */
  readonly records: E2eRecord[] = []
  /** Every record received, in arrival order; never consumed (Read Partition Queries are answered, not kept). */
  readonly received: E2eRecord[] = []
  /** DO TIMING-MARKs received (RFC 860). */
  timingMarks = 0
  /** Answer DO TIMING-MARK with WONT (like x3270); false = leave keepalives unanswered. */
  answerTimingMark = true
  /** Every record's data type, in arrival order (for assertions). */
  readonly seen: number[] = []
  readonly closed: Promise<CloseInfo>
  isClosed = false
  /** Date.now() when this wrapper was created and when the server's first byte arrived. */
  readonly createdAt = Date.now()
  firstByteAt: number | undefined
  lu: string | undefined
  functions: number[] = []
  /** Answer ALWAYS-RESPONSE 3270-DATA with a positive RESPONSE (RFC 2355 §10.2) when RESPONSES was agreed. */
  autoRespond = true
  /** Answer Read Partition Query as a terminal does (Usable Area of `screen`, code page 37; GA23-0059). */
  answerQueries = true
  /** Read Partition Queries received. */
  queries = 0
  private gotFin = false
  private closeError: string | undefined
  private buf: number[] = []
  private state: 'data' | 'iac' | 'verb' | 'sb' | 'sb-iac' = 'data'
  private verb = 0
  private sbBuf: number[] = []
  private readonly waiters = new Set<Waiter>()
  private readonly subnegs: Buffer[] = []
  private seq = 0
  private negotiating: NegotiateOptions | undefined
  private inTn3270e = false

  private constructor (socket: Socket, rows = 24, cols = 80) {
    this.socket = socket
    this.screen = new Screen({ rows, cols })
    socket.on('data', chunk => { this.feed(chunk) })
    socket.on('end', () => { this.gotFin = true; this.poke() })
    this.closed = new Promise(resolve => {
      socket.on('error', err => { this.closeError = errorCode(err) ?? errorMessage(err) })
      socket.once('close', () => {
        this.isClosed = true
        this.poke()
        resolve({ gotFin: this.gotFin, error: this.closeError })
      })
    })
  }

  static async connect (port: number, host = '127.0.0.1', timeoutMs = 10_000, localAddress?: string): Promise<E2eClient> {
    return new E2eClient(await tcpConnect(port, host, timeoutMs, localAddress))
  }

  /** Wraps an already connected socket. */
  static wrap (socket: Socket): E2eClient { return new E2eClient(socket) }

  /**
   * A session as a terminal would open it: connect (rejects with the socket error, e.g.
   * ECONNREFUSED), negotiate TN3270E with RESPONSES, wait for the first 3270-DATA record and apply
   * it to `screen`. A refusal or a close before that rejects with an error without a code.
   */
  static async open (port: number, opts: OpenOptions = {}): Promise<E2eClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000
    const c = await E2eClient.connect(port, opts.host, timeoutMs, opts.localAddress)
    c.answerTimingMark = opts.answerTimingMark ?? true
    const n = await c.negotiate({ connect: opts.connect, functions: [Fn.RESPONSES], timeoutMs })
    if (!n.ok) {
      c.destroy()
      throw new Error(`TN3270E session not opened: ${n.kind === 'reject' ? `DEVICE-TYPE REJECT ${n.reason}` : n.detail}`)
    }
    await c.until(() => c.received.some(r => r.dataType === DataType.DATA_3270), timeoutMs, 'the first screen')
    c.drainRecords()
    return c
  }

  /**
   * Runs the client side of RFC 2355 §7: WILL TN3270E on DO, DEVICE-TYPE REQUEST on SEND, then
   * FUNCTIONS REQUEST after DEVICE-TYPE IS (answering a server counter-REQUEST with IS). A REJECT
   * resolves { kind: 'reject' } (the connection stays open; the caller decides), a close without
   * an LU resolves { kind: 'closed' }. Rejects only on timeout.
   */
  async negotiate (opts: NegotiateOptions = {}): Promise<NegotiationResult> {
    this.negotiating = opts
    const timeoutMs = opts.timeoutMs ?? 10_000
    let result: NegotiationResult | undefined
    let deviceIs: { lu: string, deviceType: string } | undefined
    // Subnegotiations may already be queued (the server spoke before we were asked).
    const step = (): boolean => {
      while (this.subnegs.length > 0 && result === undefined) {
        const b = this.subnegs.shift()!
        if (b[0] === SEND && b[1] === DEVICE_TYPE) {
          this.sendDeviceTypeRequest(opts)
        } else if (b[0] === DEVICE_TYPE && b[1] === IS) {
          const rest = b.subarray(2)
          const sep = rest.indexOf(CONNECT)
          deviceIs = { deviceType: rest.subarray(0, sep).toString('latin1'), lu: rest.subarray(sep + 1).toString('latin1') }
          if (opts.stopAfterDeviceType === true) {
            result = { ok: true, ...deviceIs, functions: [] }
            break
          }
          this.sendSubneg([FUNCTIONS, REQUEST, ...(opts.functions ?? [])])
        } else if (b[0] === DEVICE_TYPE && b[1] === REJECT) {
          const code = b[2] === REASON ? b[3] ?? -1 : -1
          result = { ok: false, kind: 'reject', reason: REJECT_REASON_NAMES[code] ?? `code ${code}` }
        } else if (b[0] === FUNCTIONS && b[1] === IS && deviceIs !== undefined) {
          this.functions = [...b.subarray(2)]
          result = { ok: true, ...deviceIs, functions: this.functions }
        } else if (b[0] === FUNCTIONS && b[1] === REQUEST && deviceIs !== undefined) {
          // Server counter-proposal (a subset): agree (RFC 2355 §7.2).
          this.functions = [...b.subarray(2)]
          this.sendSubneg([FUNCTIONS, IS, ...this.functions])
          result = { ok: true, ...deviceIs, functions: this.functions }
        }
      }
      if (result === undefined && (this.isClosed || this.gotFin)) {
        result = { ok: false, kind: 'closed', detail: this.gotFin ? 'server closed (FIN) without an LU' : `socket closed without an LU (${this.closeError ?? 'no error'})` }
      }
      return result !== undefined
    }
    await this.until(step, timeoutMs, () => `TN3270E negotiation did not finish within ${timeoutMs} ms (lu ${deviceIs?.lu ?? 'none'})`)
    this.negotiating = undefined
    const r = result as NegotiationResult | undefined
    if (r === undefined) throw new Error('TN3270E negotiation ended without a result')
    if (r.ok) { this.lu = r.lu; this.inTn3270e = true }
    return r
  }

  /** The next record (any data type), waiting up to timeoutMs. */
  async nextRecord (timeoutMs = 10_000): Promise<E2eRecord> {
    await this.until(() => this.records.length > 0 || this.isClosed, timeoutMs, () => `no record within ${timeoutMs} ms`)
    const r = this.records.shift()
    if (r === undefined) throw new Error(`connection closed while waiting for a record (${this.closeError ?? 'FIN'})`)
    return r
  }

  /** Applies records (3270-DATA to the screen) until the screen contains `text`. Returns the screen text. */
  async waitForText (text: string, timeoutMs = 10_000): Promise<string> {
    const check = (): boolean => {
      this.drainRecords()
      return this.screen.contains(text)
    }
    await this.until(() => check() || this.isClosed, timeoutMs, () => `screen did not show ${JSON.stringify(text)} within ${timeoutMs} ms; screen:\n${this.screen.toString()}`)
    if (!this.screen.contains(text)) throw new Error(`connection closed before the screen showed ${JSON.stringify(text)}; screen:\n${this.screen.toString()}`)
    return this.screen.toString()
  }

  /** Types `text` into the first unprotected field and sends ENTER as an inbound 3270-DATA record (buildInbound). */
  sendInput (text: string, aid: 'ENTER' | 'PF3' | 'CLEAR' = 'ENTER'): void {
    const field = this.screen.fields().find(f => !f.attribute.protected)
    const cursor = field !== undefined ? field.start : 0
    const record = buildInbound({
      aid,
      cursor,
      fields: field === undefined || aid !== 'ENTER' ? [] : [{ address: field.start, text }],
      rows: this.screen.rows,
      cols: this.screen.cols,
    })
    this.sendRecord(DataType.DATA_3270, record)
    this.screen.keyboardLocked = true
  }

  /** Sends one TN3270E record (5-byte header, RFC 2355 §8.1) with IAC doubling and IAC EOR. */
  sendRecord (dataType: number, data: Buffer, responseFlag = 0, seq?: number): void {
    const header = Buffer.alloc(5)
    header[0] = dataType
    header[2] = responseFlag
    header.writeUInt16BE(seq ?? (this.seq++ & 0x7fff), 3)
    this.writeRaw(Buffer.concat([escapeIac(Buffer.concat([header, data])), Buffer.from([IAC, EOR])]))
  }

  writeRaw (bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes)
  }

  /** Orderly close (FIN) and wait for the server to close its side. */
  async end (timeoutMs = 10_000): Promise<CloseInfo> {
    this.socket.end()
    let timer: NodeJS.Timeout | undefined
    const info = await Promise.race([
      this.closed,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { this.socket.destroy(); reject(new Error(`server did not close within ${timeoutMs} ms after our FIN`)) }, timeoutMs) }),
    ])
    clearTimeout(timer)
    return info
  }

  /** Abort: drop the connection without reading any more (RST if unread data is pending). */
  destroy (): void { this.socket.destroy() }

  /** Stop reading: the kernel's receive buffer fills, then the peer's send window closes. */
  stopReading (): void { this.socket.pause() }
  resumeReading (): void { this.socket.resume() }

  /** How the connection ended so far: RST, another socket error, or the server's FIN. */
  get closedWith (): 'reset' | 'error' | 'end' | undefined {
    if (this.closeError === 'ECONNRESET') return 'reset'
    if (this.closeError !== undefined) return 'error'
    return this.gotFin ? 'end' : undefined
  }

  /** The socket error's code (or message) if the connection ended with one. */
  get error (): string | undefined { return this.closeError }

  /**
   * The first record received (counting from `received[from]`) that `match` accepts. Each record
   * is looked at once, so waiting through a flood of records stays linear.
   */
  async waitForRecord (match: (r: E2eRecord) => boolean, timeoutMs: number, what: string, from = 0): Promise<E2eRecord> {
    let next = from
    let found: E2eRecord | undefined
    await this.until(() => {
      for (; found === undefined && next < this.received.length; next++) if (match(this.received[next]!)) found = this.received[next]
      return found !== undefined
    }, timeoutMs, what)
    return found!
  }

  /**
   * Resolves once `cond` holds, checked whenever bytes arrive or the connection ends; rejects
   * after `timeoutMs`, or as soon as the connection has closed with `cond` still false.
   */
  async until (cond: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    const describe = typeof what === 'string' ? () => `timed out after ${timeoutMs} ms waiting for ${what}` : what
    if (cond()) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { this.waiters.delete(w); reject(new Error(describe())) }, timeoutMs)
      const w: Waiter = () => {
        const ok = cond()
        if (!ok && !this.isClosed) return false
        clearTimeout(timer)
        if (ok) resolve()
        else reject(new Error(`connection closed (${this.closedWith ?? 'closed'}) while waiting: ${describe()}`))
        return true
      }
      this.waiters.add(w)
    })
  }

  /** Waits for the server to close the connection; returns how it closed. */
  async waitClosed (timeoutMs = 10_000): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined
    const info = await Promise.race([
      this.closed,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`server did not close the connection within ${timeoutMs} ms`)), timeoutMs) }),
    ])
    clearTimeout(timer)
    return info
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Applies the queued 3270-DATA records to `screen` (other records are dropped from the queue). */
  private drainRecords (): void {
    while (this.records.length > 0) {
      const r = this.records.shift()!
      if (r.dataType === DataType.DATA_3270 && r.data.length > 0) this.screen.apply(r.data)
    }
  }

  private sendDeviceTypeRequest (opts: NegotiateOptions): void {
    const body = [DEVICE_TYPE, REQUEST, ...Buffer.from(opts.deviceType ?? 'IBM-3278-2-E', 'latin1')]
    if (opts.connect !== undefined) body.push(CONNECT, ...Buffer.from(opts.connect, 'latin1'))
    if (opts.associate !== undefined) body.push(ASSOCIATE, ...Buffer.from(opts.associate, 'latin1'))
    this.sendSubneg(body)
  }

  private sendSubneg (body: number[]): void {
    this.writeRaw(Buffer.concat([Buffer.from([IAC, SB, OPT_TN3270E]), escapeIac(Buffer.from(body)), Buffer.from([IAC, SE])]))
  }

  private onNegotiate (verb: number, option: number): void {
    if (option === OPT_TN3270E) {
      if (verb === DO) this.writeRaw(Buffer.from([IAC, WILL, OPT_TN3270E]))
      return
    }
    if (verb === DO && option === OPT_TIMING_MARK) {
      this.timingMarks++
      if (this.answerTimingMark) this.writeRaw(Buffer.from([IAC, WONT, OPT_TIMING_MARK]))
      return
    }
    if (verb === DO) this.writeRaw(Buffer.from([IAC, WONT, option]))
    else if (verb === WILL) this.writeRaw(Buffer.from([IAC, DONT, option]))
  }

  private onRecord (bytes: Buffer): void {
    if (bytes.length < 5) return
    const data = bytes.subarray(5)
    const r: E2eRecord = { dataType: bytes[0]!, requestFlag: bytes[1]!, responseFlag: bytes[2]!, seq: bytes.readUInt16BE(3), data, text: decode(data) }
    this.seen.push(r.dataType)
    if (r.dataType === DataType.DATA_3270 && isReadPartitionQuery(data)) {
      // A host with a query BIND asks before its first screen (WSF, Read Partition, Query); the
      // answer is the terminal's business, not a record for the test (counted in `queries`).
      this.queries++
      if (this.answerQueries) this.sendRecord(DataType.DATA_3270, buildQueryReply({ usableArea: { rows: this.screen.rows, cols: this.screen.cols }, codePageId: 37 }))
      return
    }
    this.received.push(r)
    // ALWAYS-RESPONSE (RFC 2355 §8.1.3): answer positively (DEVICE-END, §10.2) so the host's
    // definite responses do not pile up against the gateway's credit.
    if (this.autoRespond && r.dataType === DataType.DATA_3270 && r.responseFlag === 0x02 && this.functions.includes(Fn.RESPONSES)) {
      this.sendRecord(DataType.RESPONSE, Buffer.from([0x00]), 0x00, r.seq)
    }
    this.records.push(r)
  }

  private feed (chunk: Buffer): void {
    this.firstByteAt ??= Date.now()
    for (const c of chunk) {
      switch (this.state) {
        case 'data':
          if (c === IAC) this.state = 'iac'
          else this.buf.push(c)
          break
        case 'iac':
          if (c === IAC) { this.buf.push(IAC); this.state = 'data' } else if (c === EOR) {
            this.onRecord(Buffer.from(this.buf))
            this.buf = []
            this.state = 'data'
          } else if (c === SB) { this.sbBuf = []; this.state = 'sb' } else if (c === DO || c === DONT || c === WILL || c === WONT) { this.verb = c; this.state = 'verb' } else this.state = 'data' // NOP, TIMING-MARK etc. ignored
          break
        case 'verb':
          this.onNegotiate(this.verb, c)
          this.state = 'data'
          break
        case 'sb':
          if (c === IAC) this.state = 'sb-iac'
          else this.sbBuf.push(c)
          break
        case 'sb-iac':
          if (c === IAC) { this.sbBuf.push(IAC); this.state = 'sb' } else if (c === SE) {
            if (this.sbBuf[0] === OPT_TN3270E) this.onSubneg(Buffer.from(this.sbBuf.slice(1)))
            this.state = 'data'
          } else this.state = 'sb'
          break
      }
    }
    this.poke()
  }

  /** Queued for negotiate(); FUNCTIONS IS takes effect at once, for records in the same read. */
  private onSubneg (body: Buffer): void {
    if (body[0] === FUNCTIONS && body[1] === IS) this.functions = [...body.subarray(2)]
    this.subnegs.push(body)
  }

  private poke (): void {
    for (const w of [...this.waiters]) if (w()) this.waiters.delete(w)
  }

  /** Whether the client negotiated TN3270E (for diagnostics). */
  get tn3270e (): boolean { return this.inTn3270e }
  /** Whether negotiate() is in progress. */
  get busy (): boolean { return this.negotiating !== undefined }
}

/** WSF (X'F3') whose structured field is Read Partition (X'01') of type Query or Query List (GA23-0059). */
function isReadPartitionQuery (data: Buffer): boolean {
  return data.length >= 6 && data[0] === 0xf3 && data[3] === 0x01 && (data[5] === 0x02 || data[5] === 0x03)
}

function escapeIac (b: Buffer): Buffer {
  if (!b.includes(IAC)) return b
  const out: number[] = []
  for (const c of b) { out.push(c); if (c === IAC) out.push(IAC) }
  return Buffer.from(out)
}

export const Tn3270eCodes = { ASSOCIATE, CONNECT, DEVICE_TYPE, FUNCTIONS, IS, REASON, REJECT, REQUEST, SEND }
