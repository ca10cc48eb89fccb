// Scenario echo: ECHO transactions (type text + Enter, wait for the `ECHO: text` screen) through
// the front with K concurrent clients, our proxy against HAProxy in front of the same gateway.
// K sessions through each front are opened up front; then rounds of one window per front,
// alternating and with the order swapped every round (A B, B A, ...) so drift in machine load hits
// both alike. Around each window the CPU time (utime + stime, proc(5)) of the front measured, of
// the gateway and of the host simulators is read: CPU per transaction per role.
import { sampleTree, cpuOf } from '../proc-stats.js'
import type { EchoWindowResult, OpenResult } from '../load.js'
import type { Mode } from '../mode.js'
import type { ScenarioResult } from '../report.js'
import { fmt, fmtInt, percentile, ratio, spread, sum, table } from '../stats.js'
import type { RunContext, RunningFront } from '../topology.js'
import { gatewayIdle, startFrontStack, type FrontStack } from './stack.js'

interface Window { transactions: number, failed: number, elapsedMs: number, frontCpu: number, gatewayCpu: number, hostCpu: number }
interface PathResult { front: RunningFront, windows: Window[], latencies: number[] }

async function measureK (s: FrontStack, k: number, mode: Mode): Promise<PathResult[]> {
  const load = s.load[0]!
  const paths: PathResult[] = s.fronts.map(front => ({ front, windows: [], latencies: [] }))
  for (const p of paths) {
    const r = await load.send<OpenResult>({ op: 'open', group: `${p.front.kind}${k}`, port: p.front.port, count: k, concurrency: 16, timeoutMs: 15_000 })
    if (r.open !== k) throw new Error(`echo K=${k}: only ${r.open} of ${k} sessions through ${p.front.label}: ${r.errors.join('; ')}`)
  }
  for (const p of paths) await load.send({ op: 'echo', group: `${p.front.kind}${k}`, ms: mode.echo.warmupMs, tag: 'W' })
  for (let round = 0; round < mode.echo.rounds; round++) {
    const order = round % 2 === 0 ? paths : [...paths].reverse()
    for (const p of order) {
      const f0 = sampleTree(p.front.proc.pid).cpuSeconds
      const g0 = sampleTree(s.gateway.proc.pid).cpuSeconds
      const h0 = cpuOf(s.hosts.map(h => h.proc.pid))
      const r = await load.send<EchoWindowResult>({ op: 'echo', group: `${p.front.kind}${k}`, ms: mode.echo.windowMs, tag: `R${round}` })
      const f1 = sampleTree(p.front.proc.pid).cpuSeconds
      const g1 = sampleTree(s.gateway.proc.pid).cpuSeconds
      const h1 = cpuOf(s.hosts.map(h => h.proc.pid))
      p.windows.push({ transactions: r.transactions, failed: r.failed, elapsedMs: r.elapsedMs, frontCpu: f1 - f0, gatewayCpu: g1 - g0, hostCpu: h1 - h0 })
      p.latencies.push(...r.latenciesMs)
    }
  }
  for (const p of paths) await load.send({ op: 'close', group: `${p.front.kind}${k}` })
  await gatewayIdle(s.gateway)
  return paths
}

const txPerSec = (ws: Window[]): number => sum(ws.map(w => w.transactions)) / (sum(ws.map(w => w.elapsedMs)) / 1000)
const cpuPer1000 = (ws: Window[]): number => sum(ws.map(w => w.frontCpu)) / sum(ws.map(w => w.transactions)) * 1000
const msPerTx = (ws: Window[], f: (w: Window) => number): number => sum(ws.map(f)) / sum(ws.map(w => w.transactions)) * 1000

export async function echoScenario (ctx: RunContext, mode: Mode): Promise<ScenarioResult> {
  const maxK = Math.max(...mode.echo.clients)
  // Both fronts' sessions are open at once: 2 × K LUs, one PU (254 LUs) per host link.
  const hosts = Math.max(1, Math.ceil((2 * maxK + 8) / 254))
  const s = await startFrontStack(ctx, { hosts, lusPerHost: 254, loadProcesses: 1 })
  const byK: Array<{ k: number, paths: PathResult[] }> = []
  try {
    for (const k of mode.echo.clients) {
      ctx.say(`  echo K=${k}`)
      byK.push({ k, paths: await measureK(s, k, mode) })
    }
  } finally {
    await s.stop()
  }
  return report(ctx, mode, byK, hosts)
}

