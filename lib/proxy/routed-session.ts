// One client connection through a tn3270e-routing listener (docs/routing.md): the proxy runs the
// TN3270 server negotiation itself (lib/tn3270, RFC 2355 §7.1, RFC 1576/1091) up to the client's
// device request; the Router chooses a gateway and hands the negotiation over; the gateway's
// answer goes to the client and the two sockets are spliced (splice.ts) exactly as with tcp
// routing. One log line at start and one at end, as ProxySession writes them, plus the LU and
// what was asked for; never payload bytes.
//
//   negotiating --handed over--> relaying --both sockets closed--> ended
//   negotiating --client left, refused to the end, timed out, or terminate()--> ended
import type net from 'node:net'
import type { Clock } from '../clock.js'
import { errorCode, errorMessage, NegotiationError } from '../errors.js'
import type { Logger, ProxyMetrics } from '../observability/index.js'
import type { ProxyTlv } from '../proxy-protocol/index.js'
import { negotiateServer, type HandedOver } from '../tn3270/index.js'
import type { AffinityTable } from './affinity.js'
import type { ClientSlot } from '../listen/index.js'
import { acceptClientTls } from './client-tls.js'
import type { BackendPool } from './pool.js'
import { Router, type Chosen } from './router.js'
import { SessionBase } from './session-base.js'
import type { SessionContext, SessionSettings } from './session.js'
import { splice, type Splice, type SpliceResult, type Termination } from './splice.js'

export interface RoutedSessionContext extends Pick<SessionContext, 'clientTls' | 'backendTls'> {
  settings: SessionSettings
  pool: BackendPool
  clock: Clock
  logger: Logger
  metrics: ProxyMetrics
  affinity: AffinityTable
}

type RoutedState =
  | { phase: 'negotiating' }
  | { phase: 'relaying', relay: Splice }
  | { phase: 'ended' }

export class RoutedSession extends SessionBase {
  private state: RoutedState = { phase: 'negotiating' }

  constructor (socket: net.Socket, private readonly ctx: RoutedSessionContext, private readonly slot?: ClientSlot) {
    super(socket, ctx)
    // run() returns at the hand-over: the negotiation, the Router and the snapshot are garbage
    // from then on; only the splice and what the end-of-session line needs stay.
    this.start(ctx, () => this.run())
  }

  protected ended (): void {
    this.state = { phase: 'ended' }
  }

  /** Ends the session from the proxy's side (drain, shutdown); before the hand-over the client is dropped. */
  terminate (why: Termination, graceMs: number): void {
    if (this.state.phase === 'relaying') this.state.relay.terminate(why, graceMs)
    else if (this.state.phase === 'negotiating') this.socket.destroy()
  }

  /** True when the relay started (it finishes the session); false when the session ended before. */
  private async run (): Promise<boolean> {
    const { settings, metrics, logger } = this.ctx
    const tcp = this.socket
    tcp.on('error', () => { /* seen as a close by the negotiation, then by the splice */ })
    if (this.peer.address === undefined || this.peer.local === undefined) {
      tcp.destroy()
      metrics.connections.inc({ listener: settings.listener, result: 'error' })
      return false
    }
    tcp.setNoDelay(true)
    if (settings.tcpKeepAlive > 0) tcp.setKeepAlive(true, settings.tcpKeepAlive)
    const accepted = await acceptClientTls(tcp, this.ctx.clientTls ?? { report: false }, { logger, listener: settings.listener, client: this.client })
    if (accepted === undefined) {
      metrics.connections.inc({ listener: settings.listener, result: 'error' })
      return false
    }
    this.socket = accepted.socket
    const client = this.socket
    client.on('error', () => { /* as above, for the TLS socket */ })
    const router = this.router(accepted.tlvs)
    const out = await this.negotiate(client, router)
    if (out === undefined) return false
    // A device request reached a gateway: a working client, not an idle connect (maxPendingPerClient).
    this.slot?.settle()
    const chosen = router.take()
    if (chosen === undefined) { out.socket.destroy(); return false }
    this.relay(out, chosen)
    return true
  }

