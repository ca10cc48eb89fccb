// KeepAlive state machine (KB Q137309), pure: no I/O, no timers. The engine
// (engine.ts) feeds it watchdog ticks and completions and carries out the actions it returns.
//
//   idle ──tick──▶ outstanding ──written [+ reply for TIMING-MARK]──▶ idle
//                    │  tick: ticks+1, 'overdue' (event 700)
//                    │  ticks = keepAliveLimit: 'limit' (event 701)
//                    ▼
//          hardClose ──▶ 'reset' ──▶ closed
//          graceful  ──▶ 'end' ──▶ closing ──graceTimeout──▶ 'reset' ──▶ closed
//   any state ──closed (transport gone)──▶ closed
//
// The one rule KB Q137309 is about: while a keepalive is outstanding, a tick never sends another.
// Completion means the bytes were handed to the kernel (socket write callback) AND, for
// TIMING-MARK, the peer's WILL/WONT TM arrived. Inbound data alone completes nothing: a client
// that types but never drains its receive window is exactly the one to catch.

export type KeepAliveMethod = 'timingmark' | 'nop' | 'none'
export type ProbeMethod = Exclude<KeepAliveMethod, 'none'>
export type CloseKind = 'hard' | 'graceful'

/** Same shape as the gateway config section `keepalive` (lib/config/gateway.ts); durations in ms. */
export interface KeepAliveSettings {
  method: KeepAliveMethod
  watchdogTimeout: number
  keepAliveLimit: number
  hardClose: boolean
  gracefulCloseTimeout: number
}

export type KeepAliveState =
  | { readonly phase: 'idle', readonly sent: number }
  | { readonly phase: 'outstanding', readonly sent: number, readonly id: number, readonly written: boolean, readonly replied: boolean, readonly ticks: number }
  | { readonly phase: 'closing', readonly sent: number }
  | { readonly phase: 'closed', readonly sent: number }

export type KeepAliveInput =
  | { type: 'tick' }
  /** The write callback of keepalive `id` ran: its bytes left the process. */
  | { type: 'written', id: number }
  /** The peer answered a TIMING-MARK (IAC WILL/WONT TM). */
  | { type: 'reply' }
  /** Any other inbound data: recorded for clarity, never completes a keepalive. */
  | { type: 'inbound' }
  /** The graceful close did not finish within gracefulCloseTimeout. */
  | { type: 'graceTimeout' }
  /** The transport closed (either side, any reason). */
  | { type: 'closed' }

export type KeepAliveAction =
  | { type: 'send', id: number, method: ProbeMethod }
  | { type: 'completed', id: number }
  | { type: 'overdue', id: number, ticks: number }
  | { type: 'limit', id: number, ticks: number, close: CloseKind }
  | { type: 'end' }
  | { type: 'reset', reason: 'hardClose' | 'gracefulCloseTimeout' }

export interface KeepAliveStep { state: KeepAliveState, actions: KeepAliveAction[] }

export const initialKeepAliveState: KeepAliveState = { phase: 'idle', sent: 0 }

export function keepAliveStep (settings: KeepAliveSettings, state: KeepAliveState, input: KeepAliveInput): KeepAliveStep {
  const same: KeepAliveStep = { state, actions: [] }
  if (input.type === 'closed') return state.phase === 'closed' ? same : { state: { phase: 'closed', sent: state.sent }, actions: [] }
  switch (state.phase) {
    case 'idle': {
      if (input.type !== 'tick' || settings.method === 'none') return same
      const id = state.sent + 1
      return {
        state: { phase: 'outstanding', sent: id, id, written: false, replied: false, ticks: 0 },
        actions: [{ type: 'send', id, method: settings.method }],
      }
    }
    case 'outstanding': {
      switch (input.type) {
        case 'tick': {
          const ticks = state.ticks + 1
          const overdue: KeepAliveAction = { type: 'overdue', id: state.id, ticks }
          if (ticks < settings.keepAliveLimit) return { state: { ...state, ticks }, actions: [overdue] }
          const close: CloseKind = settings.hardClose ? 'hard' : 'graceful'
          const limit: KeepAliveAction = { type: 'limit', id: state.id, ticks, close }
          return close === 'hard'
            ? { state: { phase: 'closed', sent: state.sent }, actions: [overdue, limit, { type: 'reset', reason: 'hardClose' }] }
            : { state: { phase: 'closing', sent: state.sent }, actions: [overdue, limit, { type: 'end' }] }
        }
        case 'written':
          if (input.id !== state.id || state.written) return same
          return complete({ ...state, written: true }, settings)
        case 'reply':
          if (state.replied) return same
          return complete({ ...state, replied: true }, settings)
        default:
          return same
      }
    }
    case 'closing':
      if (input.type !== 'graceTimeout') return same
      return { state: { phase: 'closed', sent: state.sent }, actions: [{ type: 'reset', reason: 'gracefulCloseTimeout' }] }
    case 'closed':
      return same
  }
}

function complete (state: Extract<KeepAliveState, { phase: 'outstanding' }>, settings: KeepAliveSettings): KeepAliveStep {
  const done = state.written && (settings.method === 'nop' || state.replied)
  if (!done) return { state, actions: [] }
  return { state: { phase: 'idle', sent: state.sent }, actions: [{ type: 'completed', id: state.id }] }
}
