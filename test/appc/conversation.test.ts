// Conversations end to end: mapped/basic, confirm/confirmed, deallocate types, FMH-7 errors,
// BID on loser sessions, the allocation queue and 100 concurrent transactions over 8 sessions.
import t from 'tap'
import { fixture } from './fixture.js'
import { Lu62Partner, AppcEngine, receiveAll, type TpHandler } from '../../lib/appc/index.js'
import { MemoryLink } from '../helpers/memory-link.js'
import { silentLogger } from '../../lib/observability/index.js'
import { appcConfig, settle } from './fixture.js'
import { decodePiu } from '../../lib/sna/piu.js'

t.test('100 concurrent transactions over a mode limited to 8 sessions', async t => {
  const f = await fixture({ mode: { sessionLimit: 8, minWinners: 4, minPartnerWinners: 4 }, partnerMode: { sessionLimit: 8 } })
  t.teardown(() => { f.engine.close() })
  let maxBound = 0
  let maxEngine = 0
  f.link.trace.push(() => {
    maxBound = Math.max(maxBound, f.partner.sessionList().filter(s => s.mode === 'APPCMODE').length)
    maxEngine = Math.max(maxEngine, f.engine.sessions()[0]!.sessions.length)
  })
  const inputs = Array.from({ length: 100 }, (_, i) => `txn ${i}`)
  const out = await Promise.all(inputs.map(s => f.engine.transact('HOSTLU', 'APPCMODE', 'TXN', Buffer.from(s))))
  for (let i = 0; i < 100; i++) t.match(out[i]!.toString(), new RegExp(`^TXN ${i} TXN#\\d+ LEN=${inputs[i]!.length} CKSUM=[0-9A-F]{4}$`))
  t.same(new Set(out.map(o => /#(\d+)/.exec(o.toString())![1])).size, 100, 'each transaction ran once')
  t.ok(maxBound <= 8, `partner never had more than 8 sessions bound (max ${maxBound})`)
  t.ok(maxEngine <= 8, `engine never held more than 8 sessions (max ${maxEngine})`)
  t.equal(maxEngine, 8, 'and it did use all 8')
  t.equal(f.binds(), 8, 'sessions were reused from the queue')
  const polarities = f.engine.sessions()[0]!.sessions.map(s => s.polarity).sort()
  t.same(polarities, ['loser', 'loser', 'loser', 'loser', 'winner', 'winner', 'winner', 'winner'], 'minPartnerWinners 4 → 4 winners + 4 losers (BID first)')
})

t.test('allocation queue times out when every session stays busy', async t => {
  const f = await fixture({ clock: 'fake', mode: { sessionLimit: 1, minWinners: 1 }, appc: { allocateTimeout: 2000 } })
  t.teardown(() => { f.engine.close() })
  const held = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  const waiting = f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  await f.settle()
  t.equal(f.engine.sessions()[0]!.waiting, 1)
  f.fake!.advance(2000)
  await t.rejects(waiting, { code: 'TN3270LB_ERR_APPC_ALLOCATION', message: /within the allocate timeout \(limit 1, all in use\)/ })
  await t.rejects(f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO', timeoutMs: 0 }), /allocate timeout/)
  // a queued request gets the session as soon as the holder deallocates
  const next = f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  held.send(Buffer.from('x'))
  t.same((await receiveAll(held)).toString(), 'x')
  const c = await next
  c.send(Buffer.from('y'))
  t.equal((await receiveAll(c)).toString(), 'y')
  t.equal(f.binds(), 1)
})

t.test('confirm / confirmed, deallocate with sync level confirm, basic conversations', async t => {
  const seen: string[] = []
  const CONF: TpHandler = async (conv) => {
    // receive data + CONFIRM, answer, then receive the deallocation with confirm
    for (;;) {
      const r = await conv.receive()
      seen.push(r.what === 'confirm' ? `confirm:${r.next}` : r.what === 'data' ? `data:${r.data.toString()}` : r.what)
      if (r.what === 'confirm') { conv.confirmed(); if (r.next === 'deallocated') return; if (r.next === 'send') break }
      if (r.what === 'send') break
    }
    conv.send(Buffer.from('reply'))
    await conv.confirm()
    await conv.deallocate('sync_level')
  }
  const link = new MemoryLink('HOSTA', 'gw1')
  const engine = new AppcEngine({ config: appcConfig(), localLu: 'GWLU', transport: link.gatewaySide, logger: silentLogger() })
  const partner = new Lu62Partner({ lu: 'HOSTLU', modes: [{ name: 'APPCMODE', sessionLimit: 4, minWinners: 0 }], tps: ['ECHO', { name: 'CONF', handler: CONF }], transport: link.hostSide, logger: silentLogger() })
  link.attach(engine, partner)
  link.connect()
  await settle()
  t.teardown(() => { engine.close(); partner.close() })

  const conv = await engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'CONF', syncLevel: 'confirm' })
  conv.send(Buffer.from('one'))
  await conv.confirm()
  t.equal(conv.state, 'send')
  conv.send(Buffer.from('two'))
  t.same(await conv.receive(), { what: 'data', data: Buffer.from('reply') }, 'CD turned the direction; partner replied')
  t.same(await conv.receive(), { what: 'confirm', next: 'receive' })
  t.equal(conv.state, 'confirm_received')
  t.throws(() => { conv.send(Buffer.alloc(1)) }, /send is not allowed in conversation state confirm_received/)
  conv.confirmed()
  t.same(await conv.receive(), { what: 'confirm', next: 'deallocated' })
  conv.confirmed()
  t.equal(conv.state, 'deallocated')
  t.same(seen, ['data:one', 'confirm:receive', 'data:two', 'send'])

  const basic = await engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO', type: 'basic', syncLevel: 'confirm' })
  t.equal(basic.type, 'basic')
  basic.send(Buffer.from([0x00, 0x05, 0x41, 0x42, 0x43]))
  t.same(await receiveAll(basic), Buffer.from([0x00, 0x05, 0x41, 0x42, 0x43]), 'basic: logical records travel as they are')

  const none = await engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  await t.rejects(none.confirm(), /needs sync level confirm/)
  await none.deallocate('sync_level')
  t.equal(none.state, 'deallocated')
  t.throws(() => { none.confirmed() }, /confirmed is not allowed/)

  // a conversation deallocated with confirm by the gateway
  const dc = await engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'CONF', syncLevel: 'confirm' })
  seen.length = 0
  dc.send(Buffer.from('bye'))
  await dc.deallocate()
  t.same(seen, ['data:bye', 'confirm:deallocated'])
})

