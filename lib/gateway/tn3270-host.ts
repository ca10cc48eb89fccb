// HostSide for a `tn3270` host link: the gateway fronts a real TN3270 host (z/OS TN3270E server,
// Hercules console server) with its LU pools, CloseListenSocket, keepalive, pacing credit and
// metrics. Each gateway LU maps to a host-side resource (LU name, device number, group) or to a
// generic session; each client session opens one upstream TN3270(E) session (hostlink/
// tn3270-client.ts) and the two legs are relayed record by record, telnet terminated on both.
//
// Availability: the LUs of this host are active while the host answers connects (a probe every
// probeInterval while no session is up; live sessions count as proof). A host that refuses a
// resource (TN3270E REJECT, TTYPE asked again, a "Connection rejected" screen, a close before
// any screen) takes that LU out of rotation for resourceRetryAfter, so the next client gets the
// next resource and the listener closes when nothing is left (seed 000). A generic session
// refused because the host is out of devices rests every free generic LU of that host until one
// of its sessions ends (a device is free again) or resourceRetryAfter passes.
//
// The upstream session is opened in serve(), after the client's negotiation (the allocator is
// synchronous by contract, docs/internals.md), but before any host byte reaches the client: the
// host's first screen is checked first, so a client is never shown a host's "no device" screen;
// a refused client is closed with a logged reason.
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { systemClock, type Clock, type Timer } from '../clock.js'
import type { GatewayConfig, GatewayHostConfig, Tn3270LinkConfig } from '../config/index.js'
import { commandHasWcc, commandName, WccBit } from '../datastream/index.js'
import { ErrorCodes, lbError } from '../errors.js'
import {
  connectTn3270Host, isHostConnectError, probeTn3270Host,
  type HostData, type Tn3270HostSession, type Tn3270TlsMaterial,
} from '../hostlink/index.js'
import { attachKeepAlive, telnetKeepAliveTarget, type KeepAliveHandle } from '../keepalive/index.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { CreditGate, creditFromClientState, type CreditDecision } from '../sna/index.js'
import { ResponseCode, ResponseFlag, type SessionData, type SessionResponse, type Tn3270eFunction } from '../tn3270/index.js'
import type { ClientBinding, HostSide } from './host-side.js'
import type { LuRegistry } from './lu-pool.js'

export interface Tn3270HostDeps {
  lus: LuRegistry
  metrics: GatewayMetrics
  logger: Logger
  config: GatewayConfig
  clock?: Clock
}

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

export function createTn3270HostSide (host: GatewayHostConfig, deps: Tn3270HostDeps): HostSide {
  if (host.link.type !== 'tn3270') throw lbError(ErrorCodes.CONFIG_INVALID, `config: hosts.${host.name}.link.type = ${JSON.stringify(host.link.type)}: expected "tn3270" here`)
  return new Tn3270HostSide(host.name, host.link, deps)
}

/** ca/cert/key: PEM text inline, or a path to a PEM file. */
export function loadTlsMaterial (hostName: string, tls: Tn3270LinkConfig['tls']): Tn3270TlsMaterial | undefined {
  if (tls === undefined) return undefined
  const read = (key: 'ca' | 'cert' | 'key'): string | Buffer | undefined => {
    const v = tls[key]
    if (v === undefined) return undefined
    if (v.includes('-----BEGIN')) return v
    try { return readFileSync(v) } catch (err) {
      throw lbError(ErrorCodes.CONFIG_INVALID, `config: hosts.${hostName}.link.tls.${key} = ${JSON.stringify(v)}: expected PEM text or a readable PEM file (${(err as Error).message})`)
    }
  }
  const out: Tn3270TlsMaterial = { rejectUnauthorized: tls.rejectUnauthorized }
  const ca = read('ca'); const cert = read('cert'); const key = read('key')
  if ((cert === undefined) !== (key === undefined)) {
    throw lbError(ErrorCodes.CONFIG_INVALID, `config: hosts.${hostName}.link.tls: a client certificate needs both cert and key`)
  }
  if (ca !== undefined) out.ca = ca
  if (cert !== undefined) out.cert = cert
  if (key !== undefined) out.key = key
  if (tls.servername !== undefined) out.servername = tls.servername
  return out
}

interface Cooldown {
  until: number
  reason: string
  timer: Timer
  /** A generic session refused because the host had no device left: ends early when one frees. */
  full: boolean
}

