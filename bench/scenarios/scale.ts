// Scenario scale: many idle sessions across several gateway processes. One gateway process holds
// one descriptor per session and this machine allows 20,000 per process, so 60,000 sessions take
// four gateways of 15,000. Each gateway gets its own simulated hosts (one host-simulator
// process per host, PUS_PER_HOST PUs of 254 LUs each, one sna link per PU: docs/hostlink.md
// "PUs"), so no two gateways share a host's PUs, and its own load-generator processes, which open
// idle TN3270E sessions (RFC 2355: negotiation, BIND, first screen) straight to its direct
// listener. Sessions are opened in cumulative steps, spread evenly over the gateways; after each
// step and a settle pause every gateway's memory is read (bench/memory.ts: RSS, RSS after a GC,
// live JavaScript memory) and per-session cost = (reading − reading before the first session) /
// open sessions, per gateway and summed over all of them (bench/README.md "scale").
import { INSPECT_ARGS, readMemory, type MemoryReading } from '../memory.js'
import { startLoad, type LoadProcess } from '../load.js'
import { sampleTree } from '../proc-stats.js'
import type { Mode } from '../mode.js'
import { loadNow, type ScenarioResult } from '../report.js'
import { fmt, fmtInt, sleep, sum, table } from '../stats.js'
import {
  getJson, hostNames, MAX_LUS_PER_HOST, openFileLimit, PUS_PER_HOST, startGateway, startHosts, stopAllOf,
  type RunContext, type RunningGateway, type RunningHost,
} from '../topology.js'
import { afterGc, kibPerSession, live, MIB, openMore, PER_LOAD_PROCESS, rss, type MemoryFigure } from './idle.js'
import { gatewayIdle } from './stack.js'

/** One gateway with the hosts and load processes that are its alone. */
interface Unit {
  gateway: RunningGateway
  hosts: RunningHost[]
  load: LoadProcess[]
  /** Sessions open per load process. */
  held: number[]
  base: MemoryReading
  /** Sessions it can hold: its LUs, its descriptors, its load processes. */
  cap: number
  /** Sessions that never reached their first screen or closed after it, so far. */
  failed: number
  errors: string[]
}

interface GatewayStep {
  asked: number
  open: number
  /** Cumulative: never reached the first screen, or closed after it. */
  failed: number
  /** Active sessions by the gateway's own /status. */
  active: number
  /** Undefined when the reading failed (the gateway gone, the inspector not answering): see the step's note. */
  mem: MemoryReading | undefined
}

interface Step {
  asked: number
  open: number
  failed: number
  /** From the first connect of the step to the last session's first screen. */
  openMs: number
  gateways: GatewayStep[]
  hostRss: number
  loadRss: number
  loadAverage: string
  /** Why the step has no readings: skipped (over a gateway's room) or failed (the error). */
  missing?: string
  /** Readings that failed in a step that has counts. */
  note?: string
}

interface Layout { hostsPerGateway: number, lusPerHost: number, loadPerGateway: number, perGateway: number }

const MiB = 2 ** 20

/** Sessions per gateway at the largest step that fits, and the hosts and load processes they take. */
function layout (mode: Mode): Layout {
  const g = mode.scale.gateways
  const largest = Math.max(...mode.scale.steps)
  // Descriptors: one per session, one per PU link, a margin for listeners, admin, logs.
  const room = (hosts: number): number => openFileLimit() - hosts * PUS_PER_HOST - 100
  let perGateway = Math.ceil(largest / g)
  let hostsPerGateway = Math.ceil(perGateway / MAX_LUS_PER_HOST)
  if (perGateway > room(hostsPerGateway)) {
    perGateway = room(hostsPerGateway)
    hostsPerGateway = Math.ceil(perGateway / MAX_LUS_PER_HOST)
  }
  return { hostsPerGateway, lusPerHost: Math.ceil(perGateway / hostsPerGateway), loadPerGateway: Math.ceil(perGateway / PER_LOAD_PROCESS), perGateway }
}

/** `total` spread over `n`: the first `total % n` get one more. */
const share = (total: number, n: number, i: number): number => Math.floor(total / n) + (i < total % n ? 1 : 0)

