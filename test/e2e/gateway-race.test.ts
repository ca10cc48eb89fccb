// CloseListenSocket under a connect storm: 1,000 raw TN3270E connects (waves of 200 in flight at
// once) against one gateway with 50 LUs. Exactly 50 get an LU (all distinct); every other connect
// is refused at TCP level, reset from the backlog when the listener closed, or rejected cleanly
// (DEVICE-TYPE REJECT or a close without an LU) — never a session without an LU, never an LU twice.
// Then the listener reopens as sessions end, a second storm takes exactly the freed LUs, and after
// everyone leaves every LU is free and the host simulator has no LU-LU session left.
import t from 'tap'
import { E2eClient, tcpConnect } from '../helpers/e2e-tn3270-client.js'
import { allFree, gatewayMetrics, gatewayStatus, hostBoundLus, hostStatus, metricValue, pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'

const LUS = 50
const TOTAL = 1000
const WAVE = 200
const STORM_DEADLINE_MS = 60_000

type Outcome =
  | { kind: 'granted', lu: string, client: E2eClient }
  | { kind: 'refused', code: string } // connect failed (ECONNREFUSED / ECONNRESET at connect)
  | { kind: 'reset' } // connected (kernel backlog), then reset (ECONNRESET) before any server byte
  | { kind: 'rejected', reason: string } // DEVICE-TYPE REJECT
  | { kind: 'closed', detail: string } // server closed (FIN) without an LU

interface Tally { granted: number, refused: number, reset: number, rejected: number, closed: number, codes: Record<string, number>, reasons: Record<string, number> }

async function attempt (port: number): Promise<Outcome> {
  let socket
  try {
    socket = await tcpConnect(port, '127.0.0.1', 10_000)
  } catch (err) {
    return { kind: 'refused', code: (err as NodeJS.ErrnoException).code ?? (err as Error).message }
  }
  const c = E2eClient.wrap(socket)
  let got = 0
  socket.on('data', (b: Buffer) => { got += b.length })
  const n = await c.negotiate({ timeoutMs: 20_000 })
  if (n.ok) {
    // Prove the LU works: the host's DEMO screen (DEFAPPL) arrives on it.
    await c.waitForText('tn3270-lb demo host', 10_000)
    return { kind: 'granted', lu: n.lu, client: c }
  }
  c.destroy()
  if (n.kind === 'reject') return { kind: 'rejected', reason: n.reason }
  const info = await c.closed
  return got === 0 && info.error === 'ECONNRESET' ? { kind: 'reset' } : { kind: 'closed', detail: `${n.detail}; ${got} bytes from the server` }
}

/** Fires `total` connects in waves of `wave` (each wave all at once) and tallies the outcomes. */
async function storm (port: number, total: number, wave: number, deadline = Date.now() + STORM_DEADLINE_MS): Promise<{ tally: Tally, granted: Array<Extract<Outcome, { kind: 'granted' }>>, maxInFlight: number }> {
  const tally: Tally = { granted: 0, refused: 0, reset: 0, rejected: 0, closed: 0, codes: {}, reasons: {} }
  const granted: Array<Extract<Outcome, { kind: 'granted' }>> = []
  let inFlight = 0
  let maxInFlight = 0
  for (let fired = 0; fired < total; fired += wave) {
    // Bounded in time: no new wave after the deadline (the "every connect has an outcome" check then fails).
    if (Date.now() > deadline) break
    const n = Math.min(wave, total - fired)
    const outcomes = await Promise.all(Array.from({ length: n }, async () => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      try { return await attempt(port) } finally { inFlight-- }
    }))
    for (const o of outcomes) {
      tally[o.kind]++
      if (o.kind === 'granted') granted.push(o)
      if (o.kind === 'refused') tally.codes[o.code] = (tally.codes[o.code] ?? 0) + 1
      if (o.kind === 'rejected') tally.reasons[o.reason] = (tally.reasons[o.reason] ?? 0) + 1
    }
  }
  return { tally, granted, maxInFlight }
}

