// The LU 6.2 partner the host simulator runs (the SLU of every session the gateway binds):
// per-mode limits from configuration, CNOS target (may lower limits, §5.1), BIND admission with
// 0805 when limits are zero or exceeded (§4.1, §5.2), TPs ECHO, APINGD, TXN, `restart()` (limits
// back to zero as after a VTAM re-IPL — SENSE 0805 "pending an Initialize CNOS", seed 001) and
// BIND rejection on demand.
//
// TXN: a small transaction. Input = the bytes the client sent; reply = the input with ASCII a-z
// upper-cased, followed by ` TXN#<n> LEN=<len> CKSUM=<hhhh>` where n is the running count of TXN
// transactions this partner has served since it started (not reset by restart()), len the input
// length and hhhh the sum of the input bytes modulo 65536 in 4 upper-case hex digits.
import { ErrorCodes, lbError } from '../errors.js'
import { systemClock, type Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import { decodePiu, encodePiu, buildPositiveResponse, buildNegativeResponse, commandRh, bindDecodeSense, RequestCode, UnbindType, encodeUnbind, type Piu } from './sna.js'
import { bindMode, bindResponseImage, decodeBind, encodeBind, maxRu } from './bind62.js'
import { SNASVCMG, decodeCnos, encodeCnos, negotiateCnos } from './cnos.js'
import { encodeFmh7, tpNameText } from './fmh.js'
import { bindAdmission, type ModeLimits, type Polarity } from './limits.js'
import { Conversation, HalfSession, type Chain } from './session.js'
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
  hs: HalfSession
  conv: Conversation | undefined
}

