// What the server and client negotiation machines share (docs/tn3270.md): the inputs a telnet
// connection produces, the actions both ask for, the view of agreed options, and the step
// discipline — a machine never throws and never does I/O; bad input becomes a `fail` action.
import { ErrorCodes, errorMessage, isLbError, type ErrorCode, type NegotiationFailure } from '../errors.js'
import type { OptionChange, Side } from '../telnet/index.js'
import type { AgreedOption } from './snapshot.js'
import type { Tn3270eMessage } from './subneg.js'
import type { TtypeMessage } from './ttype.js'

/** What a telnet connection reports during negotiation, plus the two clocks of a negotiation. */
export type NegotiationInput =
  | { type: 'option', change: OptionChange }
  | { type: 'subneg', option: number, data: Buffer }
  | { type: 'record', data: Buffer }
  /** The negotiation deadline (or, on the client, the first-record wait) passed. */
  | { type: 'timeout', ms: number }
  | { type: 'closed', reason: string }
  /** The driver failed outside the machine (a throwing hook, a write error): end now. */
  | { type: 'error', message: string }

export type LogLevel = 'debug' | 'info'

export type CommonAction =
  | { type: 'send-tn3270e', message: Tn3270eMessage }
  | { type: 'send-ttype', message: TtypeMessage }
  /** Collect data into records ended by IAC EOR from now on (RFC 885). */
  | { type: 'record-mode' }
  | { type: 'log', level: LogLevel, event: string, message: string, fields?: Record<string, unknown> }
  /** End the negotiation; `abort` = protocol error, reset rather than close. */
  | { type: 'fail', code: ErrorCode, failure: NegotiationFailure, phase: string, message: string, abort: boolean }

/** Which sides of which options are in force (RFC 1143 YES), as the option events reported them. */
export class OptionView {
  private readonly on = new Set<string>()

  constructor (agreed: readonly AgreedOption[] = []) {
    for (const a of agreed) {
      if (a.local) this.on.add(`local:${a.option}`)
      if (a.remote) this.on.add(`remote:${a.option}`)
    }
  }

  apply (c: OptionChange): void {
    const k = `${c.side}:${c.option}`
    if (c.enabled) this.on.add(k)
    else this.on.delete(k)
  }

  has (side: Side, option: number): boolean { return this.on.has(`${side}:${option}`) }
  both (option: number): boolean { return this.has('local', option) && this.has('remote', option) }

  /** The agreed options, lowest code first (the snapshot's order). */
  entries (): AgreedOption[] {
    const codes = new Set([...this.on].map((k) => Number(k.split(':')[1])))
    return [...codes].sort((a, b) => a - b).map((option) => ({ option, local: this.has('local', option), remote: this.has('remote', option) }))
  }
}

/**
 * The step discipline of both machines: inputs in, actions out. A finished machine ignores
 * everything but what it must still clean up; anything a handler throws (a malformed
 * subnegotiation, a message out of place) fails the negotiation with that error's code.
 */
export abstract class NegotiationMachine<Phase extends string, Input extends { type: string }, Action> {
  protected abstract phaseNow: Phase | 'done' | 'failed'
  private out: Array<Action | CommonAction> = []

  get phase (): Phase | 'done' | 'failed' { return this.phaseNow }
  get finished (): boolean { return this.phaseNow === 'done' || this.phaseNow === 'failed' }

  step (input: Input): Array<Action | CommonAction> {
    this.out = []
    try {
      this.handle(input)
    } catch (err) {
      const code = isLbError(err) ? err.code : ErrorCodes.TN3270_NEGOTIATION_FAILED
      this.fail(code, 'protocol', isLbError(err) ? err.message : `internal error: ${errorMessage(err)}`, true)
    }
    return this.out
  }

  protected abstract handle (input: Input): void
  /** Release what the machine holds (a lease) before a fail action goes out. */
  protected abstract cleanup (): void

  protected emit (a: Action | CommonAction): void { this.out.push(a) }

  protected log (level: LogLevel, event: string, message: string, fields?: Record<string, unknown>): void {
    this.emit(fields === undefined ? { type: 'log', level, event, message } : { type: 'log', level, event, message, fields })
  }

  protected fail (code: ErrorCode, failure: NegotiationFailure, message: string, abort = false): void {
    if (this.finished) return
    const phase = this.phaseNow
    this.phaseNow = 'failed'
    this.cleanup()
    this.emit({ type: 'fail', code, failure, phase, message, abort })
  }
}
