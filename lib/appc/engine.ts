// APPC engine (gateway side, the PLU of every session it binds): sessions per (local LU, partner
// LU, mode), CNOS, contention winners/losers, allocation queue, SESTIMEOUT, BIND-failure recovery
// (KB Q107866) and conversations. Decisions come from the pure modules (limits.ts, recovery.ts,
// cnos.ts); this file does the I/O and the bookkeeping.
import { ErrorCodes, Tn3270LbError, errorMessage, lbError } from '../errors.js'
import { systemClock, type Clock, type Timer } from '../clock.js'
import type { AppcConfig } from '../config/index.js'
import type { GatewayMetrics, Logger } from '../observability/index.js'
import { decodePiu, Sense, UnbindType, type BindImage, type LuLuEvent, type Piu, type ResponseEvent } from './sna.js'
import { buildBind, encodeBind, lu62Bind, lu62BindSense, maxRu } from './bind62.js'
import { CNOS_TP, SNASVCMG, acceptCnosReply, checkRequestedLimits, decodeCnos, encodeCnos, type CnosLimits } from './cnos.js'
import { attach, type ConversationType } from './fmh.js'
import { afterConversation, canActivate, chooseActivation, pickFreeSession, type ModeLimits, type Polarity } from './limits.js'
import { decideRecovery, failureLabel, recoveryStep, senseHex, type BindFailure, type RecoveryPhase } from './recovery.js'
import { Conversation, Lu62Session, conversationError, receiveAll, type Chain, type ConversationEnd } from './session.js'
import type { AppcTransport } from './transport.js'

export interface AppcEngineOptions {
  /** The gateway config's `appc` section. */
  config: AppcConfig
  /** Local LU name for partners that do not name their own `localLu`. */
  localLu: string
  transport: AppcTransport
  logger: Logger
  metrics?: GatewayMetrics
  clock?: Clock
}

export interface AllocateRequest {
  partner: string
  mode: string
  tp: string
  type?: ConversationType
  syncLevel?: 'none' | 'confirm'
  /** Overrides appc.allocateTimeout (ms) for this request. */
  timeoutMs?: number
}

export type CnosTrigger = 'start_of_day' | 'operator' | 'recovery'

export interface CnosResult {
  partner: string
  mode: string
  trigger: CnosTrigger
  requested: CnosLimits
  limits: ModeLimits
  negotiated: boolean
}

export interface ApingResult {
  partner: string
  mode: string
  size: number
  count: number
  allocateMs: number
  rttMs: number[]
  minMs: number
  avgMs: number
  maxMs: number
}

export interface SessionInfo {
  id: number
  lfsid: string
  polarity: Polarity
  state: 'pending' | 'bound' | 'in_use'
  autoActivated: boolean
  tp: string | undefined
  idleMs: number | undefined
}

export interface ModeInfo {
  partner: string
  partnerLu: string
  localLu: string
  host: string
  mode: string
  linkUp: boolean
  configured: ModeLimits
  negotiated: ModeLimits | undefined
  recovery: RecoveryPhase
  waiting: number
  sessions: SessionInfo[]
}

type SessionState = 'pending' | 'free' | 'in_use'

interface GwSession {
  id: number
  key: string
  partner: PartnerState
  /** undefined = the SNASVCMG service session. */
  mode: ModeState | undefined
  polarity: Polarity
  state: SessionState
  autoActivated: boolean
  lastUsed: number
  idleTimer: Timer | undefined
  idleSince: number | undefined
  hs: Lu62Session
  conversation: Conversation | undefined
  bind: { resolve: () => void, reject: (e: Error) => void } | undefined
  bid: { snf: number, resolve: () => void, reject: (e: Error) => void } | undefined
}

interface Waiter {
  wake: (s: GwSession | undefined) => void
  fail: (e: Error) => void
}

interface ModeState {
  partner: PartnerState
  name: string
  configured: ModeLimits
  autoActivate: number
  limits: ModeLimits | undefined
  sessions: Set<GwSession>
  waiters: Waiter[]
  cnos: Promise<CnosResult> | undefined
  recovery: RecoveryPhase
}

interface PartnerState {
  name: string
  host: string
  localLu: string
  up: boolean
  modes: Map<string, ModeState>
  svc: GwSession | undefined
  svcBinding: Promise<GwSession> | undefined
  cnosChain: Promise<unknown>
}

/** A BIND the partner refused (-RSP or UNBIND): what recovery (KB Q107866) decides on. */
class BindFailedError extends Tn3270LbError {
  constructor (readonly failure: BindFailure) { super(ErrorCodes.APPC_ALLOCATION, `BIND failed: ${failureLabel(failure)}`) }
}

