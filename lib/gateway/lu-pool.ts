// LU pools: which LUs exist, which are free, which are held, which cannot be served right now,
// and the capacity promised to connections still negotiating (reservations, CloseListenSocket,
// KB Q101235). All state changes are synchronous so that an allocation and the listener decision
// that follows it happen in one step (no LU is ever given to two clients, no client is stranded by
// a listener that closed a moment too late).
//
// An LU's state (free / in use / unavailable) follows from three views, settled in one place:
//   the host's      active (ACTLU, a usable tn3270 resource) or inactive, with a reason
//   the operator's  enabled or disabled, for the LU and for its pool (VARY NET,INACT-like,
//                   "z/OS Communications Server: SNA Operation", SC27-3673; docs/operations.md)
//   the config's    retiring once a reload removed it: its session finishes, then it goes away
// A disabled or retiring LU that a session holds stays in use until that session ends.
import { EventEmitter } from 'node:events'
import { expandLuEntry, genericLuNames, type GatewayPoolConfig } from '../config/index.js'
import { ErrorCodes, lbError } from '../errors.js'
import { extraCapacity, takeKeepsPromises, type Demand } from './capacity.js'

export type LuState = 'unavailable' | 'free' | 'in_use'
/** What a pool's LUs are (docs/printers.md): terminals, or printers of LU type 1 or 3. */
export type DeviceKind = 'display' | 'printer'
export type PrinterLuType = 'lu1' | 'lu3'
/** The operator's and the config's view of an LU or a pool. */
export type AdminState = 'enabled' | 'disabled' | 'retiring'

export interface LuDefinition {
  name: string
  pool: string
  host: string
  /** Local address on an `sna` link (ACTLU DAF'), on PU `pu`. */
  locaddr?: number
  /**
   * `sna` links: which of the host's PUs (1 = the first) the LU belongs to; absent = 1. A
   * dependent LU is known by its PU and its local address ("SNA Formats", GA27-3136, FID2
   * DAF'/OAF' are local to the PU's link station), so a host with more than 254 LUs has several.
   */
  pu?: number
  /** Host-side resource on a `tn3270` link (device number, group, LU name); undefined = generic. */
  resource?: string
  /** A printer LU and its LU type (its pool's `kind: printer`); undefined = a display LU (LU type 2). */
  printer?: PrinterLuType
}

/** A pool as the registry keeps it: its host and what kind of LUs it has. */
export interface PoolDefinition {
  name: string
  host: string
  /** Default `display`. */
  kind?: DeviceKind
  /** Printer pools: default `lu1`. */
  luType?: PrinterLuType
}

/** The device kind of an LU definition. */
export function deviceKindOf (def: LuDefinition): DeviceKind {
  return def.printer === undefined ? 'display' : 'printer'
}

