// Scenario idle: how much memory an idle session costs. Sessions are opened in steps (cumulative)
// and held open; after each step and a settle pause the resident set (VmRSS, proc(5)) of the front
// and of the gateway is read, and per-session cost = (RSS − RSS before the first session) / open
// sessions. Three passes, each with a fresh gateway (RSS never shrinks back after a pass): direct
// to the gateway, through our proxy, through HAProxy. A front holds two descriptors per session,
// so its steps end at half the open-file limit; the gateway one per session. A host-simulator
// process serves one host name, and the gateway defines PUS_PER_HOST PUs of 254 LUs on each host
// (one sna link per PU, docs/hostlink.md "PUs"), so N sessions take N / MAX_LUS_PER_HOST
// host-simulator processes (19,000 sessions: 5 instead of 75 with one PU per host).
import { INSPECT_ARGS, readMemory, type MemoryReading } from '../memory.js'
import { startLoad, type LoadProcess, type OpenResult } from '../load.js'
import { gatewayIdle } from './stack.js'
import type { Mode } from '../mode.js'
import type { ScenarioResult } from '../report.js'
import { fmt, fmtInt, sleep, sum, table } from '../stats.js'
import {
  frontCapacity, hostNames, MAX_LUS_PER_HOST, openFileLimit, PUS_PER_HOST, startGateway, startHaproxy, startHosts, startOurProxy, stopAllOf,
  type RunContext, type RunningFront, type RunningGateway, type RunningHost,
} from '../topology.js'

type PathKind = 'direct' | 'ours' | 'haproxy'
interface Reading { front: MemoryReading | undefined, gateway: MemoryReading }
interface Step { asked: number, open: number, failed: number, mem?: Reading, skipped?: string }
interface Pass { path: PathKind, label: string, base: Reading, steps: Step[], errors: string[] }

const MiB = 2 ** 20
/** Sessions one load-generator process opens (one descriptor each, well under the limit). */
export const PER_LOAD_PROCESS = 5000
/** Sessions one load process negotiates at once. */
const OPEN_CONCURRENCY = 32

/**
 * Opens sessions until `want` are open in total; `held` = sessions open per load process, updated.
 * `failed` counts sessions that did not reach their first screen and those that closed after it.
 */
export async function openMore (load: LoadProcess[], port: number, want: number, held: number[], errors: string[], timeoutMs = 30_000): Promise<{ open: number, failed: number }> {
  let need = want - sum(held)
  const asks = load.map((_, i) => {
    const n = Math.max(0, Math.min(need, PER_LOAD_PROCESS - held[i]!, Math.ceil(need / (load.length - i))))
    need -= n
    return n
  })
  const rs = await Promise.all(load.map(async (l, i) => await l.send<OpenResult>({ op: 'open', group: 'idle', port, count: asks[i]!, concurrency: OPEN_CONCURRENCY, timeoutMs })))
  rs.forEach((r, i) => { held[i] = r.open; errors.push(...r.errors) })
  return { open: sum(rs.map(r => r.open)), failed: sum(rs.map(r => r.failed + r.dropped)) }
}

async function runPass (ctx: RunContext, mode: Mode, path: PathKind, hosts: RunningHost[], load: LoadProcess[]): Promise<Pass> {
  let gateway: RunningGateway | undefined
  let front: RunningFront | undefined
  try {
    gateway = await startGateway(ctx, { index: 1, hosts, lusPerHost: MAX_LUS_PER_HOST, nodeArgs: INSPECT_ARGS })
    if (path === 'ours') front = await startOurProxy(ctx, [gateway], INSPECT_ARGS)
    if (path === 'haproxy') front = await startHaproxy(ctx, [gateway])
    const label = front?.label ?? 'direct to the gateway'
    await sleep(mode.idle.settleMs)
    const gw = gateway
    const memory = async (): Promise<Reading> => ({
      // HAProxy is not ours: RSS only (no garbage collector to run, no /metrics).
      front: front === undefined ? undefined : await readMemory(front.proc, front.adminUrl === undefined ? undefined : { adminUrl: front.adminUrl }),
      gateway: await readMemory(gw.proc, gw),
    })
    const pass: Pass = { path, label, base: await memory(), steps: [], errors: [] }
    // The gateway's descriptors: one per session, plus host links, listeners and admin.
    const gatewayRoom = openFileLimit() - hosts.length - 100
    const cap = Math.min(gatewayRoom, gateway.lus, front?.maxSessions ?? Infinity, load.length * PER_LOAD_PROCESS)
    let failed = 0
    const held = load.map(() => 0)
    for (const asked of mode.idle.steps) {
      if (asked > cap) {
        const why = front !== undefined && asked > front.maxSessions ? `over the front's open-file room (${fmtInt(front.maxSessions)} sessions: two descriptors each)` : `over the room of ${fmtInt(cap)} sessions`
        pass.steps.push({ asked, open: NaN, failed: NaN, skipped: why })
        continue
      }
      ctx.say(`  idle ${label}: ${asked} sessions`)
      const r = await openMore(load, front?.port ?? gateway.directPort, asked, held, pass.errors)
      failed += r.failed
      await sleep(mode.idle.settleMs)
      pass.steps.push({ asked, open: r.open, failed, mem: await memory() })
    }
    await Promise.all(load.map(async l => await l.send({ op: 'close', group: 'idle' })))
    // Let the sessions end before the gateway stops, so its shutdown does not race them.
    await gatewayIdle(gateway, 120_000).catch((err: unknown) => pass.errors.push(err instanceof Error ? err.message : String(err)))
    return pass
  } finally {
    await stopAllOf([front], [gateway])
  }
}

