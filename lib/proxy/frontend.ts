// One configured listener with everything behind it: its backend pool (static backends and DNS
// sources, each polled for /status) and the listen socket that follows the pool (CloseListenSocket).
// HAProxy would call this a frontend with its default backend (doc/configuration.txt).
import type { Dispatcher } from 'undici'
import type { Clock } from '../clock.js'
import type { ProxyConfig, ProxyListenerConfig } from '../config/index.js'
import { errorMessage } from '../errors.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import { isDeepStrictEqual } from 'node:util'
import { AffinityTable } from './affinity.js'
import type { Backend } from './backend.js'
import { loadClientTls, TlsEndpoint, type TlsClientMaterial } from '../tls/index.js'
import { connectionsWithin, openFileLimit, type ClientLimits } from '../listen/index.js'
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
  /** Per-client caps across every listener (maxPendingPerClient, maxSessionsPerClient). */
  limits?: ClientLimits
}

export interface ProxyListenerStatus {
  name: string
  address: string
  open: boolean
  closeListenSocket: boolean
  /** Client connections this process holds at most on this listener (0 = no cap). */
  maxConnections: number
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
/** `auto`: what this process's open-file limit holds at two descriptors per client (lib/listen). */
export function maxConnectionsOf (cfg: ProxyListenerConfig): number {
  return cfg.maxConnections === 'auto' ? connectionsWithin(openFileLimit(), 2) : cfg.maxConnections
}

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
  /** Client TLS this listener terminates (cfg.tls). */
  private readonly tls: TlsEndpoint | undefined
  /** TLS toward the backends: listener-wide (backendTls) and per static backend (tls). */
  private backendTls: BackendTlsMaterial

  constructor (public cfg: ProxyListenerConfig, private readonly ctx: FrontendContext) {
    const { config, dispatcher, clock, logger, metrics } = ctx
    this.backendTls = loadBackendTls(cfg)
    this.tls = cfg.tls === undefined ? undefined : TlsEndpoint.open(cfg.tls, { role: 'proxy', listener: cfg.name, metrics: metrics.tls, logger, clock })
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
      maxConnections: maxConnectionsOf(cfg),
      settings: sessionSettings(config, cfg),
      pool: this.pool,
      // One memory per listener: its pools, its clients.
      affinity: new AffinityTable(config.affinity),
      clock,
      logger,
      metrics,
      ...(ctx.limits === undefined ? {} : { limits: ctx.limits }),
      tls: {
        // The gateways hear about the client's TLS when this proxy knows it: it terminates it, or
        // it re-encrypts (then the gateway's own TLS is this proxy's link, not the client's).
        clientTls: { endpoint: this.tls, report: cfg.proxyProtocol === 'v2' && (cfg.tls !== undefined || cfg.backendTls !== undefined || cfg.backends.some(b => b.tls !== undefined)) },
        backendTls: backend => this.backendTls.byBackend.get(backend) ?? this.backendTls.listener,
      },
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
    this.listener.configure(sessionSettings(config, cfg), cfg.closeListenSocket, maxConnectionsOf(cfg))
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
    this.tls?.close()
  }

  /** SIGHUP: the client-facing certificate and the backend TLS material, read again for new connections. */
  reloadCertificates (logger: Logger): void {
    this.tls?.reload()
    try {
      this.backendTls = loadBackendTls(this.cfg)
    } catch (err) {
      logger.warn({ event: 'tls_reload_failed', role: 'proxy', listener: this.cfg.name, err: errorMessage(err) }, 'backend TLS material not reloaded; the current one stays in use')
    }
  }

  status (): ProxyListenerStatus {
    return {
      name: this.cfg.name,
      address: this.addressText,
      open: this.listener.open,
      closeListenSocket: this.cfg.closeListenSocket,
      maxConnections: maxConnectionsOf(this.cfg),
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

interface BackendTlsMaterial {
  listener: TlsClientMaterial | undefined
  byBackend: Map<string, TlsClientMaterial>
}

/** Reads the listener's backendTls and each static backend's tls (PEM text or files); throws TLS_CONFIG. */
function loadBackendTls (cfg: ProxyListenerConfig): BackendTlsMaterial {
  const byBackend = new Map<string, TlsClientMaterial>()
  cfg.backends.forEach((b, i) => {
    if (b.tls !== undefined) byBackend.set(b.name, loadClientTls(b.tls, `listeners.${cfg.name}.backends.${i}.tls`))
  })
  return { listener: cfg.backendTls === undefined ? undefined : loadClientTls(cfg.backendTls, `listeners.${cfg.name}.backendTls`), byBackend }
}
