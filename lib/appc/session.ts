// LU 6.2 on one bound session, at the conversation level: chains with FM headers, confirmation
// waits, and the conversation state machine. The session itself (BIND/UNBIND, sequence numbers,
// chaining, response bookkeeping, ODAI = 1 addressing) is the sna LU-LU half-session; Lu62Session
// only adds what LU 6.2 needs on top ("SNA LU 6.2 Reference: Peer Protocols", SC31-6808; traces in
// KB Q263206, Q308927): the FMH-5 Attach travels in the first RU of the chain with FI=1 and BB;
// data RUs follow; the last RU carries EC and CD (turn the direction), CEB (end the conversation =
// bracket) or a definite response request (CONFIRM, answered by +RSP = CONFIRMED). Other RUs ask
// for exception responses only (RQE1). Both ends use it: AppcEngine (gateway, primary) and
// Lu62Partner (host, secondary).
import { ErrorCodes, SenseError, errorMessage, lbError, type Tn3270LbError } from '../errors.js'
import {
  LuLuHalfSession, RequestCode, Sense, formatSense,
  type BindImage, type DataEvent, type Decision, type LuLuEvent, type Piu,
} from './sna.js'
import { GdsParser, encodeGds, GDS_APPLICATION_DATA } from './gds.js'
import { decodeFmh5, decodeFmh7, encodeFmh5, encodeFmh7, fmhType, type ConversationType, type Fmh5, type SyncLevel } from './fmh.js'

export interface Chain {
  fmh5?: Fmh5
  fmh7?: { sense: number }
  data: Buffer
  bb: boolean
  cd: boolean
  ceb: boolean
  /** Definite response asked for on the last RU: a CONFIRM. */
  rqd: boolean
  /** The last RU asked for an exception response (only a -RSP may answer it). */
  exception: boolean
  /** SNF of the last RU: the one a response answers. */
  lastSnf: number
}

export interface Lu62SessionHooks {
  send: (piu: Buffer) => void
  /** A whole chain for the conversation on this session. */
  chain: (chain: Chain) => void
  /** Everything else the half-session reports (BIND result, UNBIND, requests, responses nobody waited for, errors). */
  event: (ev: LuLuEvent) => void
}

export interface Lu62SessionOptions {
  role: 'primary' | 'secondary'
  /** Local-form session id: the gateway sends DAF' = sidh, OAF' = sidl; the partner answers swapped. */
  localAddress: number
  remoteAddress: number
  /** Largest RU this side sends (BIND bytes 10/11), until the BIND exchange says otherwise. */
  maxRu: number
  /** Secondary: a sense to refuse a received BIND with. */
  validateBind?: (bind: BindImage) => number | undefined
  /** Secondary: RU of the +RSP(BIND) (the negotiated image). */
  bindResponse?: (bind: BindImage) => Buffer
}

/** Sense of an error the partner told us about, or a local conversation failure. */
export function conversationError (message: string, sense?: number): Tn3270LbError {
  return sense === undefined
    ? lbError(ErrorCodes.APPC_CONVERSATION, message)
    : new SenseError(ErrorCodes.APPC_CONVERSATION, `${message} (sense ${formatSense(sense)})`, sense)
}

export class Lu62Session {
  readonly hs: LuLuHalfSession
  private building: { parts: Buffer[], fmh5?: Fmh5, fmh7?: { sense: number }, bb: boolean } | undefined
  private readonly waiting = new Map<number, { resolve: () => void, reject: (e: Error) => void }>()
  /** Largest RU this side sends. */
  maxRu: number

  constructor (opts: Lu62SessionOptions, private readonly hooks: Lu62SessionHooks) {
    this.maxRu = opts.maxRu
    this.hs = new LuLuHalfSession({
      role: opts.role,
      localAddress: opts.localAddress,
      remoteAddress: opts.remoteAddress,
      odai: true,
      // LU 6.2 here keeps its tolerant receive: requests are not refused for their sequence numbers
      inboundSequence: 'unchecked',
      autoRespondRequests: false,
      ...(opts.validateBind !== undefined ? { validateBind: opts.validateBind } : {}),
      ...(opts.bindResponse !== undefined ? { bindResponse: (bind: BindImage) => opts.bindResponse!(bind) } : {}),
    })
  }

