// Scenario stalled: what a frozen terminal costs the gateway. S sessions ask for `FLOOD n`, read
// a few records, then stop reading (the kernel buffers fill, TCP's window closes). With
// application pacing (KB Q181737) the gateway withholds the pacing response while its client has
// no credit, so the host stops after one window: a stalled session should cost the gateway at
// most one window of records plus its client queue below the high-water mark. Read from the
// gateway's RSS (idle → stalled) and from its /status pacing accounting per LU; then some of the
// sessions read again and must get all n records in order.
import { readMemory, INSPECT_ARGS, type MemoryReading } from '../memory.js'
import type { OpenResult, ResumeResult, StallResult } from '../load.js'
import type { Mode } from '../mode.js'
import type { ScenarioResult } from '../report.js'
import { fmt, fmtInt, sleep, sum, table, waitUntil } from '../stats.js'
import { getJson, type RunContext } from '../topology.js'
import { gatewayIdle } from './stack.js'
import { startPacedStack, windowPool, type PacedStack } from './flood.js'

interface LuPacing { window: number, held: number, owed: boolean, stalled: boolean, clientQueuedBytes: number, inboundQueued: number }
interface Accounting { lus: number, heldSum: number, heldMax: number, queuedSum: number, queuedMax: number, owed: number, stalled: number, hostWaiting: number, hostQueued: number }

interface WindowResult {
  window: number
  opened: number
  paused: number
  /** Before the sessions opened, with them idle, with them stalled. */
  mem: { before: MemoryReading, idle: MemoryReading, stalled: MemoryReading }
  acct: Accounting
  /** The accounting again at the end of the hold, just before the clients read again. */
  held: Accounting
  settledMs: number
  resumed: ResumeResult
}

async function accounting (stack: PacedStack, pool: string): Promise<Accounting> {
  const host = stack.hosts.find(h => h.name === pool)!
  const [gw, hs] = await Promise.all([getJson(`${stack.gateway.adminUrl}/status`), getJson(`${host.adminUrl}/status`)])
  const link = (gw.hostLinks as Array<{ host: string, lus?: Array<{ pacing?: LuPacing }> }>).find(l => l.host === pool)
  const ps = (link?.lus ?? []).flatMap(l => l.pacing === undefined ? [] : [l.pacing])
  return {
    lus: ps.length,
    heldSum: sum(ps.map(p => p.held)),
    heldMax: Math.max(0, ...ps.map(p => p.held)),
    queuedSum: sum(ps.map(p => p.clientQueuedBytes)),
    queuedMax: Math.max(0, ...ps.map(p => p.clientQueuedBytes)),
    owed: ps.filter(p => p.owed).length,
    stalled: ps.filter(p => p.stalled).length,
    hostWaiting: hs.pacing?.waitingSessions ?? NaN,
    hostQueued: hs.pacing?.queued ?? NaN,
  }
}

async function measureWindow (ctx: RunContext, mode: Mode, stack: PacedStack, w: number): Promise<WindowResult> {
  const { sessions, count, pauseAfter, verify } = mode.stalled
  const load = stack.load[0]!
  const pool = windowPool(w)
  const group = `stall${w}`
  const memory = async (): Promise<MemoryReading> => await readMemory(stack.gateway.proc, stack.gateway)
  const before = await memory()
  const o = await load.send<OpenResult>({ op: 'open', group, port: stack.gateway.directPort, resource: pool, count: sessions, concurrency: 16, timeoutMs: 15_000 })
  if (o.open !== sessions) throw new Error(`stalled window ${w}: ${o.open} of ${sessions} sessions opened: ${o.errors.join('; ')}`)
  await sleep(1000)
  const idle = await memory()
  const st = await load.send<StallResult>({ op: 'stall', group, count, pauseAfter, timeoutMs: 30_000 })
  // Settled = the gateway's accounting and the host's withheld sessions stop changing.
  const t0 = Date.now()
  let prev = ''
  let acct = await accounting(stack, pool)
  await waitUntil(async () => {
    acct = await accounting(stack, pool)
    const key = JSON.stringify([acct.heldSum, acct.queuedSum, acct.hostWaiting, acct.hostQueued])
    const same = key === prev
    prev = key
    return same && acct.hostWaiting >= st.paused
  }, 15_000, 500)
  const settledMs = Date.now() - t0
  const stalled = await memory()
  // A frozen terminal stays frozen: hold the stall past the gateway's stall threshold.
  await sleep(Math.max(0, mode.stalled.holdMs - (Date.now() - t0)))
  const held = await accounting(stack, pool)
  ctx.say(`  stalled window ${w}: ${st.paused} paused, held max ${acct.heldMax}, settled in ${settledMs} ms; resuming ${verify}`)
  const resumed = await load.send<ResumeResult>({ op: 'resume', group, verify, stuckMs: 10_000, timeoutMs: 300_000 })
  await gatewayIdle(stack.gateway)
  return { window: w, opened: o.open, paused: st.paused, mem: { before, idle, stalled }, acct, held, settledMs, resumed }
}