class Tn3270HostSide implements HostSide {
  readonly type = 'tn3270' as const
  readonly sendsBindImage = false
  private isUp = false
  /** Set by the first probe result: until then the LUs keep their initial "not up" reason. */
  private known = false
  private started = false
  private closed = false
  private probeTimer: Timer | undefined
  private probing: Promise<void> | undefined
  private lastProbe: { at: number, ok: boolean, error?: string } | undefined
  private readonly cooldown = new Map<string, Cooldown>()
  /** When the last session on each LU ended (the host may still be freeing its device). */
  private readonly released = new Map<string, number>()
  private readonly relays = new Set<Relay>()
  private readonly tls: Tn3270TlsMaterial | undefined
  private readonly clock: Clock
  private readonly log: Logger
  private readonly probeAbort = new AbortController()

  constructor (readonly name: string, readonly link: Tn3270LinkConfig, readonly deps: Tn3270HostDeps) {
    this.tls = loadTlsMaterial(name, link.tls)
    this.clock = deps.clock ?? systemClock
    this.log = deps.logger
  }

  get up (): boolean { return this.isUp }
  get address (): string { return `${this.link.host}:${this.link.port}` }

  start (): void {
    if (this.started || this.closed) return
    this.started = true
    this.deps.metrics.hostLinkUp.set({ host: this.name }, 0)
    this.probeNow()
  }

  async serve (binding: ClientBinding): Promise<void> {
    if (this.closed) {
      binding.onEnd('host side closed')
      binding.session.close('gateway host side closed')
      return
    }
    const relay = new Relay(this, binding)
    this.relays.add(relay)
    try {
      await relay.run()
    } finally {
      this.relays.delete(relay)
    }
  }