async function startUnits (ctx: RunContext, mode: Mode, l: Layout, hosts: RunningHost[], load: LoadProcess[], units: Unit[]): Promise<void> {
  // One gateway at a time: activating 15,000 LUs (ACTPU, ACTLU) is the start's work, and two
  // at once on two cores would only make each slower to be ready.
  for (let i = 0; i < mode.scale.gateways; i++) {
    const own = hosts.slice(i * l.hostsPerGateway, (i + 1) * l.hostsPerGateway)
    ctx.say(`  scale: starting gateway gw${i + 1} (${own.length} host(s) × ${fmtInt(l.lusPerHost)} LUs)`)
    const gateway = await startGateway(ctx, { index: i + 1, hosts: own, lusPerHost: l.lusPerHost, nodeArgs: INSPECT_ARGS })
    const mine = load.slice(i * l.loadPerGateway, (i + 1) * l.loadPerGateway)
    const room = openFileLimit() - own.length * PUS_PER_HOST - 100
    units.push({ gateway, hosts: own, load: mine, held: mine.map(() => 0), base: { rss: NaN, rssAfterGc: NaN, live: NaN }, cap: Math.min(room, gateway.lus, mine.length * PER_LOAD_PROCESS), failed: 0, errors: [] })
  }
}

const rssOf = (procs: Array<{ pid: number }>): number => sum(procs.map(p => sampleTree(p.pid).rssBytes))

async function runStep (ctx: RunContext, mode: Mode, units: Unit[], asked: number, hosts: RunningHost[], load: LoadProcess[]): Promise<Step> {
  const g = units.length
  ctx.say(`  scale: ${fmtInt(asked)} sessions over ${g} gateways`)
  const t0 = Date.now()
  const opened = await Promise.all(units.map(async (u, i) => await openMore(u.load, u.gateway.directPort, share(asked, g, i), u.held, u.errors, mode.scale.timeoutMs)))
  const openMs = Date.now() - t0
  await sleep(mode.scale.settleMs)
  // Asking for what is already open opens nothing and counts the sessions that closed meanwhile.
  const rechecked = await Promise.all(units.map(async u => await openMore(u.load, u.gateway.directPort, sum(u.held), u.held, u.errors)))
  const gateways: GatewayStep[] = []
  const notes: string[] = []
  // One gateway at a time: a full collection of one does not steal the CPU of another's.
  for (const [i, u] of units.entries()) {
    u.failed += opened[i]!.failed + rechecked[i]!.failed
    const status = await getJson(`${u.gateway.adminUrl}/status`, 30_000).catch(() => undefined)
    const mem = await readMemory(u.gateway.proc, u.gateway).catch((err: unknown) => {
      notes.push(`${u.gateway.name}: no memory reading: ${err instanceof Error ? err.message : String(err)}`)
      return undefined
    })
    gateways.push({ asked: share(asked, g, i), open: rechecked[i]!.open, failed: u.failed, active: Number(status?.sessions?.active ?? NaN), mem })
  }
  // Sessions that ended while the gateways were read (a full collection pauses a gateway) are failed too.
  const after = await Promise.all(units.map(async u => await openMore(u.load, u.gateway.directPort, sum(u.held), u.held, u.errors)))
  after.forEach((r, i) => { units[i]!.failed += r.failed; gateways[i]!.failed += r.failed })
  const lost = sum(after.map(r => r.failed))
  if (lost > 0) notes.push(`${fmtInt(lost)} session(s) closed while the gateways were read (in failed)`)
  return {
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    asked,
    open: sum(gateways.map(s => s.open)),
    failed: sum(gateways.map(s => s.failed)),
    openMs,
    gateways,
    hostRss: rssOf(hosts.map(h => h.proc)),
    loadRss: rssOf(load.map(l => l.proc)),
    loadAverage: loadNow(),
  }
}

