// CloseListenSocket (KB Q101235): a listener listens exactly while one of its pools
// can hand out an LU. Emulators with hot-backup lists only move on after a *connect failure*;
// a server that accepts and then says "no LU" locks them in. Capacity is reserved at accept
// time, so the listener closes as soon as sessions plus connections still negotiating fill it,
// and every decision is made synchronously after each pool change.
//
// Per listener (desired = !stopped && (canServe || !closeListenSocket)):
//   closed --desired--> opening --listening--> open --!desired--> closed
//   opening --EADDRINUSE…--> retrying --reopenDelay(failures)--> closed (reconciled again)
// At start every port is proven first (a listener that starts closed binds once and lets go), so
// a port in use fails the start with one line instead of a retry loop. Later, while a listener is
// closed, its port can be taken (an outgoing connection's source port, TIME-WAIT): each failed
// reopen is counted (tn3270_gateway_listener_reopen_failures_total) and retried soon, and the
// reopen after failures is logged (docs/operations.md "Listener ports").
import { EventEmitter } from 'node:events'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { systemClock, type Clock, type Timer } from '../clock.js'
import type { GatewayListenerConfig } from '../config/index.js'
import { ErrorCodes, errorCode, errorMessage, lbError } from '../errors.js'
import { inEphemeralRange, readEphemeralRange, reopenDelay } from '../listen/index.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import type { LuRegistry, Reservation } from './lu-pool.js'

export type ListenerState = 'closed' | 'opening' | 'open' | 'retrying'

export interface AcceptedConnection {
  socket: Socket
  listener: GatewayListenerConfig
  /** Capacity this connection holds while it negotiates; undefined = none left. */
  reservation: Reservation | undefined
}

class ManagedListener {
  /** Replaced by a config reload (pools, closeListenSocket, PROXY protocol); name, host and port stay. */
  config: GatewayListenerConfig
  /** Position in `listeners` (for messages naming the config key). */
  readonly index: number
  state: ListenerState = 'closed'
  server: Server | undefined
  port: number
  address = ''
  retryTimer: Timer | undefined
  /** Reopen attempts that failed in a row, and since when the listener has wanted to be open. */
  failures = 0
  failingSince = 0

  constructor (config: GatewayListenerConfig, index: number) {
    this.config = config
    this.index = index
    this.port = config.port
  }
}

export interface ListenerManagerOptions {
  listeners: GatewayListenerConfig[]
  registry: LuRegistry
  logger: Logger
  metrics: GatewayMetrics
  onConnection: (conn: AcceptedConnection) => void
  clock?: Clock
  /** Where the ephemeral port range is read (tests point it elsewhere). */
  portRangeFile?: string
}

export class ListenerManager extends EventEmitter {
  private readonly managed: ManagedListener[]
  private readonly opts: ListenerManagerOptions
  private readonly clock: Clock
  private stopped = false
  private proven: Promise<void> | undefined
  private readonly onChange = (): void => { this.reconcile() }

  constructor (opts: ListenerManagerOptions) {
    super()
    this.opts = opts
    this.clock = opts.clock ?? systemClock
    this.managed = opts.listeners.map((l, i) => new ManagedListener(l, i))
    for (const l of this.managed) {
      opts.metrics.listenerOpen.set({ listener: l.config.name }, 0)
      opts.metrics.listenerReopenFailures.inc({ listener: l.config.name }, 0) // the series exists from the start
    }
  }

  /**
   * Proves every port can be bound (rejects with TN3270LB_ERR_LISTENER_LISTEN and one line naming
   * the listener, the address and the config key), warns about ports the kernel may hand out as
   * source ports, then opens every listener that can serve now.
   */
  async start (): Promise<void> {
    await this.proveAll()
    this.opts.registry.on('change', this.onChange)
    this.reconcile()
    await Promise.all(this.managed.map(async l => { if (l.state === 'opening') await onceState(this, l.config.name) }))
  }

  /** The port checks of start(), on their own so a gateway can fail before it waits for its hosts. Once. */
  async proveAll (): Promise<void> {
    this.proven ??= (async () => {
      await this.warnEphemeralPorts()
      await Promise.all(this.managed.map(async l => { await this.prove(l) }))
    })()
    await this.proven
  }

  canServe (listener: GatewayListenerConfig): boolean {
    return this.opts.registry.canReserve(listener.pools)
  }

