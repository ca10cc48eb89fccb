// LU pools: which LUs exist, which are free, which are held, which cannot be served right now,
// and the capacity promised to connections still negotiating (reservations, CloseListenSocket,
// KB Q101235). All state changes are synchronous so that an allocation and the listener decision
// that follows it happen in one step (no LU is ever given to two clients, no client is stranded by
// a listener that closed a moment too late).
import { EventEmitter } from 'node:events'
import type { GatewayPoolConfig } from '../config/index.js'
import { ErrorCodes, lbError } from '../errors.js'
import { extraCapacity, takeKeepsPromises, type Demand } from './capacity.js'

export type LuState = 'unavailable' | 'free' | 'in_use'

export interface LuDefinition {
  name: string
  pool: string
  host: string
  /** Local address on an `sna` link (ACTLU DAF'). */
  locaddr?: number
  /** Host-side resource on a `tn3270` link (device number, group, LU name); undefined = generic. */
  resource?: string
}

export class Lu {
  readonly def: LuDefinition
  state: LuState = 'unavailable'
  /** Why it is unavailable (link down, not activated, refused by host ...). */
  reason = 'host link not up'
  holder: Lease | undefined
  constructor (def: LuDefinition) { this.def = def }
  get name (): string { return this.def.name }
}

export class Lease {
  readonly lu: string
  readonly pool: string
  readonly host: string
  private released = false
  private readonly onRelease: (lease: Lease) => void
  constructor (lu: Lu, onRelease: (lease: Lease) => void) {
    this.lu = lu.name
    this.pool = lu.def.pool
    this.host = lu.def.host
    this.onRelease = onRelease
  }
  get active (): boolean { return !this.released }
  /** Idempotent: a session may be torn down from several directions at once. */
  release (): void {
    if (this.released) return
    this.released = true
    this.onRelease(this)
  }
}

/**
 * Capacity promised to one accepted connection until it gets an LU or ends: an LU from any of its
 * listener's pools, whichever it turns out to ask for (capacity.ts).
 */
export class Reservation {
  readonly pools: readonly string[]
  private held = true
  private readonly onRelease: (r: Reservation) => void
  constructor (pools: readonly string[], onRelease: (r: Reservation) => void) {
    this.pools = [...pools]
    this.onRelease = onRelease
  }

  get active (): boolean { return this.held }
  /** Idempotent. */
  release (): void {
    if (!this.held) return
    this.held = false
    this.onRelease(this)
  }

  /** @internal given up inside LuRegistry.take(), which announces the change once. */
  consume (): boolean {
    const was = this.held
    this.held = false
    return was
  }
}

export interface PoolCounts { name: string, host: string, total: number, free: number, inUse: number, unavailable: number }

/**
 * LU names written compactly for /status (docs/routing.md): runs of names that share a prefix and
 * a digit count and go up by one become `FIRST..LAST`, the notation pools are configured with
 * (docs/configuration.md, like z/OS LUGROUP ranges); anything else stays a single name. Order
 * is kept. A pool of 60,000 LUs defined as ranges reports as many entries as it has ranges.
 */
export function compactLuNames (names: readonly string[]): string[] {
  const out: string[] = []
  let run: { first: string, last: string, prefix: string, width: number, n: number } | undefined
  const flush = (): void => {
    if (run !== undefined) out.push(run.first === run.last ? run.first : `${run.first}..${run.last}`)
    run = undefined
  }
  for (const name of names) {
    const split = numberedName(name)
    if (split !== undefined && run !== undefined && split.prefix === run.prefix && split.digits.length === run.width && Number(split.digits) === run.n + 1) {
      run.last = name
      run.n++
      continue
    }
    flush()
    if (split === undefined) out.push(name)
    else run = { first: name, last: name, prefix: split.prefix, width: split.digits.length, n: Number(split.digits) }
  }
  flush()
  return out
}

/** A name as prefix + its longest run of trailing digits (the split a range uses), if it ends in one. */
function numberedName (name: string): { prefix: string, digits: string } | undefined {
  let i = name.length
  while (i > 1 && name.charCodeAt(i - 1) >= 48 && name.charCodeAt(i - 1) <= 57) i--
  return i === name.length ? undefined : { prefix: name.slice(0, i), digits: name.slice(i) }
}

