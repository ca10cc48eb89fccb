// KB Q107866 end to end: engine ↔ Lu62Partner over the in-memory link.
import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger } from '../../lib/observability/index.js'
import { fixture } from './fixture.js'

const TXN = (f: Awaited<ReturnType<typeof fixture>>, text = 'abc'): Promise<Buffer> => f.engine.transact('HOSTLU', 'APPCMODE', 'TXN', Buffer.from(text))

t.test('defaults: after the partner restarts, the next transaction succeeds after exactly one CNOS', async t => {
  const f = await fixture()
  t.teardown(() => { f.engine.close() })
  t.equal((await TXN(f, 'one')).toString(), 'ONE TXN#1 LEN=3 CKSUM=0142')
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'start_of_day', result: 'accepted' }), 1)
  f.partner.restart()
  await f.settle()
  t.same(f.engine.sessions()[0]!.sessions, [], 'the restart ended the gateway\'s sessions')
  const before = await f.metric('tn3270_gateway_appc_cnos_total')
  t.equal((await TXN(f, 'two')).toString(), 'TWO TXN#2 LEN=3 CKSUM=015A')
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total') - before, 1, 'exactly one CNOS')
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery', result: 'accepted' }), 1)
  t.equal(await f.metric('tn3270_gateway_appc_bind_failures_total', { partner: 'HOSTLU', mode: 'APPCMODE', sense: '08050000' }), 1)
  t.equal(f.engine.sessions()[0]!.recovery, 'normal')
  t.equal((await TXN(f, 'three')).toString().slice(0, 5), 'THREE', 'and it stays healthy')
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total') - before, 1)
})

t.test('renegLimits and retryCnos both off: fails with a clear error until the link restarts', async t => {
  const f = await fixture({ appc: { renegLimits: false, retryCnos: false } })
  t.teardown(() => { f.engine.close() })
  await TXN(f)
  f.partner.restart()
  await f.settle()
  for (let i = 0; i < 3; i++) {
    await t.rejects(TXN(f), { code: 'TN3270LB_ERR_APPC_ALLOCATION', message: /rejected \(sense 08050000\).*renegLimits and retryCnos are both off/ })
  }
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery' }), 0, 'no renegotiation')
  t.equal(await f.metric('tn3270_gateway_appc_bind_failures_total', { sense: '08050000' }), 3)
  f.link.disconnect()
  await t.rejects(TXN(f), { message: /host link to HOSTA .* is down/ })
  f.link.connect()
  await f.settle()
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'start_of_day', result: 'accepted' }), 2, 'link up = start of day')
  t.match((await TXN(f)).toString(), /^ABC TXN#2/)
})

t.test('renegLimits overrides retryCnos: renegotiates after any sense', async t => {
  const f = await fixture({ appc: { renegLimits: true, retryCnos: false } })
  t.teardown(() => { f.engine.close() })
  await TXN(f)
  f.partner.restart()
  await f.settle()
  f.partner.injectBindFailure(0x08350018)
  t.match((await TXN(f)).toString(), /^ABC/)
  t.equal(await f.metric('tn3270_gateway_appc_bind_failures_total', { sense: '08350018' }), 1)
  t.equal(await f.metric('tn3270_gateway_appc_bind_failures_total', { sense: '08050000' }), 0, 'the re-BIND after the CNOS worked')
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery' }), 1)
})

t.test('retryCnos alone does not renegotiate for a sense outside its table', async t => {
  const f = await fixture()
  t.teardown(() => { f.engine.close() })
  await TXN(f)
  f.partner.restart()
  await f.settle()
  f.partner.injectBindFailure(0x08060014)
  await t.rejects(TXN(f), { message: /sense 08060014.*retryCnos renegotiates only after UNBIND, 08063426, 0805xxxx or 0801xxxx/ })
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery' }), 0)
  // the application retries: now the BIND meets the zeroed limits (0805) and retryCnos applies
  t.match((await TXN(f)).toString(), /^ABC/)
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery' }), 1)
})

