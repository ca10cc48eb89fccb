// HostSide for a `tn3270` host link: the gateway fronts a real TN3270 host (z/OS TN3270E server,
// Hercules console server) with its LU pools, CloseListenSocket, keepalive, pacing credit and
// metrics. Each gateway LU maps to a host-side resource (LU name, device number, group) or to a
// generic session; each client session is one Relay (tn3270-relay.ts) with one upstream
// TN3270(E) session (lib/hostlink).
//
// Availability: the LUs of this host are active while the host answers connects (a probe every
// probeInterval while no session is up; live sessions count as proof). A host that refuses a
// resource (TN3270E REJECT, TTYPE asked again, a "Connection rejected" screen, a close before
// any screen) takes that LU out of rotation for resourceRetryAfter, so the next client gets the
// next resource and the listener closes when nothing is left (CloseListenSocket, KB Q101235). A
// generic session refused because the host is out of devices rests every free generic LU of that
// host until one of its sessions ends (a device is free again) or resourceRetryAfter passes.
//
// The upstream session is opened in serve(), after the client's negotiation (the allocator is
// synchronous by contract, docs/internals.md), but before any host byte reaches the client: the
// host's first screen is checked first, so a client is never shown a host's "no device" screen;
// a refused client is closed with a logged reason.
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { systemClock, type Clock, type Timer } from '../clock.js'
import type { GatewayConfig, GatewayHostConfig, Tn3270LinkConfig } from '../config/index.js'
import { errorMessage, ErrorCodes, lbError } from '../errors.js'
import { probeTn3270Host, type Tn3270TlsMaterial } from '../hostlink/index.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import type { ClientBinding, HostSide, HostSideContext, HostSideEvents } from './host-side.js'
import type { LuRegistry } from './lu-pool.js'
import { Relay, type RelayHost } from './tn3270-relay.js'

export type Tn3270HostDeps = HostSideContext

export function createTn3270HostSide (host: GatewayHostConfig, deps: Tn3270HostDeps): HostSide {
  if (host.link.type !== 'tn3270') throw lbError(ErrorCodes.CONFIG_INVALID, `config: hosts.${host.name}.link.type = ${JSON.stringify(host.link.type)}: expected "tn3270" here`)
  return new Tn3270HostSide(host.name, host.link, deps)
}

/** ca/cert/key: PEM text inline, or a path to a PEM file. */
export function loadTlsMaterial (hostName: string, tls: Tn3270LinkConfig['tls']): Tn3270TlsMaterial | undefined {
  if (tls === undefined) return undefined
  const read = (key: 'ca' | 'cert' | 'key'): string | Buffer | undefined => {
    const v = tls[key]
    if (v === undefined) return undefined
    if (v.includes('-----BEGIN')) return v
    try { return readFileSync(v) } catch (err) {
      throw lbError(ErrorCodes.CONFIG_INVALID, `config: hosts.${hostName}.link.tls.${key} = ${JSON.stringify(v)}: expected PEM text or a readable PEM file (${errorMessage(err)})`)
    }
  }
  const out: Tn3270TlsMaterial = { rejectUnauthorized: tls.rejectUnauthorized }
  const ca = read('ca'); const cert = read('cert'); const key = read('key')
  if ((cert === undefined) !== (key === undefined)) {
    throw lbError(ErrorCodes.CONFIG_INVALID, `config: hosts.${hostName}.link.tls: a client certificate needs both cert and key`)
  }
  if (ca !== undefined) out.ca = ca
  if (cert !== undefined) out.cert = cert
  if (key !== undefined) out.key = key
  if (tls.servername !== undefined) out.servername = tls.servername
  return out
}

interface Cooldown {
  until: number
  reason: string
  timer: Timer
  /** A generic session refused because the host had no device left: ends early when one frees. */
  full: boolean
}

/** The host side's life: built, started (probing), closed. */
type SideState = 'idle' | 'started' | 'closed'
/** The link as last probed or proven: unknown until the first probe answers. */
type LinkState = 'unknown' | 'up' | 'down'

