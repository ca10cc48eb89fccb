// One client connection through the proxy: failover connect (connect.ts) while the client socket
// stays paused, then the splice (splice.ts). Logs one line at start and one at end, like HAProxy's
// `option tcplog` with `option logasap` (doc/configuration.txt; logasap is meant for long sessions
// such as remote terminals): client, backend, connect ms, retries, bytes, duration, termination.
// Never payload bytes.
import type net from 'node:net'
import type { Clock } from '../clock.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import { connectWithFailover } from './connect.js'
import type { BackendPool } from './pool.js'
import { splice, type Splice, type SpliceResult, type Termination } from './splice.js'

export interface SessionSettings {
  listener: string
  connectTimeout: number
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
}

function hostPort (address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'unknown'
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`
}

export class ProxySession {
  readonly client: string
  readonly done: Promise<void>
  private relay: Splice | undefined
  private pendingTermination: { why: Termination, graceMs: number } | undefined
  private clientGone = false

  constructor (private readonly socket: net.Socket, private readonly ctx: SessionContext) {
    this.client = hostPort(socket.remoteAddress, socket.remotePort)
    this.done = this.run().catch((err: unknown) => {
      this.socket.destroy()
      ctx.logger.error({ event: 'session_error', listener: ctx.settings.listener, client: this.client, err }, 'session failed')
    })
  }

  /** Ends the session from the proxy's side (drain, shutdown). */
  terminate (why: Termination, graceMs: number): void {
    if (this.relay !== undefined) this.relay.terminate(why, graceMs)
    else { this.pendingTermination ??= { why, graceMs }; this.socket.destroy() }
  }

  private async run (): Promise<void> {
    const { settings, pool, clock, logger, metrics } = this.ctx
    const client = this.socket
    const started = clock.now()
    const onEarlyError = () => { this.clientGone = true }
    client.on('error', onEarlyError)
    client.once('close', () => { this.clientGone = true })
    if (client.remoteAddress === undefined || client.localAddress === undefined) {
      client.destroy()
      metrics.connections.inc({ listener: settings.listener, result: 'error' })
      return
    }
    client.setNoDelay(true)
    if (settings.tcpKeepAlive > 0) client.setKeepAlive(true, settings.tcpKeepAlive)

    const result = await connectWithFailover(pool, {
      connectTimeout: settings.connectTimeout,
      earlyCloseWindow: settings.earlyCloseWindow,
      keepAlive: settings.tcpKeepAlive,
      clock,
      proxyProtocol: settings.proxyProtocol,
      client: { address: client.remoteAddress, port: client.remotePort ?? 0 },
      local: { address: client.localAddress, port: client.localPort ?? 0 },
      aborted: () => this.clientGone || this.pendingTermination !== undefined,
      onFailure: (b, reason, message) => {
        logger.info({ event: 'backend_connect_failed', listener: settings.listener, client: this.client, backend: b.id, reason, error: message }, 'backend connect failed; trying another')
      },
    })
    if (!result.ok) {
      if (result.retries > 1) metrics.failovers.inc({ listener: settings.listener })
      const noBackend = result.reason === 'no_backend'
      metrics.connections.inc({ listener: settings.listener, result: noBackend && !this.clientGone ? 'no_backend' : 'error' })
      logger.warn({ event: noBackend ? 'no_backend' : 'client_gone', listener: settings.listener, client: this.client, retries: result.retries, durationMs: clock.now() - started }, noBackend ? 'no backend can take the client; closing it' : 'client left before a backend answered')
      client.destroy()
      return
    }
    const { backend, socket, first, connectMs, retries } = result
    if (result.retries > 0) metrics.failovers.inc({ listener: settings.listener })
    if (this.clientGone || this.pendingTermination !== undefined) {
      socket.destroy()
      client.destroy()
      pool.sessionEnded(backend)
      metrics.connections.inc({ listener: settings.listener, result: 'error' })
      logger.info({ event: 'client_gone', listener: settings.listener, client: this.client, backend: backend.id, retries }, 'client left before the session started')
      return
    }
    client.off('error', onEarlyError)
    metrics.connections.inc({ listener: settings.listener, result: 'forwarded' })
    metrics.backendConnectSeconds.observe(connectMs / 1000)
    metrics.sessionsActive.inc({ listener: settings.listener })
    logger.info({ event: 'session_start', listener: settings.listener, client: this.client, backend: backend.id, connectMs, retries }, 'session start')

    this.relay = splice(client, socket, { idleTimeout: settings.idleTimeout, halfCloseTimeout: settings.halfCloseTimeout, first })
    const end: SpliceResult = await this.relay.done
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
      durationMs: clock.now() - started,
      termination: end.termination,
    }, 'session end')
  }
}
