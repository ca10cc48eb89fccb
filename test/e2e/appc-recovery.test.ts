// APPC BIND-failure recovery (KB Q107866, RENEGLIMITS / RETRYCNOS) end to end: a real gateway and a real host
// simulator from startDemo, the real `sna` host link between them, driven through the gateway's
// /v1/appc API and the host simulator's admin API with undici; results read from the gateway's
// /metrics, /v1/appc/sessions and log lines and the host's /status.
//
// Two ways the partner's session limits go back to zero:
//  - host POST /restart: the host simulator restarts the partner LU *and* drops every gateway link;
//    the gateway reconnects, and at link up the engine runs a start-of-day CNOS. So with any
//    settings the next transaction after the link is back works after exactly one CNOS
//    (trigger start_of_day) — "the connection is restarted" of the seed.
//  - partner LU restart with the link staying up (demo.hosts[0].partner.restart(): the host
//    simulator has no admin route for it, see the report): the next application BIND meets zero
//    limits (0805 0000). Defaults: one CNOS (trigger recovery) and it works. renegLimits and
//    retryCnos off: 503 with a JSON error naming the sense and the reason, every time, until the
//    link restarts (host POST /restart); then it works again.
import t, { type Test } from 'tap'
import { pollUntil } from '../helpers/e2e-gateway.js'
import { call, metric, modeView as modeInfo, startAppcDemo as start, transact, type AppcEnv as Env, type Reply } from './appc-helpers.js'

const txn = async (e: Env, text: string): Promise<Reply> => await transact(e, 'TXN', text)
const cnos = async (e: Env, trigger?: string): Promise<number> => await metric(e, 'tn3270_gateway_appc_cnos_total', trigger === undefined ? {} : { trigger })

/** Host POST /restart, then wait until the gateway's link is back (its start-of-day CNOS may still run). */
async function restartHost (t: Test, e: Env): Promise<number> {
  const t0 = Date.now()
  const r = await call(e.host, 'POST', '/restart', '')
  t.equal(r.status, 202, 'host accepted the restart')
  await pollUntil(async () => !(await modeInfo(e)).linkUp, 'gateway sees the link down', 5000, 5)
  await pollUntil(async () => (await modeInfo(e)).linkUp, 'gateway link back up', 20_000, 5)
  return Date.now() - t0
}