function report (ctx: RunContext, mode: Mode, byK: Array<{ k: number, paths: PathResult[] }>, hosts: number): ScenarioResult {
  const rows: string[][] = []
  for (const { k, paths } of byK) {
    const peer = paths.find(p => p.front.kind === 'haproxy')
    for (const p of paths) {
      const isOurs = p.front.kind === 'ours' && peer !== undefined
      const perRound = (f: (w: Window) => number): string => isOurs ? spread(p.windows.map((w, i) => f(w) / f(peer.windows[i]!))) : ''
      rows.push([String(k), p.front.label, fmtInt(sum(p.windows.map(w => w.transactions))), fmtInt(txPerSec(p.windows)),
        fmt(percentile(p.latencies, 0.5), 3), fmt(percentile(p.latencies, 0.99), 2),
        fmt(cpuPer1000(p.windows), 3), fmt(msPerTx(p.windows, w => w.gatewayCpu), 3), fmt(msPerTx(p.windows, w => w.hostCpu), 3),
        isOurs ? ratio(txPerSec(p.windows), txPerSec(peer.windows)) : '', perRound(w => w.transactions / w.elapsedMs),
        isOurs ? ratio(cpuPer1000(p.windows), cpuPer1000(peer.windows)) : '', perRound(w => w.frontCpu / w.transactions),
        String(sum(p.windows.map(w => w.failed)))])
    }
  }
  const ours = (k: number): PathResult => byK.find(b => b.k === k)!.paths.find(p => p.front.kind === 'ours')!
  const peer = (k: number): PathResult | undefined => byK.find(b => b.k === k)!.paths.find(p => p.front.kind === 'haproxy')
  const ks = byK.map(b => b.k)
  const join = (f: (k: number) => string): string => ks.map(f).join(' / ')
  const hasPeer = peer(ks[0]!) !== undefined
  const headline = [
    [`ECHO tx/s through the front, K = ${ks.join(' / ')}`, join(k => fmtInt(txPerSec(ours(k).windows))), hasPeer ? join(k => fmtInt(txPerSec(peer(k)!.windows))) : 'HAProxy missing',
      hasPeer ? join(k => ratio(txPerSec(ours(k).windows), txPerSec(peer(k)!.windows))) : '–'],
    ['front CPU s per 1000 ECHO tx', join(k => fmt(cpuPer1000(ours(k).windows), 3)), hasPeer ? join(k => fmt(cpuPer1000(peer(k)!.windows), 3)) : 'HAProxy missing',
      hasPeer ? join(k => ratio(cpuPer1000(ours(k).windows), cpuPer1000(peer(k)!.windows))) : '–'],
    ['gateway + host-sim CPU ms per ECHO (via our proxy)', join(k => `${fmt(msPerTx(ours(k).windows, w => w.gatewayCpu), 3)} + ${fmt(msPerTx(ours(k).windows, w => w.hostCpu), 3)}`), '', ''],
  ]
  const body = [
    `K clients per front run ECHO transactions back to back through our proxy${hasPeer ? ' and through HAProxy (TCP mode, `balance leastconn`, `send-proxy-v2`, `nbthread ' + ctx.proxyThreads + '`)' : ' (**HAProxy is not installed: no peer to compare with**)'}, both in front of the same gateway (${hosts} simulated host(s), 254 LUs each); every role is its own process. ${mode.echo.rounds} rounds of a ${mode.echo.windowMs} ms window per front, alternating and swapping the order each round, after a ${mode.echo.warmupMs} ms warm-up. tx/s = transactions / window time. CPU = utime + stime from /proc/<pid>/stat over each window (10 ms ticks): front CPU per 1000 transactions, gateway and host-simulator CPU per transaction. Ratios: ours / HAProxy; per-round range = min–max of the per-round ratios (the noise: read a ratio only to that precision). Latency percentiles over every transaction of the rounds.`,
    '',
    table(['K', 'front', 'tx', 'tx/s', 'p50 ms', 'p99 ms', 'front CPU s / 1000 tx', 'gateway CPU ms / tx', 'host-sim CPU ms / tx', 'tx/s vs HAProxy', 'per-round range', 'front CPU vs HAProxy', 'per-round range', 'failed'], rows),
  ].join('\n')
  const labels = byK[0]!.paths.map(p => p.front.label)
  return {
    name: 'echo',
    title: 'ECHO transactions through the front',
    body,
    headline,
    panels: [
      { kind: 'bar', title: 'ECHO transactions per second', yLabel: 'tx/s', xLabel: 'K concurrent clients', categories: ks.map(k => `K = ${k}`), series: labels.map((l, i) => ({ name: l, values: byK.map(b => txPerSec(b.paths[i]!.windows)) })) },
      { kind: 'bar', title: 'Front CPU per 1000 ECHO transactions', yLabel: 'CPU seconds', xLabel: 'K concurrent clients', categories: ks.map(k => `K = ${k}`), series: labels.map((l, i) => ({ name: l, values: byK.map(b => cpuPer1000(b.paths[i]!.windows)) })), digits: 3 },
    ],
  }
}
