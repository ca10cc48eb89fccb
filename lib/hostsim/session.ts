// The primary (PLU) half of one LU-LU session between an application of the simulated host and
// a dependent LU behind a gateway. State machine:
//
//   pending-bind --+RSP(BIND)--> pending-sdt --+RSP(SDT)--> active --UNBIND sent--> pending-unbind
//        |  -RSP(BIND)              | -RSP(SDT)                 |  UNBIND received / link down
//        v                          v                           v
//      ended  <---------------------+---------------------------+-- +RSP(UNBIND)
//
// Flows (sna-formats.md): BIND/SDT/UNBIND are expedited SC requests, RH `6B 80 00` (§3.6-§3.8),
// answered with the request code; LU2 (TS profile 3) gets SDT after +RSP(BIND) (§3.8). Outbound
// 3270 data is normal-flow FMD, chained when a record is larger than the BIND's primary max RU
// (§3.6 byte 11), sequence numbers from 1 after SDT (HERC pre-increments, §1), paced by the BIND's
// primary send window: the first request of each window carries PI and the next window waits for
// the LU's IPR (§6.1, via PacingSender). Inbound data from the LU is checked for sequence and
// pacing (PI → IPR at once: the host always has room, §6.1 receiver) and chains are reassembled.
import type { Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import { parseInbound } from '../datastream/index.js'
import {
  chainRu, encodePiu, encodeIpr, encodeIpm, decodeIpmRu, isIpr, isIpm, requestRh, commandRh,
  positiveResponse, negativeResponse, responseSense, encodeSdt, encodeUnbind, decodeUnbind, UnbindType,
  RequestCode, requestName, isDefinite, PacingSender, PacingReceiver, senseName, ChainReassembler,
  type Piu, type RequestRh, type ResponseRh,
} from '../sna/index.js'
import { DemoApp, type DemoAction } from './demo.js'
import { renderDemo } from './screens.js'
import { hex8 } from './faults.js'

/** Sense codes this module sends (sna-formats.md §4). */
export const HostSense = {
  /** 1003: function not supported. */
  FUNCTION_NOT_SUPPORTED: 0x10030000,
  /** 1001: RU data error (3270 data we cannot parse). */
  RU_DATA_ERROR: 0x10010000,
  /** 2001: sequence number error. */
  SEQUENCE: 0x20010000,
  /** 8005 0001: no session. */
  NO_SESSION: 0x80050001,
} as const

export type SessionState = 'pending-bind' | 'pending-sdt' | 'active' | 'pending-unbind' | 'ended'

export interface SessionEnv {
  host: string
  lu: string
  /** LU local address (DAF' of outbound PIUs); the PLU is X'01' (§1 observed addresses). */
  address: number
  application: string
  bind: Buffer
  rows: number
  cols: number
  maxRuPrimary: number
  primarySendWindow: number
  secondarySendWindow: number
  adaptive: boolean
  clock: Clock
  logger: Logger
  /** Returns false when the link's buffer is full: output pauses until resume() (socket 'drain'). */
  send: (piu: Buffer) => boolean | void
  /** Called once when the session has ended; `byPlu` = we sent the UNBIND (logoff). */
  onEnded: (info: { reason: string, byPlu: boolean, bindSense?: number }) => void
}

export const PLU_ADDRESS = 0x01
/** Largest inbound chain accepted (bytes); beyond it the chain is refused (ChainReassembler: 0812). */
export const MAX_INBOUND_CHAIN = 64 * 1024
/** Requests the pacing sender may hold; the FLOOD generator is pulled only as the window opens. */
const PACING_QUEUE_LIMIT = 4096

interface OutRu {
  ru: Buffer
  bci: boolean
  eci: boolean
  /** Last RU of a reply that leaves the keyboard unlocked: give direction to the LU (CD). */
  cd: boolean
}

export interface SessionStatus {
  lu: string
  application: string
  state: SessionState
  since: string
  sent: { records: number, requests: number }
  received: { records: number, requests: number }
  pacing: {
    window: number
    adaptive: boolean
    /** ms the session has waited for the LU's IPR with output queued (0 = not waiting). */
    waitingForIprMs: number
    /** Requests (RUs) queued behind the closed window plus records not yet built. */
    queued: number
    iprsReceived: number
    /** Sum of completed waits for an IPR (ms). */
    totalWaitMs: number
  }
}

export class PluSession {
  private st: SessionState = 'pending-bind'
  private readonly since: number
  private readonly app = new DemoApp()
  private readonly sender: PacingSender<OutRu>
  private readonly receiver: PacingReceiver<Buffer>
  private expeditedId = 0
  private sendSnf = 0
  private recvSnf: number | undefined
  private bracketOpen = false
  private unbindReason = 'logoff'
  private linkBlocked = false
  /** Records produced by the application and not yet chained into the sender. */
  private readonly outbound: Array<Iterator<Buffer>> = []
  private pendingRecordRus: OutRu[] = []
  private readonly pendingExpedited = new Map<number, 'BIND' | 'SDT' | 'UNBIND'>()
  private readonly reassembler = new ChainReassembler(MAX_INBOUND_CHAIN)
  private waitingSince: number | undefined
  private totalWaitMs = 0
  private iprs = 0
  private readonly counters = { recordsOut: 0, requestsOut: 0, recordsIn: 0, requestsIn: 0 }

  constructor (private readonly env: SessionEnv) {
    this.since = env.clock.now()
    this.sender = new PacingSender<OutRu>({ window: env.primarySendWindow, adaptive: env.adaptive, queueLimit: PACING_QUEUE_LIMIT })
    // The host application always has room: unlimited credit, so an IPR goes back for every PI.
    this.receiver = new PacingReceiver<Buffer>({
      window: env.secondarySendWindow,
      adaptive: env.adaptive,
      initialCredit: Number.MAX_SAFE_INTEGER / 2,
      clock: env.clock,
      stallAfter: 3_600_000,
    })
  }

  get state (): SessionState { return this.st }
  get application (): string { return this.env.application }

  /** Sends the BIND (expedited, RH 6B 80 00, §3.6; V2 is VTAM's LU2 BIND to a PU 2.0). */
  start (): void {
    if (this.st !== 'pending-bind' || this.pendingExpedited.size > 0) return
    this.sendExpedited('BIND', this.env.bind)
  }

  /** PLU-initiated end (application logoff, TERMSELF, NOTIFY disabled): UNBIND with `type`. */
  unbind (type: number = UnbindType.NORMAL, reason = 'logoff'): void {
    if (this.st === 'ended' || this.st === 'pending-unbind') return
    this.app.end()
    this.stopOutput()
    this.st = 'pending-unbind'
    this.unbindReason = reason
    this.sendExpedited('UNBIND', encodeUnbind({ type }))
  }

  /** Link gone or host restart: no flows, just forget the session. */
  abort (reason: string): void {
    if (this.st === 'ended') return
    this.finish(reason, false)
  }

  /** The link drained after a send returned false: continue the output. */
  resume (): void {
    if (!this.linkBlocked) return
    this.linkBlocked = false
    this.pump()
  }

  /** A PIU on this LU-LU session (DAF' = PLU, OAF' = the LU). */
  receive (piu: Piu, raw: Buffer): void {
    const rh = piu.rh!
    if (rh.rri) {
      this.receiveResponse(piu)
      return
    }
    if (this.st === 'ended') {
      this.reject(raw, rh, HostSense.NO_SESSION, 'request on an ended session')
      return
    }
    if (rh.category === 'FMD') this.receiveData(piu, raw, rh)
    else this.receiveCommand(piu, raw, rh)
  }

  status (): SessionStatus {
    const now = this.env.clock.now()
    let queued = this.sender.queued + this.pendingRecordRus.length + this.outbound.length
    if (queued < 0) queued = 0
    return {
      lu: this.env.lu,
      application: this.env.application,
      state: this.st,
      since: new Date(this.since).toISOString(),
      sent: { records: this.counters.recordsOut, requests: this.counters.requestsOut },
      received: { records: this.counters.recordsIn, requests: this.counters.requestsIn },
      pacing: {
        window: this.env.primarySendWindow,
        adaptive: this.sender.adaptive,
        waitingForIprMs: this.waitingSince === undefined ? 0 : now - this.waitingSince,
        queued,
        iprsReceived: this.iprs,
        totalWaitMs: this.totalWaitMs,
      },
    }
  }

  // ------------------------------------------------------------------ responses from the LU

  private receiveResponse (piu: Piu): void {
    const rh = piu.rh as ResponseRh
    if (isIpr(piu) || isIpm(piu)) {
      this.receivePacing(piu)
      return
    }
    if (piu.th.efi) {
      const what = this.pendingExpedited.get(piu.th.snf)
      if (what === undefined) {
        this.env.logger.warn({ lu: this.env.lu, snf: piu.th.snf }, 'expedited response matches no request; ignored')
        return
      }
      this.pendingExpedited.delete(piu.th.snf)
      const sense = rh.rti ? safeSense(piu) : undefined
      this.expeditedResponse(what, sense)
      return
    }
    // Normal-flow response to our data (RQE1: only negative ones come back) or a PI-carrying +RSP.
    if (rh.pi && !rh.rti) this.receivePacingResponse('response-pi')
    if (rh.rti) {
      const sense = safeSense(piu)
      this.env.logger.warn({ lu: this.env.lu, snf: piu.th.snf, sense: sense === undefined ? undefined : hex8(sense), senseName: sense === undefined ? undefined : senseName(sense) },
        'negative response to outbound data')
    }
  }

  private expeditedResponse (what: 'BIND' | 'SDT' | 'UNBIND', sense: number | undefined): void {
    const log = this.env.logger
    switch (what) {
      case 'BIND':
        if (this.st !== 'pending-bind') return
        if (sense !== undefined) {
          log.warn({ lu: this.env.lu, application: this.env.application, sense: hex8(sense), senseName: senseName(sense) }, 'BIND rejected by the LU')
          this.finish(`BIND rejected, sense ${hex8(sense)}`, false, sense)
          return
        }
        // LU2 is TS profile 3: data traffic starts with SDT (§3.8).
        this.st = 'pending-sdt'
        this.sendExpedited('SDT', encodeSdt())
        return
      case 'SDT':
        if (this.st !== 'pending-sdt') return
        if (sense !== undefined) {
          log.warn({ lu: this.env.lu, sense: hex8(sense), senseName: senseName(sense) }, 'SDT rejected by the LU; unbinding')
          this.st = 'active'
          this.unbind(UnbindType.CLEANUP, `SDT rejected, sense ${hex8(sense)}`)
          return
        }
        this.st = 'active'
        // Sequence numbers restart at SDT (§1: I3274/HERC reset on BIND, SDT, CLEAR).
        this.sendSnf = 0
        this.recvSnf = undefined
        log.info({ lu: this.env.lu, application: this.env.application, event: 'session_started' }, 'LU-LU session started')
        this.runActions(this.app.start())
        return
      case 'UNBIND':
        if (sense !== undefined) log.warn({ lu: this.env.lu, sense: hex8(sense) }, 'UNBIND answered negatively; session ended anyway')
        if (this.st === 'pending-unbind') this.finish(this.unbindReason, true)
    }
  }

  private receivePacing (piu: Piu): void {
    if (isIpm(piu)) {
      let ipm
      try {
        ipm = decodeIpmRu(piu.ru)
      } catch (err) {
        this.env.logger.warn({ lu: this.env.lu, err: (err as Error).message }, 'bad IPM from the LU; ignored')
        return
      }
      const d = this.sender.receiveIpm(ipm)
      if (d.violation !== undefined) {
        this.env.logger.warn({ lu: this.env.lu, sense: hex8(d.violation.sense) }, d.violation.error.message)
        return
      }
      if (d.sendIpm !== undefined) this.env.send(encodeIpm({ daf: this.env.address, oaf: PLU_ADDRESS }, d.sendIpm))
      this.windowOpened()
      this.transmit(d.send)
      this.pump()
      return
    }
    this.receivePacingResponse('ipr')
  }

  private receivePacingResponse (kind: 'ipr' | 'response-pi'): void {
    const d = this.sender.receivePacingResponse(kind)
    if (d.violation !== undefined) {
      // A response cannot be answered with a response: log it (sense 2011 0001, §4.1) and go on.
      this.env.logger.warn({ lu: this.env.lu, sense: hex8(d.violation.sense) }, d.violation.error.message)
      return
    }
    this.iprs++
    this.windowOpened()
    this.transmit(d.send)
    this.pump()
  }

  private windowOpened (): void {
    if (this.waitingSince !== undefined) {
      this.totalWaitMs += this.env.clock.now() - this.waitingSince
      this.waitingSince = undefined
    }
  }

  // ------------------------------------------------------------------ requests from the LU

  private receiveCommand (piu: Piu, raw: Buffer, rh: RequestRh): void {
    const code = piu.ru[0]
    if (rh.category === 'SC' && code === RequestCode.UNBIND) {
      let type: number = UnbindType.NORMAL
      try { type = decodeUnbind(piu.ru).type } catch { /* a short UNBIND still ends the session */ }
      this.env.send(positiveResponse(piu))
      this.env.logger.info({ lu: this.env.lu, unbindType: type }, 'UNBIND from the LU')
      this.app.end()
      this.finish(`UNBIND type ${type.toString(16).padStart(2, '0').toUpperCase()} from the LU`, false)
      return
    }
    if (rh.category === 'DFC' && (code === RequestCode.LUSTAT || code === RequestCode.SIG || code === RequestCode.CHASE ||
        code === RequestCode.RTR || code === RequestCode.SHUTC)) {
      // Status and direction commands carry nothing the DEMO application needs: acknowledge.
      if (rh.dr1 || rh.dr2) this.respond(raw)
      return
    }
    this.reject(raw, rh, HostSense.FUNCTION_NOT_SUPPORTED, `${requestName(rh.category, rh.fi, piu.ru)} not supported on an LU2 session`)
  }

  private receiveData (piu: Piu, raw: Buffer, rh: RequestRh): void {
    if (this.st !== 'active') {
      this.reject(raw, rh, HostSense.NO_SESSION, `data before the session is active (${this.st})`)
      return
    }
    // §1: normal-flow requests carry consecutive sequence numbers; the first after SDT is 1
    // (HERC) or 0 (I3274 counts from 0), both accepted.
    const expected = this.recvSnf === undefined ? undefined : (this.recvSnf + 1) & 0xffff
    if ((expected === undefined && piu.th.snf > 1) || (expected !== undefined && piu.th.snf !== expected)) {
      this.reject(raw, rh, HostSense.SEQUENCE, `sequence number ${piu.th.snf}, expected ${expected ?? '0 or 1'}`)
      return
    }
    this.recvSnf = piu.th.snf
    this.counters.requestsIn++
    const d = this.receiver.receiveRequest(raw, { pi: rh.pi, rlwi: rh.rlwi })
    if (d.violation !== undefined) {
      this.reject(raw, rh, d.violation.sense, d.violation.error.message)
      return
    }
    if (d.sendIpr) this.env.send(encodeIpr({ daf: this.env.address, oaf: PLU_ADDRESS }))
    if (d.sendIpm !== undefined) this.env.send(encodeIpm({ daf: this.env.address, oaf: PLU_ADDRESS }, d.sendIpm))
    // Chaining (§2.1 BCI/ECI): BC starts a chain, EC ends it; out of order is 2002, too long 0812.
    const chained = this.reassembler.push(piu.ru, rh.bci, rh.eci)
    if (chained.kind === 'error') {
      this.reject(raw, rh, chained.sense, chained.reason)
      return
    }
    if (chained.kind === 'partial') {
      if (isDefinite(rh)) this.respond(raw)
      return
    }
    const record = chained.data
    let parsed
    try {
      parsed = parseInbound(record, { rows: this.env.rows, cols: this.env.cols })
    } catch (err) {
      this.reject(raw, rh, HostSense.RU_DATA_ERROR, `3270 input not understood: ${(err as Error).message}`)
      return
    }
    if (isDefinite(rh)) this.respond(raw)
    this.counters.recordsIn++
    // Never log screen contents at info level (ARCHITECTURE §5 Logs): AID and sizes only.
    this.env.logger.debug({ lu: this.env.lu, aid: parsed.aid, fields: parsed.fields.length, bytes: record.length }, 'inbound 3270 record')
    const texts = parsed.fields.map(f => f.text.replace(/\u0000/g, ''))
    if (parsed.unformatted !== undefined) texts.unshift(parsed.unformatted.text)
    // An inbound chain ends the host's bracket turn (§6.2: LU input flows RQE1 + CD).
    this.runActions(this.app.input({ aid: parsed.aidCode, fields: texts }))
  }

  private respond (raw: Buffer): void {
    this.env.send(positiveResponse(raw))
  }

  private reject (raw: Buffer, rh: RequestRh, sense: number, why: string): void {
    this.env.logger.warn({ lu: this.env.lu, sense: hex8(sense), senseName: senseName(sense), reason: why }, 'request from the LU rejected')
    // Exception and definite response modes both allow a -RSP; "no response" requests get none.
    if (rh.dr1 || rh.dr2) this.env.send(negativeResponse(raw, sense))
  }

  // ------------------------------------------------------------------ outbound

  private runActions (actions: DemoAction[]): void {
    for (const action of actions) {
      if (action.type === 'logoff') {
        this.unbind(UnbindType.NORMAL, 'logoff')
        return
      }
      this.outbound.push(renderDemo({ host: this.env.host, lu: this.env.lu, rows: this.env.rows, cols: this.env.cols }, action))
    }
    this.pump()
  }

  /** Feeds the pacing sender one record at a time while its window is open. */
  private pump (): void {
    while (this.st === 'active' && this.sender.queued === 0 && !this.linkBlocked) {
      if (this.pendingRecordRus.length === 0) {
        const record = this.nextRecord()
        if (record === undefined) return
        this.pendingRecordRus = this.chain(record)
        this.counters.recordsOut++
      }
      while (this.pendingRecordRus.length > 0 && this.sender.queued === 0) {
        const item = this.pendingRecordRus.shift()!
        const r = this.sender.submit(item)
        if (!r.ok) {
          // Cannot happen while we feed one request at a time; keep the record rather than lose it.
          this.pendingRecordRus.unshift(item)
          this.env.logger.error({ lu: this.env.lu, err: r.error.message }, 'pacing queue full')
          return
        }
        this.transmit(r.send)
      }
    }
    if (this.st === 'active' && this.sender.queued > 0 && this.waitingSince === undefined) {
      // The window is used up and output is waiting: the host now waits for the LU's IPR.
      this.waitingSince = this.env.clock.now()
    }
  }

  private nextRecord (): Buffer | undefined {
    while (this.outbound.length > 0) {
      const next = this.outbound[0].next()
      if (next.done !== true) return next.value
      this.outbound.shift()
    }
    return undefined
  }

  private chain (record: Buffer): OutRu[] {
    // §6.2 WCC X'02' keyboard restore: a record that unlocks the keyboard ends the host's turn.
    const unlocks = record.length > 1 && (record[0] === 0xf1 || record[0] === 0xf5 || record[0] === 0x7e) && (record[1] & 0x02) !== 0
    return chainRu(record, this.env.maxRuPrimary).map(e => ({ ru: e.ru, bci: e.bci, eci: e.eci, cd: unlocks && e.eci }))
  }

  private transmit (items: Array<{ item: OutRu, setPi: boolean, setRlwi: boolean }>): void {
    for (const { item, setPi, setRlwi } of items) {
      if (this.st !== 'active') return
      this.sendSnf = (this.sendSnf + 1) & 0xffff
      // §6.2: host output flows FMD, RQE1 (exception response: FLOOD needs no 20000 +RSPs),
      // BB on the first chain of the session's bracket, CD on the chain that hands the turn back.
      const bb = !this.bracketOpen && item.bci
      if (bb) this.bracketOpen = true
      const rh = requestRh({ category: 'FMD', mode: 'RQE1', bci: item.bci, eci: item.eci, pi: setPi, rlwi: setRlwi, bbi: bb, cdi: item.cd })
      if (this.env.send(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: this.env.address, oaf: PLU_ADDRESS, snf: this.sendSnf }, rh, ru: item.ru })) === false) {
        // The link's socket buffer is full: stop pulling new records until it drains.
        this.linkBlocked = true
      }
      this.counters.requestsOut++
    }
  }

  private stopOutput (): void {
    this.outbound.length = 0
    this.pendingRecordRus = []
    this.sender.drainQueue()
    this.windowOpened()
  }

  private sendExpedited (what: 'BIND' | 'SDT' | 'UNBIND', ru: Buffer): void {
    // Expedited requests carry an identifier in the SNF that the response echoes (§1).
    this.expeditedId = (this.expeditedId % 0xffff) + 1
    this.pendingExpedited.set(this.expeditedId, what)
    this.env.send(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: this.env.address, oaf: PLU_ADDRESS, snf: this.expeditedId }, rh: commandRh('SC'), ru }))
  }

  private finish (reason: string, byPlu: boolean, bindSense?: number): void {
    if (this.st === 'ended') return
    this.st = 'ended'
    this.app.end()
    this.stopOutput()
    this.receiver.close()
    this.pendingExpedited.clear()
    this.env.logger.info({ lu: this.env.lu, application: this.env.application, event: 'session_ended', reason }, 'LU-LU session ended')
    this.env.onEnded({ reason, byPlu, bindSense })
  }
}

function safeSense (piu: Piu): number | undefined {
  try {
    return responseSense(piu)
  } catch {
    return undefined
  }
}
