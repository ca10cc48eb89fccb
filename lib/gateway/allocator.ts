// The gateway's answer to "which LU for this client?" (docs/internals.md ResourceProvider).
// Pure decision over the LuRegistry, synchronous, so choice and hand-out are one step.
import type { DeviceDecision, DeviceRequest, ResourceProvider } from '../tn3270/index.js'
import type { LuRegistry } from './lu-pool.js'

export interface AllocatorOptions {
  registry: LuRegistry
  /** Pools this listener serves, in order of preference; the first is the default pool. */
  pools: string[]
  /** Pool reserved for this connection at accept time (see LuRegistry.reserve). */
  reservedPool?: string
  /** Whether sessions on these pools send BIND images (sna links do; tn3270 links do not). */
  sendsBindImage: (pool: string) => boolean
}

export class ListenerAllocator implements ResourceProvider {
  private reservedPool: string | undefined
  private readonly opts: AllocatorOptions

  constructor (opts: AllocatorOptions) {
    this.opts = opts
    this.reservedPool = opts.reservedPool
  }

  allocate (req: DeviceRequest): DeviceDecision {
    const { registry, pools } = this.opts
    if (req.associate !== undefined) {
      // Printer ASSOCIATE (RFC 2355 §7.1.2) needs printer LUs associated with display LUs;
      // this gateway defines display pools only, so say so precisely.
      return { ok: false, reason: 'INV-ASSOCIATE', message: `no printer LU is associated with ${req.associate}` }
    }
    const name = req.resourceName?.toUpperCase()
    if (name === undefined || name === '') {
      // Generic request: the default pool, then the listener's other pools in order, so that a
      // listener that is open (some pool has an LU) never turns a generic client away.
      for (const pool of this.preferReserved(pools)) {
        const lu = this.mayTakeFrom(pool) ? registry.firstFree(pool) : undefined
        if (lu !== undefined) return this.grant(lu.name, pool)
      }
      return { ok: false, reason: 'DEVICE-IN-USE', message: `no free LU in pools ${pools.join(', ')}` }
    }
    if (registry.hasPool(name)) {
      if (!pools.includes(name)) return { ok: false, reason: 'INV-NAME', message: `pool ${name} is not served on this listener` }
      const lu = this.mayTakeFrom(name) ? registry.firstFree(name) : undefined
      if (lu === undefined) return { ok: false, reason: 'DEVICE-IN-USE', message: `no free LU in pool ${name}` }
      return this.grant(lu.name, name)
    }
    const lu = registry.lu(name)
    if (lu === undefined || !pools.includes(lu.def.pool)) {
      return { ok: false, reason: 'INV-NAME', message: `${name} is neither an LU nor a pool served on this listener` }
    }
    if (lu.state === 'in_use') return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is in use` }
    if (lu.state === 'unavailable') return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is not active (${lu.reason})` }
    if (!this.mayTakeFrom(lu.def.pool)) return { ok: false, reason: 'DEVICE-IN-USE', message: `LU ${name} is promised to a connection already accepted` }
    return this.grant(lu.name, lu.def.pool)
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