export async function scaleScenario (ctx: RunContext, mode: Mode): Promise<ScenarioResult> {
  const l = layout(mode)
  const g = mode.scale.gateways
  ctx.say(`  scale: starting ${g * l.hostsPerGateway} host simulator(s) and ${g * l.loadPerGateway} load process(es)`)
  const hosts = await startHosts(ctx, Array.from({ length: g }, (_, i) => hostNames(l.hostsPerGateway, `H${i + 1}`)).flat().map(name => ({ name })), 8)
  let load: LoadProcess[] = []
  const units: Unit[] = []
  const steps: Step[] = []
  const t0 = Date.now()
  try {
    load = await startLoad(ctx, g * l.loadPerGateway, 'scale')
    await startUnits(ctx, mode, l, hosts, load, units)
    await sleep(mode.scale.settleMs)
    for (const u of units) u.base = await readMemory(u.gateway.proc, u.gateway)
    const baseRss = { host: rssOf(hosts.map(h => h.proc)), load: rssOf(load.map(p => p.proc)) }
    for (const asked of mode.scale.steps) {
      const over = units.find((u, i) => share(asked, g, i) > u.cap)
      const none = { asked, open: NaN, failed: NaN, openMs: NaN, gateways: [], hostRss: NaN, loadRss: NaN, loadAverage: '' }
      if (over !== undefined) {
        steps.push({ ...none, missing: `skipped: over ${over.gateway.name}'s room of ${fmtInt(over.cap)} sessions (its LUs, descriptors and load processes)` })
        continue
      }
      try {
        const step = await runStep(ctx, mode, units, asked, hosts, load)
        steps.push(step)
        const gone = units.filter(u => !u.gateway.proc.running).map(u => u.gateway.name)
        if (gone.length > 0) { step.note = [step.note, `${gone.join(', ')} exited: no further steps`].filter(n => n !== undefined).join('; '); break }
      } catch (err) {
        // A step that breaks (a role gone, a reading refused) still leaves the steps before it to report.
        const msg = err instanceof Error ? err.message : String(err)
        ctx.say(`  scale: step ${fmtInt(asked)} failed: ${msg}`)
        steps.push({ ...none, missing: `failed: ${msg}` })
        break
      }
    }
    await Promise.allSettled(load.map(async p => await p.send({ op: 'close', group: 'idle' })))
    // Let the sessions end before the gateways stop, so their shutdown does not race them.
    await Promise.all(units.map(async u => {
      if (!u.gateway.proc.running) { u.errors.push(`exited (${String(await u.gateway.proc.exited)}); see ${u.gateway.proc.logFile}`); return }
      await gatewayIdle(u.gateway, 300_000).catch((err: unknown) => u.errors.push(err instanceof Error ? err.message : String(err)))
    }))
    return report(mode, l, units, steps, baseRss, Date.now() - t0)
  } finally {
    await Promise.all(load.map(async p => await p.stop()))
    await stopAllOf(units.map(u => u.gateway), hosts)
  }
}

type Readings = Array<MemoryReading | undefined>
const complete = (now: Readings): now is MemoryReading[] => now.every(m => m !== undefined)
/** KiB per session of the gateways' readings together; NaN when one of them is missing. */
const perSession = (now: Readings, base: MemoryReading[], open: number, f: MemoryFigure): number => complete(now) ? kibPerSession(now, base, open, f) : NaN
const kib = (now: Readings, base: MemoryReading[], open: number, f: MemoryFigure): string => fmt(perSession(now, base, open, f), 2)
const mibOf = (now: Readings): number => complete(now) ? sum(now.map(rss)) / MiB : NaN