class Tn3270HostSide extends EventEmitter<HostSideEvents> implements HostSide, RelayHost {
  readonly type = 'tn3270' as const
  readonly bindImage = false
  readonly lu62 = undefined
  readonly tls: Tn3270TlsMaterial | undefined
  readonly clock: Clock
  readonly config: GatewayConfig
  readonly metrics: GatewayMetrics
  private state: SideState = 'idle'
  private linkState: LinkState = 'unknown'
  private probeTimer: Timer | undefined
  private probing: Promise<void> | undefined
  private lastProbe: { at: number, ok: boolean, error?: string } | undefined
  private readonly cooldown = new Map<string, Cooldown>()
  /** When the last session on each LU ended (the host may still be freeing its device). */
  private readonly released = new Map<string, number>()
  private readonly relays = new Map<Relay, Promise<void>>()
  private readonly lus: LuRegistry
  private readonly log: Logger
  private readonly probeAbort = new AbortController()

  constructor (readonly name: string, readonly link: Tn3270LinkConfig, deps: Tn3270HostDeps) {
    super()
    this.tls = loadTlsMaterial(name, link.tls)
    this.clock = deps.clock ?? systemClock
    this.config = deps.config
    this.metrics = deps.metrics
    this.lus = deps.lus
    this.log = deps.logger
  }

  get up (): boolean { return this.linkState === 'up' }
  get address (): string { return `${this.link.host}:${this.link.port}` }
  private get closed (): boolean { return this.state === 'closed' }

  start (): void {
    if (this.state !== 'idle') return
    this.state = 'started'
    this.metrics.hostLinkUp.set({ host: this.name }, 0)
    this.probeNow()
  }

  async serve (binding: ClientBinding): Promise<void> {
    if (this.closed) {
      binding.onEnd('host side closed')
      binding.session.close('gateway host side closed')
      return
    }
    const relay = new Relay(this, binding)
    const served = relay.run()
    this.relays.set(relay, served)
    try {
      await served
    } finally {
      this.relays.delete(relay)
    }
  }

