// Scenario flood: one client asks DEMO for `FLOOD n` straight at the gateway; time from the
// Enter to the n-th record, every record checked in order. The host simulator's BIND sets the
// session-level pacing window (SNA Formats, GA27-3136: BIND bytes 4-7; KB Q181737 on application
// pacing): one simulated host per window, each a pool the client names in its TN3270E CONNECT
// request (RFC 2355 §7.1). Baseline in the same run: a plain Node TCP server in its own process
// writing the same n records with no pacing (bench/plain-server.ts). Rounds interleave all paths.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuOf, sampleTree } from '../proc-stats.js'
import { RoleProcess } from '../procs.js'
import { rememberPort } from '../ports.js'
import { startLoad, type FloodResult, type LoadProcess } from '../load.js'
import type { Mode } from '../mode.js'
import type { ScenarioResult } from '../report.js'
import { fmt, fmtInt, median, ratio, sum, table } from '../stats.js'
import { startGateway, startHosts, stopAllOf, type RunContext, type RunningGateway, type RunningHost } from '../topology.js'

/** Pool (and host) name for a pacing window: W7, W63; W0 = pacing off; A7 = window 7, adaptive. */
export const windowPool = (w: number, adaptive = false): string => `${adaptive ? 'A' : 'W'}${w}`

export interface PacedStack { hosts: RunningHost[], gateway: RunningGateway, load: LoadProcess[], stop: () => Promise<void> }

/** One host simulator per pacing window, one gateway serving a pool per host, load processes. */
export async function startPacedStack (ctx: RunContext, windows: number[], lusPerHost: number, gatewayNodeArgs: string[] = [], adaptiveWindows: number[] = []): Promise<PacedStack> {
  let hosts: RunningHost[] = []
  let gateway: RunningGateway | undefined
  let load: LoadProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(load.map(async l => await l.stop()))
    await stopAllOf([gateway], hosts)
  }
  try {
    hosts = await startHosts(ctx, [...windows.map(w => ({ name: windowPool(w), window: w })),
      ...adaptiveWindows.map(w => ({ name: windowPool(w, true), window: w, adaptive: true }))])
    gateway = await startGateway(ctx, { index: 1, hosts, lusPerHost, nodeArgs: gatewayNodeArgs })
    load = await startLoad(ctx, 1, 'flood')
  } catch (err) {
    await stop()
    throw err
  }
  return { hosts, gateway, load, stop }
}

async function startPlainServer (ctx: RunContext, count: number): Promise<{ proc: RoleProcess, port: number }> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'plain-server.js')
  const proc = new RoleProcess({ name: 'plain-server', command: process.execPath, args: [script, String(count)], logFile: path.join(ctx.tmp, 'plain-server.log') })
  try {
    const port = Number((await proc.waitForLine(/^listening plain-server \S+ \S+:(\d+)$/, 30_000))[1])
    rememberPort(port)
    return { proc, port }
  } catch (err) {
    await proc.stop()
    throw err
  }
}

interface Run { result: FloodResult, gatewayCpu: number, hostCpu: number }
interface PathRuns { name: string, window: number | undefined, adaptive?: boolean, runs: Run[] }