/**
 * Expands config entries: plain names, ranges `GW1A0001..GW1A0004` (numeric suffix, same
 * prefix and width, like z/OS LUGROUP ranges) and objects with locaddr/resource. `sna` LUs
 * without a locaddr get consecutive local addresses per host starting at 2 (1 is the PU).
 */
export function expandPools (pools: GatewayPoolConfig[]): LuDefinition[] {
  const out: LuDefinition[] = []
  const nextLocaddr = new Map<string, number>()
  const take = (host: string, explicit?: number): number => {
    const n = explicit ?? nextLocaddr.get(host) ?? 2
    nextLocaddr.set(host, Math.max(nextLocaddr.get(host) ?? 2, n + 1))
    return n
  }
  for (const pool of pools) {
    for (const entry of pool.lus) {
      if (typeof entry === 'string') {
        for (const name of expandRange(entry, pool.name)) {
          out.push({ name, pool: pool.name, host: pool.host, locaddr: take(pool.host) })
        }
      } else {
        out.push({ name: entry.name, pool: pool.name, host: pool.host, locaddr: take(pool.host, entry.locaddr), ...(entry.resource === undefined ? {} : { resource: entry.resource }) })
      }
    }
    for (let i = 1; i <= pool.generic; i++) {
      const suffix = String(i).padStart(3, '0')
      out.push({ name: `${pool.name.slice(0, 8 - suffix.length)}${suffix}`, pool: pool.name, host: pool.host, locaddr: take(pool.host) })
    }
  }
  const seen = new Set<string>()
  const poolNames = new Set(pools.map(p => p.name))
  for (const lu of out) {
    if (seen.has(lu.name)) throw lbError(ErrorCodes.CONFIG_INVALID, `config: pools: LU ${lu.name} is defined twice`)
    if (poolNames.has(lu.name)) {
      // RFC 2355 §7.1: a CONNECT resource-name is an LU or a pool name, so the two must be disjoint.
      throw lbError(ErrorCodes.CONFIG_INVALID, `config: pools: ${lu.name} is both a pool name and an LU name (they must be disjoint)`)
    }
    seen.add(lu.name)
  }
  return out
}