function allocationError (message: string): Tn3270LbError { return lbError(ErrorCodes.APPC_ALLOCATION, message) }

export class AppcEngine {
  private readonly cfg: AppcConfig
  private readonly log: Logger
  private readonly clock: Clock
  private readonly metrics: GatewayMetrics | undefined
  private readonly transport: AppcTransport
  private readonly partners = new Map<string, PartnerState>()
  private readonly byKey = new Map<string, GwSession>()
  private nextAddress = 0
  private nextSessionId = 1
  private closed = false

  constructor (opts: AppcEngineOptions) {
    this.cfg = opts.config
    this.log = opts.logger
    this.clock = opts.clock ?? systemClock
    this.metrics = opts.metrics
    this.transport = opts.transport
    for (const p of opts.config.partners) {
      const ps: PartnerState = { name: p.name, host: p.host, localLu: p.localLu ?? opts.localLu, up: false, modes: new Map(), svc: undefined, svcBinding: undefined, cnosChain: Promise.resolve() }
      for (const m of p.modes) {
        const configured = { sessionLimit: m.sessionLimit, minWinners: m.minWinners, minPartnerWinners: m.minPartnerWinners }
        const bad = checkRequestedLimits({ sessionLimit: m.sessionLimit, sourceWinners: m.minWinners, targetWinners: m.minPartnerWinners })
        if (bad !== undefined) throw lbError(ErrorCodes.APPC_CNOS, `appc.partners[${p.name}].modes[${m.name}]: ${bad}`)
        ps.modes.set(m.name.toUpperCase(), { partner: ps, name: m.name.toUpperCase(), configured, autoActivate: m.autoActivate, limits: undefined, sessions: new Set(), waiters: [], cnos: undefined, recovery: 'normal' })
      }
      this.partners.set(p.name, ps)
    }
  }

  // ------------------------------------------------------------------ link events

  /** The host link to `host` (all hosts when omitted) came up: start-of-day CNOS for its modes. */
  linkUp (host?: string): void {
    for (const ps of this.partners.values()) {
      if (host !== undefined && ps.host !== host) continue
      ps.up = true
      for (const ms of ps.modes.values()) {
        ms.recovery = recoveryStep(ms.recovery, 'link_restart')
        this.ensureCnos(ms, 'start_of_day').catch(() => { /* logged and counted in runCnos */ })
      }
    }
  }

  /** The host link went down: every session on it is gone; limits stay (KB Q107866). */
  linkDown (host?: string): void {
    for (const ps of this.partners.values()) {
      if (host !== undefined && ps.host !== host) continue
      ps.up = false
      const err = allocationError(`host link to ${ps.host} (partner ${ps.name}) went down`)
      for (const s of [...this.byKey.values()]) if (s.partner === ps) this.drop(s, err)
      // a CNOS or SNASVCMG BIND in flight fails with the link; the next link up starts afresh
      ps.svcBinding = undefined
      for (const ms of ps.modes.values()) { ms.cnos = undefined; this.failWaiters(ms, err) }
    }
  }

  /** A PIU with ODAI = 1 from the link to `host`. Malformed PIUs are logged and dropped. */
  receive (buf: Buffer, host?: string): void {
    let piu: Piu
    try { piu = decodePiu(buf) } catch (err) {
      this.log.warn({ err, host }, 'appc: undecodable PIU dropped')
      return
    }
    // gateway sent DAF'=sidh OAF'=sidl; the partner answers with them swapped
    const s = this.byKey.get(`${piu.th.oaf}.${piu.th.daf}`)
    if (s === undefined || (host !== undefined && s.partner.host !== host)) {
      this.log.debug({ host, daf: piu.th.daf, oaf: piu.th.oaf }, 'appc: PIU for no session dropped')
      return
    }
    try { this.onPiu(s, piu) } catch (err) {
      this.log.warn({ err, partner: s.partner.name, lfsid: s.key }, 'appc: protocol error, session unbound')
      this.unbind(s, UnbindType.SESSION_FAILURE, Sense.FMH_LENGTH_WRONG)
    }
  }

  private onPiu (s: GwSession, piu: Piu): void {
    if (piu.rh === undefined) throw lbError(ErrorCodes.APPC_MALFORMED, 'segmented PIUs are not used on LU 6.2 sessions here')
    s.hs.receive(piu)
  }

