// Server-side TN3270 / TN3270E negotiation as an explicit state machine over a TelnetConnection.
//
// TN3270E (RFC 2355 §7):  DO TN3270E -> WILL -> SB SEND DEVICE-TYPE -> DEVICE-TYPE REQUEST
//   -> IS ... CONNECT lu | REJECT REASON r (client may retry) -> FUNCTIONS REQUEST/IS.
// TN3270 (RFC 1576 §2, RFC 1091, RFC 1646 @NAME): DO TTYPE -> SB TTYPE SEND -> IS name
//   [-> SEND again on a rejected name] -> DO/WILL EOR -> DO/WILL BINARY.
// IBM-DYNAMIC: Read Partition Query, size from the Usable Area reply.
import type { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { systemClock, type Timer } from '../clock.js'
import { ErrorCodes, isLbError, lbError, type ErrorCode, type Tn3270LbError } from '../errors.js'
import { silentLogger, type Logger } from '../observability/index.js'
import { Opt, TelnetConnection, type OptionChange, type TelnetConnectionEvents } from '../telnet/index.js'
import { functionName, ResponseFlag, type RejectReason, type Tn3270eFunction } from './constants.js'
import { decodeTn3270e, encodeTn3270e, type Tn3270eMessage } from './subneg.js'
import { answerFunctionsRequest, isAcceptableIs, supportedFunctions } from './functions.js'
import { DEFAULT_SIZE, parseDeviceType, parseUsableArea, READ_PARTITION_QUERY, splitTerminalType, validResourceName, type DeviceTypeInfo, type ScreenSize } from './devicetype.js'
import { decodeMessage, encodeMessage } from './header.js'
import type { DeviceDecision, DeviceRequest, LuLease, NegotiateOptions, RejectInfo } from './types.js'
import { Tn3270ServerSession } from './session.js'

export const DEFAULT_NEGOTIATION_TIMEOUT = 10_000

/** TTYPE subnegotiation verbs (RFC 1091). */
const TTYPE_IS = 0
const TTYPE_SEND = 1

type Phase =
  | 'await-tn3270e' // sent DO TN3270E
  | 'await-device-type' // sent SEND DEVICE-TYPE (or a REJECT): waiting for DEVICE-TYPE REQUEST
  | 'await-functions' // sent DEVICE-TYPE IS: waiting for FUNCTIONS REQUEST
  | 'await-functions-is' // sent FUNCTIONS REQUEST (subset): waiting for FUNCTIONS IS
  | 'await-ttype' // sent DO TTYPE
  | 'await-ttype-is' // sent SB TTYPE SEND
  | 'await-3270-options' // sent DO/WILL EOR, DO/WILL BINARY
  | 'await-query-reply' // IBM-DYNAMIC: sent Read Partition Query
  | 'done'
  | 'failed'

const E_PHASES: ReadonlySet<Phase> = new Set(['await-tn3270e', 'await-device-type', 'await-functions', 'await-functions-is'])

/**
 * Negotiate TN3270E (or fall back to TN3270) with a freshly accepted client. Resolves with a
 * session that owns the LU lease; rejects (after closing the socket, releasing any lease and
 * logging the reason) on timeout, refusal, bad input or disconnect.
 */
export function negotiateServer (socket: Socket, opts: NegotiateOptions): Promise<Tn3270ServerSession> {
  return new Promise((resolve, reject) => {
    // eslint-disable-next-line no-new
    new ServerNegotiator(socket, opts, resolve, reject)
  })
}

class ServerNegotiator {
  private phase: Phase = 'await-tn3270e'
  private readonly conn: TelnetConnection
  private readonly log: Logger
  private readonly client: string
  private readonly timer: Timer
  private readonly started: number
  private lease: LuLease | undefined
  private lu = ''
  private bindImage = false
  private device: DeviceTypeInfo | undefined
  private deviceTypeSent = '' // the type string exactly as the client sent it (upper-cased)
  private mode: 'tn3270e' | 'tn3270' = 'tn3270e'
  private proposed: number[] = []
  private functions: number[] = []
  private lastTtype: string | undefined
  /** Why the last TN3270 name was refused, told to the client when its list runs out. */
  private lastRefusal: string | undefined
  private alt: ScreenSize = DEFAULT_SIZE
  private readonly detach: Array<() => void> = []

  constructor (
    socket: Socket,
    private readonly opts: NegotiateOptions,
    private readonly resolve: (s: Tn3270ServerSession) => void,
    private readonly reject: (e: Tn3270LbError) => void,
  ) {
    this.client = opts.client ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    this.log = (opts.logger ?? silentLogger()).child({ client: this.client })
    const clock = opts.clock ?? systemClock
    this.started = clock.now()
    this.conn = new TelnetConnection(socket, {
      logger: this.log,
      limits: { maxSubneg: opts.maxSubneg, maxRecord: opts.maxRecord },
      closeGraceMs: opts.closeGraceMs,
      // What a 3270 server agrees to when the client volunteers it (RFC 1576 §2, RFC 2355 §7);
      // everything else (ECHO, NAWS, NEW-ENVIRON, ...) is refused once, per RFC 1143.
      acceptRemote: [Opt.TTYPE, Opt.EOR, Opt.BINARY, ...(opts.tn3270e ?? true ? [Opt.TN3270E] : [])],
      acceptLocal: [Opt.EOR, Opt.BINARY],
    })
    this.on('option', (c) => this.guard(() => this.onOption(c)))
    this.on('subneg', (o, d) => this.guard(() => this.onSubneg(o, d)))
    this.on('record', (r) => this.guard(() => this.onRecord(r)))
    this.on('close', (reason) => this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, `connection closed during negotiation (${this.phase}): ${reason}`))
    const timeout = opts.timeout ?? DEFAULT_NEGOTIATION_TIMEOUT
    this.timer = clock.setTimeout(() => this.fail(ErrorCodes.TN3270_NEGOTIATION_TIMEOUT, `negotiation timed out after ${timeout} ms in phase ${this.phase}`), timeout)
    this.detach.push(() => clock.clearTimeout(this.timer))

    if (socket.destroyed) {
      this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'socket already closed before negotiation')
    } else if (opts.tn3270e ?? true) {
      // Server speaks first (RFC 2355 §7.1): offer TN3270E.
      this.conn.enableRemote(Opt.TN3270E)
    } else {
      this.startTn3270()
    }
  }

  private on<K extends keyof TelnetConnectionEvents> (ev: K, fn: (...args: TelnetConnectionEvents[K]) => void): void {
    const f = fn as (...args: unknown[]) => void
    const c = this.conn as unknown as EventEmitter
    c.on(ev, f)
    this.detach.push(() => c.off(ev, f))
  }

  // Listener exceptions never escape a socket handler: they fail this negotiation only.
  private guard (fn: () => void): void {
    try { fn() } catch (err) {
      if (isLbError(err)) this.fail(err.code, err.message, true)
      else this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, `internal error: ${err instanceof Error ? err.message : String(err)}`, true)
    }
  }

  // ---- option changes -------------------------------------------------------------------

  private onOption (c: OptionChange): void {
    if (c.side === 'remote' && c.option === Opt.TN3270E) {
      if (c.enabled && this.phase === 'await-tn3270e') {
        this.sendE({ kind: 'send-device-type' })
        this.phase = 'await-device-type'
      } else if (!c.enabled && E_PHASES.has(this.phase)) {
        // WONT TN3270E: refused outright, or the client exhausted its LU list (anchors §5.3).
        this.log.info({ event: 'tn3270e_declined', phase: this.phase }, 'client declined TN3270E; falling back to TN3270')
        this.dropLease()
        this.startTn3270()
      }
      return
    }
    if (c.option === Opt.TTYPE && c.side === 'remote' && this.phase === 'await-ttype') {
      if (c.enabled) this.sendTtypeSend()
      else this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'client refused TERMINAL-TYPE (WONT TTYPE)')
      return
    }
    if (this.phase === 'await-3270-options' && (c.option === Opt.EOR || c.option === Opt.BINARY)) {
      if (!c.enabled) {
        this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, `client refused ${c.option === Opt.EOR ? 'EOR' : 'BINARY'} (${c.side}); 3270 mode needs BINARY and EOR both ways`)
        return
      }
      if ([Opt.EOR, Opt.BINARY].every((o) => this.conn.isLocal(o) && this.conn.isRemote(o))) this.enter3270()
    }
  }

  // ---- subnegotiations -------------------------------------------------------------------

  private onSubneg (option: number, data: Buffer): void {
    if (option === Opt.TN3270E) { this.onTn3270e(decodeTn3270e(data)); return }
    if (option === Opt.TTYPE) { this.onTtype(data); return }
    this.log.debug({ event: 'telnet_subneg_ignored', option }, 'subnegotiation for an option not negotiated')
  }

  private onTn3270e (m: Tn3270eMessage): void {
    if (m.kind === 'device-type-request' && this.phase === 'await-device-type') { this.onDeviceTypeRequest(m); return }
    if (m.kind === 'functions-request' && (this.phase === 'await-functions' || this.phase === 'await-functions-is')) {
      const reply = answerFunctionsRequest(m.functions, supportedFunctions(this.bindImage))
      if (reply.verb === 'IS') { this.sendE({ kind: 'functions-is', functions: reply.functions }); this.functionsAgreed(reply.functions); return }
      this.proposed = reply.functions
      this.sendE({ kind: 'functions-request', functions: reply.functions })
      this.phase = 'await-functions-is'
      return
    }
    if (m.kind === 'functions-is' && this.phase === 'await-functions-is') {
      // RFC 2355 §7.2: the peer's IS ends the negotiation; it may not add functions.
      if (!isAcceptableIs(this.proposed, m.functions)) {
        throw lbError(ErrorCodes.TN3270E_MALFORMED, `client FUNCTIONS IS [${m.functions.join(',')}] adds to our proposal [${this.proposed.join(',')}]`)
      }
      this.functionsAgreed(m.functions)
      return
    }
    throw lbError(ErrorCodes.TN3270E_MALFORMED, `unexpected TN3270E ${m.kind} in phase ${this.phase}`)
  }

  private onDeviceTypeRequest (m: Extract<Tn3270eMessage, { kind: 'device-type-request' }>): void {
    const type = m.deviceType.toUpperCase()
    const info = parseDeviceType(type)
    const name = m.connect ?? m.associate
    let decision: DeviceDecision
    if (info === undefined) decision = { ok: false, reason: 'INV-DEVICE-TYPE', message: `unsupported device type ${type}` }
    // RFC 2355 §7.1.2 INV-ASSOCIATE: ASSOCIATE with a device type that is not a printer.
    else if (m.associate !== undefined && info.kind !== 'printer') decision = { ok: false, reason: 'INV-ASSOCIATE', message: `ASSOCIATE with display type ${type}` }
    else if (name !== undefined && !validResourceName(name)) decision = { ok: false, reason: 'INV-NAME', message: `invalid resource name ${name}` }
    else {
      const req: DeviceRequest = { mode: 'tn3270e', deviceType: type, client: this.client }
      if (m.connect !== undefined) req.resourceName = m.connect.toUpperCase()
      if (m.associate !== undefined) req.associate = m.associate.toUpperCase()
      decision = this.allocate(req)
    }
    if (!decision.ok) {
      this.rejected('tn3270e', type, name, decision.reason, decision.message)
      this.sendE({ kind: 'device-type-reject', reason: decision.reason })
      return // stay in await-device-type: the client may REQUEST again (anchors §5.3)
    }
    this.accepted(decision, info!, type)
    this.sendE({ kind: 'device-type-is', deviceType: type, device: decision.lu })
    this.phase = 'await-functions'
  }

  private functionsAgreed (functions: number[]): void {
    this.functions = functions
    this.conn.recordMode = true // BINARY and EOR are implied in TN3270E (RFC 2355 §7)
    this.afterModeEstablished()
  }

  // ---- traditional TN3270 ---------------------------------------------------------------

  private startTn3270 (): void {
    this.mode = 'tn3270'
    this.phase = 'await-ttype'
    if (this.conn.isRemote(Opt.TTYPE)) this.sendTtypeSend()
    else this.conn.enableRemote(Opt.TTYPE)
  }

  private sendTtypeSend (): void {
    this.conn.sendSubneg(Opt.TTYPE, Buffer.from([TTYPE_SEND]))
    this.phase = 'await-ttype-is'
  }

  private onTtype (data: Buffer): void {
    if (this.phase !== 'await-ttype-is') throw lbError(ErrorCodes.TELNET_PROTOCOL, `unexpected TERMINAL-TYPE subnegotiation in phase ${this.phase}`)
    if (data.length < 2 || data[0] !== TTYPE_IS) throw lbError(ErrorCodes.TELNET_PROTOCOL, `malformed TERMINAL-TYPE subnegotiation: ${data.toString('hex')}`)
    const body = data.subarray(1)
    for (const b of body) if (b < 0x21 || b > 0x7e) throw lbError(ErrorCodes.TELNET_PROTOCOL, `terminal type contains byte 0x${b.toString(16)}`)
    const ttype = body.toString('latin1').toUpperCase()
    // RFC 1091: a client that repeats the previous type has reached the end of its list.
    if (ttype === this.lastTtype) {
      // Still in NVT mode (no BINARY/EOR yet): a text line is what a TN3270 client can show.
      if (this.lastRefusal !== undefined) this.conn.sendData(Buffer.from(`tn3270-lb: ${this.lastRefusal}\r\n`, 'latin1'))
      this.fail(ErrorCodes.TN3270_DEVICE_TYPE, `client repeated terminal type ${ttype}: its list is exhausted and no name was accepted`)
      return
    }
    this.lastTtype = ttype
    const { deviceType, resourceName } = splitTerminalType(ttype)
    const info = parseDeviceType(deviceType)
    let decision: DeviceDecision
    if (info === undefined) decision = { ok: false, reason: 'INV-DEVICE-TYPE', message: `unsupported terminal type ${deviceType}` }
    else if (resourceName !== undefined && !validResourceName(resourceName)) decision = { ok: false, reason: 'INV-NAME', message: `invalid resource name ${resourceName}` }
    else {
      const req: DeviceRequest = { mode: 'tn3270', deviceType, client: this.client }
      if (resourceName !== undefined) req.resourceName = resourceName
      decision = this.allocate(req)
    }
    if (!decision.ok) {
      this.lastRefusal = decision.message
      this.rejected('tn3270', deviceType, resourceName, decision.reason, decision.message)
      // RFC 1091 cycling: ask for the next type; x3270 moves to the next LU of its list.
      this.sendTtypeSend()
      return
    }
    this.accepted(decision, info!, deviceType)
    this.phase = 'await-3270-options'
    // RFC 1576 §2 order as Hercules/go3270 use it: DO EOR, WILL EOR, DO BINARY, WILL BINARY.
    for (const o of [Opt.EOR, Opt.BINARY]) {
      if (!this.conn.isRemote(o)) this.conn.enableRemote(o)
      if (!this.conn.isLocal(o)) this.conn.enableLocal(o)
    }
    if (this.phase === 'await-3270-options' && [Opt.EOR, Opt.BINARY].every((o) => this.conn.isLocal(o) && this.conn.isRemote(o))) this.enter3270()
  }

  private enter3270 (): void {
    this.conn.recordMode = true
    this.afterModeEstablished()
  }

  // ---- common ---------------------------------------------------------------------------

  private allocate (req: DeviceRequest): DeviceDecision {
    try {
      return this.opts.provider.allocate(req)
    } catch (err) {
      this.log.error({ event: 'tn3270_provider_error', err }, 'resource provider threw')
      return { ok: false, reason: 'UNKNOWN-ERROR', message: `provider error: ${err instanceof Error ? err.message : String(err)}` }
    }
  }

  private rejected (mode: 'tn3270e' | 'tn3270', deviceType: string, name: string | undefined, reason: RejectReason, message: string): void {
    this.log.info({ event: 'tn3270_device_reject', mode, deviceType, resource: name, reason }, `device request rejected: ${message}`)
    if (this.opts.onReject !== undefined) {
      const info: RejectInfo = { mode, deviceType, reason, message, client: this.client }
      if (name !== undefined) info.resourceName = name
      try { this.opts.onReject(info) } catch (err) { this.log.error({ event: 'tn3270_on_reject_error', err }, 'onReject hook threw') }
    }
  }

  private accepted (d: Extract<DeviceDecision, { ok: true }>, info: DeviceTypeInfo, type: string): void {
    this.lease = d.lease
    this.lu = d.lu
    this.bindImage = d.bindImage
    this.device = info
    this.deviceTypeSent = type
    this.alt = info.alt
  }

  private dropLease (): void {
    const l = this.lease
    this.lease = undefined
    this.lu = ''
    if (l !== undefined) {
      try { l.release() } catch (err) { this.log.error({ event: 'tn3270_lease_release_error', err }, 'lease release threw') }
    }
  }

  private afterModeEstablished (): void {
    if (this.device?.dynamic === true) {
      // IBM-DYNAMIC: learn the size from the Query Reply (Usable Area), RFC 2355 §7.1.1 / GA23-0059.
      const q = this.mode === 'tn3270e'
        ? encodeMessage({ dataType: '3270-DATA', requestFlag: 0, responseFlag: ResponseFlag.NO_RESPONSE, seq: 0 }, READ_PARTITION_QUERY)
        : READ_PARTITION_QUERY
      this.conn.sendRecord(q)
      this.phase = 'await-query-reply'
      return
    }
    this.finish()
  }

  private onRecord (rec: Buffer): void {
    if (this.phase !== 'await-query-reply') {
      this.log.debug({ event: 'tn3270_early_record', bytes: rec.length, phase: this.phase }, 'record before negotiation completed ignored')
      return
    }
    let data = rec
    if (this.mode === 'tn3270e') {
      const m = decodeMessage(rec)
      if (m.header.dataType !== '3270-DATA') return
      data = m.data
    }
    const size = parseUsableArea(data)
    if (size === undefined) {
      this.log.info({ event: 'tn3270_query_no_usable_area', bytes: data.length }, 'no Usable Area in query reply; using 24x80')
    } else this.alt = size
    this.finish()
  }

  private finish (): void {
    this.phase = 'done'
    for (const d of this.detach.splice(0)) d()
    const names = this.functions.map((f) => functionName(f)).filter((f): f is Tn3270eFunction => f !== undefined)
    const session = new Tn3270ServerSession({
      conn: this.conn,
      logger: this.log,
      client: this.client,
      mode: this.mode,
      deviceType: this.deviceTypeSent,
      lu: this.lu,
      lease: this.lease!,
      functions: new Set(names),
      rows: DEFAULT_SIZE.rows,
      cols: DEFAULT_SIZE.cols,
      altRows: this.alt.rows,
      altCols: this.alt.cols,
    })
    this.log.info({ event: 'tn3270_negotiated', mode: this.mode, deviceType: this.deviceTypeSent, lu: this.lu, pool: this.lease?.pool, functions: names, ms: (this.opts.clock ?? systemClock).now() - this.started }, 'negotiation complete')
    this.resolve(session)
  }

  private fail (code: ErrorCode, reason: string, protocolError = false): void {
    if (this.phase === 'done' || this.phase === 'failed') return
    const phase = this.phase
    this.phase = 'failed'
    for (const d of this.detach.splice(0)) d()
    this.dropLease()
    this.log.warn({ event: 'tn3270_negotiation_failed', code, phase, reason }, `closing connection: ${reason}`)
    if (protocolError) this.conn.reset(reason)
    else this.conn.close(reason)
    this.reject(lbError(code, reason))
  }

  private sendE (m: Tn3270eMessage): void {
    this.conn.sendSubneg(Opt.TN3270E, encodeTn3270e(m))
  }
}

