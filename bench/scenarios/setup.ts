// Scenario setup: new sessions through the front, C concurrent loops of connect → first DEMO
// screen → close (TCP accept, backend connect with the PROXY v2 header, TN3270E negotiation, LU
// allocation, BIND and SDT on the simulated host; RFC 2355 §7), our proxy against HAProxy in
// front of the same gateway, windows alternating as in the echo scenario. Our proxy runs twice:
// with tcp routing (a splice, like HAProxy in TCP mode) and with tn3270e routing (it negotiates
// up to the device request itself and hands the negotiation over, docs/routing.md). Front CPU
// per new session from /proc/<pid>/stat around each window.
import { sampleTree } from '../proc-stats.js'
import type { SetupResult } from '../load.js'
import type { Mode } from '../mode.js'
import type { ScenarioResult } from '../report.js'
import { fmt, fmtInt, percentile, ratio, spread, sum, table } from '../stats.js'
import { startOurProxy, type RunContext, type RunningFront } from '../topology.js'
import { gatewayIdle, startFrontStack, type FrontStack } from './stack.js'

interface Window { sessions: number, failed: number, elapsedMs: number, frontCpu: number, gatewayCpu: number }
interface PathResult { front: RunningFront, windows: Window[], latencies: number[], errors: Set<string> }

async function measureC (s: FrontStack, c: number, mode: Mode): Promise<PathResult[]> {
  const load = s.load[0]!
  const paths: PathResult[] = s.fronts.map(front => ({ front, windows: [], latencies: [], errors: new Set() }))
  for (const p of paths) await load.send({ op: 'setup', port: p.front.port, concurrency: c, ms: mode.setup.warmupMs })
  for (let round = 0; round < mode.setup.rounds; round++) {
    const order = round % 2 === 0 ? paths : [...paths].reverse()
    for (const p of order) {
      const f0 = sampleTree(p.front.proc.pid).cpuSeconds
      const g0 = sampleTree(s.gateway.proc.pid).cpuSeconds
      const r = await load.send<SetupResult>({ op: 'setup', port: p.front.port, concurrency: c, ms: mode.setup.windowMs })
      const f1 = sampleTree(p.front.proc.pid).cpuSeconds
      const g1 = sampleTree(s.gateway.proc.pid).cpuSeconds
      p.windows.push({ sessions: r.sessions, failed: r.failed, elapsedMs: r.elapsedMs, frontCpu: f1 - f0, gatewayCpu: g1 - g0 })
      p.latencies.push(...r.latenciesMs)
      for (const e of r.errors) p.errors.add(e)
    }
  }
  await gatewayIdle(s.gateway)
  return paths
}

const perSec = (ws: Window[]): number => sum(ws.map(w => w.sessions)) / (sum(ws.map(w => w.elapsedMs)) / 1000)
const cpuMsPerSession = (ws: Window[], f: (w: Window) => number): number => sum(ws.map(f)) / sum(ws.map(w => w.sessions)) * 1000

