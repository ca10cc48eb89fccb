// startProxy: builds the front proxy from its parts — one frontend per configured listener
// (frontend.ts), the admin HTTP server with /status, /readyz and the runtime API
// (runtime-routes.ts), config reload (reload.ts) and the stop state machine (lifecycle.ts) — and
// releases whatever was built if any step fails (resources.ts).
import { Agent, type Dispatcher } from 'undici'
import { systemClock, type Clock } from '../clock.js'
import type { ProxyConfig, ReloadReport } from '../config/index.js'
import { ErrorCodes, lbError } from '../errors.js'
import { createProxyMetrics, reportReload, startAdminServer, type Logger, type Registry } from '../observability/index.js'
import { systemResolver, type Resolver } from './discovery.js'
import type { DrainReport } from './drain.js'
import { Frontend, type FrontendContext } from './frontend.js'
import { ProxyClientLimits } from './client-limits.js'
import { ProxyLifecycle, type ShutdownOptions } from './lifecycle.js'
import { reloadProxy } from './reload.js'
import { ProxyResources } from './resources.js'
import { proxyRuntimeRoutes } from './runtime-routes.js'
import { listeningLines, proxyStatus, type ProxyStatus } from './status.js'

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
  /**
   * Loads the config again the way the proxy was started (file, environment, `--set`), for
   * reload (SIGHUP, POST /v1/reload). Omitted: the proxy has nothing to re-read.
   */
  reloadConfig?: () => ProxyConfig
}

export interface Proxy {
  listeners: Array<{ name: string, host: string, port: number }>
  admin: { host: string, port: number }
  status: () => ProxyStatus
  ready: () => boolean
  /** `listening proxy <listener> <host:port>` lines and `listening proxy-admin <name> <host:port>`. */
  listening: () => string[]
  /**
   * Soft stop (HAProxy's soft stop, doc/management.txt): /readyz 503, stop accepting, sessions
   * continue up to drainTimeout, then are closed spread over closeSpreadTime. `immediate` = close().
   */
  shutdown: (opts?: ShutdownOptions) => Promise<void>
  /** Counts from the last completed soft stop. */
  drainReport: () => DrainReport | undefined
  /** Hard stop: everything closed now. */
  close: () => Promise<void>
  /**
   * Re-loads the config (ProxyDeps.reloadConfig) and applies what can change live, all or
   * nothing; throws (nothing applied) when it cannot. One log line and one
   * tn3270_config_reloads_total count either way.
   */
  reload: () => ReloadReport
  /** SIGHUP: every listener's TLS certificate and backend TLS material read again (new connections use them). */
  reloadCertificates: () => void
}

/**
 * Idle keep-alive below the admin server's 5 s (lib/observability/admin.ts), so a poll never
 * reuses a socket the gateway is closing; undici also honours the server's Keep-Alive hint.
 */
const STATUS_KEEPALIVE_MS = 4000

export async function startProxy (config: ProxyConfig, deps: ProxyDeps): Promise<Proxy> {
  const ctx: FrontendContext = {
    config,
    dispatcher: deps.dispatcher ?? new Agent({ connect: { timeout: config.statusTimeout }, keepAliveTimeout: STATUS_KEEPALIVE_MS }),
    resolver: deps.resolver ?? systemResolver,
    clock: deps.clock ?? systemClock,
    logger: deps.logger,
    metrics: createProxyMetrics(deps.registry),
    limits: new ProxyClientLimits({ pending: config.maxPendingPerClient, sessions: config.maxSessionsPerClient }),
  }
  const resources = new ProxyResources(ctx.dispatcher, deps.dispatcher === undefined)
  try {
    for (const cfg of config.listeners) {
      const frontend = new Frontend(cfg, ctx)
      resources.frontends.push(frontend)
      await frontend.start()
    }
    return await serve(config, deps, ctx, resources)
  } catch (err) {
    await resources.release()
    throw err
  }
}

/** With the frontends started: the admin server, the stop state machine, the public handle. */
async function serve (config: ProxyConfig, deps: ProxyDeps, ctx: FrontendContext, resources: ProxyResources): Promise<Proxy> {
  const { frontends } = resources
  const lifecycle = new ProxyLifecycle({
    frontends,
    release: () => resources.release(),
    drainTimeout: config.drainTimeout,
    closeSpreadTime: config.closeSpreadTime,
    clock: ctx.clock,
    logger: ctx.logger,
    random: deps.random,
  })
  const status = () => proxyStatus(config.name, !lifecycle.ready, frontends)
  const reload = (): ReloadReport => reportReload('proxy', () => {
    if (deps.reloadConfig === undefined) throw lbError(ErrorCodes.CONFIG_RELOAD, 'config reload refused: this proxy was started without a config file, so there is nothing to re-read')
    return reloadProxy({ config, frontends, admin: resources.admin }, deps.reloadConfig())
  }, ctx.metrics.configReloads, ctx.logger)
  const admin = await startAdminServer({
    host: config.admin.host,
    port: config.admin.port,
    token: config.admin.token,
    registry: deps.registry,
    logger: ctx.logger,
    status,
    ready: () => lifecycle.ready,
    route: proxyRuntimeRoutes({ frontends, reload }),
  })
  resources.admin = admin
  const adminAddress = { host: admin.address.address, port: admin.address.port }
  // The role is the logger's binding (the CLI's, the demo's child): not repeated here.
  for (const f of frontends) ctx.logger.info({ event: 'listening', listener: f.name, address: f.addressText, open: f.open }, 'proxy listener started')
  ctx.logger.info({ event: 'listening', listener: 'admin', address: `${adminAddress.host}:${adminAddress.port}` }, 'proxy admin started')
  return {
    listeners: frontends.map(f => ({ name: f.name, ...f.address })),
    admin: adminAddress,
    status,
    ready: () => lifecycle.ready,
    listening: () => listeningLines(config.name, frontends, adminAddress),
    drainReport: () => lifecycle.drainReport,
    // The drain times as the config has them now (a reload may have changed them).
    shutdown: (opts) => lifecycle.shutdown({ drainTimeout: config.drainTimeout, closeSpreadTime: config.closeSpreadTime, ...opts }),
    close: () => lifecycle.close(),
    reload,
    reloadCertificates: () => { for (const f of frontends) f.reloadCertificates(ctx.logger) },
  }
}
