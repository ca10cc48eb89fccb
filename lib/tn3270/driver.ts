// The thin I/O half of a negotiation (docs/tn3270.md): binds a pure machine (server-machine.ts,
// client-machine.ts) to a TelnetConnection. It turns connection events and the deadline into
// machine inputs, one at a time and in order, carries out the actions the machine returns, and
// detaches itself when the negotiation ends either way, so the session or the closed socket is
// all that is left.
import type { EventEmitter } from 'node:events'
import type { Clock, Timer } from '../clock.js'
import { errorMessage, isLbError, NegotiationError } from '../errors.js'
import type { Logger } from '../observability/index.js'
import { Opt, type TelnetConnection, type TelnetConnectionEvents } from '../telnet/index.js'
import type { CommonAction, NegotiationInput } from './machine.js'
import { encodeTn3270e } from './subneg.js'
import { encodeTtype } from './ttype.js'

/** The part of a machine a driver uses. */
export interface Machine<I, A> {
  step: (input: I) => Array<A | CommonAction>
  readonly phase: string
  readonly finished: boolean
}

const COMMON: ReadonlySet<string> = new Set(['send-tn3270e', 'send-ttype', 'record-mode', 'log', 'fail'])

function isCommon<A extends { type: string }> (a: A | CommonAction): a is CommonAction { return COMMON.has(a.type) }

export abstract class NegotiationDriver<I extends { type: string }, A extends { type: string }> {
  private timer: Timer | undefined
  private readonly detachers: Array<() => void> = []
  private readonly queue: Array<I | NegotiationInput> = []
  private busy = false

  protected constructor (
    protected readonly conn: TelnetConnection,
    protected readonly log: Logger,
    private readonly clock: Clock,
    private readonly machine: Machine<I | NegotiationInput, A>,
    /** How loudly a failed negotiation is logged (a refused host resource is routine, a broken client is not). */
    private readonly failLevel: 'warn' | 'debug',
  ) {}

  /** Feed the connection's events to the machine until the negotiation ends. */
  protected attach (): void {
    this.listen('option', (change) => this.feed({ type: 'option', change }))
    this.listen('subneg', (option, data) => this.feed({ type: 'subneg', option, data }))
    this.listen('record', (data) => this.feed({ type: 'record', data }))
    this.listen('close', (reason) => this.feed({ type: 'closed', reason }))
  }

  /** Listeners for the negotiation only; removed when it ends. */
  protected listen<K extends keyof TelnetConnectionEvents> (event: K, fn: (...args: TelnetConnectionEvents[K]) => void): void {
    const emitter: EventEmitter = this.conn
    const f = fn as (...args: unknown[]) => void
    emitter.on(event, f)
    this.detachers.push(() => { emitter.off(event, f) })
  }

  /** Undo something when the negotiation ends (an abort listener, ...). */
  protected onDetach (fn: () => void): void { this.detachers.push(fn) }

  /** (Re)arm the one negotiation timer: when it fires the machine gets a timeout. */
  protected arm (ms: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      this.feed({ type: 'timeout', ms })
    }, ms)
  }

  /** One input at a time, in arrival order, even when an action raises another input. */
  feed (input: I | NegotiationInput): void {
    this.queue.push(input)
    if (this.busy) return
    this.busy = true
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.run(next)
    } finally {
      this.busy = false
    }
  }

  protected abstract perform (action: A): void
  protected abstract rejected (err: NegotiationError): void

  /** Stop listening and timing: the connection now belongs to the session (or is closing). */
  protected detach (): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    for (const d of this.detachers.splice(0)) d()
  }

  private run (input: I | NegotiationInput): void {
    for (const a of this.machine.step(input)) {
      try {
        if (isCommon(a)) this.common(a)
        else this.perform(a)
      } catch (err) {
        // Whatever an action threw (a hook, a write) fails this negotiation only.
        const message = isLbError(err) ? `${err.code}: ${err.message}` : `internal error: ${errorMessage(err)}`
        this.queue.unshift({ type: 'error', message })
        return
      }
    }
  }

  private common (a: CommonAction): void {
    switch (a.type) {
      case 'send-tn3270e': this.conn.sendSubneg(Opt.TN3270E, encodeTn3270e(a.message)); return
      case 'send-ttype': this.conn.sendSubneg(Opt.TTYPE, encodeTtype(a.message)); return
      case 'record-mode': this.conn.recordMode = true; return
      case 'log': this.log[a.level]({ event: a.event, ...a.fields }, a.message); return
      case 'fail': {
        this.detach()
        // The peer going away mid-negotiation is an ordinary end, not a protocol problem.
        const level = a.failure === 'closed' && this.failLevel === 'warn' ? 'info' : this.failLevel
        this.log[level]({ event: 'tn3270_negotiation_failed', code: a.code, phase: a.phase, reason: a.message }, `closing connection: ${a.message}`)
        if (a.abort) this.conn.reset(a.message)
        else this.conn.close(a.message)
        this.rejected(new NegotiationError(a.code, a.failure, a.phase, a.message))
      }
    }
  }
}