  /** What the half-session under a gateway session reports besides conversation chains. */
  private onSessionEvent (s: GwSession, ev: LuLuEvent): void {
    switch (ev.type) {
      case 'bind': this.bound(s, ev.bind); return
      case 'bind-rejected': {
        const b = s.bind
        s.bind = undefined
        // local: the partner's +RSP(BIND) image did not decode (the half-session unbinds with type 06)
        b?.reject(ev.local ? allocationError(`partner ${s.partner.name} answered BIND with a ${ev.reason}`) : new BindFailedError({ kind: 'negative', sense: ev.sense }))
        return
      }
      case 'unbind':
        if (!ev.local) this.unbound(s, ev.unbindType, ev.sense)
        return
      case 'response': this.response(s, ev); return
      case 'request':
        // the gateway binds every session itself and starts every conversation: not supported (1003)
        s.hs.respond(ev.snf, Sense.FUNCTION_NOT_SUPPORTED)
        return
      case 'protocol-error':
        this.log.debug({ partner: s.partner.name, lfsid: s.key, reason: ev.reason }, 'appc: protocol error on a session')
        return
      default:
    }
  }

  /** +RSP(BIND): the image carries the negotiated values (bytes 10/11 = RU sizes, KB Q185503). */
  private bound (s: GwSession, image: BindImage): void {
    const b = s.bind
    s.bind = undefined
    const sense = lu62BindSense(image)
    if (sense !== undefined) {
      b?.reject(allocationError(`partner ${s.partner.name} answered BIND with a malformed +RSP: not an LU 6.2 BIND image (sense ${senseHex(sense)})`))
      this.unbind(s, UnbindType.SESSION_FAILURE, Sense.INVALID_PARAMETER)
      return
    }
    s.hs.maxRu = maxRu(lu62Bind(image), 'primary')
    b?.resolve()
  }

  private unbound (s: GwSession, type: number, sense: number | undefined): void {
    if (s.bind !== undefined) {
      const b = s.bind
      s.bind = undefined
      b.reject(new BindFailedError({ kind: 'unbind', type }))
      return
    }
    this.log.info({ event: 'appc_unbind_received', partner: s.partner.name, mode: s.mode?.name ?? SNASVCMG, type, sense: sense === undefined ? undefined : senseHex(sense) }, 'appc: partner unbound a session')
    this.drop(s, conversationError(`partner ${s.partner.name} unbound the session (UNBIND type X'${type.toString(16).toUpperCase().padStart(2, '0')}')`, sense))
  }

  private response (s: GwSession, ev: ResponseEvent): void {
    if (ev.request === 'BID' && s.bid !== undefined && s.bid.snf === ev.snf) {
      const b = s.bid
      s.bid = undefined
      if (ev.positive) b.resolve()
      else b.reject(allocationError(`partner refused BID on a contention-loser session (sense ${senseHex(ev.sense!)})`))
      return
    }
    // -RSP 0846 0000 = "ERP message forthcoming" before an FMH-7 (KB Q156083); other -RSPs to data end the conversation
    if (!ev.positive && !ev.expedited && ev.request === 'DATA' && ev.sense !== Sense.ERP_MESSAGE_FORTHCOMING) {
      s.conversation?.sessionLost(conversationError(`partner sent a negative response on the conversation with ${s.conversation.tp}`, ev.sense))
    }
  }

  private onChain (s: GwSession, c: Chain): void {
    if (s.conversation !== undefined) { s.conversation.deliver(c); return }
    // partner-initiated conversations are not served by the gateway: TP not available, no retry
    if (c.fmh5 !== undefined) s.hs.respond(c.lastSnf, Sense.TP_NOT_AVAILABLE_NO_RETRY)
  }

  // ------------------------------------------------------------------ sessions

  /**
   * Writes a PIU on the partner's link. A link that is going down refuses writes (it throws) before
   * its `down` event reaches linkDown(); the PIU is lost with the link, and linkDown() then fails
   * whatever waited for an answer (a BIND, a BID, a confirmation), so a throw must not escape
   * here: it would leave a registered session's BIND promise unawaited (unhandled rejection).
   */
  private send (piu: Buffer, ps: PartnerState): void {
    try {
      this.transport.send(piu, ps.host)
    } catch (err) {
      this.log.debug({ err, partner: ps.name, host: ps.host }, 'appc: PIU not sent, the host link is going down')
    }
  }