  async endAll (reason: string): Promise<void> {
    await Promise.all([...this.relays].map(async r => { await r.end(reason) }))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.probeAbort.abort()
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer)
    this.probeTimer = undefined
    for (const c of this.cooldown.values()) this.clock.clearTimeout(c.timer)
    this.cooldown.clear()
    await this.endAll('gateway host side closing')
    await this.probing
    this.deps.metrics.hostLinkUp.set({ host: this.name }, 0)
  }

  status (): Record<string, unknown> {
    const now = this.clock.now()
    return {
      address: this.address,
      tls: this.tls !== undefined,
      luRequest: this.link.luRequest,
      terminalType: this.link.terminalType,
      sessions: this.relays.size,
      refused: [...this.cooldown.entries()].map(([lu, c]) => ({ lu, reason: c.reason, retryInMs: Math.max(0, c.until - now) })),
      ...(this.lastProbe === undefined ? {} : { lastProbe: this.lastProbe }),
    }
  }

  // ---- availability --------------------------------------------------------------------

  /** The LUs of this host that are not refused right now are served while the host is up. */
  setUp (up: boolean, reason: string): void {
    if (this.closed) return
    const changed = up !== this.isUp || !this.known
    this.known = true
    this.isUp = up
    this.deps.metrics.hostLinkUp.set({ host: this.name }, up ? 1 : 0)
    const lus = this.deps.lus.luOfHost(this.name)
    if (up) {
      if (changed) this.log.info({ event: 'host_link_up', address: this.address, lus: lus.length }, 'tn3270 host link up')
      for (const lu of lus) if (!this.cooldown.has(lu.name)) this.deps.lus.activate(lu.name)
    } else {
      if (changed) this.log.warn({ event: 'host_link_down', address: this.address, reason }, 'tn3270 host link down')
      for (const lu of lus) if (lu.state !== 'unavailable' || changed) this.deps.lus.deactivate(lu.name, `host link down: ${reason}`)
    }
  }

  /** A resource the host refused stays out of rotation for resourceRetryAfter (then the next is tried). */
  refuse (luName: string, reason: string, full = false): void {
    if (this.closed) return
    const old = this.cooldown.get(luName)
    if (old !== undefined) this.clock.clearTimeout(old.timer)
    const retry = this.link.resourceRetryAfter
    const timer = this.clock.setTimeout(() => { this.retry(luName, 'resourceRetryAfter') }, retry)
    this.cooldown.set(luName, { until: this.clock.now() + retry, reason, timer, full })
    this.deps.lus.deactivate(luName, `refused by host: ${reason}`)
  }

  /**
   * The host refused a generic session for want of devices: every free generic LU of this host
   * would meet the same answer, so all of them rest (CloseListenSocket can then close instead of
   * letting each next client be refused in turn) until a session of this host ends or
   * resourceRetryAfter passes.
   */
  refuseGeneric (luName: string, reason: string): void {
    this.refuse(luName, reason, true)
    for (const lu of this.deps.lus.luOfHost(this.name)) {
      if (lu.def.resource === undefined && lu.state === 'free') this.refuse(lu.name, `${reason} (host out of devices)`, true)
    }
  }

  /** A session of this host ended: a device is free again on the host. */
  deviceFreed (luName: string): void {
    this.released.set(luName, this.clock.now())
    for (const [name, c] of [...this.cooldown]) if (c.full) this.retry(name, 'a host device was freed')
  }

  /** How long ago (ms) a session on this LU ended; Infinity if none did. */
  releasedAgo (luName: string): number {
    const at = this.released.get(luName)
    return at === undefined ? Infinity : this.clock.now() - at
  }

  private retry (luName: string, why: string): void {
    const c = this.cooldown.get(luName)
    if (c === undefined) return
    this.clock.clearTimeout(c.timer)
    this.cooldown.delete(luName)
    if (this.isUp && !this.closed) {
      this.log.info({ event: 'tn3270_resource_retry', lu: luName, why }, 'retrying a resource the host refused')
      this.deps.lus.activate(luName)
    }
  }

  /** Probe now (start, a session lost its host, a connect failed); the next one follows every probeInterval. */
  probeNow (): void {
    if (this.closed || this.probing !== undefined) return
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer)
    this.probeTimer = undefined
    this.probing = this.probe().finally(() => {
      this.probing = undefined
      this.scheduleProbe()
    })
  }

  private scheduleProbe (): void {
    if (this.closed || this.probeTimer !== undefined) return
    this.probeTimer = this.clock.setTimeout(() => {
      this.probeTimer = undefined
      // Live upstream sessions prove the host answers: probe only while none is up (or while
      // the link is down, so that one lingering session cannot hold it up against a failed probe).
      if (this.isUp && this.liveSessions() > 0) { this.scheduleProbe(); return }
      this.probeNow()
    }, this.link.probeInterval)
  }

  private async probe (): Promise<void> {
    try {
      await probeTn3270Host({ host: this.link.host, port: this.link.port, tls: this.tls, connectTimeout: this.link.connectTimeout, clock: this.clock, signal: this.probeAbort.signal })
      this.lastProbe = { at: this.clock.now(), ok: true }
      this.setUp(true, 'probe connected')
    } catch (err) {
      if (this.closed) return
      const message = err instanceof Error ? err.message : String(err)
      this.lastProbe = { at: this.clock.now(), ok: false, error: message }
      this.setUp(false, message)
    }
  }

  private liveSessions (): number {
    let n = 0
    for (const r of this.relays) if (r.hostLive) n++
    return n
  }

  // For Relay.
  get clockRef (): Clock { return this.clock }
  get tlsMaterial (): Tn3270TlsMaterial | undefined { return this.tls }
  get isClosed (): boolean { return this.closed }
}

/** One client session bound to one upstream host session. */
class Relay {
  private host: Tn3270HostSession | undefined
  private readonly binding: ClientBinding
  private readonly side: Tn3270HostSide
  private readonly session: ClientBinding['session']
  private readonly log: Logger
  private readonly clock: Clock
  private readonly abort = new AbortController()
  private ending: string | undefined
  private endCalled = false
  private readonly early: SessionData[] = []
  private readonly keepalives: KeepAliveHandle[] = []
  private gate: CreditGate<HostData> | undefined
  private largestRecord = TYPICAL_RECORD_BYTES
  /** Host SEQ of a host record forwarded with ALWAYS-RESPONSE, by the client SEQ we used. */
  private readonly clientSeqToHost = new Map<number, number>()
  /** Client SEQ of a client record forwarded with ALWAYS-RESPONSE, by the host SEQ we used. */
  private readonly hostSeqToClient = new Map<number, number>()
  private awaitingReplySince: number | undefined
  private clientClosed: Promise<void>
  private hostClosed: Promise<void> = Promise.resolve()
  private clientPausedForHost = false
  private flushWatch = false

  constructor (side: Tn3270HostSide, binding: ClientBinding) {
    this.side = side
    this.binding = binding
    this.session = binding.session
    this.log = binding.logger
    this.clock = side.clockRef
    this.clientClosed = new Promise(resolve => {
      if (this.session.socket.closed) { resolve(); return }
      this.session.socket.once('close', () => resolve())
    })
  }

  get hostLive (): boolean { return this.host !== undefined && !this.host.closed }

