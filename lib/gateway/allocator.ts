// The gateway's answer to "which LU for this client?" (docs/internals.md ResourceProvider).
// Pure decision over the LuRegistry, synchronous, so choice and hand-out are one step.
//
// A client identity rule (identity-map.ts) narrows what may be handed out. Its refusals use the
// RFC 2355 §7.1.2 reasons (docs/operations.md "Client identity"): a pool or LU the client may
// not use is INV-NAME, exactly as a name the gateway does not know (the client learns nothing
// about names it may not use, and x3270-style clients go on to the next name in their list); a
// generic request from a client whose rule leaves it no pool or LU on this listener is
// UNSUPPORTED-REQ (no generic request from it can be served here); a mapped pool with no free
// LU is DEVICE-IN-USE as for anyone.
import type { DeviceDecision, DeviceRequest, ResourceProvider } from '../tn3270/index.js'
import type { AllowedResources } from './identity-map.js'
import type { LuRegistry } from './lu-pool.js'

/** A request the client's identity rule did not allow (for the log event). */
export interface IdentityRefusal {
  rule: string
  request: string
  reason: 'INV-NAME' | 'UNSUPPORTED-REQ'
}

export interface AllocatorOptions {
  registry: LuRegistry
  /** Pools this listener serves, in order of preference; the first is the default pool. */
  pools: string[]
  /** Pool reserved for this connection at accept time (see LuRegistry.reserve). */
  reservedPool?: string
  /** Whether sessions on these pools send BIND images (sna links do; tn3270 links do not). */
  sendsBindImage: (pool: string) => boolean
  /** Told about each request the identity rule refused. */
  onIdentityRefusal?: (refusal: IdentityRefusal) => void
}

export class ListenerAllocator implements ResourceProvider {
  private reservedPool: string | undefined
  private allowed: AllowedResources | undefined
  private readonly opts: AllocatorOptions

  constructor (opts: AllocatorOptions) {
    this.opts = opts
    this.reservedPool = opts.reservedPool
  }

  /** From now on only what this identity rule allows; undefined = no restriction. */
  restrict (allowed: AllowedResources | undefined): void {
    this.allowed = allowed
  }

  allocate (req: DeviceRequest): DeviceDecision {
    const { registry, pools } = this.opts
    if (req.associate !== undefined) {
      // Printer ASSOCIATE (RFC 2355 §7.1.2) needs printer LUs associated with display LUs;
      // this gateway defines display pools only, so say so precisely.
      return { ok: false, reason: 'INV-ASSOCIATE', message: `no printer LU is associated with ${req.associate}` }
    }
    const name = req.resourceName?.toUpperCase()
    if (name === undefined || name === '') return this.allocateGeneric()
    if (registry.hasPool(name)) {
      if (!pools.includes(name)) return { ok: false, reason: 'INV-NAME', message: `pool ${name} is not served on this listener` }
      if (this.allowed !== undefined && !this.allowed.pools.includes(name)) return this.refuse(name, 'INV-NAME', `pool ${name}`)
      const lu = this.mayTakeFrom(name) ? registry.firstFree(name) : undefined
      if (lu === undefined) return { ok: false, reason: 'DEVICE-IN-USE', message: `no free LU in pool ${name}` }
      return this.grant(lu.name, name)
    }
    const lu = registry.lu(name)
    if (lu === undefined || !pools.includes(lu.def.pool)) {
      return { ok: false, reason: 'INV-NAME', message: `${name} is neither an LU nor a pool served on this listener` }
    }
    if (this.allowed !== undefined && !this.allowed.lus.has(name) && !this.allowed.pools.includes(lu.def.pool)) return this.refuse(name, 'INV-NAME', `LU ${name}`)
    if (lu.state === 'in_use') return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is in use` }
    if (lu.state === 'unavailable') return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is not active (${lu.reason})` }
    if (!this.mayTakeFrom(lu.def.pool)) return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is promised to a connection already accepted` }
    return this.grant(lu.name, lu.def.pool)
  }

  /**
   * Generic request: the default pool, then the listener's other pools in order, so that a
   * listener that is open (some pool has an LU) never turns a generic client away. A client with
   * an identity rule tries its own pools (default first), then the single LUs it may name.
   */
  private allocateGeneric (): DeviceDecision {
    const { registry, pools } = this.opts
    const allowed = this.allowed
    const candidates = allowed === undefined ? this.preferReserved(pools) : allowed.pools.filter(p => pools.includes(p))
    for (const pool of candidates) {
      const lu = this.mayTakeFrom(pool) ? registry.firstFree(pool) : undefined
      if (lu !== undefined) return this.grant(lu.name, pool)
    }
    const named = allowed === undefined ? [] : [...allowed.lus].filter(n => { const lu = registry.lu(n); return lu !== undefined && pools.includes(lu.def.pool) })
    for (const n of named) {
      const lu = registry.lu(n)!
      if (lu.state === 'free' && this.mayTakeFrom(lu.def.pool)) return this.grant(n, lu.def.pool)
    }
    if (allowed !== undefined && candidates.length === 0 && named.length === 0) return this.refuse('(generic)', 'UNSUPPORTED-REQ', 'a generic request')
    const where = allowed === undefined ? `pools ${pools.join(', ')}` : [...candidates, ...named].join(', ')
    return { ok: false, reason: 'DEVICE-IN-USE', message: `no free LU in ${where}` }
  }

  private refuse (request: string, reason: IdentityRefusal['reason'], what: string): DeviceDecision {
    const rule = this.allowed!.rule
    this.opts.onIdentityRefusal?.({ rule, request, reason })
    return { ok: false, reason, message: `${what} is not allowed for this client (identity rule ${rule})` }
  }

  /** Capacity reserved at accept is returned when the connection ends without an LU. */
  dispose (): void {
    if (this.reservedPool === undefined) return
    this.opts.registry.unreserve(this.reservedPool)
    this.reservedPool = undefined
  }

  /**
   * Free LUs are promised to connections accepted earlier (reservations). A connection may take
   * one from its own reserved pool, or from a pool with LUs beyond the promised ones; otherwise a
   * faster negotiator could take the LU a reserved connection was counted on.
   */
  private mayTakeFrom (pool: string): boolean {
    return this.reservedPool === pool || this.opts.registry.spare(pool) > 0
  }

  private preferReserved (pools: string[]): string[] {
    const r = this.reservedPool
    return r === undefined ? pools : [r, ...pools.filter(p => p !== r)]
  }

  private grant (luName: string, pool: string): DeviceDecision {
    const { registry } = this.opts
    const lu = registry.lu(luName)!
    // Consume the reservation only if this LU comes from the reserved pool; otherwise the
    // reservation is returned below so capacity is counted exactly once.
    const reserved = this.reservedPool === pool ? pool : undefined
    const lease = registry.take(lu, reserved)
    if (reserved === undefined) this.dispose()
    this.reservedPool = undefined
    return { ok: true, lu: lu.name, lease, bindImage: this.opts.sendsBindImage(pool) }
  }
}