  private newSession (ps: PartnerState, ms: ModeState | undefined, polarity: Polarity, autoActivated: boolean): GwSession {
    let sidh = 0
    let sidl = 0
    let key = ''
    for (let tries = 0; tries < 65025; tries++) {
      this.nextAddress = (this.nextAddress + 1) % 65025
      sidh = 1 + Math.floor(this.nextAddress / 255)
      sidl = 1 + (this.nextAddress % 255)
      key = `${sidh}.${sidl}`
      if (!this.byKey.has(key)) break
    }
    if (this.byKey.has(key)) throw allocationError('no free local-form session identifiers')
    const s: GwSession = {
      id: this.nextSessionId++,
      key,
      partner: ps,
      mode: ms,
      polarity,
      state: 'pending',
      autoActivated,
      lastUsed: this.clock.now(),
      idleTimer: undefined,
      idleSince: undefined,
      hs: undefined as unknown as Lu62Session,
      conversation: undefined,
      bind: undefined,
      bid: undefined,
    }
    // the gateway is the primary: it sends DAF' = sidh, OAF' = sidl
    s.hs = new Lu62Session({ role: 'primary', localAddress: sidl, remoteAddress: sidh, maxRu: 1024 }, {
      send: (piu) => { this.send(piu, ps) },
      chain: (c) => { this.onChain(s, c) },
      event: (ev) => { this.onSessionEvent(s, ev) },
    })
    this.byKey.set(key, s)
    ms?.sessions.add(s)
    return s
  }

  /** Sends a BIND and resolves when the partner answered +RSP(BIND). */
  private async bind (ps: PartnerState, ms: ModeState | undefined, polarity: Polarity, autoActivated: boolean): Promise<GwSession> {
    if (!ps.up) throw allocationError(`host link to ${ps.host} (partner ${ps.name}) is down`)
    const s = this.newSession(ps, ms, polarity, autoActivated)
    this.gauge(ms, ps)
    const modeName = ms?.name ?? SNASVCMG
    // GA27-3136 BIND/SC31-6808 contention: byte 7 bit 3 = 1 → the primary (this gateway) is the contention winner
    const image = buildBind({ plu: ps.localLu, slu: ps.name, mode: modeName, primaryWinner: polarity === 'winner', ruSize: 1024 })
    const done = new Promise<void>((resolve, reject) => { s.bind = { resolve, reject } })
    s.hs.sendBind(image.image, encodeBind(image))
    try {
      await done
    } catch (err) {
      this.forget(s)
      throw err
    }
    s.state = 'free'
    this.gauge(ms, ps)
    return s
  }

  private forget (s: GwSession): void {
    if (s.idleTimer !== undefined) this.clock.clearTimeout(s.idleTimer)
    s.idleTimer = undefined
    this.byKey.delete(s.key)
    s.mode?.sessions.delete(s)
    if (s.partner.svc === s) s.partner.svc = undefined
    this.gauge(s.mode, s.partner)
  }

  /** The session is gone (UNBIND received, link down): fail what used it, free its slot. */
  private drop (s: GwSession, err: Error): void {
    if (!this.byKey.has(s.key)) return
    this.forget(s)
    if (s.bind !== undefined) { const b = s.bind; s.bind = undefined; b.reject(err) }
    if (s.bid !== undefined) { const b = s.bid; s.bid = undefined; b.reject(err) }
    s.hs.fail(err)
    s.conversation?.sessionLost(err)
    s.conversation = undefined
    if (s.mode !== undefined) this.wakeOne(s.mode)
  }

  /** Gateway-initiated UNBIND (SESTIMEOUT, cleanup, lowered limits, close). */
  private unbind (s: GwSession, type: number, sense?: number): void {
    if (!this.byKey.has(s.key)) return
    if (s.partner.up) s.hs.sendUnbind(type, type === UnbindType.SESSION_FAILURE ? sense ?? 0 : undefined)
    this.drop(s, conversationError(`session unbound by the gateway (UNBIND type X'${type.toString(16).toUpperCase().padStart(2, '0')}')`, sense))
  }

  private gauge (ms: ModeState | undefined, ps: PartnerState): void {
    if (this.metrics === undefined) return
    const sessions = ms !== undefined ? [...ms.sessions] : (ps.svc !== undefined ? [ps.svc] : [])
    for (const polarity of ['winner', 'loser'] as const) {
      for (const [state, internal] of [['pending', 'pending'], ['bound', 'free'], ['in_use', 'in_use']] as const) {
        this.metrics.appcSessions.set({ partner: ps.name, mode: ms?.name ?? SNASVCMG, polarity, state }, sessions.filter(s => s.polarity === polarity && s.state === internal).length)
      }
    }
  }

  /** Application sessions bound (not pending) to the partner: "active sessions on the connection" (KB Q107866). */
  private activeSessions (ps: PartnerState): number {
    let n = 0
    for (const ms of ps.modes.values()) for (const s of ms.sessions) if (s.state !== 'pending') n++
    return n
  }

  private counts (ms: ModeState): { winners: number, losers: number } {
    let winners = 0
    let losers = 0
    for (const s of ms.sessions) { if (s.polarity === 'winner') winners++; else losers++ }
    return { winners, losers }
  }

  // ------------------------------------------------------------------ allocation