t.test('partner errors: unknown TP (FMH-7 1008 6021), deallocate abend, TP failure', async t => {
  const BOOM: TpHandler = async (conv) => {
    await conv.receive()
    throw new Error('application bug')
  }
  const ABEND: TpHandler = async (conv) => {
    await conv.receive()
    await conv.deallocate('abend')
  }
  const link = new MemoryLink('HOSTA', 'gw1')
  const engine = new AppcEngine({ config: appcConfig(), localLu: 'GWLU', transport: link.gatewaySide, logger: silentLogger() })
  const partner = new Lu62Partner({ lu: 'HOSTLU', modes: [{ name: 'APPCMODE', sessionLimit: 4, minWinners: 0 }], tps: [{ name: 'BOOM', handler: BOOM }, { name: 'ABEND', handler: ABEND }, 'ECHO'], transport: link.hostSide, logger: silentLogger() })
  link.attach(engine, partner)
  const piuLog: string[] = []
  link.trace.push((dir, b) => { const p = decodePiu(b); if (dir === 'to_gateway' && p.rh?.rri === true && p.rh.rti) piuLog.push(p.ru.subarray(0, 4).toString('hex')) })
  link.connect()
  await settle()
  t.teardown(() => { engine.close(); partner.close() })
  await t.rejects(engine.transact('HOSTLU', 'APPCMODE', 'NOSUCHTP', Buffer.from('x')), { code: 'TN3270LB_ERR_APPC_CONVERSATION', sense: 0x10086021, message: /sense 10086021/ })
  t.same(piuLog, ['08460000'], '-RSP 0846 (ERP message forthcoming) came first (GA27-3136 Sense Data, KB Q156083)')
  await t.rejects(engine.transact('HOSTLU', 'APPCMODE', 'BOOM', Buffer.from('x')), { sense: 0x08640000, message: /sense 08640000/ })
  await t.rejects(engine.transact('HOSTLU', 'APPCMODE', 'ABEND', Buffer.from('x')), { sense: 0x08640000, message: /sense 08640000/ })
  t.equal(engine.sessions()[0]!.sessions.length, 1, 'errors ended the brackets cleanly; the session stays for reuse')
  t.equal((await engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from('still fine'))).toString(), 'still fine')
  t.throws(() => new Lu62Partner({ lu: 'X', modes: [], tps: ['NOPE'], transport: link.hostSide, logger: silentLogger() }), /unknown built-in TP 'NOPE'/)
})

