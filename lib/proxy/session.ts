// One client connection through the proxy: failover connect (connect.ts) while the client socket
// stays paused, then the splice (splice.ts). Logs one line at start and one at end, like HAProxy's
// `option tcplog` with `option logasap` (doc/configuration.txt; logasap is meant for long sessions
// such as remote terminals): client, backend, connect ms, retries, bytes, duration, termination.
// Never payload bytes.
import type net from 'node:net'
import type { Clock } from '../clock.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import type { ProxyTlv } from '../proxy-protocol/index.js'
import type { TlsClientMaterial } from '../tls/index.js'
import type { ClientSlot } from '../listen/index.js'
import { acceptClientTls, type ClientTlsSettings } from './client-tls.js'
import { connectWithFailover, type Connected } from './connect.js'
import type { BackendPool } from './pool.js'
import { SessionBase } from './session-base.js'
import { splice, type Splice, type SpliceResult, type Termination } from './splice.js'

export interface SessionSettings {
  listener: string
  /** tcp: this class; tn3270e: RoutedSession (routed-session.ts). */
  routing: 'tcp' | 'tn3270e'
  connectTimeout: number
  /** tn3270e routing: accept to hand-over. */
  negotiationTimeout: number
  earlyCloseWindow: number
  idleTimeout: number
  halfCloseTimeout: number
  tcpKeepAlive: number
  proxyProtocol: boolean
}

export interface SessionContext {
  settings: SessionSettings
  pool: BackendPool
  clock: Clock
  logger: Logger
  metrics: ProxyMetrics
  /** TLS with the client (client-tls.ts) and toward each backend (by backend id). */
  clientTls?: ClientTlsSettings
  backendTls?: (backend: string) => TlsClientMaterial | undefined
}

/**
 * connecting --backend answered--> relaying --both sockets closed--> ended
 * connecting --client left, or terminate()--> abandoned --connect attempt over--> ended
 * connecting --no backend can take the client--> ended
 */
type SessionState =
  | { phase: 'connecting' }
  | { phase: 'abandoned' }
  | { phase: 'relaying', relay: Splice }
  | { phase: 'ended' }

export class ProxySession extends SessionBase {
  private state: SessionState = { phase: 'connecting' }
  private tlvs: ProxyTlv[] = []

  constructor (socket: net.Socket, private readonly ctx: SessionContext, private readonly slot?: ClientSlot) {
    super(socket, ctx)
    this.start(ctx, () => this.run())
  }

  /** Ends the session from the proxy's side (drain, shutdown). */
  terminate (why: Termination, graceMs: number): void {
    if (this.state.phase === 'relaying') this.state.relay.terminate(why, graceMs)
    else if (this.state.phase === 'connecting' || this.state.phase === 'abandoned') this.abandon()
  }

  protected ended (): void {
    this.state = { phase: 'ended' }
  }

  /** Before the relay starts: no session will start; stop trying backends. */
  private abandon (): void {
    if (this.state.phase === 'connecting') this.state = { phase: 'abandoned' }
    this.socket.destroy()
  }

  /** Until the relay has its own handlers: the client leaving abandons the connect. */
  private readonly onEarlyEnd = (): void => { if (this.state.phase === 'connecting') this.state = { phase: 'abandoned' } }

  /** True when the relay started (it finishes the session); false when the session ended before. */
  private async run (): Promise<boolean> {
    const accepted = await acceptClientTls(this.socket, this.ctx.clientTls ?? { report: false }, { logger: this.ctx.logger, listener: this.ctx.settings.listener, client: this.client })
    if (accepted === undefined) {
      this.ctx.metrics.connections.inc({ listener: this.ctx.settings.listener, result: 'error' })
      return false
    }
    this.socket = accepted.socket
    this.tlvs = accepted.tlvs
    const connected = await this.connect()
    this.tlvs = []
    if (connected === undefined) return false
    this.relay(connected)
    return true
  }