  private mode (partner: string, mode: string): ModeState {
    const ps = this.partners.get(partner)
    if (ps === undefined) throw lbError(ErrorCodes.APPC_API, `unknown APPC partner '${partner}' (configured: ${[...this.partners.keys()].join(', ') || 'none'})`)
    const ms = ps.modes.get(mode.toUpperCase())
    if (ms === undefined) throw lbError(ErrorCodes.APPC_API, `partner ${partner} has no mode '${mode}' (configured: ${[...ps.modes.keys()].join(', ') || 'none'})`)
    return ms
  }

  /** ALLOCATE: a conversation with `tp` at the partner on a session of `mode`. */
  async allocate (req: AllocateRequest): Promise<Conversation> {
    if (this.closed) throw allocationError('APPC engine is closed')
    const ms = this.mode(req.partner, req.mode)
    const ps = ms.partner
    if (!ps.up) throw allocationError(`host link to ${ps.host} (partner ${ps.name}) is down`)
    // KB Q107866: after a failed renegotiation nothing more is tried "until the connection is
    // restarted or the SNA Server application retries" — a new ALLOCATE is such a retry
    ms.recovery = recoveryStep(ms.recovery, 'application_retry')
    const deadline = this.clock.now() + (req.timeoutMs ?? this.cfg.allocateTimeout)
    const s = await this.acquire(ms, deadline)
    const type = req.type ?? 'mapped'
    const syncLevel = req.syncLevel ?? 'none'
    const conv = new Conversation(s.hs, {
      type,
      syncLevel,
      tp: req.tp,
      attach: attach(req.tp, type, syncLevel),
      state: 'send',
      onEnd: (end) => { this.conversationEnded(s, conv, end) },
      cleanup: () => { this.unbind(s, UnbindType.CLEANUP) },
    })
    s.conversation = conv
    if (s.polarity === 'loser') {
      // SC31-6808 contention: the contention loser must BID before it begins a bracket
      try {
        await new Promise<void>((resolve, reject) => { s.bid = { snf: s.hs.sendBid(), resolve, reject } })
      } catch (err) {
        s.conversation = undefined
        if (this.byKey.has(s.key)) this.release(s)
        throw err
      }
    }
    return conv
  }

  private take (s: GwSession): GwSession {
    if (s.idleTimer !== undefined) this.clock.clearTimeout(s.idleTimer)
    s.idleTimer = undefined
    s.idleSince = undefined
    s.state = 'in_use'
    s.lastUsed = this.clock.now()
    this.gauge(s.mode, s.partner)
    return s
  }

  private async acquire (ms: ModeState, deadline: number): Promise<GwSession> {
    const ps = ms.partner
    for (;;) {
      // no limits yet, or a CNOS for the mode in flight (the one at link up, when the partner may
      // have zeroed its limits): a BIND sent before that CNOS completes would meet 0805 0000
      if (ms.limits === undefined || ms.cnos !== undefined) await this.ensureCnos(ms, 'start_of_day')
      if (!ps.up) throw allocationError(`host link to ${ps.host} (partner ${ps.name}) is down`)
      const free = pickFreeSession([...ms.sessions].filter(s => s.state === 'free'))
      if (free !== undefined) return this.take(free)
      const polarity = chooseActivation(ms.limits!, this.counts(ms))
      if (polarity !== undefined) {
        let s: GwSession
        try {
          s = await this.bind(ps, ms, polarity, false)
        } catch (err) {
          if (!(err instanceof BindFailedError)) throw err
          await this.recover(ms, err.failure)
          continue
        }
        ms.recovery = recoveryStep(ms.recovery, 'bind_ok')
        return this.take(s)
      }
      const handed = await this.waitForSession(ms, deadline)
      if (handed !== undefined) return this.take(handed)
    }
  }

  /** KB Q107866 after a failed application BIND: renegotiate once, or fail the allocation. */
  private async recover (ms: ModeState, failure: BindFailure): Promise<void> {
    const ps = ms.partner
    const label = failureLabel(failure)
    this.metrics?.appcBindFailures.inc({ partner: ps.name, mode: ms.name, sense: label })
    const decision = decideRecovery(this.cfg, failure, this.activeSessions(ps), ms.recovery !== 'normal')
    this.log.warn({ event: 'appc_bind_failure', partner: ps.name, mode: ms.name, sense: label, decision: decision.action, reason: decision.reason }, `appc: BIND to ${ps.name} mode ${ms.name} failed with ${label}`)
    if (decision.action === 'fail') {
      ms.recovery = recoveryStep(ms.recovery, 'bind_failed_final')
      const err = allocationError(`BIND to partner ${ps.name} mode ${ms.name} was rejected (${label === 'UNBIND' ? 'UNBIND' : `sense ${label}`}): ${decision.reason}`)
      if (ms.recovery === 'exhausted') this.failWaiters(ms, err)
      throw err
    }
    ms.recovery = recoveryStep(ms.recovery, 'renegotiate')
    try {
      await this.ensureCnos(ms, 'recovery')
    } catch (err) {
      ms.recovery = recoveryStep(ms.recovery, 'cnos_failed')
      const e = allocationError(`BIND to partner ${ps.name} mode ${ms.name} was rejected (${label}) and the CNOS renegotiation failed: ${errorMessage(err)}; no further attempts until the link restarts or the application retries`)
      this.failWaiters(ms, e)
      throw e
    }
  }

