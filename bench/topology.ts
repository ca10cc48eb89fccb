// The roles of a scenario, each in its own process and started the way an operator starts them:
// `node dist/lib/cli.js host-sim|gateway|proxy --config FILE` with a config file generated here
// (JSON, which the YAML loader reads), and HAProxy with a generated haproxy.cfg. Every start
// waits for the role to be really ready (listening lines, then the admin /status), so no
// measurement window includes start-up work. Config keys: docs/configuration.md.
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { RoleProcess } from './procs.js'
import { allocatePort, rememberPort } from './ports.js'
import { haproxyConfig, type HaproxyInfo } from './haproxy.js'
import { waitUntil } from './stats.js'

export interface RunContext {
  /** Temp dir of this run: generated configs and every process's output. */
  tmp: string
  /** dist/lib/cli.js */
  cli: string
  haproxy: HaproxyInfo | undefined
  /**
   * Threads (or worker processes) our proxy uses; HAProxy gets `nbthread` equal to it. Our
   * proxy is one Node process today and has no config key for workers yet.
   */
  proxyThreads: number
  say: (line: string) => void
}

const LOOPBACK = '127.0.0.1'
/** LUs of one PU: local addresses 2..255 (lib/gateway/lu-pool.ts expandPools). */
export const LUS_PER_PU = 254
/**
 * PUs a bench gateway defines per simulated host: one sna link each, all served by the one
 * host-simulator process of that host (docs/hostlink.md "PUs").
 */
export const PUS_PER_HOST = 16
export const MAX_LUS_PER_HOST = LUS_PER_PU * PUS_PER_HOST

let nofileHard: number | undefined
/** The hard open-file limit a process started here can raise its soft limit to. */
export function openFileLimit (): number {
  if (nofileHard === undefined) {
    const t = execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
    nofileHard = t === 'unlimited' ? 1_048_576 : Number(t)
  }
  return nofileHard
}

/**
 * Extra Node options for every process of one role from `BENCH_<ROLE>_NODE_ARGS`
 * (`BENCH_PROXY_NODE_ARGS`, `BENCH_GATEWAY_NODE_ARGS`, `BENCH_HOST_SIM_NODE_ARGS`), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile that role during a scenario.
 */
function envNodeArgs (role: string): string[] {
  const name = `BENCH_${role.toUpperCase().replace(/-/g, '_')}_NODE_ARGS`
  return (process.env[name] ?? '').split(' ').filter(a => a !== '')
}

async function startRole (ctx: RunContext, role: string, name: string, config: unknown, nodeArgs: string[] = []): Promise<RoleProcess> {
  const file = path.join(ctx.tmp, `${role}-${name}.json`)
  await writeFile(file, JSON.stringify(config, null, 2))
  return new RoleProcess({
    name: `${role} ${name}`,
    command: process.execPath,
    args: [...nodeArgs, ...envNodeArgs(role), ctx.cli, role, '--config', file],
    logFile: path.join(ctx.tmp, `${role}-${name}.log`),
  })
}

/** Waits for `listening <role> <name> <host:port>` and returns the port. */
async function listeningPort (p: RoleProcess, role: string, timeoutMs = 60_000): Promise<number> {
  const m = await p.waitForLine(new RegExp(`^listening ${role} \\S+ \\S+:(\\d+)$`), timeoutMs)
  const port = Number(m[1])
  rememberPort(port)
  return port
}

export async function getJson (url: string, timeoutMs = 10_000): Promise<any> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`)
  return await res.json()
}

async function stopOnFailure<T> (procs: RoleProcess[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    await Promise.all(procs.map(async p => await p.stop()))
    throw err
  }
}

// ---------------------------------------------------------------- host simulators

export interface HostSpec {
  name: string
  /** BIND session-level pacing window, both directions (0 = no pacing); host-sim default 7. */
  window?: number
  /** Adaptive session-level pacing in the BIND (SNA Formats, GA27-3136: BIND byte 9 bit 0). */
  adaptive?: boolean
}

export interface RunningHost { name: string, proc: RoleProcess, linkPort: number, adminUrl: string }

/** One host-simulator process per host name (what the CLI serves today), started `parallel` at a time. */
export async function startHosts (ctx: RunContext, specs: HostSpec[], parallel = 6): Promise<RunningHost[]> {
  const out: RunningHost[] = []
  const procs: RoleProcess[] = []
  return await stopOnFailure(procs, async () => {
    for (let i = 0; i < specs.length; i += parallel) {
      out.push(...await Promise.all(specs.slice(i, i + parallel).map(async spec => {
        const linkPort = await allocatePort()
        const adaptive = spec.adaptive === true ? { adaptivePacing: true } : {}
        const bind = spec.window === undefined ? {} : { bind: { primarySendWindow: spec.window, secondarySendWindow: spec.window, ...adaptive } }
        const proc = await startRole(ctx, 'host-sim', spec.name, {
          name: spec.name,
          link: { host: LOOPBACK, port: linkPort },
          admin: { host: LOOPBACK, port: 0 },
          // Like z/OS DEFAPPL: every LU goes straight to DEMO (the ECHO and FLOOD application).
          defaultApplication: 'DEMO',
          ...bind,
          log: { level: 'warn' },
        })
        procs.push(proc)
        await listeningPort(proc, 'host-sim')
        const adminPort = await listeningPort(proc, 'host-sim-admin')
        return { name: spec.name, proc, linkPort, adminUrl: `http://${LOOPBACK}:${adminPort}` }
      })))
    }
    return out
  })
}

