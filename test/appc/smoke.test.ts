import t from 'tap'
import { fixture } from './fixture.js'

t.test('smoke: transaction over engine ↔ partner', async t => {
  const f = await fixture()
  const out = await f.engine.transact('HOSTLU', 'APPCMODE', 'TXN', Buffer.from('hello'))
  t.equal(out.toString(), 'HELLO TXN#1 LEN=5 CKSUM=0214')
  const echo = await f.engine.transact('HOSTLU', 'APPCMODE', 'ECHO', Buffer.from('abc'))
  t.equal(echo.toString(), 'abc')
  t.equal(f.binds(), 1)
  t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { result: 'accepted' }), 1)
  const ap = await f.engine.aping('HOSTLU', 'APPCMODE', { size: 100, count: 3 })
  t.equal(ap.rttMs.length, 3)
  f.engine.close()
})
