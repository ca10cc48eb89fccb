import t from 'tap'
import { MockAgent } from 'undici'
import { FakeClock } from '../helpers/fake-clock.js'
import { ErrorCodes } from '../../lib/errors.js'
import { StatusPoller, fetchStatus, parseGatewayStatus, type PollResult } from '../../lib/proxy/status-poll.js'

const gatewayStatus = (over: Record<string, unknown> = {}) => ({
  role: 'gateway', name: 'gw1', ready: true, draining: false,
  listeners: [
    { name: 'main', address: '127.0.0.1:3271', open: true, pools: ['HOSTA', 'HOSTB'] },
    { name: 'other', address: '127.0.0.1:3272', open: false, pools: ['HOSTC'] },
  ],
  pools: [
    { name: 'HOSTA', total: 4, free: 2 }, { name: 'HOSTB', total: 4, free: 1 }, { name: 'HOSTC', total: 4, free: 4 },
  ],
  ...over,
})

/** The capacity without its per-pool part (asserted on its own below). */
const totals = (body: unknown, port: number) => {
  const { pools: _pools, ...rest } = parseGatewayStatus(body, port)
  return rest
}

t.test('parseGatewayStatus: free LUs of the listener the backend port reaches', async t => {
  t.same(totals(gatewayStatus(), 3271), { ready: true, draining: false, freeLus: 3, listenerOpen: true })
  t.same(totals(gatewayStatus(), 3272), { ready: true, draining: false, freeLus: 0, listenerOpen: false }, 'closed listener = no LU')
  t.same(totals(gatewayStatus(), 9999), { ready: true, draining: false, freeLus: 7, listenerOpen: undefined }, 'no listener matches: all pools')
  t.same(totals(gatewayStatus({ draining: true }), 3271), { ready: false, draining: true, freeLus: 3, listenerOpen: true })
  t.same(parseGatewayStatus(gatewayStatus({ ready: false }), 3271).ready, false)
  t.same(parseGatewayStatus({ pools: [{ name: 'A', free: 'x' }, { name: 'B', free: -3 }, { name: 'C', free: 2 }] }, 1).freeLus, 2, 'bad numbers count as 0')
  t.same(parseGatewayStatus({ pools: [{ name: 'A', free: 1 }], listeners: [{ address: '[::1]:5', pools: 'bad' }] }, 5).freeLus, 0, 'a listener without a pool list serves none')
  t.same(parseGatewayStatus({ pools: [{ name: 'A', free: 1 }], listeners: [{ address: 'nohost' }] }, 5).freeLus, 1)
  t.throws(() => parseGatewayStatus(null, 1), { code: ErrorCodes.BACKEND_STATUS, message: /not a JSON object/ })
  t.throws(() => parseGatewayStatus([], 1), { code: ErrorCodes.BACKEND_STATUS, message: /not a JSON object/ })
  t.throws(() => parseGatewayStatus({ listeners: [] }, 1), { code: ErrorCodes.BACKEND_STATUS, message: /no "pools" array/ })
})

t.test('parseGatewayStatus: per pool, in the listener\'s order, spare LUs and the LU names owned (docs/routing.md)', async t => {
  const body = gatewayStatus({
    listeners: [
      { name: 'main', address: '127.0.0.1:3271', open: true, pools: ['HOSTB', 'HOSTA'] },
      { name: 'other', address: '127.0.0.1:3272', open: false, pools: ['HOSTC'] },
    ],
    pools: [
      { name: 'HOSTA', total: 4, free: 2, spare: 1, luRanges: ['GW1A001..GW1A004'] },
      { name: 'HOSTB', total: 4, free: 1, luRanges: ['GW1B001..GW1B002', 'TSOB'] },
      { name: 'HOSTC', total: 4, free: 4, spare: 4, luRanges: ['C1'] },
    ],
  })
  const c = parseGatewayStatus(body, 3271)
  t.same(c.pools.map(p => [p.name, p.free]), [['HOSTB', 1], ['HOSTA', 1]], 'listener order (the gateway default first); spare when reported, else free')
  t.same([c.pools[1]!.lus.has('GW1A003'), c.pools[1]!.lus.has('gw1a004'), c.pools[1]!.lus.has('GW1A005'), c.pools[0]!.lus.has('TSOB'), c.pools[0]!.lus.has('GW1A001')], [true, true, false, true, false])
  t.same(parseGatewayStatus(body, 3272).pools.map(p => [p.name, p.free]), [['HOSTC', 0]], 'a closed listener: its pools, with nothing free')
  t.same(parseGatewayStatus(body, 9999).pools.map(p => p.name), ['HOSTA', 'HOSTB', 'HOSTC'], 'no listener matches: every pool')
  t.equal(parseGatewayStatus(gatewayStatus(), 3271).pools[0]!.lus.empty, true, 'a gateway without luRanges owns no LU as far as routing knows')
  t.same(parseGatewayStatus({ pools: [{ name: 'A', free: 3, spare: 9 }] }, 1).pools[0]!.free, 3, 'spare never above free')
})

