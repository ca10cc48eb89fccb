// The proxy's GET /status body (docs/operations.md, "Processes and ports"): its listeners with
// their open/closed state, every backend as the balancer sees it, and the session count.
import type { Frontend, ProxyListenerStatus } from './frontend.js'
import type { BackendStatus } from './pool.js'

export interface ProxyStatus {
  role: 'proxy'
  name: string
  ready: boolean
  draining: boolean
  listeners: ProxyListenerStatus[]
  backends: Array<BackendStatus & { listener: string }>
  sessions: { active: number }
}

export function proxyStatus (name: string, draining: boolean, frontends: readonly Frontend[]): ProxyStatus {
  return {
    role: 'proxy',
    name,
    ready: !draining,
    draining,
    listeners: frontends.map(f => f.status()),
    backends: frontends.flatMap(f => f.backendStatus()),
    sessions: { active: frontends.reduce((n, f) => n + f.sessions.size, 0) },
  }
}

/** The `listening proxy <listener> <host:port>` lines the CLI prints, then the admin line. */
export function listeningLines (name: string, frontends: readonly Frontend[], admin: { host: string, port: number }): string[] {
  return [
    ...frontends.map(f => `listening proxy ${f.name} ${f.addressText}`),
    `listening proxy-admin ${name} ${admin.host}:${admin.port}`,
  ]
}
