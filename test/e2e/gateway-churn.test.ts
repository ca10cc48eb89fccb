// Churn: 2,000 client cycles against one gateway — connect, negotiate TN3270E,
// get the DEMO screen, ECHO round trip, leave — with some clients dropping the TCP connection
// mid-screen (destroy before reading the reply, or before the first screen). Afterwards every LU
// is free, no sockets or timers leaked, and the host simulator's view of LU-LU sessions equals the
// gateway's. During the churn, in-process snapshots check the invariant "an LU the host has an
// active session on is never free on the gateway" (no LU handed out while still bound).
import t from 'tap'
import { E2eClient, tcpConnect } from '../helpers/e2e-tn3270-client.js'
import { allFree, gatewayStatus, hostBoundLus, hostStatus, pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'

const CYCLES = Number(process.env.E2E_CHURN_CYCLES ?? 2000)
const LUS = 32
const WORKERS = 40
const CHURN_DEADLINE_MS = 90_000

// Most cycles are normal; the others drop the connection at some point of a session's life.
type Variant = 'normal' | 'drop-before-reply' | 'drop-before-screen' | 'drop-mid-negotiation' | 'drop-at-connect'
const variantOf = (i: number): Variant => i % 7 === 3
  ? 'drop-before-screen'
  : i % 5 === 2 ? 'drop-before-reply' : i % 11 === 5 ? 'drop-mid-negotiation' : i % 13 === 7 ? 'drop-at-connect' : 'normal'
const noneDone = (): Record<Variant, number> => ({ normal: 0, 'drop-before-reply': 0, 'drop-before-screen': 0, 'drop-mid-negotiation': 0, 'drop-at-connect': 0 })

interface Stats {
  done: Record<Variant, number>
  connectRetries: number
  refusedCodes: Record<string, number>
  rejects: Record<string, number>
  negotiateMs: number[]
  screenMs: number[]
  echoMs: number[]
  cycleMs: number[]
  orderlyCloses: number
  badCloses: string[]
  failures: string[]
}

function pct (xs: number[], p: number): number {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]!
}

function resourceCounts (): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1
  return out
}

/** Connects and negotiates, retrying while the gateway is full (refused / reset / DEVICE-IN-USE). */
async function getSession (port: number, stats: Stats, deadline: number, v: Variant): Promise<E2eClient> {
  for (let attempt = 0; ; attempt++) {
    if (Date.now() > deadline) throw new Error(`no session before the churn deadline after ${attempt} attempts`)
    if (attempt > 0) {
      stats.connectRetries++
      await new Promise(resolve => setTimeout(resolve, Math.min(50, 5 * attempt)))
    }
    let socket
    try {
      socket = await tcpConnect(port, '127.0.0.1', 10_000)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'other'
      stats.refusedCodes[code] = (stats.refusedCodes[code] ?? 0) + 1
      continue
    }
    const c = E2eClient.wrap(socket)
    if (v === 'drop-at-connect') return c // dropped by the caller before the gateway said anything
    const n = await c.negotiate({ timeoutMs: 15_000, stopAfterDeviceType: v === 'drop-mid-negotiation' })
    if (n.ok) return c
    c.destroy()
    const key = n.kind === 'reject' ? `REJECT ${n.reason}` : `closed without an LU (${(await c.closed).error ?? 'FIN'})`
    stats.rejects[key] = (stats.rejects[key] ?? 0) + 1
  }
}

async function cycle (port: number, i: number, stats: Stats, deadline: number): Promise<void> {
  const t0 = Date.now()
  const v = variantOf(i)
  const c = await getSession(port, stats, deadline, v)
  const t1 = Date.now()
  if (v !== 'drop-at-connect' && v !== 'drop-mid-negotiation') stats.negotiateMs.push(t1 - t0)
  try {
    if (v === 'drop-before-screen' || v === 'drop-at-connect' || v === 'drop-mid-negotiation') {
      c.destroy()
      await c.closed
      stats.done[v]++
      return
    }
    await c.waitForText('tn3270-lb demo host', 10_000)
    const t2 = Date.now()
    stats.screenMs.push(t2 - t1)
    const text = `CYCLE ${i}`
    c.sendInput(text)
    if (v === 'drop-before-reply') {
      c.destroy()
      await c.closed
      stats.done[v]++
      return
    }
    await c.waitForText(`ECHO: ${text}`, 10_000)
    stats.echoMs.push(Date.now() - t2)
    const info = await c.end(10_000)
    if (info.gotFin && info.error === undefined) stats.orderlyCloses++
    else stats.badCloses.push(`cycle ${i}: ${JSON.stringify(info)}`)
    stats.done[v]++
  } catch (err) {
    c.destroy()
    stats.failures.push(`cycle ${i} (${v}, LU ${c.lu ?? '?'}): ${(err as Error).message.split('\n')[0]}`)
  } finally {
    stats.cycleMs.push(Date.now() - t0)
  }
}