function report (mode: Mode, l: Layout, units: Unit[], steps: Step[], baseRss: { host: number, load: number }, elapsedMs: number): ScenarioResult {
  const g = units.length
  const hostCount = g * l.hostsPerGateway
  const loadCount = g * l.loadPerGateway
  const bases = units.map(u => u.base)
  const done = steps.filter(s => s.missing === undefined)
  const totals: string[][] = [['0', '0', '0', '', fmt(sum(bases.map(b => b.rss)) / MiB, 1), '', '', '', fmt(baseRss.host / MiB, 1), fmt(baseRss.load / MiB, 1), '', '']]
  for (const s of steps) {
    if (s.missing !== undefined) { totals.push([fmtInt(s.asked), '', '', '', '', '', '', '', '', '', '', s.missing]); continue }
    const now = s.gateways.map(x => x.mem)
    totals.push([fmtInt(s.asked), fmtInt(s.open), fmtInt(s.failed), fmt(s.openMs / 1000, 1), fmt(mibOf(now), 1),
      kib(now, bases, s.open, rss), kib(now, bases, s.open, afterGc), kib(now, bases, s.open, live),
      fmt(s.hostRss / MiB, 1), fmt(s.loadRss / MiB, 1), s.loadAverage, s.note ?? ''])
  }
  const perGateway: string[][] = []
  units.forEach((u, i) => {
    perGateway.push([u.gateway.name, '0', '0', '0', '0', '', MIB(u.base), '', '', ''])
    for (const s of done) {
      const x = s.gateways[i]!
      perGateway.push([u.gateway.name, fmtInt(s.asked), fmtInt(x.asked), fmtInt(x.open), fmtInt(x.failed), fmtInt(x.active), MIB(x.mem),
        kib([x.mem], [u.base], x.open, rss), kib([x.mem], [u.base], x.open, afterGc), kib([x.mem], [u.base], x.open, live)])
    }
  })
  const body = [
    `Idle TN3270E sessions spread evenly over ${g} gateway processes, opened in cumulative steps straight to each gateway's direct listener (no front) and held (${mode.scale.settleMs} ms settle before each reading). Each gateway has its own ${l.hostsPerGateway} simulated host(s) × ${fmtInt(l.lusPerHost)} LUs (${PUS_PER_HOST} PUs of 254 LUs per host at most, one sna link per PU, one host-simulator process per host: ${hostCount} in all) and its own ${l.loadPerGateway} load process(es) (at most ${fmtInt(PER_LOAD_PROCESS)} sessions each, 32 negotiating at once, ${mode.scale.timeoutMs / 1000} s per session to its first screen: ${loadCount} in all). Open-file limit per process here: ${fmtInt(openFileLimit())}; a gateway needs one descriptor per session and one per PU link. Memory per session = (reading − reading before the first session) / open sessions: RSS (VmRSS from /proc), RSS right after a full garbage collection, live JavaScript memory then (V8 heap used + external), as in the idle scenario; "all gateways" sums the readings. Failed = sessions that did not reach their first screen or closed afterwards (cumulative, counted again after the settle pause and after the readings); active = the gateway's own /status count. Open time = from the step's first connect to its last first screen, all gateways at once. Scenario time ${fmt(elapsedMs / 1000, 0)} s including start-up.`,
    '',
    table(['sessions asked', 'open', 'failed', 'open time s', 'gateways RSS MiB', 'all gateways KiB / session', 'after GC', 'live JS', `host-sim RSS MiB (${hostCount})`, `load RSS MiB (${loadCount})`, 'load average', 'note'], totals),
    '',
    'Per gateway:',
    '',
    table(['gateway', 'sessions asked (all)', 'asked here', 'open', 'failed', 'active', 'RSS MiB', 'KiB / session', 'after GC', 'live JS'], perGateway),
  ]
  const errors = [...new Set(units.flatMap(u => u.errors.map(e => `${u.gateway.name}: ${e}`)))]
  if (errors.length > 0) body.push('', 'Failures:', '', ...errors.slice(0, 10).map(e => `- ${e}`))
  const top = done.at(-1)
  const headline: string[][] = []
  if (top !== undefined) {
    const now = top.gateways.map(x => x.mem)
    const each = top.gateways.map((x, i) => perSession([x.mem], [units[i]!.base], x.open, rss))
    headline.push([`idle sessions held across ${g} gateways direct (${hostCount} host simulators, ${loadCount} load processes), ${fmtInt(top.asked)} asked, opened in ${fmt(sum(done.map(s => s.openMs)) / 1000, 0)} s (${done.length} step(s))`,
      `**${fmtInt(top.open)} open, ${fmtInt(top.failed)} failed**`, '—', ''])
    headline.push([`RSS per idle session, ${g} gateways at ${fmtInt(top.open)} sessions (after a GC in brackets; per gateway)`,
      `${kib(now, bases, top.open, rss)} KiB (${kib(now, bases, top.open, afterGc)}; ${fmt(Math.min(...each), 1)}–${fmt(Math.max(...each), 1)})`, '—', ''])
  }
  const xs = done.map(s => s.asked)
  const all = (f: MemoryFigure): number[] => done.map(s => perSession(s.gateways.map(x => x.mem), bases, s.open, f))
  return {
    name: 'scale',
    title: `Idle sessions across ${g} gateways`,
    body: body.join('\n'),
    headline,
    panels: [
      {
        kind: 'line', title: `Gateway memory per idle session, ${g} gateways together`, yLabel: 'KiB per session', xLabel: 'idle sessions asked (all gateways)', x: xs, digits: 1,
        series: [{ name: 'RSS', values: all(rss) }, { name: 'RSS after GC', values: all(afterGc) }, { name: 'live JS', values: all(live) }],
      },
      {
        kind: 'bar', title: 'RSS of each gateway', yLabel: 'MiB', xLabel: 'idle sessions asked (all gateways)', digits: 0,
        categories: ['0', ...xs.map(fmtInt)],
        series: units.slice(0, 6).map((u, i) => ({ name: u.gateway.name, values: [u.base.rss / MiB, ...done.map(s => mibOf([s.gateways[i]!.mem]))] })),
      },
    ],
  }
}
