// Passive health of one backend as a pure state machine (HAProxy `observe layer4` + `error-limit`,
// Envoy outlier detection `consecutive_local_origin_failure` + `base_ejection_time` capped by
// `max_ejection_time` + `successful_active_health_check_uneject_host`; HAProxy
// doc/configuration.txt, Envoy's outlier detection docs and cluster/v3/outlier_detection.proto).
//
//   admitted --(failures consecutive connect failures)--> ejected(until = now + backoff)
//   ejected  --(now >= until)--> probation: eligible again, one more failure re-ejects with a longer backoff
//   ejected  --(good status check taken after the ejection)--> admitted
//   any      --(successful connect)--> admitted, counters reset
//
// Backoff: baseTime * 2^(ejections - 1), at most maxTime.

export interface EjectionPolicy {
  /** Consecutive connect failures that eject an admitted backend (≥ 1). */
  failures: number
  baseTime: number
  maxTime: number
}

export type HealthState =
  | { readonly state: 'admitted', readonly consecutiveFailures: number, readonly ejections: number }
  | { readonly state: 'ejected', readonly since: number, readonly until: number, readonly ejections: number }

export const INITIAL_HEALTH: HealthState = { state: 'admitted', consecutiveFailures: 0, ejections: 0 }

export function ejectionTime (ejections: number, policy: EjectionPolicy): number {
  const factor = 2 ** Math.min(Math.max(ejections - 1, 0), 30)
  return Math.min(policy.baseTime * factor, policy.maxTime)
}

/** True while the backend may take new sessions as far as passive health goes. */
export function isAdmitted (h: HealthState, now: number): boolean {
  return h.state === 'admitted' || now >= h.until
}

/** The time at which an ejected backend becomes eligible again, or 0 if it is not ejected. */
export function ejectedUntil (h: HealthState): number {
  return h.state === 'ejected' ? h.until : 0
}

export function onConnectFailure (h: HealthState, now: number, policy: EjectionPolicy): HealthState {
  if (h.state === 'ejected') {
    // A failure while still ejected (a connect started before the ejection) changes nothing;
    // a failure on probation (ejection time over) ejects again at once, with a longer backoff.
    if (now < h.until) return h
    return eject(h.ejections + 1, now, policy)
  }
  const failures = h.consecutiveFailures + 1
  if (failures >= policy.failures) return eject(h.ejections + 1, now, policy)
  return { state: 'admitted', consecutiveFailures: failures, ejections: h.ejections }
}

export function onConnectSuccess (_h: HealthState): HealthState {
  return INITIAL_HEALTH
}

/**
 * A status poll that shows the backend can serve (ready, a free LU) re-admits an ejected backend,
 * if the poll was answered after the ejection began (an older answer proves nothing).
 */
export function onGoodCheck (h: HealthState, checkedAt: number): HealthState {
  if (h.state !== 'ejected' || checkedAt < h.since) return h
  return { state: 'admitted', consecutiveFailures: 0, ejections: h.ejections }
}

function eject (ejections: number, now: number, policy: EjectionPolicy): HealthState {
  return { state: 'ejected', since: now, until: now + ejectionTime(ejections, policy), ejections }
}
