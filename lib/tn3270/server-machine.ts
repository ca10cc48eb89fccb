// Server-side TN3270 / TN3270E negotiation as a pure state machine (docs/tn3270.md): telnet
// events in, actions out; the driver (negotiate-server.ts) binds it to a TelnetConnection.
//
// TN3270E (RFC 2355 §7):  DO TN3270E -> WILL -> SB SEND DEVICE-TYPE -> DEVICE-TYPE REQUEST
//   -> [allocation] -> IS ... CONNECT lu | REJECT REASON r (client may retry) -> FUNCTIONS REQUEST/IS.
// TN3270 (RFC 1576 §2, RFC 1091, RFC 1646 @NAME): DO TTYPE -> SB TTYPE SEND -> IS name
//   -> [allocation] [-> SEND again on a refused name] -> DO/WILL EOR -> DO/WILL BINARY.
// IBM-DYNAMIC: Read Partition Query, size from the Usable Area reply (GA23-0059); with BIND-IMAGE
// agreed the host's application queries after its BIND instead (see bindImageAgreed).
// The allocation may take time (a front proxy choosing a gateway): the client waits in
// await-allocation; a decision that arrives after the client left only releases its lease.
import { ErrorCodes, lbError, type ErrorCode } from '../errors.js'
import { Opt, type OptionChange } from '../telnet/index.js'
import { FUNCTION_CODE, functionName, ResponseFlag, type RejectReason, type Tn3270eFunction } from './constants.js'
import { DEFAULT_SIZE, parseDeviceType, parseUsableArea, READ_PARTITION_QUERY, splitTerminalType, validResourceName, type DeviceTypeInfo, type ScreenSize } from './devicetype.js'
import { answerFunctionsRequest, isAcceptableIs, supportedFunctions } from './functions.js'
import { decodeMessage, encodeMessage } from './header.js'
import { NegotiationMachine, OptionView, type NegotiationInput } from './machine.js'
import type { DeviceTypeRequest, NegotiationSnapshot } from './snapshot.js'
import { decodeTn3270e, type Tn3270eMessage } from './subneg.js'
import { decodeTtype } from './ttype.js'
import { isHandOver, type DeviceDecision, type DeviceRequest, type FrontDecision, type LuLease, type RejectInfo } from './types.js'

export type ServerPhase =
  | 'start' // nothing sent yet
  | 'await-tn3270e' // sent DO TN3270E
  | 'await-device-type' // sent SEND DEVICE-TYPE (or a REJECT): waiting for DEVICE-TYPE REQUEST
  | 'await-allocation' // a device request is with the provider
  | 'await-functions' // sent DEVICE-TYPE IS: waiting for FUNCTIONS REQUEST
  | 'await-functions-is' // sent FUNCTIONS REQUEST (subset): waiting for FUNCTIONS IS
  | 'await-ttype' // sent DO TTYPE
  | 'await-ttype-is' // sent SB TTYPE SEND
  | 'await-3270-options' // sent DO/WILL EOR, DO/WILL BINARY
  | 'await-query-reply' // IBM-DYNAMIC: sent Read Partition Query

export type ServerInput =
  | NegotiationInput
  /** A fresh connection: the server speaks first (RFC 2355 §7.1). */
  | { type: 'start' }
  /** Continue a hand-over: nothing is sent first; the snapshot's request is handled now. */
  | { type: 'resume', snapshot: NegotiationSnapshot }
  | { type: 'decision', id: number, decision: FrontDecision }

export interface ServerResult {
  mode: 'tn3270e' | 'tn3270'
  deviceType: string
  lu: string
  lease: LuLease
  functions: Tn3270eFunction[]
  alt: ScreenSize
}