// Minimal reproduction of the invariant the churn samples: at the very moment the gateway frees an
// LU (LuRegistry 'change', synchronous), the host must no longer have an LU-LU session on it —
// the gateway waits for +RSP(UNBIND) before the lease goes back (lu-bridge.ts cleanLu).
t.test('an LU goes back to the pool only after the host ended its LU-LU session', async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 1, lus: 1 })
  const gw = demo.gateways[0]!
  const host = demo.hosts[0]!
  const c = await E2eClient.connect(gw.listenerPort('tn3270'))
  t.teardown(() => c.destroy())
  t.ok((await c.negotiate()).ok, 'got the LU')
  await c.waitForText('tn3270-lb demo host')
  const atFree: Array<{ lu: string, hostState: string }> = []
  const onChange = (): void => {
    const lu = gw.lus.all()[0]!
    if (lu.state !== 'free' || atFree.length > 0) return
    const bound = host.status().sessions.bound.find(b => b.lu === lu.name)
    atFree.push({ lu: lu.name, hostState: bound?.state ?? 'none' })
  }
  gw.lus.on('change', onChange)
  t.teardown(() => { gw.lus.off('change', onChange) })
  await c.end()
  await pollUntil(() => atFree.length > 0, 'LU freed after the client left', 5000)
  t.same(atFree, [{ lu: atFree[0]!.lu, hostState: 'none' }], `when the gateway freed ${atFree[0]!.lu}, the host's LU-LU session on it was ${atFree[0]!.hostState}`)
})