  private waitForSession (ms: ModeState, deadline: number): Promise<GwSession | undefined> {
    return new Promise((resolve, reject) => {
      const remaining = deadline - this.clock.now()
      if (remaining <= 0) {
        reject(allocationError(`no session for partner ${ms.partner.name} mode ${ms.name} within the allocate timeout (limit ${ms.limits?.sessionLimit ?? 0}, all in use)`))
        return
      }
      const w: Waiter = {
        wake: (s) => { this.clock.clearTimeout(timer); resolve(s) },
        fail: (e) => { this.clock.clearTimeout(timer); reject(e) },
      }
      const timer = this.clock.setTimeout(() => {
        ms.waiters.splice(ms.waiters.indexOf(w), 1)
        reject(allocationError(`no session for partner ${ms.partner.name} mode ${ms.name} within the allocate timeout (limit ${ms.limits?.sessionLimit ?? 0}, all in use)`))
      }, remaining)
      ms.waiters.push(w)
    })
  }

  private wakeOne (ms: ModeState, s?: GwSession): boolean {
    const w = ms.waiters.shift()
    if (w === undefined) return false
    w.wake(s)
    return true
  }

  private failWaiters (ms: ModeState, err: Error): void {
    for (const w of ms.waiters.splice(0)) w.fail(err)
  }

  /** A session whose conversation ended normally: hand it to a waiter, or keep it idle (KB 831976). */
  private release (s: GwSession): void {
    const ms = s.mode
    if (ms === undefined) { s.state = 'free'; return }
    if (ms.limits !== undefined && this.overLimit(ms, s)) { this.unbind(s, UnbindType.NORMAL); return }
    if (ms.waiters.length > 0) { s.state = 'in_use'; this.wakeOne(ms, s); return }
    s.state = 'free'
    s.lastUsed = this.clock.now()
    s.idleSince = s.lastUsed
    const plan = afterConversation('normal', this.cfg.sesTimeout, { polarity: s.polarity, initiatedLocally: true, autoActivated: s.autoActivated })
    if (plan.action === 'keep' && plan.idleMs !== undefined) {
      s.idleTimer = this.clock.setTimeout(() => {
        s.idleTimer = undefined
        if (s.state !== 'free') return
        this.metrics?.appcSestimeoutUnbinds.inc({ partner: s.partner.name, mode: ms.name })
        this.log.info({ event: 'appc_sestimeout', partner: s.partner.name, mode: ms.name, lfsid: s.key }, 'appc: idle contention-winner session unbound (SESTIMEOUT)')
        this.unbind(s, UnbindType.NORMAL)
      }, plan.idleMs)
    }
    this.gauge(ms, s.partner)
  }

  /** After CNOS lowered the limits, a session beyond them is unbound when it frees. */
  private overLimit (ms: ModeState, s: GwSession): boolean {
    const c = this.counts(ms)
    if (s.polarity === 'winner') c.winners--; else c.losers--
    return !canActivate(ms.limits!, c, s.polarity)
  }

  private conversationEnded (s: GwSession, conv: Conversation, end: ConversationEnd): void {
    if (s.conversation !== conv) return
    s.conversation = undefined
    if (!this.byKey.has(s.key)) return
    if (end === 'failed') { this.unbind(s, UnbindType.CLEANUP); return }
    const plan = afterConversation(end, this.cfg.sesTimeout, { polarity: s.polarity, initiatedLocally: true, autoActivated: s.autoActivated })
    if (plan.action === 'unbind_cleanup') {
      this.log.info({ event: 'appc_unbind_cleanup', partner: s.partner.name, mode: s.mode?.name, end }, 'appc: conversation ended abnormally, UNBIND cleanup')
      return // Conversation.abnormal() calls cleanup → unbind(CLEANUP)
    }
    this.release(s)
  }

  // ------------------------------------------------------------------ CNOS

