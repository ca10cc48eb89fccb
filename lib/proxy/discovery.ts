// Backend discovery: a static list, and DNS A or SRV records (e.g. a headless Kubernetes Service;
// HAProxy's `server-template` with `resolvers`, doc/configuration.txt), refreshed periodically. A
// failed lookup keeps the previous set (like HAProxy's `hold` periods), so a DNS outage never drops
// backends.
import { promises as dnsPromises } from 'node:dns'
import { isIP } from 'node:net'
import type { Clock, Timer } from '../clock.js'
import { errorMessage, ErrorCodes, lbError } from '../errors.js'
import type { Logger } from '../observability/index.js'
import type { BackendTarget } from './backend.js'

export interface SrvRecord { name: string, port: number, priority: number, weight: number }

/** The two lookups discovery needs; node:dns promises by default, injected in tests. */
export interface Resolver {
  resolve4: (hostname: string) => Promise<string[]>
  resolveSrv: (hostname: string) => Promise<SrvRecord[]>
}

export const systemResolver: Resolver = {
  resolve4: (hostname) => dnsPromises.resolve4(hostname),
  resolveSrv: (hostname) => dnsPromises.resolveSrv(hostname),
}

export interface StaticBackendConfig { name: string, host: string, port: number, adminUrl?: string, weight: number }
export interface DnsBackendConfig { name: string, type: 'A' | 'SRV', port?: number, adminPort?: number, refresh: number, weight: number }

export function staticTargets (list: readonly StaticBackendConfig[]): BackendTarget[] {
  return list.map(b => ({ id: b.name, host: b.host, port: b.port, adminUrl: b.adminUrl, weight: b.weight, source: 'static' }))
}

function hostForUrl (ip: string): string { return isIP(ip) === 6 ? `[${ip}]` : ip }

function target (src: DnsBackendConfig, ip: string, port: number): BackendTarget {
  return {
    id: `${src.name}/${ip}:${port}`,
    host: ip,
    port,
    adminUrl: src.adminPort === undefined ? undefined : `http://${hostForUrl(ip)}:${src.adminPort}`,
    weight: src.weight,
    source: `dns:${src.name}`,
  }
}

async function addresses (host: string, resolver: Resolver): Promise<string[]> {
  return isIP(host) !== 0 ? [host] : resolver.resolve4(host)
}

/**
 * Resolves one DNS source to targets, sorted by id. A: every address at `port`. SRV: every
 * record's target resolved to its addresses, at the record's port (or `port` if configured).
 * SRV priority and weight are not used: all records are peers with the configured weight.
 * Throws if the name itself cannot be resolved (the resolver's error), or BACKEND_DISCOVERY for an
 * A source without a port; an SRV target that fails is skipped.
 */
export async function resolveDnsSource (src: DnsBackendConfig, resolver: Resolver, logger?: Logger): Promise<BackendTarget[]> {
  const out = new Map<string, BackendTarget>()
  if (src.type === 'A') {
    if (src.port === undefined) throw lbError(ErrorCodes.BACKEND_DISCOVERY, `dns ${src.name}: type A needs a port`)
    for (const ip of await addresses(src.name, resolver)) out.set(`${ip}:${src.port}`, target(src, ip, src.port))
  } else {
    for (const rec of await resolver.resolveSrv(src.name)) {
      const port = src.port ?? rec.port
      let ips: string[]
      try {
        ips = await addresses(rec.name, resolver)
      } catch (err) {
        logger?.warn({ event: 'dns_lookup_failed', dns: src.name, target: rec.name, error: errorMessage(err) }, 'SRV target did not resolve; skipped')
        continue
      }
      for (const ip of ips) out.set(`${ip}:${port}`, target(src, ip, port))
    }
  }
  return [...out.values()].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

export interface DnsDiscoveryOptions {
  source: DnsBackendConfig
  resolver: Resolver
  clock: Clock
  logger: Logger
  onTargets: (targets: BackendTarget[]) => void
}

/** Re-resolves one DNS source every `refresh` ms and reports each successful answer. */
export class DnsDiscovery {
  private timer: Timer | undefined
  private stopped = false
  private last: string | undefined

  constructor (private readonly opts: DnsDiscoveryOptions) {}

  /** Resolves once now (reporting the result), then keeps refreshing. */
  async start (): Promise<void> {
    await this.refresh()
    this.schedule()
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  async refresh (): Promise<void> {
    const { source, logger } = this.opts
    let targets: BackendTarget[]
    try {
      targets = await resolveDnsSource(source, this.opts.resolver, logger)
    } catch (err) {
      logger.warn({ event: 'dns_lookup_failed', dns: source.name, type: source.type, error: errorMessage(err) }, 'DNS lookup failed; keeping the previous backends')
      return
    }
    if (this.stopped) return
    const key = targets.map(t => t.id).join(',')
    if (key !== this.last) {
      logger.info({ event: 'dns_backends', dns: source.name, type: source.type, backends: targets.map(t => `${t.host}:${t.port}`) }, 'DNS backends changed')
      this.last = key
    }
    this.opts.onTargets(targets)
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined
      void this.refresh().then(() => this.schedule())
    }, this.opts.source.refresh)
  }
}
