// A proxy listener and its own CloseListenSocket (KB Q101235): it listens exactly while some
// backend can take a client, so a client's hot-backup list moves on to another proxy or site on
// ECONNREFUSED instead of being accepted and dropped. `server.close()` stops listening and keeps
// existing sessions, and a new net.Server may listen on the same port at once (Node.js
// doc/api/net.md, server.close() and server.listen(); sockets use SO_REUSEADDR); only another
// process holding the port (EADDRINUSE) makes a re-open wait and retry.
//
// State machine (desired = !stopped && !full && (canServe || !closeListenSocket), where full =
// holding maxConnections clients: a process out of descriptors would drop clients it took):
//   closed --desired--> opening --listening--> open --!desired--> closed
//   opening --listen error--> retrying --reopenDelay(failures)--> closed (then reconciled again)
// Only `opening` waits for the kernel; reconcile() runs on every pool change and after each
// transition, so the socket always ends up matching `desired`. `stopped` (drain) is for good.
// While closed, the port can be taken (an outgoing connection's source port, TIME-WAIT): each
// failed re-open is counted (tn3270_proxy_listener_reopen_failures_total) and retried soon with a
// growing delay (lib/listen), and the re-open after failures is logged; a port inside the
// ephemeral range is warned about at start (docs/operations.md "Listener ports").
import net from 'node:net'
import type { Clock, Timer } from '../clock.js'
import { errorCode, errorMessage } from '../errors.js'
import { inEphemeralRange, readEphemeralRange, reopenDelay } from '../listen/index.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import { clientAddress, peerOf } from '../proxy-protocol/index.js'
import type { AffinityTable } from './affinity.js'
import type { ClientLimits } from '../listen/index.js'
import type { BackendPool } from './pool.js'
import { RoutedSession } from './routed-session.js'
import { ProxySession, type SessionContext, type SessionSettings } from './session.js'

/** A client connection of either routing: what the listener and the drain need of it. */
export type ClientSession = ProxySession | RoutedSession

export interface ListenerOptions {
  name: string
  host: string
  port: number
  closeListenSocket: boolean
  /** Client connections held at most; at the limit the listen socket closes until one ends. 0 = no cap. */
  maxConnections: number
  settings: SessionSettings
  pool: BackendPool
  /** tn3270e routing: the LU affinity memory of this listener. */
  affinity: AffinityTable
  clock: Clock
  logger: Logger
  metrics: ProxyMetrics
  /** Fixed delay before retrying a failed re-listen; default a short growing backoff (lib/listen reopenDelay). */
  relistenDelay?: number
  /** Where the ephemeral port range is read (tests point it elsewhere). */
  portRangeFile?: string
  /** Per-client caps, shared by every listener of this proxy; none = no caps. */
  limits?: ClientLimits
  /** TLS with the client and toward the backends (session.ts, routed-session.ts). */
  tls?: Pick<SessionContext, 'clientTls' | 'backendTls'>
}

export type ListenerState = 'closed' | 'opening' | 'open' | 'retrying'

export class ProxyListener {
  state: ListenerState = 'closed'
  readonly sessions = new Set<ClientSession>()
  private server: net.Server | undefined
  private stopped = false
  private port: number
  /** Set exactly while `retrying`. */
  private retryTimer: Timer | undefined
  /** Re-open attempts that failed in a row, and since when. */
  private failures = 0
  private failingSince = 0

  constructor (private readonly opts: ListenerOptions) {
    this.port = opts.port
    opts.metrics.listenerOpen.set({ listener: opts.name }, 0)
    opts.metrics.listenerReopenFailures.inc({ listener: opts.name }, 0) // the series exists from the start
  }

  get name (): string { return this.opts.name }
  get address (): { host: string, port: number } { return { host: this.opts.host, port: this.port } }
  get open (): boolean { return this.state === 'open' }

  /** Binds once (errors such as EADDRINUSE reject; port 0 becomes a real port), then follows the pool. */
  async start (): Promise<void> {
    const range = await readEphemeralRange(this.opts.portRangeFile)
    if (this.opts.closeListenSocket && inEphemeralRange(this.opts.port, range)) {
      this.opts.logger.warn({ event: 'listener_port_ephemeral', listener: this.opts.name, port: this.opts.port, range: `${range!.low}-${range!.high}` },
        'listener port is inside net.ipv4.ip_local_port_range: while closed (CloseListenSocket) it can be taken as a source port; add it to net.ipv4.ip_local_reserved_ports')
    }
    await this.listen()
    this.reconcile()
  }

  /** Opens or closes the listen socket to match whether a backend can take a client. */
  reconcile (): void {
    const full = this.opts.maxConnections > 0 && this.sessions.size >= this.opts.maxConnections
    const desired = !this.stopped && !full && (!this.opts.closeListenSocket || this.opts.pool.canServe())
    if (desired && this.state === 'closed') {
      void this.listen().then(() => this.reconcile(), (err: unknown) => this.retryLater(err))
    } else if (!desired && this.state === 'open') {
      this.closeServer(this.stopped ? 'draining' : full ? `holding maxConnections (${this.opts.maxConnections}) clients` : 'no backend can take a client')
    }
  }

