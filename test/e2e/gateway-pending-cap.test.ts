// Capacity is reserved when a connection is accepted (CloseListenSocket), so one client holding
// silent connects could keep a listener closed. negotiation.maxPendingPerClient caps that.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { request } from 'undici'
import { startDemo } from '../../lib/demo.js'
import { silentLogger } from '../../lib/observability/index.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'

/** A client that connects from `localAddress` and never answers (127.0.0.0/8 is all loopback). */
async function silentClient (port: number, localAddress: string): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', localAddress })
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  return s
}

t.test('one client address cannot hold more than maxPendingPerClient connections in negotiation', async t => {
  const d = await startDemo({ basePort: 0, gateways: 1, hosts: 1, lus: 4, bind: '127.0.0.1', sets: ['listeners.0.proxyProtocol.mode=off', 'negotiation.maxPendingPerClient=2'], logger: silentLogger() })
  t.teardown(() => d.shutdown({ immediate: true }))
  const gw = d.gateways[0]!
  const port = gw.listenerPort('tn3270')
  const idle = [await silentClient(port, '127.0.0.2'), await silentClient(port, '127.0.0.2')]
  t.teardown(() => { for (const s of idle) s.destroy() })
  const third = await silentClient(port, '127.0.0.2')
  const closed = await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => resolve(false), 2000)
    third.once('close', () => { clearTimeout(timer); resolve(true) })
    third.resume()
  })
  t.ok(closed, 'the third silent connection from the same address is closed at once')
  t.equal(gw.lus.spare('HOSTA'), 2, 'only two LUs are held back by that client')
  t.ok(idle.every(s => !s.destroyed), 'its first two connections are still waiting')

  const ok = await E2eClient.open(port)
  t.teardown(() => ok.destroy())
  t.match(ok.lu, /^GW1A00\d$/, `another client is served (${ok.lu})`)
  const res = await request(`http://127.0.0.1:${gw.adminAddress.port}/metrics`)
  const text = await res.body.text()
  t.match(text, /tn3270_gateway_connections_total\{listener="tn3270",result="rejected_error"\} 1/, 'counted as rejected for an error')
  t.match(text, /tn3270_gateway_listener_open\{listener="tn3270"\} 1/, 'the listener stayed open')
})
