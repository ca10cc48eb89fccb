// One configured listener with everything behind it: its backend pool (static backends and DNS
// sources, each polled for /status) and the listen socket that follows the pool (CloseListenSocket).
// HAProxy would call this a frontend with its default backend (doc/configuration.txt).
import type { Dispatcher } from 'undici'
import type { Clock } from '../clock.js'
import type { ProxyConfig, ProxyListenerConfig } from '../config/index.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import { isDeepStrictEqual } from 'node:util'
import { AffinityTable } from './affinity.js'
import type { Backend } from './backend.js'
import { DnsDiscovery, staticTargets, type Resolver } from './discovery.js'
import { ProxyListener, type ClientSession } from './listener.js'
import { BackendPool, type BackendStatus, type PoolSettings, type RoutingMode } from './pool.js'
import type { SessionSettings } from './session.js'

/** What every frontend of one proxy shares. */
export interface FrontendContext {
  config: ProxyConfig
  dispatcher: Dispatcher
  resolver: Resolver
  clock: Clock
  logger: Logger
  metrics: ProxyMetrics
}

export interface ProxyListenerStatus {
  name: string
  address: string
  open: boolean
  closeListenSocket: boolean
  proxyProtocol: 'off' | 'v2'
  routing: 'tn3270e' | 'tcp'
  /** tn3270e routing: the pools offered here (empty = all) and the default pool (null = each gateway's own). */
  pools: string[]
  defaultPool: string | null
  sessions: number
}

/** The per-session settings of one listener: the proxy-wide timeouts plus the listener's routing and PROXY v2 choice. */
export function sessionSettings (config: ProxyConfig, cfg: ProxyListenerConfig): SessionSettings {
  return {
    listener: cfg.name,
    routing: cfg.routing,
    connectTimeout: config.connectTimeout,
    negotiationTimeout: config.negotiationTimeout,
    earlyCloseWindow: config.earlyCloseWindow,
    idleTimeout: config.idleTimeout,
    halfCloseTimeout: config.halfCloseTimeout,
    tcpKeepAlive: config.tcpKeepAlive,
    proxyProtocol: cfg.proxyProtocol === 'v2',
  }
}

/** How the listener's backend pool chooses (docs/routing.md). */
export function routingMode (cfg: ProxyListenerConfig): RoutingMode {
  if (cfg.routing === 'tcp') return { mode: 'tcp' }
  return { mode: 'tn3270e', ...(cfg.pools.length === 0 ? {} : { offered: new Set(cfg.pools) }), ...(cfg.defaultPool === undefined ? {} : { defaultPool: cfg.defaultPool }) }
}

/** The pool settings of a proxy config. */
export function poolSettings (config: ProxyConfig): PoolSettings {
  return { staleAfter: config.statusStaleAfter, ejection: config.ejection, statusInterval: config.statusInterval, statusTimeout: config.statusTimeout }
}

export class Frontend {
  readonly pool: BackendPool
  private readonly listener: ProxyListener
  /** One discovery per `dns` entry, by its name. */
  private readonly dns = new Map<string, DnsDiscovery>()
  private started = false

  constructor (public cfg: ProxyListenerConfig, private readonly ctx: FrontendContext) {
    const { config, dispatcher, clock, logger, metrics } = ctx
    this.pool = new BackendPool({
      listener: cfg.name,
      routing: routingMode(cfg),
      ...poolSettings(config),
      dispatcher,
      clock,
      logger,
      metrics,
    })
    this.pool.setSource('static', staticTargets(cfg.backends))
    for (const source of cfg.dns) this.dns.set(source.name, this.discovery(source))
    this.listener = new ProxyListener({
      name: cfg.name,
      host: cfg.host,
      port: cfg.port,
      closeListenSocket: cfg.closeListenSocket,
      settings: sessionSettings(config, cfg),
      pool: this.pool,
      // One memory per listener: its pools, its clients.
      affinity: new AffinityTable(config.affinity),
      clock,
      logger,
      metrics,
    })
  }

  get name (): string { return this.cfg.name }
  /** Host and port of the listen socket (port 0 in the config becomes the real port at start). */
  get address (): { host: string, port: number } { return this.listener.address }
  get addressText (): string { return `${this.address.host}:${this.address.port}` }
  get open (): boolean { return this.listener.open }
  get sessions (): ReadonlySet<ClientSession> { return this.listener.sessions }

  /**
   * First DNS answers and a first /status round, then the listen socket: whether it opens depends
   * on what they found. Rejects if the port cannot be bound (EADDRINUSE).
   */
  async start (): Promise<void> {
    await Promise.all([...this.dns.values()].map(d => d.start()))
    await this.pool.pollAll()
    await this.listener.start()
    this.started = true
    // Only now: a pool change before start() would open the socket a second time.
    this.pool.on('change', () => this.listener.reconcile())
  }

  /**
   * A reload: static backends and DNS sources as the new listener config has them (backends that
   * leave keep their sessions), the pool's status timing and ejection, and the session settings
   * for clients accepted from now on. Address and port were checked unchanged by the caller.
   */
  reconfigure (cfg: ProxyListenerConfig, config: ProxyConfig): void {
    this.pool.reconfigure(poolSettings(config), routingMode(cfg))
    this.pool.setSource('static', staticTargets(cfg.backends))
    for (const [name, d] of this.dns) {
      const next = cfg.dns.find(s => s.name === name)
      if (next !== undefined && isDeepStrictEqual(next, this.cfg.dns.find(s => s.name === name))) continue
      d.stop()
      this.dns.delete(name)
      if (next === undefined) this.pool.removeSource(`dns:${name}`)
    }
    for (const source of cfg.dns) {
      if (this.dns.has(source.name)) continue
      const d = this.discovery(source)
      this.dns.set(source.name, d)
      if (this.started) void d.start()
    }
    this.cfg = cfg
    this.listener.configure(sessionSettings(config, cfg), cfg.closeListenSocket)
  }

  /** A backend of this listener by its name (`backend` label), if it has one. */
  backend (id: string): Backend | undefined { return this.pool.get(id) }

  /** No new clients, for good; sessions continue. */
  stopAccepting (): void {
    this.listener.stopAccepting()
  }

  /** Stops accepting, discovery and /status polling; sessions are the caller's to end. */
  stop (): void {
    this.listener.stopAccepting()
    for (const d of this.dns.values()) d.stop()
    this.pool.close()
  }

  status (): ProxyListenerStatus {
    return {
      name: this.cfg.name,
      address: this.addressText,
      open: this.listener.open,
      closeListenSocket: this.cfg.closeListenSocket,
      proxyProtocol: this.cfg.proxyProtocol,
      routing: this.cfg.routing,
      pools: this.cfg.pools,
      defaultPool: this.cfg.defaultPool ?? null,
      sessions: this.listener.sessions.size,
    }
  }

  backendStatus (): Array<BackendStatus & { listener: string }> {
    return this.pool.status().map(b => ({ listener: this.cfg.name, ...b }))
  }

  private discovery (source: ProxyListenerConfig['dns'][number]): DnsDiscovery {
    const { resolver, clock, logger } = this.ctx
    return new DnsDiscovery({ source, resolver, clock, logger, onTargets: (targets) => this.pool.setSource(`dns:${source.name}`, targets) })
  }
}
