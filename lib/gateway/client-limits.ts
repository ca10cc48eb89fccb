// Per-client caps, keyed by the real client address (the PROXY v2 source behind a trusted front
// proxy, never the proxy's own address): connections still negotiating
// (negotiation.maxPendingPerClient) and connections in all (maxSessionsPerClient; Microsoft HIS
// limits sessions per client address, 2,000 by default, KB 814166). Capacity is reserved at
// accept (CloseListenSocket, KB Q101235), so without the first cap one address holding silent
// connects could close every listener. Pure bookkeeping; the pipeline's admission stage asks.

export type ClientLimit = 'pending' | 'sessions'

/** What one admitted connection holds; both calls are idempotent. */
export interface ClientSlot {
  /** The connection has its session: it no longer counts as negotiating. */
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

  count (address: string, what: ClientLimit): number {
    return (what === 'pending' ? this.pending : this.connections).get(address) ?? 0
  }

  /** A slot for one more connection from `address`, or which cap it would break. */
  admit (address: string, caps: ClientCaps): Admission {
    const connections = this.count(address, 'sessions')
    if (caps.sessions > 0 && connections >= caps.sessions) return { ok: false, limit: 'sessions', count: connections, max: caps.sessions }
    const pending = this.count(address, 'pending')
    if (caps.pending > 0 && pending >= caps.pending) return { ok: false, limit: 'pending', count: pending, max: caps.pending }
    bump(this.connections, address, 1)
    bump(this.pending, address, 1)
    let state: 'pending' | 'settled' | 'released' = 'pending'
    return {
      ok: true,
      slot: {
        settle: () => {
          if (state !== 'pending') return
          state = 'settled'
          bump(this.pending, address, -1)
        },
        release: () => {
          if (state === 'released') return
          if (state === 'pending') bump(this.pending, address, -1)
          state = 'released'
          bump(this.connections, address, -1)
        },
      },
    }
  }
}

function bump (map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}
