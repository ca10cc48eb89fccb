// KB 831976 with a FakeClock: idle contention-winner sessions, reuse, abnormal ends.
import t from 'tap'
import { fixture } from './fixture.js'

const TXN = (f: Awaited<ReturnType<typeof fixture>>, text = 'abc'): Promise<Buffer> => f.engine.transact('HOSTLU', 'APPCMODE', 'TXN', Buffer.from(text))
const appSessions = (f: Awaited<ReturnType<typeof fixture>>) => f.engine.sessions()[0]!.sessions
const unbinds = (f: Awaited<ReturnType<typeof fixture>>) => f.log.filter(e => e.kind === 'UNBIND' && e.dir === 'to_host').length

t.test('sesTimeout 4: reuse within 20 s without a new BIND, unbind after 20 s idle', async t => {
  const f = await fixture({ clock: 'fake', appc: { sesTimeout: 4 } })
  t.teardown(() => { f.engine.close() })
  await TXN(f)
  t.equal(f.binds(), 1)
  f.fake!.advance(19_999)
  await f.settle()
  t.equal(appSessions(f).length, 1, 'still bound at 19.999 s')
  t.ok(appSessions(f)[0]!.idleMs! >= 19_999)
  await TXN(f)
  t.equal(f.binds(), 1, 'second transaction within 20 s reused the session: no new BIND')
  f.fake!.advance(19_999)
  await f.settle()
  t.equal(appSessions(f).length, 1, 'the idle time restarted with the second transaction')
  f.fake!.advance(1)
  await f.settle()
  t.equal(appSessions(f).length, 0, 'unbound after 20 s idle')
  t.equal(unbinds(f), 1)
  t.equal(await f.metric('tn3270_gateway_appc_sestimeout_unbinds_total', { partner: 'HOSTLU', mode: 'APPCMODE' }), 1)
  t.same(f.partner.sessionList().map(s => s.mode), ['SNASVCMG'], 'the partner saw the UNBIND too')
  t.equal(await f.metric('tn3270_gateway_appc_sessions', { mode: 'APPCMODE' }), 0)
  await TXN(f)
  t.equal(f.binds(), 2, 'the next transaction binds again')
})

t.test('sesTimeout 0: the idle session stays bound', async t => {
  const f = await fixture({ clock: 'fake', appc: { sesTimeout: 0 } })
  t.teardown(() => { f.engine.close() })
  await TXN(f)
  f.fake!.advance(3_600_000)
  await f.settle()
  t.equal(appSessions(f).length, 1)
  t.equal(await f.metric('tn3270_gateway_appc_sestimeout_unbinds_total'), 0)
  t.equal(await f.metric('tn3270_gateway_appc_sessions', { mode: 'APPCMODE', polarity: 'winner', state: 'bound' }), 1)
  await TXN(f)
  t.equal(f.binds(), 1)
})

for (const sesTimeout of [0, 4]) {
  t.test(`sesTimeout ${sesTimeout}: cancel and TP_ENDED(HARD) always get an UNBIND cleanup`, async t => {
    const f = await fixture({ clock: 'fake', appc: { sesTimeout } })
    t.teardown(() => { f.engine.close() })
    const conv = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'APINGD' })
    conv.send(Buffer.from('hello'))
    t.same(await conv.receive(), { what: 'data', data: Buffer.from('hello') })
    t.same(await conv.receive(), { what: 'send' })
    conv.cancel()
    await t.rejects(conv.receive(), { code: 'TN3270LB_ERR_APPC_CONVERSATION', message: /ended by cancel/ })
    await f.settle()
    t.equal(conv.state, 'failed')
    t.equal(unbinds(f), 1, 'UNBIND sent at once, no timer involved')
    t.equal(appSessions(f).length, 0)
    t.same(f.partner.sessionList().map(s => s.mode), ['SNASVCMG'])
    t.equal(await f.metric('tn3270_gateway_appc_sestimeout_unbinds_total'), 0, 'not counted as SESTIMEOUT')
    const c2 = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
    t.equal(f.binds(), 2, 'a fresh session for the next conversation')
    c2.tpEnded(true)
    await f.settle()
    t.equal(unbinds(f), 2)
    t.throws(() => { c2.send(Buffer.alloc(1)) }, /not allowed in conversation state failed/)
    c2.cancel() // idempotent
    t.equal(unbinds(f), 2)
  })
}

t.test('only gateway-initiated, non-autoactivated winner sessions time out', async t => {
  const f = await fixture({ clock: 'fake', appc: { sesTimeout: 1 }, mode: { sessionLimit: 3, minWinners: 1, minPartnerWinners: 1, autoActivate: 1 } })
  t.teardown(() => { f.engine.close() })
  await f.settle()
  t.match(appSessions(f), [{ autoActivated: true, polarity: 'winner', state: 'bound' }], 'autoactivated at start of day')
  // hold three conversations: the autoactivated winner, one more winner, then a loser (BID)
  const convs = []
  for (let i = 0; i < 3; i++) convs.push(await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' }))
  t.same(appSessions(f).map(s => s.polarity).sort(), ['loser', 'winner', 'winner'])
  for (const c of convs) {
    c.send(Buffer.from('x'))
    for (;;) { const r = await c.receive(); if (r.what === 'deallocated') break }
  }
  t.same(appSessions(f).map(s => s.state), ['bound', 'bound', 'bound'])
  f.fake!.advance(5_000)
  await f.settle()
  t.match(appSessions(f).map(s => ({ polarity: s.polarity, autoActivated: s.autoActivated })).sort((a, b) => a.polarity.localeCompare(b.polarity)), [
    { polarity: 'loser', autoActivated: false },
    { polarity: 'winner', autoActivated: true },
  ], 'the plain winner went; the loser and the autoactivated winner stay')
  t.equal(await f.metric('tn3270_gateway_appc_sestimeout_unbinds_total'), 1)
})

t.test('autoactivated sessions come back after a recovery CNOS', async t => {
  const f = await fixture({ clock: 'fake', mode: { autoActivate: 1 } })
  t.teardown(() => { f.engine.close() })
  t.match(appSessions(f), [{ autoActivated: true }])
  f.partner.restart()
  await f.settle()
  t.same(appSessions(f), [])
  await TXN(f)
  await f.settle()
  t.equal(appSessions(f).filter(s => s.autoActivated).length, 1, 'autoactivated again after the recovery CNOS')
})
