// The balancer: a pure choice over snapshots of the backends (no I/O, time passed in).
// Weighted least-connections like HAProxy's `balance leastconn` (doc/configuration.txt: recommended
// where very long sessions are expected), restricted to backends that can serve a client now:
// admitted by passive health, and, for backends with a /status source, a fresh answer that is
// ready with a free LU. With tn3270e routing (docs/routing.md) the choice is also restricted to
// what the client asked for (chooseRoute): a pool, an LU, the display LU a printer ASSOCIATEs
// with (RFC 2355 §7.1), or, for no name, the listener's default pool.
import type { RejectReason } from '../tn3270/index.js'

/** A pool behind the gateway listener a backend address reaches. */
export interface PoolView {
  readonly name: string
  /** LUs a new client can get there, net of sessions placed since the status (0 after a refusal). */
  readonly free: number
  /** The pool owns this LU name (the gateway's `luRanges`). */
  readonly owns: (lu: string) => boolean
  /** Displays or printers (the gateway's `kind`, docs/printers.md); absent = display. */
  readonly kind?: 'display' | 'printer'
}

export interface BackendStatusView {
  /** When the /status answer arrived (clock ms). */
  readonly at: number
  /** The gateway is ready and not draining. */
  readonly ready: boolean
  /** Free LUs for the listener this backend address reaches, net of sessions placed since `at`. */
  readonly freeLus: number
  /** Its pools in the gateway listener's order (the first is the gateway's default); absent = not reported. */
  readonly pools?: readonly PoolView[]
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
  const base = admitted(b, now, opts)
  if (base !== 'ok') return base
  if (b.polled && b.status!.freeLus <= 0) return 'no_free_lu'
  return 'ok'
}

