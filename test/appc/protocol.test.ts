// Protocol edge cases: what each side does with PIUs it does not expect. A hook on the in-memory
// link lets a test swallow a PIU and answer it itself.
import t from 'tap'
import { fixture, settle } from './fixture.js'
import { decodePiu, encodePiu, requestRh, commandRh, buildNegativeResponse, buildPositiveResponse, type Piu } from '../../lib/appc/sna.js'
import { encodeBind, buildBind, encodeFmh7, encodeFmh5, attach, bindMode, decodeBind, receiveAll, type TpHandler } from '../../lib/appc/index.js'

type F = Awaited<ReturnType<typeof fixture>>

/** Address pair of the gateway's only application session (as the partner must answer it). */
function appSession (f: F): { daf: number, oaf: number } {
  const lfsid = f.engine.sessions()[0]!.sessions[0]!.lfsid.split('.').map(Number)
  return { daf: lfsid[2]!, oaf: lfsid[1]! } // partner → gateway: DAF' = sidl, OAF' = sidh
}
const th = (a: { daf: number, oaf: number }, snf = 1, efi = false): Piu['th'] => ({ mpf: 'whole', odai: true, efi, daf: a.daf, oaf: a.oaf, snf })
const negatives = (f: F): string[] => {
  const out: string[] = []
  f.link.trace.push((dir, b) => { const p = decodePiu(b); if (dir === 'to_host' && p.rh?.rri === true && p.rh.rti) out.push(p.ru.subarray(0, 4).toString('hex').toUpperCase()) })
  return out
}

t.test('gateway: stray, malformed and unsupported PIUs', async t => {
  const f = await fixture()
  t.teardown(() => { f.engine.close() })
  await f.engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from('x'))
  const a = appSession(f)
  const neg = negatives(f)
  f.engine.receive(Buffer.from([1, 2, 3]), 'HOSTA') // undecodable: dropped
  f.engine.receive(encodePiu({ th: th({ daf: 200, oaf: 200 }), rh: requestRh({}), ru: Buffer.alloc(0) }), 'HOSTA') // no such session
  f.engine.receive(encodePiu({ th: th(a), rh: requestRh({}), ru: Buffer.alloc(0) }), 'OTHERHOST') // wrong link
  f.engine.receive(encodePiu({ th: th(a), rh: commandRh('SC'), ru: Buffer.from([0xa0]) }), 'HOSTA') // SDT: not used on LU 6.2
  f.engine.receive(encodePiu({ th: th(a), rh: commandRh('DFC'), ru: Buffer.from([0xc8]) }), 'HOSTA') // BID from the partner
  // a partner-initiated Attach: the gateway serves no TPs → 084C 0000
  f.engine.receive(encodePiu({ th: th(a, 9), rh: requestRh({ fi: true, mode: 'RQE1', bbi: true, cdi: true }), ru: encodeFmh5(attach('HELLO', 'mapped')) }), 'HOSTA')
  await settle()
  t.same(neg, ['10030000', '10030000', '084C0000'])
  t.equal(f.engine.sessions()[0]!.sessions.length, 1, 'the session survives all of that')
  // a segment without RH or an unknown FM header type is a protocol error: UNBIND type FE
  f.engine.receive(encodePiu({ th: { ...th(a), mpf: 'last' }, ru: Buffer.from([1]) }), 'HOSTA')
  await settle()
  t.equal(f.engine.sessions()[0]!.sessions.length, 0, 'protocol error → session unbound')
  t.match(f.log.at(-1), { dir: 'to_host', kind: 'UNBIND' })
})

