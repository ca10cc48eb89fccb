// One PU of a host reached over `sna` links: a PU T2.0 with up to 254 dependent LUs (local
// addresses 2-255) on its own link, like a connection of Microsoft Host Integration Server or a
// PU of IBM Communications Server. FID2 addresses (DAF', OAF') are local to one PU's link station
// ("SNA Formats", GA27-3136, FID2 TH), so a host with more LUs gets more PUs, each on its own
// link with its own HELLO (docs/hostlink.md "PUs").
import type { Clock } from '../clock.js'
import type { SnaLinkConfig } from '../config/index.js'
import { SnaLinkClient, type LuOffer } from '../hostlink/index.js'
import type { Logger } from '../observability/index.js'
import { DependentLuNode } from '../sna/index.js'

/**
 * PU names are SNA names: the gateway name upper-cased, cut to 8 of A-Z 0-9 @ # $. The host's
 * first PU has that name; PU n (2, 3 ...) ends in `P<n>`, the name cut to make room.
 */
export function puNameOf (gatewayName: string, pu = 1): string {
  const cut = gatewayName.toUpperCase().replace(/[^A-Z0-9@#$]/g, '').slice(0, 8)
  const name = /^[A-Z@#$]/.test(cut) ? cut : `P${cut}`.slice(0, 8)
  if (pu === 1) return name
  const suffix = `P${pu}`
  return `${name.slice(0, 8 - suffix.length)}${suffix}`
}

export interface SnaPuOptions {
  /** 1 = the host's first PU. */
  index: number
  name: string
  lus: LuOffer[]
  link: SnaLinkConfig
  /** The host's name, which its HELLO must carry. */
  expectNode: string
  logger: Logger
  clock: Clock
}

export class SnaPu {
  readonly index: number
  readonly name: string
  readonly node: DependentLuNode
  readonly link: SnaLinkClient
  /** Whether the link has received the host's HELLO (and not gone down since). */
  linkUp = false

  constructor (opts: SnaPuOptions) {
    this.index = opts.index
    this.name = opts.name
    // Printer LUs are bound as LU type 1 or 3, displays as LU type 2 (the node checks each BIND so).
    const luTypes = opts.lus.map(l => ({ name: l.name, locaddr: l.locaddr, luType: l.luType ?? 2 as const }))
    this.node = new DependentLuNode({ puName: opts.name, lus: luTypes, send: piu => { this.link.send(piu) }, logger: opts.logger, clock: opts.clock })
    this.link = new SnaLinkClient({ ...opts.link, node: opts.name, lus: opts.lus, expectNode: opts.expectNode, logger: opts.logger })
  }

  /** Sends the PIUs batched on the link in this turn now (a pacing response, KB Q181737); one function per PU, shared by its sessions. */
  readonly flushLink = (): void => { this.link.flush() }

  /** Link up and PU activated by the host (+RSP(ACTPU)). */
  get up (): boolean { return this.linkUp && this.node.puActive }
}