  /** One PIU of this session (ODAI = 1, its LFSID). Throws on an FM header it cannot decode. */
  receive (piu: Piu): void { this.apply(this.hs.receive(piu)) }

  /** Primary: BIND; the result comes back as a 'bind' or 'bind-rejected' event. */
  sendBind (image: BindImage, ru: Buffer): void { this.apply(this.hs.sendBind(image, ru)) }

  /** UNBIND (any type; FE carries `sense`), when the session is still there to unbind. */
  sendUnbind (type: number, sense?: number): void {
    if (!this.hs.isBound && this.hs.state !== 'pending-bind') return
    this.apply(this.hs.sendUnbind(type, sense))
  }

  /** BID (DFC X'C8', RQD1) before a contention loser begins a bracket; returns its SNF. */
  sendBid (): number {
    const out = this.hs.sendData(Buffer.from([RequestCode.BID]), { category: 'DFC', fi: true, mode: 'RQD1' })
    for (const p of out.send) this.hooks.send(p)
    return out.snf
  }

  /**
   * Sends one chain. Resolves when a definite response asked for (`rqd`) arrives; rejects on a
   * -RSP to it, or at once when the session cannot send. Without `rqd` it resolves at once.
   */
  sendChain (c: { fmh?: Buffer, data: Buffer, bb?: boolean, cd?: boolean, ceb?: boolean, rqd?: boolean }): Promise<void> {
    let lastSnf: number
    try {
      lastSnf = this.sendRus(c)
    } catch (err) {
      return Promise.reject(conversationError(`the session cannot send: ${errorMessage(err)}`))
    }
    if (c.rqd !== true) return Promise.resolve()
    return new Promise((resolve, reject) => { this.waiting.set(lastSnf, { resolve, reject }) })
  }

  private sendRus (c: { fmh?: Buffer, data: Buffer, bb?: boolean, cd?: boolean, ceb?: boolean, rqd?: boolean }): number {
    const rus: Array<{ ru: Buffer, fi: boolean }> = []
    if (c.fmh !== undefined) rus.push({ ru: c.fmh, fi: true })
    for (let off = 0; off < c.data.length; off += this.maxRu) rus.push({ ru: c.data.subarray(off, off + this.maxRu), fi: false })
    if (rus.length === 0) rus.push({ ru: Buffer.alloc(0), fi: false })
    let lastSnf = 0
    rus.forEach((r, i) => {
      const first = i === 0
      const last = i === rus.length - 1
      const out = this.hs.sendData(r.ru, {
        fi: r.fi,
        bci: first,
        eci: last,
        mode: last && c.rqd === true ? 'RQD1' : 'RQE1',
        bbi: first && c.bb === true,
        cdi: last && c.cd === true,
        cebi: last && c.ceb === true,
      })
      lastSnf = out.snf
      for (const p of out.send) this.hooks.send(p)
    })
    return lastSnf
  }

  /** +RSP (no sense) or -RSP to a received request, when it still waits for that kind of response. */
  respond (snf: number, sense?: number): void {
    const owed = this.hs.owedResponse(snf)
    if (owed === undefined || (sense === undefined && owed === 'exception')) return
    this.hooks.send(this.hs.respond(snf, sense ?? true))
  }

  /** The session is gone: every waiting confirmation fails. */
  fail (err: Error): void {
    for (const w of this.waiting.values()) w.reject(err)
    this.waiting.clear()
    this.building = undefined
  }

  private apply (d: Decision<LuLuEvent>): void {
    for (const p of d.send) this.hooks.send(p)
    for (const ev of d.events) {
      if (ev.type === 'data') this.data(ev)
      else if (ev.type === 'response' && !ev.expedited && this.waiting.has(ev.snf)) this.confirmation(ev.snf, ev.positive, ev.sense)
      else this.hooks.event(ev)
    }
  }