export async function setupScenario (ctx: RunContext, mode: Mode): Promise<ScenarioResult> {
  const s = await startFrontStack(ctx, { hosts: 2, lusPerHost: 254, loadProcesses: 1 })
  const byC: Array<{ c: number, paths: PathResult[] }> = []
  try {
    // Stopped with the stack (its stop() stops every front it lists).
    s.fronts.splice(1, 0, await startOurProxy(ctx, [s.gateway], [], 'tn3270e'))
    for (const c of mode.setup.concurrency) {
      ctx.say(`  setup C=${c}`)
      byC.push({ c, paths: await measureC(s, c, mode) })
    }
  } finally {
    await s.stop()
  }
  const rows: string[][] = []
  const errors: string[] = []
  for (const { c, paths } of byC) {
    const peer = paths.find(p => p.front.kind === 'haproxy')
    for (const p of paths) {
      const isOurs = p.front.kind === 'ours' && peer !== undefined
      const perRound = (f: (w: Window) => number): string => isOurs ? spread(p.windows.map((w, i) => f(w) / f(peer.windows[i]!))) : ''
      rows.push([String(c), p.front.label, fmtInt(sum(p.windows.map(w => w.sessions))), fmtInt(perSec(p.windows)),
        fmt(percentile(p.latencies, 0.5), 2), fmt(percentile(p.latencies, 0.99), 2),
        fmt(cpuMsPerSession(p.windows, w => w.frontCpu), 3), fmt(cpuMsPerSession(p.windows, w => w.gatewayCpu), 3),
        isOurs ? ratio(perSec(p.windows), perSec(peer.windows)) : '', perRound(w => w.sessions / w.elapsedMs),
        isOurs ? ratio(cpuMsPerSession(p.windows, w => w.frontCpu), cpuMsPerSession(peer.windows, w => w.frontCpu)) : '', perRound(w => w.frontCpu / w.sessions),
        String(sum(p.windows.map(w => w.failed)))])
      for (const e of p.errors) errors.push(`C=${c}, ${p.front.label}: ${e}`)
    }
  }
  const cs = byC.map(b => b.c)
  const front = (c: number, label: string): Window[] => byC.find(b => b.c === c)!.paths.find(p => p.front.label === label)!.windows
  const peer = (c: number): Window[] | undefined => byC.find(b => b.c === c)!.paths.find(p => p.front.kind === 'haproxy')?.windows
  const hasPeer = peer(cs[0]!) !== undefined
  const join = (f: (c: number) => string): string => cs.map(f).join(' / ')
  const frontCpu = (ws: Window[]): number => cpuMsPerSession(ws, w => w.frontCpu)
  // One pair of headline rows per routing of ours (tcp first, then tn3270e), each against HAProxy.
  const headline = byC[0]!.paths.filter(p => p.front.kind === 'ours').flatMap(({ front: { label } }) => {
    const ours = (c: number): Window[] => front(c, label)
    const what = label === 'our proxy' ? '' : ` (${label.replace('our proxy, ', '')})`
    return [
      [`new sessions/s (connect → screen → close)${what}, C = ${cs.join(' / ')}`, join(c => fmtInt(perSec(ours(c)))), hasPeer ? join(c => fmtInt(perSec(peer(c)!))) : 'HAProxy missing',
        hasPeer ? join(c => ratio(perSec(ours(c)), perSec(peer(c)!))) : '–'],
      [`front CPU ms per new session${what}`, join(c => fmt(frontCpu(ours(c)), 3)), hasPeer ? join(c => fmt(frontCpu(peer(c)!), 3)) : 'HAProxy missing',
        hasPeer ? join(c => ratio(frontCpu(ours(c)), frontCpu(peer(c)!))) : '–'],
    ]
  })
  const body = [
    `C concurrent loops of connect → first DEMO screen → close through each front${hasPeer ? '' : ' (**HAProxy is not installed: our proxy alone**)'}, same gateway behind all (2 simulated hosts, 254 LUs each). Our proxy twice: tcp routing (a splice, as HAProxy in TCP mode) and tn3270e routing (it negotiates to the device request and hands the negotiation over in the PROXY v2 header, docs/routing.md). ${mode.setup.rounds} rounds of a ${mode.setup.windowMs} ms window per front, alternating, after a ${mode.setup.warmupMs} ms warm-up per front. Setup latency = connect to first screen. CPU from /proc/<pid>/stat around each window, per completed session. Ratios ours / HAProxy, per-round range as in the echo scenario.`,
    '',
    table(['C', 'front', 'sessions', 'sessions/s', 'p50 ms', 'p99 ms', 'front CPU ms / session', 'gateway CPU ms / session', 'sessions/s vs HAProxy', 'per-round range', 'front CPU vs HAProxy', 'per-round range', 'failed'], rows),
    ...(errors.length > 0 ? ['', 'Failures:', '', ...errors.map(e => `- ${e}`)] : []),
  ].join('\n')
  const labels = byC[0]!.paths.map(p => p.front.label)
  return {
    name: 'setup',
    title: 'Connection setup through the front',
    body,
    headline,
    panels: [
      { kind: 'bar', title: 'New sessions per second (connect → first screen → close)', yLabel: 'sessions/s', xLabel: 'C concurrent loops', categories: cs.map(c => `C = ${c}`), series: labels.map((l, i) => ({ name: l, values: byC.map(b => perSec(b.paths[i]!.windows)) })) },
      { kind: 'bar', title: 'Front CPU per new session', yLabel: 'CPU ms', xLabel: 'C concurrent loops', categories: cs.map(c => `C = ${c}`), series: labels.map((l, i) => ({ name: l, values: byC.map(b => frontCpu(b.paths[i]!.windows)) })), digits: 3 },
    ],
  }
}
