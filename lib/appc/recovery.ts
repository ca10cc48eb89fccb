// BIND-failure recovery: RENEGLIMITS / RETRYCNOS exactly as KB Q107866 says; sense
// decode per "SNA Formats", GA27-3136, Sense Data and KB Q216202. Pure: no I/O, no clock.
//
// KB Q107866, in the order the rules apply:
//  - "If the remote application is now active, and there are no active sessions on the
//    connection, performing CNOS re-negotiation solves this problem" → never with active sessions.
//  - "If the CNOS re-negotiation fails, no further attempts are made to activate the session until
//    the connection is restarted or the SNA Server application retries" → one renegotiation.
//  - RENEGLIMITS=YES: "re-negotiation whenever an application BIND fails, regardless of the sense
//    code" and "it overrides any setting of RETRYCNOS".
//  - RETRYCNOS=YES: "whenever an application BIND is rejected by an UNBIND request or with a BIND
//    negative response containing" 0806 + 3426, 0805xxxx, 0801xxxx.

export interface RecoverySettings { renegLimits: boolean, retryCnos: boolean }

export type BindFailure =
  | { kind: 'unbind', type: number }
  | { kind: 'negative', sense: number }

export type RecoveryDecision =
  | { action: 'renegotiate', reason: string }
  | { action: 'fail', reason: string }

/** Sense as 8 hex digits, the form operators and the metric label use. */
export function senseHex (sense: number): string { return (sense >>> 0).toString(16).toUpperCase().padStart(8, '0') }

export function failureLabel (f: BindFailure): string { return f.kind === 'unbind' ? 'UNBIND' : senseHex(f.sense) }

/** Does RETRYCNOS cover this failure? (KB Q107866 table: 0806/3426, 0805xxxx, 0801xxxx, UNBIND) */
export function retryCnosCovers (f: BindFailure): boolean {
  if (f.kind === 'unbind') return true
  const s = f.sense >>> 0
  const category = s >>> 16
  return s === 0x08063426 || category === 0x0805 || category === 0x0801
}

export function decideRecovery (settings: RecoverySettings, failure: BindFailure, activeSessions: number, alreadyRenegotiated: boolean): RecoveryDecision {
  const what = failureLabel(failure)
  if (activeSessions > 0) return { action: 'fail', reason: `BIND failed (${what}) with ${activeSessions} active session(s) on the connection; CNOS is renegotiated only when none are active` }
  if (alreadyRenegotiated) return { action: 'fail', reason: `BIND failed (${what}) after the one CNOS renegotiation; no further attempts until the link restarts or the application retries` }
  if (settings.renegLimits) return { action: 'renegotiate', reason: `renegLimits: renegotiate after any BIND failure (${what})` }
  if (!settings.retryCnos) return { action: 'fail', reason: `BIND failed (${what}); renegLimits and retryCnos are both off, so session limits are not renegotiated` }
  if (retryCnosCovers(failure)) return { action: 'renegotiate', reason: `retryCnos: ${what} means the partner may have reset its session limits` }
  return { action: 'fail', reason: `BIND failed (${what}); retryCnos renegotiates only after UNBIND, 08063426, 0805xxxx or 0801xxxx` }
}

/**
 * Per (partner, mode) recovery state as a state machine:
 *   normal --renegotiate--> renegotiated --bind ok--> normal
 *   renegotiated --cnos failed | bind failed again--> exhausted
 *   exhausted --link restart | application retry--> normal
 * `alreadyRenegotiated` for decideRecovery is `phase !== 'normal'`.
 */
export type RecoveryPhase = 'normal' | 'renegotiated' | 'exhausted'
export type RecoveryEvent = 'renegotiate' | 'cnos_failed' | 'bind_ok' | 'bind_failed_final' | 'link_restart' | 'application_retry'

export function recoveryStep (phase: RecoveryPhase, event: RecoveryEvent): RecoveryPhase {
  switch (event) {
    case 'link_restart': return 'normal'
    case 'application_retry': return phase === 'exhausted' ? 'normal' : phase
    case 'bind_ok': return 'normal'
    case 'renegotiate': return 'renegotiated'
    case 'cnos_failed': return 'exhausted'
    case 'bind_failed_final': return phase === 'renegotiated' ? 'exhausted' : phase
  }
}