export async function stalledScenario (ctx: RunContext, mode: Mode): Promise<ScenarioResult> {
  const { sessions, count, verify } = mode.stalled
  const stack = await startPacedStack(ctx, mode.stalled.windows, sessions + 2, INSPECT_ARGS)
  const results: WindowResult[] = []
  try {
    for (const w of mode.stalled.windows) results.push(await measureWindow(ctx, mode, stack, w))
  } finally {
    await stack.stop()
  }
  const kib = (b: number): string => fmt(b / 1024, 1)
  const per = (r: WindowResult, f: (m: MemoryReading) => number, from: 'idle' | 'before' = 'idle'): number => (f(r.mem.stalled) - f(r.mem[from])) / r.paused
  const resumedText = (r: WindowResult): string => `${r.resumed.complete} / ${r.resumed.verified}${r.resumed.stuck ? ` (stuck at ${fmtInt(r.resumed.records)} records)` : ''}`
  const rows = results.map(r => [String(r.window), `${r.paused} / ${r.opened}`, fmt(r.mem.idle.rss / 2 ** 20, 1), fmt(r.mem.stalled.rss / 2 ** 20, 1),
    kib(per(r, m => m.rss)), kib(per(r, m => m.rssAfterGc)), kib(per(r, m => m.live)), kib(per(r, m => m.live, 'before')),
    `${Math.max(r.acct.heldMax, r.held.heldMax)} (${Math.max(r.acct.heldMax, r.held.heldMax) <= r.window ? '≤' : '>'} ${r.window})`, fmt(r.acct.heldSum / Math.max(1, r.acct.lus), 1), kib(r.acct.queuedSum / Math.max(1, r.acct.lus)), kib(r.acct.queuedMax),
    `${r.held.owed}`, `${r.held.stalled}`, `${r.held.hostWaiting}`, fmt(r.settledMs / 1000, 1),
    resumedText(r), String(r.resumed.outOfOrder), fmt(r.resumed.ms / 1000, 1)])
  const headline = [[`memory per stalled session (FLOOD ${fmtInt(count)}), window ${results.map(r => r.window).join(' / ')}: gateway live JS memory beyond idle`,
    results.map(r => `${kib(per(r, m => m.live))} KiB`).join(' / '),
    `held ≤ window: ${results.map(r => Math.max(r.acct.heldMax, r.held.heldMax) <= r.window ? 'yes' : `no (${Math.max(r.acct.heldMax, r.held.heldMax)})`).join(' / ')}`,
    results.map(r => `window ${r.window}: ${r.resumed.complete} of ${r.resumed.verified} resumed in order${r.resumed.stuck ? ' (stuck)' : ''}`).join('; ')]]
  const body = [
    `${sessions} sessions per window straight at the gateway, each \`FLOOD ${fmtInt(count)}\`; each client reads ${mode.stalled.pauseAfter} records, then stops reading. Once the gateway's /status pacing accounting and the host simulator's count of sessions waiting for a pacing response stop changing (polled every 0.5 s, at most 15 s), the gateway's memory is read: RSS, then RSS right after a full garbage collection (the gateway runs with \`--inspect\`; HeapProfiler.collectGarbage) and the live JavaScript memory then (V8 heap used + external, i.e. Buffers, from its /metrics). Extra per stalled session = (reading stalled − reading with the same sessions idle) / stalled sessions; "from before open" counts the idle session too. RSS keeps pages V8 and malloc do not hand back, so the live figure is what a stalled session retains. Held = records the gateway holds for the LU (at most one window when pacing holds); client queue = bytes in the gateway's socket write queue toward the client; owed = LUs whose pacing response is withheld and stalled = LUs the gateway counts as stalled (owed longer than pacing.stallAfter), both read at the end of a ${fmt(mode.stalled.holdMs / 1000, 0)} s hold; host waiting = sessions whose output the host holds for a pacing response. Then ${verify} of the sessions read again and must receive all ${fmtInt(count)} records in order (given up after 10 s without a record: "stuck"); the rest are closed.`,
    '',
    table(['window', 'paused', 'gateway RSS idle MiB', 'stalled MiB', 'RSS KiB / stalled session', 'RSS after GC', 'live JS KiB / stalled session', 'live, from before open', 'held max', 'held mean', 'client queue mean KiB', 'client queue max KiB', 'owed', 'stalled', 'host waiting', 'settle s', 'resumed complete', 'out of order', 'resume s'], rows),
  ].join('\n')
  return {
    name: 'stalled',
    title: 'Stalled clients during FLOOD: gateway memory',
    body,
    headline,
    panels: [
      { kind: 'bar', title: 'Gateway memory per stalled session', yLabel: 'KiB per session', xLabel: 'BIND pacing window', categories: results.map(r => `window ${r.window}`), digits: 1,
        series: [{ name: 'RSS', values: results.map(r => per(r, m => m.rss) / 1024) }, { name: 'RSS after GC', values: results.map(r => per(r, m => m.rssAfterGc) / 1024) }, { name: 'live JS memory', values: results.map(r => per(r, m => m.live) / 1024) }] },
    ],
  }
}