t.test('gateway: malformed +RSP(BIND), refused BID, -RSP to CONFIRM and to data', async t => {
  const f = await fixture({ mode: { sessionLimit: 2, minWinners: 0, minPartnerWinners: 2 } })
  t.teardown(() => { f.engine.close() })
  let mangle = true
  f.hooks.toGateway = (b) => {
    const p = decodePiu(b)
    if (mangle && p.rh?.rri === true && p.ru[0] === 0x31 && p.ru.length > 1) {
      mangle = false
      f.engine.receive(encodePiu({ ...p, ru: Buffer.from([0x31, 0x01]) }), 'HOSTA')
      return true
    }
    return false
  }
  await t.rejects(f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' }), { code: 'TN3270LB_ERR_APPC_ALLOCATION', message: /malformed \+RSP/ })
  // BID refused (0814): the allocation fails, the session goes back to the pool
  let refuse = true
  f.hooks.toHost = (b) => {
    const p = decodePiu(b)
    if (refuse && p.rh?.rri === false && p.rh.category === 'DFC' && p.ru[0] === 0xc8) {
      refuse = false
      queueMicrotask(() => { f.engine.receive(encodePiu(buildNegativeResponse(p, 0x08140000)), 'HOSTA') })
      return true
    }
    return false
  }
  await t.rejects(f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' }), /refused BID.*08140000/)
  t.match(f.engine.sessions()[0]!.sessions, [{ polarity: 'loser', state: 'bound' }])
  const c = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO', syncLevel: 'confirm' })
  t.equal(f.binds(), 2, 'the refused session was reused after a successful BID')
  // -RSP to the CONFIRM
  f.hooks.toHost = (b) => {
    const p = decodePiu(b)
    if (p.rh?.rri === false && p.rh.category === 'FMD' && p.rh.eci && p.rh.dr1 && !p.rh.eri) {
      queueMicrotask(() => { f.engine.receive(encodePiu(buildNegativeResponse(p, 0x08890000)), 'HOSTA') })
      return true
    }
    return false
  }
  c.send(Buffer.from('x'))
  await t.rejects(c.confirm(), { code: 'TN3270LB_ERR_APPC_CONVERSATION', message: /refused the confirmation.*08890000/ })
  t.equal(c.state, 'failed')
  await settle()
  t.equal(f.engine.sessions()[0]!.sessions.length, 0, 'UNBIND cleanup after the failed confirmation')
  // -RSP to plain data (not 0846): the conversation fails
  f.hooks.toHost = (b) => {
    const p = decodePiu(b)
    if (p.rh?.rri === false && p.rh.category === 'FMD' && p.rh.cdi) {
      queueMicrotask(() => { f.engine.receive(encodePiu(buildNegativeResponse(p, 0x20030000)), 'HOSTA') })
      return true
    }
    return false
  }
  const d = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  d.send(Buffer.from('y'))
  await t.rejects(d.receive(), { message: /negative response on the conversation with ECHO.*20030000/ })
})

t.test('gateway: FMH-7 without CEB, bad GDS data, unknown FM header', async t => {
  const f = await fixture()
  t.teardown(() => { f.engine.close() })
  let hold = true
  f.hooks.toHost = (b) => hold && decodePiu(b).rh?.category === 'FMD'
  const c = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  c.send(Buffer.from('x'))
  const r1 = c.receive()
  await settle()
  const a = appSession(f)
  // SEND_ERROR-style FMH-7 without CEB: error reported, conversation continues in receive state
  f.engine.receive(encodePiu({ th: th(a, 1), rh: requestRh({ fi: true, mode: 'RQE1' }), ru: encodeFmh7({ sense: 0x08890000, errorLogFollows: false }) }), 'HOSTA')
  await t.rejects(r1, { sense: 0x08890000, message: /08890000/ })
  t.equal(c.state, 'receive')
  // chained data in two RUs, then CD
  f.engine.receive(encodePiu({ th: th(a, 2), rh: requestRh({ mode: 'RQE1', eci: false }), ru: Buffer.from([0x00, 0x07, 0x12, 0xff]) }), 'HOSTA')
  f.engine.receive(encodePiu({ th: th(a, 3), rh: requestRh({ mode: 'RQE1', bci: false, cdi: true }), ru: Buffer.from('abc') }), 'HOSTA')
  t.same(await c.receive(), { what: 'data', data: Buffer.from('abc') }, 'GDS record reassembled across RUs')
  t.same(await c.receive(), { what: 'send' })
  c.send(Buffer.from('z'))
  const r2 = c.receive()
  await settle()
  f.engine.receive(encodePiu({ th: th(a, 4), rh: requestRh({ mode: 'RQE1', cdi: true }), ru: Buffer.from([0x00, 0x01]) }), 'HOSTA')
  await t.rejects(r2, { code: 'TN3270LB_ERR_APPC_MALFORMED', message: /LL 1/ })
  await settle()
  t.equal(f.engine.sessions()[0]!.sessions.length, 0, 'bad data → UNBIND cleanup')
  hold = false
  const c2 = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  const b = appSession(f)
  hold = true
  c2.send(Buffer.from('q'))
  const r3 = c2.receive()
  await settle()
  f.engine.receive(encodePiu({ th: th(b, 1), rh: requestRh({ fi: true, mode: 'RQE1' }), ru: Buffer.from([0x03, 0x0c, 0x00]) }), 'HOSTA')
  await t.rejects(r3, { message: /unbound by the gateway \(UNBIND type X'FE'\).*10086000/ })
})

t.test('SNASVCMG BIND refused: CNOS fails naming it', async t => {
  const f = await fixture({ connect: false })
  t.teardown(() => { f.engine.close() })
  f.hooks.toHost = (b) => {
    const p = decodePiu(b)
    if (p.rh?.rri === false && p.ru[0] === 0x31 && bindMode(decodeBind(p.ru)) === 'SNASVCMG') {
      queueMicrotask(() => { f.engine.receive(encodePiu(buildNegativeResponse(p, 0x08010000)), 'HOSTA') })
      return true
    }
    return false
  }
  f.link.connect()
  await settle()
  await t.rejects(f.engine.cnos('HOSTLU', 'APPCMODE'), { code: 'TN3270LB_ERR_APPC_CNOS', message: /SNASVCMG BIND to HOSTLU failed \(08010000\)/ })
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { result: 'failed' }), 2)
})

