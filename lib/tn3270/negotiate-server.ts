// negotiateServer: the server negotiation (server-machine.ts) on a freshly accepted socket, or
// resumed from a snapshot another process took (docs/tn3270.md). Resolves with the session
// that owns the LU lease, or, when a front proxy's provider hands the request over, with the raw
// socket and the bytes the client sent since (docs/routing.md); rejects with a NegotiationError
// after closing the socket, releasing any lease and logging the reason.
import type { Socket } from 'node:net'
import { systemClock } from '../clock.js'
import { errorMessage, type NegotiationError } from '../errors.js'
import { silentLogger, type Logger } from '../observability/index.js'
import { Opt, TelnetConnection } from '../telnet/index.js'
import { DEFAULT_SIZE } from './devicetype.js'
import { NegotiationDriver } from './driver.js'
import { ServerNegotiation, type ServerAction, type ServerInput, type ServerResult } from './server-machine.js'
import { Tn3270ServerSession } from './server-session.js'
import type { NegotiationSnapshot } from './snapshot.js'
import type { DeviceRequest, FrontDecision, HandedOver, HandOverProvider, LuLease, NegotiateOptions, RejectInfo, ResourceProvider } from './types.js'

export const DEFAULT_NEGOTIATION_TIMEOUT = 10_000

type Outcome = Tn3270ServerSession | HandedOver
type AnyOptions = NegotiateOptions<ResourceProvider | HandOverProvider>

/** A provider that only grants or refuses always ends in a session. */
export function negotiateServer (socket: Socket, opts: NegotiateOptions): Promise<Tn3270ServerSession>
/** A front proxy's provider may hand the request over instead (docs/routing.md). */
export function negotiateServer (socket: Socket, opts: NegotiateOptions<HandOverProvider>): Promise<Outcome>
export function negotiateServer (socket: Socket, opts: AnyOptions): Promise<Outcome> {
  return new Promise((resolve, reject) => { ServerDriver.start(socket, opts, resolve, reject) })
}

function isPromiseLike<T> (x: T | PromiseLike<T>): x is PromiseLike<T> {
  return typeof (x as { then?: unknown }).then === 'function'
}

class ServerDriver extends NegotiationDriver<ServerInput, ServerAction> {
  private readonly started: number
  /** Abort handles of the allocations still with the provider, by request id. */
  private readonly allocations = new Map<number, AbortController>()

  private constructor (
    conn: TelnetConnection,
    log: Logger,
    private readonly opts: AnyOptions,
    private readonly client: string,
    private readonly resolve: (s: Outcome) => void,
    private readonly reject: (e: NegotiationError) => void,
  ) {
    const clock = opts.clock ?? systemClock
    super(conn, log, clock, new ServerNegotiation({ tn3270e: opts.tn3270e ?? true, client }), 'warn')
    this.started = clock.now()
  }

  static start (socket: Socket, opts: AnyOptions, resolve: (s: Outcome) => void, reject: (e: NegotiationError) => void): void {
    const client = opts.client ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    const agreed = (opts.resume?.options ?? []).flatMap((o) => [
      ...(o.local ? [{ side: 'local' as const, option: o.option }] : []),
      ...(o.remote ? [{ side: 'remote' as const, option: o.option }] : []),
    ])
    const log = (opts.logger ?? silentLogger()).child({ ...opts.logBindings, client })
    const conn = new TelnetConnection(socket, {
      logger: log,
      limits: { maxSubneg: opts.maxSubneg, maxRecord: opts.maxRecord },
      closeGraceMs: opts.closeGraceMs,
      // What a 3270 server agrees to when the client volunteers it (RFC 1576 §2, RFC 2355 §7);
      // everything else (ECHO, NAWS, NEW-ENVIRON, ...) is refused once, per RFC 1143.
      acceptRemote: [Opt.TTYPE, Opt.EOR, Opt.BINARY, ...(opts.tn3270e ?? true ? [Opt.TN3270E] : [])],
      acceptLocal: [Opt.EOR, Opt.BINARY],
      agreed,
    })
    const d = new ServerDriver(conn, log, opts, client, resolve, reject)
    d.attach()
    d.arm(opts.timeout ?? DEFAULT_NEGOTIATION_TIMEOUT)
    if (socket.destroyed) d.feed({ type: 'closed', reason: 'socket already closed before negotiation' })
    else d.feed(opts.resume === undefined ? { type: 'start' } : { type: 'resume', snapshot: opts.resume })
  }

