// A gateway process: LU pools behind CloseListenSocket listeners, host links, the admin plane,
// and the drain on SIGTERM (issue 4). Each accepted client goes: PROXY header (if configured)
// → TN3270/TN3270E negotiation with an LU from the listener's pools → served by its host side.
import type { AddressInfo } from 'node:net'
import type { GatewayConfig } from '../config/index.js'
import { createGatewayMetrics, startAdminServer, type AdminServer, type GatewayMetrics, type Logger, type Registry, type RouteHandler } from '../observability/index.js'
import { negotiateServer } from '../tn3270/index.js'
import { ListenerAllocator } from './allocator.js'
import type { HostSide } from './host-side.js'
import { ListenerManager, type AcceptedConnection } from './listeners.js'
import { expandPools, LuRegistry, type Lease } from './lu-pool.js'
import { cidrMatch, peerOf, readProxyHeader } from '../proxy-protocol/index.js'
import { createHostSide } from './hosts.js'
import { AppcEngine } from '../appc/index.js'
import { puNameOf, SnaHostSide } from './sna-host.js'

export interface GatewayDeps {
  logger: Logger
  registry: Registry
}

export interface GatewayStatus {
  role: 'gateway'
  name: string
  ready: boolean
  draining: boolean
  listeners: Array<{ name: string, address: string, open: boolean, pools: string[] }>
  pools: Array<{ name: string, host: string, total: number, free: number, inUse: number, unavailable: number }>
  hostLinks: Array<{ host: string, type: string, up: boolean } & Record<string, unknown>>
  sessions: { active: number, negotiating: number }
}

export interface Gateway {
  readonly name: string
  readonly adminAddress: AddressInfo
  readonly lus: LuRegistry
  readonly metrics: GatewayMetrics
  readonly hosts: ReadonlyMap<string, HostSide>
  listening: () => string[]
  listenerPort: (name: string) => number
  status: () => GatewayStatus
  /** Drain: readyz 503, listeners close, sessions continue up to drainTimeout, then end. */
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
}

/** How long startGateway waits for host links to come up before opening what it can. */
const STARTUP_LINK_WAIT_MS = 3000

