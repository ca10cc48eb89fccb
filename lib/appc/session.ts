// An LU 6.2 half-session (chains, brackets, responses on one bound session) and the conversation
// state machine that runs on it. Both ends use these: AppcEngine (gateway, PLU) and Lu62Partner
// (host, SLU). RH usage (sna-formats.md §2, §5.1 trace, §5.4): the FMH-5 Attach travels in the
// first RU of the chain with FI=1 and BB; data RUs follow; the last RU carries EC and CD (turn the
// direction), CEB (end the conversation = bracket) or DR1 without ERI (CONFIRM, answered by +RSP
// = CONFIRMED). Other RUs ask for exception responses only (RQE1).
import { ErrorCodes, lbError, type Tn3270LbError } from '../errors.js'
import { buildPositiveResponse, buildNegativeResponse, encodePiu, requestRh, type Piu, type RequestRh } from './sna.js'
import { GdsParser, encodeGds, GDS_APPLICATION_DATA } from './gds.js'
import { decodeFmh5, decodeFmh7, encodeFmh5, encodeFmh7, fmhType, type ConversationType, type Fmh5, type SyncLevel } from './fmh.js'
import { senseHex } from './recovery.js'

export interface SessionAddress { daf: number, oaf: number }

export interface Chain {
  fmh5?: Fmh5
  fmh7?: { sense: number }
  data: Buffer
  bb: boolean
  cd: boolean
  ceb: boolean
  /** Definite response asked for on the last RU: a CONFIRM. */
  rqd: boolean
  last: Piu
}

export interface HalfSessionHooks {
  send: (piu: Buffer) => void
  chain: (chain: Chain) => void
  /** A response to one of our normal-flow requests that nobody waited for (e.g. -RSP 0846). */
  response?: (piu: Piu) => void
}

/** Sense of an error the partner told us about, or a local conversation failure. */
export function conversationError (message: string, sense?: number): Tn3270LbError & { sense?: number } {
  const e = lbError(ErrorCodes.APPC_CONVERSATION, sense === undefined ? message : `${message} (sense ${senseHex(sense)})`) as Tn3270LbError & { sense?: number }
  if (sense !== undefined) e.sense = sense
  return e
}

export class HalfSession {
  private snfOut = 0
  private expOut = 0
  private building: { parts: Buffer[], fmh5?: Fmh5, fmh7?: { sense: number }, bb: boolean } | undefined
  private readonly waiting = new Map<number, { resolve: () => void, reject: (e: Error) => void }>()

  /** Largest RU this side sends (from the BIND, §3.6 bytes 10/11). */
  maxRu: number

  constructor (readonly addr: SessionAddress, maxRu: number, private readonly hooks: HalfSessionHooks) { this.maxRu = maxRu }

  private th (efi: boolean, snf: number): Piu['th'] {
    return { mpf: 'whole', odai: true, efi, daf: this.addr.daf, oaf: this.addr.oaf, snf }
  }

  /** Sends an expedited or normal SC/DFC request (BIND, UNBIND, BID) and returns its SNF. */
  sendCommand (category: 'SC' | 'DFC', ru: Buffer, expedited: boolean): number {
    const snf = expedited ? ++this.expOut & 0xffff : ++this.snfOut & 0xffff
    this.hooks.send(encodePiu({ th: this.th(expedited, snf), rh: requestRh({ category, fi: true, mode: 'RQD1' }), ru }))
    return snf
  }

