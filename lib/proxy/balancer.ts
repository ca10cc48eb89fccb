// The balancer: a pure choice over snapshots of the backends (no I/O, time passed in).
// Weighted least-connections like HAProxy's `balance leastconn` (doc/configuration.txt: recommended
// where very long sessions are expected), restricted to backends that can serve a client now:
// admitted by passive health, and, for backends with a /status source, a fresh answer that is
// ready with a free LU.

export interface BackendStatusView {
  /** When the /status answer arrived (clock ms). */
  readonly at: number
  /** The gateway is ready and not draining. */
  readonly ready: boolean
  /** Free LUs for the listener this backend address reaches, net of sessions placed since `at`. */
  readonly freeLus: number
}

export interface BackendView {
  readonly id: string
  /** Relative weight (HAProxy-like 0-256); 0 takes no new sessions. */
  readonly weight: number
  /** Sessions this proxy has on the backend, including connects in progress. */
  readonly sessions: number
  /** Clock ms of the last pick, for round-robin among equals; -Infinity if never picked. */
  readonly lastPickedAt: number
  /** Left service discovery: keeps its sessions, takes no new ones. */
  readonly removed: boolean
  /** Passive ejection: ineligible while now < ejectedUntil (0 = not ejected). */
  readonly ejectedUntil: number
  /** True if the backend has a /status source; then a fresh status is required. */
  readonly polled: boolean
  /** Latest /status answer, if any. */
  readonly status?: BackendStatusView
}

export interface BalancerOptions {
  /** A /status answer older than this no longer counts (the backend is then not eligible). */
  staleAfter: number
}

export type Eligibility =
  | 'ok' | 'removed' | 'no_weight' | 'ejected' | 'no_status' | 'stale' | 'not_ready' | 'no_free_lu'

/** Why a backend can or cannot take a new client at `now` (also shown in /status). */
export function eligibility (b: BackendView, now: number, opts: BalancerOptions): Eligibility {
  if (b.removed) return 'removed'
  if (!(b.weight > 0)) return 'no_weight'
  if (now < b.ejectedUntil) return 'ejected'
  if (b.polled) {
    if (b.status === undefined) return 'no_status'
    if (isStale(b.status, now, opts)) return 'stale'
    if (!b.status.ready) return 'not_ready'
    if (b.status.freeLus <= 0) return 'no_free_lu'
  }
  return 'ok'
}

export function isStale (status: BackendStatusView, now: number, opts: BalancerOptions): boolean {
  return now - status.at >= opts.staleAfter
}

/**
 * Orders two eligible backends; negative if `a` should be picked first.
 * 1. weighted least sessions: (sessions + 1) / weight, lower first (HAProxy leastconn key, so a
 *    heavier backend wins a tie at zero sessions);
 * 2. more free LUs first (headroom also reflects other proxies' load on a shared gateway);
 * 3. least recently picked first (round robin among equals);
 * 4. id, so the result never depends on input order.
 */
export function compareBackends (a: BackendView, b: BackendView): number {
  const load = (a.sessions + 1) * b.weight - (b.sessions + 1) * a.weight
  if (load !== 0) return load
  const freeA = a.status?.freeLus ?? 0
  const freeB = b.status?.freeLus ?? 0
  if (freeA !== freeB) return freeB - freeA
  if (a.lastPickedAt !== b.lastPickedAt) return a.lastPickedAt < b.lastPickedAt ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** The backend to try next for a client, excluding those already tried for it; undefined if none. */
export function chooseBackend<B extends BackendView> (backends: readonly B[], tried: ReadonlySet<string>, now: number, opts: BalancerOptions): B | undefined {
  let best: B | undefined
  for (const b of backends) {
    if (tried.has(b.id) || eligibility(b, now, opts) !== 'ok') continue
    if (best === undefined || compareBackends(b, best) < 0) best = b
  }
  return best
}

/** True if some backend could take a new client now (drives the proxy's CloseListenSocket). */
export function canServe (backends: readonly BackendView[], now: number, opts: BalancerOptions): boolean {
  return backends.some(b => eligibility(b, now, opts) === 'ok')
}

/**
 * The earliest time after `now` at which a backend's eligibility can change by the passing of time
 * alone (an ejection ends, a status goes stale); undefined if none. Callers re-evaluate then.
 */
export function nextTransition (backends: readonly BackendView[], now: number, opts: BalancerOptions): number | undefined {
  let next: number | undefined
  const consider = (t: number) => { if (t > now && (next === undefined || t < next)) next = t }
  for (const b of backends) {
    if (b.removed) continue
    consider(b.ejectedUntil)
    if (b.polled && b.status !== undefined) consider(b.status.at + opts.staleAfter)
  }
  return next
}
