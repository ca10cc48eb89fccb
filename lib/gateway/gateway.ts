// A gateway process: LU pools behind CloseListenSocket listeners (KB Q101235), host links, the
// connection pipeline (pipeline.ts), the admin plane with the runtime API, config reload and
// audit records, and the drain on SIGTERM (docs/operations.md). This file only assembles the
// pieces and runs the gateway's own life: starting → ready → draining → stopped.
//
// The config must have been validated by gatewayConfigSchema (lib/config): the checks across
// sections (pools on configured hosts, listeners on configured pools, LU names) are done there.
import type { AddressInfo } from 'node:net'
import { AppcEngine } from '../appc/index.js'
import { systemClock, type Clock, type Timer } from '../clock.js'
import { printerPairs, type GatewayConfig } from '../config/index.js'
import { ErrorCodes, lbError } from '../errors.js'
import {
  createGatewayMetrics, reportReload, startAdminServer,
  type AdminServer, type GatewayMetrics, type Logger, type Registry, type RouteHandler,
} from '../observability/index.js'
import { appcRoutes } from './appc-routes.js'
import { AuditLog } from './audit.js'
import type { ConnectionEndInfo } from './connection.js'
import type { HostSide, HostSideContext, Lu62Port, StatusDetail } from './host-side.js'
import { awaitHostsUp, createHostSide } from './hosts.js'
import { ListenerManager } from './listeners.js'
import { compactLuNames, expandPools, LuRegistry, poolDefinitions, type PoolCounts } from './lu-pool.js'
import { ConnectionPipeline } from './pipeline.js'
import { reloadGateway, type ReloadReport, type ReloadTarget } from './reload.js'
import { runtimeRoutes } from './runtime-routes.js'
import type { SessionFacts } from './session-record.js'
import { puNameOf } from './sna-host.js'
import { TlsEndpoint } from '../tls/index.js'

export interface GatewayDeps {
  logger: Logger
  registry: Registry
  /** Time for sessions, host sides, negotiation, start-up and drain. Default: the system clock. */
  clock?: Clock
  /** Called once per client connection when it has ended, whatever phase it ended in. */
  onConnectionEnd?: (info: ConnectionEndInfo) => void
  /**
   * Loads the config again the way the gateway was started (file, environment, `--set`), for
   * reload (SIGHUP, POST /v1/reload). Omitted: the gateway has nothing to re-read.
   */
  reloadConfig?: () => GatewayConfig
}

export interface GatewayStatus {
  role: 'gateway'
  name: string
  ready: boolean
  draining: boolean
  listeners: Array<{ name: string, address: string, open: boolean, pools: string[] }>
  /**
   * Per pool: counts and admin state, `spare` (free LUs not promised to a connection accepted and
   * still negotiating: what a new client can get), and `luRanges`, the LU names the pool owns in
   * range form (`GW1A001..GW1A004`), which a front proxy routes LU names by (docs/routing.md).
   */
  pools: Array<PoolCounts & { spare: number, luRanges: string[] }>
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
  /** `allLus`: list every LU of each `sna` link (GET /status?lus=1); by default the idle ones are only counted. */
  status: (opts?: StatusDetail) => GatewayStatus
  /** The sessions being served (GET /v1/sessions). */
  sessions: () => SessionFacts[]
  /**
   * Re-loads the config (GatewayDeps.reloadConfig) and applies what can change live, all or
   * nothing; throws (nothing applied) when it cannot. One log line and one
   * tn3270_config_reloads_total count either way.
   */
  reload: () => ReloadReport
  /** SIGHUP: reopen `audit.file` after log rotation moved it away. */
  reopenAuditFile: () => void
  /** Drain: readyz 503, listeners close, sessions continue up to drainTimeout, then end. */
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
  /** SIGHUP: read every listener's TLS certificate files again (new connections use them). */
  reloadCertificates: () => void
}

