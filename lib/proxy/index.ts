// The front proxy (ARCHITECTURE §3.1): listeners with LU-aware balancing, invisible failover,
// its own CloseListenSocket, PROXY v2 toward gateways, admin HTTP, soft-stop drain.
// Public surface of lib/proxy: startProxy / runProxy, and the PROXY v2 codec the gateway imports.
import { Agent, type Dispatcher } from 'undici'
import { systemClock, type Clock } from '../clock.js'
import type { ProxyConfig } from '../config/proxy.js'
import { startAdminServer, type AdminServer } from '../observability/admin.js'
import type { Logger } from '../observability/logger.js'
import { createProxyMetrics, type ProxyMetrics, type Registry } from '../observability/metrics.js'
import { DnsDiscovery, staticTargets, systemResolver, type Resolver } from './discovery.js'
import { drainSessions, type DrainReport } from './drain.js'
import { ProxyListener } from './listener.js'
import { BackendPool, type BackendStatus } from './pool.js'

export { chooseBackend, canServe, eligibility, compareBackends, nextTransition, type BackendView, type BackendStatusView, type Eligibility } from './balancer.js'
export { parseGatewayStatus, type GatewayCapacity } from './status-poll.js'
export { resolveDnsSource, systemResolver, type Resolver, type SrvRecord } from './discovery.js'
export type { DrainReport } from './drain.js'
export type { BackendStatus } from './pool.js'

export interface ProxyDeps {
  logger: Logger
  registry: Registry
  clock?: Clock
  /** undici dispatcher for /status polls; default: an Agent this proxy owns and closes. */
  dispatcher?: Dispatcher
  /** DNS lookups for `dns` backends; default node:dns promises. */
  resolver?: Resolver
  /** [0, 1) source for the close spread at drain. */
  random?: () => number
}

export interface ProxyListenerStatus {
  name: string
  address: string
  open: boolean
  closeListenSocket: boolean
  proxyProtocol: 'off' | 'v2'
  sessions: number
}

export interface ProxyStatus {
  role: 'proxy'
  name: string
  ready: boolean
  draining: boolean
  listeners: ProxyListenerStatus[]
  backends: Array<BackendStatus & { listener: string }>
  sessions: { active: number }
}

export interface ShutdownOptions {
  /** Hard stop now (a second SIGTERM): same as close(). */
  immediate?: boolean
  drainTimeout?: number
  closeSpreadTime?: number
}

export interface Proxy {
  listeners: Array<{ name: string, host: string, port: number }>
  admin: { host: string, port: number }
  status: () => ProxyStatus
  ready: () => boolean
  /** `listening proxy <listener> <host:port>` lines and `listening proxy-admin <name> <host:port>`. */
  listening: () => string[]
  /**
   * Soft stop (HAProxy soft stop, lb-ops-style §3.4): /readyz 503, stop accepting, sessions
   * continue up to drainTimeout, then are closed spread over closeSpreadTime. `immediate` = close().
   */
  shutdown: (opts?: ShutdownOptions) => Promise<void>
  /** Counts from the last completed soft stop. */
  drainReport: () => DrainReport | undefined
  /** Hard stop: everything closed now. */
  close: () => Promise<void>
}

interface Unit { listener: ProxyListener, pool: BackendPool, dns: DnsDiscovery[], cfg: ProxyConfig['listeners'][number] }

