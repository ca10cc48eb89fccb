// The peer front: Debian's HAProxy in TCP mode, `balance leastconn`, `send-proxy-v2` toward the
// gateways (HAProxy doc/proxy-protocol.txt §2.2: the same PROXY v2 header our proxy sends, so
// the gateways' listener is the same for both fronts), `nbthread` equal to the threads our proxy
// uses. A monitor-uri frontend answers the readiness check without opening a session.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const HAPROXY_BIN = process.env.BENCH_HAPROXY ?? '/usr/sbin/haproxy'

export interface HaproxyInfo { bin: string, version: string }

/** HAProxy's binary and version, or undefined when it is not installed (the bench says so). */
export function detectHaproxy (): HaproxyInfo | undefined {
  if (!existsSync(HAPROXY_BIN)) return undefined
  try {
    const out = execFileSync(HAPROXY_BIN, ['-v'], { encoding: 'utf8' })
    const m = /version (\S+)/.exec(out)
    return { bin: HAPROXY_BIN, version: m?.[1] ?? out.split('\n')[0]!.trim() }
  } catch {
    return undefined
  }
}

export interface HaproxyConfig {
  port: number
  monitorPort: number
  threads: number
  /** Sessions HAProxy admits; each takes two descriptors (client and server side). */
  maxconn: number
  backends: Array<{ name: string, host: string, port: number }>
}

export function haproxyConfig (c: HaproxyConfig): string {
  return [
    'global',
    `  nbthread ${c.threads}`,
    `  maxconn ${c.maxconn}`,
    '',
    'defaults',
    '  mode tcp',
    `  maxconn ${c.maxconn}`,
    '  timeout connect 3s',
    // Idle TN3270 sessions stay open for the whole scenario.
    '  timeout client 1h',
    '  timeout server 1h',
    '',
    'frontend monitor',
    '  mode http',
    `  bind 127.0.0.1:${c.monitorPort}`,
    '  monitor-uri /ready',
    '',
    'frontend tn3270',
    `  bind 127.0.0.1:${c.port}`,
    '  default_backend gateways',
    '',
    'backend gateways',
    '  balance leastconn',
    ...c.backends.map(b => `  server ${b.name} ${b.host}:${b.port} send-proxy-v2`),
    '',
  ].join('\n')
}
