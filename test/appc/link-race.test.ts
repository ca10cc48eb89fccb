// Link up / link down races found by the e2e tests (test/e2e/appc-recovery.test.ts): a transaction
// that arrives while the start-of-day CNOS at link up is still running, and a PIU written while the
// link is already going down (the real sna link throws before its `down` event arrives).
import t from 'tap'
import { Registry, createGatewayMetrics, silentLogger } from '../../lib/observability/index.js'
import { AppcEngine, Lu62Partner } from '../../lib/appc/index.js'
import { MemoryLink } from '../helpers/memory-link.js'
import { appcConfig, fixture, settle } from './fixture.js'

for (const settings of [{ renegLimits: false, retryCnos: false }, { renegLimits: false, retryCnos: true }]) {
  t.test(`a transaction sent while the link-up CNOS runs waits for it (retryCnos ${settings.retryCnos})`, async t => {
    const f = await fixture({ appc: settings })
    t.teardown(() => { f.engine.close() })
    t.match((await f.engine.transact('HOSTLU', 'APPCMODE', 'TXN', Buffer.from('one'))).toString(), /^ONE TXN#1/)
    // host restart: the link goes, the partner forgets its limits, the link comes back
    f.link.disconnect()
    f.partner.restart()
    f.link.connect()
    // the gateway kept its limits (KB Q107866); the start-of-day CNOS is in flight right now
    const r = await f.engine.transact('HOSTLU', 'APPCMODE', 'TXN', Buffer.from('two'))
    t.match(r.toString(), /^TWO TXN#2/)
    t.equal(await f.metric('tn3270_gateway_appc_bind_failures_total'), 0, 'no BIND met the zeroed limits')
    t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'start_of_day', result: 'accepted' }), 2)
    t.equal(await f.metric('tn3270_gateway_appc_cnos_total', { trigger: 'recovery' }), 0)
  })
}

t.test('a PIU the link refuses while going down: the allocation fails at link down, nothing unhandled', async t => {
  const registry = new Registry()
  const metrics = createGatewayMetrics(registry)
  const link = new MemoryLink('HOSTA', 'gw1')
  let broken = false
  const transport = {
    send: (piu: Buffer, host: string): void => {
      if (broken) throw new Error('host link to HOSTA is closing; PIU not sent')
      link.gatewaySide.send(piu, host)
    },
  }
  const engine = new AppcEngine({ config: appcConfig(), localLu: 'GWLU', transport, logger: silentLogger(), metrics })
  const partner = new Lu62Partner({ lu: 'HOSTLU', modes: [{ name: 'APPCMODE', sessionLimit: 8, minWinners: 0 }], tps: ['TXN'], transport: link.hostSide, logger: silentLogger() })
  link.attach(
    { receive: (b, h) => { engine.receive(b, h) }, linkUp: (h) => { engine.linkUp(h) }, linkDown: (h) => { engine.linkDown(h) } },
    { receive: (b, l) => { partner.receive(b, l) }, linkUp: (l) => { partner.linkUp(l) }, linkDown: (l) => { partner.linkDown(l) } },
  )
  t.teardown(() => { engine.close() })
  link.connect()
  await settle()
  broken = true // the socket is closing; its `down` event has not reached the engine yet
  const p = engine.transact('HOSTLU', 'APPCMODE', 'TXN', Buffer.from('x'))
  let settled = false
  p.then(() => { settled = true }, () => { settled = true })
  await settle()
  t.equal(settled, false, 'the BIND is waiting for an answer the link will never bring')
  link.disconnect()
  await t.rejects(p, { code: 'TN3270LB_ERR_APPC_ALLOCATION', message: /host link to HOSTA \(partner HOSTLU\) went down/ })
  await settle()
  t.same(engine.sessions()[0]!.sessions, [], 'no session left behind')
  broken = false
  link.connect()
  await settle()
  t.match((await engine.transact('HOSTLU', 'APPCMODE', 'TXN', Buffer.from('y'))).toString(), /^Y TXN#1/, 'works again after the link is back')
})
