// A reload on a gateway fronting a real-TN3270-host link (lib/gateway/reload.ts, tn3270-host.ts;
// docs/operations.md "Reload"): LUs added to a pool of a `tn3270` host are served at once while
// the host answers — no probe needed, since the host is asked for a device per session.
import t from 'tap'
import { createServer, type Socket } from 'node:net'
import { gatewayConfigSchema, loadConfig, type GatewayConfig } from '../../lib/config/index.js'
import { startGateway } from '../../lib/gateway/index.js'
import { createRegistry, silentLogger } from '../../lib/observability/index.js'
import { HostPeer, screenRecord } from '../hostlink/tn3270-fake-host.js'
import { until } from '../helpers/until.js'

t.test('a tn3270 pool grows live: the new LU is free at once', async t => {
  const sockets = new Set<Socket>()
  const host = createServer(socket => {
    sockets.add(socket)
    const p = new HostPeer(socket)
    p.plainHandshake().then(() => { p.sendRecord(screenRecord('HELLO')) }).catch(() => socket.destroy())
  })
  await new Promise<void>(resolve => host.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); host.close() })
  const port = (host.address() as { port: number }).port
  const config = (lus: Array<{ name: string, resource: string }>): GatewayConfig => loadConfig(gatewayConfigSchema, {
    base: {
      admin: { port: 0 },
      listeners: [{ name: 'main', port: 0, pools: ['P'] }],
      // One probe at start, then none for an hour: only the reload can make LUB usable.
      hosts: [{ name: 'H', link: { type: 'tn3270', host: '127.0.0.1', port, probeInterval: '1h', keepaliveMethod: 'none' } }],
      pools: [{ name: 'P', host: 'H', lus }],
      keepalive: { method: 'none' },
    },
  })
  let next = config([{ name: 'LUA', resource: 'DEV1' }])
  const gw = await startGateway(next, { logger: silentLogger(), registry: createRegistry(), reloadConfig: () => next })
  t.teardown(() => gw.shutdown({ immediate: true }))
  await until('LUA free', () => gw.lus.lu('LUA')?.state === 'free')
  next = config([{ name: 'LUA', resource: 'DEV1' }, { name: 'LUB', resource: 'DEV2' }])
  t.same(gw.reload(), { result: 'applied', changes: ['pools.P.lus.LUB added'] })
  t.equal(gw.lus.lu('LUB')?.state, 'free', 'served without waiting for a probe')
  t.match(gw.status().pools, [{ name: 'P', total: 2, free: 2 }])
})