t.test('defaults, host POST /restart: the next transaction after the link is back works after exactly one CNOS', async t => {
  const e = await start(t)
  const first = await txn(e, 'one')
  t.equal(first.status, 200)
  t.match(first.text, /^ONE TXN#1 LEN=3 CKSUM=0142$/)
  const before = await cnos(e)
  t.equal(before, 1, 'one start-of-day CNOS so far')
  const ms = await restartHost(t, e)
  t.comment(`host restart → gateway link back up in ${ms} ms`)
  const second = await txn(e, 'two')
  t.equal(second.status, 200, `transaction after the restart: ${second.text}`)
  t.match(second.text, /^TWO TXN#2 LEN=3 CKSUM=015A$/)
  t.equal(await cnos(e) - before, 1, 'exactly one CNOS')
  t.equal(await cnos(e, 'start_of_day'), 2, 'the link-up (start-of-day) CNOS')
  t.equal(await metric(e, 'tn3270_gateway_appc_bind_failures_total'), 0, 'no BIND was refused')
  t.equal((await txn(e, 'three')).status, 200)
  t.equal(await cnos(e) - before, 1, 'and no more CNOS after')
})

t.test('defaults, partner LU restart with the link up: one recovery CNOS (RETRYCNOS on 0805 0000) and it works', async t => {
  const e = await start(t)
  t.equal((await txn(e, 'one')).status, 200)
  const boundBefore = (await modeInfo(e)).sessions.length
  t.equal(boundBefore, 1)
  e.demo.hosts[0]!.partner!.restart()
  await pollUntil(async () => (await modeInfo(e)).sessions.length === 0, 'the restart UNBIND reached the gateway', 5000, 5)
  t.ok((await modeInfo(e)).linkUp, 'the link stayed up')
  const before = await cnos(e)
  const r = await txn(e, 'two')
  t.equal(r.status, 200, `transaction after the partner restart: ${r.text}`)
  t.match(r.text, /^TWO TXN#2 /)
  t.equal(await cnos(e) - before, 1, 'exactly one CNOS')
  t.equal(await metric(e, 'tn3270_gateway_appc_cnos_total', { trigger: 'recovery', result: 'accepted' }), 1, 'trigger=recovery')
  t.equal(await metric(e, 'tn3270_gateway_appc_bind_failures_total', { partner: 'HOSTA', mode: '#INTER', sense: '08050000' }), 1)
  t.equal((await modeInfo(e)).recovery, 'normal')
  t.match(e.logs.filter(l => l.event === 'appc_bind_failure'), [{ level: 'warn', gateway: 'gw1', partner: 'HOSTA', mode: '#INTER', sense: '08050000', decision: 'renegotiate' }])
})

t.test('renegLimits=false retryCnos=false: a clear error on every try until the link restarts', async t => {
  const e = await start(t, ['appc.renegLimits=false', 'appc.retryCnos=false'])
  t.equal((await txn(e, 'one')).status, 200)
  e.demo.hosts[0]!.partner!.restart()
  await pollUntil(async () => (await modeInfo(e)).sessions.length === 0, 'the restart UNBIND reached the gateway', 5000, 5)
  for (let i = 0; i < 3; i++) {
    const r = await txn(e, 'again')
    t.equal(r.status, 503, `try ${i + 1}: HTTP 503`)
    const j = JSON.parse(r.text) as { error: string, code: string }
    t.equal(j.code, 'TN3270LB_ERR_APPC_ALLOCATION')
    t.match(j.error, /BIND to partner HOSTA mode #INTER was rejected \(sense 08050000\).*renegLimits and retryCnos are both off/, 'names the sense and the reason')
    if (i === 0) t.comment(`error: ${j.error}`)
  }
  t.equal(await cnos(e, 'recovery'), 0, 'no renegotiation')
  t.equal(await metric(e, 'tn3270_gateway_appc_bind_failures_total', { sense: '08050000' }), 3)
  t.equal(e.logs.filter(l => l.event === 'appc_bind_failure' && l.sense === '08050000' && l.decision === 'fail').length, 3, 'a warn line with the sense per refused BIND')
  // "until the connection is restarted": the host restart drops and re-activates the link
  const ms = await restartHost(t, e)
  t.comment(`link restart took ${ms} ms`)
  const r = await txn(e, 'back')
  t.equal(r.status, 200, `after the link restart: ${r.text}`)
  t.match(r.text, /^BACK TXN#2 /)
  t.equal(await cnos(e, 'start_of_day'), 2, 'the link restart ran a start-of-day CNOS')
  t.equal(await cnos(e, 'recovery'), 0)
})

t.test('host BIND rejections (POST /faults rejectBinds) show up in bind_failures_total{sense} and a log line', async t => {
  const e = await start(t)
  // no session bound yet (no autoactivation), so the first TXN must BIND
  let f = await call(e.host, 'POST', '/faults', JSON.stringify({ rejectBinds: { sense: '08010000', count: 1 } }))
  t.equal(f.status, 200)
  let r = await txn(e, 'abc')
  t.equal(r.status, 200, '0801xxxx is in the RETRYCNOS table: renegotiated once and bound')
  t.equal(await metric(e, 'tn3270_gateway_appc_bind_failures_total', { partner: 'HOSTA', mode: '#INTER', sense: '08010000' }), 1)
  t.equal(await cnos(e, 'recovery'), 1)
  t.match(e.logs.filter(l => l.event === 'appc_bind_failure'), [{ level: 'warn', partner: 'HOSTA', mode: '#INTER', sense: '08010000', decision: 'renegotiate', msg: /failed with 08010000/ }])
  t.match(e.logs.filter(l => l.event === 'appc_bind_fault'), [{ sense: '08010000' }], 'the host simulator logged the fault too')

  // a fresh start for 08063426: every BIND refused → one renegotiation, then a clear error
  const e2 = await start(t)
  f = await call(e2.host, 'POST', '/faults', JSON.stringify({ rejectBinds: { sense: '08063426' } }))
  t.equal(f.status, 200)
  r = await txn(e2, 'abc')
  t.equal(r.status, 503)
  const j = JSON.parse(r.text) as { error: string }
  t.match(j.error, /rejected \(sense 08063426\).*after the one CNOS renegotiation/)
  t.comment(`error: ${j.error}`)
  t.equal(await metric(e2, 'tn3270_gateway_appc_bind_failures_total', { sense: '08063426' }), 2, 'the BIND and the re-BIND after the CNOS')
  t.equal(await cnos(e2, 'recovery'), 1, 'one renegotiation, not two')
  t.same(e2.logs.filter(l => l.event === 'appc_bind_failure').map(l => [l.sense, l.decision]), [['08063426', 'renegotiate'], ['08063426', 'fail']])
  const hostFaults = JSON.parse((await call(e2.host, 'GET', '/faults')).text) as { rejectBinds: { rejected: number } }
  t.equal(hostFaults.rejectBinds.rejected, 2, 'the host refused two BINDs')
  // the fault cleared, the application retries and succeeds
  t.equal((await call(e2.host, 'DELETE', '/faults')).status, 200)
  r = await txn(e2, 'abc')
  t.equal(r.status, 200)
})

t.test('renegLimits=false retryCnos=false: transactions sent while the link comes back never meet the zeroed limits', async t => {
  // The host restart zeroes the partner's limits; the gateway keeps its own (KB Q107866) and runs a
  // start-of-day CNOS at link up. A transaction that arrives in between must wait for that CNOS
  // instead of sending its BIND first (which the partner would refuse with 0805 0000).
  const e = await start(t, ['appc.renegLimits=false', 'appc.retryCnos=false'])
  t.equal((await txn(e, 'one')).status, 200)
  const outcomes: Array<{ at: number, status: number, text: string }> = []
  let stop = false
  const t0 = Date.now()
  const workers = Array.from({ length: 4 }, async (_, w) => {
    let okAfterUp = 0
    while (!stop && okAfterUp < 5) {
      const r = await txn(e, `w${w}`)
      outcomes.push({ at: Date.now() - t0, ...r })
      if (r.status === 200) okAfterUp++
      else await new Promise(resolve => setImmediate(resolve))
    }
  })
  const restarted = call(e.host, 'POST', '/restart', '')
  const done = Promise.all(workers)
  const timer = setTimeout(() => { stop = true }, 20_000)
  await done
  clearTimeout(timer)
  t.equal((await restarted).status, 202)
  const firstDown = outcomes.findIndex(o => o.status !== 200)
  const failures = outcomes.filter(o => o.status !== 200)
  const kinds = new Map<string, number>()
  for (const f of failures) {
    const k = (JSON.parse(f.text) as { error: string }).error.replace(/\d+/g, 'N')
    kinds.set(k, (kinds.get(k) ?? 0) + 1)
  }
  t.comment(`${outcomes.length} transactions during the restart, ${failures.length} failed: ${JSON.stringify([...kinds])}`)
  t.ok(firstDown >= 0, 'some transactions met the link down')
  t.same(failures.filter(f => !/host link to HOSTA \(partner HOSTA\) (is|went) down/.test(f.text)).map(f => f.text), [], 'the only errors are "link down"; none is a refused BIND')
  t.equal(await metric(e, 'tn3270_gateway_appc_bind_failures_total'), 0, 'no BIND refused')
  t.equal(outcomes.filter(o => o.status === 200).length >= 20, true, 'every worker got through after the link came back')
})

t.test('partner LU restart over the host admin API (no link outage): with both settings off the next BIND fails', async t => {
  const e = await start(t, ['appc.renegLimits=false', 'appc.retryCnos=false'])
  t.equal((await txn(e, 'one')).status, 200)
  const r = await call(e.host, 'POST', '/appc/restart', '')
  t.equal(r.status, 202, `host POST /appc/restart: ${r.status} ${r.text}`)
  if (r.status !== 202) return
  await pollUntil(async () => (await modeInfo(e)).sessions.length === 0, 'the restart UNBIND reached the gateway', 5000, 5)
  t.ok((await modeInfo(e)).linkUp, 'the link stayed up')
  const again = await txn(e, 'two')
  t.equal(again.status, 503)
  t.match(again.text, /sense 08050000/)
})
