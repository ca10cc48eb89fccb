// The `tn3270` host link, one concern: the gateway as a TN3270 / TN3270E *client* of a real host
// (z/OS TN3270E server, Hercules console server, ...). Opens TCP or TLS, negotiates the client
// side of RFC 1576/1091 (TTYPE, EOR, BINARY) or RFC 2355 (TN3270E DEVICE-TYPE + FUNCTIONS), asks
// for a host-side resource (TN3270E CONNECT or the x3270/RFC 1646-era `TYPE@NAME` terminal type,
// tn3270-anchors.md §3.2), optionally waits for the host's first record to tell a usable screen
// from a refusal painted on the screen (Hercules, anchors §6), then relays 3270 records.
//
// Nothing here knows about LU pools or clients: the gateway's host side (gateway/tn3270-host.ts)
// decides what a refusal means for its resources.
import type { SessionData, SessionResponse } from '../tn3270/index.js'
import { EventEmitter } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { systemClock, type Clock, type Timer } from '../clock.js'
import { decode as ebcdicDecode } from '../datastream/index.js'
import { ErrorCodes, isLbError, lbError, type ErrorCode, type Tn3270LbError } from '../errors.js'
import { silentLogger, type Logger } from '../observability/index.js'
import { BRK, IP, AO, Opt, TelnetConnection, type CommandName, type OptionChange, type TelnetConnectionEvents } from '../telnet/index.js'
import {
  decodeMessage, decodeTn3270e, encodeMessage, encodeTn3270e, FUNCTION_CODE, functionName,
  ResponseFlag, ResponseKind, SEQ_MASK, type Tn3270eFunction, type Tn3270eMessage,
} from '../tn3270/index.js'

/** TTYPE subnegotiation verbs (RFC 1091): IS 0, SEND 1. */
const TTYPE_IS = 0
const TTYPE_SEND = 1

export interface Tn3270TlsMaterial {
  ca?: string | Buffer
  cert?: string | Buffer
  key?: string | Buffer
  /** SNI and the name the certificate must carry (default: the host). */
  servername?: string
  rejectUnauthorized: boolean
}

export interface Tn3270ClientOptions {
  host: string
  port: number
  tls?: Tn3270TlsMaterial
  /** Budget for TCP (+TLS) connect and the whole telnet negotiation, ms. */
  connectTimeout: number
  /** Terminal / device type, e.g. IBM-3278-2-E. */
  terminalType: string
  /** Host-side resource (z/OS LU or pool, Hercules device number or group); undefined = generic. */
  resource?: string
  /**
   * `connect`: accept TN3270E when the host offers it and name the resource in DEVICE-TYPE
   * REQUEST ... CONNECT (RFC 2355 §7.1.1); a host without TN3270E still gets `TYPE@NAME`.
   * `ttype`: refuse TN3270E (WONT) and always use `TYPE@NAME` (Hercules honours it, z/OS ignores it).
   */
  luRequest: 'connect' | 'ttype'
  /** Functions asked of a TN3270E host (RFC 2355 §7.2); default RESPONSES. BIND-IMAGE is never asked. */
  functions?: Tn3270eFunction[]
  /**
   * Wait this long (ms) after negotiation for the host's first record and check it for a refusal
   * painted on the screen; 0 = do not wait. The record is then handed over in `pending`.
   */
  firstRecordTimeout?: number
  logger?: Logger
  clock?: Clock
  signal?: AbortSignal
  maxRecord?: number
  maxSubneg?: number
  closeGraceMs?: number
}

/** Why a host connect failed, for the caller's decision (link down vs. this resource refused). */
export type HostFailureKind = 'unreachable' | 'rejected' | 'closed-early' | 'protocol' | 'aborted'

export interface HostConnectError extends Tn3270LbError {
  kind: HostFailureKind
}

export function isHostConnectError (err: unknown): err is HostConnectError {
  return isLbError(err) && typeof (err as { kind?: unknown }).kind === 'string'
}

function hostError (code: ErrorCode, kind: HostFailureKind, message: string, cause?: unknown): HostConnectError {
  const e = lbError(code, message, cause) as HostConnectError
  e.kind = kind
  return e
}

/** A record from the host: the same shape as a client's (SEQ and RESPONSE-FLAG 0 on a plain host). */
export type HostData = SessionData
export type HostResponse = SessionResponse