// ---------------------------------------------------------------- gateways

export interface GatewaySpec {
  /** Gateway number (1-9): name gw<index>, LU names L<index><host nnn><lu nnn> (L<index><host nn><lu nnnn> beyond 999 LUs per host). */
  index: number
  hosts: RunningHost[]
  lusPerHost: number
  /** Node options (e.g. INSPECT_ARGS, for a garbage collection before reading RSS). */
  nodeArgs?: string[]
}

export interface RunningGateway {
  name: string
  proc: RoleProcess
  /** Listener for the fronts: PROXY v2 header required from loopback. */
  frontPort: number
  /** Listener for direct clients: no PROXY header. */
  directPort: number
  adminUrl: string
  lus: number
}

export function gatewayConfig (spec: GatewaySpec, ports: { front: number, direct: number }): unknown {
  if (spec.lusPerHost > MAX_LUS_PER_HOST) throw new Error(`at most ${MAX_LUS_PER_HOST} LUs per host (${PUS_PER_HOST} PUs), asked for ${spec.lusPerHost}`)
  // L<gateway><host><lu> in 8 characters: 3-digit host and LU numbers, or 2 and 4 beyond 999 LUs.
  const luDigits = Math.max(3, String(spec.lusPerHost).length)
  const hostDigits = 7 - String(spec.index).length - luDigits
  const pools = spec.hosts.map(h => h.name)
  const listener = (name: string, port: number, mode: 'off' | 'required') => ({
    name, host: LOOPBACK, port, pools, proxyProtocol: { mode, trustedSources: ['127.0.0.0/8'] },
  })
  return {
    name: `gw${spec.index}`,
    admin: { host: LOOPBACK, port: 0 },
    listeners: [listener('front', ports.front, 'required'), listener('direct', ports.direct, 'off')],
    hosts: spec.hosts.map(h => ({ name: h.name, link: { type: 'sna', host: LOOPBACK, port: h.linkPort } })),
    pools: spec.hosts.map((h, j) => {
      const prefix = `L${spec.index}${String(j + 1).padStart(hostDigits, '0')}`
      return { name: h.name, host: h.name, lus: [`${prefix}${'1'.padStart(luDigits, '0')}..${prefix}${String(spec.lusPerHost).padStart(luDigits, '0')}`] }
    }),
    // Every bench client comes from 127.0.0.1: no per-address caps (in negotiation, or in all:
    // the default of 2,000 per client, KB 814166, would stop the idle steps at 2,000).
    negotiation: { maxPendingPerClient: 0 },
    maxSessionsPerClient: 0,
    log: { level: 'warn' },
  }
}

export async function startGateway (ctx: RunContext, spec: GatewaySpec): Promise<RunningGateway> {
  const ports = { front: await allocatePort(), direct: await allocatePort() }
  const name = `gw${spec.index}`
  const proc = await startRole(ctx, 'gateway', name, gatewayConfig(spec, ports), spec.nodeArgs)
  return await stopOnFailure([proc], async () => {
    const adminPort = await listeningPort(proc, 'gateway-admin', 120_000)
    const adminUrl = `http://${LOOPBACK}:${adminPort}`
    const lus = spec.hosts.length * spec.lusPerHost
    // Ready = started up, every host link up and every LU active and free (ACTPU/ACTLU done).
    let last: any
    const ok = await waitUntil(async () => {
      last = await getJson(`${adminUrl}/status`).catch(() => undefined)
      const pools: Array<{ free: number, total: number }> = last?.pools ?? []
      return last?.ready === true && pools.length === spec.hosts.length && pools.every(p => p.free === p.total)
    }, 120_000, 250)
    if (!ok) throw new Error(`${name}: not ready with ${lus} free LUs within 120 s: pools ${JSON.stringify(last?.pools)}`)
    return { name, proc, frontPort: ports.front, directPort: ports.direct, adminUrl, lus }
  })
}

// ---------------------------------------------------------------- fronts

export type FrontKind = 'ours' | 'haproxy'

export interface RunningFront {
  kind: FrontKind
  /** `our proxy` or `HAProxy 2.6.12`. */
  label: string
  proc: RoleProcess
  port: number
  /** Admin base URL (ours only: /status, /metrics). */
  adminUrl?: string
  /** Sessions it can hold under the open-file limit (two descriptors each). */
  maxSessions: number
}