  /** Failover connect while the client socket stays paused; the backend that answered, if any. */
  private async connect (): Promise<Connected | undefined> {
    const { settings, pool, clock, logger, metrics } = this.ctx
    const client = this.socket
    client.on('error', this.onEarlyEnd)
    client.once('close', this.onEarlyEnd)
    const { address, port, local, localPort } = this.peer
    const backendTls = this.ctx.backendTls
    if (address === undefined || local === undefined) {
      client.destroy()
      metrics.connections.inc({ listener: settings.listener, result: 'error' })
      return undefined
    }
    client.setNoDelay(true)
    if (settings.tcpKeepAlive > 0) client.setKeepAlive(true, settings.tcpKeepAlive)

    const result = await connectWithFailover(pool, {
      connectTimeout: settings.connectTimeout,
      earlyCloseWindow: settings.earlyCloseWindow,
      keepAlive: settings.tcpKeepAlive,
      clock,
      proxyProtocol: settings.proxyProtocol,
      client: { address, port },
      local: { address: local, port: localPort },
      tlvs: this.tlvs,
      ...(backendTls === undefined ? {} : { tls: (b: { id: string }) => backendTls(b.id) }),
      aborted: () => this.state.phase !== 'connecting',
      onFailure: (b, reason, message) => {
        logger.info({ event: 'backend_connect_failed', listener: settings.listener, client: this.client, backend: b.id, reason, error: message }, 'backend connect failed; trying another')
      },
    })
    if (!result.ok) {
      if (result.retries > 1) metrics.failovers.inc({ listener: settings.listener })
      const noBackend = result.reason === 'no_backend'
      metrics.connections.inc({ listener: settings.listener, result: noBackend && this.state.phase === 'connecting' ? 'no_backend' : 'error' })
      logger.warn({ event: noBackend ? 'no_backend' : 'client_gone', listener: settings.listener, client: this.client, retries: result.retries, durationMs: clock.now() - this.started }, noBackend ? 'no backend can take the client; closing it' : 'client left before a backend answered')
      client.destroy()
      return undefined
    }
    const { backend, socket, retries } = result
    if (retries > 0) metrics.failovers.inc({ listener: settings.listener })
    if (this.state.phase !== 'connecting') {
      socket.destroy()
      client.destroy()
      pool.sessionEnded(backend)
      metrics.connections.inc({ listener: settings.listener, result: 'error' })
      logger.info({ event: 'client_gone', listener: settings.listener, client: this.client, backend: backend.id, retries }, 'client left before the session started')
      return undefined
    }
    return result
  }

  /** Splices client and backend until both have closed; one log line at each end. */
  private relay ({ backend, socket, first, reads, connectMs, retries }: Connected): void {
    const { settings, pool, clock, logger, metrics } = this.ctx
    metrics.connections.inc({ listener: settings.listener, result: 'forwarded' })
    metrics.backendConnectSeconds.observe(connectMs / 1000)
    metrics.sessionsActive.inc({ listener: settings.listener })
    logger.info({ event: 'session_start', listener: settings.listener, client: this.client, backend: backend.id, connectMs, retries }, 'session start')

    this.socket.off('error', this.onEarlyEnd).off('close', this.onEarlyEnd)
    const relay = splice(this.socket, socket, { idleTimeout: settings.idleTimeout, halfCloseTimeout: settings.halfCloseTimeout, first, ...(reads === undefined ? {} : { backendReads: reads }) })
    // Its first telnet byte shows a working client (maxPendingPerClient, lib/listen/client-limits.ts).
    if (this.slot !== undefined) this.socket.once('data', this.slot.settle.bind(this.slot))
    this.state = { phase: 'relaying', relay }
    void relay.done.then((end: SpliceResult) => {
      // A gateway that closes sessions itself may be stopping or gone: its LU counts as free only
      // when its next /status says so (else the listener re-opens for a client nobody can take).
      pool.sessionEnded(backend, end.termination !== 'backend_closed' && end.termination !== 'backend_error')
      metrics.sessionsActive.dec({ listener: settings.listener })
      logger.info({
        event: 'session_end',
        listener: settings.listener,
        client: this.client,
        backend: backend.id,
        connectMs,
        retries,
        bytesIn: end.bytesIn,
        bytesOut: end.bytesOut,
        durationMs: clock.now() - this.started,
        termination: end.termination,
      }, 'session end')
      this.end()
    })
  }
}