export interface Tn3270HostSessionEvents {
  data: [HostData]
  response: [HostResponse]
  timingMarkReply: [verb: 'WILL' | 'WONT']
  close: [reason: string]
}

/**
 * Text a host paints instead of a session: Hercules 3.13 "Connection rejected, no available 3270
 * device" / "Connection rejected, device 0010 unavailable" (anchors §6). Returns the message or
 * undefined. The record is decoded as CP037 text (orders decode to junk, which cannot match).
 */
export function screenRefusal (record: Uint8Array): string | undefined {
  const m = /Connection rejected[ ,A-Za-z0-9]{0,70}/i.exec(ebcdicDecode(record))
  return m === null ? undefined : m[0].replace(/\s+/g, ' ').trim()
}

/** A negotiated session with the host. Records in and out; the header handling is done here. */
export class Tn3270HostSession extends EventEmitter<Tn3270HostSessionEvents> {
  readonly telnet: TelnetConnection
  readonly mode: 'tn3270' | 'tn3270e'
  /** The device the host named in DEVICE-TYPE IS ... CONNECT (TN3270E), else undefined. */
  readonly device: string | undefined
  readonly functions: ReadonlySet<Tn3270eFunction>
  readonly terminalType: string
  /** Records that arrived during the connect (the first screen when it was awaited); replayed by start(). */
  readonly pending: readonly HostData[]
  private seq = 0
  private readonly log: Logger
  private paused = false
  // Events raised before start(): the caller attaches its listeners after the connect promise
  // resolves, while later records of the same TCP chunk are already being parsed.
  private held: Array<() => void> | null = []

  constructor (init: { telnet: TelnetConnection, mode: 'tn3270' | 'tn3270e', device?: string, functions: ReadonlySet<Tn3270eFunction>, terminalType: string, pending: HostData[], logger: Logger }) {
    super()
    this.telnet = init.telnet
    this.mode = init.mode
    this.device = init.device
    this.functions = init.functions
    this.terminalType = init.terminalType
    this.pending = [...init.pending]
    this.log = init.logger
    for (const d of init.pending) this.raise(() => this.emit('data', d))
    const c = this.telnet
    c.on('record', r => this.guard(() => this.onRecord(r)))
    c.on('command', cmd => this.onCommand(cmd))
    c.on('option', o => this.onOption(o))
    c.on('nvt', d => this.log.debug({ event: 'tn3270_host_stray_nvt', bytes: d.length }, 'NVT data from host outside records ignored'))
    c.on('timingMarkReply', v => this.raise(() => this.emit('timingMarkReply', v)))
    c.on('close', reason => this.raise(() => this.emit('close', reason)))
  }

  /** Attach listeners first, then start: replays what arrived during the connect, in order. */
  start (): void {
    const h = this.held
    if (h === null) return
    this.held = null
    for (const f of h) this.guard(f)
  }

  get closed (): boolean { return this.telnet.closed }
  get socket (): Socket { return this.telnet.socket }

  /**
   * Send 3270 data (an inbound record: AID, cursor, fields). On a TN3270E host the header is
   * added (RFC 2355 §8.1) and the SEQ returned when a response is asked for; `done` runs when
   * the bytes were handed to the kernel.
   */
  send3270 (data: Uint8Array, opts: { responseFlag?: number, done?: () => void } = {}): number | undefined {
    if (this.mode === 'tn3270') { this.telnet.sendRecord(data, opts.done); return undefined }
    let flag = opts.responseFlag ?? ResponseFlag.NO_RESPONSE
    if (flag !== ResponseFlag.NO_RESPONSE && !this.functions.has('RESPONSES')) flag = ResponseFlag.NO_RESPONSE
    const seq = this.seq
    this.seq = (this.seq + 1) & SEQ_MASK
    this.telnet.sendRecord(encodeMessage({ dataType: '3270-DATA', requestFlag: 0, responseFlag: flag, seq }, data), opts.done)
    return flag === ResponseFlag.NO_RESPONSE ? undefined : seq
  }

