// APPC end to end under load: real gateway, real host simulator, real `sna` link, /v1/appc API.
//  - GET .../aping reports round-trip times (APING client ↔ APINGD on the host simulator).
//  - 100 concurrent transactions (undici pool with 128 connections, warmed up by a first round of
//    100 concurrent ECHOs, so all 100 TXNs are in flight at once) over #INTER, whose session limit is 8: all complete with the right reply, and neither
//    the gateway's /v1/appc/sessions nor the host simulator's /status ever shows more than 8
//    #INTER sessions (sampled continuously during the run), while the run does use all 8.
import t from 'tap'
import { call, hostSessions, metric, MODE, modeView, startAppcDemo, transact, type AppcEnv } from './appc-helpers.js'

const CONCURRENT = 100
const LIMIT = 8

function pct (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]!
}

t.test('aping through the API reports round-trip times', async t => {
  const e = await startAppcDemo(t)
  const r = await call(e.gw, 'GET', `/v1/appc/HOSTA/${MODE}/aping?size=2000&count=10`)
  t.equal(r.status, 200)
  const j = JSON.parse(r.text) as { partner: string, mode: string, size: number, count: number, allocateMs: number, rttMs: number[], minMs: number, avgMs: number, maxMs: number }
  t.match(j, { partner: 'HOSTA', mode: '#INTER', size: 2000, count: 10 })
  t.equal(j.rttMs.length, 10, 'one round-trip time per exchange')
  t.ok(j.rttMs.every(v => typeof v === 'number' && v > 0 && v < 5000), 'each a positive time in ms')
  t.ok(j.minMs <= j.avgMs && j.avgMs <= j.maxMs, 'min ≤ avg ≤ max')
  t.equal(j.minMs, Math.min(...j.rttMs))
  t.equal(j.maxMs, Math.max(...j.rttMs))
  t.ok(j.allocateMs >= 0)
  t.comment(`aping 2000 B x 10: allocate ${j.allocateMs.toFixed(2)} ms, rtt min ${j.minMs.toFixed(2)} / avg ${j.avgMs.toFixed(2)} / max ${j.maxMs.toFixed(2)} ms`)
  const d = await call(e.gw, 'GET', `/v1/appc/HOSTA/${MODE}/aping`)
  t.match(JSON.parse(d.text), { size: 100, count: 2 }, 'defaults size=100 count=2')
  const bad = await call(e.gw, 'GET', `/v1/appc/HOSTA/${MODE}/aping?size=abc`)
  t.equal(bad.status, 400)
  t.match(JSON.parse(bad.text), { error: /size='abc' is not a whole number/ })
})

t.test(`${CONCURRENT} concurrent transactions over a mode limited to ${LIMIT} sessions`, async t => {
  const e: AppcEnv = await startAppcDemo(t, [], 128)
  t.match((await modeView(e)).negotiated, { sessionLimit: LIMIT }, `#INTER negotiated with session limit ${LIMIT}`)
  let sampling = true
  const samples = { gw: [] as number[], host: [] as number[], waiting: [] as number[] }
  const sampler = (async () => {
    while (sampling) {
      const [v, h] = await Promise.all([modeView(e), hostSessions(e)])
      samples.gw.push(v.sessions.length)
      samples.waiting.push(v.waiting)
      samples.host.push(h.length)
    }
  })()
  // warm-up: 100 concurrent ECHOs open the pool's connections (opening 100 TCP connections at
  // once spreads the first round's arrivals out); the measured round below then arrives at once
  const warm = await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => await transact(e, 'ECHO', `warm ${i}`)))
  t.same(warm.filter((r, i) => r.status !== 200 || r.text !== `warm ${i}`), [], `warm-up: ${CONCURRENT} concurrent ECHOs all came back`)
  const warmMaxGw = Math.max(...samples.gw)
  samples.waiting.length = 0
  const t0 = performance.now()
  const results = await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => {
    const body = `order ${i} for item-${i * 7}`
    const start = performance.now()
    const r = await transact(e, 'TXN', body)
    return { i, body, ...r, ms: performance.now() - start }
  }))
  const wallMs = performance.now() - t0
  sampling = false
  await sampler
  // after the run: one more sample of each side
  samples.gw.push((await modeView(e)).sessions.length)
  samples.host.push((await hostSessions(e)).length)

  const failed = results.filter(r => r.status !== 200)
  t.same(failed.map(r => `${r.i}: ${r.status} ${r.text}`), [], 'every transaction completed with HTTP 200')
  const seen = new Set<number>()
  let wrong = 0
  for (const r of results) {
    const m = /^(.*) TXN#(\d+) LEN=(\d+) CKSUM=([0-9A-F]{4})$/.exec(r.text)
    let sum = 0
    for (const b of Buffer.from(r.body)) sum = (sum + b) & 0xffff
    if (m === null || m[1] !== r.body.toUpperCase() || Number(m[3]) !== r.body.length || m[4] !== sum.toString(16).toUpperCase().padStart(4, '0')) wrong++
    else seen.add(Number(m[2]))
  }
  t.equal(wrong, 0, 'every reply is its own input transformed by TXN')
  t.equal(seen.size, CONCURRENT, 'the host served each transaction once (distinct TXN numbers)')
  const maxGw = Math.max(...samples.gw)
  const maxHost = Math.max(...samples.host)
  const maxWaiting = Math.max(...samples.waiting)
  t.ok(maxGw <= LIMIT, `gateway never had more than ${LIMIT} #INTER sessions (max ${maxGw} in ${samples.gw.length} samples)`)
  t.ok(maxHost <= LIMIT, `host simulator never had more than ${LIMIT} #INTER sessions bound (max ${maxHost} in ${samples.host.length} samples)`)
  t.equal(Math.max(...samples.gw.slice(-1), ...samples.host.slice(-1)), LIMIT, `all ${LIMIT} sessions were bound by the end of the run`)
  t.ok(maxWaiting > 0, `allocations queued for a free session (max ${maxWaiting} waiting)`)
  t.equal(await metric(e, 'tn3270_gateway_appc_bind_failures_total'), 0, 'no BIND refused (the gateway never exceeded the limit)')
  const lat = results.map(r => r.ms)
  t.comment(`${CONCURRENT} TXN in ${wallMs.toFixed(0)} ms; latency p50 ${pct(lat, 50).toFixed(1)} / p95 ${pct(lat, 95).toFixed(1)} / max ${Math.max(...lat).toFixed(1)} ms; max sessions gateway ${maxGw} (warm-up ${warmMaxGw}), host ${maxHost}; max waiting allocations ${maxWaiting}; ${samples.gw.length} samples`)
  const v = await modeView(e)
  t.equal(v.waiting, 0, 'no allocation left waiting')
  t.ok(v.sessions.every(s => s.state === 'bound'), 'every session free again (bound, not in use)')
})