/** How long startGateway waits for host links to come up before opening what it can. */
const STARTUP_LINK_WAIT_MS = 3000
/** After the drain timeout told every client, how long their sessions get to end. */
const END_WAIT_MS = 5000

export async function startGateway (config: GatewayConfig, deps: GatewayDeps): Promise<Gateway> {
  const clock = deps.clock ?? systemClock
  const { logger } = deps
  const metrics = createGatewayMetrics(deps.registry)
  const lus = createLuRegistry(config, metrics)
  const hosts = new Map<string, HostSide>()
  const hostContext = (host: string): HostSideContext => ({ config, lus, metrics, clock, logger: logger.child({ host }) })
  for (const h of config.hosts) hosts.set(h.name, createHostSide(h, hostContext(h.name)))
  const appc = createAppcEngine(config, hosts, { logger, metrics, clock })
  const audit = new AuditLog(config.audit, config.name, logger)
  const tls = openTlsEndpoints(config, { metrics, logger, clock })
  const pipeline = new ConnectionPipeline({
    config, lus, hosts, metrics, logger, clock, tls,
    audit: record => { audit.write(record) },
    ...(deps.onConnectionEnd === undefined ? {} : { onConnectionEnd: deps.onConnectionEnd }),
  })
  const listeners = new ListenerManager({ listeners: config.listeners, registry: lus, logger, metrics, clock, onConnection: c => { pipeline.accept(c) } })
  const gateway = new GatewayProcess({ config, deps, clock, metrics, lus, hosts, hostContext, appc, audit, pipeline, listeners, tls })
  await gateway.start()
  return gateway
}

/** One TLS endpoint per listener with a `tls` section; a bad certificate stops the start (TLS_CONFIG). */
function openTlsEndpoints (config: GatewayConfig, o: { metrics: GatewayMetrics, logger: Logger, clock: Clock }): Map<string, TlsEndpoint> {
  const endpoints = new Map<string, TlsEndpoint>()
  try {
    for (const l of config.listeners) {
      if (l.tls === undefined) continue
      endpoints.set(l.name, TlsEndpoint.open(l.tls, { role: 'gateway', listener: l.name, metrics: o.metrics.tls, logger: o.logger, clock: o.clock }))
    }
  } catch (err) {
    for (const e of endpoints.values()) e.close()
    throw err
  }
  return endpoints
}

/** The registry of every configured LU and its gauges (a pool a reload removed loses its series). */
function createLuRegistry (config: GatewayConfig, metrics: GatewayMetrics): LuRegistry {
  const lus = new LuRegistry(expandPools(config.pools), poolDefinitions(config.pools), printerPairs(config.pools))
  let shown = new Map<string, { host: string, kind: string }>()
  const updateLuGauges = (): void => {
    const now = new Map<string, { host: string, kind: string }>()
    for (const c of lus.counts()) {
      // `kind` (display, printer) lets a dashboard tell printer pools apart (docs/metrics.md).
      const labels = { pool: c.name, host: c.host, kind: c.kind }
      now.set(c.name, labels)
      metrics.lus.set({ ...labels, state: 'free' }, c.free)
      metrics.lus.set({ ...labels, state: 'in_use' }, c.inUse)
      metrics.lus.set({ ...labels, state: 'unavailable' }, c.unavailable)
    }
    for (const [pool, { host, kind }] of shown) {
      if (now.has(pool)) continue
      for (const state of ['free', 'in_use', 'unavailable']) metrics.lus.remove({ pool, host, kind, state })
    }
    shown = now
  }
  lus.on('change', updateLuGauges)
  updateLuGauges()
  return lus
}