export async function startProxy (config: ProxyConfig, deps: ProxyDeps): Promise<Proxy> {
  const clock = deps.clock ?? systemClock
  const logger = deps.logger
  const metrics: ProxyMetrics = createProxyMetrics(deps.registry)
  const ownDispatcher = deps.dispatcher === undefined
  // Idle keep-alive below the admin server's 5 s (lib/observability/admin.ts) so a poll never
  // reuses a socket the gateway is closing; undici also honours the server's Keep-Alive hint.
  const dispatcher = deps.dispatcher ?? new Agent({ connect: { timeout: config.statusTimeout }, keepAliveTimeout: 4000 })
  const resolver = deps.resolver ?? systemResolver
  let draining = false
  let closed = false
  const units: Unit[] = []
  let admin: AdminServer | undefined

  const stopAll = async (): Promise<void> => {
    for (const u of units) {
      u.listener.stopAccepting()
      u.dns.forEach(d => d.stop())
      u.pool.close()
    }
    await admin?.close()
    if (ownDispatcher) await dispatcher.close()
  }

  try {
    for (const cfg of config.listeners) {
      const pool = new BackendPool({
        listener: cfg.name,
        staleAfter: config.statusStaleAfter,
        ejection: config.ejection,
        statusInterval: config.statusInterval,
        statusTimeout: config.statusTimeout,
        dispatcher,
        clock,
        logger,
        metrics,
      })
      pool.setSource('static', staticTargets(cfg.backends))
      const dns = cfg.dns.map(source => new DnsDiscovery({ source, resolver, clock, logger, onTargets: (t) => pool.setSource(`dns:${source.name}`, t) }))
      const listener = new ProxyListener({
        name: cfg.name,
        host: cfg.host,
        port: cfg.port,
        closeListenSocket: cfg.closeListenSocket,
        settings: {
          listener: cfg.name,
          connectTimeout: config.connectTimeout,
          earlyCloseWindow: config.earlyCloseWindow,
          idleTimeout: config.idleTimeout,
          halfCloseTimeout: config.halfCloseTimeout,
          tcpKeepAlive: config.tcpKeepAlive,
          proxyProtocol: cfg.proxyProtocol === 'v2',
        },
        pool,
        clock,
        logger,
        metrics,
      })
      units.push({ listener, pool, dns, cfg })
      // First DNS answers and first /status round before deciding whether to listen.
      await Promise.all(dns.map(d => d.start()))
      await pool.pollAll()
      await listener.start()
      pool.on('change', () => listener.reconcile())
    }

    const status = (): ProxyStatus => ({
      role: 'proxy',
      name: config.name,
      ready: !draining,
      draining,
      listeners: units.map(u => ({
        name: u.cfg.name,
        address: `${u.listener.address.host}:${u.listener.address.port}`,
        open: u.listener.open,
        closeListenSocket: u.cfg.closeListenSocket,
        proxyProtocol: u.cfg.proxyProtocol,
        sessions: u.listener.sessions.size,
      })),
      backends: units.flatMap(u => u.pool.status().map(b => ({ listener: u.cfg.name, ...b }))),
      sessions: { active: units.reduce((n, u) => n + u.listener.sessions.size, 0) },
    })
    admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      registry: deps.registry,
      logger,
      status,
      ready: () => !draining,
    })
    const adminAddress = { host: admin.address.address, port: admin.address.port }
    for (const u of units) logger.info({ event: 'listening', role: 'proxy', listener: u.cfg.name, address: `${u.listener.address.host}:${u.listener.address.port}`, open: u.listener.open }, 'proxy listener started')
    logger.info({ event: 'listening', role: 'proxy', listener: 'admin', address: `${adminAddress.host}:${adminAddress.port}` }, 'proxy admin started')

    const allSessions = () => units.flatMap(u => [...u.listener.sessions])
    let shutdownPromise: Promise<void> | undefined
    let report: DrainReport | undefined
    const close = async (): Promise<void> => {
      draining = true
      for (const u of units) u.listener.stopAccepting()
      for (const s of allSessions()) s.terminate('shutdown', 0)
      await Promise.all(allSessions().map(s => s.done))
      if (!closed) { closed = true; await stopAll() }
    }
    return {
      listeners: units.map(u => ({ name: u.cfg.name, ...u.listener.address })),
      admin: adminAddress,
      status,
      ready: () => !draining,
      listening: () => [
        ...units.map(u => `listening proxy ${u.cfg.name} ${u.listener.address.host}:${u.listener.address.port}`),
        `listening proxy-admin ${config.name} ${adminAddress.host}:${adminAddress.port}`,
      ],
      drainReport: () => report,
      shutdown: (opts = {}) => {
        if (opts.immediate === true) return close()
        shutdownPromise ??= (async () => {
          draining = true
          logger.info({ event: 'drain_start', sessions: allSessions().length, drainTimeout: opts.drainTimeout ?? config.drainTimeout }, 'draining: no new clients, sessions continue')
          for (const u of units) u.listener.stopAccepting()
          report = await drainSessions(allSessions, {
            drainTimeout: opts.drainTimeout ?? config.drainTimeout,
            closeSpreadTime: opts.closeSpreadTime ?? config.closeSpreadTime,
            clock,
            logger,
            random: deps.random,
          })
          if (!closed) { closed = true; await stopAll() }
          logger.info({ event: 'drain_done', ...report }, 'drained')
        })()
        return shutdownPromise
      },
      close,
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}
