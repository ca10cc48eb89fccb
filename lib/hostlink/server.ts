// Host side of the `sna` host link: listen, accept gateway links, hand each one out once its
// HELLO has been checked ('link' event). Every connection is tracked from accept, so close()
// leaves no socket or timer behind.
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { systemClock, type Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import { makeHello } from './hello.js'
import { SnaLink, linkDefaults } from './link.js'

export interface SnaLinkServerOptions {
  /** Host (SSCP) name sent in HELLO. */
  node: string
  host?: string
  port: number
  keepaliveInterval?: number
  keepaliveLimit?: number
  helloTimeout?: number
  maxPiuSize?: number
  closeTimeout?: number
  logger: Logger
  clock?: Clock
}

export interface SnaLinkServerEvents {
  /** A gateway link whose HELLO was accepted; its 'down' follows when it ends. */
  link: [link: SnaLink]
}

export class SnaLinkServer extends EventEmitter<SnaLinkServerEvents> {
  private readonly server: net.Server
  private readonly all = new Set<SnaLink>()
  private readonly upLinks = new Set<SnaLink>()
  private readonly pending = new Set<net.Socket>()
  private readonly clock: Clock
  private readonly log: Logger
  private closing: Promise<void> | undefined

  constructor (private readonly opts: SnaLinkServerOptions) {
    super()
    this.clock = opts.clock ?? systemClock
    this.log = opts.logger.child({ hostlink: 'sna', node: opts.node.toUpperCase() })
    const hello = makeHello('host', opts.node)
    this.server = net.createServer({ noDelay: true }, socket => {
      if (this.closing !== undefined || socket.remoteAddress === undefined) { socket.destroy(); return }
      const link = new SnaLink(socket, {
        role: 'host',
        hello,
        keepaliveInterval: opts.keepaliveInterval ?? linkDefaults.keepaliveInterval,
        keepaliveLimit: opts.keepaliveLimit ?? linkDefaults.keepaliveLimit,
        helloTimeout: opts.helloTimeout ?? linkDefaults.helloTimeout,
        maxPiuSize: opts.maxPiuSize ?? linkDefaults.maxPiuSize,
        closeTimeout: opts.closeTimeout ?? linkDefaults.closeTimeout,
        logger: this.log,
        clock: this.clock,
      })
      this.all.add(link)
      link.once('up', () => { this.upLinks.add(link); this.emit('link', link) })
      link.once('down', () => { this.all.delete(link); this.upLinks.delete(link) })
    })
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  async listen (): Promise<net.AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      this.server.once('error', onError)
      this.server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', onError)
        resolve()
      })
    })
    return this.address()
  }

  address (): net.AddressInfo { return this.server.address() as net.AddressInfo }

  /** Links that are up (HELLO exchanged). */
  get links (): ReadonlySet<SnaLink> { return this.upLinks }

  /** Stops listening and closes every link with BYE; resolves when all sockets are gone. */
  close (reason = 'host shutting down'): Promise<void> {
    if (this.closing !== undefined) return this.closing
    const listening = this.server.listening
    const serverClosed = listening ? new Promise<void>(resolve => this.server.close(() => resolve())) : Promise.resolve()
    this.closing = Promise.all([serverClosed, ...[...this.all].map(l => l.close(reason))]).then(() => undefined)
    return this.closing
  }
}