  /** Joins a CNOS already running for the mode, or starts one with the configured limits. */
  private ensureCnos (ms: ModeState, trigger: CnosTrigger): Promise<CnosResult> {
    if (ms.cnos !== undefined) return ms.cnos
    const p = this.runCnos(ms, trigger, { sessionLimit: ms.configured.sessionLimit, sourceWinners: ms.configured.minWinners, targetWinners: ms.configured.minPartnerWinners })
    ms.cnos = p
    const clear = (): void => { if (ms.cnos === p) ms.cnos = undefined }
    p.then(clear, clear)
    return p
  }

  /** CNOS by operator request (`POST .../cnos`); `limits` default to the configured ones. */
  async cnos (partner: string, mode: string, limits?: Partial<ModeLimits>): Promise<CnosResult> {
    const ms = this.mode(partner, mode)
    const requested = {
      sessionLimit: limits?.sessionLimit ?? ms.configured.sessionLimit,
      sourceWinners: limits?.minWinners ?? ms.configured.minWinners,
      targetWinners: limits?.minPartnerWinners ?? ms.configured.minPartnerWinners,
    }
    const bad = checkRequestedLimits(requested)
    if (bad !== undefined) throw lbError(ErrorCodes.APPC_API, bad)
    if (!ms.partner.up) throw lbError(ErrorCodes.APPC_CNOS, `host link to ${ms.partner.host} (partner ${partner}) is down`)
    const p = this.runCnos(ms, 'operator', requested)
    ms.cnos = p
    const clear = (): void => { if (ms.cnos === p) ms.cnos = undefined }
    p.then(clear, clear)
    const r = await p
    ms.recovery = recoveryStep(ms.recovery, 'link_restart')
    return r
  }

  private runCnos (ms: ModeState, trigger: CnosTrigger, requested: CnosLimits): Promise<CnosResult> {
    const ps = ms.partner
    const run = async (): Promise<CnosResult> => {
      let outcome
      try {
        const svc = await this.serviceSession(ps)
        svc.state = 'in_use'
        const conv = new Conversation(svc.hs, {
          type: 'basic',
          syncLevel: 'none',
          tp: 'CNOS',
          attach: attach(CNOS_TP, 'basic', 'none'),
          state: 'send',
          onEnd: (end) => { svc.conversation = undefined; if (end === 'normal' && this.byKey.has(svc.key)) svc.state = 'free' },
          cleanup: () => { this.unbind(svc, UnbindType.CLEANUP) },
        })
        svc.conversation = conv
        // SC31-6808 CNOS, KB Q308927: request with reply modifier X'00', Attach to X'06F1' on SNASVCMG
        conv.send(encodeCnos({ kind: 'request', mode: ms.name, ...requested }))
        const reply = await receiveAll(conv)
        outcome = acceptCnosReply({ ...requested, mode: ms.name }, decodeCnos(reply))
      } catch (err) {
        outcome = { ok: false as const, reason: errorMessage(err) }
      }
      if (!outcome.ok) {
        this.metrics?.appcCnos.inc({ partner: ps.name, mode: ms.name, trigger, result: 'failed' })
        this.log.warn({ event: 'appc_cnos', partner: ps.name, mode: ms.name, trigger, result: 'failed', reason: outcome.reason }, `appc: CNOS for ${ps.name} mode ${ms.name} failed`)
        throw lbError(ErrorCodes.APPC_CNOS, `CNOS for partner ${ps.name} mode ${ms.name} failed: ${outcome.reason}`)
      }
      const limits = { sessionLimit: outcome.limits.sessionLimit, minWinners: outcome.limits.sourceWinners, minPartnerWinners: outcome.limits.targetWinners }
      ms.limits = limits
      const result = outcome.negotiated ? 'negotiated' : 'accepted'
      this.metrics?.appcCnos.inc({ partner: ps.name, mode: ms.name, trigger, result })
      this.log.info({ event: 'appc_cnos', partner: ps.name, mode: ms.name, trigger, result, requested, limits }, `appc: CNOS for ${ps.name} mode ${ms.name} ${result}`)
      // lowered limits: free sessions beyond them go now, busy ones when they free (release)
      for (const s of [...ms.sessions]) if (s.state === 'free' && this.overLimit(ms, s)) this.unbind(s, UnbindType.NORMAL)
      while (ms.waiters.length > 0 && this.wakeOne(ms)) { /* every waiter re-checks */ }
      this.autoActivate(ms)
      return { partner: ps.name, mode: ms.name, trigger, requested, limits, negotiated: outcome.negotiated }
    }
    const p = ps.cnosChain.then(run, run)
    ps.cnosChain = p.catch(() => undefined)
    return p
  }