  private router (tlvs: ProxyTlv[]): Router {
    const { settings, pool, clock, logger, metrics, affinity, backendTls } = this.ctx
    return new Router({
      listener: settings.listener,
      pool,
      attemptTimeout: settings.connectTimeout,
      keepAlive: settings.tcpKeepAlive,
      clock,
      logger,
      metrics,
      affinity,
      client: { address: this.peer.address!, port: this.peer.port },
      local: { address: this.peer.local!, port: this.peer.localPort },
      clientText: this.client,
      tlvs,
      ...(backendTls === undefined ? {} : { backendTls }),
    })
  }

  /** The negotiation up to the hand-over; undefined when it ended without one (counted and logged here). */
  private async negotiate (client: net.Socket, router: Router): Promise<HandedOver | undefined> {
    const { settings, clock, logger, metrics } = this.ctx
    const negotiation = negotiateServer(client, {
      provider: router,
      logger,
      // One child logger with both bindings, not a child of a child (as the gateway's negotiation).
      logBindings: { listener: settings.listener },
      timeout: settings.negotiationTimeout,
      client: this.client,
      clock,
    })
    // The listener accepts paused (pauseOnConnect); the negotiator listens now.
    client.resume()
    try {
      const out = await negotiation
      if ('handedOver' in out) return out
      out.close('the proxy never serves a session itself') // unreachable: the Router never grants an LU
      return undefined
    } catch (err) {
      router.discard()
      // A client that was refused and left is refused; one that broke off or timed out is an error.
      const refused = router.refused > 0 && err instanceof NegotiationError && err.failure !== 'timeout' && err.failure !== 'protocol'
      metrics.connections.inc({ listener: settings.listener, result: refused ? 'refused' : 'error' })
      logger.info({
        event: refused ? 'client_refused' : 'client_gone',
        listener: settings.listener,
        client: this.client,
        phase: err instanceof NegotiationError ? err.phase : undefined,
        code: errorCode(err),
        reason: errorMessage(err),
        durationMs: clock.now() - this.started,
      }, refused ? 'client left after every request was refused' : 'client left before it was handed to a gateway')
      return undefined
    }
  }

  /** The gateway's answer to the client, what the client sent since its request to the gateway, then the splice. */
  private relay (out: HandedOver, c: Chosen): void {
    const { settings, pool, clock, logger, metrics, affinity } = this.ctx
    const handoverMs = clock.now() - this.started
    if (c.retries > 0) metrics.failovers.inc({ listener: settings.listener })
    metrics.connections.inc({ listener: settings.listener, result: 'forwarded' })
    metrics.handoverSeconds.observe(handoverMs / 1000)
    metrics.sessionsActive.inc({ listener: settings.listener })
    const base = { listener: settings.listener, client: this.client, backend: c.backend.id, kind: c.kind, lu: c.lu, pool: c.pool, connectMs: c.connectMs, handoverMs, retries: c.retries }
    logger.info({ event: 'session_start', ...base }, 'session start')
    affinity.forget(this.peer.address ?? '')
    if (out.rest.length > 0) c.socket.write(out.rest)
    const relay = splice(out.socket, c.socket, { idleTimeout: settings.idleTimeout, halfCloseTimeout: settings.halfCloseTimeout, first: c.answer })
    this.state = { phase: 'relaying', relay }
    // Only these stay with the session, not the hand-over's answer and sockets (the splice holds those).
    const backend = c.backend
    const lu = c.lu
    const poolName = c.pool
    void relay.done.then((end: SpliceResult) => {
      const freed = end.termination !== 'backend_closed' && end.termination !== 'backend_error'
      pool.sessionEnded(backend, freed, poolName)
      if (lu !== undefined) affinity.remember(this.peer.address ?? '', lu, poolName, clock.now())
      metrics.sessionsActive.dec({ listener: settings.listener })
      logger.info({ event: 'session_end', ...base, bytesIn: end.bytesIn, bytesOut: end.bytesOut, durationMs: clock.now() - this.started, termination: end.termination }, 'session end')
      this.end()
    })
  }
}
