// A host reached over `sna` links: the gateway is one or more PUs T2.0 (sna-pu.ts, one link each,
// up to 254 LUs each) whose dependent LUs the host's SSCP activates. Link up → the host sends
// ACTPU/ACTLU → each active LU becomes free in its pool; a PU's link down → every LU of that PU
// becomes unavailable and its clients are told. PIUs with ODAI = 1 are LU 6.2 traffic and go to
// the APPC engine through the `lu62` port, on the first PU's link ("SNA Formats", GA27-3136:
// FID2 transmission header; link framing and PUs in docs/hostlink.md).
import { EventEmitter } from 'node:events'
import { systemClock, type Clock } from '../clock.js'
import type { GatewayHostConfig, SnaLinkConfig } from '../config/index.js'
import type { LuOffer } from '../hostlink/index.js'
import { UnbindType, type DependentLu } from '../sna/index.js'
import type { ClientBinding, HostSide, HostSideContext, HostSideEvents, Lu62Attachment, Lu62Port, LuAddress, StatusDetail } from './host-side.js'
import { LuBridge } from './lu-bridge.js'
import type { LuDefinition } from './lu-pool.js'
import { puNameOf, SnaPu } from './sna-pu.js'

export { puNameOf } from './sna-pu.js'

export class SnaHostSide extends EventEmitter<HostSideEvents> implements HostSide {
  readonly type = 'sna' as const
  readonly bindImage = true
  readonly lu62: Lu62Port
  readonly name: string
  /** The host's PUs, first one first; each its own link (sna-pu.ts). */
  readonly pus: readonly SnaPu[]
  private readonly ctx: HostSideContext
  private readonly clock: Clock
  /** Sessions being served, with the promise each one's serve() resolves with. */
  private readonly bridges = new Map<LuBridge, Promise<void>>()
  private lu62Attachment: Lu62Attachment | undefined
  /** LUs offered to the host on the links (HELLO, docs/hostlink.md), with their PU and local address. */
  readonly offered: ReadonlyMap<string, LuAddress>
  /** Each offered LU's PU. */
  private readonly puOfLu = new Map<string, SnaPu>()
  /** Whether 'up' was announced (and 'down' not since). */
  private announcedUp = false

  constructor (host: GatewayHostConfig & { link: SnaLinkConfig }, ctx: HostSideContext) {
    super()
    this.name = host.name
    this.ctx = ctx
    this.clock = ctx.clock ?? systemClock
    // The HELLO tells the host what each LU is (LU type 1 or 3 printers, displays without) and each
    // display's associated printer, as VTAM's LU definitions do (docs/printers.md).
    const defs = ctx.lus.luOfHost(host.name).map(l => l.def)
    this.offered = new Map(defs.map(d => [d.name, { pu: d.pu ?? 1, locaddr: d.locaddr! }]))
    // As many PUs as the LUs need (at least one, so a host with no LU still has its link).
    const count = Math.max(1, ...defs.map(d => d.pu ?? 1))
    const multi = count > 1
    this.pus = Array.from({ length: count }, (_, i) => {
      const name = puNameOf(ctx.config.name, i + 1)
      const lus = defs.filter(d => (d.pu ?? 1) === i + 1).map(d => luOffer(d, ctx.lus.printerOf(d.name)))
      // With several PUs each one's link lines say which PU they are about.
      const logger = multi ? ctx.logger.child({ pu: name }) : ctx.logger
      return new SnaPu({ index: i + 1, name, lus, link: host.link, expectNode: host.name, logger, clock: this.clock })
    })
    for (const pu of this.pus) for (const l of pu.node.lus()) this.puOfLu.set(l.name, pu)
    const first = this.pus[0]!
    this.lu62 = {
      send: piu => first.link.send(piu),
      attach: a => {
        this.lu62Attachment = a
        if (first.linkUp) a.linkUp()
      },
    }
    ctx.metrics.hostLinkUp.set({ host: host.name }, 0)
    for (const pu of this.pus) {
      this.listenToLink(pu)
      this.listenToNode(pu)
    }
  }

  /** Every PU's link is up and the host has activated every PU. */
  get up (): boolean { return this.pus.every(pu => pu.up) }

  start (): void { for (const pu of this.pus) pu.link.start() }

  /** The gateway's LU of this host named `name`, on whichever PU it is. */
  private lu (name: string): DependentLu {
    return this.puOf(name).node.lu(name)
  }

  private puOf (lu: string): SnaPu { return this.puOfLu.get(lu) ?? this.pus[0]! }