export type ServerAction =
  | { type: 'enable', side: 'local' | 'remote', option: number }
  | { type: 'send-record', data: Buffer }
  /** NVT text before 3270 mode (the only thing a TN3270 client can show then). */
  | { type: 'send-nvt', data: Buffer }
  | { type: 'allocate', id: number, request: DeviceRequest, snapshot: NegotiationSnapshot }
  /** The request `id` is no longer wanted (the client left or fell back): tell the provider. */
  | { type: 'withdraw', id: number }
  | { type: 'release', lease: LuLease }
  | { type: 'rejected', info: RejectInfo }
  | { type: 'done', result: ServerResult }
  /** A front proxy passed the request on: stop here, answer nothing, give the connection up. */
  | { type: 'hand-over' }

export interface ServerMachineConfig {
  /** Offer TN3270E (RFC 2355) or only traditional TN3270 (RFC 1576). */
  tn3270e: boolean
  /** address:port, for DeviceRequest.client and RejectInfo. */
  client: string
}

type Granted = Extract<DeviceDecision, { ok: true }>
type Refused = Extract<DeviceDecision, { ok: false }>

/** A device request handed to the provider and not answered yet. */
interface Pending { id: number, mode: 'tn3270e' | 'tn3270', info: DeviceTypeInfo, type: string, name: string | undefined }

/** The engine's own checks, before the provider sees a request (RFC 2355 §7.1.2 reasons). */
function checkRequest (noun: 'device' | 'terminal', type: string, name: string | undefined, associate: boolean): { info: DeviceTypeInfo } | { refusal: Refused } {
  const info = parseDeviceType(type)
  if (info === undefined) return { refusal: { ok: false, reason: 'INV-DEVICE-TYPE', message: `unsupported ${noun} type ${type}` } }
  // INV-ASSOCIATE: ASSOCIATE with a device type that is not a printer.
  if (associate && info.kind !== 'printer') return { refusal: { ok: false, reason: 'INV-ASSOCIATE', message: `ASSOCIATE with display type ${type}` } }
  if (name !== undefined && !validResourceName(name)) return { refusal: { ok: false, reason: 'INV-NAME', message: `invalid resource name ${name}` } }
  return { info }
}

const E_PHASES: ReadonlySet<string> = new Set(['await-tn3270e', 'await-device-type', 'await-functions', 'await-functions-is'])
const TTYPE_OPTIONS: readonly number[] = [Opt.EOR, Opt.BINARY]

export class ServerNegotiation extends NegotiationMachine<ServerPhase, ServerInput, ServerAction> {
  protected phaseNow: ServerPhase | 'done' | 'failed' = 'start'
  private mode: 'tn3270e' | 'tn3270' = 'tn3270e'
  private view = new OptionView()
  private lease: LuLease | undefined
  private lu = ''
  private bindImage = false
  /** The LU granted is a printer of this LU type (RFC 2355 §10.3 functions); undefined = a display. */
  private printer: 'lu1' | 'lu3' | undefined
  private device: DeviceTypeInfo | undefined
  private deviceType = '' // the type string exactly as the client sent it, upper-cased
  private proposed: number[] = []
  private functions: number[] = []
  private lastTtype: string | undefined
  /** Why the last TN3270 name was refused, told to the client when its list runs out. */
  private lastRefusal: string | undefined
  private alt: ScreenSize = DEFAULT_SIZE
  private pending: Pending | undefined
  private nextId = 1

  constructor (private readonly config: ServerMachineConfig) { super() }

