// The LU 6.2 partner the host simulator runs (the SLU of every session the gateway binds):
// per-mode limits from configuration, CNOS target (may lower limits, SC31-6808 CNOS), BIND admission with
// 0805 when limits are zero or exceeded (GA27-3136 Sense Data, SC31-6808 contention), TPs ECHO, APINGD, TXN, `restart()` (limits
// back to zero as after a VTAM re-IPL — SENSE 0805 "pending an Initialize CNOS", KB Q107866) and
// BIND rejection on demand.
//
// TXN: a small transaction. Input = the bytes the client sent; reply = the input with ASCII a-z
// upper-cased, followed by ` TXN#<n> LEN=<len> CKSUM=<hhhh>` where n is the running count of TXN
// transactions this partner has served since it started (not reset by restart()), len the input
// length and hhhh the sum of the input bytes modulo 65536 in 4 upper-case hex digits.
import { ErrorCodes, lbError } from '../errors.js'
import { systemClock, type Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import { decodePiu, encodePiu, buildNegativeResponse, commandRh, RequestCode, Sense, UnbindType, encodeUnbind, type BindImage, type LuLuEvent, type Piu } from './sna.js'
import { bindMode, bindResponseImage, decodeBind, encodeBind, lu62Bind, lu62BindSense, maxRu } from './bind62.js'
import { SNASVCMG, decodeCnos, encodeCnos, negotiateCnos } from './cnos.js'
import { encodeFmh7, tpNameText } from './fmh.js'
import { bindAdmission, type ModeLimits, type Polarity } from './limits.js'
import { Conversation, Lu62Session, type Chain } from './session.js'
import { senseHex } from './recovery.js'
import type { AppcTransport } from './transport.js'

export type TpHandler = (conv: Conversation, ctx: { partner: Lu62Partner, plu: string, mode: string }) => Promise<void>

export interface Lu62PartnerMode { name: string, sessionLimit: number, minWinners: number }

export interface Lu62PartnerOptions {
  /** This partner LU's name (the gateway's `appc.partners[].name`). */
  lu: string
  modes: Lu62PartnerMode[]
  /** Built-in TPs by name (ECHO, APINGD, TXN) and/or custom handlers. */
  tps: Array<string | { name: string, handler: TpHandler }>
  transport: AppcTransport
  logger: Logger
  clock?: Clock
}

interface PartnerSession {
  key: string
  link: string
  plu: string
  mode: string
  /** Polarity of this (partner) half-session. */
  polarity: Polarity
  boundAt: number
  hs: Lu62Session
  conv: Conversation | undefined
}


function upperAscii (b: Buffer): Buffer {
  const out = Buffer.from(b)
  for (let i = 0; i < out.length; i++) if (out[i]! >= 0x61 && out[i]! <= 0x7a) out[i] = out[i]! - 0x20
  return out
}

/** Collects data until the direction turns (`send`), the partner ends (`deallocated`) or confirms. */
async function collect (conv: Conversation): Promise<{ data: Buffer, then: 'send' | 'deallocated' }> {
  const parts: Buffer[] = []
  for (;;) {
    const r = await conv.receive()
    if (r.what === 'data') { parts.push(r.data); continue }
    if (r.what === 'confirm') {
      conv.confirmed()
      if (r.next === 'receive') continue
      return { data: Buffer.concat(parts), then: r.next === 'send' ? 'send' : 'deallocated' }
    }
    return { data: Buffer.concat(parts), then: r.what }
  }
}

export const builtInTps: Record<string, TpHandler> = {
  /** Sends back what it received, then deallocates. */
  ECHO: async (conv) => {
    const { data, then } = await collect(conv)
    if (then === 'deallocated') return
    if (data.length > 0) conv.send(data)
    await conv.deallocate()
  },
  /** APINGD: echoes each turn's data (the client's round trip) until the client deallocates. */
  APINGD: async (conv) => {
    for (;;) {
      const { data, then } = await collect(conv)
      if (then === 'deallocated') return
      conv.send(data) // the next collect() turns the direction back (CD)
    }
  },
  TXN: async (conv, ctx) => {
    const { data, then } = await collect(conv)
    if (then === 'deallocated') return
    const n = ++ctx.partner.txnCount
    let sum = 0
    for (const b of data) sum = (sum + b) & 0xffff
    conv.send(Buffer.concat([upperAscii(data), Buffer.from(` TXN#${n} LEN=${data.length} CKSUM=${sum.toString(16).toUpperCase().padStart(4, '0')}`)]))
    await conv.deallocate()
  },
}

export class Lu62Partner {
  readonly lu: string
  /** Running TXN count (see the TXN description above). */
  txnCount = 0
  private readonly modes = new Map<string, Lu62PartnerMode>()
  private readonly tps = new Map<string, TpHandler>()
  private readonly transport: AppcTransport
  private readonly log: Logger
  private readonly clock: Clock
  private readonly sessions = new Map<string, PartnerSession>()
  /** Negotiated limits per `${link}/${plu}/${mode}`, from the partner's point of view. */
  private readonly limits = new Map<string, ModeLimits>()
  private readonly injected: Array<number | 'UNBIND'> = []
  private cnosFailures = 0
  private closed = false

  constructor (opts: Lu62PartnerOptions) {
    this.lu = opts.lu
    for (const m of opts.modes) this.modes.set(m.name.toUpperCase(), m)
    for (const t of opts.tps) {
      if (typeof t === 'string') {
        const h = builtInTps[t.toUpperCase()]
        if (h === undefined) throw lbError(ErrorCodes.APPC_API, `unknown built-in TP '${t}' (have ${Object.keys(builtInTps).join(', ')})`)
        this.tps.set(t.toUpperCase(), h)
      } else this.tps.set(t.name, t.handler)
    }
    this.transport = opts.transport
    this.log = opts.logger
    this.clock = opts.clock ?? systemClock
  }

  linkUp (link: string): void { void link }

  /** The link to one gateway went down: its sessions are gone, negotiated limits stay. */
  linkDown (link: string): void {
    for (const s of [...this.sessions.values()]) if (s.link === link) this.drop(s)
  }

  /**
   * The partner LU restarts: every session ends (UNBIND type X'0E' recoverable LU failure) and all
   * session limits go back to zero, so the next BIND gets 0805 0000 until CNOS runs again.
   */
  restart (): void {
    for (const s of [...this.sessions.values()]) {
      s.hs.sendUnbind(UnbindType.RECOVERABLE_LU_FAILURE)
      this.drop(s)
    }
    this.limits.clear()
    this.log.info({ event: 'appc_partner_restart', lu: this.lu }, 'lu62 partner restarted: session limits reset to zero')
  }

  /** The next `count` application BINDs are refused with `sense` (a -RSP) or answered by UNBIND. */
  injectBindFailure (sense: number | 'UNBIND', count = 1): void {
    for (let i = 0; i < count; i++) this.injected.push(sense)
  }

  /** The next `count` CNOS requests are answered abnormally (reply modifier X'02', SC31-6808 CNOS). */
  injectCnosFailure (count = 1): void { this.cnosFailures += count }

  /** Limits negotiated with a gateway LU for a mode (partner's view), for tests and the admin page. */
  negotiated (link: string, plu: string, mode: string): ModeLimits | undefined {
    return this.limits.get(`${link}/${plu}/${mode.toUpperCase()}`)
  }

  sessionList (): Array<{ link: string, lfsid: string, plu: string, mode: string, polarity: Polarity, boundAt: number, tp: string | undefined }> {
    return [...this.sessions.values()].map(s => ({ link: s.link, lfsid: `1.${s.key.split('/')[1]!}`, plu: s.plu, mode: s.mode, polarity: s.polarity, boundAt: s.boundAt, tp: s.conv?.tp }))
  }

  close (): void {
    this.closed = true
    for (const s of [...this.sessions.values()]) {
      s.hs.sendUnbind(UnbindType.NORMAL)
      this.drop(s)
    }
  }

  private drop (s: PartnerSession): void {
    this.sessions.delete(s.key)
    const err = lbError(ErrorCodes.APPC_CONVERSATION, `session with ${s.plu} ended`)
    s.hs.fail(err)
    s.conv?.sessionLost(err)
    s.conv = undefined
  }

  receive (buf: Buffer, link = 'default'): void {
    if (this.closed) return
    let piu: Piu
    try { piu = decodePiu(buf) } catch (err) {
      this.log.warn({ err, link }, 'lu62 partner: undecodable PIU dropped')
      return
    }
    const rh = piu.rh
    if (rh === undefined) return
    const key = `${link}/${piu.th.daf}.${piu.th.oaf}`
    const s = this.sessions.get(key)
    if (s === undefined) {
      if (!rh.rri && rh.category === 'SC' && piu.ru[0] === RequestCode.BIND) this.onBind(piu, key, link)
      else if (!rh.rri) this.transport.send(encodePiu(buildNegativeResponse(piu, Sense.NO_LU_LU_SESSION)), link)
      return
    }
    try {
      s.hs.receive(piu)
    } catch (err) {
      this.log.warn({ err, link, plu: s.plu }, 'lu62 partner: protocol error, session unbound')
      s.hs.sendUnbind(UnbindType.SESSION_FAILURE, Sense.FMH_LENGTH_WRONG)
      this.drop(s)
    }
  }

  /** A BIND on a new local-form session id: the half-session decodes it, validateBind() decides. */
  private onBind (piu: Piu, key: string, link: string): void {
    if (this.injected[0] === 'UNBIND' && applicationBind(piu.ru) !== undefined) {
      // injected failure: answer the BIND with an UNBIND instead of a response
      this.injected.shift()
      this.log.info({ event: 'appc_partner_bind_refused', sense: 'UNBIND', injected: true }, 'lu62 partner: BIND refused')
      this.transport.send(encodePiu({ th: { mpf: 'whole', odai: true, efi: true, daf: piu.th.oaf, oaf: piu.th.daf, snf: 1 }, rh: commandRh('SC'), ru: encodeUnbind({ type: UnbindType.NORMAL }) }), link)
      return
    }
    const s: PartnerSession = { key, link, plu: '', mode: '', polarity: 'winner', boundAt: this.clock.now(), hs: undefined as unknown as Lu62Session, conv: undefined }
    s.hs = new Lu62Session({
      role: 'secondary',
      localAddress: piu.th.daf,
      remoteAddress: piu.th.oaf,
      maxRu: 256,
      validateBind: (image) => this.validateBind(image, link),
      bindResponse: (image) => encodeBind(bindResponseImage(lu62Bind(image), this.lu)),
    }, {
      send: (p) => { this.transport.send(p, link) },
      chain: (c) => { this.onChain(s, c) },
      event: (ev) => { this.onSessionEvent(s, ev) },
    })
    s.hs.receive(piu)
  }

  /** Refuses a BIND an LU 6.2 cannot take, an injected failure, or one the session limits forbid (0805). */
  private validateBind (image: BindImage, link: string): number | undefined {
    const sense = lu62BindSense(image)
    if (sense !== undefined) {
      this.log.warn({ sense: senseHex(sense) }, 'lu62 partner: malformed BIND refused')
      return sense
    }
    const bind = lu62Bind(image)
    const mode = bindMode(bind) ?? ''
    if (mode === SNASVCMG) return undefined
    const injected = this.injected.shift()
    const refusal = typeof injected === 'number' ? injected : this.admission(link, bind.plu, mode, bind.primaryWinner ? 'loser' : 'winner')
    if (refusal !== undefined) this.log.info({ event: 'appc_partner_bind_refused', plu: bind.plu, mode, sense: senseHex(refusal), injected: injected !== undefined }, 'lu62 partner: BIND refused')
    return refusal
  }

  private onSessionEvent (s: PartnerSession, ev: LuLuEvent): void {
    switch (ev.type) {
      case 'bind': {
        const bind = lu62Bind(ev.bind)
        s.plu = bind.plu
        s.mode = bindMode(bind) ?? ''
        // byte 7 bit 3 = 1 → the primary (gateway) wins, this partner is the loser
        s.polarity = bind.primaryWinner ? 'loser' : 'winner'
        s.hs.maxRu = maxRu(bind, 'secondary')
        this.sessions.set(s.key, s)
        return
      }
      case 'unbind':
        if (!ev.local) this.drop(s)
        return
      case 'request':
        // BID: this partner never starts conversations itself, so a free session is granted; one
        // with a conversation gets 0814 (bracket bid reject). Other requests: not supported (1003).
        if (ev.rh.category === 'DFC' && ev.ru[0] === RequestCode.BID) s.hs.respond(ev.snf, s.conv === undefined ? undefined : Sense.BID_REJECT_RTR_FORTHCOMING)
        else s.hs.respond(ev.snf, Sense.FUNCTION_NOT_SUPPORTED)
        return
      case 'bind-rejected':
        this.log.debug({ link: s.link, sense: senseHex(ev.sense), reason: ev.reason }, 'lu62 partner: BIND refused')
        return
      case 'protocol-error':
        this.log.debug({ link: s.link, plu: s.plu, reason: ev.reason }, 'lu62 partner: protocol error on a session')
        return
      default:
    }
  }

  private admission (link: string, plu: string, mode: string, polarity: Polarity): number | undefined {
    const l = this.limits.get(`${link}/${plu}/${mode}`)
    let winners = 0
    let losers = 0
    for (const s of this.sessions.values()) {
      if (s.link !== link || s.plu !== plu || s.mode !== mode) continue
      if (s.polarity === 'winner') winners++; else losers++
    }
    return bindAdmission(l, { winners, losers }, polarity)
  }

  private onChain (s: PartnerSession, c: Chain): void {
    if (s.conv !== undefined) { s.conv.deliver(c); return }
    // data outside a conversation: bracket error (2003)
    if (c.fmh5 === undefined) { s.hs.respond(c.lastSnf, Sense.BRACKET_ERROR); return }
    const f = c.fmh5
    const isCnos = f.tpName.length === 2 && f.tpName[0] === 0x06 && f.tpName[1] === 0xf1
    const tpName = isCnos ? 'CNOS' : tpNameText(f.tpName)
    const handler = isCnos ? this.cnosTp : this.tps.get(tpName)
    if (handler === undefined || (isCnos && s.mode !== SNASVCMG)) {
      // SC31-6808 FMH-5: Attach rejected with FMH-7 1008 6021 after -RSP 0846 (ERP message forthcoming)
      this.log.info({ event: 'appc_partner_tp_unknown', tp: tpName, plu: s.plu }, 'lu62 partner: Attach for an unknown TP')
      if (c.exception) s.hs.respond(c.lastSnf, Sense.ERP_MESSAGE_FORTHCOMING)
      s.hs.sendChain({ fmh: encodeFmh7({ sense: Sense.TP_NAME_NOT_RECOGNIZED, errorLogFollows: false }), data: Buffer.alloc(0), ceb: true }).catch(() => undefined)
      return
    }
    const conv = new Conversation(s.hs, {
      type: f.conversationType,
      syncLevel: f.syncLevel === 'syncpt' ? 'confirm' : f.syncLevel,
      tp: tpName,
      state: 'receive',
      onEnd: () => { if (s.conv === conv) s.conv = undefined },
      cleanup: () => {
        if (!this.sessions.has(s.key)) return
        s.hs.sendUnbind(UnbindType.CLEANUP)
        this.drop(s)
      },
    })
    s.conv = conv
    conv.deliver(c)
    // a TP that returns (or fails) with its conversation still active ends it with DEALLOCATE
    // ABEND (FMH-7 0864 0000, GA27-3136 Sense Data), as an LU does at TP_ENDED
    const finish = (): void => {
      if (conv.state === 'send' || conv.state === 'receive' || conv.state === 'confirm_received') void conv.deallocate('abend').catch(() => undefined)
    }
    handler(conv, { partner: this, plu: s.plu, mode: s.mode }).then(finish, (err: unknown) => {
      this.log.info({ err, tp: tpName, plu: s.plu }, 'lu62 partner: TP ended with an error')
      finish()
    })
  }

  /** Service TP X'06F1' on SNASVCMG: answers a CNOS request (SC31-6808 CNOS), may lower the limits. */
  private readonly cnosTp: TpHandler = async (conv, ctx) => {
    const { data, then } = await collect(conv)
    if (then === 'deallocated') return
    const req = decodeCnos(data)
    const link = [...this.sessions.values()].find(s => s.conv === conv)?.link ?? 'default'
    const failing = this.cnosFailures > 0
    if (failing) this.cnosFailures--
    const def = failing ? undefined : this.modes.get(req.mode)
    const r = negotiateCnos(req, def === undefined ? undefined : { sessionLimit: def.sessionLimit, minWinners: def.minWinners })
    if (def !== undefined) {
      // partner view: its own winners are the CNOS target's
      this.limits.set(`${link}/${ctx.plu}/${req.mode}`, { sessionLimit: r.sessionLimit, minWinners: r.targetWinners, minPartnerWinners: r.sourceWinners })
    }
    this.log.info({ event: 'appc_partner_cnos', plu: ctx.plu, mode: req.mode, requested: { sessionLimit: req.sessionLimit, sourceWinners: req.sourceWinners, targetWinners: req.targetWinners }, reply: r }, 'lu62 partner: CNOS')
    conv.send(encodeCnos({ kind: 'reply', mode: req.mode, sessionLimit: r.sessionLimit, sourceWinners: r.sourceWinners, targetWinners: r.targetWinners, replyModifier: r.replyModifier }))
    await conv.deallocate('flush')
  }
}

/** The LU 6.2 BIND of an application mode (not SNASVCMG), or undefined for anything else. */
function applicationBind (ru: Buffer): ReturnType<typeof decodeBind> | undefined {
  try {
    const bind = decodeBind(ru)
    return bindMode(bind) === SNASVCMG ? undefined : bind
  } catch {
    return undefined // malformed: the half-session answers 0835
  }
}
