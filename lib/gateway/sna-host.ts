// A host reached over an `sna` link: the gateway is a PU T2.0 whose dependent LUs the host's
// SSCP activates. Link up → the host sends ACTPU/ACTLU → each active LU becomes free in its pool;
// link down → every LU of the host becomes unavailable and its clients are told (issue 3).
// PIUs with ODAI = 1 are LU 6.2 traffic and go to the APPC engine (sna-formats §1).
import { systemClock } from '../clock.js'
import type { GatewayConfig, GatewayHostConfig, SnaLinkConfig } from '../config/index.js'
import { SnaLinkClient } from '../hostlink/index.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { DependentLuNode, UnbindType } from '../sna/index.js'
import type { ClientBinding, HostSide } from './host-side.js'
import { LuBridge } from './lu-bridge.js'
import type { LuRegistry } from './lu-pool.js'

export interface HostSideContext {
  config: GatewayConfig
  lus: LuRegistry
  metrics: GatewayMetrics
  logger: Logger
}

/** Lets the APPC engine share the link: it receives ODAI = 1 PIUs and is told of link changes. */
export interface Lu62Attachment {
  receive: (piu: Buffer) => void
  linkUp: () => void
  linkDown: () => void
}

/** PU names are SNA names: the gateway name upper-cased, cut to 8 of A-Z 0-9 @ # $. */
export function puNameOf (gatewayName: string): string {
  const name = gatewayName.toUpperCase().replace(/[^A-Z0-9@#$]/g, '').slice(0, 8)
  return /^[A-Z@#$]/.test(name) ? name : `P${name}`.slice(0, 8)
}

export class SnaHostSide implements HostSide {
  readonly type = 'sna' as const
  readonly sendsBindImage = true
  readonly name: string
  readonly node: DependentLuNode
  readonly link: SnaLinkClient
  private readonly ctx: HostSideContext
  private readonly bridges = new Set<LuBridge>()
  private lu62: Lu62Attachment | undefined
  private linkIsUp = false

  constructor (host: GatewayHostConfig & { link: SnaLinkConfig }, ctx: HostSideContext) {
    this.name = host.name
    this.ctx = ctx
    const { lus, metrics, logger } = ctx
    const offered = lus.luOfHost(host.name).map(l => ({ name: l.name, locaddr: l.def.locaddr! }))
    const puName = puNameOf(ctx.config.name)
    this.node = new DependentLuNode({
      puName,
      lus: offered,
      send: piu => { this.link.send(piu) },
      logger,
      clock: systemClock,
    })
    this.link = new SnaLinkClient({ ...host.link, node: puName, lus: offered, expectNode: host.name, logger })
    metrics.hostLinkUp.set({ host: host.name }, 0)
    this.link.on('up', hello => {
      this.linkIsUp = true
      logger.info({ event: 'host-link-up', peer: hello.node }, 'host link up')
      this.lu62?.linkUp()
      this.updateGauge()
    })
    this.link.on('down', reason => {
      const wasUp = this.linkIsUp
      this.linkIsUp = false
      // Hierarchical reset: every half-session ends; LUs go unavailable and clients are told.
      this.node.linkDown()
      for (const l of lus.luOfHost(host.name)) lus.deactivate(l.name, `host link down: ${reason}`)
      this.lu62?.linkDown()
      this.updateGauge()
      if (wasUp) logger.warn({ event: 'host-link-down', reason }, 'host link down')
    })
    this.link.on('piu', piu => {
      // FID2 byte 0 bit 6 (X'02') is ODAI: 1 = LU 6.2 session on the PU 2.1 side (§1).
      if (piu.length > 0 && (piu[0]! & 0x02) !== 0) {
        if (this.lu62 !== undefined) this.lu62.receive(piu)
        else logger.warn('LU 6.2 PIU (ODAI=1) received but no APPC partner is configured for this host')
        return
      }
      this.node.receive(piu)
    })
    this.node.on('puActive', () => this.updateGauge())
    this.node.on('puInactive', () => this.updateGauge())
    this.node.on('protocolError', e => logger.warn({ reason: e.reason, sense: e.sense?.toString(16), lu: e.lu }, 'SNA protocol error'))
    for (const { name } of offered) {
      const lu = this.node.lu(name)
      lu.on('active', () => {
        // An LU left bound from a previous owner must not be handed out mid-session.
        if (lu.luLu.isBound && lu.attached === false) lu.sendUnbind(UnbindType.NORMAL)
        lus.activate(name)
      })
      lu.on('inactive', () => lus.deactivate(name, 'deactivated by the host (DACTLU)'))
    }
  }

  get up (): boolean { return this.linkIsUp && this.node.puActive }

  attachLu62 (a: Lu62Attachment): void {
    this.lu62 = a
    if (this.linkIsUp) a.linkUp()
  }

  /** Sends a PIU on the link (APPC engine transport). */
  sendPiu (piu: Buffer): boolean { return this.link.send(piu) }

  start (): void { this.link.start() }

  async serve (binding: ClientBinding): Promise<void> {
    const bridge = new LuBridge(binding, this.node.lu(binding.lease.lu), { config: this.ctx.config, metrics: this.ctx.metrics })
    this.bridges.add(bridge)
    try {
      await bridge.run()
    } finally {
      this.bridges.delete(bridge)
    }
  }

  async endAll (reason: string): Promise<void> {
    for (const b of this.bridges) b.end(reason)
    await new Promise<void>(resolve => {
      const check = (): void => { if (this.bridges.size === 0) resolve(); else setTimeout(check, 20).unref() }
      check()
    })
  }

  async close (): Promise<void> {
    await this.link.close()
    this.ctx.metrics.hostLinkUp.set({ host: this.name }, 0)
  }

  status (): Record<string, unknown> {
    const pacing = new Map([...this.bridges].map(b => [b.luName, b.pacingStatus()]))
    return {
      pu: this.node.puName,
      puActive: this.node.puActive,
      lus: this.node.lus().map(l => ({ name: l.name, state: l.state, attached: l.attached, ...(pacing.has(l.name) ? { pacing: pacing.get(l.name) } : {}) })),
    }
  }

  private updateGauge (): void {
    this.ctx.metrics.hostLinkUp.set({ host: this.name }, this.up ? 1 : 0)
  }
}