export class Lu {
  readonly def: LuDefinition
  /** What allocation, CloseListenSocket, /status and metrics go by (settled from the views above). */
  state: LuState = 'unavailable'
  /** Why it is unavailable (link down, not activated, refused by host, disabled ...). */
  reason = 'host link not up'
  holder: Lease | undefined
  admin: AdminState = 'enabled'
  /** The host's view and why it is inactive. */
  host: { state: 'active' | 'inactive', reason: string } = { state: 'inactive', reason: 'host link not up' }
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

export interface PoolCounts {
  name: string
  host: string
  /** `display` or `printer` (docs/printers.md). */
  kind: DeviceKind
  /** Printer pools: `lu1` (SCS) or `lu3` (3270 data stream). */
  luType?: PrinterLuType
  /** enabled, disabled by the operator, or retiring (removed by a reload, sessions finishing). */
  state: AdminState
  total: number
  free: number
  inUse: number
  unavailable: number
}

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

/** A pool's config as expandPools reads it (`kind` and `luType` may be left to their defaults). */
export type PoolInput = Omit<GatewayPoolConfig, 'kind'> & { kind?: DeviceKind }

/** The registry's view of configured pools. */
export function poolDefinitions (pools: readonly PoolInput[]): PoolDefinition[] {
  return pools.map(p => ({ name: p.name, host: p.host, kind: p.kind ?? 'display', ...(p.kind === 'printer' ? { luType: p.luType ?? 'lu1' } : {}) }))
}

/** Local addresses 2..255 of one PU (1 is the PU itself, "SNA Formats", GA27-3136, ACTPU). */
export const LUS_PER_PU = 254

/** An LU's place on its host: PU (1-based) and local address, as one number that orders them. */
const slot = (pu: number, locaddr: number): number => (pu - 1) * 256 + locaddr
/** The slot after `n`, skipping addresses 0 and 1 of the next PU. */
const nextSlot = (n: number): number => (n + 1) % 256 === 0 ? n + 3 : n + 1

/**
 * Expands config entries (names, ranges, objects with locaddr/resource, generic sessions; names
 * as lib/config checked them). `sna` LUs without a locaddr get consecutive local addresses per
 * host from 2 (1 is the PU) up to 255, then go on on the host's next PU from 2 again. `known`
 * keeps the address an LU already has on its host, so a reload never moves a running LU; new LUs
 * then skip the addresses known LUs hold.
 */
export function expandPools (pools: readonly PoolInput[], known: ReadonlyMap<string, LuDefinition> = new Map()): LuDefinition[] {
  const out: LuDefinition[] = []
  const next = new Map<string, number>()
  const held = new Set([...known.values()].map(d => `${d.host}/${slot(d.pu ?? 1, d.locaddr ?? 0)}`))
  const take = (host: string, name: string, explicit?: { locaddr: number, pu?: number | undefined }): { pu: number, locaddr: number } => {
    if (explicit !== undefined) {
      const at = slot(explicit.pu ?? 1, explicit.locaddr)
      next.set(host, Math.max(next.get(host) ?? 2, nextSlot(at)))
      return { pu: explicit.pu ?? 1, locaddr: explicit.locaddr }
    }
    const old = known.get(name)
    if (old?.host === host && old.locaddr !== undefined) return { pu: old.pu ?? 1, locaddr: old.locaddr }
    let n = next.get(host) ?? 2
    while (held.has(`${host}/${n}`)) n = nextSlot(n)
    next.set(host, nextSlot(n))
    return { pu: Math.floor(n / 256) + 1, locaddr: n % 256 }
  }
  for (const pool of pools) {
    const printer = pool.kind === 'printer' ? { printer: pool.luType ?? 'lu1' } : {}
    const add = (name: string, extra: { locaddr?: number, pu?: number, resource?: string } = {}): void => {
      const { pu, locaddr } = take(pool.host, name, extra.locaddr === undefined ? undefined : { locaddr: extra.locaddr, pu: extra.pu })
      out.push({ name, pool: pool.name, host: pool.host, locaddr, ...(pu === 1 ? {} : { pu }), ...(extra.resource === undefined ? {} : { resource: extra.resource }), ...printer })
    }
    for (const entry of pool.lus) {
      if (typeof entry === 'string') for (const name of expandLuEntry(entry) ?? []) add(name)
      else add(entry.name, entry)
    }
    for (const name of genericLuNames(pool.name, pool.generic)) add(name)
  }
  return out
}

/**
 * All LUs of a gateway. Emits 'change' after every state change (the listener manager and
 * metrics react synchronously) and 'revoked' (lease, reason) when an LU in use is taken away
 * (its host link went down), so the session holding it can tell its client.
 */
export class LuRegistry extends EventEmitter {
  private readonly lus = new Map<string, Lu>()
  private readonly pools = new Map<string, { host: string, kind: DeviceKind, luType?: PrinterLuType, lus: Lu[], admin: AdminState }>()
  private readonly reservations = new Set<Reservation>()
  /** Display LU → its associated printer LU (lib/config printerPairs). */
  private printers: ReadonlyMap<string, string>

  constructor (defs: LuDefinition[], poolHosts: readonly PoolDefinition[], printers: ReadonlyMap<string, string> = new Map()) {
    super()
    for (const p of poolHosts) this.pools.set(p.name, { ...poolKind(p), host: p.host, lus: [], admin: 'enabled' })
    for (const def of defs) this.addLu(def)
    this.printers = printers
  }

  lu (name: string): Lu | undefined { return this.lus.get(name.toUpperCase()) }
  hasPool (name: string): boolean { return this.pools.has(name.toUpperCase()) }
  poolNames (): string[] { return [...this.pools.keys()] }
  all (): Lu[] { return [...this.lus.values()] }
  luOfHost (host: string): Lu[] { return this.all().filter(l => l.def.host === host) }
  /** The operator's or the config's view of a pool; undefined if there is no such pool. */
  poolState (name: string): AdminState | undefined { return this.pools.get(name.toUpperCase())?.admin }
  /** What a pool's LUs are; undefined if there is no such pool. */
  poolKind (name: string): { kind: DeviceKind, luType?: PrinterLuType } | undefined {
    const p = this.pools.get(name.toUpperCase())
    return p === undefined ? undefined : poolKind(p)
  }
  /** The printer LU associated with a display LU (ASSOCIATE, RFC 2355 §7.1), if configured. */
  printerOf (display: string): string | undefined { return this.printers.get(display.toUpperCase()) }

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
    lu.holder = lease
    this.settle(lu)
    this.emit('change')
    return lease
  }

  firstFree (pool: string): Lu | undefined {
    return this.pools.get(pool)?.lus.find(l => l.state === 'free')
  }

  private returnLu (lease: Lease): void {
    const lu = this.lus.get(lease.lu)
    if (lu === undefined || lu.holder !== lease) return
    lu.holder = undefined
    // An LU whose host went away while held stays unavailable until the host re-activates it;
    // one a reload removed goes away now that its session is over.
    if (lu.admin === 'retiring') this.removeLu(lu)
    else this.settle(lu)
    this.emit('change')
  }

  /** The host activated the LU (ACTLU, or a tn3270 resource became usable again). */
  activate (name: string): void {
    const lu = this.lus.get(name)
    if (lu === undefined || lu.host.state === 'active') return
    lu.host = { state: 'active', reason: '' }
    this.settle(lu)
    this.emit('change')
  }