t.test('partner: malformed BIND, LFSID in use, no session, garbage, protocol error', async t => {
  const f = await fixture()
  t.teardown(() => { f.engine.close() })
  await f.engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from('x'))
  const sent: Piu[] = []
  f.link.trace.push((dir, b) => { if (dir === 'to_gateway') sent.push(decodePiu(b)) })
  const gw = f.engine.sessions()[0]!.sessions[0]!.lfsid.split('.').map(Number)
  const to = { daf: gw[1]!, oaf: gw[2]! } // gateway → partner addressing of the bound session
  f.partner.receive(Buffer.from([0x2e]), 'gw1')
  f.partner.receive(encodePiu({ th: th({ daf: 99, oaf: 98 }, 1, true), rh: commandRh('SC'), ru: Buffer.from([0x31, 0x00]) }), 'gw1')
  f.partner.receive(encodePiu({ th: th(to, 1, true), rh: commandRh('SC'), ru: encodeBind(buildBind({ plu: 'GWLU', slu: 'HOSTLU', mode: 'APPCMODE', primaryWinner: true })) }), 'gw1')
  f.partner.receive(encodePiu({ th: th({ daf: 77, oaf: 66 }), rh: requestRh({}), ru: Buffer.from('x') }), 'gw1')
  f.partner.receive(encodePiu({ th: th(to, 5), rh: commandRh('NC'), ru: Buffer.from([0x01]) }), 'gw1')
  f.partner.receive(encodePiu({ th: th(to, 6), rh: requestRh({ mode: 'RQE1' }), ru: Buffer.from('no attach') }), 'gw1')
  const nonNegotiable = encodeBind(buildBind({ plu: 'GWLU', slu: 'HOSTLU', mode: 'APPCMODE', primaryWinner: true }))
  nonNegotiable[1] = 0x01
  f.partner.receive(encodePiu({ th: th({ daf: 50, oaf: 51 }, 1, true), rh: commandRh('SC'), ru: nonNegotiable }), 'gw1')
  await settle()
  t.same(sent.filter(p => p.rh?.rri === true && p.rh.rti).map(p => p.ru.readUInt32BE(0).toString(16).padStart(8, '0')), ['08350002', '08150004', '80050001', '10030000', '20030000', '08350001'])
  f.partner.receive(encodePiu({ th: th(to, 7), rh: requestRh({ fi: true, mode: 'RQE1' }), ru: Buffer.from([0x03, 0x0c, 0x00]) }), 'gw1')
  await settle()
  t.same(f.partner.sessionList().map(s => s.mode), ['SNASVCMG'], 'protocol error: the partner unbound the session')
  t.equal(f.engine.sessions()[0]!.sessions.length, 0, 'and the gateway dropped it')
})