export async function idleScenario (ctx: RunContext, mode: Mode): Promise<ScenarioResult> {
  const limit = openFileLimit()
  const largest = Math.max(...mode.idle.steps)
  const hostCount = Math.ceil(Math.min(largest, limit - 200) / MAX_LUS_PER_HOST)
  ctx.say(`  idle: starting ${hostCount} host simulator(s)`)
  const hosts = await startHosts(ctx, hostNames(hostCount).map(name => ({ name })), 8)
  let load: LoadProcess[] = []
  const passes: Pass[] = []
  try {
    load = await startLoad(ctx, Math.ceil(largest / PER_LOAD_PROCESS), 'idle')
    const paths: PathKind[] = ctx.haproxy === undefined ? ['direct', 'ours'] : ['direct', 'ours', 'haproxy']
    for (const p of paths) passes.push(await runPass(ctx, mode, p, hosts, load))
  } finally {
    await Promise.all(load.map(async l => await l.stop()))
    await stopAllOf(hosts)
  }
  return report(ctx, mode, passes, hostCount, limit)
}

export const MIB = (m: MemoryReading | undefined): string => m === undefined ? '' : fmt(m.rss / MiB, 1)

export type MemoryFigure = (m: MemoryReading) => number
export const rss: MemoryFigure = m => m.rss
export const afterGc: MemoryFigure = m => m.rssAfterGc
export const live: MemoryFigure = m => m.live

/**
 * KiB per open session of a memory figure, from the reading before the first session. Every
 * reading ends with a collection, so plain RSS counts from the collected base: RSS now includes
 * the garbage made since the last reading, as a process that is never asked to collect would.
 * Readings of several processes are summed (sessions spread over several gateways).
 */
export function kibPerSession (now: MemoryReading[], base: MemoryReading[], open: number, f: MemoryFigure): number {
  if (now.length === 0 || now.length !== base.length || !(open > 0)) return NaN
  return (sum(now.map(f)) - sum(base.map(f === rss ? afterGc : f))) / 1024 / open
}

function kibPer (p: Pass, s: Step, role: 'front' | 'gateway', f: MemoryFigure): number {
  const now = s.mem?.[role]
  const base = p.base[role]
  if (now === undefined || base === undefined) return NaN
  return kibPerSession([now], [base], s.open, f)
}