function expandRange (entry: string, pool: string): string[] {
  const parts = entry.toUpperCase().split('..')
  const bad = () => lbError(ErrorCodes.CONFIG_INVALID,
    `config: pools.${pool}.lus = ${JSON.stringify(entry)}: expected an LU name or a range like GW1A0001..GW1A0004`)
  if (parts.length === 1) {
    if (!/^[A-Z@#$][A-Z0-9@#$]{0,7}$/.test(parts[0])) throw bad()
    return [parts[0]]
  }
  if (parts.length !== 2) throw bad()
  const [a, b] = parts.map(p => /^([A-Z@#$][A-Z0-9@#$]*?)(\d+)$/.exec(p))
  if (a === null || b === null || a[1] !== b[1] || a[2].length !== b[2].length || a[0].length > 8) throw bad()
  const from = Number(a[2])
  const to = Number(b[2])
  if (to < from || to - from > 9999) throw bad()
  const names: string[] = []
  for (let n = from; n <= to; n++) names.push(`${a[1]}${String(n).padStart(a[2].length, '0')}`)
  return names
}

/**
 * All LUs of a gateway. Emits 'change' after every state change (the listener manager and
 * metrics react synchronously) and 'revoked' (lease, reason) when an LU in use is taken away
 * (its host link went down), so the session holding it can tell its client.
 */
export class LuRegistry extends EventEmitter {
  private readonly lus = new Map<string, Lu>()
  private readonly pools = new Map<string, { host: string, lus: Lu[] }>()
  private readonly reservations = new Set<Reservation>()

  constructor (defs: LuDefinition[], poolHosts: Array<{ name: string, host: string }>) {
    super()
    for (const p of poolHosts) this.pools.set(p.name, { host: p.host, lus: [] })
    for (const def of defs) {
      const lu = new Lu(def)
      this.lus.set(def.name, lu)
      this.pools.get(def.pool)?.lus.push(lu)
    }
  }

  lu (name: string): Lu | undefined { return this.lus.get(name.toUpperCase()) }
  hasPool (name: string): boolean { return this.pools.has(name.toUpperCase()) }
  poolNames (): string[] { return [...this.pools.keys()] }
  all (): Lu[] { return [...this.lus.values()] }
  luOfHost (host: string): Lu[] { return this.all().filter(l => l.def.host === host) }
  /** Connections accepted and not yet given an LU. */
  get reserved (): number { return this.reservations.size }

  /** How many more connections could be promised an LU of `pool` on top of those still negotiating. */
  spare (pool: string): number {
    return this.pools.has(pool) ? extraCapacity(this.demands(), this.freeLus(), [pool]) : 0
  }

  /** One more connection on a listener serving `pools` can be promised an LU. */
  canReserve (pools: readonly string[]): boolean {
    return extraCapacity(this.demands(), this.freeLus(), pools) > 0
  }

  /**
   * Promises an accepted connection an LU from one of `pools`, so that the listener closes as soon
   * as sessions plus connections still negotiating fill what its pools can serve. Undefined when
   * no more can be promised.
   */
  reserve (pools: readonly string[]): Reservation | undefined {
    if (!this.canReserve(pools)) return undefined
    const r = new Reservation(pools, released => {
      if (this.reservations.delete(released)) this.emit('change')
    })
    this.reservations.add(r)
    this.emit('change')
    return r
  }

  /**
   * The free LU may go to the holder of `reservation` (or to a connection with none): handing it
   * out leaves every other promise that can be kept now keepable. Which pool each promise ends up
   * in does not matter (capacity.ts), so a connection asking for a pool is never refused because
   * a silent one happened to be counted against that pool.
   */
  mayTake (lu: Lu, reservation?: Reservation): boolean {
    return lu.state === 'free' && takeKeepsPromises(this.demands(reservation), this.freeLus(), lu.def.pool)
  }

  /**
   * Takes a specific free LU and returns its lease. The holder's reservation is given up in the
   * same step, so capacity is never counted twice.
   */
  take (lu: Lu, reservation?: Reservation): Lease {
    if (lu.state !== 'free') throw lbError(ErrorCodes.LU_UNAVAILABLE, `LU ${lu.name} is ${lu.state}`)
    if (reservation?.consume() === true) this.reservations.delete(reservation)
    const lease = new Lease(lu, released => this.returnLu(released))
    lu.state = 'in_use'
    lu.holder = lease
    this.emit('change')
    return lease
  }

  /** Reservations grouped by pool set (one demand per listener's pools). */
  private demands (except?: Reservation): Demand[] {
    const byKey = new Map<string, Demand>()
    for (const r of this.reservations) {
      if (r === except) continue
      const key = r.pools.join('\0')
      const d = byKey.get(key)
      if (d === undefined) byKey.set(key, { pools: r.pools, count: 1 })
      else d.count++
    }
    return [...byKey.values()]
  }

  private freeLus (): Map<string, number> {
    const free = new Map<string, number>()
    for (const [name, p] of this.pools) free.set(name, p.lus.filter(l => l.state === 'free').length)
    return free
  }

  firstFree (pool: string): Lu | undefined {
    return this.pools.get(pool)?.lus.find(l => l.state === 'free')
  }

  private returnLu (lease: Lease): void {
    const lu = this.lus.get(lease.lu)
    if (lu === undefined || lu.holder !== lease) return
    lu.holder = undefined
    // An LU whose host went away while held stays unavailable until the host re-activates it.
    if (lu.state === 'in_use') lu.state = 'free'
    this.emit('change')
  }

  /** The host activated the LU (ACTLU, or a tn3270 resource became usable again). */
  activate (name: string): void {
    const lu = this.lus.get(name)
    if (lu === undefined || lu.state !== 'unavailable') return
    lu.state = lu.holder === undefined ? 'free' : 'in_use'
    lu.reason = ''
    this.emit('change')
  }

  /** The LU cannot be served (link down, DACTLU, refused by host). A holder loses it. */
  deactivate (name: string, reason: string): void {
    const lu = this.lus.get(name)
    if (lu === undefined) return
    const holder = lu.holder
    lu.state = 'unavailable'
    lu.reason = reason
    this.emit('change')
    if (holder !== undefined) this.emit('revoked', holder, reason)
  }

  counts (): PoolCounts[] {
    return [...this.pools.entries()].map(([name, p]) => {
      const c: PoolCounts = { name, host: p.host, total: p.lus.length, free: 0, inUse: 0, unavailable: 0 }
      for (const lu of p.lus) {
        if (lu.state === 'free') c.free++
        else if (lu.state === 'in_use') c.inUse++
        else c.unavailable++
      }
      return c
    })
  }
}
