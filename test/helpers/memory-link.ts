// An in-memory link between the APPC engine and the LU 6.2 partner, for tests.
import type { AppcTransport, PiuReceiver } from '../../lib/appc/index.js'

/**
 * In-memory link: ordered, asynchronous (microtask) delivery while up;
 * PIUs in flight when it goes down are lost, as on a real link. `trace` sees every PIU.
 */
export class MemoryLink {
  readonly gatewaySide: AppcTransport
  readonly hostSide: AppcTransport
  private gateway: PiuReceiver | undefined
  private host: PiuReceiver | undefined
  private up = false
  private epoch = 0
  readonly trace: Array<(dir: 'to_host' | 'to_gateway', piu: Buffer) => void> = []

  /** `hostName` = the partner's host as the gateway knows it; `linkId` = the connection id the partner sees. */
  constructor (readonly hostName = 'HOSTA', readonly linkId = 'gw') {
    this.gatewaySide = { send: (piu) => { this.deliver('to_host', piu) } }
    this.hostSide = { send: (piu) => { this.deliver('to_gateway', piu) } }
  }

  attach (gateway: PiuReceiver, host: PiuReceiver): void { this.gateway = gateway; this.host = host }

  get isUp (): boolean { return this.up }

  connect (): void {
    if (this.up) return
    this.up = true
    this.host?.linkUp(this.linkId)
    this.gateway?.linkUp(this.hostName)
  }

  disconnect (): void {
    if (!this.up) return
    this.up = false
    this.epoch++
    this.gateway?.linkDown(this.hostName)
    this.host?.linkDown(this.linkId)
  }

  private deliver (dir: 'to_host' | 'to_gateway', piu: Buffer): void {
    if (!this.up) return
    const epoch = this.epoch
    const copy = Buffer.from(piu)
    for (const t of this.trace) t(dir, copy)
    queueMicrotask(() => {
      if (!this.up || epoch !== this.epoch) return
      if (dir === 'to_host') this.host?.receive(copy, this.linkId)
      else this.gateway?.receive(copy, this.hostName)
    })
  }
}