  protected handle (input: ServerInput): void {
    if (input.type === 'decision') { this.onDecision(input.id, input.decision); return }
    if (this.finished) return
    switch (input.type) {
      case 'start': this.onStart(); return
      case 'resume': this.onResume(input.snapshot); return
      case 'option': this.onOption(input.change); return
      case 'subneg': this.onSubneg(input.option, input.data); return
      case 'record': this.onRecord(input.data); return
      case 'timeout': this.fail(ErrorCodes.TN3270_NEGOTIATION_TIMEOUT, 'timeout', `negotiation timed out after ${input.ms} ms in phase ${this.phaseNow}`); return
      case 'closed': this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'closed', `connection closed during negotiation (${this.phaseNow}): ${input.reason}`); return
      case 'error': this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'protocol', input.message, true)
    }
  }

  protected cleanup (): void {
    // A decision still out is released when it arrives; the provider is told it may stop.
    if (this.pending !== undefined) this.emit({ type: 'withdraw', id: this.pending.id })
    this.pending = undefined
    this.dropLease()
  }

  // ---- start and resume -------------------------------------------------------------------

  private onStart (): void {
    this.outOfPlace('start', this.phaseNow !== 'start')
    if (!this.config.tn3270e) { this.startTn3270(); return }
    this.phaseNow = 'await-tn3270e'
    this.emit({ type: 'enable', side: 'remote', option: Opt.TN3270E })
  }

  private onResume (s: NegotiationSnapshot): void {
    this.outOfPlace('resume', this.phaseNow !== 'start')
    this.view = new OptionView(s.options)
    // Not the client's fault: a graceful close, so whoever handed the negotiation over sees a clean refusal.
    const cannot = (code: ErrorCode, why: string): void => { this.fail(code, 'protocol', `cannot resume this negotiation: ${why}`) }
    if (s.mode === 'tn3270e') {
      if (!this.config.tn3270e) { cannot(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'this server offers TN3270 only'); return }
      if (!this.view.has('remote', Opt.TN3270E)) { cannot(ErrorCodes.TN3270_SNAPSHOT_MALFORMED, 'a TN3270E request without the client\'s WILL TN3270E'); return }
      this.phaseNow = 'await-device-type'
      this.onDeviceTypeRequest(s.request)
      return
    }
    if (!this.view.has('remote', Opt.TTYPE)) { cannot(ErrorCodes.TN3270_SNAPSHOT_MALFORMED, 'a terminal type without the client\'s WILL TERMINAL-TYPE'); return }
    this.mode = 'tn3270'
    this.lastTtype = s.previousTerminalType?.toUpperCase()
    this.lastRefusal = s.lastRefusal
    this.phaseNow = 'await-ttype-is'
    this.onTerminalType(s.terminalType)
  }

  // ---- telnet events ------------------------------------------------------------------------

  private onOption (c: OptionChange): void {
    this.view.apply(c)
    const phase = this.phaseNow
    if (c.side === 'remote' && c.option === Opt.TN3270E) {
      if (c.enabled && phase === 'await-tn3270e') {
        this.emit({ type: 'send-tn3270e', message: { kind: 'send-device-type' } })
        this.phaseNow = 'await-device-type'
      } else if (!c.enabled && this.mode === 'tn3270e' && (E_PHASES.has(phase) || phase === 'await-allocation')) {
        // WONT TN3270E: refused outright, or the client exhausted its LU list (it goes on in TN3270).
        this.log('info', 'tn3270e_declined', 'client declined TN3270E; falling back to TN3270', { phase })
        this.cleanup()
        this.startTn3270()
      }
      return
    }
    if (c.side === 'remote' && c.option === Opt.TTYPE && phase === 'await-ttype') {
      if (c.enabled) this.sendTtypeSend()
      else this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'refused', 'client refused TERMINAL-TYPE (WONT TTYPE)')
      return
    }
    if (phase === 'await-3270-options' && TTYPE_OPTIONS.includes(c.option)) {
      if (!c.enabled) {
        this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'refused', `client refused ${c.option === Opt.EOR ? 'EOR' : 'BINARY'} (${c.side}); 3270 mode needs BINARY and EOR both ways`)
        return
      }
      if (TTYPE_OPTIONS.every((o) => this.view.both(o))) this.enter3270()
    }
  }

  private onSubneg (option: number, data: Buffer): void {
    if (option === Opt.TN3270E) { this.onTn3270e(decodeTn3270e(data)); return }
    if (option === Opt.TTYPE) {
      if (this.phaseNow !== 'await-ttype-is') throw lbError(ErrorCodes.TELNET_PROTOCOL, `unexpected TERMINAL-TYPE subnegotiation in phase ${this.phaseNow}`)
      const m = decodeTtype(data)
      if (m.kind !== 'is') throw lbError(ErrorCodes.TELNET_PROTOCOL, 'unexpected TERMINAL-TYPE SEND from a client')
      this.onTerminalType(m.name)
      return
    }
    this.log('debug', 'telnet_subneg_ignored', 'subnegotiation for an option not negotiated', { option })
  }

  private onTn3270e (m: Tn3270eMessage): void {
    const phase = this.phaseNow
    if (m.kind === 'device-type-request' && phase === 'await-device-type') {
      const { kind: _kind, ...request } = m
      this.onDeviceTypeRequest(request)
    } else if (m.kind === 'functions-request' && (phase === 'await-functions' || phase === 'await-functions-is')) {
      const reply = answerFunctionsRequest(m.functions, supportedFunctions(this.bindImage, this.printer))
      if (reply.verb === 'IS') {
        this.emit({ type: 'send-tn3270e', message: { kind: 'functions-is', functions: reply.functions } })
        this.functionsAgreed(reply.functions)
        return
      }
      this.proposed = reply.functions
      this.emit({ type: 'send-tn3270e', message: { kind: 'functions-request', functions: reply.functions } })
      this.phaseNow = 'await-functions-is'
    } else if (m.kind === 'functions-is' && phase === 'await-functions-is') {
      // RFC 2355 §7.2: the peer's IS ends the negotiation; it may not add functions.
      if (!isAcceptableIs(this.proposed, m.functions)) {
        throw lbError(ErrorCodes.TN3270E_MALFORMED, `client FUNCTIONS IS [${m.functions.join(',')}] adds to our proposal [${this.proposed.join(',')}]`)
      }
      this.functionsAgreed(m.functions)
    } else {
      throw lbError(ErrorCodes.TN3270E_MALFORMED, `unexpected TN3270E ${m.kind} in phase ${phase}`)
    }
  }

  private onRecord (rec: Buffer): void {
    if (this.phaseNow !== 'await-query-reply') {
      this.log('debug', 'tn3270_early_record', 'record before negotiation completed ignored', { bytes: rec.length, phase: this.phaseNow })
      return
    }
    let data = rec
    if (this.mode === 'tn3270e') {
      const m = decodeMessage(rec)
      if (m.header.dataType !== '3270-DATA') return
      data = m.data
    }
    const size = parseUsableArea(data)
    if (size === undefined) this.log('info', 'tn3270_query_no_usable_area', 'no Usable Area in query reply; using 24x80', { bytes: data.length })
    else this.alt = size
    this.finish()
  }

  // ---- device requests ------------------------------------------------------------------------

  private onDeviceTypeRequest (r: DeviceTypeRequest): void {
    const type = r.deviceType.toUpperCase()
    const name = r.connect ?? r.associate
    const checked = checkRequest('device', type, name, r.associate !== undefined)
    if ('refusal' in checked) { this.refuseTn3270e(type, name, checked.refusal); return }
    const info = checked.info
    const request: DeviceRequest = { mode: 'tn3270e', deviceType: type, client: this.config.client }
    if (r.connect !== undefined) request.resourceName = r.connect.toUpperCase()
    if (r.associate !== undefined) request.associate = r.associate.toUpperCase()
    this.allocate({ mode: 'tn3270e', info, type, name }, request, { mode: 'tn3270e', options: this.view.entries(), request: { ...r } })
  }

  private onTerminalType (raw: string): void {
    const ttype = raw.toUpperCase()
    // RFC 1091: a client that repeats the previous type has reached the end of its list.
    if (ttype === this.lastTtype) {
      // Still in NVT mode (no BINARY/EOR yet): a text line is what a TN3270 client can show.
      if (this.lastRefusal !== undefined) this.emit({ type: 'send-nvt', data: Buffer.from(`tn3270-lb: ${this.lastRefusal}\r\n`, 'latin1') })
      this.fail(ErrorCodes.TN3270_DEVICE_TYPE, 'refused', `client repeated terminal type ${ttype}: its list is exhausted and no name was accepted`)
      return
    }
    const previous = this.lastTtype
    this.lastTtype = ttype
    const { deviceType, resourceName } = splitTerminalType(ttype)
    const checked = checkRequest('terminal', deviceType, resourceName, false)
    if ('refusal' in checked) { this.refuseTn3270(deviceType, resourceName, checked.refusal); return }
    const info = checked.info
    const request: DeviceRequest = { mode: 'tn3270', deviceType, client: this.config.client }
    if (resourceName !== undefined) request.resourceName = resourceName
    const snapshot: NegotiationSnapshot = { mode: 'tn3270', options: this.view.entries(), terminalType: raw }
    if (previous !== undefined) snapshot.previousTerminalType = previous
    if (this.lastRefusal !== undefined) snapshot.lastRefusal = this.lastRefusal
    this.allocate({ mode: 'tn3270', info, type: deviceType, name: resourceName }, request, snapshot)
  }

  private allocate (p: Omit<Pending, 'id'>, request: DeviceRequest, snapshot: NegotiationSnapshot): void {
    const id = this.nextId++
    this.pending = { ...p, id }
    this.phaseNow = 'await-allocation'
    this.emit({ type: 'allocate', id, request, snapshot })
  }

  private onDecision (id: number, fd: FrontDecision): void {
    const p = this.pending
    const stale = p === undefined || p.id !== id || this.phaseNow !== 'await-allocation'
    if (isHandOver(fd)) {
      // A late hand-over holds nothing here: whoever took the request over closes its side.
      if (stale) { this.log('info', 'tn3270_late_handover', 'a hand-over decided after the request was withdrawn is ignored'); return }
      this.pending = undefined
      this.phaseNow = 'done'
      this.emit({ type: 'hand-over' })
      return
    }
    const d: DeviceDecision = fd
    if (stale) {
      // The client left (or fell back) while the provider decided: nothing may stay allocated.
      if (d.ok) {
        this.log('info', 'tn3270_late_lease_released', 'a device granted after the request was withdrawn is released', { lu: d.lu })
        this.emit({ type: 'release', lease: d.lease })
      }
      return
    }
    this.pending = undefined
    if (p.mode === 'tn3270e') {
      if (!d.ok) { this.refuseTn3270e(p.type, p.name, d); return }
      this.accepted(d, p.info, p.type)
      this.emit({ type: 'send-tn3270e', message: { kind: 'device-type-is', deviceType: p.type, device: d.lu } })
      this.phaseNow = 'await-functions'
      return
    }
    if (!d.ok) { this.refuseTn3270(p.type, p.name, d); return }
    this.accepted(d, p.info, p.type)
    this.phaseNow = 'await-3270-options'
    // RFC 1576 §2 order as Hercules/go3270 use it: DO EOR, WILL EOR, DO BINARY, WILL BINARY.
    for (const o of TTYPE_OPTIONS) {
      if (!this.view.has('remote', o)) this.emit({ type: 'enable', side: 'remote', option: o })
      if (!this.view.has('local', o)) this.emit({ type: 'enable', side: 'local', option: o })
    }
    if (TTYPE_OPTIONS.every((o) => this.view.both(o))) this.enter3270()
  }

  private refuseTn3270e (type: string, name: string | undefined, d: Refused): void {
    this.rejected('tn3270e', type, name, d.reason, d.message)
    this.emit({ type: 'send-tn3270e', message: { kind: 'device-type-reject', reason: d.reason } })
    this.phaseNow = 'await-device-type' // the client may REQUEST again (x3270 walks its LU list)
  }

  private refuseTn3270 (type: string, name: string | undefined, d: Refused): void {
    this.lastRefusal = d.message
    this.rejected('tn3270', type, name, d.reason, d.message)
    // RFC 1091 cycling: ask for the next type; x3270 moves to the next LU of its list.
    this.sendTtypeSend()
  }

  private rejected (mode: 'tn3270e' | 'tn3270', deviceType: string, name: string | undefined, reason: RejectReason, message: string): void {
    const info: RejectInfo = { mode, deviceType, reason, message, client: this.config.client }
    if (name !== undefined) info.resourceName = name
    this.emit({ type: 'rejected', info })
  }

  private accepted (d: Granted, info: DeviceTypeInfo, type: string): void {
    this.lease = d.lease
    this.lu = d.lu
    this.bindImage = d.bindImage
    this.printer = d.printer
    this.device = info
    this.deviceType = type
    this.alt = info.alt
  }

  private dropLease (): void {
    const l = this.lease
    this.lease = undefined
    this.lu = ''
    if (l !== undefined) this.emit({ type: 'release', lease: l })
  }

  // ---- 3270 mode --------------------------------------------------------------------------------

  private startTn3270 (): void {
    this.mode = 'tn3270'
    this.phaseNow = 'await-ttype'
    if (this.view.has('remote', Opt.TTYPE)) this.sendTtypeSend()
    else this.emit({ type: 'enable', side: 'remote', option: Opt.TTYPE })
  }

  private sendTtypeSend (): void {
    this.emit({ type: 'send-ttype', message: { kind: 'send' } })
    this.phaseNow = 'await-ttype-is'
  }

  private functionsAgreed (functions: number[]): void {
    this.functions = functions
    this.emit({ type: 'record-mode' }) // BINARY and EOR are implied in TN3270E (RFC 2355 §7)
    this.afterModeEstablished()
  }

  private enter3270 (): void {
    this.emit({ type: 'record-mode' })
    this.afterModeEstablished()
  }

  private afterModeEstablished (): void {
    if (this.device?.dynamic === true && !this.bindImageAgreed()) {
      // IBM-DYNAMIC: learn the size from the Query Reply (Usable Area), RFC 2355 §7.1.1 / GA23-0059.
      const q = this.mode === 'tn3270e'
        ? encodeMessage({ dataType: '3270-DATA', requestFlag: 0, responseFlag: ResponseFlag.NO_RESPONSE, seq: 0 }, READ_PARTITION_QUERY)
        : READ_PARTITION_QUERY
      this.emit({ type: 'send-record', data: q })
      this.phaseNow = 'await-query-reply'
      return
    }
    this.finish()
  }

  /**
   * With BIND-IMAGE the client is unbound until the host's BIND and discards 3270-DATA until then
   * (x3270 telnet.c process_eor), so a query now would never be answered. The host sizes the
   * screen instead, as z/OS does for IBM-DYNAMIC: a logmode whose PSERVIC screen-size byte is
   * X'03' (default 24x80, alternate determined by the device) makes the application query the
   * terminal after the BIND ("z/OS Communications Server: SNA Network Implementation Guide",
   * SC27-3672, PSERVIC operand of MODEENT; "SNA Formats", GA27-3136, BIND LU 2 PS usage).
   */
  private bindImageAgreed (): boolean {
    return this.mode === 'tn3270e' && this.functions.includes(FUNCTION_CODE['BIND-IMAGE'])
  }

  private finish (): void {
    this.phaseNow = 'done'
    const functions = this.functions.map((f) => functionName(f)).filter((f): f is Tn3270eFunction => f !== undefined)
    this.emit({ type: 'done', result: { mode: this.mode, deviceType: this.deviceType, lu: this.lu, lease: this.lease!, functions, alt: this.alt } })
  }

  private outOfPlace (what: string, bad: boolean): void {
    if (bad) throw lbError(ErrorCodes.TN3270_NEGOTIATION_FAILED, `${what} in phase ${this.phaseNow}: a negotiation starts once`)
  }
}