function report (ctx: RunContext, mode: Mode, passes: Pass[], hostCount: number, limit: number): ScenarioResult {
  const rows: string[][] = []
  for (const p of passes) {
    rows.push([p.label, '0', '0', '0', MIB(p.base.front), '', '', '', MIB(p.base.gateway), '', '', '', ''])
    for (const s of p.steps) {
      if (s.skipped !== undefined) { rows.push([p.label, fmtInt(s.asked), '', '', '', '', '', '', '', '', '', '', `skipped: ${s.skipped}`]); continue }
      const k = (role: 'front' | 'gateway', f: MemoryFigure): string => fmt(kibPer(p, s, role, f), 2)
      rows.push([p.label, fmtInt(s.asked), fmtInt(s.open), fmtInt(s.failed),
        MIB(s.mem?.front), k('front', rss), k('front', afterGc), k('front', live),
        MIB(s.mem?.gateway), k('gateway', rss), k('gateway', afterGc), k('gateway', live), ''])
    }
  }
  const pass = (k: PathKind): Pass | undefined => passes.find(p => p.path === k)
  const ok = (s: Step): boolean => s.skipped === undefined && s.open > 0
  const ours = pass('ours')
  const peer = pass('haproxy')
  const direct = pass('direct')
  // Headline: the largest step both fronts held.
  const both = ours?.steps.filter(s => ok(s) && (peer === undefined || peer.steps.some(t => t.asked === s.asked && ok(t)))).at(-1)
  const peerStep = both === undefined ? undefined : peer?.steps.find(t => t.asked === both.asked)
  const top = direct?.steps.filter(ok).at(-1)
  const headline: string[][] = []
  if (both !== undefined && ours !== undefined) {
    const o = kibPer(ours, both, 'front', rss)
    const h = peerStep === undefined ? NaN : kibPer(peer!, peerStep, 'front', rss)
    headline.push([`RSS per idle session at ${fmtInt(both.asked)} sessions: front (ours after a GC in brackets)`, `${fmt(o, 1)} KiB (${fmt(kibPer(ours, both, 'front', afterGc), 1)})`,
      peer === undefined ? 'HAProxy missing' : `${fmt(h, 1)} KiB`, peer === undefined ? '–' : `${fmt(o / h, 2)}×`])
  }
  if (top !== undefined && direct !== undefined) {
    headline.push([`RSS per idle session: gateway, ${fmtInt(top.open)} sessions direct, ${fmtInt(top.failed)} failed (after a GC in brackets)`,
      `${fmt(kibPer(direct, top, 'gateway', rss), 1)} KiB (${fmt(kibPer(direct, top, 'gateway', afterGc), 1)})`, '—', ''])
  }
  const body = [
    `Idle sessions opened in steps (cumulative, ${mode.idle.settleMs} ms settle before each reading) and held. Each pass has a fresh gateway (${hostCount} simulated host(s) × ${fmtInt(MAX_LUS_PER_HOST)} LUs: ${PUS_PER_HOST} PUs of 254 LUs per host, one sna link per PU, one host-simulator process per host). Memory per session = (reading − reading before the first session) / open sessions, for three readings: RSS (VmRSS from /proc, what the OS charges; the goal's figure), RSS right after a full garbage collection, and live JavaScript memory then (V8 heap used + external, from the role's /metrics). The last two exist for our Node processes only (started with \`--inspect\`, collected with HeapProfiler.collectGarbage); HAProxy has RSS only. Open-file limit per process here: ${fmtInt(limit)}; a front needs two descriptors per session (${fmtInt(frontCapacity(ctx.proxyThreads))} sessions for our proxy's ${ctx.proxyThreads} process(es)), so larger steps run direct to the gateway only. Failed = sessions that did not reach their first screen or closed afterwards (cumulative).${ctx.haproxy === undefined ? ' **HAProxy is not installed: no HAProxy pass.**' : ''}`,
    '',
    table(['path', 'sessions asked', 'open', 'failed', 'front RSS MiB', 'front KiB / session', 'after GC', 'live JS', 'gateway RSS MiB', 'gateway KiB / session', 'after GC', 'live JS', 'note'], rows),
  ]
  const errors = [...new Set(passes.flatMap(p => p.errors.map(e => `${p.label}: ${e}`)))]
  if (errors.length > 0) body.push('', 'Failures:', '', ...errors.slice(0, 10).map(e => `- ${e}`))
  const xs = mode.idle.steps
  const series = (p: Pass | undefined, role: 'front' | 'gateway', f: MemoryFigure): number[] => xs.map(x => {
    const s = p?.steps.find(t => t.asked === x)
    return s !== undefined && ok(s) ? kibPer(p!, s, role, f) : NaN
  })
  return {
    name: 'idle',
    title: 'Idle sessions: memory per session',
    body: body.join('\n'),
    headline,
    panels: [
      {
        kind: 'line', title: 'RSS per idle session', yLabel: 'KiB per session', xLabel: 'idle sessions open', x: xs, digits: 1,
        series: [
          { name: 'our proxy', values: series(ours, 'front', rss) },
          ...(peer === undefined ? [] : [{ name: 'HAProxy', values: series(peer, 'front', rss) }]),
          { name: 'gateway (direct)', values: series(direct, 'gateway', rss) },
          { name: 'our proxy after GC', values: series(ours, 'front', afterGc) },
          { name: 'gateway after GC', values: series(direct, 'gateway', afterGc) },
        ],
      },
    ],
  }
}
