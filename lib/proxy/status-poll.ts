// Reads a gateway's GET /status (docs/internals.md "gateway /status JSON") with undici, the way
// HAProxy's agent-check feeds capacity (lb-ops-style §1.6): free LUs for the listener the proxy
// connects to, readiness, draining. Timeouts per lb-ops-style §2.4; the body is always consumed.
import { request, type Dispatcher } from 'undici'
import type { Clock, Timer } from '../clock.js'

export interface GatewayCapacity {
  ready: boolean
  draining: boolean
  /** Free LUs behind the listener at `port` (0 if that listener is closed). */
  freeLus: number
  /** The gateway listener at `port` was found and is open; undefined if none matched. */
  listenerOpen: boolean | undefined
}

interface StatusListener { address?: unknown, open?: unknown, pools?: unknown }
interface StatusPool { name?: unknown, free?: unknown }

/**
 * Reduces a gateway /status body to what the balancer needs for a backend at `port`: the
 * listener whose address ends with `:port` decides (its pools' free LUs, 0 if closed); if no
 * listener matches, all pools count. Throws on a body that is not a gateway status.
 */
export function parseGatewayStatus (body: unknown, port: number): GatewayCapacity {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('status body is not a JSON object')
  const s = body as { ready?: unknown, draining?: unknown, listeners?: unknown, pools?: unknown }
  if (!Array.isArray(s.pools)) throw new Error('status body has no "pools" array')
  const pools = s.pools as StatusPool[]
  const listeners = Array.isArray(s.listeners) ? s.listeners as StatusListener[] : []
  const listener = listeners.find(l => typeof l.address === 'string' && portOf(l.address) === port)
  const free = (p: StatusPool) => typeof p.free === 'number' && Number.isFinite(p.free) ? Math.max(0, p.free) : 0
  let freeLus: number
  if (listener === undefined) {
    freeLus = pools.reduce((sum, p) => sum + free(p), 0)
  } else if (listener.open === false) {
    freeLus = 0
  } else {
    const names = new Set(Array.isArray(listener.pools) ? listener.pools.map(String) : [])
    freeLus = pools.filter(p => names.has(String(p.name))).reduce((sum, p) => sum + free(p), 0)
  }
  const draining = s.draining === true
  return { ready: s.ready !== false && !draining, draining, freeLus, listenerOpen: listener === undefined ? undefined : listener.open !== false }
}

function portOf (address: string): number {
  const i = address.lastIndexOf(':')
  return i === -1 ? NaN : Number(address.slice(i + 1))
}

/** One GET of `url` within `timeout` ms (headers, body and the whole exchange). */
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
    throw new Error(`GET ${url} answered HTTP ${res.statusCode}`)
  }
  try {
    return await res.body.json()
  } catch (err) {
    throw new Error(`GET ${url}: body is not JSON (${(err as Error).message})`)
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

function describeError (err: unknown): string {
  const e = err as { code?: string, message?: string, name?: string }
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') return `status poll timed out (${e.message ?? e.code})`
  return e.code !== undefined && !(e.message ?? '').includes(e.code) ? `${e.code}: ${e.message ?? ''}` : (e.message ?? String(err))
}
