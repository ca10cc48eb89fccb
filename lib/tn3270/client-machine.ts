// Client-side TN3270 / TN3270E negotiation as a pure state machine (docs/tn3270.md): the gateway
// as a terminal toward a host. Telnet events in, actions out; negotiate-client.ts drives it.
//
// TN3270E (RFC 2355 §7): host DO TN3270E -> WILL -> SEND DEVICE-TYPE -> DEVICE-TYPE REQUEST
//   <type> [CONNECT <resource>] -> IS ... CONNECT <device> | REJECT -> FUNCTIONS REQUEST/IS.
// TN3270 (RFC 1576 §2, RFC 1091): host DO TTYPE -> WILL -> SEND -> IS <type>[@<resource>]
//   -> EOR and BINARY both ways. A second SEND after a named type refuses the name (the
//   RFC 1646-era convention x3270 and Hercules follow).
// Then, optionally, the host's first record is awaited and checked (a host may paint its
// refusal on the screen instead of refusing in the protocol).
import { ErrorCodes, lbError } from '../errors.js'
import { Opt, type OptionChange } from '../telnet/index.js'
import { FUNCTION_CODE, functionName, type Tn3270eFunction } from './constants.js'
import { answerFunctionsRequest, isAcceptableIs } from './functions.js'
import { NegotiationMachine, OptionView, type NegotiationInput } from './machine.js'
import { decodeRecord, type SessionData } from './record.js'
import { decodeTn3270e, type Tn3270eMessage } from './subneg.js'
import { decodeTtype } from './ttype.js'

export type ClientPhase =
  | 'telnet' // options, before any device request
  | 'device-type' // TN3270E: sent DEVICE-TYPE REQUEST, waiting for IS or REJECT (RFC 2355 §7.1)
  | 'functions' // TN3270E: sent FUNCTIONS REQUEST, waiting for IS or REQUEST (RFC 2355 §7.2)
  | 'terminal-type' // TN3270: sent TERMINAL-TYPE IS, waiting for EOR and BINARY both ways
  | 'first-record' // in 3270 mode: waiting for the host's first record

export type ClientInput = NegotiationInput | { type: 'aborted' }

export interface ClientResult {
  mode: 'tn3270e' | 'tn3270'
  device?: string
  functions: Tn3270eFunction[]
  terminalType: string
  /** Records that arrived in the first-record phase, in order. */
  pending: SessionData[]
}

export type ClientAction =
  /** Arm the single negotiation timer anew (the first-record wait). */
  | { type: 'timer', ms: number }
  | { type: 'done', result: ClientResult }

export interface ClientMachineConfig {
  /** Terminal type, e.g. IBM-3278-2-E. */
  terminalType: string
  /** Host-side resource (LU, pool, device number, group); undefined = generic. */
  resource?: string
  /** Function codes to propose (RFC 2355 §7.2); see clientFunctions(). */
  functions: readonly number[]
  /** Wait this long (ms) for the host's first record once in 3270 mode; 0 = do not wait. */
  firstRecordTimeout: number
  /** The host, for messages (address:port). */
  peer: string
  /** A refusal painted on the host's first screen, or undefined (e.g. hostlink's screenRefusal). */
  screenCheck?: (record: Buffer) => string | undefined
}

/** What a client proposes: the functions asked for (default RESPONSES), never BIND-IMAGE: no BINDs are relayed. */
export function clientFunctions (asked: readonly Tn3270eFunction[] = ['RESPONSES']): number[] {
  return [...new Set(asked.filter((f) => f !== 'BIND-IMAGE').map((f) => FUNCTION_CODE[f]))].sort((a, b) => a - b)
}

/** TN3270E device types are 3278 even for colour terminals (RFC 2355 §7.1.1; x3270 does so "per the RFC"). */
export function tn3270eDeviceType (type: string): string {
  return type.toUpperCase().replace(/^IBM-3279-/, 'IBM-3278-')
}

const NEGOTIATING: ReadonlySet<string> = new Set(['telnet', 'device-type', 'functions', 'terminal-type'])

export class ClientNegotiation extends NegotiationMachine<ClientPhase, ClientInput, ClientAction> {
  protected phaseNow: ClientPhase | 'done' | 'failed' = 'telnet'
  private mode: 'tn3270e' | 'tn3270' = 'tn3270'
  private readonly view = new OptionView()
  private ttypeSent: string | undefined
  private device: string | undefined
  private proposed: number[] = []
  private agreed: number[] = []
  private readonly pending: SessionData[] = []