/** Sessions a front can hold: two descriptors per session, per process, a margin for the rest. */
export function frontCapacity (processes: number): number {
  return Math.floor((openFileLimit() - 100) / 2) * processes
}

/**
 * Our proxy in front of `gateways`. `routing` (docs/routing.md): `tcp` splices bytes unread, as
 * HAProxy does in TCP mode — what the scenarios compare by default; `tn3270e` negotiates with each
 * client up to its device request and hands the negotiation over (the setup scenario measures it).
 */
export async function startOurProxy (ctx: RunContext, gateways: RunningGateway[], nodeArgs: string[] = [], routing: 'tcp' | 'tn3270e' = 'tcp'): Promise<RunningFront> {
  const port = await allocatePort()
  const proc = await startRole(ctx, 'proxy', routing === 'tcp' ? 'proxy' : `proxy-${routing}`, {
    name: 'proxy',
    admin: { host: LOOPBACK, port: 0 },
    listeners: [{
      name: 'tn3270',
      host: LOOPBACK,
      port,
      routing,
      proxyProtocol: 'v2',
      backends: gateways.map(g => ({ name: g.name, host: LOOPBACK, port: g.frontPort, adminUrl: g.adminUrl })),
    }],
    // One worker process per HAProxy thread (nbthread), docs/operations.md "Workers".
    workers: ctx.proxyThreads,
    // Every bench client comes from 127.0.0.1: no per-client caps, as in the HAProxy config.
    maxPendingPerClient: 0,
    maxSessionsPerClient: 0,
    log: { level: 'warn' },
  }, nodeArgs)
  return await stopOnFailure([proc], async () => {
    await listeningPort(proc, 'proxy')
    const adminUrl = `http://${LOOPBACK}:${await listeningPort(proc, 'proxy-admin')}`
    let last: any
    const ok = await waitUntil(async () => {
      last = await getJson(`${adminUrl}/status`).catch(() => undefined)
      const backends: Array<{ eligibility: string }> = last?.backends ?? []
      return backends.length === gateways.length && backends.every(b => b.eligibility === 'ok') && last.listeners.every((l: { open: boolean }) => l.open)
    }, 30_000, 100)
    if (!ok) throw new Error(`our proxy: backends not eligible within 30 s: ${JSON.stringify(last)}`)
    return { kind: 'ours', label: routing === 'tcp' ? 'our proxy' : `our proxy, ${routing} routing`, proc, port, adminUrl, maxSessions: frontCapacity(ctx.proxyThreads) }
  })
}

export async function startHaproxy (ctx: RunContext, gateways: RunningGateway[]): Promise<RunningFront> {
  if (ctx.haproxy === undefined) throw new Error('HAProxy is not installed')
  const port = await allocatePort()
  const monitorPort = await allocatePort()
  // One process holds every thread's sessions, so the descriptor limit is per process.
  const maxconn = frontCapacity(1)
  const file = path.join(ctx.tmp, 'haproxy.cfg')
  await writeFile(file, haproxyConfig({
    port, monitorPort, threads: ctx.proxyThreads, maxconn,
    backends: gateways.map(g => ({ name: g.name, host: LOOPBACK, port: g.frontPort })),
  }))
  const proc = new RoleProcess({ name: 'haproxy', command: ctx.haproxy.bin, args: ['-db', '-f', file], logFile: path.join(ctx.tmp, 'haproxy.log') })
  return await stopOnFailure([proc], async () => {
    const ok = await waitUntil(async () => {
      if (!proc.running) throw new Error(`haproxy exited (${String(await proc.exited)}); see ${proc.logFile}`)
      const res = await fetch(`http://${LOOPBACK}:${monitorPort}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined)
      return res?.status === 200
    }, 15_000, 100)
    if (!ok) throw new Error(`haproxy: not ready within 15 s; see ${proc.logFile}`)
    return { kind: 'haproxy', label: `HAProxy ${ctx.haproxy!.version}`, proc, port, maxSessions: maxconn }
  })
}

/** Our proxy and, when installed, HAProxy, both in front of the same gateways. */
export async function startFronts (ctx: RunContext, gateways: RunningGateway[]): Promise<RunningFront[]> {
  const ours = await startOurProxy(ctx, gateways)
  if (ctx.haproxy === undefined) return [ours]
  try {
    return [ours, await startHaproxy(ctx, gateways)]
  } catch (err) {
    await ours.proc.stop()
    throw err
  }
}

/** Host names H001, H002, ...: one host-simulator process each. */
export function hostNames (n: number, prefix = 'H'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(3, '0')}`)
}

/** Stops processes in order: fronts, then gateways, then hosts (each group in parallel). */
export async function stopAllOf (...groups: Array<Array<{ proc: RoleProcess } | undefined>>): Promise<void> {
  for (const g of groups) await Promise.all(g.map(async x => await x?.proc.stop()))
}