  /** RESPONSE to a host message (RFC 2355 §10.2): copies the request's SEQ. Only with RESPONSES. */
  sendResponse (seq: number, positive: boolean, code: number): void {
    if (this.mode !== 'tn3270e' || !this.functions.has('RESPONSES')) {
      throw lbError(ErrorCodes.TN3270_SESSION_STATE, 'cannot send a RESPONSE: RESPONSES was not negotiated with the host')
    }
    const h = { dataType: 'RESPONSE' as const, requestFlag: 0, responseFlag: positive ? ResponseKind.POSITIVE : ResponseKind.NEGATIVE, seq: seq & 0xffff }
    this.telnet.sendRecord(encodeMessage(h, Buffer.from([code & 0xff])))
  }

  /** ATTN: IAC IP in TN3270E (RFC 2355 §10.4); IAC BRK on a plain TN3270 host (x3270 convention, anchors §3.2). */
  sendAttn (): void { this.telnet.sendCommand(this.mode === 'tn3270e' ? IP : BRK) }

  /**
   * SYSREQ: IAC AO when SYSREQ was agreed (RFC 2355 §10.5); otherwise the SysReq key's inbound
   * short read, AID X'F0' (what x3270 sends in TN3270 mode, anchors §3.2).
   */
  sendSysreq (): void {
    if (this.mode === 'tn3270e' && this.functions.has('SYSREQ')) this.telnet.sendCommand(AO)
    else this.send3270(Buffer.from([0xf0]))
  }

  sendTimingMark (done?: () => void): boolean { return this.telnet.sendTimingMark(done) }
  sendNop (done?: () => void): boolean { return this.telnet.sendNop(done) }

  /** Stop reading from the host (credit-based flow control toward the client). */
  pause (): void {
    if (this.paused) return
    this.paused = true
    this.telnet.socket.pause()
  }

  resume (): void {
    if (!this.paused) return
    this.paused = false
    this.telnet.socket.resume()
  }

  get isPaused (): boolean { return this.paused }

  close (reason: string): void { this.telnet.close(reason) }
  /** Abortive close: RST on TCP; a TLS socket cannot send RST from Node, so it is destroyed. */
  reset (reason: string): void { this.telnet.reset(reason) }

  private onRecord (rec: Buffer): void {
    const d = decodeHostRecord(this.mode, rec)
    if (d === undefined) return
    if ('response' in d) { const r = d.response; this.raise(() => this.emit('response', r)) } else if ('data' in d) { const x = d.data; this.raise(() => this.emit('data', x)) } else this.log.debug({ event: 'tn3270_host_ignored_message', dataType: d.ignored }, 'host message type not relayed; ignored')
  }

  private onCommand (cmd: CommandName): void {
    this.log.debug({ event: 'tn3270_host_command_ignored', command: cmd }, 'telnet command from host ignored')
  }

  private onOption (o: OptionChange): void {
    if (o.enabled) return
    const needed: number[] = this.mode === 'tn3270e' ? [Opt.TN3270E] : [Opt.BINARY, Opt.EOR]
    // RFC 1576 §2 / RFC 2355 §7: turning a 3270 option off leaves 3270 mode; we cannot follow.
    if (needed.includes(o.option)) this.telnet.close(`host left 3270 mode (disabled option ${o.option} on the ${o.side} side)`)
  }

  private raise (fn: () => void): void {
    if (this.held !== null) this.held.push(fn)
    else fn()
  }

  private guard (fn: () => void): void {
    try { fn() } catch (err) {
      const reason = isLbError(err) ? `${err.code}: ${err.message}` : `internal error: ${err instanceof Error ? err.message : String(err)}`
      this.log.warn({ event: 'tn3270_host_error', reason }, 'closing host connection on bad input or handler failure')
      this.telnet.reset(reason)
    }
  }
}

type DecodedHostRecord = { data: HostData } | { response: HostResponse } | { ignored: string }

function decodeHostRecord (mode: 'tn3270' | 'tn3270e', rec: Buffer): DecodedHostRecord | undefined {
  if (mode === 'tn3270') return { data: { type: '3270-DATA', data: rec, seq: 0, responseFlag: 0 } }
  const { header, data } = decodeMessage(rec)
  switch (header.dataType) {
    case '3270-DATA': case 'SCS-DATA': case 'SSCP-LU-DATA': case 'NVT-DATA':
      return { data: { type: header.dataType, data, seq: header.seq, responseFlag: header.responseFlag } }
    case 'RESPONSE':
      return { response: { seq: header.seq, positive: header.responseFlag === ResponseKind.POSITIVE, code: data[0] ?? 0 } }
    default:
      return { ignored: header.dataType }
  }
}