  /** Brings every listener's socket in line with what its pools can serve. Synchronous. */
  reconcile (): void {
    for (const l of this.managed) {
      const want = !this.stopped && (!l.config.closeListenSocket || this.canServe(l.config))
      if (want && l.state === 'closed') this.open(l)
      else if (!want && l.state === 'open') this.close(l, this.stopped ? 'stopped' : 'no LU can be served')
      else if (!want && l.state === 'retrying') this.stopRetrying(l)
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
      if (l.state === 'retrying') this.stopRetrying(l)
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

  private async warnEphemeralPorts (): Promise<void> {
    const range = await readEphemeralRange(this.opts.portRangeFile)
    for (const l of this.managed) {
      if (!l.config.closeListenSocket || !inEphemeralRange(l.config.port, range)) continue
      this.opts.logger.warn({ event: 'listener_port_ephemeral', listener: l.config.name, port: l.config.port, range: `${range!.low}-${range!.high}` },
        'listener port is inside net.ipv4.ip_local_port_range: while closed (CloseListenSocket) it can be taken as a source port; add it to net.ipv4.ip_local_reserved_ports')
    }
  }

  /** Binds once and lets go (a port 0 listener keeps the port it got). */
  private async prove (l: ManagedListener): Promise<void> {
    const { host } = l.config
    const server = createServer()
    try {
      await listen(server, l.port, host)
    } catch (err) {
      const why = errorCode(err) === 'EADDRINUSE' ? 'address already in use' : errorMessage(err)
      throw lbError(ErrorCodes.LISTENER_LISTEN, `listener ${l.config.name}: cannot listen on ${host}:${l.port} (listeners.${l.index}.port): ${why}`, err)
    }
    l.port = (server.address() as AddressInfo).port
    await new Promise<void>(resolve => { server.close(() => resolve()) })
  }

  private open (l: ManagedListener): void {
    // A new Server each time: Node allows re-listen after close(), and a fresh object keeps the
    // old one's accepted connections (which stay open) separate (Node.js net docs: server.close() keeps accepted sockets).
    const server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 })
    l.server = server
    l.state = 'opening'
    server.on('connection', socket => { this.accept(l, socket) })
    listen(server, l.port, l.config.host).then(() => {
      if (l.server !== server) { server.close(); return }
      server.on('error', (err: unknown) => { this.opts.logger.error({ listener: l.config.name, err: errorMessage(err) }, 'listener socket error') })
      this.opened(l, server)
    }, (err: unknown) => {
      if (l.server !== server) return
      this.reopenFailed(l, err)
    })
  }

  private opened (l: ManagedListener, server: Server): void {
    const { logger, metrics } = this.opts
    const addr = server.address() as AddressInfo
    l.port = addr.port
    l.address = `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`
    l.state = 'open'
    metrics.listenerOpen.set({ listener: l.config.name }, 1)
    if (l.failures > 0) {
      logger.info({ event: 'listener_reopened', listener: l.config.name, address: l.address, failures: l.failures, waitedMs: this.clock.now() - l.failingSince },
        'listener reopened after its port was taken')
    } else {
      logger.info({ listener: l.config.name, address: l.address }, 'listener open')
    }
    l.failures = 0
    this.emit('state', l.config.name, 'open')
    // Pools may have filled while the socket was opening.
    this.reconcile()
  }

  /** The port is taken (EADDRINUSE, …): count it, say so, try again soon. */
  private reopenFailed (l: ManagedListener, err: unknown): void {
    const { logger, metrics } = this.opts
    l.server = undefined
    if (l.failures === 0) l.failingSince = this.clock.now()
    l.failures++
    metrics.listenerReopenFailures.inc({ listener: l.config.name })
    const delay = reopenDelay(l.failures)
    logger.warn({ event: 'listener_reopen_failed', listener: l.config.name, address: `${l.config.host}:${l.port}`, code: errorCode(err), err: errorMessage(err), failures: l.failures, retryInMs: delay },
      'listener could not reopen (port taken); retrying')
    l.state = 'retrying'
    l.retryTimer = this.clock.setTimeout(() => {
      l.retryTimer = undefined
      l.state = 'closed'
      this.reconcile()
    }, delay)
    this.emit('state', l.config.name, 'closed')
  }

  private stopRetrying (l: ManagedListener): void {
    if (l.retryTimer !== undefined) this.clock.clearTimeout(l.retryTimer)
    l.retryTimer = undefined
    l.state = 'closed'
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
    const reservation = this.opts.registry.reserve(l.config.pools)
    this.opts.onConnection({ socket, listener: l.config, reservation })
    // reserve() already emitted 'change'; reconcile again in case onConnection changed state.
    this.reconcile()
  }
}

/** server.listen as a promise: resolves when listening, rejects with the bind error. */
function listen (server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown): void => { reject(err) }
    server.once('error', onError)
    server.listen({ port, host, backlog: 511 }, () => {
      server.off('error', onError)
      resolve()
    })
  })
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
