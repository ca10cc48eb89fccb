// One configured listener with everything behind it: its backend pool (static backends and DNS
// sources, each polled for /status) and the listen socket that follows the pool (CloseListenSocket).
// HAProxy would call this a frontend with its default backend (doc/configuration.txt).
import type { Dispatcher } from 'undici'
import type { Clock } from '../clock.js'
import type { ProxyConfig, ProxyListenerConfig } from '../config/index.js'
import { errorMessage } from '../errors.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import { loadClientTls, TlsEndpoint, type TlsClientMaterial } from '../tls/index.js'
import type { ProxyClientLimits } from './client-limits.js'
import { DnsDiscovery, staticTargets, type Resolver } from './discovery.js'
import { ProxyListener } from './listener.js'
import { BackendPool, type BackendStatus } from './pool.js'
import type { ProxySession, SessionSettings } from './session.js'

/** What every frontend of one proxy shares. */
export interface FrontendContext {
  config: ProxyConfig
  dispatcher: Dispatcher
  resolver: Resolver
  clock: Clock
  logger: Logger
  metrics: ProxyMetrics
  /** Per-client caps across every listener (maxPendingPerClient, maxSessionsPerClient). */
  limits?: ProxyClientLimits
}

export interface ProxyListenerStatus {
  name: string
  address: string
  open: boolean
  closeListenSocket: boolean
  proxyProtocol: 'off' | 'v2'
  sessions: number
}

/** The per-session settings of one listener: the proxy-wide timeouts plus the listener's PROXY v2 choice. */
export function sessionSettings (config: ProxyConfig, cfg: ProxyListenerConfig): SessionSettings {
  return {
    listener: cfg.name,
    connectTimeout: config.connectTimeout,
    earlyCloseWindow: config.earlyCloseWindow,
    idleTimeout: config.idleTimeout,
    halfCloseTimeout: config.halfCloseTimeout,
    tcpKeepAlive: config.tcpKeepAlive,
    proxyProtocol: cfg.proxyProtocol === 'v2',
  }
}

export class Frontend {
  private readonly pool: BackendPool
  private readonly listener: ProxyListener
  private readonly dns: DnsDiscovery[]
  /** Client TLS this listener terminates (cfg.tls). */
  private readonly tls: TlsEndpoint | undefined
  /** TLS toward the backends: listener-wide (backendTls) and per static backend (tls). */
  private backendTls: BackendTlsMaterial

  constructor (readonly cfg: ProxyListenerConfig, ctx: FrontendContext) {
    const { config, dispatcher, clock, logger, metrics } = ctx
    this.backendTls = loadBackendTls(cfg)
    this.tls = cfg.tls === undefined ? undefined : TlsEndpoint.open(cfg.tls, { role: 'proxy', listener: cfg.name, metrics: metrics.tls, logger, clock })
    this.pool = new BackendPool({
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
    this.pool.setSource('static', staticTargets(cfg.backends))
    this.dns = cfg.dns.map(source => new DnsDiscovery({
      source,
      resolver: ctx.resolver,
      clock,
      logger,
      onTargets: (targets) => this.pool.setSource(`dns:${source.name}`, targets),
    }))
    this.listener = new ProxyListener({
      name: cfg.name,
      host: cfg.host,
      port: cfg.port,
      closeListenSocket: cfg.closeListenSocket,
      settings: sessionSettings(config, cfg),
      pool: this.pool,
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
  get sessions (): ReadonlySet<ProxySession> { return this.listener.sessions }

  /**
   * First DNS answers and a first /status round, then the listen socket: whether it opens depends
   * on what they found. Rejects if the port cannot be bound (EADDRINUSE).
   */
  async start (): Promise<void> {
    await Promise.all(this.dns.map(d => d.start()))
    await this.pool.pollAll()
    await this.listener.start()
    // Only now: a pool change before start() would open the socket a second time.
    this.pool.on('change', () => this.listener.reconcile())
  }

  /** No new clients, for good; sessions continue. */
  stopAccepting (): void {
    this.listener.stopAccepting()
  }

  /** Stops accepting, discovery and /status polling; sessions are the caller's to end. */
  stop (): void {
    this.listener.stopAccepting()
    for (const d of this.dns) d.stop()
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
      proxyProtocol: this.cfg.proxyProtocol,
      sessions: this.listener.sessions.size,
    }
  }

  backendStatus (): Array<BackendStatus & { listener: string }> {
    return this.pool.status().map(b => ({ listener: this.cfg.name, ...b }))
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
