// One client session bound to one upstream TN3270(E) host session, record by record, telnet
// terminated on both legs. The client leg (credit, keepalive, response time, holding reads,
// ending once) is the shared ClientLeg; this file keeps what is TN3270 upstream: opening the
// host session before any host byte reaches the client, refusal handling, the TN3270E SEQ maps
// (RFC 2355 §8.1.3, §10.2) and reading the host one window ahead of the client (KB Q181737).
import type { Clock } from '../clock.js'
import type { GatewayConfig, Tn3270LinkConfig } from '../config/index.js'
import { errorMessage } from '../errors.js'
import {
  connectTn3270Host, isHostConnectError,
  type HostData, type Tn3270HostSession, type Tn3270TlsMaterial,
} from '../hostlink/index.js'
import { attachKeepAlive, telnetKeepAliveTarget, type KeepAliveHandle } from '../keepalive/index.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { CreditGate, type CreditDecision } from '../sna/index.js'
import { ResponseCode, ResponseFlag, type SessionData, type SessionResponse, type Tn3270eFunction } from '../tn3270/index.js'
import { ClientLeg } from './client-leg.js'
import type { ClientBinding } from './host-side.js'

/** Host records read ahead of the client before reading pauses until credit comes back (one window). */
export const HOST_READ_WINDOW = 8
/** Size assumed for a host record until a larger one is seen (a 24x80 screen with orders). */
const TYPICAL_RECORD_BYTES = 4096
/** Host-requested responses outstanding at the client before host reads pause. */
const RESPONSE_LIMIT = 8
/** A refusal this soon after the LU's previous session ended is retried (the host may still be freeing the device). */
const RELEASE_SETTLE_MS = 2000
const RELEASE_RETRY_MS = 250
/** Bound on SEQ mappings kept for responses (TN3270E SEQ space is 15 bits). */
const MAX_SEQ_MAP = 4096
/** The device type a printer LU asks the host for (RFC 2355 §7.1: the one printer type). */
const PRINTER_DEVICE_TYPE = 'IBM-3287-1'

/** What the relay passes to the client in order: host data, or the end of a print job. */
type RelayItem = HostData | { type: 'PRINT-EOJ' }
const PRINT_EOJ: RelayItem = { type: 'PRINT-EOJ' }

/** What a relay needs from its host side (lib/gateway/tn3270-host.ts). */
export interface RelayHost {
  readonly link: Tn3270LinkConfig
  readonly config: GatewayConfig
  readonly metrics: GatewayMetrics
  readonly clock: Clock
  readonly tls: Tn3270TlsMaterial | undefined
  /** How long ago (ms) a session on this LU ended; Infinity if none did. */
  releasedAgo: (lu: string) => number
  refuse: (lu: string, reason: string) => void
  refuseGeneric: (lu: string, reason: string) => void
  probeNow: () => void
  /** A session of this host ended and its socket closed: a device is free again on the host. */
  deviceFreed: (lu: string) => void
}

/**
 * A relay's life: opening the upstream session (client records typed meanwhile wait in `early`),
 * relaying with the host's read-ahead gate, then ended with the reason that ended it.
 */
type RelayState =
  | { kind: 'connecting' }
  | { kind: 'relaying', host: Tn3270HostSession, gate: CreditGate<RelayItem> }
  | { kind: 'ended', reason: string }

export class Relay {
  private state: RelayState = { kind: 'connecting' }
  private readonly side: RelayHost
  private readonly binding: ClientBinding
  private readonly leg: ClientLeg
  private readonly log: Logger
  private readonly abort = new AbortController()
  private readonly early: SessionData[] = []
  private hostKeepalive: KeepAliveHandle | undefined
  private largestRecord = TYPICAL_RECORD_BYTES
  /** Host SEQ of a host record forwarded with ALWAYS-RESPONSE, by the client SEQ we used. */
  private readonly clientSeqToHost = new Map<number, number>()
  /** Client SEQ of a client record forwarded with ALWAYS-RESPONSE, by the host SEQ we used. */
  private readonly hostSeqToClient = new Map<number, number>()
  private hostClosed: Promise<void> = Promise.resolve()
  private readonly ended: Promise<string>
  private resolveEnded!: (reason: string) => void

