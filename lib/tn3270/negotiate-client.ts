// negotiateClient: the client negotiation (client-machine.ts) on a connected socket to a TN3270
// host. Resolves with a Tn3270ClientSession in 3270 mode; rejects with a NegotiationError whose
// `failure` says whether the host refused, closed, timed out, broke the protocol, or the caller
// aborted (lib/hostlink turns that into its link-level classification).
import type { Socket } from 'node:net'
import { systemClock, type Clock } from '../clock.js'
import type { NegotiationError } from '../errors.js'
import { silentLogger, type Logger } from '../observability/index.js'
import { Opt, TelnetConnection } from '../telnet/index.js'
import { ClientNegotiation, clientFunctions, type ClientAction, type ClientInput, type ClientResult } from './client-machine.js'
import { Tn3270ClientSession } from './client-session.js'
import type { Tn3270eFunction } from './constants.js'
import { NegotiationDriver } from './driver.js'

export interface ClientNegotiateOptions {
  /** Terminal / device type, e.g. IBM-3278-2-E. */
  terminalType: string
  /** Host-side resource (LU or pool, device number or group); undefined = generic. */
  resource?: string
  /**
   * Accept TN3270E when the host offers it and name the resource by DEVICE-TYPE REQUEST ...
   * CONNECT (RFC 2355 §7.1.1); false = refuse it (WONT) and use `TYPE@NAME` (RFC 1646 era).
   */
  tn3270e: boolean
  /** Functions asked of a TN3270E host (RFC 2355 §7.2); default RESPONSES. BIND-IMAGE is never asked. */
  functions?: Tn3270eFunction[]
  /** Budget for the whole telnet negotiation, ms. */
  timeout: number
  /** Wait this long (ms) for the host's first record and check it with screenCheck; 0 = do not wait. */
  firstRecordTimeout?: number
  screenCheck?: (record: Buffer) => string | undefined
  /** The host as address:port, for messages (default: the socket's remote address). */
  peer?: string
  logger?: Logger
  clock?: Clock
  signal?: AbortSignal
  maxRecord?: number
  maxSubneg?: number
  closeGraceMs?: number
}

export function negotiateClient (socket: Socket, opts: ClientNegotiateOptions): Promise<Tn3270ClientSession> {
  return new Promise((resolve, reject) => { ClientDriver.start(socket, opts, resolve, reject) })
}

class ClientDriver extends NegotiationDriver<ClientInput, ClientAction> {
  private constructor (
    conn: TelnetConnection,
    log: Logger,
    clock: Clock,
    machine: ClientNegotiation,
    private readonly resolve: (s: Tn3270ClientSession) => void,
    private readonly reject: (e: NegotiationError) => void,
  ) {
    super(conn, log, clock, machine, 'debug')
  }

  static start (socket: Socket, opts: ClientNegotiateOptions, resolve: (s: Tn3270ClientSession) => void, reject: (e: NegotiationError) => void): void {
    const log = opts.logger ?? silentLogger()
    const conn = new TelnetConnection(socket, {
      logger: log,
      limits: { maxRecord: opts.maxRecord, maxSubneg: opts.maxSubneg },
      closeGraceMs: opts.closeGraceMs,
      // Client role (RFC 1576 §2): we WILL TTYPE, EOR, BINARY when asked, and let the host
      // enable EOR and BINARY on its side; TN3270E only when the resource is asked by CONNECT.
      acceptLocal: [Opt.TTYPE, Opt.EOR, Opt.BINARY, ...(opts.tn3270e ? [Opt.TN3270E] : [])],
      acceptRemote: [Opt.EOR, Opt.BINARY],
    })
    const machine = new ClientNegotiation({
      terminalType: opts.terminalType,
      ...(opts.resource === undefined ? {} : { resource: opts.resource }),
      functions: clientFunctions(opts.functions),
      firstRecordTimeout: opts.firstRecordTimeout ?? 0,
      peer: opts.peer ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
      ...(opts.screenCheck === undefined ? {} : { screenCheck: opts.screenCheck }),
    })
    const d = new ClientDriver(conn, log, opts.clock ?? systemClock, machine, resolve, reject)
    d.attach()
    // Telnet data before 3270 mode: a line-mode banner or an error text from the host.
    d.listen('nvt', (data) => log.debug({ event: 'tn3270_host_nvt', bytes: data.length }, 'NVT data from host during negotiation'))
    d.arm(opts.timeout)
    const signal = opts.signal
    if (signal === undefined) return
    const onAbort = (): void => d.feed({ type: 'aborted' })
    signal.addEventListener('abort', onAbort, { once: true })
    d.onDetach(() => signal.removeEventListener('abort', onAbort))
    if (signal.aborted) onAbort()
  }

  protected perform (a: ClientAction): void {
    if (a.type === 'timer') { this.arm(a.ms); return }
    this.finish(a.result)
  }

  protected rejected (err: NegotiationError): void { this.reject(err) }

  private finish (r: ClientResult): void {
    this.detach()
    this.resolve(new Tn3270ClientSession({
      conn: this.conn,
      logger: this.log,
      mode: r.mode,
      ...(r.device === undefined ? {} : { device: r.device }),
      functions: new Set(r.functions),
      terminalType: r.terminalType,
      pending: r.pending,
    }))
  }
}