  async run (): Promise<void> {
    const s = this.session
    s.on('data', d => { this.fromClient(d) })
    s.on('response', r => { this.clientResponse(r) })
    s.on('attn', () => { this.host?.sendAttn() })
    s.on('sysreq', () => { this.host?.sendSysreq() })
    s.on('close', reason => { this.end(`client closed: ${reason}`).catch(() => {}) })
    if (s.closed) { await this.end('client closed before the host session was opened'); return }

    const functions: Tn3270eFunction[] = ['RESPONSES']
    if (s.functions.has('SYSREQ')) functions.push('SYSREQ')
    let host: Tn3270HostSession | undefined
    for (let attempt = 1; host === undefined; attempt++) {
      try {
        host = await this.connect(functions)
      } catch (err) {
        // The host may still be tearing down the session this LU had a moment ago (Hercules frees
        // the device after closing the socket): a refusal then is not the resource's fault yet.
        const since = this.side.releasedAgo(this.binding.lu.name)
        if (isHostConnectError(err) && (err.kind === 'rejected' || err.kind === 'closed-early') && since < RELEASE_SETTLE_MS && attempt < 4 && this.ending === undefined) {
          this.log.info({ event: 'tn3270_resource_settling', attempt, releasedMsAgo: since }, 'host refused a resource released moments ago; retrying')
          await new Promise<void>(resolve => { this.clock.setTimeout(resolve, RELEASE_RETRY_MS) })
          if (this.ending === undefined) continue
          await this.end(this.ending)
          return
        }
        await this.connectFailed(err)
        return
      }
    }
    if (this.ending !== undefined) {
      host.close(this.ending)
      await this.end(this.ending)
      return
    }
    this.bind(host)
    await this.end(await this.finished())
  }

  private async connect (functions: Tn3270eFunction[]): Promise<Tn3270HostSession> {
    const link = this.side.link
    const cfg = this.side.deps.config
    const resource = this.binding.lu.resource
    return await connectTn3270Host({
        host: link.host,
        port: link.port,
        tls: this.side.tlsMaterial,
        connectTimeout: link.connectTimeout,
        terminalType: link.terminalType,
        ...(resource === undefined ? {} : { resource }),
        luRequest: link.luRequest,
        functions,
        // The host's first screen is checked for a refusal before the client sees a byte.
        firstRecordTimeout: link.connectTimeout,
        logger: this.log,
        clock: this.clock,
        signal: this.abort.signal,
        maxRecord: cfg.negotiation.maxRecordSize,
        maxSubneg: cfg.negotiation.maxSubnegotiation,
      })
  }

  private finishedResolve: ((reason: string) => void) | undefined
  private finished (): Promise<string> {
    return new Promise(resolve => {
      if (this.ending !== undefined) { resolve(this.ending); return }
      this.finishedResolve = resolve
    })
  }