t.test('retryCnos covers a BIND answered by UNBIND and 08063426 (KB Q216202)', async t => {
  const f = await fixture()
  t.teardown(() => { f.engine.close() })
  f.partner.injectBindFailure('UNBIND')
  t.match((await TXN(f)).toString(), /^ABC/)
  t.equal(await f.metric('tn3270_gateway_appc_bind_failures_total', { sense: 'UNBIND' }), 1)
  f.partner.restart()
  await f.settle()
  f.partner.injectBindFailure(0x08063426)
  t.match((await TXN(f)).toString(), /^ABC/)
  t.equal(await f.metric('tn3270_gateway_appc_bind_failures_total', { sense: '08063426' }), 1)
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery', result: 'accepted' }), 2)
})

t.test('only once: a BIND that fails again after the renegotiation ends the allocation', async t => {
  const f = await fixture()
  t.teardown(() => { f.engine.close() })
  await TXN(f)
  f.partner.restart()
  await f.settle()
  f.partner.injectBindFailure(0x08010000, 2)
  await t.rejects(TXN(f), { message: /sense 08010000.*after the one CNOS renegotiation; no further attempts until the link restarts or the application retries/ })
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery' }), 1, 'one renegotiation, not two')
  t.equal(f.engine.sessions()[0]!.recovery, 'exhausted')
  t.match((await TXN(f)).toString(), /^ABC/, 'the application retries and succeeds (limits were renegotiated)')
  t.equal(f.engine.sessions()[0]!.recovery, 'normal')
})

t.test('a failed renegotiation: no more attempts, queued allocations fail, a retry tries again', async t => {
  const f = await fixture({ mode: { sessionLimit: 1, minWinners: 1 } })
  t.teardown(() => { f.engine.close() })
  await TXN(f)
  f.partner.restart()
  await f.settle()
  f.partner.injectCnosFailure(1)
  // the second allocation queues behind the first (limit 1, the first BIND is pending)
  const [a, b] = await Promise.allSettled([TXN(f, 'a'), TXN(f, 'b')])
  t.match(a, { status: 'rejected', reason: { message: /CNOS renegotiation failed.*does not recognise mode APPCMODE.*no further attempts/ } })
  t.match(b, { status: 'rejected', reason: { message: /CNOS renegotiation failed/ } })
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery', result: 'failed' }), 1)
  t.equal(f.engine.sessions()[0]!.recovery, 'exhausted')
  t.match((await TXN(f, 'c')).toString(), /^C TXN/, 'application retry')
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery', result: 'accepted' }), 1)
})

t.test('no renegotiation while other sessions are active', async t => {
  const f = await fixture()
  t.teardown(() => { f.engine.close() })
  const held = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  f.partner.injectBindFailure(0x08050000)
  await t.rejects(TXN(f), { message: /with 1 active session\(s\) on the connection/ })
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery' }), 0)
  held.send(Buffer.from('x'))
  const r = await held.receive()
  t.same(r, { what: 'data', data: Buffer.from('x') })
})

t.test('start-of-day CNOS failure: allocation fails and retries CNOS next time', async t => {
  const f = await fixture({ connect: false })
  t.teardown(() => { f.engine.close() })
  f.partner.injectCnosFailure(2)
  f.link.connect()
  await f.settle()
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'start_of_day', result: 'failed' }), 1)
  await t.rejects(TXN(f), { code: 'TN3270LB_ERR_APPC_CNOS', message: /does not recognise mode/ })
  t.match((await TXN(f)).toString(), /^ABC/)
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'start_of_day', result: 'accepted' }), 1)
})

t.test('CNOS and BIND failures are logged as events with the sense', async t => {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({ write (chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); cb() } })
  const f = await fixture({ logger: createLogger({ level: 'info', destination }) })
  t.teardown(() => { f.engine.close() })
  await TXN(f)
  f.partner.restart()
  await f.settle()
  await TXN(f)
  await f.settle()
  t.match(lines.filter(l => l.event === 'appc_cnos'), [
    { level: 'info', partner: 'HOSTLU', mode: 'APPCMODE', trigger: 'start_of_day', result: 'accepted', limits: { sessionLimit: 4 } },
    { level: 'info', trigger: 'recovery', result: 'accepted' },
  ])
  t.match(lines.filter(l => l.event === 'appc_bind_failure'), [{ level: 'warn', partner: 'HOSTLU', mode: 'APPCMODE', sense: '08050000', decision: 'renegotiate', reason: /retryCnos/ }])
  t.match(lines.filter(l => l.event === 'appc_unbind_received'), [{ type: 0x0e }], 'the restart UNBIND')
})