/** One LU 6.2 engine for all partners, on the LU 6.2 ports of their hosts (sna links, ODAI = 1 PIUs). */
function createAppcEngine (config: GatewayConfig, hosts: ReadonlyMap<string, HostSide>, o: { logger: Logger, metrics: GatewayMetrics, clock: Clock }): AppcEngine | undefined {
  if (config.appc.partners.length === 0) return undefined
  const ports = new Map<string, Lu62Port>()
  for (const p of config.appc.partners) {
    const port = hosts.get(p.host)?.lu62
    if (port === undefined) {
      throw lbError(ErrorCodes.CONFIG_INVALID, `config: appc.partners.${p.name}.host = ${JSON.stringify(p.host)}: expected the name of a host with an sna link`)
    }
    ports.set(p.host, port)
  }
  const engine = new AppcEngine({
    config: config.appc,
    localLu: puNameOf(config.name),
    transport: { send: (piu, host) => { ports.get(host)?.send(piu) } },
    logger: o.logger.child({ component: 'appc' }),
    metrics: o.metrics,
    clock: o.clock,
  })
  for (const [host, port] of ports) {
    port.attach({ receive: piu => engine.receive(piu, host), linkUp: () => engine.linkUp(host), linkDown: () => engine.linkDown(host) })
  }
  return engine
}

/** The gateway's own life; status is not ready until host links had their chance and listeners opened. */
type GatewayState = 'starting' | 'ready' | 'draining' | 'stopped'

interface GatewayParts {
  config: GatewayConfig
  deps: GatewayDeps
  clock: Clock
  metrics: GatewayMetrics
  lus: LuRegistry
  hosts: Map<string, HostSide>
  hostContext: (host: string) => HostSideContext
  appc: AppcEngine | undefined
  audit: AuditLog
  pipeline: ConnectionPipeline
  listeners: ListenerManager
  tls: ReadonlyMap<string, TlsEndpoint>
}

class GatewayProcess implements Gateway {
  readonly name: string
  readonly lus: LuRegistry
  readonly metrics: GatewayMetrics
  readonly hosts: ReadonlyMap<string, HostSide>
  private state: GatewayState = 'starting'
  private admin: AdminServer | undefined
  private drained: Promise<void> | undefined
  private readonly p: GatewayParts
  private readonly log: Logger

  constructor (parts: GatewayParts) {
    this.p = parts
    this.name = parts.config.name
    this.lus = parts.lus
    this.metrics = parts.metrics
    this.hosts = parts.hosts
    this.log = parts.deps.logger
  }

  get adminAddress (): AddressInfo { return this.admin!.address }

