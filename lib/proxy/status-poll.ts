// Reads a gateway's GET /status (docs/internals.md "gateway /status JSON") with undici, the way
// HAProxy's `agent-check` feeds a server's capacity back to the balancer (doc/configuration.txt):
// free LUs for the listener the proxy connects to, per pool with the LU names each owns (for
// tn3270e routing, docs/routing.md), readiness, draining. Every undici timeout is
// set (its defaults are minutes, undici docs/api/Client.md), and the body is always consumed or
// dumped: undici keeps the connection until it is (docs/api/Dispatcher.md).
import { request, type Dispatcher } from 'undici'
import type { Clock, Timer } from '../clock.js'
import { errorCode, errorMessage, ErrorCodes, lbError, Tn3270LbError } from '../errors.js'
import { LuNameSet } from './lu-names.js'

/** One pool behind the gateway listener the proxy connects to. */
export interface PoolCapacity {
  name: string
  /** LUs a new client can get: `spare` (free, not promised to a connection still negotiating), else `free`; 0 if the listener is closed. */
  free: number
  /** The LU names the pool owns (`luRanges`); empty for a gateway that does not report them. */
  lus: LuNameSet
  /** `printer` for a printer pool (the gateway's `kind`, docs/printers.md); else `display`. */
  kind: 'display' | 'printer'
}

export interface GatewayCapacity {
  ready: boolean
  draining: boolean
  /** Free LUs behind the listener at `port` (0 if that listener is closed). */
  freeLus: number
  /** The gateway listener at `port` was found and is open; undefined if none matched. */
  listenerOpen: boolean | undefined
  /** Pools served behind that listener, in its order: the first is the gateway's default pool. */
  pools: PoolCapacity[]
}

interface StatusListener { address?: unknown, open?: unknown, pools?: unknown }
interface StatusPool { name?: unknown, free?: unknown, spare?: unknown, luRanges?: unknown, kind?: unknown }

/**
 * Reduces a gateway /status body to what the balancer needs for a backend at `port`: the
 * listener whose address ends with `:port` decides (its pools' free LUs, 0 if closed); if no
 * listener matches, all pools count. Throws BACKEND_STATUS on a body that is not a gateway status.
 */
export function parseGatewayStatus (body: unknown, port: number): GatewayCapacity {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw lbError(ErrorCodes.BACKEND_STATUS, 'status body is not a JSON object')
  const s = body as { ready?: unknown, draining?: unknown, listeners?: unknown, pools?: unknown }
  if (!Array.isArray(s.pools)) throw lbError(ErrorCodes.BACKEND_STATUS, 'status body has no "pools" array')
  const pools = s.pools as StatusPool[]
  const listeners = Array.isArray(s.listeners) ? s.listeners as StatusListener[] : []
  const listener = listeners.find(l => typeof l.address === 'string' && portOf(l.address) === port)
  const free = (p: StatusPool) => typeof p.free === 'number' && Number.isFinite(p.free) ? Math.max(0, p.free) : 0
  let freeLus: number
  let served: StatusPool[]
  if (listener === undefined) {
    served = pools
    freeLus = pools.reduce((sum, p) => sum + free(p), 0)
  } else {
    // The listener's order, which is the gateway's preference for generic requests.
    const byName = new Map(pools.map(p => [String(p.name), p]))
    served = (Array.isArray(listener.pools) ? listener.pools.map(String) : []).flatMap(n => byName.get(n) ?? [])
    freeLus = listener.open === false ? 0 : served.reduce((sum, p) => sum + free(p), 0)
  }
  const closed = listener?.open === false
  const draining = s.draining === true
  return {
    ready: s.ready !== false && !draining,
    draining,
    freeLus,
    listenerOpen: listener === undefined ? undefined : listener.open !== false,
    pools: served.map(p => ({
      name: String(p.name).toUpperCase(),
      free: closed ? 0 : (typeof p.spare === 'number' && Number.isFinite(p.spare) ? Math.max(0, Math.min(p.spare, free(p))) : free(p)),
      lus: Array.isArray(p.luRanges) ? new LuNameSet(p.luRanges) : LuNameSet.EMPTY,
      kind: p.kind === 'printer' ? 'printer' as const : 'display' as const,
    })),
  }
}

function portOf (address: string): number {
  const i = address.lastIndexOf(':')
  return i === -1 ? NaN : Number(address.slice(i + 1))
}

/** One GET of `url` within `timeout` ms (headers, body and the whole exchange); BACKEND_STATUS unless 200 with JSON. */
export async function fetchStatus (url: string, opts: { dispatcher: Dispatcher, timeout: number }): Promise<unknown> {
  const res = await request(url, {
    method: 'GET',
    dispatcher: opts.dispatcher,
    headersTimeout: opts.timeout,
    bodyTimeout: opts.timeout,
    signal: AbortSignal.timeout(opts.timeout),
    headers: { accept: 'application/json' },
  })
  if (res.statusCode !== 200) {
    await res.body.dump()
    throw lbError(ErrorCodes.BACKEND_STATUS, `GET ${url} answered HTTP ${res.statusCode}`)
  }
  try {
    return await res.body.json()
  } catch (err) {
    throw lbError(ErrorCodes.BACKEND_STATUS, `GET ${url}: body is not JSON (${errorMessage(err)})`, err)
  }
}

export type PollResult =
  | { ok: true, at: number, capacity: GatewayCapacity }
  | { ok: false, at: number, error: string }

export interface StatusPollerOptions {
  url: string
  port: number
  interval: number
  timeout: number
  dispatcher: Dispatcher
  clock: Clock
  onResult: (result: PollResult) => void
}

/** Polls one backend's /status every `interval` ms (next poll scheduled when one finishes). */
export class StatusPoller {
  private timer: Timer | undefined
  private stopped = false
  private inFlight: Promise<void> | undefined

  constructor (private readonly opts: StatusPollerOptions) {}

  start (): void { this.schedule(0) }

  /** Polls now; resolves when the result has been delivered. */
  pollNow (): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight
    const p = this.pollOnce().finally(() => { this.inFlight = undefined })
    this.inFlight = p
    return p
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule (ms: number): void {
    if (this.stopped) return
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined
      void this.pollNow().then(() => this.schedule(this.opts.interval))
    }, ms)
  }

  private async pollOnce (): Promise<void> {
    let result: PollResult
    try {
      const body = await fetchStatus(this.opts.url, this.opts)
      result = { ok: true, at: this.opts.clock.now(), capacity: parseGatewayStatus(body, this.opts.port) }
    } catch (err) {
      result = { ok: false, at: this.opts.clock.now(), error: describeError(err) }
    }
    if (!this.stopped) this.opts.onResult(result)
  }
}

/**
 * The poll failure as /status and the log show it: our own errors by their message; undici's
 * timeouts (UND_ERR_*_TIMEOUT) and AbortSignal.timeout's TimeoutError as one kind; others with their code.
 */
function describeError (err: unknown): string {
  if (err instanceof Tn3270LbError) return err.message
  const code = errorCode(err)
  const message = errorMessage(err)
  const timedOut = (err instanceof Error && err.name === 'TimeoutError') || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
  if (timedOut) return `status poll timed out (${message !== '' ? message : code})`
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message
}
