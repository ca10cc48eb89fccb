// CloseListenSocket (KB Q101235): a listener listens exactly while one of its pools
// can hand out an LU. Emulators with hot-backup lists only move on after a *connect failure*;
// a server that accepts and then says "no LU" locks them in. Capacity is reserved at accept
// time, so the listener closes as soon as sessions plus connections still negotiating fill it,
// and every decision is made synchronously after each pool change.
import { EventEmitter } from 'node:events'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { GatewayListenerConfig } from '../config/index.js'
import type { Logger } from '../observability/index.js'
import type { GatewayMetrics } from '../observability/index.js'
import type { LuRegistry } from './lu-pool.js'

export type ListenerState = 'closed' | 'opening' | 'open'

export interface AcceptedConnection {
  socket: Socket
  listener: GatewayListenerConfig
  /** Pool whose capacity this connection holds while it negotiates; undefined = none left. */
  reservedPool: string | undefined
}

/** How long to wait before retrying a re-listen that failed (port taken by someone else). */
const RELISTEN_RETRY_MS = 1000

class ManagedListener {
  /** Replaced by a config reload (pools, closeListenSocket, PROXY protocol); name, host and port stay. */
  config: GatewayListenerConfig
  state: ListenerState = 'closed'
  server: Server | undefined
  port: number
  address = ''
  retryTimer: NodeJS.Timeout | undefined

  constructor (config: GatewayListenerConfig) {
    this.config = config
    this.port = config.port
  }
}

export interface ListenerManagerOptions {
  listeners: GatewayListenerConfig[]
  registry: LuRegistry
  logger: Logger
  metrics: GatewayMetrics
  onConnection: (conn: AcceptedConnection) => void
}

export class ListenerManager extends EventEmitter {
  private readonly managed: ManagedListener[]
  private readonly opts: ListenerManagerOptions
  private stopped = false
  private readonly onChange = (): void => { this.reconcile() }

  constructor (opts: ListenerManagerOptions) {
    super()
    this.opts = opts
    this.managed = opts.listeners.map(l => new ManagedListener(l))
    for (const l of this.managed) opts.metrics.listenerOpen.set({ listener: l.config.name }, 0)
    opts.registry.on('change', this.onChange)
  }

  /** Opens every listener that can serve now; resolves once those are listening. */
  async start (): Promise<void> {
    this.reconcile()
    await Promise.all(this.managed.map(async l => { if (l.state === 'opening') await onceState(this, l.config.name) }))
  }

  canServe (listener: GatewayListenerConfig): boolean {
    return listener.pools.some(p => this.opts.registry.spare(p) > 0)
  }

  /** Brings every listener's socket in line with what its pools can serve. Synchronous. */
  reconcile (): void {
    for (const l of this.managed) {
      const want = !this.stopped && (!l.config.closeListenSocket || this.canServe(l.config))
      if (want && l.state === 'closed') this.open(l)
      else if (!want && l.state === 'open') this.close(l, this.stopped ? 'stopped' : 'no LU can be served')
    }
  }

  /** A reload's listener settings, for connections accepted from now on; then listen or not accordingly. */
  update (listeners: readonly GatewayListenerConfig[]): void {
    for (const l of this.managed) l.config = listeners.find(x => x.name === l.config.name) ?? l.config
    this.reconcile()
  }

  /** Stops listening for good (drain / shutdown). Existing sessions are not touched. */
  stop (): void {
    this.stopped = true
    this.opts.registry.off('change', this.onChange)
    for (const l of this.managed) {
      if (l.retryTimer !== undefined) clearTimeout(l.retryTimer)
      if (l.state !== 'closed') this.close(l, 'stopped')
    }
  }

  status (): Array<{ name: string, address: string, open: boolean, pools: string[] }> {
    return this.managed.map(l => ({ name: l.config.name, address: l.address || `${l.config.host}:${l.port}`, open: l.state === 'open', pools: l.config.pools }))
  }

  address (name: string): AddressInfo | undefined {
    const l = this.managed.find(x => x.config.name === name)
    if (l === undefined || l.port === 0) return undefined
    return { address: l.config.host, port: l.port, family: l.config.host.includes(':') ? 'IPv6' : 'IPv4' }
  }

  isOpen (name: string): boolean {
    return this.managed.find(x => x.config.name === name)?.state === 'open'
  }

  private open (l: ManagedListener): void {
    const { logger, metrics } = this.opts
    // A new Server each time: Node allows re-listen after close(), and a fresh object keeps the
    // old one's accepted connections (which stay open) separate (Node.js net docs: server.close() keeps accepted sockets).
    const server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 })
    l.server = server
    l.state = 'opening'
    server.on('connection', socket => { this.accept(l, socket) })
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (l.server !== server) return
      l.server = undefined
      l.state = 'closed'
      logger.error({ listener: l.config.name, err: err.message, code: err.code }, 'listener could not open; retrying')
      l.retryTimer = setTimeout(() => { l.retryTimer = undefined; this.reconcile() }, RELISTEN_RETRY_MS)
      this.emit('state', l.config.name, 'closed')
    })
    server.listen({ port: l.port, host: l.config.host, backlog: 511 }, () => {
      if (l.server !== server) return
      const addr = server.address() as AddressInfo
      l.port = addr.port
      l.address = `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`
      l.state = 'open'
      metrics.listenerOpen.set({ listener: l.config.name }, 1)
      logger.info({ listener: l.config.name, address: l.address }, 'listener open')
      this.emit('state', l.config.name, 'open')
      // Pools may have filled while the socket was opening.
      this.reconcile()
    })
  }

  private close (l: ManagedListener, reason: string): void {
    const { logger, metrics } = this.opts
    const server = l.server
    l.server = undefined
    l.state = 'closed'
    // close() stops accepting at once and keeps accepted sockets (net.md); connections still in
    // the kernel backlog are reset, which clients see as a failed connect — the point.
    server?.close()
    metrics.listenerOpen.set({ listener: l.config.name }, 0)
    if (reason !== 'stopped') metrics.listenerCloses.inc({ listener: l.config.name })
    logger.info({ listener: l.config.name, address: l.address, reason }, 'listener closed')
    this.emit('state', l.config.name, 'closed')
  }

  private accept (l: ManagedListener, socket: Socket): void {
    const reservedPool = this.opts.registry.reserve(l.config.pools)
    this.opts.onConnection({ socket, listener: l.config, reservedPool })
    // reserve() already emitted 'change'; reconcile again in case onConnection changed state.
    this.reconcile()
  }
}

function onceState (mgr: ListenerManager, name: string): Promise<void> {
  return new Promise(resolve => {
    const on = (n: string): void => {
      if (n !== name) return
      mgr.off('state', on)
      resolve()
    }
    mgr.on('state', on)
  })
}