  async endAll (reason: string): Promise<void> {
    await Promise.all([...this.relays.keys()].map(async r => { await r.end(reason) }))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.state = 'closed'
    this.probeAbort.abort()
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer)
    this.probeTimer = undefined
    for (const c of this.cooldown.values()) this.clock.clearTimeout(c.timer)
    this.cooldown.clear()
    await this.endAll('gateway host side closing')
    await this.probing
    this.metrics.hostLinkUp.set({ host: this.name }, 0)
  }

  status (): Record<string, unknown> {
    const now = this.clock.now()
    return {
      address: this.address,
      tls: this.tls !== undefined,
      luRequest: this.link.luRequest,
      terminalType: this.link.terminalType,
      sessions: this.relays.size,
      refused: [...this.cooldown.entries()].map(([lu, c]) => ({ lu, reason: c.reason, retryInMs: Math.max(0, c.until - now) })),
      ...(this.lastProbe === undefined ? {} : { lastProbe: this.lastProbe }),
    }
  }

  // ---- availability --------------------------------------------------------------------

  /** The LUs of this host that are not refused right now are served while the host is up. */
  setUp (up: boolean, reason: string): void {
    if (this.closed) return
    const next: LinkState = up ? 'up' : 'down'
    const changed = next !== this.linkState
    this.linkState = next
    this.metrics.hostLinkUp.set({ host: this.name }, up ? 1 : 0)
    const lus = this.lus.luOfHost(this.name)
    if (up) {
      if (changed) this.log.info({ event: 'host_link_up', address: this.address, lus: lus.length }, 'tn3270 host link up')
      for (const lu of lus) if (!this.cooldown.has(lu.name)) this.lus.activate(lu.name)
      if (changed) this.emit('up')
    } else {
      if (changed) this.log.warn({ event: 'host_link_down', address: this.address, reason }, 'tn3270 host link down')
      for (const lu of lus) if (lu.state !== 'unavailable' || changed) this.lus.deactivate(lu.name, `host link down: ${reason}`)
      if (changed) this.emit('down', reason)
    }
  }

  /** LUs a reload added are served at once while the host answers (no probe needed). */
  adoptLus (): void {
    if (!this.up || this.closed) return
    for (const lu of this.lus.luOfHost(this.name)) if (!this.cooldown.has(lu.name)) this.lus.activate(lu.name)
  }

  /** A resource the host refused stays out of rotation for resourceRetryAfter (then the next is tried). */
  refuse (luName: string, reason: string, full = false): void {
    if (this.closed) return
    const old = this.cooldown.get(luName)
    if (old !== undefined) this.clock.clearTimeout(old.timer)
    const retry = this.link.resourceRetryAfter
    const timer = this.clock.setTimeout(() => { this.retry(luName, 'resourceRetryAfter') }, retry)
    this.cooldown.set(luName, { until: this.clock.now() + retry, reason, timer, full })
    this.lus.deactivate(luName, `refused by host: ${reason}`)
  }

  /**
   * The host refused a generic session for want of devices: every free generic LU of this host
   * would meet the same answer, so all of them rest (CloseListenSocket can then close instead of
   * letting each next client be refused in turn) until a session of this host ends or
   * resourceRetryAfter passes.
   */
  refuseGeneric (luName: string, reason: string): void {
    this.refuse(luName, reason, true)
    for (const lu of this.lus.luOfHost(this.name)) {
      if (lu.def.resource === undefined && lu.state === 'free') this.refuse(lu.name, `${reason} (host out of devices)`, true)
    }
  }

  /** A session of this host ended: a device is free again on the host. */
  deviceFreed (luName: string): void {
    this.released.set(luName, this.clock.now())
    for (const [name, c] of [...this.cooldown]) if (c.full) this.retry(name, 'a host device was freed')
  }

  /** How long ago (ms) a session on this LU ended; Infinity if none did. */
  releasedAgo (luName: string): number {
    const at = this.released.get(luName)
    return at === undefined ? Infinity : this.clock.now() - at
  }

  private retry (luName: string, why: string): void {
    const c = this.cooldown.get(luName)
    if (c === undefined) return
    this.clock.clearTimeout(c.timer)
    this.cooldown.delete(luName)
    if (this.up && !this.closed) {
      this.log.info({ event: 'tn3270_resource_retry', lu: luName, why }, 'retrying a resource the host refused')
      this.lus.activate(luName)
    }
  }

  /** Probe now (start, a session lost its host, a connect failed); the next one follows every probeInterval. */
  probeNow (): void {
    if (this.closed || this.probing !== undefined) return
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer)
    this.probeTimer = undefined
    this.probing = this.probe().finally(() => {
      this.probing = undefined
      this.scheduleProbe()
    })
  }

  private scheduleProbe (): void {
    if (this.closed || this.probeTimer !== undefined) return
    this.probeTimer = this.clock.setTimeout(() => {
      this.probeTimer = undefined
      // Live upstream sessions prove the host answers: probe only while none is up (or while
      // the link is down, so that one lingering session cannot hold it up against a failed probe).
      if (this.up && this.liveSessions() > 0) { this.scheduleProbe(); return }
      this.probeNow()
    }, this.link.probeInterval)
  }

  private async probe (): Promise<void> {
    try {
      await probeTn3270Host({ host: this.link.host, port: this.link.port, tls: this.tls, connectTimeout: this.link.connectTimeout, clock: this.clock, signal: this.probeAbort.signal })
      this.lastProbe = { at: this.clock.now(), ok: true }
      this.setUp(true, 'probe connected')
    } catch (err) {
      if (this.closed) return
      const message = errorMessage(err)
      this.lastProbe = { at: this.clock.now(), ok: false, error: message }
      this.setUp(false, message)
    }
  }

  private liveSessions (): number {
    let n = 0
    for (const r of this.relays.keys()) if (r.hostLive) n++
    return n
  }
}