  constructor (side: RelayHost, binding: ClientBinding) {
    this.side = side
    this.binding = binding
    this.log = binding.logger
    this.ended = new Promise(resolve => { this.resolveEnded = resolve })
    this.leg = new ClientLeg({
      binding, config: side.config, metrics: side.metrics, clock: side.clock,
      onCredit: () => { this.refresh() },
      end: reason => { void this.end(reason) },
    })
  }

  /** An upstream session is open and not closed (live sessions prove the host answers). */
  get hostLive (): boolean { return this.state.kind === 'relaying' && !this.state.host.closed }

  async run (): Promise<void> {
    this.listenToClient()
    if (this.binding.session.closed) await this.end('client closed before the host session was opened')
    else await this.openAndRelay()
    await this.settled()
    this.leg.dispose()
  }

  /** Ends both legs once; resolves when both sockets are closed. */
  async end (reason: string): Promise<void> {
    if (this.leg.end(reason)) this.shutdown(reason)
    await this.settled()
  }

  private async settled (): Promise<void> {
    await this.ended
    await Promise.all([this.leg.closed, this.hostClosed])
  }

  private listenToClient (): void {
    const s = this.binding.session
    this.leg.listen(s, 'data', (d: SessionData) => { this.fromClient(d) })
    this.leg.listen(s, 'response', (r: SessionResponse) => { this.clientResponse(r) })
    this.leg.listen(s, 'attn', () => { this.hostOrUndefined()?.sendAttn() })
    this.leg.listen(s, 'sysreq', () => { this.hostOrUndefined()?.sendSysreq() })
  }

  private hostOrUndefined (): Tn3270HostSession | undefined {
    return this.state.kind === 'relaying' ? this.state.host : undefined
  }

  private async openAndRelay (): Promise<void> {
    const host = await this.open()
    if (host === undefined) return
    if (this.state.kind === 'ended') {
      host.close(this.state.reason)
      return
    }
    this.bind(host)
  }