  private confirmation (snf: number, positive: boolean, sense: number | undefined): void {
    const w = this.waiting.get(snf)!
    this.waiting.delete(snf)
    if (positive) w.resolve()
    else w.reject(conversationError('partner refused the confirmation', sense))
  }

  /** Builds chains from FMD RUs; FM headers (FI) are decoded here. */
  private data (ev: DataEvent): void {
    const rh = ev.rh
    if (rh.bci || this.building === undefined) this.building = { parts: [], bb: rh.bbi }
    const b = this.building
    let ru = ev.ru
    if (rh.fi) {
      const type = fmhType(ru)
      if (type === 5) { const d = decodeFmh5(ru); b.fmh5 = d.fmh; ru = d.rest } else if (type === 7) { const d = decodeFmh7(ru); b.fmh7 = { sense: d.fmh.sense }; ru = d.rest } else throw conversationError(`unsupported FM header type ${type}`, Sense.FMH_UNRECOGNIZED)
    }
    b.parts.push(ru)
    if (!rh.eci) return
    this.building = undefined
    this.hooks.chain({
      ...(b.fmh5 !== undefined ? { fmh5: b.fmh5 } : {}),
      ...(b.fmh7 !== undefined ? { fmh7: b.fmh7 } : {}),
      data: Buffer.concat(b.parts),
      bb: b.bb,
      cd: rh.cdi,
      ceb: rh.cebi,
      rqd: rh.dr1 && !rh.eri,
      exception: rh.eri,
      lastSnf: ev.snf,
    })
  }
}

// ---------------------------------------------------------------- conversation state machine

export type ConversationState = 'send' | 'receive' | 'confirm_wait' | 'confirm_received' | 'deallocated' | 'failed'

export type ReceiveResult =
  | { what: 'data', data: Buffer }
  /** The partner turned the direction (CD): we may send. */
  | { what: 'send' }
  /** The partner asked for CONFIRM; answer with `confirmed()`; `next` = state after it. */
  | { what: 'confirm', next: 'receive' | 'send' | 'deallocated' }
  /** The partner ended the conversation normally (CEB). */
  | { what: 'deallocated' }

export type ConversationEnd = 'normal' | 'cancel' | 'tp_ended_hard' | 'failed'

type Inbound = ReceiveResult | { what: 'error', error: Error }

export interface ConversationOptions {
  type: ConversationType
  syncLevel: SyncLevel
  tp: string
  /** Initiator: the Attach to send with the first chain. Responder: undefined. */
  attach?: Fmh5
  state: 'send' | 'receive'
  onEnd: (end: ConversationEnd) => void
  /** Unbinds the session for an abnormal end (KB 831976: an abnormal end always gets an UNBIND cleanup). */
  cleanup: () => void
}

let nextConversationId = 1

export class Conversation {
  readonly id = nextConversationId++
  readonly type: ConversationType
  readonly syncLevel: SyncLevel
  readonly tp: string
  private st: ConversationState
  private attachPending: Fmh5 | undefined
  private out: Buffer[] = []
  private readonly inbox: Inbound[] = []
  private waiter: ((v: Inbound) => void) | undefined
  private readonly gds = new GdsParser()
  private confirmReq: { snf: number, next: 'receive' | 'send' | 'deallocated' } | undefined
  private ended = false

  constructor (private readonly hs: Lu62Session, private readonly opts: ConversationOptions) {
    this.type = opts.type
    this.syncLevel = opts.syncLevel
    this.tp = opts.tp
    this.st = opts.state
    this.attachPending = opts.attach
  }

  get state (): ConversationState { return this.st }

  private need (states: ConversationState[], verb: string): void {
    if (!states.includes(this.st)) throw lbError(ErrorCodes.APPC_CONVERSATION, `${verb} is not allowed in conversation state ${this.st} (TP ${this.tp})`)
  }