  constructor (private readonly config: ClientMachineConfig) { super() }

  protected handle (input: ClientInput): void {
    if (this.finished) return
    switch (input.type) {
      case 'option': this.onOption(input.change); return
      case 'subneg': this.onSubneg(input.option, input.data); return
      case 'record': this.onRecord(input.data); return
      case 'timeout': this.onTimeout(input.ms); return
      case 'closed': this.onClosed(input.reason); return
      case 'aborted': this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'aborted', `connect to ${this.config.peer} aborted`); return
      case 'error': this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'protocol', input.message, true)
    }
  }

  protected cleanup (): void { /* a client holds nothing but the connection, which the driver closes */ }

  private get host (): string { return `host ${this.config.peer}` }

  private onOption (c: OptionChange): void {
    this.view.apply(c)
    if (!NEGOTIATING.has(this.phaseNow)) return
    if (c.option === Opt.TN3270E && c.side === 'local') {
      if (c.enabled) {
        this.mode = 'tn3270e'
        this.log('debug', 'tn3270_host_tn3270e', 'host negotiates TN3270E')
      } else if (this.mode === 'tn3270e') {
        // RFC 2355 §7: the host gave up TN3270E (it continues with TERMINAL-TYPE).
        this.mode = 'tn3270'
        this.phaseNow = this.ttypeSent === undefined ? 'telnet' : 'terminal-type'
        this.check3270()
      }
      return
    }
    this.check3270()
  }

  private onSubneg (option: number, data: Buffer): void {
    if (option === Opt.TTYPE) { this.onTtype(data); return }
    if (option === Opt.TN3270E) { this.onTn3270e(decodeTn3270e(data)); return }
    this.log('debug', 'tn3270_host_subneg_ignored', 'host subnegotiation for an option not negotiated', { option })
  }

  /** RFC 1091: SEND asks for our type; a repeated SEND after a named type refuses the name. */
  private onTtype (data: Buffer): void {
    const m = decodeTtype(data)
    if (m.kind !== 'send') throw lbError(ErrorCodes.TELNET_PROTOCOL, `unexpected TERMINAL-TYPE subnegotiation from host: ${data.toString('hex')}`)
    if (this.phaseNow === 'first-record') return
    const { resource, terminalType } = this.config
    if (this.ttypeSent !== undefined && resource !== undefined && this.mode === 'tn3270') {
      this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'refused', `${this.host} refused terminal type ${this.ttypeSent} (asked again: resource ${resource} not available)`)
      return
    }
    // z/OS and x3270 convention: the resource rides on the terminal type only in TN3270 mode.
    const name = resource !== undefined && this.mode === 'tn3270' ? `${terminalType}@${resource}` : terminalType
    this.ttypeSent = name
    this.emit({ type: 'send-ttype', message: { kind: 'is', name } })
    if (this.mode === 'tn3270') this.phaseNow = 'terminal-type'
    this.check3270()
  }

  /** Client side of RFC 2355 §7.1 (device type) and §7.2 (functions). */
  private onTn3270e (m: Tn3270eMessage): void {
    const phase = this.phaseNow
    if (phase === 'first-record') return
    if (this.mode !== 'tn3270e') throw lbError(ErrorCodes.TN3270E_MALFORMED, `unexpected TN3270E ${m.kind} from host: TN3270E is not agreed`)
    if (m.kind === 'send-device-type' && (phase === 'telnet' || phase === 'device-type')) {
      const req: Tn3270eMessage = { kind: 'device-type-request', deviceType: tn3270eDeviceType(this.config.terminalType) }
      if (this.config.resource !== undefined) req.connect = this.config.resource
      this.emit({ type: 'send-tn3270e', message: req })
      this.phaseNow = 'device-type'
    } else if (m.kind === 'device-type-is' && phase === 'device-type') {
      this.device = m.device
      this.proposed = [...this.config.functions]
      this.emit({ type: 'send-tn3270e', message: { kind: 'functions-request', functions: this.proposed } })
      this.phaseNow = 'functions'
    } else if (m.kind === 'device-type-reject' && phase === 'device-type') {
      const what = this.config.resource === undefined ? '' : ` CONNECT ${this.config.resource}`
      this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'refused', `${this.host} rejected DEVICE-TYPE REQUEST${what}: ${m.reason}`)
    } else if (m.kind === 'functions-request' && phase === 'functions') {
      // The host's counter-proposal: agree if it is within what we asked (x3270: "they want
      // what we want, or less"); otherwise propose the common part, never a function we did not ask.
      const reply = answerFunctionsRequest(m.functions, new Set(this.proposed))
      if (reply.verb === 'IS') {
        this.emit({ type: 'send-tn3270e', message: { kind: 'functions-is', functions: reply.functions } })
        this.tn3270eDone(reply.functions)
        return
      }
      this.proposed = reply.functions
      this.emit({ type: 'send-tn3270e', message: { kind: 'functions-request', functions: reply.functions } })
    } else if (m.kind === 'functions-is' && phase === 'functions') {
      if (!isAcceptableIs(this.proposed, m.functions)) {
        throw lbError(ErrorCodes.TN3270E_MALFORMED, `host FUNCTIONS IS [${m.functions.join(',')}] adds to our request [${this.proposed.join(',')}]`)
      }
      this.tn3270eDone(m.functions)
    } else {
      throw lbError(ErrorCodes.TN3270E_MALFORMED, `unexpected TN3270E ${m.kind} from host in phase ${phase}`)
    }
  }

  private tn3270eDone (functions: number[]): void {
    this.agreed = functions
    this.emit({ type: 'record-mode' }) // BINARY and EOR are implied in TN3270E (RFC 2355 §7)
    this.negotiated()
  }

  /** RFC 1576 §2: 3270 mode = terminal type sent, EOR and BINARY on in both directions. */
  private check3270 (): void {
    if (this.phaseNow !== 'terminal-type') return
    if (![Opt.EOR, Opt.BINARY].every((o) => this.view.both(o))) return
    this.emit({ type: 'record-mode' })
    this.negotiated()
  }

  private negotiated (): void {
    const wait = this.config.firstRecordTimeout
    this.log('debug', 'tn3270_host_negotiated', 'host negotiation complete', { mode: this.mode, device: this.device, terminalType: this.ttypeSent })
    if (wait <= 0) { this.finish(); return }
    this.phaseNow = 'first-record'
    this.emit({ type: 'timer', ms: wait })
  }

  private onRecord (rec: Buffer): void {
    if (this.phaseNow !== 'first-record') {
      this.log('debug', 'tn3270_host_early_record', 'record before 3270 mode ignored', { bytes: rec.length })
      return
    }
    const d = decodeRecord(this.mode, rec)
    if (d.kind !== 'data') return
    this.pending.push(d.data)
    if (d.data.type !== '3270-DATA') return
    const refusal = this.config.screenCheck?.(d.data.data)
    if (refusal !== undefined) {
      const what = this.config.resource === undefined ? 'a generic session' : `resource ${this.config.resource}`
      this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'refused', `${this.host} refused ${what} on screen: "${refusal}"`)
      return
    }
    this.finish()
  }

  private onTimeout (ms: number): void {
    if (this.phaseNow === 'first-record') {
      this.log('debug', 'tn3270_host_no_first_record', 'host sent no record yet; continuing', { ms })
      this.finish()
      return
    }
    this.fail(ErrorCodes.TN3270_NEGOTIATION_TIMEOUT, 'timeout',
      `${this.host} did not complete TN3270 negotiation within ${ms} ms (sent terminal type: ${this.ttypeSent ?? 'none'}, mode ${this.mode})`)
  }

  private onClosed (reason: string): void {
    const when = this.phaseNow === 'first-record' ? 'before sending a screen' : 'during negotiation'
    this.fail(ErrorCodes.TN3270_NEGOTIATION_FAILED, 'closed', `${this.host} closed the connection ${when} (${reason})`)
  }

  private finish (): void {
    this.phaseNow = 'done'
    const functions = this.agreed.map((f) => functionName(f)).filter((f): f is Tn3270eFunction => f !== undefined)
    const result: ClientResult = { mode: this.mode, functions, terminalType: this.ttypeSent ?? tn3270eDeviceType(this.config.terminalType), pending: this.pending }
    if (this.device !== undefined) result.device = this.device
    this.emit({ type: 'done', result })
  }
}
