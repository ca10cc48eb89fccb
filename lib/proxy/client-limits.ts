// Per-client caps at the proxy's front door, keyed by the client's address (the proxy is where
// the real client connects): connections not yet sending telnet data, and connections in all
// (Microsoft HIS caps sessions per client address at 2,000 by default, KB 814166). Found when
// tried: idle connections from one address through the proxy held every gateway's capacity
// (reserved at accept, CloseListenSocket, KB Q101235) until every listener closed. A
// connection stays "pending" from accept through any TLS handshake until the client's first
// byte of telnet data is relayed: a TN3270 client answers the server's first DO at once, an idle
// connection never does. Pure bookkeeping.

export type ClientLimit = 'pending' | 'sessions'

export interface ClientCaps {
  /** 0 = no cap. */
  pending: number
  /** 0 = no cap. */
  sessions: number
}

/** One admitted connection; both calls are idempotent. */
export interface ClientSlot {
  /** The client sent telnet data: no longer pending. */
  active: () => void
  /** The connection ended. */
  release: () => void
}

export type Admission =
  | { ok: true, slot: ClientSlot }
  | { ok: false, limit: ClientLimit, count: number, max: number }

export class ProxyClientLimits {
  private readonly pending = new Map<string, number>()
  private readonly open = new Map<string, number>()

  constructor (private readonly caps: ClientCaps) {}

  count (address: string, what: ClientLimit): number {
    return (what === 'pending' ? this.pending : this.open).get(address) ?? 0
  }

  admit (address: string): Admission {
    const open = this.count(address, 'sessions')
    if (this.caps.sessions > 0 && open >= this.caps.sessions) return { ok: false, limit: 'sessions', count: open, max: this.caps.sessions }
    const pending = this.count(address, 'pending')
    if (this.caps.pending > 0 && pending >= this.caps.pending) return { ok: false, limit: 'pending', count: pending, max: this.caps.pending }
    bump(this.open, address, 1)
    bump(this.pending, address, 1)
    return { ok: true, slot: new Slot(this.pending, this.open, address) }
  }
}

/** One object per connection, not a pair of closures: it lives as long as the session does. */
class Slot implements ClientSlot {
  private state: 'pending' | 'active' | 'released' = 'pending'

  constructor (private readonly pending: Map<string, number>, private readonly open: Map<string, number>, private readonly address: string) {}

  active (): void {
    if (this.state !== 'pending') return
    this.state = 'active'
    bump(this.pending, this.address, -1)
  }

  release (): void {
    if (this.state === 'released') return
    if (this.state === 'pending') bump(this.pending, this.address, -1)
    this.state = 'released'
    bump(this.open, this.address, -1)
  }
}

function bump (map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}
