// The gateway's answer to "which LU for this client?" (docs/internals.md ResourceProvider).
// Pure decision over the LuRegistry, synchronous, so choice and hand-out are one step. Which
// kind of LU a device type may have, and ASSOCIATE, are device-kind.ts's (RFC 2355 §7.1).
import type { DeviceDecision, DeviceRequest, ResourceProvider } from '../tn3270/index.js'
import { associatedPrinter, kindMismatch, noPoolOfKind, poolsForRequest } from './device-kind.js'
import { deviceKindOf, type Lu, type LuRegistry, type Reservation } from './lu-pool.js'

export interface AllocatorOptions {
  registry: LuRegistry
  /** Pools this listener serves, in order of preference; the first is the default pool. */
  pools: string[]
  /** Capacity promised to this connection at accept time (LuRegistry.reserve). */
  reservation?: Reservation
  /** Whether sessions on these pools send BIND images (sna links do; tn3270 links do not). */
  sendsBindImage: (pool: string) => boolean
}

export class ListenerAllocator implements ResourceProvider {
  private reservation: Reservation | undefined
  private readonly opts: AllocatorOptions

  constructor (opts: AllocatorOptions) {
    this.opts = opts
    this.reservation = opts.reservation
  }

  allocate (req: DeviceRequest): DeviceDecision {
    const { registry, pools } = this.opts
    if (req.associate !== undefined) {
      // Printer ASSOCIATE (RFC 2355 §7.1): the display LU's associated printer (device-kind.ts).
      const printer = associatedPrinter(req.associate, registry, pools)
      return 'lu' in printer ? this.grantNamed(printer.lu) : printer
    }
    const name = req.resourceName?.toUpperCase()
    if (name === undefined || name === '') {
      // Generic request: the default pool, then the listener's other pools in order, so that a
      // listener that is open (some pool has an LU) never turns a generic client away; only
      // pools of the kind the device type asks for (RFC 2355 §7.1: printers get printer LUs).
      const served = poolsForRequest(req, registry, pools)
      if (served.length === 0) return noPoolOfKind(req, pools)
      for (const pool of served) {
        const lu = this.takeable(pool)
        if (lu !== undefined) return this.grant(lu)
      }
      return { ok: false, reason: 'DEVICE-IN-USE', message: `no free LU in pools ${served.join(', ')}` }
    }
    if (registry.hasPool(name)) {
      if (!pools.includes(name)) return { ok: false, reason: 'INV-NAME', message: `pool ${name} is not served on this listener` }
      const kind = registry.poolKind(name)!
      const mismatch = kindMismatch(req, name, 'pool', kind.kind, kind.luType)
      if (mismatch !== undefined) return mismatch
      const lu = this.takeable(name)
      if (lu === undefined) return { ok: false, reason: 'DEVICE-IN-USE', message: `no free LU in pool ${name}` }
      return this.grant(lu)
    }
    const lu = registry.lu(name)
    if (lu === undefined || !pools.includes(lu.def.pool)) {
      return { ok: false, reason: 'INV-NAME', message: `${name} is neither an LU nor a pool served on this listener` }
    }
    return kindMismatch(req, name, 'LU', deviceKindOf(lu.def), lu.def.printer) ?? this.grantNamed(lu)
  }

  /** A named LU (CONNECT, or the printer of an ASSOCIATE), if this connection may have it now. */
  private grantNamed (lu: Lu): DeviceDecision {
    const { registry } = this.opts
    const name = lu.name
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
    return { ok: true, lu: lu.name, lease, bindImage: this.opts.sendsBindImage(lu.def.pool), ...(lu.def.printer === undefined ? {} : { printer: lu.def.printer }) }
  }
}