  /** A reload's settings: clients accepted from now on get them; sessions running keep theirs. */
  configure (settings: SessionSettings, closeListenSocket: boolean, maxConnections: number): void {
    this.opts.settings = settings
    this.opts.closeListenSocket = closeListenSocket
    this.opts.maxConnections = maxConnections
    this.reconcile()
  }

  /** Stops accepting for good (drain); sessions continue. */
  stopAccepting (): void {
    this.stopped = true
    if (this.state === 'retrying' && this.retryTimer !== undefined) {
      this.opts.clock.clearTimeout(this.retryTimer)
      this.retryTimer = undefined
      this.state = 'closed'
    }
    if (this.state === 'open') this.closeServer('draining')
  }

  /** A re-open failed (EADDRINUSE: the port is taken): count it, say so, try again soon. */
  private retryLater (err: unknown): void {
    if (this.failures === 0) this.failingSince = this.opts.clock.now()
    this.failures++
    this.opts.metrics.listenerReopenFailures.inc({ listener: this.opts.name })
    const delay = this.opts.relistenDelay ?? reopenDelay(this.failures)
    this.opts.logger.warn({ event: 'listener_reopen_failed', listener: this.opts.name, address: `${this.opts.host}:${this.port}`, error: errorCode(err) ?? errorMessage(err), failures: this.failures, retryInMs: delay },
      'listener could not re-open (port taken); retrying')
    if (this.stopped) return
    this.state = 'retrying'
    this.retryTimer = this.opts.clock.setTimeout(() => {
      this.retryTimer = undefined
      this.state = 'closed'
      this.reconcile()
    }, delay)
  }

  private listen (): Promise<void> {
    this.state = 'opening'
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.accept(socket))
    return new Promise<void>((resolve, reject) => {
      server.once('error', (err) => { this.state = 'closed'; reject(err) })
      server.listen({ host: this.opts.host, port: this.port }, () => {
        server.removeAllListeners('error')
        server.on('error', (err) => this.opts.logger.error({ event: 'listener_error', listener: this.opts.name, error: err.message }, 'listener error'))
        this.port = (server.address() as net.AddressInfo).port
        this.server = server
        this.state = 'open'
        this.opts.metrics.listenerOpen.set({ listener: this.opts.name }, 1)
        if (this.failures > 0) {
          this.opts.logger.info({ event: 'listener_reopened', listener: this.opts.name, address: `${this.opts.host}:${this.port}`, failures: this.failures, waitedMs: this.opts.clock.now() - this.failingSince },
            'listener reopened after its port was taken')
          this.failures = 0
        } else {
          this.opts.logger.info({ event: 'listener_open', listener: this.opts.name, address: `${this.opts.host}:${this.port}` }, 'listener open')
        }
        if (this.stopped) this.closeServer('draining')
        resolve()
      })
    })
  }

  private closeServer (reason: string): void {
    this.server?.close()
    this.server = undefined
    this.state = 'closed'
    this.opts.metrics.listenerOpen.set({ listener: this.opts.name }, 0)
    this.opts.logger.warn({ event: 'listener_closed', listener: this.opts.name, address: `${this.opts.host}:${this.port}`, reason }, 'listener closed')
  }

  private accept (socket: net.Socket): void {
    if (this.stopped) { socket.destroy(); return }
    const admitted = this.opts.limits?.admit(clientAddress(socket.remoteAddress))
    if (admitted !== undefined && !admitted.ok) {
      this.refuse(socket, admitted.limit, admitted.count, admitted.max)
      return
    }
    const { settings, pool, clock, logger, metrics, affinity } = this.opts
    const session = settings.routing === 'tn3270e'
      ? new RoutedSession(socket, { settings, pool, clock, logger, metrics, affinity, ...this.opts.tls }, admitted?.slot)
      : new ProxySession(socket, { settings, pool, clock, logger, metrics, ...this.opts.tls }, admitted?.slot)
    this.sessions.add(session)
    if (this.opts.maxConnections > 0 && this.sessions.size >= this.opts.maxConnections) this.reconcile()
    void session.done.finally(() => { admitted?.slot.release(); this.sessions.delete(session); this.reconcile() })
  }

  /** Over a per-client cap: closed before anything else happens, one warn line, counted. */
  private refuse (socket: net.Socket, limit: 'pending' | 'sessions', count: number, max: number): void {
    const { metrics, logger, name } = this.opts
    metrics.clientLimitRefusals.inc({ listener: name, limit })
    metrics.connections.inc({ listener: name, result: 'error' })
    logger.warn({ event: 'client_limit', listener: name, client: peerOf(socket), limit, count, max }, limit === 'pending' ? 'too many connections from this client not yet sending data; closed' : 'too many connections from this client; closed')
    socket.destroy()
  }
}