  /**
   * The bridge serves until its LU is clean. Not an async function: a session's serve would keep
   * a suspended frame for its whole life (idle-session memory, bench/README.md).
   */
  serve (binding: ClientBinding): Promise<void> {
    try {
      const pu = this.puOf(binding.lease.lu)
      const bridge = new LuBridge(binding, pu.node.lu(binding.lease.lu), { config: this.ctx.config, metrics: this.ctx.metrics, clock: this.clock, flushHost: pu.flushLink })
      const served = bridge.run()
      this.bridges.set(bridge, served)
      return served.finally(() => { this.bridges.delete(bridge) })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** LUs a reload put back in the registry are served again once the host has them active. */
  adoptLus (): void {
    if (!this.up) return
    for (const l of this.ctx.lus.luOfHost(this.name)) {
      if (this.offered.has(l.name) && this.lu(l.name).state !== 'inactive') this.ctx.lus.activate(l.name)
    }
  }

  async endAll (reason: string): Promise<void> {
    const sessions = [...this.bridges]
    for (const [bridge] of sessions) bridge.end(reason)
    await Promise.all(sessions.map(([, served]) => served))
  }

  async close (): Promise<void> {
    await Promise.all(this.pus.map(async pu => { await pu.link.close() }))
    this.ctx.metrics.hostLinkUp.set({ host: this.name }, 0)
  }

  /**
   * The PUs and their LUs. At 19,000 LUs a line per LU made /status a megabyte that a front proxy
   * polls every second: by default LUs are counted per state, and listed only while in use by a
   * client (with their pacing accounting) or not active; `allLus` lists every one. `pu` and
   * `puActive` are the first PU's name and whether every PU is active; a host with several PUs
   * also lists them (`pus`) and says each listed LU's PU.
   */
  status (opts: StatusDetail = {}): Record<string, unknown> {
    const pacing = new Map([...this.bridges.keys()].map(b => [b.luName, b.pacingStatus()]))
    const multi = this.pus.length > 1
    const luStates: Record<string, number> = {}
    const lus: Array<Record<string, unknown>> = []
    for (const pu of this.pus) {
      for (const l of pu.node.lus()) {
        luStates[l.state] = (luStates[l.state] ?? 0) + 1
        if (opts.allLus !== true && !l.attached && l.state === 'active') continue
        const p = pacing.get(l.name)
        lus.push({ name: l.name, ...(multi ? { pu: pu.name } : {}), state: l.state, attached: l.attached, ...(p === undefined ? {} : { pacing: p }) })
      }
    }
    const puActive = this.pus.every(pu => pu.node.puActive)
    const pus = multi ? { pus: this.pus.map(pu => ({ name: pu.name, linkUp: pu.linkUp, puActive: pu.node.puActive, lus: pu.node.lus().length })) } : {}
    return { pu: this.pus[0]!.name, puActive, ...pus, luStates, lusListed: opts.allLus === true ? 'all' : 'in use or not active', lus }
  }

  private listenToLink (pu: SnaPu): void {
    const { lus, logger } = this.ctx
    const first = pu.index === 1
    const which = this.pus.length > 1 ? { pu: pu.name } : {}
    pu.link.on('up', hello => {
      pu.linkUp = true
      logger.info({ event: 'host_link_up', peer: hello.node, ...which }, 'host link up')
      if (first) this.lu62Attachment?.linkUp()
      this.report('link up')
    })
    pu.link.on('down', reason => {
      const wasUp = pu.linkUp
      pu.linkUp = false
      // Hierarchical reset: every half-session of the PU ends; its LUs go unavailable and clients are told.
      pu.node.linkDown()
      for (const l of pu.node.lus()) lus.deactivate(l.name, `host link down: ${reason}`)
      if (first) this.lu62Attachment?.linkDown()
      this.report(reason)
      if (wasUp) logger.warn({ event: 'host_link_down', reason, ...which }, 'host link down')
    })
    pu.link.on('piu', piu => {
      // FID2 byte 0 bit 6 (X'02') is ODAI: 1 = LU 6.2 session on the PU 2.1 side.
      if (piu.length > 0 && (piu[0]! & 0x02) !== 0) {
        if (this.lu62Attachment !== undefined && first) this.lu62Attachment.receive(piu)
        else logger.warn({ ...which }, 'LU 6.2 PIU (ODAI=1) received but no APPC partner is configured for this host and PU')
        return
      }
      pu.node.receive(piu)
    })
  }

  private listenToNode (pu: SnaPu): void {
    const { lus, logger } = this.ctx
    pu.node.on('puActive', () => { this.report('PU active') })
    pu.node.on('puInactive', () => { this.report('PU inactive') })
    pu.node.on('protocolError', e => logger.warn({ reason: e.reason, sense: e.sense?.toString(16), lu: e.lu }, 'SNA protocol error'))
    for (const lu of pu.node.lus()) {
      const name = lu.name
      lu.on('active', () => {
        // An LU left bound from a previous owner must not be handed out mid-session.
        if (lu.luLu.isBound && !lu.attached) lu.sendUnbind(UnbindType.NORMAL)
        lus.activate(name)
        this.report('LU active')
      })
      lu.on('inactive', () => lus.deactivate(name, 'deactivated by the host (DACTLU)'))
    }
  }

  /**
   * The gauge follows `up` (every PU's link up and PU active). 'up' is announced once the host
   * has also activated every LU offered (ACTLU), so LUs can be handed out when start-up goes on;
   * 'down' when a link or a PU goes.
   */
  private report (why: string): void {
    const up = this.up
    this.ctx.metrics.hostLinkUp.set({ host: this.name }, up ? 1 : 0)
    if (!up) {
      if (this.announcedUp) {
        this.announcedUp = false
        this.emit('down', why)
      }
      return
    }
    if (!this.announcedUp && this.pus.every(pu => pu.node.lus().every(l => l.state !== 'inactive'))) {
      this.announcedUp = true
      this.emit('up')
    }
  }
}

/** An LU as the sna link's HELLO offers it (docs/hostlink.md "HELLO"). */
function luOffer (def: LuDefinition, printer: string | undefined): LuOffer {
  const luType = def.printer === undefined ? undefined : def.printer === 'lu1' ? 1 as const : 3 as const
  return { name: def.name, locaddr: def.locaddr!, ...(luType === undefined ? {} : { luType }), ...(printer === undefined ? {} : { printer }) }
}