  protected perform (a: ServerAction): void {
    switch (a.type) {
      case 'enable': this.conn.request(a.side, a.option, true); return
      case 'send-record': this.conn.sendRecord(a.data); return
      case 'send-nvt': this.conn.sendData(a.data); return
      case 'allocate': this.allocate(a.id, a.request, a.snapshot); return
      case 'withdraw': this.allocations.get(a.id)?.abort(); this.allocations.delete(a.id); return
      case 'release': this.release(a.lease); return
      case 'rejected': this.onRejected(a.info); return
      case 'done': this.finish(a.result); return
      case 'hand-over': this.handOver()
    }
  }

  protected rejected (err: NegotiationError): void { this.reject(err) }

  private allocate (id: number, request: DeviceRequest, snapshot: NegotiationSnapshot): void {
    const controller = new AbortController()
    this.allocations.set(id, controller)
    // The client waits for our answer (RFC 2355 §7.1, RFC 1091): whatever it sends meanwhile is
    // kept unread, so a hand-over can pass it on exactly as sent.
    this.conn.hold()
    const decided = (decision: FrontDecision): void => {
      this.allocations.delete(id)
      this.feed({ type: 'decision', id, decision })
      this.conn.unhold()
    }
    const failed = (err: unknown): void => {
      this.log.error({ event: 'tn3270_provider_error', err }, 'resource provider failed')
      decided({ ok: false, reason: 'UNKNOWN-ERROR', message: `provider error: ${errorMessage(err)}` })
    }
    let result: FrontDecision | PromiseLike<FrontDecision>
    try {
      result = this.opts.provider.allocate(request, { snapshot, signal: controller.signal })
    } catch (err) {
      failed(err)
      return
    }
    // A synchronous answer is acted on at once (the gateway's choice and hand-out stay atomic).
    if (isPromiseLike(result)) result.then(decided, failed)
    else decided(result)
  }

  /** The provider passed the request on: give the socket up, unanswered and open. */
  private handOver (): void {
    this.detach()
    const rest = this.conn.release()
    this.log.debug({ event: 'tn3270_handed_over', heldBytes: rest.length }, 'negotiation handed over')
    this.resolve({ handedOver: true, socket: this.conn.socket, rest })
  }

  private release (lease: LuLease): void {
    try { lease.release() } catch (err) { this.log.error({ event: 'tn3270_lease_release_error', err }, 'lease release threw') }
  }

  private onRejected (info: RejectInfo): void {
    this.log.info({ event: 'tn3270_device_reject', mode: info.mode, deviceType: info.deviceType, resource: info.resourceName, reason: info.reason }, `device request rejected: ${info.message}`)
    if (this.opts.onReject === undefined) return
    try { this.opts.onReject(info) } catch (err) { this.log.error({ event: 'tn3270_on_reject_error', err }, 'onReject hook threw') }
  }

  private finish (r: ServerResult): void {
    // The session listens before the negotiation stops: the connection never runs out of
    // listeners, so its listener storage keeps its shape (lib/event-shape.ts).
    const session = new Tn3270ServerSession({
      conn: this.conn,
      logger: this.log,
      client: this.client,
      mode: r.mode,
      deviceType: r.deviceType,
      lu: r.lu,
      lease: r.lease,
      functions: new Set(r.functions),
      rows: DEFAULT_SIZE.rows,
      cols: DEFAULT_SIZE.cols,
      altRows: r.alt.rows,
      altCols: r.alt.cols,
    })
    this.detach()
    const ms = (this.opts.clock ?? systemClock).now() - this.started
    this.log.info({ event: 'tn3270_negotiated', mode: r.mode, deviceType: r.deviceType, lu: r.lu, pool: r.lease.pool, functions: r.functions, ms }, 'negotiation complete')
    this.resolve(session)
  }
}
