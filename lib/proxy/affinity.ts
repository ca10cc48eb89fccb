// LU affinity per client address, like z/OS Communications Server's KEEPLU ("z/OS Communications
// Server: IP Configuration Guide", SC27-3650, "Keep LU for the Client Identifier"): a client
// address that reconnects within `keepFor` of its session's end is offered the LU it had. Unlike
// KEEPLU the LU is not held back from others meanwhile; the proxy only asks for it first and
// takes what the pool gives when it is gone (docs/routing.md). Bounded: at most `maxEntries`
// addresses, the least recently remembered forgotten first. Pure: time is passed in.

export interface AffinityEntry {
  lu: string
  /** The pool that owns the LU, when known. */
  pool?: string
  /** When the session holding it ended (clock ms). */
  endedAt: number
}

export class AffinityTable {
  /** Insertion order = remembering order (Map keeps it): the first key is the oldest. */
  private readonly entries = new Map<string, AffinityEntry>()

  constructor (private readonly opts: { keepFor: number, maxEntries: number }) {}

  get enabled (): boolean { return this.opts.keepFor > 0 }
  get size (): number { return this.entries.size }

  /** A session of `address` on `lu` ended at `now`. */
  remember (address: string, lu: string, pool: string | undefined, now: number): void {
    if (!this.enabled) return
    this.entries.delete(address)
    this.entries.set(address, { lu, endedAt: now, ...(pool === undefined ? {} : { pool }) })
    while (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }

  /** The LU `address` had, if its session ended less than keepFor ago. */
  recall (address: string, now: number): AffinityEntry | undefined {
    const e = this.entries.get(address)
    if (e === undefined) return undefined
    if (now - e.endedAt >= this.opts.keepFor) { this.entries.delete(address); return undefined }
    return e
  }

  /** The address has a session again: nothing to keep until it ends. */
  forget (address: string): void { this.entries.delete(address) }
}