export async function floodScenario (ctx: RunContext, mode: Mode): Promise<ScenarioResult> {
  const { count, rounds } = mode.flood
  // The paced windows, and window 0 (pacing off in the BIND) to tell pacing from the relay cost.
  const windows = [...mode.flood.windows, 0]
  // And the first paced window again with adaptive pacing in the BIND (the gateway sizes the next
  // window by byte credit, GA27-3136 IPM).
  const adaptive = mode.flood.windows.slice(0, 1)
  const stack = await startPacedStack(ctx, windows, 4, [], adaptive)
  let plain: { proc: RoleProcess, port: number } | undefined
  const paths: PathRuns[] = [{ name: 'plain Node TCP server, no pacing (baseline)', window: undefined, runs: [] },
    ...windows.map(w => ({ name: w === 0 ? 'gateway, pacing off (window 0)' : `gateway, pacing window ${w}`, window: w, runs: [] as Run[] })),
    ...adaptive.map(w => ({ name: `gateway, adaptive pacing, BIND window ${w}`, window: w, adaptive: true, runs: [] as Run[] }))]
  try {
    plain = await startPlainServer(ctx, count)
    const load = stack.load[0]!
    const hostPids = stack.hosts.map(h => h.proc.pid)
    for (let round = 0; round < rounds; round++) {
      ctx.say(`  flood round ${round + 1}/${rounds}`)
      for (const p of round % 2 === 0 ? paths : [...paths].reverse()) {
        const g0 = sampleTree(stack.gateway.proc.pid).cpuSeconds
        const h0 = cpuOf(hostPids)
        const result = p.window === undefined
          ? await load.send<FloodResult>({ op: 'flood', port: plain.port, count, raw: true, timeoutMs: 120_000 })
          : await load.send<FloodResult>({ op: 'flood', port: stack.gateway.directPort, count, raw: false, resource: windowPool(p.window, p.adaptive), timeoutMs: 120_000 })
        p.runs.push({ result, gatewayCpu: sampleTree(stack.gateway.proc.pid).cpuSeconds - g0, hostCpu: cpuOf(hostPids) - h0 })
      }
    }
  } finally {
    await plain?.proc.stop()
    await stack.stop()
  }
  const recPerSec = (p: PathRuns): number => median(p.runs.map(r => r.result.records / (r.result.elapsedMs / 1000)))
  const base = recPerSec(paths[0]!)
  const rows = paths.map(p => {
    const ms = median(p.runs.map(r => r.result.elapsedMs))
    const isGw = p.window !== undefined
    const records = sum(p.runs.map(r => r.result.records))
    return [p.name, fmt(ms, 0), fmtInt(recPerSec(p)), fmt(median(p.runs.map(r => r.result.bytes / r.result.elapsedMs / 1000)), 2), ratio(recPerSec(p), base),
      isGw ? fmt(sum(p.runs.map(r => r.gatewayCpu)) / records * 1e6, 1) : '', isGw ? fmt(sum(p.runs.map(r => r.hostCpu)) / records * 1e6, 1) : '',
      String(sum(p.runs.map(r => r.result.outOfOrder))), p.runs.map(r => fmt(r.result.elapsedMs, 0)).join(' / ')]
  })
  const paced = paths.filter(p => p.window !== undefined && p.window > 0)
  const label = (p: PathRuns): string => `${p.window ?? ''}${p.adaptive === true ? ' adaptive' : ''}`
  const headline = [[`FLOOD ${fmtInt(count)} via the gateway, window ${paced.map(label).join(' / ')}, records/s`,
    paced.map(p => fmtInt(recPerSec(p))).join(' / '), `${fmtInt(base)} (unpaced server)`, paced.map(p => ratio(recPerSec(p), base)).join(' / ')]]
  const body = [
    `One client, \`FLOOD ${fmtInt(count)}\` straight at the gateway (no front), one simulated host per BIND pacing window (both directions), the pool chosen by its TN3270E CONNECT name; median of ${rounds} interleaved rounds (order swapped every round). Time from the Enter (or the baseline's trigger bytes) to the last record; every record's \`RECORD i OF n\` is checked in order (out of order must be 0). Gateway and host-simulator CPU from /proc/<pid>/stat around each FLOOD, in µs per record. Ratio: records/s against the plain server in this run.`,
    '',
    table(['path', 'ms (median)', 'records/s', 'MB/s', 'vs baseline', 'gateway CPU µs / record', 'host-sim CPU µs / record', 'out of order', 'ms per round'], rows),
  ].join('\n')
  return {
    name: 'flood',
    title: 'FLOOD through the gateway with pacing',
    body,
    headline,
    panels: [{ kind: 'bar', title: `FLOOD ${fmtInt(count)}: records per second`, yLabel: 'records/s', xLabel: 'path', categories: paths.map(p => p.window === undefined ? 'unpaced server' : p.window === 0 ? 'gateway, no pacing' : `gateway, window ${label(p)}`), series: [{ name: 'records/s (median)', values: paths.map(recPerSec) }] }],
  }
}