/**
 * Connect to a TN3270 host and negotiate. Resolves with a session in 3270 mode; rejects with a
 * HostConnectError whose `kind` says whether the host was unreachable, refused the resource
 * (TN3270E REJECT, a re-sent TTYPE SEND, a refusal screen), closed before a screen, broke the
 * protocol, or the caller aborted.
 */
export async function connectTn3270Host (opts: Tn3270ClientOptions): Promise<Tn3270HostSession> {
  const clock = opts.clock ?? systemClock
  const log = (opts.logger ?? silentLogger()).child({ upstream: `${opts.host}:${opts.port}`, resource: opts.resource })
  const socket = await openSocket(opts, clock)
  return await new Promise<Tn3270HostSession>((resolve, reject) => {
    // eslint-disable-next-line no-new
    new ClientNegotiator(socket, opts, log, clock, resolve, reject)
  })
}

/**
 * Link probe: TCP (and TLS) connect, then wait for the host's first bytes (a TN3270 server
 * speaks first: DO TTYPE or DO TN3270E), then an orderly close. Waiting for them also catches a
 * TLS 1.3 host that rejects our client certificate only after the handshake. Takes no device: a
 * telnet server assigns one only after TTYPE (measured on Hercules).
 */
export async function probeTn3270Host (opts: Pick<Tn3270ClientOptions, 'host' | 'port' | 'tls' | 'connectTimeout' | 'clock' | 'signal'>): Promise<void> {
  const clock = opts.clock ?? systemClock
  const socket = await openSocket(opts, clock)
  const where = `${opts.host}:${opts.port}`
  try {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clock.clearTimeout(timer)
        socket.off('data', onData); socket.off('error', onError); socket.off('close', onClose)
        opts.signal?.removeEventListener('abort', onAbort)
        if (err === undefined) resolve(); else reject(err)
      }
      const onData = (): void => done()
      const onError = (err: NodeJS.ErrnoException): void => done(hostError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'unreachable', `host ${where} failed before speaking telnet: ${err.code ?? ''} ${err.message}`.replace(/ {2,}/g, ' '), err))
      const onClose = (): void => done(hostError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'unreachable', `host ${where} closed the connection before speaking telnet`))
      const onAbort = (): void => done(hostError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'aborted', `probe of ${where} aborted`))
      const timer = clock.setTimeout(() => done(hostError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'unreachable', `host ${where} accepted but sent nothing within ${opts.connectTimeout} ms`)), opts.connectTimeout)
      socket.on('data', onData)
      socket.once('error', onError)
      socket.once('close', onClose)
      opts.signal?.addEventListener('abort', onAbort, { once: true })
    })
  } finally {
    socket.on('error', () => { /* closing anyway */ })
    socket.end()
    const t = setTimeout(() => socket.destroy(), 1000)
    t.unref()
    socket.once('close', () => clearTimeout(t))
  }
}

async function openSocket (opts: Pick<Tn3270ClientOptions, 'host' | 'port' | 'tls' | 'connectTimeout' | 'signal'>, clock: Clock): Promise<Socket> {
  const where = `${opts.host}:${opts.port}`
  if (opts.signal?.aborted === true) throw hostError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'aborted', `connect to ${where} aborted`)
  return await new Promise<Socket>((resolve, reject) => {
    const t = opts.tls
    const socket: Socket = t === undefined
      ? netConnect({ host: opts.host, port: opts.port, noDelay: true })
      : tlsConnect({
        host: opts.host,
        port: opts.port,
        // Node's tls.connect does not accept an IP address as SNI; the name check still uses it.
        ...(t.servername !== undefined ? { servername: t.servername } : {}),
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        ...(t.cert !== undefined ? { cert: t.cert } : {}),
        ...(t.key !== undefined ? { key: t.key } : {}),
        rejectUnauthorized: t.rejectUnauthorized,
      })
    const ready = t === undefined ? 'connect' : 'secureConnect'
    let settled = false
    const finish = (err?: Error): void => {
      if (settled) return
      settled = true
      clock.clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      socket.off(ready, onReady)
      socket.off('error', onError)
      if (err === undefined) { resolve(socket); return }
      socket.destroy()
      reject(err)
    }
    const onReady = (): void => { socket.setNoDelay(true); finish() }
    const onError = (err: NodeJS.ErrnoException): void => {
      const tlsWord = t !== undefined && err.code !== 'ECONNREFUSED' ? ' (TLS)' : ''
      finish(hostError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'unreachable', `connect to ${where}${tlsWord} failed: ${err.code ?? ''} ${err.message}`.replace(/ {2,}/g, ' '), err))
    }
    const onAbort = (): void => { finish(hostError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'aborted', `connect to ${where} aborted`)) }
    const timer = clock.setTimeout(() => {
      finish(hostError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'unreachable', `connect to ${where} timed out after ${opts.connectTimeout} ms`))
    }, opts.connectTimeout)
    socket.once(ready, onReady)
    socket.on('error', onError)
    opts.signal?.addEventListener('abort', onAbort, { once: true })
  })
}