  /** SEND_DATA: buffered until the direction turns, a CONFIRM or DEALLOCATE (one chain per turn). */
  send (data: Buffer): void {
    this.need(['send'], 'send')
    this.out.push(this.type === 'mapped' ? encodeGds(GDS_APPLICATION_DATA, data) : Buffer.from(data))
  }

  private flush (ind: { cd?: boolean, ceb?: boolean, rqd?: boolean, fmh7?: number }): Promise<void> {
    const attach = this.attachPending
    this.attachPending = undefined
    let data = Buffer.concat(this.out)
    this.out = []
    let fmh = attach === undefined ? undefined : encodeFmh5(attach)
    if (ind.fmh7 !== undefined) {
      // FMH-7 carries the error (KB Q156083); an Attach still pending goes first in its own chain
      if (fmh !== undefined) this.hs.sendChain({ fmh, data, bb: true }).catch(() => undefined)
      fmh = encodeFmh7({ sense: ind.fmh7, errorLogFollows: false })
      data = Buffer.alloc(0)
      return this.hs.sendChain({ fmh, data, ...ind, bb: false })
    }
    return this.hs.sendChain({ ...(fmh !== undefined ? { fmh } : {}), data, bb: attach !== undefined, ...ind })
  }

  /** RECEIVE_AND_WAIT: in send state it first turns the direction (PREPARE_TO_RECEIVE, CD). */
  async receive (): Promise<ReceiveResult> {
    // events already queued are read first, even if they moved the state on (data before CD/CEB)
    const queued = this.inbox.shift()
    if (queued !== undefined) {
      if (queued.what === 'error') throw queued.error
      return queued
    }
    if (this.st === 'send') {
      this.st = 'receive'
      await this.flush({ cd: true })
    }
    const next = this.inbox.shift() ?? await this.wait() // the flush may have let events in
    if (next.what === 'error') throw next.error
    return next
  }

  private wait (): Promise<Inbound> {
    this.need(['receive'], 'receive')
    return new Promise<Inbound>(resolve => { this.waiter = resolve })
  }

  /** CONFIRM (sync level confirm): send the buffered data and wait for CONFIRMED. */
  async confirm (): Promise<void> {
    this.need(['send'], 'confirm')
    if (this.syncLevel === 'none') throw lbError(ErrorCodes.APPC_CONVERSATION, `confirm needs sync level confirm; conversation with ${this.tp} was allocated with none`)
    this.st = 'confirm_wait'
    try {
      await this.flush({ rqd: true })
      this.st = 'send'
    } catch (err) {
      this.failLocal()
      throw err
    }
  }

  /** CONFIRMED: the answer to a confirmation request (`receive` returned `{ what: 'confirm' }`). */
  confirmed (): void {
    this.need(['confirm_received'], 'confirmed')
    const req = this.confirmReq!
    this.confirmReq = undefined
    this.hs.respond(req.snf)
    this.st = req.next === 'deallocated' ? 'deallocated' : req.next
    if (this.st === 'deallocated') this.end('normal')
  }

  /**
   * DEALLOCATE. `sync_level`: with confirm, waits for CONFIRMED (CEB + definite response);
   * `flush`: CEB at once; `abend`: FMH-7 0864 0000 with CEB (allowed in any active state).
   */
  async deallocate (type: 'sync_level' | 'flush' | 'abend' = 'sync_level'): Promise<void> {
    if (type === 'abend') {
      this.need(['send', 'receive', 'confirm_received'], 'deallocate(abend)')
      this.out = []
      this.st = 'deallocated'
      await this.flush({ ceb: true, fmh7: Sense.DEALLOCATE_ABEND })
      this.end('normal')
      return
    }
    this.need(['send'], 'deallocate')
    if (type === 'sync_level' && this.syncLevel !== 'none') {
      this.st = 'confirm_wait'
      try {
        await this.flush({ ceb: true, rqd: true })
      } catch (err) {
        this.failLocal()
        throw err
      }
    } else {
      await this.flush({ ceb: true })
    }
    this.st = 'deallocated'
    this.end('normal')
  }