t.test('partner TPs: cancel → UNBIND cleanup from the partner, tpEnded(soft), APING checks', async t => {
  const CANCEL: TpHandler = async (conv) => { await conv.receive(); conv.cancel() }
  const SOFT: TpHandler = async (conv) => { await conv.receive(); conv.tpEnded(false) }
  const SHORT: TpHandler = async (conv) => { await conv.receive(); await conv.receive(); conv.send(Buffer.from('1')); await conv.receive() }
  const f = await fixture({ tps: ['ECHO', 'TXN', { name: 'CANCEL', handler: CANCEL }, { name: 'SOFT', handler: SOFT }, { name: 'APINGD', handler: SHORT }] })
  t.teardown(() => { f.engine.close() })
  await t.rejects(f.engine.transact('HOSTLU', 'APPCMODE', 'CANCEL', Buffer.from('x')), { message: /partner HOSTLU unbound the session \(UNBIND type X'0F'\)/ })
  await t.rejects(f.engine.transact('HOSTLU', 'APPCMODE', 'SOFT', Buffer.from('x')), /unbound the session/)
  await t.rejects(f.engine.aping('HOSTLU', 'APPCMODE', { size: 10, count: 1 }), /APINGD echoed 1 bytes, expected 10/)
})

t.test('APINGD that misbehaves; a TP that ends without replying', async t => {
  const quit: TpHandler = async (conv) => { await conv.receive(); await conv.receive(); await conv.deallocate('flush') }
  const lazy: TpHandler = async (conv) => { await receiveAll(conv).catch(() => undefined) }
  const f2 = await fixture({ tps: [{ name: 'APINGD', handler: quit }, { name: 'ECHO', handler: quit }, { name: 'LAZY', handler: lazy }] })
  t.teardown(() => { f2.engine.close() })
  await t.rejects(f2.engine.aping('HOSTLU', 'APPCMODE', { size: 1, count: 1 }), /APINGD answered with deallocated instead of echoing/)
  await t.rejects(f2.engine.transact('HOSTLU', 'APPCMODE', 'LAZY', Buffer.from('x')), { sense: 0x08640000, message: /08640000/ }, 'a TP that returns without deallocating: DEALLOCATE ABEND')
  const c = await f2.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  c.send(Buffer.from('x'))
  t.same(await c.receive(), { what: 'deallocated' }, 'a TP may end with nothing to say')
  t.equal(c.state, 'deallocated')
})

t.test('autoactivation BIND failures are logged, not fatal', async t => {
  const f = await fixture({ connect: false, mode: { autoActivate: 2 } })
  t.teardown(() => { f.engine.close() })
  f.partner.injectBindFailure(0x08010000, 2)
  f.link.connect()
  await settle()
  t.equal(f.engine.sessions()[0]!.sessions.length, 0)
  t.equal((await f.engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from('ok'))).toString(), 'ok')
  void buildPositiveResponse
})