type Phase = 'negotiating' | 'first-record' | 'done' | 'failed'

class ClientNegotiator {
  private phase: Phase = 'negotiating'
  private readonly conn: TelnetConnection
  private timer: Timer | undefined
  private mode: 'tn3270' | 'tn3270e' = 'tn3270'
  private ttypeSent: string | undefined
  private device: string | undefined
  private proposed: number[] = []
  private agreed: number[] = []
  private readonly pending: HostData[] = []
  private readonly cleanups: Array<() => void> = []
  private readonly where: string

  constructor (
    socket: Socket,
    private readonly opts: Tn3270ClientOptions,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly resolve: (s: Tn3270HostSession) => void,
    private readonly reject: (e: HostConnectError) => void,
  ) {
    this.where = `${opts.host}:${opts.port}`
    this.conn = new TelnetConnection(socket, {
      logger: log,
      limits: { maxRecord: opts.maxRecord, maxSubneg: opts.maxSubneg },
      closeGraceMs: opts.closeGraceMs,
      // Client role (RFC 1576 §2): we WILL TTYPE, EOR, BINARY when asked, and let the host
      // enable EOR and BINARY on its side; TN3270E only when the resource is asked by CONNECT.
      acceptLocal: [Opt.TTYPE, Opt.EOR, Opt.BINARY, ...(opts.luRequest === 'connect' ? [Opt.TN3270E] : [])],
      acceptRemote: [Opt.EOR, Opt.BINARY],
    })
    this.listen('option', c => this.guard(() => this.onOption(c)))
    this.listen('subneg', (o, d) => this.guard(() => this.onSubneg(o, d)))
    this.listen('record', r => this.guard(() => this.onRecord(r)))
    this.listen('nvt', d => this.guard(() => this.onNvt(d)))
    this.listen('close', reason => this.onClose(reason))
    this.timer = clock.setTimeout(() => this.onTimeout(), opts.connectTimeout)
    const onAbort = (): void => this.fail('aborted', ErrorCodes.TN3270_HOST_UNREACHABLE, `connect to ${this.where} aborted`)
    if (opts.signal !== undefined) {
      opts.signal.addEventListener('abort', onAbort, { once: true })
      this.cleanups.push(() => opts.signal?.removeEventListener('abort', onAbort))
      if (opts.signal.aborted) onAbort()
    }
  }

  /** Listeners for the negotiation only; removed when the session takes the connection over. */
  private listen<K extends keyof TelnetConnectionEvents> (event: K, fn: (...args: TelnetConnectionEvents[K]) => void): void {
    const emitter: EventEmitter = this.conn
    emitter.on(event, fn as (...args: unknown[]) => void)
    this.cleanups.push(() => { emitter.off(event, fn as (...args: unknown[]) => void) })
  }

  private onOption (c: OptionChange): void {
    if (this.phase !== 'negotiating') return
    if (c.option === Opt.TN3270E && c.side === 'local') {
      if (c.enabled) {
        this.mode = 'tn3270e'
        this.log.debug({ event: 'tn3270_host_tn3270e' }, 'host negotiates TN3270E')
      } else if (this.mode === 'tn3270e') {
        // RFC 2355 §7: the host gave up TN3270E (it will continue with TTYPE).
        this.mode = 'tn3270'
      }
      return
    }
    this.check3270()
  }

  private onSubneg (option: number, data: Buffer): void {
    if (option === Opt.TTYPE) { this.onTtype(data); return }
    if (option === Opt.TN3270E) { this.onTn3270e(decodeTn3270e(data)); return }
    this.log.debug({ event: 'tn3270_host_subneg_ignored', option }, 'host subnegotiation for an option not negotiated')
  }