  /** Abnormal end by the application (Cancel → CLOSE ERR, KB 831976): UNBIND cleanup of the session. */
  cancel (): void { this.abnormal('cancel') }

  /** TP_ENDED(HARD) while the conversation is active: same UNBIND cleanup (KB 831976). */
  tpEnded (hard: boolean): void {
    if (hard) this.abnormal('tp_ended_hard')
    else if (this.st !== 'deallocated' && this.st !== 'failed') this.abnormal('cancel')
  }

  private abnormal (end: 'cancel' | 'tp_ended_hard'): void {
    if (this.ended) return
    this.st = 'failed'
    this.push({ what: 'error', error: conversationError(`conversation with ${this.tp} ended by ${end === 'cancel' ? 'cancel' : 'TP_ENDED(HARD)'}`) })
    this.end(end)
    this.opts.cleanup()
  }

  /** A confirmation this side asked for was refused: the conversation is over (UNBIND cleanup). */
  private failLocal (): void {
    if (this.ended) return
    this.st = 'failed'
    this.end('failed')
  }

  /** The session under this conversation is gone (UNBIND, link down). */
  sessionLost (err: Error): void {
    if (this.ended) return
    this.st = 'failed'
    this.push({ what: 'error', error: err })
    this.end('failed')
  }

  private end (how: ConversationEnd): void {
    if (this.ended) return
    this.ended = true
    this.opts.onEnd(how)
  }

  private push (v: Inbound): void {
    const w = this.waiter
    if (w !== undefined) { this.waiter = undefined; w(v) } else this.inbox.push(v)
  }

  /** A chain arrived on the session for this conversation. */
  deliver (c: Chain): void {
    if (this.ended) return
    if (c.fmh7 !== undefined) {
      const err = conversationError(`partner TP ${this.tp} reported an error`, c.fmh7.sense)
      if (c.ceb) {
        this.st = 'failed'
        this.push({ what: 'error', error: err })
        this.end('normal') // the bracket ended cleanly: the session itself is fine
      } else {
        this.st = 'receive'
        this.push({ what: 'error', error: err })
      }
      return
    }
    if (this.type === 'mapped') {
      let vars
      try { vars = this.gds.feed(c.data) } catch (err) {
        this.sessionLost(err instanceof Error ? err : conversationError(errorMessage(err)))
        this.opts.cleanup()
        return
      }
      for (const v of vars) if (v.id === GDS_APPLICATION_DATA) this.push({ what: 'data', data: v.data })
    } else if (c.data.length > 0) {
      this.push({ what: 'data', data: c.data })
    }
    if (c.rqd) {
      const next = c.ceb ? 'deallocated' : c.cd ? 'send' : 'receive'
      this.confirmReq = { snf: c.lastSnf, next }
      this.st = 'confirm_received'
      this.push({ what: 'confirm', next })
      return
    }
    if (c.ceb) {
      this.st = 'deallocated'
      this.push({ what: 'deallocated' })
      this.end('normal')
    } else if (c.cd) {
      this.st = 'send'
      this.push({ what: 'send' })
    }
  }
}

/** Reads until the partner deallocates, answering confirmations; returns the data received. */
export async function receiveAll (conv: Conversation): Promise<Buffer> {
  const parts: Buffer[] = []
  for (;;) {
    const r = await conv.receive()
    if (r.what === 'data') parts.push(r.data)
    else if (r.what === 'confirm') { conv.confirmed(); if (r.next === 'deallocated') break; if (r.next === 'send') throw conversationError(`partner TP ${conv.tp} gave the direction back instead of deallocating`) } else if (r.what === 'deallocated') break
    else throw conversationError(`partner TP ${conv.tp} gave the direction back instead of deallocating`)
  }
  return Buffer.concat(parts)
}