  /** Admin first (a proxy polling /status sees "not ready"), then host links, then listeners. */
  async start (): Promise<void> {
    const { config, deps, appc, clock, hosts, listeners, lus } = this.p
    const routes: RouteHandler[] = [
      runtimeRoutes({ lus, sessions: () => this.sessions(), reload: () => this.reload(), logger: this.log }),
      ...(appc === undefined ? [] : [appcRoutes(appc)]),
    ]
    this.admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      token: config.admin.token,
      registry: deps.registry,
      logger: this.log,
      status: query => this.status({ allLus: query.get('lus') === '1' }),
      ready: () => this.state === 'ready',
      route: async (req, res, url) => {
        for (const r of routes) if (await r(req, res, url)) return true
        return false
      },
    })
    try {
      // A listener port that cannot be bound ends the start (one line) before the host wait.
      await listeners.proveAll()
    } catch (err) {
      await this.stopNow()
      throw err
    }
    for (const h of hosts.values()) h.start()
    await awaitHostsUp([...hosts.values()], STARTUP_LINK_WAIT_MS, clock)
    await listeners.start()
    this.state = 'ready'
  }

  listening (): string[] {
    const a = this.adminAddress
    return [
      ...this.p.listeners.status().map(l => `listening gateway ${this.name} ${l.address}`),
      `listening gateway-admin ${this.name} ${a.address}:${a.port}`,
    ]
  }

  reloadCertificates (): void {
    for (const e of this.p.tls.values()) e.reload()
  }

  listenerPort (name: string): number {
    return this.p.listeners.address(name)?.port ?? this.p.config.listeners.find(l => l.name === name)?.port ?? 0
  }

  status (opts: StatusDetail = {}): GatewayStatus {
    const { listeners, pipeline } = this.p
    return {
      role: 'gateway',
      name: this.name,
      ready: this.state === 'ready',
      draining: this.state === 'draining' || this.state === 'stopped',
      listeners: listeners.status(),
      pools: poolStatus(this.lus),
      hostLinks: [...this.hosts.values()].map(h => ({ ...h.status(opts), host: h.name, type: h.type, up: h.up })),
      sessions: { active: pipeline.sessions, negotiating: pipeline.negotiating },
    }
  }

  sessions (): SessionFacts[] { return this.p.pipeline.sessionList() }

  reload (): ReloadReport {
    const { deps, metrics } = this.p
    return reportReload('gateway', () => {
      if (deps.reloadConfig === undefined) {
        throw lbError(ErrorCodes.CONFIG_RELOAD, 'config reload refused: this gateway was started without a config file, so there is nothing to re-read')
      }
      return reloadGateway(this.reloadTarget(), deps.reloadConfig())
    }, metrics.configReloads, this.log)
  }

  reopenAuditFile (): void { this.p.audit.reopen() }

  private reloadTarget (): ReloadTarget {
    const { config, lus, hosts, listeners, audit, metrics, hostContext } = this.p
    return { config, lus, hosts, listeners, audit, admin: this.admin, metrics, logger: this.log, hostContext }
  }

  async shutdown (opts: { immediate?: boolean } = {}): Promise<void> {
    if (opts.immediate === true) {
      await this.stopNow()
      return
    }
    this.drained ??= this.drain()
    await this.drained
  }

  /** Listeners close at once; sessions continue up to drainTimeout, then clients are told and LUs unbound. */
  private async drain (): Promise<void> {
    const { config, listeners, pipeline, clock } = this.p
    this.state = 'draining'
    this.log.info({ drainTimeout: config.drainTimeout, sessions: pipeline.sessions }, 'draining: listeners closed, sessions continue')
    listeners.stop()
    if (!await settledWithin(pipeline.settled(), config.drainTimeout, clock)) {
      this.log.info({ sessions: pipeline.sessions }, 'drain timeout: telling clients and unbinding LUs')
      await this.endHostSessions('gateway shutting down')
      await settledWithin(pipeline.settled(), END_WAIT_MS, clock)
    }
    await this.closeAll()
    this.log.info('gateway stopped')
  }

  private async stopNow (): Promise<void> {
    this.state = 'draining'
    this.p.listeners.stop()
    this.p.pipeline.endAll('gateway stopping')
    await this.endHostSessions('gateway stopping now')
    await this.closeAll()
  }

  private async endHostSessions (reason: string): Promise<void> {
    await Promise.all([...this.hosts.values()].map(h => h.endAll(reason)))
  }

  private async closeAll (): Promise<void> {
    for (const e of this.p.tls.values()) e.close()
    await this.p.appc?.close()
    await this.p.audit.close()
    await Promise.all([...this.hosts.values()].map(h => h.close()))
    await this.admin?.close()
    this.state = 'stopped'
  }
}

/** The pools as /status shows them: counts, spare LUs and the LU names each owns, as ranges. */
function poolStatus (lus: LuRegistry): GatewayStatus['pools'] {
  const names = new Map<string, string[]>()
  for (const lu of lus.all()) {
    const list = names.get(lu.def.pool)
    if (list === undefined) names.set(lu.def.pool, [lu.name])
    else list.push(lu.name)
  }
  return lus.counts().map(c => ({ ...c, spare: Math.max(0, lus.spare(c.name)), luRanges: compactLuNames(names.get(c.name) ?? []) }))
}

/** True if `work` settled within `ms`, false if the time ran out first. */
async function settledWithin (work: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  let timer: Timer | undefined
  const timeout = new Promise<false>(resolve => { timer = clock.setTimeout(() => resolve(false), ms) })
  const finished = await Promise.race([work.then(() => true, () => true), timeout])
  if (timer !== undefined) clock.clearTimeout(timer)
  return finished
}