/** eligibility() without the free-LU test: whether the backend may be tried at all. */
function admitted (b: BackendView, now: number, opts: BalancerOptions): Eligibility {
  if (b.removed) return 'removed'
  if (!(b.weight > 0)) return 'no_weight'
  if (now < b.ejectedUntil) return 'ejected'
  if (b.polled) {
    if (b.status === undefined) return 'no_status'
    if (isStale(b.status, now, opts)) return 'stale'
    if (!b.status.ready) return 'not_ready'
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
 * 2. more free LUs first (headroom also reflects other proxies' load on a shared gateway; with
 *    tn3270e routing, free LUs in the pool the client gets);
 * 3. least recently picked first (round robin among equals);
 * 4. id, so the result never depends on input order.
 */
export function compareBackends (a: BackendView, b: BackendView, freeOf: (x: BackendView) => number = x => x.status?.freeLus ?? 0): number {
  const load = (a.sessions + 1) * b.weight - (b.sessions + 1) * a.weight
  if (load !== 0) return load
  const freeA = freeOf(a)
  const freeB = freeOf(b)
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

// ------------------------------------------------------------------ tn3270e routing (docs/routing.md)

/** What a client's device request asks for, as routing sees it. */
export type RouteRequest =
  /** No name: the listener's default pool; `device` printer: a printer pool (IBM-3287-1). */
  | { kind: 'generic', device?: 'display' | 'printer' }
  /** TN3270E CONNECT, or TN3270 `@NAME`: a pool or an LU (their names are disjoint, RFC 2355 §7.1). */
  | { kind: 'name', name: string }
  /** TN3270E ASSOCIATE: the gateway that owns this display LU (RFC 2355 §7.1). */
  | { kind: 'associate', lu: string }

export interface RouteOptions extends BalancerOptions {
  /** Pools this listener offers; undefined = every pool. */
  offered?: ReadonlySet<string>
  /** The pool for a request that names none; undefined = each gateway's own default. */
  defaultPool?: string
}

/** What a name turned out to be (a metric label): generic, pool, lu, associate, or unknown. */
export type RouteKind = 'generic' | 'pool' | 'lu' | 'associate' | 'unknown'

export type RouteChoice<B> =
  | {
    ok: true
    kind: RouteKind
    backend: B
    /** The pool the session will come from, as far as known (for the free-LU estimate). */
    pool?: string
    /** Ask this gateway for this name instead of what the client sent (a default pool); undefined = as sent. */
    connect?: string
  }
  /** Nobody left to try: the REJECT the client gets (RFC 2355 §7.1.2 reasons) and why, for the log. */
  | { ok: false, kind: RouteKind, reason: Extract<RejectReason, 'DEVICE-IN-USE' | 'INV-NAME'>, message: string }

interface Candidate<B> { backend: B, pool?: string, connect?: string, free: number }

const offers = (opts: RouteOptions, pool: string): boolean => opts.offered === undefined || opts.offered.has(pool)
const poolsOf = (b: BackendView, opts: RouteOptions): readonly PoolView[] => (b.status?.pools ?? []).filter(p => offers(opts, p.name))

/** What the request names, to the gateways that report pools: a pool, an LU, a display LU, or nothing known here. */
export function kindOf (backends: readonly BackendView[], req: RouteRequest, opts: RouteOptions): RouteKind {
  if (req.kind === 'generic') return 'generic'
  const name = req.kind === 'associate' ? req.lu : req.name
  const reporting = backends.filter(b => b.status?.pools !== undefined)
  if (req.kind === 'name' && reporting.some(b => b.status!.pools!.some(p => p.name === name))) return offers(opts, name) ? 'pool' : 'unknown'
  // An LU counts only through a pool this listener offers.
  if (reporting.some(b => poolsOf(b, opts).some(p => p.owns(name)))) return req.kind === 'associate' ? 'associate' : 'lu'
  return 'unknown'
}

/**
 * The pool of a gateway that can give a generic client an LU, in the gateway's own order: one of
 * the device kind asked for (a printer never gets a display pool, nor the reverse; RFC 2355 §7.1).
 */
function genericPool (b: BackendView, opts: RouteOptions, device: 'display' | 'printer'): PoolView | undefined {
  const fits = (p: PoolView): boolean => (p.kind ?? 'display') === device && p.free > 0
  if (opts.defaultPool !== undefined && device === 'display') return b.status?.pools?.find(p => p.name === opts.defaultPool && fits(p))
  return poolsOf(b, opts).find(fits)
}

/** Where a polled gateway that reports pools could serve the request, if it can. */
function candidateOn<B extends BackendView> (b: B, req: RouteRequest, kind: RouteKind, opts: RouteOptions): Candidate<B> | undefined {
  if (req.kind === 'generic') {
    const device = req.device ?? 'display'
    const p = genericPool(b, opts, device)
    // A default pool, or only some pools offered: name the pool, else the gateway may choose another.
    const connect = (device === 'display' ? opts.defaultPool : undefined) ?? (opts.offered === undefined ? undefined : p?.name)
    return p === undefined ? undefined : { backend: b, pool: p.name, free: p.free, ...(connect === undefined ? {} : { connect }) }
  }
  const name = req.kind === 'associate' ? req.lu : req.name
  const pools = poolsOf(b, opts)
  // A pool with room; the LU a client asks for in a pool with room; a display LU in any pool.
  const p = kind === 'pool'
    ? pools.find(x => x.name === name && x.free > 0)
    : kind === 'lu' ? pools.find(x => x.owns(name) && x.free > 0) : kind === 'associate' ? pools.find(x => x.owns(name)) : undefined
  return p === undefined ? undefined : { backend: b, pool: p.name, free: p.free }
}

/** The candidates among the backends that may be tried; one that reports no pools may serve anything. */
function candidates<B extends BackendView> (live: readonly B[], req: RouteRequest, kind: RouteKind, opts: RouteOptions): Array<Candidate<B>> {
  const out: Array<Candidate<B>> = []
  for (const b of live) {
    if (!b.polled || b.status?.pools === undefined) out.push({ backend: b, free: b.status?.freeLus ?? 0 })
    else {
      const c = candidateOn(b, req, kind, opts)
      if (c !== undefined) out.push(c)
    }
  }
  return out
}

/** Why nobody can serve: the REJECT reason (DEVICE-IN-USE: known but busy or down; INV-NAME: unknown here). */
function refusal (req: RouteRequest, kind: RouteKind, opts: RouteOptions, triedAny: boolean): Extract<RouteChoice<never>, { ok: false }> {
  const busy = (message: string) => ({ ok: false as const, kind, reason: 'DEVICE-IN-USE' as const, message })
  const none = triedAny ? 'no other gateway' : 'no gateway'
  if (req.kind === 'generic') return busy(`${none} has a free LU in ${opts.defaultPool === undefined ? 'the pools offered here' : `pool ${opts.defaultPool}`}`)
  const name = req.kind === 'associate' ? req.lu : req.name
  if (kind === 'unknown') {
    return { ok: false, kind, reason: 'INV-NAME', message: `no gateway serves ${req.kind === 'associate' ? 'a display LU' : 'an LU or pool'} named ${name} here` }
  }
  if (kind === 'pool') return busy(`${none} has a free LU in pool ${name}`)
  return busy(`${none} that owns LU ${name} can take it now`)
}

/**
 * The next gateway to try for a request, excluding those already tried for this client; or the
 * refusal when none is left. Pure: the caller counts the pick (BackendPool.route). Among the
 * candidates, weighted least sessions (compareBackends), with free LUs in the pool as the tie
 * break. Names not offered on this listener are unknown here (INV-NAME).
 */
export function chooseRoute<B extends BackendView> (backends: readonly B[], req: RouteRequest, tried: ReadonlySet<string>, now: number, opts: RouteOptions): RouteChoice<B> {
  const kind = kindOf(backends, req, opts)
  const live = backends.filter(b => !tried.has(b.id) && admitted(b, now, opts) === 'ok')
  let best: Candidate<B> | undefined
  for (const c of candidates(live, req, kind, opts)) {
    const other = best
    if (other === undefined || compareBackends(c.backend, other.backend, x => x === c.backend ? c.free : other.free) < 0) best = c
  }
  if (best === undefined) return refusal(req, kind, opts, tried.size > 0)
  return { ok: true, kind, backend: best.backend, ...(best.pool === undefined ? {} : { pool: best.pool }), ...(best.connect === undefined ? {} : { connect: best.connect }) }
}

/**
 * True if some backend could serve some pool this listener offers (drives the proxy's
 * CloseListenSocket with tn3270e routing, KB Q101235): a request for a full pool is refused in
 * TN3270E, but a listener none of whose pools can be served refuses the TCP connect, so
 * hot-backup clients move on (docs/operations.md).
 */
export function canServeRoutes (backends: readonly BackendView[], now: number, opts: RouteOptions): boolean {
  return backends.some(b => {
    if (admitted(b, now, opts) !== 'ok') return false
    if (!b.polled) return true
    const pools = b.status!.pools
    return pools === undefined ? b.status!.freeLus > 0 : poolsOf(b, opts).some(p => p.free > 0)
  })
}
