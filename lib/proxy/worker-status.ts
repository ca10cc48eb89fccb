// The primary's GET /status when the proxy runs worker processes (docs/operations.md "Workers"):
// one view of the whole proxy built from every worker's own status, so an operator and a
// monitoring probe read one port, as they would read HAProxy's one stats socket for all its
// threads. Pure: the primary gathers the workers' bodies over IPC and passes them here.
//
// A listener is open while any worker listens on it: the shared socket stays open until the last
// worker closes it (Node.js doc/api/cluster.md, "How it works"), so that is what a client sees.
// Sessions and connection caps add up. Each worker polls the gateways itself, so their views of a
// backend can differ for one status interval: a backend counts as eligible when any worker may
// send it a client, and each worker's own view stays under `workers[].status`.
import type { ProxyListenerStatus } from './frontend.js'
import type { ProxyStatus } from './status.js'

/** One worker's answer: its status body, or why it gave none (exited, or no answer in time). */
export interface WorkerStatus {
  index: number
  pid: number | undefined
  status?: ProxyStatus
  error?: string
}

export interface PrimaryStatus extends ProxyStatus {
  workers: Array<{ index: number, pid: number | null, error: string | null, status: ProxyStatus | null }>
}

function mergeListeners (all: ProxyListenerStatus[]): ProxyListenerStatus[] {
  const byName = new Map<string, ProxyListenerStatus>()
  for (const l of all) {
    const seen = byName.get(l.name)
    if (seen === undefined) byName.set(l.name, { ...l })
    else {
      seen.open ||= l.open
      seen.sessions += l.sessions
      seen.maxConnections += l.maxConnections
    }
  }
  return [...byName.values()]
}

function mergeBackends (all: ProxyStatus['backends']): ProxyStatus['backends'] {
  const byKey = new Map<string, ProxyStatus['backends'][number]>()
  for (const b of all) {
    const key = `${b.listener}\u0000${b.name}`
    const seen = byKey.get(key)
    if (seen === undefined) byKey.set(key, { ...b })
    else {
      seen.sessions += b.sessions
      if (b.eligibility === 'ok') seen.eligibility = 'ok'
      seen.up ||= b.up
    }
  }
  return [...byKey.values()]
}

/** The whole proxy's status from its workers' (in worker order); `draining` is the primary's own. */
export function mergeWorkerStatus (name: string, draining: boolean, workers: readonly WorkerStatus[]): PrimaryStatus {
  const bodies = workers.flatMap(w => w.status === undefined ? [] : [w.status])
  return {
    role: 'proxy',
    name,
    ready: !draining && bodies.some(s => s.ready),
    draining,
    listeners: mergeListeners(bodies.flatMap(s => s.listeners)),
    backends: mergeBackends(bodies.flatMap(s => s.backends)),
    sessions: { active: bodies.reduce((n, s) => n + s.sessions.active, 0) },
    workers: workers.map(w => ({ index: w.index, pid: w.pid ?? null, error: w.error ?? null, status: w.status ?? null })),
  }
}