  /** The LU cannot be served (link down, DACTLU, refused by host). A holder loses it. */
  deactivate (name: string, reason: string): void {
    const lu = this.lus.get(name)
    if (lu === undefined) return
    const holder = lu.holder
    lu.host = { state: 'inactive', reason }
    this.settle(lu)
    this.emit('change')
    if (holder !== undefined) this.emit('revoked', holder, reason)
  }

  /**
   * The operator enables or disables an LU or a whole pool (runtime API): a disabled one is not
   * handed out and counts as unavailable; a session holding it continues. Returns the state it
   * had; a retiring one (being removed by a reload) is left alone.
   */
  setAdmin (target: { lu: string } | { pool: string }, state: 'enabled' | 'disabled'): AdminState | undefined {
    const item = 'lu' in target ? this.lus.get(target.lu.toUpperCase()) : this.pools.get(target.pool.toUpperCase())
    if (item === undefined) return undefined
    const before = item.admin
    if (before === 'retiring' || before === state) return before
    item.admin = state
    const affected = 'lu' in target ? [item as Lu] : (item as { lus: Lu[] }).lus
    for (const lu of affected) this.settle(lu)
    this.emit('change')
    return before
  }

  /**
   * A reload's new pool and LU set: new pools and LUs are added (unavailable until their host
   * activates them), ones no longer listed retire (a held LU when its session ends, a pool when
   * its last LU is gone), and retiring ones listed again come back. Definitions of LUs that stay
   * are the caller's to have checked (gateway/reload.ts).
   */
  define (pools: readonly PoolDefinition[], defs: readonly LuDefinition[], printers: ReadonlyMap<string, string> = this.printers): void {
    const poolNames = new Set(pools.map(p => p.name))
    this.printers = printers
    for (const p of pools) {
      const had = this.pools.get(p.name)
      if (had === undefined) this.pools.set(p.name, { ...poolKind(p), host: p.host, lus: [], admin: 'enabled' })
      else if (had.admin === 'retiring') had.admin = 'enabled'
    }
    const names = new Set(defs.map(d => d.name))
    for (const def of defs) {
      const lu = this.lus.get(def.name)
      if (lu === undefined) this.addLu(def)
      else if (lu.admin === 'retiring') lu.admin = 'enabled'
    }
    for (const lu of this.all()) {
      if (names.has(lu.name)) continue
      if (lu.holder === undefined) this.removeLu(lu)
      else lu.admin = 'retiring'
    }
    for (const [name, p] of this.pools) if (!poolNames.has(name)) p.admin = 'retiring'
    for (const lu of this.all()) this.settle(lu)
    this.dropEmptyRetiringPools()
    this.emit('change')
  }

  counts (): PoolCounts[] {
    return [...this.pools.entries()].map(([name, p]) => {
      const c: PoolCounts = { name, host: p.host, ...poolKind(p), state: p.admin, total: p.lus.length, free: 0, inUse: 0, unavailable: 0 }
      for (const lu of p.lus) {
        if (lu.state === 'free') c.free++
        else if (lu.state === 'in_use') c.inUse++
        else c.unavailable++
      }
      return c
    })
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
  private addLu (def: LuDefinition): void {
    const lu = new Lu(def)
    this.lus.set(def.name, lu)
    this.pools.get(def.pool)?.lus.push(lu)
  }

  private removeLu (lu: Lu): void {
    this.lus.delete(lu.name)
    const p = this.pools.get(lu.def.pool)
    if (p !== undefined) p.lus = p.lus.filter(l => l !== lu)
    this.dropEmptyRetiringPools()
  }

  private dropEmptyRetiringPools (): void {
    for (const [name, p] of this.pools) if (p.admin === 'retiring' && p.lus.length === 0) this.pools.delete(name)
  }

  /** The one place an LU's state follows from the host's, the operator's and the config's views. */
  private settle (lu: Lu): void {
    const pool = this.pools.get(lu.def.pool)
    if (lu.host.state === 'inactive') {
      lu.state = 'unavailable'
      lu.reason = lu.host.reason
    } else if (lu.holder !== undefined) {
      lu.state = 'in_use'
      lu.reason = ''
    } else if (lu.admin !== 'enabled' || (pool !== undefined && pool.admin !== 'enabled')) {
      lu.state = 'unavailable'
      lu.reason = lu.admin === 'disabled' ? 'disabled by the operator'
        : lu.admin === 'retiring' || pool?.admin === 'retiring' ? 'removed by a config reload'
          : `pool ${lu.def.pool} disabled by the operator`
    } else {
      lu.state = 'free'
      lu.reason = ''
    }
  }
}

/** A pool's kind with its LU type for printers (a display pool carries none). */
function poolKind (p: { kind?: DeviceKind, luType?: PrinterLuType }): { kind: DeviceKind, luType?: PrinterLuType } {
  return p.kind === 'printer' ? { kind: 'printer', luType: p.luType ?? 'lu1' } : { kind: 'display' }
}
