// One running host simulator: the `sna` link listener, a PuController per gateway link, the LU 6.2
// partner, restart and shutdown. startHostSim (index.ts) builds it and adds the admin server.
//
//   running --restart()--> restarting (links dropped, listener closed) --restartDelay--> running
//   running|restarting --close()--> closed   (the one cleanup path, also when start-up fails)
//
// POST /restart drops every session and link, resets the partner's session limits (a VTAM re-IPL
// sets all session limits to zero pending an Initialize CNOS, IBM sc0805) and listens again after
// `restartDelay`; gateways reconnect and are activated afresh (cold ACTPU).
import type { AddressInfo } from 'node:net'
import type { HostSimConfig } from '../config/index.js'
import type { Clock, Timer } from '../clock.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../observability/index.js'
import { SnaLinkServer, type SnaLink } from '../hostlink/index.js'
import { Lu62Partner } from '../appc/index.js'
import { Faults } from './faults.js'
import { PuController, hostEnv, type HostEnv, type PuStatus } from './pu.js'
import { BindRejectingAppcSink } from './appc.js'
import type { HostLu } from './host-lu.js'

export interface LinkOptions { keepaliveInterval?: number, keepaliveLimit?: number, helloTimeout?: number, closeTimeout?: number }

export interface BoundSession {
  lu: string
  gateway: string
  application: string
  state: string
}

export interface SimulatorStatus {
  pus: PuStatus[]
  /** LU-LU sessions (not ended): what a churn test compares with the gateway's view. */
  sessions: { active: number, bound: BoundSession[] }
  /** Host-side pacing: sessions whose output waits for the gateway's IPR ("window withheld"). */
  pacing: { waitingSessions: number, maxWaitingForIprMs: number, queued: number }
}

type Phase = 'running' | 'restarting' | 'closed'

interface LinkEntry { id: string, link: SnaLink, pu: PuController }

export class HostSimulator {
  readonly faults = new Faults()
  readonly partner: Lu62Partner | undefined
  private phase: Phase = 'running'
  private readonly links = new Map<string, LinkEntry>()
  private linkSeq = 0
  private server: SnaLinkServer | undefined
  /** Set by the first listen(), which startHostSim awaits before handing the simulator out. */
  private address!: AddressInfo
  private restartTimer: Timer | undefined
  private resumeAt = 0
  restarts = 0
  private readonly env: HostEnv

  constructor (readonly config: HostSimConfig, private readonly clock: Clock, private readonly log: Logger, private readonly linkOptions: LinkOptions = {}) {
    // LU names are unique in the network: a display's printer may sit on another PU's link.
    this.env = { ...hostEnv(config, { faults: this.faults, clock, logger: log }), findLu: name => this.luNamed(name) }
    this.partner = config.appc.lu === undefined
      ? undefined
      : new Lu62Partner({
        lu: config.appc.lu,
        modes: config.appc.modes,
        tps: config.appc.tps,
        transport: { send: (piu, id) => { const e = this.links.get(id); if (e !== undefined) this.sendOn(e.link, piu) } },
        logger: log.child({ appc: config.appc.lu }),
        clock,
      })
  }

  get linkAddress (): AddressInfo { return this.address }

  get restarting (): boolean { return this.phase === 'restarting' }
  get closed (): boolean { return this.phase === 'closed' }
  get listening (): boolean { return this.server !== undefined }
  get gateways (): number { return this.links.size }
  get resumesInMs (): number { return this.phase === 'restarting' ? Math.max(0, this.resumeAt - this.clock.now()) : 0 }
  ready (): boolean { return this.phase === 'running' && this.server !== undefined }

  /** Listens on `port` (0 = any); resolves with the address. */
  async listen (port: number): Promise<AddressInfo> {
    const s = new SnaLinkServer({ node: this.config.name, host: this.config.link.host, port, logger: this.log, clock: this.clock, ...this.linkOptions })
    s.on('link', link => { this.onLink(link) })
    const address = await s.listen()
    if (this.phase === 'closed') {
      // closed while listening (a restart's resume racing close()): nothing may stay open
      await s.close('host shutting down')
      this.log.info({ port: address.port }, 'host simulator closed while listening again; listener closed')
      return address
    }
    this.server = s
    this.address = address
    return address
  }

