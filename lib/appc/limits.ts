// Session-limit accounting per (local LU, partner LU, mode) — pure (SC31-6808 CNOS, SC31-6808 contention).
// A mode has a negotiated session limit L, minimum contention winners for the local LU (Wl) and
// for the partner (Wp), Wl + Wp ≤ L. A new session may be activated only while the total stays
// ≤ L; as a local winner only while local winners stay ≤ L − Wp (the partner keeps its minimum),
// as a local loser (partner winner) only while losers stay ≤ L − Wl. The partner applies the same
// rule to BINDs it receives and refuses violations with 0805 0000 / 0805 0001 (GA27-3136 Sense Data, SC31-6808 contention).

export interface ModeLimits { sessionLimit: number, minWinners: number, minPartnerWinners: number }
export interface ModeCounts { winners: number, losers: number }

export type Polarity = 'winner' | 'loser'

export function canActivate (l: ModeLimits, c: ModeCounts, polarity: Polarity): boolean {
  if (c.winners + c.losers >= l.sessionLimit) return false
  return polarity === 'winner'
    ? c.winners < l.sessionLimit - l.minPartnerWinners
    : c.losers < l.sessionLimit - l.minWinners
}

/** Which session to activate next for a local allocation: a winner if allowed (no BID needed), else a loser, else none. */
export function chooseActivation (l: ModeLimits, c: ModeCounts): Polarity | undefined {
  if (canActivate(l, c, 'winner')) return 'winner'
  if (canActivate(l, c, 'loser')) return 'loser'
  return undefined
}

/** Sense for a BIND the receiver must refuse, or undefined to accept (receiver = partner side). */
export function bindAdmission (l: ModeLimits | undefined, c: ModeCounts, senderPolarity: Polarity): number | undefined {
  // GA27-3136 Sense Data 0805 0000: limits zero (e.g. after restart, "pending an Initialize CNOS") or exceeded
  if (l === undefined || l.sessionLimit === 0 || c.winners + c.losers >= l.sessionLimit) return 0x08050000
  // GA27-3136 Sense Data 0805 0001: would prevent the agreed contention-winner minimums
  if (!canActivate(l, c, senderPolarity)) return 0x08050001
  return undefined
}

/** Local minimums seen from the partner (source ↔ target swap). */
export function mirror (l: ModeLimits): ModeLimits {
  return { sessionLimit: l.sessionLimit, minWinners: l.minPartnerWinners, minPartnerWinners: l.minWinners }
}

export interface FreeSession { polarity: Polarity, lastUsed: number }

/**
 * Session reuse: prefer a free winner (no BID, SC31-6808 contention), then a free loser (BID first); among equals
 * the most recently used, so idle ones age out under SESTIMEOUT.
 */
export function pickFreeSession<T extends FreeSession> (free: readonly T[]): T | undefined {
  let best: T | undefined
  for (const s of free) {
    if (best === undefined ||
      (s.polarity === 'winner' && best.polarity === 'loser') ||
      (s.polarity === best.polarity && s.lastUsed > best.lastUsed)) best = s
  }
  return best
}

// ---------------------------------------------------------------- SESTIMEOUT (KB 831976)

/** SESTIMEOUT is counted in 5-second timer ticks (KB 831976). */
export const SESTIMEOUT_TICK_MS = 5000

export interface SessionOrigin { polarity: Polarity, initiatedLocally: boolean, autoActivated: boolean }

/**
 * KB 831976: only "LU 6.2 contention winner sessions that [the gateway] initiates" and "that are
 * not autoactivated" are deactivated when idle; 0 = never. Returns the idle time in ms, or
 * undefined when the session stays bound.
 */
export function idleUnbindAfter (sesTimeoutTicks: number, s: SessionOrigin): number | undefined {
  if (sesTimeoutTicks <= 0) return undefined
  if (s.polarity !== 'winner' || !s.initiatedLocally || s.autoActivated) return undefined
  return sesTimeoutTicks * SESTIMEOUT_TICK_MS
}

export type ConversationEnd = 'normal' | 'cancel' | 'tp_ended_hard'

/**
 * What happens to the session when its conversation ends (KB 831976): an abnormal end (Cancel →
 * CLOSE ERR, TP_ENDED(HARD)) always gets an UNBIND cleanup, even with SESTIMEOUT 0; a normal end
 * frees the session for reuse, with an idle timer where `idleUnbindAfter` says so.
 */
export function afterConversation (end: ConversationEnd, sesTimeoutTicks: number, s: SessionOrigin): { action: 'unbind_cleanup' } | { action: 'keep', idleMs: number | undefined } {
  if (end !== 'normal') return { action: 'unbind_cleanup' }
  return { action: 'keep', idleMs: idleUnbindAfter(sesTimeoutTicks, s) }
}