  /** The SNASVCMG session CNOS runs on (SC31-6808 CNOS, KB Q150959), bound on first need and kept. */
  private serviceSession (ps: PartnerState): Promise<GwSession> {
    if (ps.svc !== undefined && ps.svc.state === 'free') return Promise.resolve(ps.svc)
    if (ps.svcBinding !== undefined) return ps.svcBinding
    const p = this.bind(ps, undefined, 'winner', true).then(s => { ps.svc = s; return s }, (err: unknown) => {
      throw err instanceof BindFailedError ? lbError(ErrorCodes.APPC_CNOS, `SNASVCMG BIND to ${ps.name} failed (${failureLabel(err.failure)})`) : err
    })
    ps.svcBinding = p
    const clear = (): void => { if (ps.svcBinding === p) ps.svcBinding = undefined }
    p.then(clear, clear)
    return p
  }

  private autoActivate (ms: ModeState): void {
    let want = ms.autoActivate - [...ms.sessions].filter(s => s.autoActivated).length
    while (want-- > 0 && ms.limits !== undefined && canActivate(ms.limits, this.counts(ms), 'winner')) {
      this.bind(ms.partner, ms, 'winner', true).then(s => { this.release(s) }, (err: unknown) => {
        this.log.warn({ err: err instanceof BindFailedError ? failureLabel(err.failure) : err, partner: ms.partner.name, mode: ms.name }, 'appc: autoactivation BIND failed')
      })
    }
  }

  // ------------------------------------------------------------------ conveniences

  /** Allocate, send `data`, receive until the partner deallocates; returns what it sent. */
  async transact (partner: string, mode: string, tp: string, data: Buffer, opts: { type?: ConversationType, syncLevel?: 'none' | 'confirm', timeoutMs?: number } = {}): Promise<Buffer> {
    const conv = await this.allocate({ partner, mode, tp, ...opts })
    try {
      if (data.length > 0 || conv.type === 'basic') conv.send(data)
      return await receiveAll(conv)
    } catch (err) {
      if (conv.state !== 'deallocated' && conv.state !== 'failed') conv.cancel()
      throw err
    }
  }

  /** APING (client side of APINGD): `count` exchanges of `size` bytes; round-trip times in ms. */
  async aping (partner: string, mode: string, opts: { size: number, count: number }): Promise<ApingResult> {
    const start = performance.now()
    const conv = await this.allocate({ partner, mode, tp: 'APINGD', type: 'mapped' })
    const allocateMs = performance.now() - start
    const rttMs: number[] = []
    try {
      for (let i = 0; i < opts.count; i++) {
        const t = performance.now()
        conv.send(Buffer.alloc(opts.size, 0x40 + (i % 64)))
        let got = 0
        for (;;) {
          const r = await conv.receive()
          if (r.what === 'data') got += r.data.length
          else if (r.what === 'send') break
          else throw conversationError(`APINGD answered with ${r.what} instead of echoing`)
        }
        if (got !== opts.size) throw conversationError(`APINGD echoed ${got} bytes, expected ${opts.size}`)
        rttMs.push(performance.now() - t)
      }
      await conv.deallocate('flush')
    } catch (err) {
      if (conv.state !== 'deallocated' && conv.state !== 'failed') conv.cancel()
      throw err
    }
    const sum = rttMs.reduce((a, b) => a + b, 0)
    return { partner, mode, size: opts.size, count: opts.count, allocateMs, rttMs, minMs: Math.min(...rttMs), avgMs: sum / rttMs.length, maxMs: Math.max(...rttMs) }
  }

  sessions (): ModeInfo[] {
    const now = this.clock.now()
    const out: ModeInfo[] = []
    for (const ps of this.partners.values()) {
      for (const ms of ps.modes.values()) {
        out.push({
          partner: ps.name,
          partnerLu: ps.name,
          localLu: ps.localLu,
          host: ps.host,
          mode: ms.name,
          linkUp: ps.up,
          configured: ms.configured,
          negotiated: ms.limits,
          recovery: ms.recovery,
          waiting: ms.waiters.length,
          sessions: [...ms.sessions].map(s => ({
            id: s.id,
            lfsid: `1.${s.key}`,
            polarity: s.polarity,
            state: s.state === 'free' ? 'bound' : s.state,
            autoActivated: s.autoActivated,
            tp: s.conversation?.tp,
            idleMs: s.idleSince === undefined ? undefined : now - s.idleSince,
          })),
        })
      }
    }
    return out
  }

  // The admin-port routes (`/v1/appc/...`) live in lib/gateway/appc-routes.ts, on the public API above.

  /** Unbinds every session and fails waiters; the engine refuses new work afterwards. */
  close (): void {
    this.closed = true
    for (const s of [...this.byKey.values()]) this.unbind(s, UnbindType.NORMAL)
    const err = allocationError('APPC engine closed')
    for (const ps of this.partners.values()) for (const ms of ps.modes.values()) this.failWaiters(ms, err)
  }
}

