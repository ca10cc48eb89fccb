// Per-client caps at a front door (gateway or proxy listener), keyed by the real client address:
// the PROXY v2 source behind a trusted front proxy, never the proxy's own address. Two caps:
// connections not yet past negotiation, and connections in all (Microsoft HIS limits sessions
// per client address, 2,000 by default, KB 814166). Capacity is reserved at accept
// (CloseListenSocket, KB Q101235), so without the first cap one address holding silent connects
// could close every listener. A TN3270 client answers the server's first DO at once; an idle
// connection never does. Pure bookkeeping: the listener asks, the session settles and releases.

export type ClientLimit = 'pending' | 'sessions'

/** What one admitted connection holds; both calls are idempotent. */
export interface ClientSlot {
  /** The connection is past negotiation: it no longer counts as pending. */
  settle: () => void
  /** The connection ended: it counts nowhere any more. */
  release: () => void
}

export type Admission =
  | { ok: true, slot: ClientSlot }
  | { ok: false, limit: ClientLimit, count: number, max: number }

export interface ClientCaps {
  /** 0 = no cap. */
  pending: number
  /** 0 = no cap. */
  sessions: number
}

export class ClientLimits {
  private readonly pending = new Map<string, number>()
  private readonly connections = new Map<string, number>()

  /** `caps` is read at every admission, so a configuration reload applies to the next client. */
  constructor (private readonly caps: () => ClientCaps) {}

  count (address: string, what: ClientLimit): number {
    return (what === 'pending' ? this.pending : this.connections).get(address) ?? 0
  }

  /** A slot for one more connection from `address`, or which cap it would break. */
  admit (address: string): Admission {
    const caps = this.caps()
    const connections = this.count(address, 'sessions')
    if (caps.sessions > 0 && connections >= caps.sessions) return { ok: false, limit: 'sessions', count: connections, max: caps.sessions }
    const pending = this.count(address, 'pending')
    if (caps.pending > 0 && pending >= caps.pending) return { ok: false, limit: 'pending', count: pending, max: caps.pending }
    bump(this.connections, address, 1)
    bump(this.pending, address, 1)
    return { ok: true, slot: new Slot(this.pending, this.connections, address) }
  }
}

/** One object per connection, not a pair of closures: it lives as long as the session does. */
class Slot implements ClientSlot {
  private state: 'pending' | 'settled' | 'released' = 'pending'

  constructor (private readonly pending: Map<string, number>, private readonly connections: Map<string, number>, private readonly address: string) {}

  settle (): void {
    if (this.state !== 'pending') return
    this.state = 'settled'
    bump(this.pending, this.address, -1)
  }

  release (): void {
    if (this.state === 'released') return
    if (this.state === 'pending') bump(this.pending, this.address, -1)
    this.state = 'released'
    bump(this.connections, this.address, -1)
  }
}

function bump (map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}