t.test(`churn: ${CYCLES} client cycles`, async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 1, lus: LUS })
  const gw = demo.gateways[0]!
  const host = demo.hosts[0]!
  const port = gw.listenerPort('tn3270')

  // Warm up one full cycle (lazy module state, first BIND) before taking the resource baseline.
  const warm: Stats = { done: noneDone(), connectRetries: 0, refusedCodes: {}, rejects: {}, negotiateMs: [], screenMs: [], echoMs: [], cycleMs: [], orderlyCloses: 0, badCloses: [], failures: [] }
  await cycle(port, 0, warm, Date.now() + 20_000)
  t.same(warm.failures, [], 'warm-up cycle worked')
  await pollUntil(async () => allFree(await gatewayStatus(demo)), 'warm-up LU freed', 10_000)
  // Let admin-request sockets of the poll close before the baseline.
  const baselineHandles = await settledHandles()
  const baseline = resourceCounts()

  const stats: Stats = { done: noneDone(), connectRetries: 0, refusedCodes: {}, rejects: {}, negotiateMs: [], screenMs: [], echoMs: [], cycleMs: [], orderlyCloses: 0, badCloses: [], failures: [] }

  // The gateway's SNA node for this host, to say which half-session state a violation was in.
  const snaNode = (gw.hosts.get('HOSTA') as unknown as { node?: { lu: (n: string) => { luLu: { state: string } } } }).node
  // Invariant sampler: both views read in the same tick (in-process), so the comparison is exact.
  let samples = 0
  let maxInUse = 0
  const violations: string[] = []
  const sampler = setInterval(() => {
    samples++
    const inUse = new Set(gw.lus.all().filter(l => l.state === 'in_use').map(l => l.name))
    maxInUse = Math.max(maxInUse, inUse.size)
    for (const b of host.status().sessions.bound) {
      if (b.state === 'active' && !inUse.has(b.lu)) violations.push(`${b.lu} active on the host but ${gw.lus.lu(b.lu)?.state ?? '?'} on the gateway (gateway LU-LU half-session: ${snaNode?.lu(b.lu).luLu.state ?? '?'})`)
    }
  }, 25)

  const started = Date.now()
  const deadline = started + CHURN_DEADLINE_MS
  let next = 1
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while (next <= CYCLES && Date.now() < deadline) await cycle(port, next++, stats, deadline)
  }))
  const elapsed = Date.now() - started
  clearInterval(sampler)

  const completed = Object.values(stats.done).reduce((a, b) => a + b, 0)
  t.comment(`churn: ${completed}/${CYCLES} cycles in ${elapsed} ms (${(completed / (elapsed / 1000)).toFixed(0)} cycles/s) with ${WORKERS} workers on ${LUS} LUs; ${JSON.stringify(stats.done)}`)
  t.comment(`retries ${stats.connectRetries}, connect failures ${JSON.stringify(stats.refusedCodes)}, rejects ${JSON.stringify(stats.rejects)}, max LUs in use ${maxInUse}`)
  t.comment(`ms p50/p95/max: negotiate ${pct(stats.negotiateMs, 50)}/${pct(stats.negotiateMs, 95)}/${pct(stats.negotiateMs, 100)}, screen ${pct(stats.screenMs, 50)}/${pct(stats.screenMs, 95)}/${pct(stats.screenMs, 100)}, echo ${pct(stats.echoMs, 50)}/${pct(stats.echoMs, 95)}/${pct(stats.echoMs, 100)}, cycle ${pct(stats.cycleMs, 50)}/${pct(stats.cycleMs, 95)}/${pct(stats.cycleMs, 100)}`)
  t.same(stats.failures.slice(0, 10), [], `no cycle failed (${stats.failures.length} failures)`)
  t.equal(completed, CYCLES, `all ${CYCLES} cycles completed within ${CHURN_DEADLINE_MS} ms`)
  t.same(stats.badCloses.slice(0, 10), [], `every normal leave was answered with an orderly close (${stats.badCloses.length} not)`)
  t.ok(Object.values(stats.done).every(n => n > 0), `every variant ran: ${JSON.stringify(stats.done)}`)
  t.same(violations.slice(0, 10), [], `never an LU active on the host while free on the gateway (${samples} snapshots, ${violations.length} violations)`)

  // Every LU free, host and gateway agree.
  const idle = await pollUntil(async () => {
    const s = await gatewayStatus(demo)
    return allFree(s) ? s : undefined
  }, 'every LU free after the churn', 15_000)
  t.same(idle.pools.map(p => [p.total, p.free, p.inUse, p.unavailable]), [[LUS, LUS, 0, 0]], '/status: every LU free')
  t.equal(idle.listeners[0]?.open, true, 'listener open')
  const hs = await pollUntil(async () => {
    const h = await hostStatus(demo)
    return h.sessions.bound.length === 0 ? h : undefined
  }, 'host simulator has no LU-LU session left', 10_000).catch(async err => { t.fail((err as Error).message); return await hostStatus(demo) })
  t.same(hostBoundLus(hs), [], 'host simulator: no LU bound that the gateway thinks is free')
  const hostPu = hs.pus[0]
  t.ok(hostPu !== undefined && hostPu.lus.every(l => l.state === 'active'), `host simulator: every LU still active (SSCP-LU), none lost: ${JSON.stringify(hostPu?.lus.filter(l => l.state !== 'active').map(l => [l.name, l.state]))}`)
  const gwHost = idle.hostLinks[0] as unknown as { lus: Array<{ name: string, state: string, attached: boolean }> }
  t.same(gwHost.lus.filter(l => l.attached || l.state !== 'active').map(l => l.name), [], 'gateway SNA view: every LU active and detached')

  // No leaked sockets or timers. The demo's own handles move too (its proxy closes its listener
  // while the gateway reports no free LU, and reopens at its next status poll), so wait — with a
  // deadline — for the counts to come back to the baseline, then compare exactly.
  const handles = (): number => (process as unknown as { _getActiveHandles: () => unknown[] })._getActiveHandles().length
  const same = (a: Record<string, number>, b: Record<string, number>): boolean =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])].every(k => (a[k] ?? 0) === (b[k] ?? 0))
  await pollUntil(() => handles() === baselineHandles && same(resourceCounts(), baseline), 'handles and resources back to the baseline', 10_000, 50).catch(() => {})
  const after = handles()
  const afterRes = resourceCounts()
  t.comment(`active handles before ${baselineHandles}, after ${after}; resources before ${JSON.stringify(baseline)}, after ${JSON.stringify(afterRes)}`)
  t.equal(after, baselineHandles, `no leaked handles (before ${baselineHandles}, after ${after})`)
  for (const kind of new Set([...Object.keys(baseline), ...Object.keys(afterRes)])) {
    t.equal(afterRes[kind] ?? 0, baseline[kind] ?? 0, `no leaked ${kind} (before ${baseline[kind] ?? 0}, after ${afterRes[kind] ?? 0})`)
  }
})

/** process._getActiveHandles().length once it stops changing (sockets closing), or <= target. */
async function settledHandles (target?: number): Promise<number> {
  const count = (): number => (process as unknown as { _getActiveHandles: () => unknown[] })._getActiveHandles().length
  const deadline = Date.now() + 5000
  let last = count()
  while (Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 100))
    const now = count()
    if (target !== undefined ? now <= target : now === last) return now
    last = now
  }
  return count()
}