t.test('engine API errors and the link going down under a conversation', async t => {
  const f = await fixture()
  await t.rejects(f.engine.allocate({ partner: 'NOPE', mode: 'APPCMODE', tp: 'ECHO' }), { code: 'TN3270LB_ERR_APPC_API', message: /unknown APPC partner 'NOPE' \(configured: HOSTLU\)/ })
  await t.rejects(f.engine.allocate({ partner: 'HOSTLU', mode: 'NOMODE', tp: 'ECHO' }), { message: /has no mode 'NOMODE' \(configured: APPCMODE\)/ })
  await t.rejects(f.engine.cnos('HOSTLU', 'APPCMODE', { sessionLimit: 2, minWinners: 2, minPartnerWinners: 1 }), { code: 'TN3270LB_ERR_APPC_API', message: /exceed sessionLimit 2/ })
  const conv = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'APINGD' })
  conv.send(Buffer.from('x'))
  t.same(await conv.receive(), { what: 'data', data: Buffer.from('x') })
  t.same(await conv.receive(), { what: 'send' })
  const waiting = conv.receive()
  f.link.disconnect()
  await t.rejects(waiting, { message: /host link to HOSTA \(partner HOSTLU\) went down/ })
  t.equal(f.engine.sessions()[0]!.sessions.length, 0)
  t.equal(f.partner.sessionList().length, 0)
  await t.rejects(f.engine.cnos('HOSTLU', 'APPCMODE'), { code: 'TN3270LB_ERR_APPC_CNOS', message: /is down/ })
  f.link.connect()
  await settle()
  t.equal((await f.engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from('back'))).toString(), 'back')
  f.engine.close()
  await t.rejects(f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' }), /engine is closed/)
  t.throws(() => new AppcEngine({ config: appcConfig({ mode: { sessionLimit: 2, minWinners: 2, minPartnerWinners: 1 } }), localLu: 'GW', transport: f.link.gatewaySide, logger: silentLogger() }), /APPCMODE.*exceed sessionLimit 2/)
})

t.test('operator CNOS lowers the limits; partner may lower them further', async t => {
  const f = await fixture({ mode: { sessionLimit: 8, minWinners: 4 }, partnerMode: { sessionLimit: 6, minWinners: 1 } })
  t.teardown(() => { f.engine.close() })
  t.same(f.engine.sessions()[0]!.negotiated, { sessionLimit: 6, minWinners: 4, minPartnerWinners: 1 }, 'start of day: the partner lowered 8 → 6 and kept 1 winner')
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'start_of_day', result: 'negotiated' }), 1)
  await Promise.all([1, 2, 3].map(i => f.engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from(String(i)))))
  const before = f.engine.sessions()[0]!.sessions.length
  t.ok(before >= 1)
  const r = await f.engine.cnos('HOSTLU', 'APPCMODE', { sessionLimit: 1, minWinners: 1, minPartnerWinners: 0 })
  t.same(r.limits, { sessionLimit: 1, minWinners: 0, minPartnerWinners: 1 }, 'partner keeps its one winner: the gateway has none left')
  t.equal(r.trigger, 'operator')
  t.equal(r.negotiated, true)
  await settle()
  t.ok(f.engine.sessions()[0]!.sessions.length <= 1, 'free sessions beyond the new limit were unbound')
  t.equal((await f.engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from('z'))).toString(), 'z', 'works over the one (loser) session')
  t.same(f.engine.sessions()[0]!.sessions.map(s => s.polarity), ['loser'])
  t.same(f.partner.negotiated('gw1', 'GWLU', 'appcmode'), { sessionLimit: 1, minWinners: 1, minPartnerWinners: 0 })
})

t.test('link down and up while the SNASVCMG BIND is in flight: a fresh start-of-day CNOS', async t => {
  const f = await fixture({ connect: false })
  t.teardown(() => { f.engine.close() })
  let swallowed = 0
  f.hooks.toGateway = () => swallowed++ === 0 // the first +RSP(BIND SNASVCMG) never arrives
  f.link.connect()
  await settle()
  t.equal(f.engine.sessions()[0]!.negotiated, undefined, 'CNOS still waiting for its SNASVCMG session')
  f.link.disconnect()
  f.link.connect()
  await settle()
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'start_of_day', result: 'failed' }), 1, 'the first died with the link')
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'start_of_day', result: 'accepted' }), 1, 'the second ran on a new SNASVCMG session')
  t.equal((await f.engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from('ok'))).toString(), 'ok')
})
