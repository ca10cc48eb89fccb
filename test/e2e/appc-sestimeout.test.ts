// APPC idle-session timeout (KB 831976, SESTIMEOUT) end to end with real time: real gateway, real host
// simulator, real `sna` link, /v1/appc API over undici. "No new BIND" is read from both ends: the
// gateway's /v1/appc/sessions (same session id and lfsid) and the host simulator's /status (the
// partner's session list: same lfsid, same boundAt, still one #INTER session).
//  - sesTimeout 1 (one 5-second tick): a second transaction at once reuses the session; ~5 s after
//    the last conversation the session is unbound (metric + log line + the host sees the UNBIND).
//  - sesTimeout 4 (default): a second transaction 6 s later (past one tick, within 20 s) reuses it.
//  - sesTimeout 0: still bound after 6.5 s.
//  - a conversation the gateway cancels (the API cancels when the TP gives the direction back
//    instead of deallocating: POST .../APINGD) gets an UNBIND cleanup at once, with 0 and 1.
import t from 'tap'
import { pollUntil } from '../helpers/e2e-gateway.js'
import { hostSessions, metric, modeView, sleep, startAppcDemo, transact, type AppcEnv } from './appc-helpers.js'

const TICK_MS = 5000

async function oneSession (e: AppcEnv): Promise<{ id: number, lfsid: string, boundAt: number }> {
  const gw = (await modeView(e)).sessions
  const host = await hostSessions(e)
  if (gw.length !== 1 || host.length !== 1) throw new Error(`expected one #INTER session, gateway has ${gw.length}, host has ${host.length}`)
  if (gw[0]!.lfsid !== host[0]!.lfsid) throw new Error(`gateway lfsid ${gw[0]!.lfsid} ≠ host lfsid ${host[0]!.lfsid}`)
  return { id: gw[0]!.id, lfsid: gw[0]!.lfsid, boundAt: host[0]!.boundAt }
}

t.test('sesTimeout 1: reused at once (no new BIND), unbound one tick after the last conversation', async t => {
  const e = await startAppcDemo(t, ['appc.sesTimeout=1'])
  const r1 = await transact(e, 'TXN', 'first')
  t.equal(r1.status, 200)
  const s1 = await oneSession(e)
  t.match((await modeView(e)).sessions[0], { polarity: 'winner', state: 'bound', autoActivated: false })
  const r2 = await transact(e, 'TXN', 'second')
  const lastEnd = Date.now()
  t.equal(r2.status, 200)
  t.match(r2.text, /^SECOND TXN#2 /)
  const s2 = await oneSession(e)
  t.same(s2, s1, 'same session id, lfsid and host boundAt: no new BIND')
  t.equal(await metric(e, 'tn3270_gateway_appc_sestimeout_unbinds_total'), 0)
  await pollUntil(async () => (await modeView(e)).sessions.length === 0, 'SESTIMEOUT unbind', TICK_MS + 3000, 25)
  const idleMs = Date.now() - lastEnd
  t.comment(`sesTimeout 1: session ${s1.lfsid} unbound ${idleMs} ms after the last conversation ended`)
  t.ok(idleMs >= TICK_MS - 300 && idleMs <= TICK_MS + 1500, `unbound after about one 5 s tick (${idleMs} ms)`)
  t.equal(await metric(e, 'tn3270_gateway_appc_sestimeout_unbinds_total', { partner: 'HOSTA', mode: '#INTER' }), 1)
  await pollUntil(async () => (await hostSessions(e)).length === 0, 'the host saw the UNBIND', 2000, 10)
  t.match(e.logs.filter(l => l.event === 'appc_sestimeout'), [{ gateway: 'gw1', partner: 'HOSTA', mode: '#INTER', lfsid: s1.lfsid.slice(2) }])
  const r3 = await transact(e, 'TXN', 'third')
  t.equal(r3.status, 200)
  const s3 = await oneSession(e)
  t.not(s3.boundAt, s1.boundAt, 'the next transaction bound a new session (host boundAt)')
  t.not(s3.id, s1.id)
})

t.test('sesTimeout 4 (default): a second transaction 6 s later (within 20 s) makes no new BIND', async t => {
  const e = await startAppcDemo(t)
  t.equal((await transact(e, 'TXN', 'first')).status, 200)
  const s1 = await oneSession(e)
  await sleep(TICK_MS + 1000)
  const v = await modeView(e)
  t.ok(v.sessions[0]!.idleMs! >= TICK_MS, `idle ${v.sessions[0]!.idleMs} ms and still bound`)
  t.equal((await transact(e, 'TXN', 'second')).status, 200)
  t.same(await oneSession(e), s1, 'same session: no new BIND')
  t.equal(await metric(e, 'tn3270_gateway_appc_sestimeout_unbinds_total'), 0)
})

t.test('sesTimeout 0: the idle session stays bound', async t => {
  const e = await startAppcDemo(t, ['appc.sesTimeout=0'])
  t.equal((await transact(e, 'TXN', 'first')).status, 200)
  const s1 = await oneSession(e)
  await sleep(TICK_MS + 1500)
  const v = await modeView(e)
  t.match(v.sessions, [{ state: 'bound' }], `still bound after ${v.sessions[0]?.idleMs} ms idle`)
  t.same(await oneSession(e), s1)
  t.equal((await transact(e, 'TXN', 'second')).status, 200)
  t.same(await oneSession(e), s1, 'reused: no new BIND')
  t.equal(await metric(e, 'tn3270_gateway_appc_sestimeout_unbinds_total'), 0)
})

for (const sesTimeout of [0, 1]) {
  t.test(`sesTimeout ${sesTimeout}: a cancelled conversation gets an UNBIND cleanup at once`, async t => {
    const e = await startAppcDemo(t, [`appc.sesTimeout=${sesTimeout}`])
    t.equal((await transact(e, 'TXN', 'warm')).status, 200)
    const s1 = await oneSession(e)
    // APINGD echoes and gives the direction back; the API expects deallocation, so it cancels
    const t0 = Date.now()
    const r = await transact(e, 'APINGD', 'hello')
    t.equal(r.status, 502)
    t.match(JSON.parse(r.text), { code: 'TN3270LB_ERR_APPC_CONVERSATION', error: /APINGD gave the direction back instead of deallocating/ })
    await pollUntil(async () => (await modeView(e)).sessions.length === 0 && (await hostSessions(e)).length === 0, 'UNBIND cleanup on both ends', 2000, 5)
    const ms = Date.now() - t0
    t.comment(`sesTimeout ${sesTimeout}: cancelled session ${s1.lfsid} gone on both ends ${ms} ms after the request`)
    t.ok(ms < TICK_MS, 'well before any SESTIMEOUT tick')
    t.equal(await metric(e, 'tn3270_gateway_appc_sestimeout_unbinds_total'), 0, 'not counted as SESTIMEOUT')
    t.match(e.logs.filter(l => l.event === 'appc_unbind_cleanup'), [{ partner: 'HOSTA', mode: '#INTER', end: 'cancel' }])
    const again = await transact(e, 'TXN', 'after')
    t.equal(again.status, 200)
    t.not((await oneSession(e)).id, s1.id, 'a fresh BIND for the next conversation')
  })
}
