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
import type { Lu, LuRegistry, Reservation } from './lu-pool.js'

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
  /** Capacity promised to this connection at accept time (LuRegistry.reserve). */
  reservation?: Reservation
  /** Whether sessions on these pools send BIND images (sna links do; tn3270 links do not). */
  sendsBindImage: (pool: string) => boolean
  /** Told about each request the identity rule refused. */
  onIdentityRefusal?: (refusal: IdentityRefusal) => void
}

export class ListenerAllocator implements ResourceProvider {
  private reservation: Reservation | undefined
  private allowed: AllowedResources | undefined
  private readonly opts: AllocatorOptions

  constructor (opts: AllocatorOptions) {
    this.opts = opts
    this.reservation = opts.reservation
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
      const lu = this.takeable(name)
      if (lu === undefined) return { ok: false, reason: 'DEVICE-IN-USE', message: `no free LU in pool ${name}` }
      return this.grant(lu)
    }
    const lu = registry.lu(name)
    if (lu === undefined || !pools.includes(lu.def.pool)) {
      return { ok: false, reason: 'INV-NAME', message: `${name} is neither an LU nor a pool served on this listener` }
    }
    if (this.allowed !== undefined && !this.allowed.lus.has(name) && !this.allowed.pools.includes(lu.def.pool)) return this.refuse(name, 'INV-NAME', `LU ${name}`)
    if (lu.state === 'in_use') return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is in use` }
    if (lu.state === 'unavailable') return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is not active (${lu.reason})` }
    if (!registry.mayTake(lu, this.reservation)) return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is promised to a connection already accepted` }
    return this.grant(lu)
  }

  /** Capacity reserved at accept is returned when the connection ends without an LU. */
  dispose (): void {
    this.reservation?.release()
    this.reservation = undefined
  }

  /**
   * Generic request: the default pool, then the listener's other pools in order, so that a
   * listener that is open (some pool has an LU) never turns a generic client away. A client with
   * an identity rule tries its own pools (default first), then the single LUs it may name.
   */
  private allocateGeneric (): DeviceDecision {
    const { registry, pools } = this.opts
    const allowed = this.allowed
    const candidates = allowed === undefined ? pools : allowed.pools.filter(p => pools.includes(p))
    for (const pool of candidates) {
      const lu = this.takeable(pool)
      if (lu !== undefined) return this.grant(lu)
    }
    const named = allowed === undefined ? [] : [...allowed.lus].filter(n => { const lu = registry.lu(n); return lu !== undefined && pools.includes(lu.def.pool) })
    for (const n of named) {
      const lu = registry.lu(n)!
      if (registry.mayTake(lu, this.reservation)) return this.grant(lu)
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

  /**
   * A free LU of `pool` this connection may have: free LUs are promised to connections accepted
   * earlier, so one goes to this connection only if every such promise can still be kept
   * (LuRegistry.mayTake; which pool a silent connection was counted against does not matter).
   */
  private takeable (pool: string): Lu | undefined {
    const lu = this.opts.registry.firstFree(pool)
    return lu !== undefined && this.opts.registry.mayTake(lu, this.reservation) ? lu : undefined
  }

  private grant (lu: Lu): DeviceDecision {
    // The reservation is given up inside take(), so capacity is counted exactly once.
    const lease = this.opts.registry.take(lu, this.reservation)
    this.reservation = undefined
    return { ok: true, lu: lu.name, lease, bindImage: this.opts.sendsBindImage(lu.def.pool) }
  }
}