  /**
   * Sends one chain. Resolves when a definite response asked for (`rqd`) arrives; rejects on a
   * -RSP to it. Without `rqd` it resolves at once.
   */
  sendChain (c: { fmh?: Buffer, data: Buffer, bb?: boolean, cd?: boolean, ceb?: boolean, rqd?: boolean }): Promise<void> {
    const rus: Array<{ ru: Buffer, fi: boolean }> = []
    if (c.fmh !== undefined) rus.push({ ru: c.fmh, fi: true })
    for (let off = 0; off < c.data.length; off += this.maxRu) rus.push({ ru: c.data.subarray(off, off + this.maxRu), fi: false })
    if (rus.length === 0) rus.push({ ru: Buffer.alloc(0), fi: false })
    let lastSnf = 0
    rus.forEach((r, i) => {
      const first = i === 0
      const last = i === rus.length - 1
      const rh: RequestRh = requestRh({
        category: 'FMD',
        fi: r.fi,
        bci: first,
        eci: last,
        mode: last && c.rqd === true ? 'RQD1' : 'RQE1',
        bbi: first && c.bb === true,
        cdi: last && c.cd === true,
        cebi: last && c.ceb === true,
      })
      lastSnf = ++this.snfOut & 0xffff
      this.hooks.send(encodePiu({ th: this.th(false, lastSnf), rh, ru: r.ru }))
    })
    if (c.rqd !== true) return Promise.resolve()
    return new Promise((resolve, reject) => { this.waiting.set(lastSnf, { resolve, reject }) })
  }

  respond (req: Piu, sense?: number): void {
    this.hooks.send(encodePiu(sense === undefined ? buildPositiveResponse(req) : buildNegativeResponse(req, sense)))
  }

  /** Normal-flow FMD PIUs and their responses for this session. */
  receive (piu: Piu): void {
    const rh = piu.rh!
    if (rh.rri) {
      const w = this.waiting.get(piu.th.snf)
      if (w !== undefined) {
        this.waiting.delete(piu.th.snf)
        if (rh.rti) w.reject(conversationError('partner refused the confirmation', piu.ru.length >= 4 ? piu.ru.readUInt32BE(0) : undefined))
        else w.resolve()
        return
      }
      this.hooks.response?.(piu)
      return
    }
    if (rh.bci || this.building === undefined) this.building = { parts: [], bb: rh.bbi }
    const b = this.building
    let ru = piu.ru
    if (rh.fi) {
      const type = fmhType(ru)
      if (type === 5) { const d = decodeFmh5(ru); b.fmh5 = d.fmh; ru = d.rest } else if (type === 7) { const d = decodeFmh7(ru); b.fmh7 = { sense: d.fmh.sense }; ru = d.rest } else throw conversationError(`unsupported FM header type ${type}`, 0x1008600b)
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
      last: piu,
    })
  }

  /** The session is gone: every waiting confirmation fails. */
  fail (err: Error): void {
    for (const w of this.waiting.values()) w.reject(err)
    this.waiting.clear()
    this.building = undefined
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
  /** Unbinds the session for an abnormal end (seed 002 UNBIND cleanup). */
  cleanup: () => void
}

const DEALLOCATE_ABEND = 0x08640000 // §4.1 0864 0000 deallocate abend (FMH-7)

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
  private confirmReq: { piu: Piu, next: 'receive' | 'send' | 'deallocated' } | undefined
  private ended = false

  constructor (private readonly hs: HalfSession, private readonly opts: ConversationOptions) {
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
      // §5.5: FMH-7 carries the error; an Attach still pending goes first in its own chain
      if (fmh !== undefined) void this.hs.sendChain({ fmh, data, bb: true })
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
    this.hs.respond(req.piu)
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
      await this.flush({ ceb: true, fmh7: DEALLOCATE_ABEND })
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

  /** Abnormal end by the application (Cancel → CLOSE ERR, seed 002): UNBIND cleanup of the session. */
  cancel (): void { this.abnormal('cancel') }

  /** TP_ENDED(HARD) while the conversation is active: same UNBIND cleanup (seed 002). */
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
        this.sessionLost(err as Error)
        this.opts.cleanup()
        return
      }
      for (const v of vars) if (v.id === GDS_APPLICATION_DATA) this.push({ what: 'data', data: v.data })
    } else if (c.data.length > 0) {
      this.push({ what: 'data', data: c.data })
    }
    if (c.rqd) {
      const next = c.ceb ? 'deallocated' : c.cd ? 'send' : 'receive'
      this.confirmReq = { piu: c.last, next }
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