  private async connectFailed (err: unknown): Promise<void> {
    const lu = this.binding.lu
    const what = lu.resource === undefined ? 'a generic session' : `resource ${lu.resource}`
    const message = err instanceof Error ? err.message : String(err)
    if (isHostConnectError(err) && err.kind === 'aborted') {
      await this.end(this.ending ?? 'client closed while the host session was opening')
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
    this.host = host
    const s = this.session
    const cfg = this.side.deps.config
    const metrics = this.side.deps.metrics
    this.hostClosed = new Promise(resolve => {
      if (host.socket.closed) { resolve(); return }
      host.socket.once('close', () => resolve())
    })
    host.on('data', d => { this.fromHost(d) })
    host.on('response', r => {
      const clientSeq = this.hostSeqToClient.get(r.seq)
      if (clientSeq === undefined) { this.log.debug({ event: 'tn3270_host_response_unmatched', seq: r.seq }, 'host response to nothing we asked'); return }
      this.hostSeqToClient.delete(r.seq)
      if (!s.closed) s.sendResponse(clientSeq, r.positive, r.code)
    })
    host.on('close', reason => {
      this.log.info({ event: 'tn3270_host_session_closed', reason }, 'host ended the session')
      // Was it the host going away? A probe now answers that (and takes the LUs down if so).
      if (this.ending === undefined) this.side.probeNow()
      this.end(`host closed: ${reason}`).catch(() => {})
    })
    host.socket.setKeepAlive(true, 60_000)
    host.socket.on('drain', () => { this.resumeClient() })
    s.socket.on('drain', () => { this.refresh() })

    this.gate = new CreditGate<HostData>({
      window: HOST_READ_WINDOW,
      clock: this.clock,
      stallAfter: cfg.pacing.stallAfter,
      onEvent: ev => {
        if (ev.type === 'credit-wait') metrics.pacingCreditWaitSeconds.observe(ev.seconds)
        else if (ev.type === 'stalled') metrics.pacingStalledSessions.inc()
        else metrics.pacingStalledSessions.dec()
      },
    })

    const link = this.side.link
    const hostAddr = `${link.host}:${link.port}`
    if (link.keepaliveMethod !== 'none') {
      // RST through the session: a TLS socket cannot resetAndDestroy().
      const target = { ...telnetKeepAliveTarget(host), reset: () => { host.reset('keepalive limit toward the host') } }
      this.keepalives.push(attachKeepAlive(target, {
        method: link.keepaliveMethod,
        watchdogTimeout: link.keepaliveInterval,
        keepAliveLimit: link.keepaliveLimit,
        hardClose: false,
        gracefulCloseTimeout: cfg.keepalive.gracefulCloseTimeout,
      }, {
        logger: this.log.child({ leg: 'host' }),
        clock: this.clock,
        client: hostAddr,
        lu: this.binding.lu.name,
        onAbort: err => { this.end(`keepalive toward the host: ${err.message}`).catch(() => {}) },
      }))
    }
    if (cfg.keepalive.method !== 'none') {
      this.keepalives.push(attachKeepAlive(telnetKeepAliveTarget(s), cfg.keepalive, {
        logger: this.log, metrics, clock: this.clock, client: s.client, lu: this.binding.lu.name,
      }))
    }
    this.log.info({ event: 'tn3270_host_session', mode: host.mode, device: host.device, resource: this.binding.lu.resource, terminalType: host.terminalType, functions: [...host.functions] },
      'upstream host session bound')
    host.start()
    for (const d of this.early.splice(0)) this.fromClient(d)
  }

  // ---- host -> client -------------------------------------------------------------------

  private fromHost (d: HostData): void {
    if (this.ending !== undefined) return
    if (d.type !== '3270-DATA') {
      // Display sessions carry 3270 data only; SCS/NVT/SSCP-LU data has nowhere to go.
      this.log.debug({ event: 'tn3270_host_data_dropped', type: d.type, bytes: d.data.length }, 'host data type not relayed to a display client')
      return
    }
    const gate = this.gate!
    if (d.data.length > this.largestRecord) this.largestRecord = d.data.length
    this.apply(gate.receive(d))
    if (gate.guaranteed === 0 && !gate.owed) {
      // One window read ahead: stop reading the host until the client has room (seed 003).
      this.host!.pause()
      this.apply(gate.owe())
    }
    this.refresh()
  }

  private refresh (): void {
    const gate = this.gate
    if (gate === undefined || this.ending !== undefined) return
    const s = this.session
    // Recompute after every delivery: a write usually reaches the kernel at once, so the credit
    // it used is back before any socket event could say so.
    for (let round = 0; round < 64 && this.ending === undefined; round++) {
      const credit = creditFromClientState({
        queuedBytes: s.socket.writableLength,
        highWaterMark: this.side.deps.config.pacing.highWaterMark,
        maxMessageBytes: this.largestRecord,
        window: HOST_READ_WINDOW,
        responsesOutstanding: this.clientSeqToHost.size,
        responseLimit: RESPONSE_LIMIT,
      })
      const d = gate.setAvailableCredit(credit)
      this.apply(d)
      if (d.deliver.length === 0) break
    }
    // Still short of credit: look again once what is queued now has reached the kernel. ('drain'
    // alone is not enough: it only follows a write that went over the socket's own high-water mark.)
    if ((gate.held > 0 || gate.owed) && !this.flushWatch && s.socket.writableLength > 0) {
      this.flushWatch = true
      afterWrite(s.socket, () => { this.flushWatch = false; this.refresh() })
    }
  }

  private apply (d: CreditDecision<HostData>): void {
    for (const item of d.deliver) this.deliver(item)
    if (d.grant > 0) this.host?.resume()
  }

  private deliver (d: HostData): void {
    const s = this.session
    const host = this.host!
    if (s.closed) return
    if (this.awaitingReplySince !== undefined && unlocksKeyboard(d.data)) {
      // RFC 2562 response time: client inbound record to the host reply that unlocks the keyboard.
      this.side.deps.metrics.responseTimeSeconds.observe({ pool: this.binding.lease.pool }, (this.clock.now() - this.awaitingReplySince) / 1000)
      this.awaitingReplySince = undefined
    }
    // RFC 2355 §8.1.3: ALWAYS-RESPONSE asks for a definite response; ERROR-RESPONSE only for errors.
    // (Only meaningful when RESPONSES was agreed with the host; anything else is ignored.)
    const wanted = d.responseFlag === ResponseFlag.ALWAYS_RESPONSE && host.mode === 'tn3270e' && host.functions.has('RESPONSES')
    if (wanted && s.mode === 'tn3270e' && s.functions.has('RESPONSES') && this.clientSeqToHost.size < MAX_SEQ_MAP) {
      const seq = s.send3270(d.data, { response: true })
      if (seq !== undefined) this.clientSeqToHost.set(seq, d.seq)
      return
    }
    s.send3270(d.data)
    if (wanted) {
      // The client cannot answer (plain TN3270 or no RESPONSES): the gateway does, once the
      // record was handed to the client's socket (RFC 2355 §10.2 positive DEVICE-END).
      afterWrite(s.socket, () => { if (!host.closed) host.sendResponse(d.seq, true, ResponseCode.DEVICE_END) })
    }
  }

  private clientResponse (r: SessionResponse): void {
    const hostSeq = this.clientSeqToHost.get(r.seq)
    if (hostSeq === undefined) { this.log.debug({ event: 'tn3270_client_response_unmatched', seq: r.seq }, 'client response to nothing we asked'); return }
    this.clientSeqToHost.delete(r.seq)
    const host = this.host
    if (host !== undefined && !host.closed) host.sendResponse(hostSeq, r.positive, r.code)
    this.refresh()
  }

  // ---- client -> host -------------------------------------------------------------------

  private fromClient (d: SessionData): void {
    if (this.ending !== undefined) return
    const host = this.host
    if (host === undefined) {
      // Typed before the host's first screen arrived: keep it (bounded) until the host is bound.
      if (this.early.length >= this.side.deps.config.pacing.inboundQueueLimit) {
        this.end(`client sent more than ${this.side.deps.config.pacing.inboundQueueLimit} records before the host session was up`).catch(() => {})
        return
      }
      this.early.push(d)
      return
    }
    if (d.type !== '3270-DATA') {
      this.log.debug({ event: 'tn3270_client_data_dropped', type: d.type, bytes: d.data.length }, 'client data type not relayed to the host')
      return
    }
    const s = this.session
    this.awaitingReplySince = this.clock.now()
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
    // Backpressure toward the client: stop reading it while the host's socket is backed up.
    if (host.socket.writableLength > this.side.deps.config.pacing.highWaterMark && !this.clientPausedForHost) {
      this.clientPausedForHost = true
      s.socket.pause()
    }
  }

  private resumeClient (): void {
    if (!this.clientPausedForHost) return
    this.clientPausedForHost = false
    this.session.socket.resume()
  }

  // ---- ending ---------------------------------------------------------------------------

  /** Ends both legs once; resolves when both sockets are closed. */
  async end (reason: string): Promise<void> {
    if (this.ending === undefined) {
      this.ending = reason
      if (this.host !== undefined) this.hostClosed.then(() => { this.side.deviceFreed(this.binding.lu.name) }, () => {})
      this.abort.abort()
      for (const k of this.keepalives.splice(0)) k.stop()
      this.gate?.close()
      this.clientSeqToHost.clear()
      this.hostSeqToClient.clear()
      this.host?.resume()
      if (this.host !== undefined && !this.host.closed) this.host.close(reason)
      if (!this.session.closed) this.session.close(reason)
      this.finishedResolve?.(reason)
    }
    if (!this.endCalled) {
      this.endCalled = true
      this.binding.onEnd(this.ending)
    }
    await Promise.all([this.clientClosed, this.hostClosed])
  }
}

/** Host records whose WCC has Keyboard Restore end a transaction (GA23-0059 WCC bit 6). */
function unlocksKeyboard (data: Buffer): boolean {
  if (data.length < 2) return false
  const cmd = commandName(data[0]!)
  return cmd !== undefined && commandHasWcc(cmd) && (data[1]! & WccBit.KEYBOARD_RESTORE) !== 0
}

/** Runs `fn` once everything written to `socket` so far was handed to the kernel. */
function afterWrite (socket: Socket, fn: () => void): void {
  if (socket.destroyed) return
  socket.write(Buffer.alloc(0), () => { try { fn() } catch { /* the peer went away meanwhile */ } })
}
