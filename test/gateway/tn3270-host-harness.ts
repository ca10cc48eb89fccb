// Test harness: the part of startGateway that a `tn3270` host side needs — CloseListenSocket
// listeners, the listener allocator, server negotiation, then HostSide.serve with the lease —
// wired the way lib/gateway/gateway.ts handleConnection does it (hosts.ts did not create tn3270
// host sides yet when these tests were written). Not a test file itself.
import { Registry } from 'prom-client'
import { gatewaySchema, loadConfig, type GatewayConfig } from '../../lib/config/index.js'
import { ListenerAllocator } from '../../lib/gateway/allocator.js'
import type { HostSide } from '../../lib/gateway/host-side.js'
import { ListenerManager, type AcceptedConnection } from '../../lib/gateway/listeners.js'
import { expandPools, LuRegistry, type Lease } from '../../lib/gateway/lu-pool.js'
import { createTn3270HostSide } from '../../lib/gateway/tn3270-host.js'
import { createGatewayMetrics, silentLogger, type GatewayMetrics, type Logger } from '../../lib/observability/index.js'
import { negotiateServer } from '../../lib/tn3270/index.js'
import type { Clock } from '../../lib/clock.js'

export interface TestGateway {
  config: GatewayConfig
  lus: LuRegistry
  metrics: GatewayMetrics
  registry: Registry
  side: HostSide
  listeners: ListenerManager
  /** Port of a listener (stable across CloseListenSocket close/reopen). */
  port: (listener: string) => number
  /** Reasons passed to onEnd, in order. */
  ended: string[]
  /** Sessions being served right now. */
  serving: () => number
  gauge: (name: 'hostLinkUp' | 'sessionsActive' | 'lus', labels: Record<string, string>) => Promise<number | undefined>
  close: () => Promise<void>
}

export async function startTestGateway (raw: Record<string, unknown>, opts: { logger?: Logger, clock?: Clock, waitUp?: boolean } = {}): Promise<TestGateway> {
  const config = loadConfig(gatewaySchema, { base: raw })
  const logger = opts.logger ?? silentLogger()
  const registry = new Registry()
  const metrics = createGatewayMetrics(registry)
  const lus = new LuRegistry(expandPools(config.pools), config.pools.map(p => ({ name: p.name, host: p.host })))
  const update = (): void => {
    for (const c of lus.counts()) {
      metrics.lus.set({ pool: c.name, state: 'free' }, c.free)
      metrics.lus.set({ pool: c.name, state: 'in_use' }, c.inUse)
      metrics.lus.set({ pool: c.name, state: 'unavailable' }, c.unavailable)
    }
  }
  lus.on('change', update)
  update()
  const host = config.hosts[0]!
  const side = createTn3270HostSide(host, { lus, metrics, logger, config, ...(opts.clock === undefined ? {} : { clock: opts.clock }) })
  const ended: string[] = []
  const work = new Set<Promise<void>>()
  let serving = 0

  const handle = async ({ socket, listener, reservedPool }: AcceptedConnection): Promise<void> => {
    const allocator = new ListenerAllocator({
      registry: lus,
      pools: listener.pools,
      ...(reservedPool === undefined ? {} : { reservedPool }),
      sendsBindImage: () => side.sendsBindImage,
    })
    socket.on('error', () => {})
    let session
    try {
      session = await negotiateServer(socket, {
        provider: allocator,
        logger,
        timeout: config.negotiation.timeout,
        tn3270e: config.negotiation.tn3270e,
      })
    } catch {
      allocator.dispose()
      return
    }
    allocator.dispose()
    const lease = session.lease as Lease
    const lu = lus.lu(lease.lu)!
    metrics.sessionsActive.inc({ pool: lease.pool, mode: session.mode })
    serving++
    try {
      await side.serve({ session, lease, lu: lu.def, logger: logger.child({ lu: lu.name }), onEnd: reason => { ended.push(reason) } })
    } finally {
      serving--
      metrics.sessionsActive.dec({ pool: lease.pool, mode: session.mode })
      lease.release()
    }
  }

  const listeners = new ListenerManager({
    listeners: config.listeners,
    registry: lus,
    logger,
    metrics,
    onConnection: conn => {
      const p = handle(conn).catch(() => {})
      work.add(p)
      void p.finally(() => work.delete(p))
    },
  })
  side.start()
  if (opts.waitUp !== false) {
    const deadline = Date.now() + 10_000
    while (!side.up && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    if (!side.up) throw new Error(`test gateway: host ${host.name} did not come up: ${JSON.stringify(side.status())}`)
  }
  await listeners.start()

  return {
    config,
    lus,
    metrics,
    registry,
    side,
    listeners,
    port: name => listeners.address(name)?.port ?? 0,
    ended,
    serving: () => serving,
    gauge: async (name, labels) => {
      const m = await metrics[name].get()
      return m.values.find(v => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))?.value
    },
    close: async () => {
      listeners.stop()
      await side.endAll('test over')
      await side.close()
      await Promise.all([...work])
    },
  }
}

/** Polls `fn` until it returns true (or throws after `ms`). */
