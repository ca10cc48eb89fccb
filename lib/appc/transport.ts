// How appc/ meets the link (docs/internals.md hostlink/): each side hands whole PIUs to a
// transport and is given received PIUs by its owner. On the `sna` link LU 6.2 PIUs carry ODAI = 1
// (sna-formats.md §1: LFSID = ODAI + DAF' + OAF'); ODAI = 0 traffic is dependent-LU and is routed
// elsewhere by the link owners (`isLu62Piu`).

/** Gateway side: `link` is the partner's host name; host side: an opaque id of the connection. */
export interface AppcTransport { send: (piu: Buffer, link: string) => void }

/** True for a PIU the APPC engine / LU 6.2 partner owns: FID2 with ODAI = 1 (TH byte 0 bit 6). */
export function isLu62Piu (piu: Buffer): boolean {
  return piu.length >= 6 && (piu[0]! & 0xf0) === 0x20 && (piu[0]! & 0x02) !== 0
}

export interface PiuReceiver { receive: (piu: Buffer, link: string) => void, linkUp: (link: string) => void, linkDown: (link: string) => void }

/**
 * In-memory link for tests and the demo: ordered, asynchronous (microtask) delivery while up;
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
