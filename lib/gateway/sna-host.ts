// A host reached over an `sna` link: the gateway is a PU T2.0 whose dependent LUs the host's
// SSCP activates. Link up → the host sends ACTPU/ACTLU → each active LU becomes free in its pool;
// link down → every LU of the host becomes unavailable and its clients are told. PIUs with
// ODAI = 1 are LU 6.2 traffic and go to the APPC engine through the `lu62` port ("SNA Formats",
// GA27-3136: FID2 transmission header; link framing in docs/hostlink.md).
import { EventEmitter } from 'node:events'
import { systemClock, type Clock } from '../clock.js'
import type { GatewayHostConfig, SnaLinkConfig } from '../config/index.js'
import { decode as ebcdicDecode } from '../datastream/index.js'
import { SnaLinkClient, type LuOffer } from '../hostlink/index.js'
import { DependentLuNode, UnbindType, type BindImage } from '../sna/index.js'
import type { ClientBinding, HostSide, HostSideContext, HostSideEvents, Lu62Attachment, Lu62Port, StatusDetail } from './host-side.js'
import { LuBridge } from './lu-bridge.js'
import type { LuDefinition } from './lu-pool.js'

/** PU names are SNA names: the gateway name upper-cased, cut to 8 of A-Z 0-9 @ # $. */
export function puNameOf (gatewayName: string): string {
  const name = gatewayName.toUpperCase().replace(/[^A-Z0-9@#$]/g, '').slice(0, 8)
  return /^[A-Z@#$]/.test(name) ? name : `P${name}`.slice(0, 8)
}

export class SnaHostSide extends EventEmitter<HostSideEvents> implements HostSide {
  readonly type = 'sna' as const
  readonly bindImage = true
  readonly lu62: Lu62Port
  readonly name: string
  readonly node: DependentLuNode
  readonly link: SnaLinkClient
  private readonly ctx: HostSideContext
  private readonly clock: Clock
  /** Sessions being served, with the promise each one's serve() resolves with. */
  private readonly bridges = new Map<LuBridge, Promise<void>>()
  private lu62Attachment: Lu62Attachment | undefined
  private linkIsUp = false
  /** LUs offered to the host on the link (HELLO, docs/hostlink.md), with their local addresses. */
  readonly offered: ReadonlyMap<string, number>
  /** Whether 'up' was announced (and 'down' not since). */
  private announcedUp = false

  constructor (host: GatewayHostConfig & { link: SnaLinkConfig }, ctx: HostSideContext) {
    super()
    this.name = host.name
    this.ctx = ctx
    this.clock = ctx.clock ?? systemClock
    // The HELLO tells the host what each LU is (LU type 1 or 3 printers, displays without) and each
    // display's associated printer, as VTAM's LU definitions do (docs/printers.md).
    const offered = ctx.lus.luOfHost(host.name).map(l => luOffer(l.def, ctx.lus.printerOf(l.name)))
    this.offered = new Map(offered.map(l => [l.name, l.locaddr]))
    const puName = puNameOf(ctx.config.name)
    // Printer LUs are bound as LU type 1 or 3, displays as LU type 2 (the node checks each BIND so).
    const luTypes = offered.map(l => ({ name: l.name, locaddr: l.locaddr, luType: l.luType ?? 2 as const }))
    this.node = new DependentLuNode({ puName, lus: luTypes, send: piu => { this.link.send(piu) }, logger: ctx.logger, clock: this.clock })
    this.link = new SnaLinkClient({ ...host.link, node: puName, lus: offered, expectNode: host.name, logger: ctx.logger })
    this.lu62 = {
      send: piu => this.link.send(piu),
      attach: a => {
        this.lu62Attachment = a
        if (this.linkIsUp) a.linkUp()
      },
    }
    ctx.metrics.hostLinkUp.set({ host: host.name }, 0)
    this.listenToLink()
    this.listenToNode()
  }

  get up (): boolean { return this.linkIsUp && this.node.puActive }

  start (): void { this.link.start() }

  async serve (binding: ClientBinding): Promise<void> {
    const lu = this.node.lu(binding.lease.lu)
    const bridge = new LuBridge(binding, lu, { config: this.ctx.config, metrics: this.ctx.metrics, clock: this.clock })
    // The application is the BIND's primary LU name ("SNA Formats", GA27-3136, BIND RU).
    const onBind = (bind: BindImage): void => { if (binding.activity !== undefined) binding.activity.application = ebcdicDecode(bind.pluName).trim() }
    lu.on('bind', onBind)
    const served = bridge.run()
    this.bridges.set(bridge, served)
    try {
      await served
    } finally {
      this.bridges.delete(bridge)
      lu.off('bind', onBind)
    }
  }

  /** LUs a reload put back in the registry are served again once the host has them active. */
  adoptLus (): void {
    if (!this.up) return
    for (const l of this.ctx.lus.luOfHost(this.name)) {
      if (this.offered.has(l.name) && this.node.lu(l.name).state !== 'inactive') this.ctx.lus.activate(l.name)
    }
  }

  async endAll (reason: string): Promise<void> {
    const sessions = [...this.bridges]
    for (const [bridge] of sessions) bridge.end(reason)
    await Promise.all(sessions.map(([, served]) => served))
  }

  async close (): Promise<void> {
    await this.link.close()
    this.ctx.metrics.hostLinkUp.set({ host: this.name }, 0)
  }

  /**
   * The PU and its LUs. At 19,000 LUs a line per LU made /status a megabyte that a front proxy
   * polls every second: by default LUs are counted per state, and listed only while in use by a
   * client (with their pacing accounting) or not active; `allLus` lists every one.
   */
  status (opts: StatusDetail = {}): Record<string, unknown> {
    const pacing = new Map([...this.bridges.keys()].map(b => [b.luName, b.pacingStatus()]))
    const luStates: Record<string, number> = {}
    const lus: Array<Record<string, unknown>> = []
    for (const l of this.node.lus()) {
      luStates[l.state] = (luStates[l.state] ?? 0) + 1
      if (opts.allLus !== true && !l.attached && l.state === 'active') continue
      const p = pacing.get(l.name)
      lus.push({ name: l.name, state: l.state, attached: l.attached, ...(p === undefined ? {} : { pacing: p }) })
    }
    return { pu: this.node.puName, puActive: this.node.puActive, luStates, lusListed: opts.allLus === true ? 'all' : 'in use or not active', lus }
  }

  private listenToLink (): void {
    const { lus, logger } = this.ctx
    this.link.on('up', hello => {
      this.linkIsUp = true
      logger.info({ event: 'host_link_up', peer: hello.node }, 'host link up')
      this.lu62Attachment?.linkUp()
      this.report('link up')
    })
    this.link.on('down', reason => {
      const wasUp = this.linkIsUp
      this.linkIsUp = false
      // Hierarchical reset: every half-session ends; LUs go unavailable and clients are told.
      this.node.linkDown()
      for (const l of lus.luOfHost(this.name)) lus.deactivate(l.name, `host link down: ${reason}`)
      this.lu62Attachment?.linkDown()
      this.report(reason)
      if (wasUp) logger.warn({ event: 'host_link_down', reason }, 'host link down')
    })
    this.link.on('piu', piu => {
      // FID2 byte 0 bit 6 (X'02') is ODAI: 1 = LU 6.2 session on the PU 2.1 side.
      if (piu.length > 0 && (piu[0]! & 0x02) !== 0) {
        if (this.lu62Attachment !== undefined) this.lu62Attachment.receive(piu)
        else logger.warn('LU 6.2 PIU (ODAI=1) received but no APPC partner is configured for this host')
        return
      }
      this.node.receive(piu)
    })
  }

  private listenToNode (): void {
    const { lus, logger } = this.ctx
    this.node.on('puActive', () => { this.report('PU active') })
    this.node.on('puInactive', () => { this.report('PU inactive') })
    this.node.on('protocolError', e => logger.warn({ reason: e.reason, sense: e.sense?.toString(16), lu: e.lu }, 'SNA protocol error'))
    for (const name of this.offered.keys()) {
      const lu = this.node.lu(name)
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
   * The gauge follows `up` (link and PU active). 'up' is announced once the host has also
   * activated every LU offered (ACTLU), so LUs can be handed out when start-up goes on; 'down'
   * when the link or the PU goes.
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
    if (!this.announcedUp && [...this.offered.keys()].every(name => this.node.lu(name).state !== 'inactive')) {
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