export async function startGateway (config: GatewayConfig, deps: GatewayDeps): Promise<Gateway> {
  const { logger } = deps
  const metrics = createGatewayMetrics(deps.registry)
  const lus = new LuRegistry(expandPools(config.pools), config.pools.map(p => ({ name: p.name, host: p.host })))
  for (const pool of config.pools) {
    if (!config.hosts.some(h => h.name === pool.host)) throw new Error(`config: pools.${pool.name}.host = ${JSON.stringify(pool.host)}: no host with that name`)
  }
  for (const l of config.listeners) {
    for (const p of l.pools) {
      if (!lus.hasPool(p)) throw new Error(`config: listeners.${l.name}.pools: ${JSON.stringify(p)} is not a configured pool`)
    }
  }

  const updateLuGauges = (): void => {
    for (const c of lus.counts()) {
      metrics.lus.set({ pool: c.name, state: 'free' }, c.free)
      metrics.lus.set({ pool: c.name, state: 'in_use' }, c.inUse)
      metrics.lus.set({ pool: c.name, state: 'unavailable' }, c.unavailable)
    }
  }
  lus.on('change', updateLuGauges)
  updateLuGauges()

  const hosts = new Map<string, HostSide>()
  const routes: RouteHandler[] = []
  for (const h of config.hosts) {
    const side = createHostSide(h, { config, lus, metrics, logger: logger.child({ host: h.name }), addRoute: r => routes.push(r) })
    hosts.set(h.name, side)
  }

  // One LU 6.2 engine for all partners, on the sna links of their hosts (ODAI = 1 PIUs).
  let appc: AppcEngine | undefined
  if (config.appc.partners.length > 0) {
    appc = new AppcEngine({
      config: config.appc,
      localLu: puNameOf(config.name),
      transport: {
        send: (piu, host) => {
          const side = hosts.get(host)
          if (side instanceof SnaHostSide) side.sendPiu(piu)
        },
      },
      logger: logger.child({ component: 'appc' }),
      metrics,
    })
    for (const p of config.appc.partners) {
      const side = hosts.get(p.host)
      if (!(side instanceof SnaHostSide)) {
        throw new Error(`config: appc.partners.${p.name}.host = ${JSON.stringify(p.host)}: expected the name of a host with an sna link`)
      }
    }
    const engine = appc
    for (const host of new Set(config.appc.partners.map(p => p.host))) {
      (hosts.get(host) as SnaHostSide).attachLu62({
        receive: piu => engine.receive(piu, host),
        linkUp: () => engine.linkUp(host),
        linkDown: () => engine.linkDown(host),
      })
    }
    routes.push(engine.routes())
  }

  let draining = false
  // Not ready until host links had their chance and listeners opened: a proxy polling /status
  // during start-up must not count this gateway as able to serve.
  let startedUp = false
  let negotiating = 0
  const active = new Set<Promise<void>>()
  const activeBySession = new Map<Promise<void>, { end: (reason: string) => void }>()

  const onConnection = (conn: AcceptedConnection): void => {
    const work = handleConnection(conn).catch((err: unknown) => {
      logger.error({ err }, 'connection handler failed')
    })
    active.add(work)
    void work.finally(() => active.delete(work))
  }

  // Connections still negotiating, per client address (negotiation.maxPendingPerClient).
  const pendingByClient = new Map<string, number>()

  async function handleConnection (conn: AcceptedConnection): Promise<void> {
    const source = conn.socket.remoteAddress ?? ''
    const cap = config.negotiation.maxPendingPerClient
    const pp = conn.listener.proxyProtocol
    const exempt = cap === 0 || (pp.mode !== 'off' && cidrMatch(source, pp.trustedSources))
    const pending = pendingByClient.get(source) ?? 0
    if (!exempt && pending >= cap) {
      if (conn.reservedPool !== undefined) lus.unreserve(conn.reservedPool)
      metrics.connections.inc({ listener: conn.listener.name, result: 'rejected_error' })
      logger.warn({ client: peerOf(conn.socket), listener: conn.listener.name, pending, limit: cap }, 'connection refused: too many connections from this client still negotiating')
      conn.socket.destroy()
      return
    }
    pendingByClient.set(source, pending + 1)
    const done = (): void => {
      const n = (pendingByClient.get(source) ?? 1) - 1
      if (n <= 0) pendingByClient.delete(source)
      else pendingByClient.set(source, n)
    }
    await negotiateAndServe(conn, done)
  }

  async function negotiateAndServe ({ socket, listener, reservedPool }: AcceptedConnection, negotiated: () => void): Promise<void> {
    const started = process.hrtime.bigint()
    const allocator = new ListenerAllocator({
      registry: lus,
      pools: listener.pools,
      ...(reservedPool === undefined ? {} : { reservedPool }),
      sendsBindImage: pool => hosts.get(config.pools.find(p => p.name === pool)!.host)!.sendsBindImage,
    })
    negotiating++
    socket.on('error', () => { /* reported through close/negotiation paths */ })
    let client = peerOf(socket)
    try {
      const id = await readProxyHeader(socket, listener.proxyProtocol, config.negotiation.timeout)
      client = id.client
    } catch (err) {
      negotiating--
      negotiated()
      allocator.dispose()
      metrics.connections.inc({ listener: listener.name, result: 'rejected_error' })
      logger.warn({ client, listener: listener.name, reason: (err as Error).message, code: (err as { code?: string }).code }, 'connection rejected')
      socket.destroy()
      return
    }
    let session
    // The last refusal, to tell RFC 2561's ConnResrceRejs (no LU) from ConnErrorRejs.
    let refusedForResource = false
    try {
      const negotiation = negotiateServer(socket, {
        provider: {
          allocate: req => {
            const d = allocator.allocate(req)
            if (!d.ok) metrics.deviceTypeRejects.inc({ reason: d.reason })
            refusedForResource = !d.ok && d.reason === 'DEVICE-IN-USE'
            return d
          },
        },
        logger: logger.child({ client, listener: listener.name }),
        timeout: config.negotiation.timeout,
        tn3270e: config.negotiation.tn3270e,
        maxRecord: config.negotiation.maxRecordSize,
        maxSubneg: config.negotiation.maxSubnegotiation,
        client,
      })
      // readProxyHeader left the socket explicitly paused (bytes after the header unshifted);
      // negotiateServer has attached its listeners synchronously, so let data flow to them.
      socket.resume()
      session = await negotiation
    } catch {
      negotiating--
      negotiated()
      allocator.dispose()
      metrics.connections.inc({ listener: listener.name, result: refusedForResource ? 'rejected_resource' : 'rejected_error' })
      return
    }
    negotiating--
    negotiated()
    allocator.dispose()
    metrics.connections.inc({ listener: listener.name, result: 'accepted' })
    metrics.negotiationSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9)
    const lease = session.lease as Lease
    const lu = lus.lu(lease.lu)!
    const host = hosts.get(lu.def.host)!
    const mode = session.mode
    metrics.sessionsActive.inc({ pool: lease.pool, mode })
    const log = logger.child({ client, lu: lease.lu, pool: lease.pool })
    log.info({ event: 'session-start', mode, deviceType: session.deviceType, listener: listener.name }, 'client session started')
    let ended = false
    let endReason = ''
    const served = host.serve({
      session,
      lease,
      lu: lu.def,
      logger: log,
      onEnd: reason => { if (!ended) { ended = true; endReason = reason } },
    })
    activeBySession.set(served, { end: reason => session.close(reason) })
    try {
      await served
    } finally {
      activeBySession.delete(served)
      metrics.sessionsActive.dec({ pool: lease.pool, mode })
      lease.release()
      log.info({ event: 'session-end', reason: endReason || 'ended' }, 'client session ended')
    }
  }

  const listeners = new ListenerManager({ listeners: config.listeners, registry: lus, logger, metrics, onConnection })

  const status = (): GatewayStatus => ({
    role: 'gateway',
    name: config.name,
    ready: startedUp && !draining,
    draining,
    listeners: listeners.status(),
    pools: lus.counts(),
    hostLinks: [...hosts.values()].map(h => ({ ...h.status(), host: h.name, type: h.type, up: h.up })),
    sessions: { active: activeBySession.size, negotiating },
  })

  const admin: AdminServer = await startAdminServer({
    host: config.admin.host,
    port: config.admin.port,
    registry: deps.registry,
    logger,
    status,
    ready: () => startedUp && !draining,
    route: async (req, res, url) => {
      for (const r of routes) if (await r(req, res, url)) return true
      return false
    },
  })

  for (const h of hosts.values()) h.start()
  await waitForLinks([...hosts.values()], STARTUP_LINK_WAIT_MS)
  await listeners.start()
  startedUp = true

  let shutdownPromise: Promise<void> | undefined
  const shutdown = async (opts: { immediate?: boolean } = {}): Promise<void> => {
    if (opts.immediate === true) {
      draining = true
      listeners.stop()
      for (const s of activeBySession.values()) s.end('gateway stopping')
      await Promise.all([...hosts.values()].map(h => h.endAll('gateway stopping now')))
      await appc?.close()
      await Promise.all([...hosts.values()].map(h => h.close()))
      await admin.close()
      return
    }
    shutdownPromise ??= (async () => {
      draining = true
      logger.info({ drainTimeout: config.drainTimeout, sessions: activeBySession.size }, 'draining: listeners closed, sessions continue')
      listeners.stop()
      const all = Promise.all([...active])
      const timedOut = await Promise.race([all.then(() => false), delay(config.drainTimeout).then(() => true)])
      if (timedOut) {
        logger.info({ sessions: activeBySession.size }, 'drain timeout: telling clients and unbinding LUs')
        await Promise.all([...hosts.values()].map(h => h.endAll('gateway shutting down')))
        await Promise.race([Promise.all([...active]), delay(5000)])
      }
      await appc?.close()
      await Promise.all([...hosts.values()].map(h => h.close()))
      await admin.close()
      logger.info('gateway stopped')
    })()
    await shutdownPromise
  }

  return {
    name: config.name,
    adminAddress: admin.address,
    lus,
    metrics,
    hosts,
    listening: () => [
      ...listeners.status().map(l => `listening gateway ${config.name} ${l.address}`),
      `listening gateway-admin ${config.name} ${admin.address.address}:${admin.address.port}`,
    ],
    listenerPort: name => listeners.address(name)?.port ?? config.listeners.find(l => l.name === name)?.port ?? 0,
    status,
    shutdown,
  }
}

function delay (ms: number): Promise<void> {
  return new Promise(resolve => { const t = setTimeout(resolve, ms); t.unref() })
}

async function waitForLinks (hosts: HostSide[], ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline && hosts.some(h => !h.up)) await delay(25)
}