  private sendOn (link: SnaLink, piu: Buffer): boolean {
    if (!link.up) return true
    try {
      return link.send(piu)
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'PIU not sent: host link not up')
      return true
    }
  }

  private onLink (link: SnaLink): void {
    const hello = link.peer!
    if (this.phase !== 'running') {
      void link.close(this.phase === 'restarting' ? 'host restarting' : 'host shutting down')
      return
    }
    const id = `${hello.node}#${++this.linkSeq}`
    const send = (piu: Buffer): boolean => this.sendOn(link, piu)
    const appc = this.partner === undefined ? undefined : new BindRejectingAppcSink(this.faults, this.partner, id, send, this.log)
    const pu = new PuController({ node: hello.node, remote: link.remote, lus: (hello.lus ?? []).map(l => ({ name: l.name, address: l.locaddr, ...(l.luType === undefined ? {} : { luType: l.luType }), ...(l.printer === undefined ? {} : { printer: l.printer }) })), send }, this.env, appc)
    this.links.set(id, { id, link, pu })
    this.log.info({ event: 'gateway_link_up', gateway: hello.node, lus: hello.lus?.length ?? 0, remote: link.remote }, 'gateway link up')
    link.on('piu', piu => pu.receive(piu))
    link.on('drain', () => pu.drained())
    link.once('down', reason => {
      this.links.delete(id)
      pu.close(`link down: ${reason}`)
      this.partner?.linkDown(id)
      this.log.info({ event: 'gateway_link_down', gateway: hello.node, reason }, 'gateway link down')
    })
    this.partner?.linkUp(id)
    pu.start()
  }

  /** An LU by name on any PU linked now. */
  private luNamed (name: string): HostLu | undefined {
    for (const e of this.links.values()) {
      const lu = e.pu.luNamed(name)
      if (lu !== undefined) return lu
    }
    return undefined
  }

  /** Drops every session and link now; resolves when they are down. Listening resumes after restartDelay. */
  async restart (): Promise<void> {
    if (this.phase === 'closed') return
    this.restarts++
    this.phase = 'restarting'
    this.resumeAt = this.clock.now() + this.config.restartDelay
    this.cancelResume()
    this.partner?.restart()
    await this.dropLinks('host restart', 'host restarting')
    if (this.phase !== 'restarting') return
    this.log.warn({ event: 'host_down', restartDelayMs: this.config.restartDelay }, 'host down for restart')
    this.restartTimer = this.clock.setTimeout(() => { void this.resume() }, this.config.restartDelay)
  }

  private async resume (): Promise<void> {
    this.restartTimer = undefined
    if (this.phase !== 'restarting') return
    try {
      const address = await this.listen(this.linkAddress.port)
      if (this.phase !== 'restarting') return
      this.phase = 'running'
      this.log.info({ event: 'host_up', address: `${address.address}:${address.port}` }, 'host back after restart; waiting for gateway links')
    } catch (err) {
      // The port may be taken meanwhile: stay down and say so (the admin status shows it).
      this.log.error({ err, port: this.linkAddress.port }, 'host could not listen again after restart')
    }
  }

  /** The partner LU alone restarts (limits to zero, sessions unbound); false without a partner. */
  restartPartner (): boolean {
    if (this.partner === undefined) return false
    this.partner.restart()
    return true
  }

  /** The one cleanup path: sessions, partner, listener (also for a failed start-up). */
  async close (reason = 'host shutting down'): Promise<void> {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.cancelResume()
    for (const entry of this.links.values()) entry.pu.close(reason)
    this.partner?.close()
    await this.dropLinks(reason, reason)
  }

  private cancelResume (): void {
    if (this.restartTimer !== undefined) this.clock.clearTimeout(this.restartTimer)
    this.restartTimer = undefined
  }

  private async dropLinks (puReason: string, byeReason: string): Promise<void> {
    for (const entry of this.links.values()) entry.pu.close(puReason)
    const old = this.server
    this.server = undefined
    await old?.close(byeReason)
  }

  status (): SimulatorStatus {
    const pus = [...this.links.values()].map(e => e.pu.status())
    const bound: BoundSession[] = []
    const pacing = { waitingSessions: 0, maxWaitingForIprMs: 0, queued: 0 }
    for (const pu of pus) {
      for (const lu of pu.lus) {
        if (lu.session === null) continue
        bound.push({ lu: lu.name, gateway: pu.node, application: lu.session.application, state: lu.session.state })
        const p = lu.session.pacing
        pacing.queued += p.queued
        if (p.waitingForIprMs > 0) {
          pacing.waitingSessions++
          pacing.maxWaitingForIprMs = Math.max(pacing.maxWaitingForIprMs, p.waitingForIprMs)
        }
      }
    }
    return { pus, sessions: { active: bound.filter(s => s.state === 'active').length, bound }, pacing }
  }
}