  /** RFC 1091: SEND asks for our type; a repeated SEND after a named type refuses the name (RFC 1646 era, anchors §3.2). */
  private onTtype (data: Buffer): void {
    if (data.length !== 1 || data[0] !== TTYPE_SEND) throw lbError(ErrorCodes.TELNET_PROTOCOL, `unexpected TERMINAL-TYPE subnegotiation from host: ${data.toString('hex')}`)
    if (this.phase !== 'negotiating') return
    if (this.ttypeSent !== undefined && this.opts.resource !== undefined && this.mode === 'tn3270') {
      this.fail('rejected', ErrorCodes.TN3270_HOST_REJECTED, `host ${this.where} refused terminal type ${this.ttypeSent} (asked again: resource ${this.opts.resource} not available)`)
      return
    }
    // z/OS and x3270 convention: the resource rides on the terminal type only in TN3270 mode.
    const name = this.opts.resource !== undefined && this.mode === 'tn3270' ? `${this.opts.terminalType}@${this.opts.resource}` : this.opts.terminalType
    this.ttypeSent = name
    this.conn.sendSubneg(Opt.TTYPE, Buffer.concat([Buffer.from([TTYPE_IS]), Buffer.from(name, 'latin1')]))
    this.check3270()
  }

  /** Client side of RFC 2355 §7.1 (device type) and §7.2 (functions). */
  private onTn3270e (m: Tn3270eMessage): void {
    if (this.phase !== 'negotiating') return
    switch (m.kind) {
      case 'send-device-type': {
        this.mode = 'tn3270e'
        const req: Tn3270eMessage = { kind: 'device-type-request', deviceType: e3270Type(this.opts.terminalType) }
        if (this.opts.resource !== undefined) req.connect = this.opts.resource
        this.sendE(req)
        return
      }
      case 'device-type-is':
        this.device = m.device
        this.proposed = [...new Set((this.opts.functions ?? ['RESPONSES']).filter(f => f !== 'BIND-IMAGE').map(f => FUNCTION_CODE[f]))].sort((a, b) => a - b)
        this.sendE({ kind: 'functions-request', functions: this.proposed })
        return
      case 'device-type-reject':
        this.fail('rejected', ErrorCodes.TN3270_HOST_REJECTED, `host ${this.where} rejected DEVICE-TYPE REQUEST${this.opts.resource === undefined ? '' : ` CONNECT ${this.opts.resource}`}: ${m.reason}`)
        return
      case 'functions-request': {
        // The host's counter-proposal: agree if it is within what we asked (x3270: "they want
        // what we want, or less"); otherwise propose the common part (never a function we did not ask).
        const ours = new Set(this.proposed)
        const common = m.functions.filter(f => ours.has(f))
        if (common.length === m.functions.length) { this.sendE({ kind: 'functions-is', functions: m.functions }); this.tn3270eDone(m.functions); return }
        this.proposed = common
        this.sendE({ kind: 'functions-request', functions: common })
        return
      }
      case 'functions-is':
        if (!m.functions.every(f => this.proposed.includes(f))) {
          throw lbError(ErrorCodes.TN3270E_MALFORMED, `host FUNCTIONS IS [${m.functions.join(',')}] adds to our request [${this.proposed.join(',')}]`)
        }
        this.tn3270eDone(m.functions)
        return
      default:
        throw lbError(ErrorCodes.TN3270E_MALFORMED, `unexpected TN3270E ${m.kind} from host`)
    }
  }

  private tn3270eDone (functions: number[]): void {
    this.agreed = functions
    this.mode = 'tn3270e'
    this.conn.recordMode = true // BINARY and EOR are implied in TN3270E (RFC 2355 §7)
    this.negotiated()
  }

  /** RFC 1576 §2: 3270 mode = TTYPE sent, EOR and BINARY on in both directions. */
  private check3270 (): void {
    if (this.phase !== 'negotiating' || this.mode === 'tn3270e' || this.ttypeSent === undefined) return
    const on = [Opt.EOR, Opt.BINARY].every(o => this.conn.isLocal(o) && this.conn.isRemote(o))
    if (!on) return
    this.conn.recordMode = true
    this.negotiated()
  }