  /** Opens the upstream session; undefined when it failed or the relay ended meanwhile (already handled). */
  private async open (): Promise<Tn3270HostSession | undefined> {
    const s = this.binding.session
    const functions: Tn3270eFunction[] = ['RESPONSES']
    const printer = this.binding.lu.printer
    // A printer asks the host for the printer function of its LU type (RFC 2355 §10.3).
    if (printer !== undefined) functions.push(printer === 'lu1' ? 'SCS-CTL-CODES' : 'DATA-STREAM-CTL')
    else if (s.functions.has('SYSREQ')) functions.push('SYSREQ')
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connect(functions)
      } catch (err) {
        if (this.mayRetry(err, attempt)) {
          this.log.info({ event: 'tn3270_resource_settling', attempt, releasedMsAgo: this.side.releasedAgo(this.binding.lu.name) }, 'host refused a resource released moments ago; retrying')
          await new Promise<void>(resolve => { this.side.clock.setTimeout(resolve, RELEASE_RETRY_MS) })
          if (this.state.kind === 'connecting') continue
          return undefined
        }
        await this.connectFailed(err)
        return undefined
      }
    }
  }

  /**
   * The host may still be tearing down the session this LU had a moment ago (Hercules frees the
   * device after closing the socket): a refusal then is not the resource's fault yet.
   */
  private mayRetry (err: unknown, attempt: number): boolean {
    const since = this.side.releasedAgo(this.binding.lu.name)
    return isHostConnectError(err) && (err.kind === 'rejected' || err.kind === 'closed-early') &&
      since < RELEASE_SETTLE_MS && attempt < 4 && this.state.kind === 'connecting'
  }

  private async connect (functions: Tn3270eFunction[]): Promise<Tn3270HostSession> {
    const { link, config } = this.side
    const resource = this.binding.lu.resource
    return await connectTn3270Host({
      host: link.host,
      port: link.port,
      tls: this.side.tls,
      connectTimeout: link.connectTimeout,
      // A printer LU is a 3287 upstream too (RFC 2355 §7.1; docs/printers.md "tn3270 links").
      terminalType: this.binding.lu.printer === undefined ? link.terminalType : PRINTER_DEVICE_TYPE,
      ...(resource === undefined ? {} : { resource }),
      luRequest: link.luRequest,
      functions,
      // The host's first screen is checked for a refusal before the client sees a byte; a
      // printer gets nothing until a job is printed, so its session is not held for one.
      firstRecordTimeout: this.binding.lu.printer === undefined ? link.connectTimeout : 0,
      logger: this.log,
      clock: this.side.clock,
      signal: this.abort.signal,
      maxRecord: config.negotiation.maxRecordSize,
      maxSubneg: config.negotiation.maxSubnegotiation,
    })
  }

  private async connectFailed (err: unknown): Promise<void> {
    const lu = this.binding.lu
    const what = lu.resource === undefined ? 'a generic session' : `resource ${lu.resource}`
    const message = errorMessage(err)
    if (isHostConnectError(err) && err.kind === 'aborted') {
      await this.end(this.leg.endReason ?? 'client closed while the host session was opening')
      return
    }
    if (isHostConnectError(err) && err.kind === 'unreachable') {
      // Not the resource's fault: a probe now decides whether the whole link is down (one slow
      // negotiation on a busy host should not take every LU away).
      this.log.warn({ event: 'tn3270_host_unreachable', reason: message }, 'host did not answer; closing the client and probing the link')
      this.side.probeNow()
      await this.end(`host unreachable for ${what}: ${message}`)
      return
    }
    // Refused (REJECT, TTYPE asked again, refusal screen), closed early or broke the protocol:
    // this resource is out of rotation for a while; the next client gets the next one.
    const kind = isHostConnectError(err) ? err.kind : 'protocol'
    this.log.warn({ event: 'tn3270_resource_refused', kind, resource: lu.resource, retryAfter: this.side.link.resourceRetryAfter, reason: message },
      `host refused ${what}; closing the client and taking LU ${lu.name} out of rotation`)
    if (lu.resource === undefined && kind === 'rejected') this.side.refuseGeneric(lu.name, message)
    else this.side.refuse(lu.name, message)
    await this.end(`host refused ${what}: ${message}`)
  }

  private bind (host: Tn3270HostSession): void {
    const gate = new CreditGate<RelayItem>({
      window: HOST_READ_WINDOW,
      clock: this.side.clock,
      stallAfter: this.side.config.pacing.stallAfter,
      onEvent: ev => {
        const { metrics } = this.side
        if (ev.type === 'credit-wait') metrics.pacingCreditWaitSeconds.observe(ev.seconds)
        else if (ev.type === 'stalled') metrics.pacingStalledSessions.inc()
        else metrics.pacingStalledSessions.dec()
      },
    })
    this.state = { kind: 'relaying', host, gate }
    this.hostClosed = new Promise(resolve => {
      if (host.socket.closed) { resolve(); return }
      host.socket.once('close', () => resolve())
    })
    this.listenToHost(host)
    host.socket.setKeepAlive(true, 60_000)
    this.startKeepAlives(host)
    this.log.info({ event: 'tn3270_host_session', mode: host.mode, device: host.device, resource: this.binding.lu.resource, terminalType: host.terminalType, functions: [...host.functions] },
      'upstream host session bound')
    host.start()
    for (const d of this.early.splice(0)) this.fromClient(d)
  }

  private listenToHost (host: Tn3270HostSession): void {
    const s = this.binding.session
    this.leg.listen(host, 'data', (d: HostData) => { this.fromHost(d) })
    // The end of a print job goes to the printer in order, after the data before it.
    this.leg.listen(host, 'printEoj', () => { this.fromHost(PRINT_EOJ) })
    this.leg.listen(host, 'response', (r: SessionResponse) => {
      const clientSeq = this.hostSeqToClient.get(r.seq)
      if (clientSeq === undefined) { this.log.debug({ event: 'tn3270_host_response_unmatched', seq: r.seq }, 'host response to nothing we asked'); return }
      this.hostSeqToClient.delete(r.seq)
      if (!s.closed) s.sendResponse(clientSeq, r.positive, r.code)
    })
    this.leg.listen(host, 'close', (reason: string) => {
      this.log.info({ event: 'tn3270_host_session_closed', reason }, 'host ended the session')
      // Was it the host going away? A probe now answers that (and takes the LUs down if so).
      if (this.leg.open) this.side.probeNow()
      void this.end(`host closed: ${reason}`)
    })
    this.leg.listen(host.socket, 'drain', () => { this.leg.releaseReads() })
  }

  private startKeepAlives (host: Tn3270HostSession): void {
    const { link, config, clock } = this.side
    if (link.keepaliveMethod !== 'none') {
      // RST through the session: a TLS socket cannot resetAndDestroy().
      const target = telnetKeepAliveTarget(host, () => { host.reset('keepalive limit toward the host') })
      this.hostKeepalive = attachKeepAlive(target, {
        method: link.keepaliveMethod,
        watchdogTimeout: link.keepaliveInterval,
        keepAliveLimit: link.keepaliveLimit,
        hardClose: false,
        gracefulCloseTimeout: config.keepalive.gracefulCloseTimeout,
      }, {
        logger: this.log.child({ leg: 'host' }),
        clock,
        client: `${link.host}:${link.port}`,
        lu: this.binding.lu.name,
        onAbort: err => { void this.end(`keepalive toward the host: ${err.message}`) },
      })
    }
    this.leg.startKeepAlive()
  }

  // ---- host -> client -------------------------------------------------------------------

  private fromHost (d: RelayItem): void {
    if (this.state.kind !== 'relaying') return
    const printer = this.binding.lu.printer !== undefined
    if (d.type !== '3270-DATA' && !(printer && (d.type === 'SCS-DATA' || d.type === 'PRINT-EOJ'))) {
      // Display sessions carry 3270 data only; SCS/NVT/SSCP-LU data has nowhere to go.
      this.log.debug({ event: 'tn3270_host_data_dropped', type: d.type }, 'host data type not relayed to this client')
      return
    }
    const { host, gate } = this.state
    if (d.type !== 'PRINT-EOJ' && d.data.length > this.largestRecord) this.largestRecord = d.data.length
    this.apply(gate.receive(d))
    if (gate.guaranteed === 0 && !gate.owed) {
      // One window read ahead: stop reading the host until the client has room (KB Q181737).
      host.pause()
      this.apply(gate.owe())
    }
    this.refresh()
  }

  private refresh (): void {
    if (this.state.kind !== 'relaying' || !this.leg.open) return
    const { gate } = this.state
    // Recompute after every delivery: a write usually reaches the kernel at once, so the credit
    // it used is back before any socket event could say so.
    for (let round = 0; round < 64 && this.leg.open; round++) {
      const credit = this.leg.credit({
        maxMessageBytes: this.largestRecord,
        window: HOST_READ_WINDOW,
        responsesOutstanding: this.clientSeqToHost.size,
        responseLimit: RESPONSE_LIMIT,
      })
      const d = gate.setAvailableCredit(credit)
      this.apply(d)
      if (d.deliver.length === 0) break
    }
    // Still short of credit: look again once what is queued now has left the process.
    if ((gate.held > 0 || gate.owed) && this.binding.session.socket.writableLength > 0) this.leg.checkCreditWhenFlushed()
  }

  private apply (d: CreditDecision<RelayItem>): void {
    for (const item of d.deliver) this.deliver(item)
    if (d.grant > 0) this.hostOrUndefined()?.resume()
  }

  private deliver (d: RelayItem): void {
    const s = this.binding.session
    const host = this.hostOrUndefined()
    if (s.closed || host === undefined) return
    if (d.type === 'PRINT-EOJ') {
      if (s.mode === 'tn3270e' && (s.functions.has('SCS-CTL-CODES') || s.functions.has('DATA-STREAM-CTL'))) s.sendPrintEoj()
      return
    }
    this.leg.hostRecordDelivered(d.data)
    // RFC 2355 §8.1.3: ALWAYS-RESPONSE asks for a definite response; ERROR-RESPONSE only for errors.
    // (Only meaningful when RESPONSES was agreed with the host; anything else is ignored.)
    const wanted = d.responseFlag === ResponseFlag.ALWAYS_RESPONSE && host.mode === 'tn3270e' && host.functions.has('RESPONSES')
    // SCS from the host stays SCS to the printer (RFC 2355 §8.1.1).
    const send = (opts: { response?: boolean }): number | undefined => d.type === 'SCS-DATA' ? s.sendScs(d.data, opts) : s.send3270(d.data, opts)
    if (wanted && s.mode === 'tn3270e' && s.functions.has('RESPONSES') && this.clientSeqToHost.size < MAX_SEQ_MAP) {
      const seq = send({ response: true })
      if (seq !== undefined) this.clientSeqToHost.set(seq, d.seq)
      return
    }
    send({})
    if (wanted) {
      // The client cannot answer (plain TN3270 or no RESPONSES): the gateway does, once the
      // record was handed to the client's socket (RFC 2355 §10.2 positive DEVICE-END).
      this.leg.afterFlush(() => { if (!host.closed) host.sendResponse(d.seq, true, ResponseCode.DEVICE_END) })
    }
  }

  private clientResponse (r: SessionResponse): void {
    const hostSeq = this.clientSeqToHost.get(r.seq)
    if (hostSeq === undefined) { this.log.debug({ event: 'tn3270_client_response_unmatched', seq: r.seq }, 'client response to nothing we asked'); return }
    this.clientSeqToHost.delete(r.seq)
    const host = this.hostOrUndefined()
    if (host !== undefined && !host.closed) host.sendResponse(hostSeq, r.positive, r.code)
    this.refresh()
  }

  // ---- client -> host -------------------------------------------------------------------

  private fromClient (d: SessionData): void {
    const { pacing } = this.side.config
    if (this.state.kind === 'ended') return
    if (this.state.kind === 'connecting') {
      // Typed before the host's first screen arrived: keep it (bounded) until the host is bound.
      if (this.early.length >= pacing.inboundQueueLimit) {
        void this.end(`client sent more than ${pacing.inboundQueueLimit} records before the host session was up`)
        return
      }
      this.early.push(d)
      return
    }
    if (d.type !== '3270-DATA') {
      this.log.debug({ event: 'tn3270_client_data_dropped', type: d.type, bytes: d.data.length }, 'client data type not relayed to the host')
      return
    }
    this.toHost(this.state.host, d)
    // Backpressure toward the client: stop reading it while the host's socket is backed up.
    if (this.state.host.socket.writableLength > pacing.highWaterMark) this.leg.holdReads()
  }

  private toHost (host: Tn3270HostSession, d: SessionData): void {
    const s = this.binding.session
    this.leg.clientRecordForwarded()
    const wanted = s.mode === 'tn3270e' && d.responseFlag === ResponseFlag.ALWAYS_RESPONSE && s.functions.has('RESPONSES')
    if (wanted && host.mode === 'tn3270e' && host.functions.has('RESPONSES') && this.hostSeqToClient.size < MAX_SEQ_MAP) {
      // A TN3270E host answers itself; its response is relayed back with the client's SEQ.
      const seq = host.send3270(d.data, { responseFlag: ResponseFlag.ALWAYS_RESPONSE })
      if (seq !== undefined) this.hostSeqToClient.set(seq, d.seq)
    } else {
      // A plain TN3270 host cannot: the gateway answers positively once the record was written
      // to the host (RFC 2355 §10.2, DEVICE-END).
      host.send3270(d.data, wanted ? { done: () => { if (!s.closed) s.sendResponse(d.seq, true, ResponseCode.DEVICE_END) } } : {})
    }
  }

  // ---- ending ---------------------------------------------------------------------------

  /** The host-side half of ending, once (the client leg has already been ended). */
  private shutdown (reason: string): void {
    const host = this.hostOrUndefined()
    if (this.state.kind === 'relaying') this.state.gate.close()
    this.state = { kind: 'ended', reason }
    if (host !== undefined) void this.hostClosed.then(() => { this.side.deviceFreed(this.binding.lu.name) })
    this.abort.abort()
    this.hostKeepalive?.stop()
    this.clientSeqToHost.clear()
    this.hostSeqToClient.clear()
    if (host !== undefined) {
      host.resume()
      if (!host.closed) host.close(reason)
    }
    this.resolveEnded(reason)
  }
}