t.test(`${TOTAL} concurrent connects against ${LUS} LUs`, async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 1, lus: LUS })
  const gw = demo.gateways[0]!
  const port = gw.listenerPort('tn3270')
  const everyone: E2eClient[] = []
  t.teardown(() => { for (const c of everyone) c.destroy() })
  const started = Date.now()

  // ---- storm 1: 1,000 connects, 50 LUs
  const s1 = await storm(port, TOTAL, WAVE)
  const ms1 = Date.now() - started
  everyone.push(...s1.granted.map(g => g.client))
  t.comment(`storm 1: ${TOTAL} connects in waves of ${WAVE} (max ${s1.maxInFlight} in flight) in ${ms1} ms: ${JSON.stringify(s1.tally)}`)
  t.ok(ms1 < STORM_DEADLINE_MS, `storm 1 finished within ${STORM_DEADLINE_MS} ms (${ms1} ms)`)
  t.ok(s1.maxInFlight >= WAVE, `a real race: ${s1.maxInFlight} connects in flight at once`)
  t.equal(s1.tally.granted, LUS, `exactly ${LUS} sessions got an LU`)
  const lus1 = s1.granted.map(g => g.lu)
  t.equal(new Set(lus1).size, lus1.length, 'no LU was handed out twice')
  t.equal(s1.tally.granted + s1.tally.refused + s1.tally.reset + s1.tally.rejected + s1.tally.closed, TOTAL, 'every connect has an outcome')
  const badCodes = Object.keys(s1.tally.codes).filter(c => c !== 'ECONNREFUSED' && c !== 'ECONNRESET')
  t.same(badCodes, [], `connect failures are only ECONNREFUSED / ECONNRESET (${JSON.stringify(s1.tally.codes)})`)
  const badReasons = Object.keys(s1.tally.reasons).filter(r => r !== 'DEVICE-IN-USE')
  t.same(badReasons, [], `DEVICE-TYPE REJECTs are DEVICE-IN-USE only (${JSON.stringify(s1.tally.reasons)})`)

  // The pool is full: listener closed, gateway and host agree on the 50 LUs in session.
  const full = await gatewayStatus(demo)
  t.equal(full.listeners[0]?.open, false, 'listener closed with all 50 LUs in use')
  t.same([full.pools[0]?.free, full.pools[0]?.inUse], [0, LUS], `/status: 0 free, ${LUS} in use`)
  t.equal(full.sessions.active, LUS, `/status sessions.active = ${LUS}`)
  const host1 = await pollUntil(async () => {
    const h = await hostStatus(demo)
    return h.sessions.active === LUS ? h : undefined
  }, `host simulator shows ${LUS} active LU-LU sessions`, 10_000)
  t.same(hostBoundLus(host1), [...lus1].sort(), 'host simulator LU-LU sessions are exactly the LUs the clients were given')
  const m1 = await gatewayMetrics(demo)
  t.equal(metricValue(m1, 'tn3270_gateway_connections_total', { listener: 'tn3270', result: 'accepted' }), LUS, `tn3270_gateway_connections_total{result=accepted} = ${LUS}`)
  t.comment(`metrics after storm 1: rejected_resource=${metricValue(m1, 'tn3270_gateway_connections_total', { listener: 'tn3270', result: 'rejected_resource' }) ?? 0} rejected_error=${metricValue(m1, 'tn3270_gateway_connections_total', { listener: 'tn3270', result: 'rejected_error' }) ?? 0} listener_closes=${metricValue(m1, 'tn3270_gateway_listener_closes_total', { listener: 'tn3270' }) ?? 0}`)

  // ---- sessions end: the listener reopens
  const leaving = s1.granted.slice(0, 10)
  for (const g of leaving) {
    const info = await g.client.end()
    t.ok(info.gotFin && info.error === undefined, `session on ${g.lu} closed in order by the gateway after our FIN`)
  }
  const reopened = await pollUntil(async () => {
    const s = await gatewayStatus(demo)
    return s.listeners[0]?.open === true && s.pools[0]?.free === 10 ? s : undefined
  }, 'listener reopens with 10 LUs free', 10_000)
  t.equal(reopened.pools[0]?.inUse, LUS - 10, `${LUS - 10} LUs still in use`)

  // ---- storm 2: 200 connects race for the 10 freed LUs
  const s2 = await storm(port, WAVE, WAVE)
  everyone.push(...s2.granted.map(g => g.client))
  t.comment(`storm 2: ${WAVE} connects for 10 free LUs: ${JSON.stringify(s2.tally)}`)
  t.equal(s2.tally.granted, 10, 'exactly the 10 freed LUs were taken')
  const freed = new Set(leaving.map(g => g.lu))
  t.ok(s2.granted.every(g => freed.has(g.lu)), `storm 2 got only freed LUs (${s2.granted.map(g => g.lu).join(' ')})`)
  t.equal(new Set(s2.granted.map(g => g.lu)).size, 10, 'storm 2 LUs are distinct')
  t.equal((await gatewayStatus(demo)).listeners[0]?.open, false, 'listener closed again')

  // ---- everyone leaves
  const holders = [...s1.granted.slice(10), ...s2.granted]
  const closes = await Promise.all(holders.map(async g => await g.client.end(10_000)))
  t.equal(closes.filter(c => c.gotFin && c.error === undefined).length, holders.length, 'every remaining session closed in order')
  const idle = await pollUntil(async () => {
    const s = await gatewayStatus(demo)
    return allFree(s) ? s : undefined
  }, 'every LU free after everyone left', 15_000)
  t.same(idle.pools.map(p => [p.total, p.free]), [[LUS, LUS]], `/status pools free == total == ${LUS}`)
  t.equal(idle.listeners[0]?.open, true, 'listener open when idle')
  const host2 = await pollUntil(async () => {
    const h = await hostStatus(demo)
    return h.sessions.bound.length === 0 ? h : undefined
  }, 'host simulator has no LU-LU session left', 10_000)
  t.equal(host2.sessions.active, 0, 'host simulator agrees: no LU-LU session')
  t.equal(gw.lus.all().filter(l => l.state !== 'free').length, 0, 'gateway registry: every LU free')
  t.comment(`total ${Date.now() - started} ms`)
})