  private negotiated (): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    const wait = this.opts.firstRecordTimeout ?? 0
    this.log.debug({ event: 'tn3270_host_negotiated', mode: this.mode, device: this.device, terminalType: this.ttypeSent }, 'host negotiation complete')
    if (wait <= 0) { this.finish(); return }
    this.phase = 'first-record'
    this.timer = this.clock.setTimeout(() => {
      this.log.debug({ event: 'tn3270_host_no_first_record', ms: wait }, 'host sent no record yet; continuing')
      this.finish()
    }, wait)
  }

  private onRecord (rec: Buffer): void {
    if (this.phase === 'negotiating') {
      this.log.debug({ event: 'tn3270_host_early_record', bytes: rec.length }, 'record before 3270 mode ignored')
      return
    }
    const d = decodeHostRecord(this.mode, rec)
    if (d === undefined || !('data' in d)) return
    this.pending.push(d.data)
    if (this.phase === 'first-record' && d.data.type === '3270-DATA') {
      const refusal = screenRefusal(d.data.data)
      if (refusal !== undefined) {
        this.fail('rejected', ErrorCodes.TN3270_HOST_REJECTED, `host ${this.where} refused ${this.opts.resource === undefined ? 'a generic session' : `resource ${this.opts.resource}`} on screen: "${refusal}"`)
        return
      }
      this.finish()
    }
  }

  private onNvt (d: Buffer): void {
    // Telnet data before 3270 mode: a line-mode banner or an error text from the host.
    this.log.debug({ event: 'tn3270_host_nvt', bytes: d.length }, 'NVT data from host during negotiation')
  }

  private onClose (reason: string): void {
    if (this.phase === 'first-record') {
      this.fail('closed-early', ErrorCodes.TN3270_HOST_REJECTED, `host ${this.where} closed the connection before sending a screen (${reason})`)
    } else {
      this.fail('closed-early', ErrorCodes.TN3270_HOST_NEGOTIATION, `host ${this.where} closed the connection during negotiation (${reason})`)
    }
  }

  private onTimeout (): void {
    this.timer = undefined
    this.fail('unreachable', ErrorCodes.TN3270_HOST_NEGOTIATION, `host ${this.where} did not complete TN3270 negotiation within ${this.opts.connectTimeout} ms (sent terminal type: ${this.ttypeSent ?? 'none'}, mode ${this.mode})`)
  }

  private finish (): void {
    if (this.phase === 'done' || this.phase === 'failed') return
    this.phase = 'done'
    this.cleanup()
    const functions = new Set(this.agreed.map(f => functionName(f)).filter((f): f is Tn3270eFunction => f !== undefined))
    const session = new Tn3270HostSession({
      telnet: this.conn,
      mode: this.mode,
      ...(this.device !== undefined ? { device: this.device } : {}),
      functions,
      terminalType: this.ttypeSent ?? e3270Type(this.opts.terminalType),
      pending: this.pending,
      logger: this.log,
    })
    this.resolve(session)
  }

  private fail (kind: HostFailureKind, code: ErrorCode, message: string): void {
    if (this.phase === 'done' || this.phase === 'failed') return
    this.phase = 'failed'
    this.cleanup()
    this.log.debug({ event: 'tn3270_host_connect_failed', kind, reason: message }, 'host connect failed')
    if (kind === 'protocol') this.conn.reset(message)
    else this.conn.close(message)
    this.reject(hostError(code, kind, message))
  }

  private cleanup (): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    for (const c of this.cleanups.splice(0)) c()
  }

  private guard (fn: () => void): void {
    try { fn() } catch (err) {
      const reason = isLbError(err) ? `${err.code}: ${err.message}` : `internal error: ${err instanceof Error ? err.message : String(err)}`
      this.fail('protocol', ErrorCodes.TN3270_HOST_NEGOTIATION, `host ${this.where} broke the protocol: ${reason}`)
    }
  }

  private sendE (m: Tn3270eMessage): void {
    this.conn.sendSubneg(Opt.TN3270E, encodeTn3270e(m))
  }
}

/** TN3270E device types are 3278 even for colour terminals (RFC 2355 §7.1.1; x3270 "per the RFC"). */
function e3270Type (type: string): string {
  return type.toUpperCase().replace(/^IBM-3279-/, 'IBM-3278-')
}