const TP_NOT_RECOGNIZED = 0x10086021 // §4.1 1008 6021
const ERP_FORTHCOMING = 0x08460000  // §4.1 0846 0000

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
      s.hs.sendCommand('SC', encodeUnbind({ type: UnbindType.RECOVERABLE_LU_FAILURE }), true)
      this.drop(s)
    }
    this.limits.clear()
    this.log.info({ event: 'appc_partner_restart', lu: this.lu }, 'lu62 partner restarted: session limits reset to zero')
  }

  /** The next `count` application BINDs are refused with `sense` (a -RSP) or answered by UNBIND. */
  injectBindFailure (sense: number | 'UNBIND', count = 1): void {
    for (let i = 0; i < count; i++) this.injected.push(sense)
  }

  /** The next `count` CNOS requests are answered abnormally (reply modifier X'02', §5.1). */
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
      s.hs.sendCommand('SC', encodeUnbind({ type: UnbindType.NORMAL }), true)
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
    const reply = (p: Piu): void => { this.transport.send(encodePiu(p), link) }
    if (!rh.rri && rh.category === 'SC' && piu.ru[0] === RequestCode.BIND) { this.onBind(piu, key, link, reply); return }
    const s = this.sessions.get(key)
    if (s === undefined) {
      if (!rh.rri) reply(buildNegativeResponse(piu, 0x80050001)) // §4.1 8005 0001 no session
      return
    }
    if (!rh.rri && rh.category === 'SC' && piu.ru[0] === RequestCode.UNBIND) {
      reply(buildPositiveResponse(piu))
      this.drop(s)
      return
    }
    if (!rh.rri && rh.category === 'DFC' && piu.ru[0] === RequestCode.BID) {
      // BID (§5.2): this partner never starts conversations itself, so a free session is granted;
      // one with a conversation gets 0814 (bracket bid reject, §4.3)
      reply(s.conv === undefined ? buildPositiveResponse(piu) : buildNegativeResponse(piu, 0x08140000))
      return
    }
    if (rh.rri && rh.category !== 'FMD') return // +RSP(UNBIND) after restart()/close()
    if (!rh.rri && rh.category !== 'FMD') { reply(buildNegativeResponse(piu, 0x10030000)); return }
    try {
      s.hs.receive(piu)
    } catch (err) {
      this.log.warn({ err, link, plu: s.plu }, 'lu62 partner: protocol error, session unbound')
      s.hs.sendCommand('SC', encodeUnbind({ type: UnbindType.SESSION_FAILURE, sense: 0x10086000 }), true)
      this.drop(s)
    }
  }

  private onBind (piu: Piu, key: string, link: string, reply: (p: Piu) => void): void {
    let bind
    try { bind = decodeBind(piu.ru) } catch (err) {
      // §4.1 0835 + the offset of the bad field (KB Q157444); 0835 0001 for a non-negotiable one
      const sense = bindDecodeSense(err) ?? (/negotiable/.test((err as Error).message) ? 0x08350001 : 0x08350000)
      this.log.warn({ err, sense: senseHex(sense) }, 'lu62 partner: malformed BIND refused')
      reply(buildNegativeResponse(piu, sense))
      return
    }
    if (this.sessions.has(key)) { reply(buildNegativeResponse(piu, 0x08150004)); return } // §4.1 LFSID in use
    const mode = bindMode(bind) ?? ''
    const plu = bind.plu
    // §5.2: byte 7 bit 3 = 1 → the primary (gateway) wins, this partner is the loser
    const polarity: Polarity = bind.primaryWinner ? 'loser' : 'winner'
    if (mode !== SNASVCMG) {
      const injected = this.injected.shift()
      const sense = injected ?? this.admission(link, plu, mode, polarity)
      if (sense !== undefined) {
        this.log.info({ event: 'appc_partner_bind_refused', plu, mode, sense: sense === 'UNBIND' ? 'UNBIND' : senseHex(sense), injected: injected !== undefined }, 'lu62 partner: BIND refused')
        if (sense === 'UNBIND') {
          const [daf, oaf] = key.split('/')[1]!.split('.').map(Number) as [number, number]
          reply({ th: { mpf: 'whole', odai: true, efi: true, daf: oaf, oaf: daf, snf: 1 }, rh: commandRh('SC'), ru: encodeUnbind({ type: UnbindType.NORMAL }) })
        } else reply(buildNegativeResponse(piu, sense))
        return
      }
    }
    const s: PartnerSession = {
      key,
      link,
      plu,
      mode,
      polarity,
      boundAt: this.clock.now(),
      hs: undefined as unknown as HalfSession,
      conv: undefined,
    }
    s.hs = new HalfSession({ daf: piu.th.oaf, oaf: piu.th.daf }, maxRu(bind, 'secondary'), {
      send: (p) => { this.transport.send(p, link) },
      chain: (c) => { this.onChain(s, c) },
    })
    this.sessions.set(key, s)
    reply(buildPositiveResponse(piu, encodeBind(bindResponseImage(bind, this.lu))))
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
    if (c.fmh5 === undefined) { s.hs.respond(c.last, 0x20030000); return } // §4.1 2003 bracket error
    const f = c.fmh5
    const isCnos = f.tpName.length === 2 && f.tpName[0] === 0x06 && f.tpName[1] === 0xf1
    const tpName = isCnos ? 'CNOS' : tpNameText(f.tpName)
    const handler = isCnos ? this.cnosTp : this.tps.get(tpName)
    if (handler === undefined || (isCnos && s.mode !== SNASVCMG)) {
      // §5.4: Attach rejected with FMH-7 1008 6021 after -RSP 0846 (ERP message forthcoming)
      this.log.info({ event: 'appc_partner_tp_unknown', tp: tpName, plu: s.plu }, 'lu62 partner: Attach for an unknown TP')
      if (!c.last.rh!.rri && (c.last.rh as { eri: boolean }).eri) s.hs.respond(c.last, ERP_FORTHCOMING)
      void s.hs.sendChain({ fmh: encodeFmh7({ sense: TP_NOT_RECOGNIZED, errorLogFollows: false }), data: Buffer.alloc(0), ceb: true })
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
        s.hs.sendCommand('SC', encodeUnbind({ type: UnbindType.CLEANUP }), true)
        this.drop(s)
      },
    })
    s.conv = conv
    conv.deliver(c)
    // a TP that returns (or fails) with its conversation still active ends it with DEALLOCATE
    // ABEND (FMH-7 0864 0000, §4.1), as an LU does at TP_ENDED
    const finish = (): void => {
      if (conv.state === 'send' || conv.state === 'receive' || conv.state === 'confirm_received') void conv.deallocate('abend').catch(() => undefined)
    }
    handler(conv, { partner: this, plu: s.plu, mode: s.mode }).then(finish, (err: unknown) => {
      this.log.info({ err, tp: tpName, plu: s.plu }, 'lu62 partner: TP ended with an error')
      finish()
    })
  }

  /** Service TP X'06F1' on SNASVCMG: answers a CNOS request (§5.1), may lower the limits. */
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
