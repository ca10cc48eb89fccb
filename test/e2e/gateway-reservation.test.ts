// The reservation race through real sockets: a gateway listener serving HOSTA and HOSTB with one LU
// each (CloseListenSocket, KB Q101235). Client A connects first, then client B connects and stays
// silent in negotiation; A asks for HOSTB (RFC 2355 §7.1 DEVICE-TYPE REQUEST ... CONNECT HOSTB).
// Before, capacity was reserved per pool at accept — A's against HOSTA, B's against HOSTB — so A
// got DEVICE-IN-USE while HOSTB's LU was free. Now A gets HOSTB and B, when it speaks, HOSTA.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'
import { gatewayStatus, pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'

t.test('a silent connection in negotiation does not make a servable request fail', async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 2, lus: 1, sets: ['listeners.0.proxyProtocol.mode=off'] })
  const gw = demo.gateways[0]!
  const port = gw.listenerPort('tn3270')
  const a = await E2eClient.connect(port)
  t.teardown(() => a.destroy())
  await a.until(() => a.firstByteAt !== undefined, 5000, 'DO TN3270E to A')
  const b: Socket = connect({ port, host: '127.0.0.1' })
  t.teardown(() => b.destroy())
  await pollUntil(async () => (await gatewayStatus(demo)).sessions.negotiating === 2, 'both connections accepted', 5000)
  t.equal((await gatewayStatus(demo)).listeners[0]?.open, false, 'the listener closed: both LUs are promised')
  const n = await a.negotiate({ connect: 'HOSTB', functions: [2] })
  t.match(n, { ok: true, lu: 'GW1B001' }, 'A is served from HOSTB')
  await a.waitForText('tn3270-lb demo host HOSTB', 10_000)
  const late = E2eClient.wrap(b)
  const m = await late.negotiate({ functions: [2] })
  t.match(m, { ok: true, lu: 'GW1A001' }, 'the silent one still gets an LU')
  await late.waitForText('tn3270-lb demo host HOSTA', 10_000)
})
