// Gateway listener ports (lib/gateway/listeners.ts): the start proves every port (a listener that
// starts closed binds once and lets go) and a port in use fails it with one line naming the
// listener, the address and the config key; a port taken while the listener was closed
// (CloseListenSocket, KB Q101235) is counted in tn3270_gateway_listener_reopen_failures_total,
// retried soon, and the listener reopens once the port is free; a port inside the ephemeral range
// is warned about (docs/operations.md "Listener ports").
import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { gatewaySchema, loadConfig } from '../../lib/config/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import { startGateway } from '../../lib/gateway/index.js'
import { ListenerManager } from '../../lib/gateway/listeners.js'
import { expandPools, LuRegistry } from '../../lib/gateway/lu-pool.js'
import { createGatewayMetrics, Registry, silentLogger } from '../../lib/observability/index.js'

async function holdPort (t: Test, port = 0): Promise<{ server: Server, port: number }> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  t.teardown(() => { server.close() })
  return { server, port: (server.address() as { port: number }).port }
}

const hostLink = { type: 'tn3270', host: '127.0.0.1', port: 1, probeInterval: '1h' }

t.test('a listener port in use fails the gateway start with one line; what started is stopped', async t => {
  const busy = await holdPort(t)
  const config = loadConfig(gatewaySchema, {
    base: {
      name: 'gw-listen', admin: { host: '127.0.0.1', port: 0 },
      listeners: [{ name: 'tn3270', host: '127.0.0.1', port: busy.port, pools: ['P'] }],
      hosts: [{ name: 'H', link: hostLink }], pools: [{ name: 'P', host: 'H', lus: [{ name: 'LU1', resource: 'D1' }] }],
    },
  })
  // No LU can be served (the host link never comes up): before, this listener stayed closed, the
  // start succeeded with "listening" and every later reopen failed. Now its port is proven.
  await t.rejects(startGateway(config, { logger: silentLogger(), registry: new Registry() }), {
    code: ErrorCodes.LISTENER_LISTEN,
    message: `listener tn3270: cannot listen on 127.0.0.1:${busy.port} (listeners.0.port): address already in use`,
  })
})

function manager (t: Test, port: number, opts: { rangeFile?: string } = {}) {
  const pools = [{ name: 'P', host: 'H', lus: ['LU1'], generic: 0 }]
  const registry = new LuRegistry(expandPools(pools), pools)
  const metrics = createGatewayMetrics(new Registry())
  const lines: Array<Record<string, any>> = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)) } })
  const listener = { name: 'tn3270', host: '127.0.0.1', port, pools: ['P'], closeListenSocket: true } as unknown as Parameters<typeof ListenerManager.prototype.canServe>[0]
  const mgr = new ListenerManager({ listeners: [listener], registry, logger, metrics, onConnection: c => { c.socket.destroy(); c.reservation?.release() }, ...(opts.rangeFile === undefined ? {} : { portRangeFile: opts.rangeFile }) })
  t.teardown(() => { mgr.stop() })
  const failures = async (): Promise<number> => (await metrics.listenerReopenFailures.get()).values[0]?.value ?? 0
  return { mgr, registry, lines, failures }
}

const settle = async (mgr: ListenerManager, open: boolean): Promise<void> => {
  // The manager's retry timer does not keep a process alive (systemClock unrefs it); this wait does.
  const alive = setTimeout(() => {}, 10_000)
  try {
    while (mgr.isOpen('tn3270') !== open) await new Promise(resolve => mgr.once('state', resolve))
  } finally {
    clearTimeout(alive)
  }
}

t.test('a port taken while closed: counted, retried soon, reopened once free, with an event', async t => {
  const probe = await holdPort(t)
  const port = probe.port
  await new Promise<void>(resolve => { probe.server.close(() => resolve()) })
  const { mgr, registry, lines, failures } = manager(t, port)
  registry.activate('LU1')
  await mgr.start()
  t.equal(mgr.isOpen('tn3270'), true)
  const lease = registry.take(registry.lu('LU1')!)
  t.equal(mgr.isOpen('tn3270'), false, 'closed: no LU can be served')
  // Someone else takes the port (as an outgoing connection's source port would), then the LU frees.
  const thief = await holdPort(t, port)
  lease.release()
  while (await failures() < 2) await new Promise(resolve => mgr.once('state', resolve))
  t.match(lines.find(l => l.event === 'listener_reopen_failed'), { level: 40, listener: 'tn3270', code: 'EADDRINUSE', failures: 1, retryInMs: 50 })
  t.equal(lines.filter(l => l.level >= 50).length, 0, 'a taken port is a warning, retried, not an error')
  await new Promise<void>(resolve => { thief.server.close(() => resolve()) })
  await settle(mgr, true)
  const reopened = lines.find(l => l.event === 'listener_reopened')
  t.match(reopened, { level: 30, listener: 'tn3270', address: `127.0.0.1:${port}` })
  t.ok(reopened!.failures >= 2, `after ${reopened!.failures} failures`)
  // Taken again and no LU wanted any more: the retry stops.
  const lease2 = registry.take(registry.lu('LU1')!)
  t.equal(mgr.isOpen('tn3270'), false)
  lease2.release()
  await settle(mgr, true)
})

t.test('a CloseListenSocket port inside net.ipv4.ip_local_port_range is warned about at start', async t => {
  const probe = await holdPort(t)
  const port = probe.port
  await new Promise<void>(resolve => { probe.server.close(() => resolve()) })
  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-range-'))
  const rangeFile = join(dir, 'ip_local_port_range')
  writeFileSync(rangeFile, `${port - 10}\t${port + 10}\n`)
  const { mgr, lines } = manager(t, port, { rangeFile })
  await mgr.start()
  t.match(lines.find(l => l.event === 'listener_port_ephemeral'), { level: 40, listener: 'tn3270', port, range: `${port - 10}-${port + 10}`, msg: /ip_local_reserved_ports/ })
  writeFileSync(rangeFile, '61000\t61010\n')
  const other = manager(t, port + 1 === 65536 ? port - 1 : port + 1, { rangeFile })
  await other.mgr.start().catch(() => {})
  t.equal(other.lines.filter(l => l.event === 'listener_port_ephemeral').length, 0, 'outside the range: no warning')
})

t.test('a pending reopen is dropped when the listener no longer wants to open, and by stop()', async t => {
  const probe = await holdPort(t)
  const port = probe.port
  await new Promise<void>(resolve => { probe.server.close(() => resolve()) })
  const { mgr, registry, failures } = manager(t, port)
  registry.activate('LU1')
  await mgr.start()
  const lease = registry.take(registry.lu('LU1')!)
  await holdPort(t, port)
  lease.release()
  while (await failures() < 1) await new Promise(resolve => mgr.once('state', resolve))
  t.equal(mgr.status()[0]!.open, false, 'retrying')
  registry.take(registry.lu('LU1')!) // no LU left: the retry is dropped, not run
  const before = await failures()
  await new Promise(resolve => setTimeout(resolve, 150))
  t.equal(await failures(), before, 'no further attempt')
  mgr.stop()
  t.equal(mgr.isOpen('tn3270'), false)
})