t.test('fetchStatus with a MockAgent: 200, HTTP errors, bad JSON, transport errors, timeout', async t => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  t.teardown(() => agent.close())
  const pool = agent.get('http://gw1:9000')
  pool.intercept({ path: '/status', method: 'GET' }).reply(200, gatewayStatus())
  t.match(await fetchStatus('http://gw1:9000/status', { dispatcher: agent, timeout: 500 }), { name: 'gw1' })
  pool.intercept({ path: '/status', method: 'GET' }).reply(503, 'draining')
  await t.rejects(fetchStatus('http://gw1:9000/status', { dispatcher: agent, timeout: 500 }), { code: ErrorCodes.BACKEND_STATUS, message: /answered HTTP 503/ })
  pool.intercept({ path: '/status', method: 'GET' }).reply(200, 'not json')
  await t.rejects(fetchStatus('http://gw1:9000/status', { dispatcher: agent, timeout: 500 }), { code: ErrorCodes.BACKEND_STATUS, message: /body is not JSON/, cause: SyntaxError })
  pool.intercept({ path: '/status', method: 'GET' }).replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
  await t.rejects(fetchStatus('http://gw1:9000/status', { dispatcher: agent, timeout: 500 }), /ECONNREFUSED/)
  pool.intercept({ path: '/status', method: 'GET' }).reply(200, gatewayStatus()).delay(400)
  await t.rejects(fetchStatus('http://gw1:9000/status', { dispatcher: agent, timeout: 50 }))
})

t.test('StatusPoller: polls on its interval, reports results and errors, stops', async t => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  t.teardown(() => agent.close())
  const pool = agent.get('http://gw1:9000')
  pool.intercept({ path: '/status', method: 'GET' }).reply(200, gatewayStatus())
  pool.intercept({ path: '/status', method: 'GET' }).reply(500, 'boom')
  pool.intercept({ path: '/status', method: 'GET' }).replyWithError(Object.assign(new Error('socket hang up'), { code: 'UND_ERR_SOCKET' }))
  pool.intercept({ path: '/status', method: 'GET' }).reply(200, gatewayStatus()).delay(300)
  const clock = new FakeClock(1000)
  const results: PollResult[] = []
  let wake: () => void = () => {}
  const poller = new StatusPoller({
    url: 'http://gw1:9000/status', port: 3271, interval: 2000, timeout: 50, dispatcher: agent, clock,
    onResult: r => { results.push(r); wake() },
  })
  const next = () => new Promise<void>(resolve => { wake = resolve })
  poller.start()
  t.equal(clock.pending, 1, 'first poll scheduled at once')
  let p = next(); clock.advance(0); await p
  const first = results[0]
  if (first?.ok !== true) throw new Error('first poll failed')
  const { pools, ...totalsOf } = first.capacity
  t.same([first.at, totalsOf], [1000, { ready: true, draining: false, freeLus: 3, listenerOpen: true }])
  t.same(pools.map(x => [x.name, x.free]), [['HOSTA', 2], ['HOSTB', 1]])
  await new Promise(resolve => setImmediate(resolve))
  t.equal(clock.pending, 1, 'next poll scheduled after the answer')
  p = next(); clock.advance(2000); await p
  t.match(results[1], { ok: false, at: 3000, error: /HTTP 500/ })
  await new Promise(resolve => setImmediate(resolve))
  p = next(); clock.advance(2000); await p
  t.match(results[2], { ok: false, error: /UND_ERR_SOCKET: socket hang up/ })
  await new Promise(resolve => setImmediate(resolve))
  p = next(); clock.advance(2000); await p
  t.match(results[3], { ok: false, error: /timed out/ })
  await new Promise(resolve => setImmediate(resolve))
  // pollNow while one is in flight shares it
  pool.intercept({ path: '/status', method: 'GET' }).reply(200, gatewayStatus()).delay(20)
  const a = poller.pollNow()
  t.equal(poller.pollNow(), a)
  await a
  t.equal(results.length, 5)
  poller.stop()
  t.equal(clock.pending, 0, 'stop clears the timer')
  pool.intercept({ path: '/status', method: 'GET' }).reply(200, gatewayStatus())
  await poller.pollNow()
  t.equal(results.length, 5, 'no results after stop')
})
