// RFC 1143 "Q method" option negotiation, for both sides of every option. Pure: every call
// returns the negotiation bytes to send and the settled state changes; nothing is written here.
//
// Sides: 'local' = us (we send WILL/WONT, the peer sends DO/DONT);
//        'remote' = him (we send DO/DONT, the peer sends WILL/WONT).
import type { Verb } from './codes.js'

export type Side = 'local' | 'remote'
/** RFC 1143 §7 states. */
export type QState = 'NO' | 'YES' | 'WANTNO' | 'WANTYES'
/** RFC 1143 §7 queue bit: EMPTY, or OPPOSITE = the user changed their mind while a request was pending. */
export type QQueue = 'EMPTY' | 'OPPOSITE'

export interface Negotiation { verb: Verb, option: number }
/** enabled = the settled state; refused = our own request was declined (WANTYES -> NO), never enabled. */
export interface OptionChange { side: Side, option: number, enabled: boolean, refused?: boolean }
export interface OptionResult {
  send: Negotiation[]
  changes: OptionChange[]
  /** Peer protocol violations or refused user requests; informational (RFC 1143 "error"). */
  errors: string[]
}

export interface OptionPolicy {
  /** Peer sent DO opt while we are NO: agree to enable our side? */
  acceptLocal: (option: number) => boolean
  /** Peer sent WILL opt while he is NO: agree to let him enable? */
  acceptRemote: (option: number) => boolean
}

interface Entry { state: QState, queue: QQueue, settled: boolean }

const SEND_ON: Record<Side, Verb> = { local: 'WILL', remote: 'DO' }
const SEND_OFF: Record<Side, Verb> = { local: 'WONT', remote: 'DONT' }

export class OptionTable {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly policy: OptionPolicy) {}

  state (side: Side, option: number): QState { return this.entry(side, option).state }
  queue (side: Side, option: number): QQueue { return this.entry(side, option).queue }
  isEnabled (side: Side, option: number): boolean { return this.entry(side, option).state === 'YES' }

  /**
   * Take `side` of `option` as already enabled, without sending anything: the option was agreed
   * on this byte stream before this table existed (a negotiation handed over from another
   * process, docs/tn3270.md). Later WONT/DONT from the peer then turn it off as RFC 1143 §7 says.
   */
  assume (side: Side, option: number): void {
    const e = this.entry(side, option)
    e.state = 'YES'
    e.queue = 'EMPTY'
    e.settled = true
  }

  /** The peer sent `verb option` (RFC 1143 §7 receive rules). */
  received (verb: Verb, option: number): OptionResult {
    const r: OptionResult = { send: [], changes: [], errors: [] }
    // WILL/WONT speak about the peer's side; DO/DONT about ours.
    const side: Side = verb === 'WILL' || verb === 'WONT' ? 'remote' : 'local'
    const on = verb === 'WILL' || verb === 'DO'
    const e = this.entry(side, option)
    const before = e.state
    const accept = side === 'local' ? this.policy.acceptLocal : this.policy.acceptRemote
    if (on) {
      switch (e.state) {
        case 'NO':
          if (accept(option)) { e.state = 'YES'; r.send.push({ verb: SEND_ON[side], option }) } else r.send.push({ verb: SEND_OFF[side], option })
          break
        case 'YES': break // already in force: never acknowledge again (loop avoidance)
        case 'WANTNO':
          r.errors.push(`${verb} ${option} answered our ${SEND_OFF[side]}`)
          if (e.queue === 'EMPTY') e.state = 'NO'
          else { e.state = 'YES'; e.queue = 'EMPTY' }
          break
        case 'WANTYES':
          if (e.queue === 'EMPTY') e.state = 'YES'
          else { e.state = 'WANTNO'; e.queue = 'EMPTY'; r.send.push({ verb: SEND_OFF[side], option }) }
          break
      }
    } else {
      switch (e.state) {
        case 'NO': break
        case 'YES': e.state = 'NO'; r.send.push({ verb: SEND_OFF[side], option }); break
        case 'WANTNO':
          if (e.queue === 'EMPTY') e.state = 'NO'
          else { e.state = 'WANTYES'; e.queue = 'EMPTY'; r.send.push({ verb: SEND_ON[side], option }) }
          break
        case 'WANTYES':
          e.state = 'NO'
          e.queue = 'EMPTY'
          break
      }
    }
    this.settle(side, option, e, r, before)
    return r
  }

  /** We want `side` of `option` enabled or disabled (RFC 1143 §7 user-request rules). */
  request (side: Side, option: number, enable: boolean): OptionResult {
    const r: OptionResult = { send: [], changes: [], errors: [] }
    const e = this.entry(side, option)
    if (enable) {
      switch (e.state) {
        case 'NO': e.state = 'WANTYES'; r.send.push({ verb: SEND_ON[side], option }); break
        case 'YES': r.errors.push('already enabled'); break
        case 'WANTNO':
          if (e.queue === 'EMPTY') e.queue = 'OPPOSITE'
          else r.errors.push('already queued an enable request')
          break
        case 'WANTYES':
          if (e.queue === 'EMPTY') r.errors.push('already negotiating for enable')
          else e.queue = 'EMPTY'
          break
      }
    } else {
      switch (e.state) {
        case 'NO': r.errors.push('already disabled'); break
        case 'YES': e.state = 'WANTNO'; r.send.push({ verb: SEND_OFF[side], option }); break
        case 'WANTNO':
          if (e.queue === 'EMPTY') r.errors.push('already negotiating for disable')
          else e.queue = 'EMPTY'
          break
        case 'WANTYES':
          if (e.queue === 'EMPTY') e.queue = 'OPPOSITE'
          else r.errors.push('already queued a disable request')
          break
      }
    }
    this.settle(side, option, e, r)
    return r
  }

  // Report a change only when the option settles (YES or NO) in a state other than the last
  // one reported, so callers see exactly one event per real transition.
  private settle (side: Side, option: number, e: Entry, r: OptionResult, before?: QState): void {
    if (e.state !== 'YES' && e.state !== 'NO') return
    const now = e.state === 'YES'
    if (now !== e.settled) { e.settled = now; r.changes.push({ side, option, enabled: now }) } else if (!now && before === 'WANTYES') {
      // Our enable request was refused: report it so the caller can fall back.
      r.changes.push({ side, option, enabled: false, refused: true })
    }
  }

  private entry (side: Side, option: number): Entry {
    if (!Number.isInteger(option) || option < 0 || option > 255) throw new RangeError(`telnet option out of range: ${option}`)
    const key = `${side}:${option}`
    let e = this.entries.get(key)
    if (e === undefined) { e = { state: 'NO', queue: 'EMPTY', settled: false }; this.entries.set(key, e) }
    return e
  }
}
