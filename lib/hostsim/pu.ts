// The SSCP side of one gateway link: the gateway is a PU 2.0 with dependent LUs; the simulated
// host activates it the way VTAM activates a PU behind a boundary function, then runs USS on each
// SSCP-LU session and starts LU-LU sessions (session.ts) for the applications.
//
//   link up (hello lists the LUs and their local addresses)
//     → ACTPU (SSCP-PU, DAF'=OAF'=00, expedited, RH 6B 80 00, RU 11 11 01 + SSCP ID; §3.2, V7)
//     ← +RSP(ACTPU)                                   PU state: pending-active → active
//     → ACTLU per LU (DAF'=LU, OAF'=00, RU 0D 01 01; §3.3)
//     ← +RSP(ACTLU) [CV X'0C' 03 enabled / 01 disabled]  LU state: pending-active → active
//     ← NOTIFY(enabled) when a terminal attaches (§3.5, KB Q267902)
//     → USS logon screen (USSMSG10) as character-coded SSCP-LU data, or a BIND for the default
//       application (z/OS DEFAPPL, tn3270-anchors §1.4)
//     ← typed `LOGON APPLID(DEMO)` (character-coded) or INIT-SELF → BIND (session.ts)
//     ← NOTIFY(disabled) when the terminal goes → UNBIND cleanup if a session is still up
//
// Inbound routing by (DAF', OAF') (§1 observed addresses): (00,00) SSCP-PU; (00,LU) SSCP-LU;
// (01,LU) LU-LU. ODAI = 1 PIUs are LU 6.2 traffic and go to the APPC partner (docs/internals.md).
// A PIU we cannot use gets a -RSP with a sense (when it asked for any response) and a log line.
import type { Clock, Timer } from '../clock.js'
import type { HostSimConfig } from '../config/index.js'
import type { Logger } from '../observability/index.js'
import {
  decodePiu, encodePiu, commandRh, requestRh, positiveResponse, negativeResponse, responseSense,
  encodeActpu, encodeActlu, decodeActluResponse, decodeNotify, decodeInitSelf, decodeTermSelf,
  requestName, senseName, ebcdicToName, NsHeader, RequestCode, UnbindType,
  type Piu, type RequestRh, type ResponseRh,
} from '../sna/index.js'
import type { Faults } from './faults.js'
import { hex8 } from './faults.js'
import { PluSession, PLU_ADDRESS, type SessionStatus } from './session.js'
import { decodeSscpLuInput, encodeSscpLuText, logonScreenLines, parseUssCommand, USS_MESSAGES } from './uss.js'
import { effectiveRuSize, lu2BindRu, type BindConfig } from './bindimage.js'

/** Sense codes used on the SSCP sessions (sna-formats.md §4, MSDOC path errors 80xx). */
export const SscpSense = {
  /** 0801 0000: resource not available (application not active / not defined). */
  RESOURCE_NOT_AVAILABLE: 0x08010000,
  /** 0806 0014: resource unknown — PLU name. */
  UNKNOWN_PLU: 0x08060014,
  /** 0815 0000: function active (a session already exists). */
  FUNCTION_ACTIVE: 0x08150000,
  /** 1001 0000: RU data error. */
  RU_DATA_ERROR: 0x10010000,
  /** 1003 0000: function not supported. */
  FUNCTION_NOT_SUPPORTED: 0x10030000,
  /** 8004 0000: unrecognized DAF. */
  UNRECOGNIZED_DAF: 0x80040000,
  /** 8005 0001: no session. */
  NO_SESSION: 0x80050001,
  /** 8007 0000: segmentation error (FID2 segments are not reassembled here). */
  SEGMENTATION: 0x80070000,
  /** 8009 0000: LU not active (no SSCP-LU session). */
  LU_NOT_ACTIVE: 0x80090000,
  /** 800F 0000: invalid address combination. */
  INVALID_ADDRESS: 0x800f0000,
} as const

export interface HelloLu { name: string, address: number }

/** What the PU needs from the link it runs on (an adapter over hostlink's server connection). */
export interface PuLink {
  readonly node: string
  readonly remote: string
  readonly lus: readonly HelloLu[]
  /** False when the link's buffer is above its high-water mark (then call drained() on 'drain'). */
  send: (piu: Buffer) => boolean | void
}

/** LU 6.2 traffic (ODAI = 1) goes here; absent = no partner configured. */
export interface AppcSink {
  receive: (piu: Buffer) => void
}

export interface HostEnv {
  host: string
  applications: readonly string[]
  defaultApplication: string | null
  defaultApplicationFirstOnly: boolean
  bind: BindConfig
  faults: Faults
  clock: Clock
  logger: Logger
  /** SSCP ID in ACTPU (6 bytes, §3.2: 05 + 5 bytes). */
  sscpId: Buffer
}

/** The HostEnv a host simulator's config gives; one place for the SSCP ID. */
export function hostEnv (config: HostSimConfig, deps: { faults: Faults, clock: Clock, logger: Logger }): HostEnv {
  return {
    host: config.name,
    applications: config.applications,
    defaultApplication: config.defaultApplication,
    defaultApplicationFirstOnly: config.defaultApplicationFirstOnly,
    bind: config.bind,
    ...deps,
    // §3.2 / V7: SSCP ID = X'05' + 5 bytes, as in VTAM's ACTPU of KB Q161492.
    sscpId: Buffer.from([0x05, 0x00, 0x00, 0x00, 0x00, 0x01]),
  }
}

export type PuState = 'pending-active' | 'active' | 'rejected' | 'closed'
export type LuState = 'reset' | 'pending-active' | 'active' | 'rejected'

export interface LuStatus {
  name: string
  address: number
  state: LuState
  /** A terminal is attached (ACTLU +RSP status / NOTIFY). */
  enabled: boolean
  /** Application of the LU-LU session (any state but ended), or null. */
  application: string | null
  session: SessionStatus | null
  /** Last sense an ACTLU or session start failed with. */
  lastSense: string | null
}

export interface PuStatus {
  node: string
  remote: string
  state: PuState
  lus: LuStatus[]
}

type SscpPending = { kind: 'ACTPU' } | { kind: 'ACTLU', lu: LuRecord } | { kind: 'DATA', lu: LuRecord }

interface LuRecord {
  name: string
  address: number
  state: LuState
  enabled: boolean
  session: PluSession | undefined
  /** DEFAPPL ... FIRSTONLY bookkeeping: the default application was used since NOTIFY(enabled). */
  defaultUsed: boolean
  lastSense: number | undefined
}

export class PuController {
  private st: PuState = 'pending-active'
  private readonly lus = new Map<number, LuRecord>()
  private snf = 0
  private readonly pending = new Map<string, SscpPending>()
  /** Requests from the gateway waiting out the response-delay fault, in arrival order. */
  private delayed: Array<{ at: number, piu: Buffer }> = []
  private delayTimer: Timer | undefined
  private readonly log: Logger

  constructor (private readonly link: PuLink, private readonly env: HostEnv, private readonly appc?: AppcSink) {
    this.log = env.logger.child({ gateway: link.node })
    for (const lu of link.lus) {
      if (!Number.isInteger(lu.address) || lu.address < 1 || lu.address > 255 || this.lus.has(lu.address)) {
        this.log.warn({ lu: lu.name, address: lu.address }, 'hello LU with an unusable or duplicate local address ignored')
        continue
      }
      this.lus.set(lu.address, { name: lu.name.toUpperCase(), address: lu.address, state: 'reset', enabled: false, session: undefined, defaultUsed: false, lastSense: undefined })
    }
  }

  get state (): PuState { return this.st }

  /** Link is up: activate the PU (cold ACTPU, §3.2 activation type 1). */
  start (): void {
    this.st = 'pending-active'
    this.sendSscp({ daf: 0, efi: true }, commandRh('SC'), encodeActpu({ format: 1, activationType: 1, fmProfile: 0, tsProfile: 1, sscpId: this.env.sscpId, controlVectors: [] }), { kind: 'ACTPU' })
    this.log.info({ event: 'actpu' }, 'ACTPU sent')
  }

  /** Link gone or host restart: every session is gone with it. */
  close (reason: string): void {
    if (this.st === 'closed') return
    this.st = 'closed'
    if (this.delayTimer !== undefined) this.env.clock.clearTimeout(this.delayTimer)
    this.delayTimer = undefined
    this.delayed = []
    for (const lu of this.lus.values()) {
      lu.session?.abort(reason)
      lu.session = undefined
      lu.state = 'reset'
    }
    this.pending.clear()
  }

  /** The link's socket drained: sessions paused by backpressure continue. */
  drained (): void {
    for (const lu of this.lus.values()) lu.session?.resume()
  }

  status (): PuStatus {
    return {
      node: this.link.node,
      remote: this.link.remote,
      state: this.st,
      lus: [...this.lus.values()].map(lu => ({
        name: lu.name,
        address: lu.address,
        state: lu.state,
        enabled: lu.enabled,
        application: lu.session === undefined ? null : lu.session.application,
        session: lu.session === undefined ? null : lu.session.status(),
        lastSense: lu.lastSense === undefined ? null : hex8(lu.lastSense),
      })),
    }
  }

  /** One PIU from the gateway. Never throws: bad input is answered and logged. */
  receive (raw: Buffer): void {
    if (this.st === 'closed') return
    let piu: Piu
    try {
      piu = decodePiu(raw)
    } catch (err) {
      // No usable TH/RH: nothing can be answered (§1: FID2 has no length or DCF to resync on).
      this.log.warn({ err: (err as Error).message, bytes: raw.length }, 'undecodable PIU from the gateway dropped')
      return
    }
    if (piu.th.odai) {
      if (this.appc !== undefined) {
        this.appc.receive(raw)
      } else if (piu.rh !== undefined && !piu.rh.rri) {
        this.rejectRaw(raw, piu, SscpSense.RESOURCE_NOT_AVAILABLE, 'LU 6.2 traffic but no LU 6.2 partner is configured')
      }
      return
    }
    if (piu.rh === undefined || piu.th.mpf !== 'whole') {
      // FID2 segments (§1) are not produced by the gateway; refuse the first one, drop the rest.
      if (piu.rh !== undefined && !piu.rh.rri) this.rejectRaw(raw, piu, SscpSense.SEGMENTATION, `MPF=${piu.th.mpf} segment not supported`)
      else this.log.warn({ mpf: piu.th.mpf }, 'PIU segment dropped')
      return
    }
    // Fault: delay the host's answers to the gateway's requests (responses from the gateway,
    // IPRs included, are taken at once so the fault does not also slow the host's own output).
    const delayMs = this.env.faults.responseDelayMs
    if (!piu.rh.rri && (delayMs > 0 || this.delayed.length > 0)) {
      this.delayed.push({ at: this.env.clock.now() + delayMs, piu: raw })
      this.scheduleDelayed()
      return
    }
    this.dispatch(piu, raw)
  }

  private scheduleDelayed (): void {
    if (this.delayTimer !== undefined || this.delayed.length === 0) return
    const wait = Math.max(0, this.delayed[0].at - this.env.clock.now())
    this.delayTimer = this.env.clock.setTimeout(() => {
      this.delayTimer = undefined
      const now = this.env.clock.now()
      while (this.delayed.length > 0 && this.delayed[0].at <= now && this.st !== 'closed') {
        const next = this.delayed.shift()!
        this.dispatch(decodePiu(next.piu), next.piu)
      }
      this.scheduleDelayed()
    }, wait)
  }

  private dispatch (piu: Piu, raw: Buffer): void {
    try {
      const { daf, oaf } = piu.th
      if (daf === 0 && oaf === 0) this.receiveSscpPu(piu, raw)
      else if (daf === 0) this.receiveSscpLu(piu, raw)
      else if (daf === PLU_ADDRESS) this.receiveLuLu(piu, raw)
      else this.rejectRaw(raw, piu, SscpSense.UNRECOGNIZED_DAF, `DAF' ${daf} is neither the SSCP (00) nor the PLU (01)`)
    } catch (err) {
      // A codec error on a request we understood the RH of: -RSP 1001 rather than a crash.
      this.log.warn({ err: (err as Error).message, daf: piu.th.daf, oaf: piu.th.oaf }, 'PIU from the gateway could not be processed')
      this.rejectRaw(raw, piu, SscpSense.RU_DATA_ERROR, (err as Error).message)
    }
  }

  // ------------------------------------------------------------------ SSCP-PU

  private receiveSscpPu (piu: Piu, raw: Buffer): void {
    const rh = piu.rh!
    if (!rh.rri) {
      this.rejectRaw(raw, piu, SscpSense.FUNCTION_NOT_SUPPORTED, `${requestName(rh.category, rh.fi, piu.ru)} on the SSCP-PU session not supported`)
      return
    }
    const pending = this.takePending(piu)
    if (pending?.kind !== 'ACTPU') {
      this.log.warn({ snf: piu.th.snf }, 'SSCP-PU response matches no request; ignored')
      return
    }
    if ((rh as ResponseRh).rti) {
      const sense = responseSense(piu)!
      this.st = 'rejected'
      this.log.error({ event: 'actpu_rejected', sense: hex8(sense), senseName: senseName(sense) }, 'ACTPU rejected by the gateway')
      return
    }
    // §3.2: accept any +RSP whose RU starts with X'11'.
    if (piu.ru[0] !== RequestCode.ACTPU) this.log.warn({ ru0: piu.ru[0] }, '+RSP(ACTPU) does not start with X\'11\'; accepted anyway')
    this.st = 'active'
    this.log.info({ event: 'pu_active', lus: this.lus.size }, 'PU active; activating LUs')
    for (const lu of this.lus.values()) this.actlu(lu)
  }

  private actlu (lu: LuRecord): void {
    lu.state = 'pending-active'
    // §3.3 typical VTAM ACTLU 0D 01 01: cold, FM profile 0, TS profile 1.
    this.sendSscp({ daf: lu.address, efi: true }, commandRh('SC'),
      encodeActlu({ enhancedAddressManagement: false, dynamicAddress: false, activationType: 1, fmProfile: 0, tsProfile: 1, controlVectors: [] }),
      { kind: 'ACTLU', lu })
  }

  // ------------------------------------------------------------------ SSCP-LU

  private receiveSscpLu (piu: Piu, raw: Buffer): void {
    const rh = piu.rh!
    const lu = this.lus.get(piu.th.oaf)
    if (lu === undefined) {
      if (!rh.rri) this.rejectRaw(raw, piu, SscpSense.INVALID_ADDRESS, `OAF' ${piu.th.oaf} is not an LU of this PU`)
      return
    }
    if (rh.rri) {
      this.sscpLuResponse(lu, piu, rh as ResponseRh)
      return
    }
    if (lu.state !== 'active') {
      this.rejectRaw(raw, piu, SscpSense.LU_NOT_ACTIVE, `LU ${lu.name} has no active SSCP-LU session (${lu.state})`)
      return
    }
    const req = rh as RequestRh
    if (req.category === 'FMD' && req.fi) {
      const header = piu.ru.length >= 3 ? piu.ru.readUIntBE(0, 3) : -1
      switch (header) {
        case NsHeader.NOTIFY: {
          const n = decodeNotify(piu.ru)
          if (req.dr1 || req.dr2) this.send(positiveResponse(raw))
          this.notify(lu, n.enabled)
          return
        }
        case NsHeader.INITSELF:
        case NsHeader.INITSELF_FMT0: {
          const init = decodeInitSelf(piu.ru)
          const appl = ebcdicToName(init.pluName).trim()
          const problem = this.logonProblem(lu, appl)
          if (problem !== undefined) {
            this.rejectRaw(raw, piu, problem.sense, problem.message)
            return
          }
          this.send(positiveResponse(raw))
          this.startSession(lu, appl)
          return
        }
        case NsHeader.TERMSELF:
        case NsHeader.TERMSELF_FMT0: {
          decodeTermSelf(piu.ru)
          if (lu.session === undefined) {
            this.rejectRaw(raw, piu, SscpSense.NO_SESSION, `TERMSELF from ${lu.name} with no session`)
            return
          }
          this.send(positiveResponse(raw))
          lu.session.unbind(UnbindType.NORMAL, 'TERMSELF')
          return
        }
        default:
          this.rejectRaw(raw, piu, SscpSense.FUNCTION_NOT_SUPPORTED, `${requestName(req.category, req.fi, piu.ru)} not supported on the SSCP-LU session`)
          return
      }
    }
    if (req.category === 'FMD') {
      if (req.dr1 || req.dr2) {
        if (!req.eri) this.send(positiveResponse(raw))
      }
      this.ussInput(lu, piu.ru)
      return
    }
    this.rejectRaw(raw, piu, SscpSense.FUNCTION_NOT_SUPPORTED, `${requestName(req.category, req.fi, piu.ru)} not supported on the SSCP-LU session`)
  }

  private sscpLuResponse (lu: LuRecord, piu: Piu, rh: ResponseRh): void {
    const pending = this.takePending(piu)
    if (pending === undefined || pending.kind === 'ACTPU') {
      this.log.warn({ lu: lu.name, snf: piu.th.snf }, 'SSCP-LU response matches no request; ignored')
      return
    }
    if (pending.kind === 'DATA') {
      if (rh.rti) {
        const sense = responseSense(piu)!
        this.log.warn({ lu: lu.name, sense: hex8(sense), senseName: senseName(sense) }, 'USS message refused by the LU')
      }
      return
    }
    if (rh.rti) {
      const sense = responseSense(piu)!
      lu.state = 'rejected'
      lu.lastSense = sense
      this.log.warn({ lu: lu.name, event: 'actlu_rejected', sense: hex8(sense), senseName: senseName(sense) }, 'ACTLU rejected')
      return
    }
    lu.state = 'active'
    // +RSP(ACTLU) CV X'0C': 03 = powered on / enabled, 01 = off (§3.3, I3274). No CV: a terminal
    // that is always on, like a 3274 without the vector.
    let enabled = true
    try {
      const rsp = decodeActluResponse(piu.ru)
      const cv = rsp.controlVectors.find(v => v.key === 0x0c)
      if (cv !== undefined && cv.data.length > 0) enabled = cv.data[0] === 0x03
    } catch (err) {
      this.log.warn({ lu: lu.name, err: (err as Error).message }, '+RSP(ACTLU) body not understood; LU taken as enabled')
    }
    this.log.info({ lu: lu.name, event: 'lu_active', enabled }, 'LU active')
    if (enabled) this.notify(lu, true)
  }

  /** Terminal attached / detached (NOTIFY, or the ACTLU response's status vector). */
  private notify (lu: LuRecord, enabled: boolean): void {
    const was = lu.enabled
    lu.enabled = enabled
    this.log.info({ lu: lu.name, event: enabled ? 'slu_enabled' : 'slu_disabled' }, enabled ? 'terminal attached (SLU enabled)' : 'terminal detached (SLU disabled)')
    if (!enabled) {
      lu.defaultUsed = false
      // The terminal is gone: end what is left of its session (UNBIND cleanup, §3.7 type 0F).
      lu.session?.unbind(UnbindType.CLEANUP, 'SLU disabled')
      return
    }
    if (was || lu.session !== undefined) return
    this.greet(lu, undefined)
  }

  /** What a terminal sees with no LU-LU session: DEFAPPL's application, or the logon screen. */
  private greet (lu: LuRecord, message: string | undefined): void {
    const def = this.env.defaultApplication
    if (def !== null && !(this.env.defaultApplicationFirstOnly && lu.defaultUsed) && message === undefined) {
      lu.defaultUsed = true
      const problem = this.logonProblem(lu, def)
      if (problem === undefined) {
        this.startSession(lu, def)
        return
      }
      message = USS_MESSAGES.logonFailed(def, hex8(problem.sense))
    }
    this.logonScreen(lu, message)
  }

  private logonScreen (lu: LuRecord, message: string | undefined): void {
    const text = encodeSscpLuText(logonScreenLines({ host: this.env.host, lu: lu.name, applications: this.env.applications, message }))
    // §6.2: SSCP-LU data is character-coded FMD (FI=0); RQD1 as HERC sends it.
    this.sendSscp({ daf: lu.address, efi: false }, requestRh({ category: 'FMD', mode: 'RQD1' }), text, { kind: 'DATA', lu })
  }

  private ussInput (lu: LuRecord, ru: Buffer): void {
    const decoded = decodeSscpLuInput(ru)
    const cmd = typeof decoded === 'string' ? parseUssCommand(decoded, this.env.applications) : decoded
    switch (cmd.kind) {
      case 'empty':
      case 'clear':
        if (lu.session === undefined) this.logonScreen(lu, undefined)
        return
      case 'invalid':
        this.logonScreen(lu, cmd.message)
        return
      case 'logoff':
        if (lu.session === undefined) this.logonScreen(lu, USS_MESSAGES.notBound())
        else lu.session.unbind(UnbindType.NORMAL, 'USS LOGOFF')
        return
      case 'logon': {
        const appl = cmd.applid ?? this.env.defaultApplication
        if (appl === undefined || appl === null) {
          this.logonScreen(lu, USS_MESSAGES.omitted('APPLID'))
          return
        }
        const problem = this.logonProblem(lu, appl)
        if (problem !== undefined) {
          this.log.info({ lu: lu.name, application: appl, sense: hex8(problem.sense) }, 'logon refused')
          this.logonScreen(lu, problem.sense === SscpSense.UNKNOWN_PLU ? USS_MESSAGES.value('APPLID') : USS_MESSAGES.logonFailed(appl, hex8(problem.sense)))
          return
        }
        this.startSession(lu, appl)
      }
    }
  }

  /** Why a session for `appl` cannot start now (VTAM: the INIT fails with this sense). */
  private logonProblem (lu: LuRecord, appl: string): { sense: number, message: string } | undefined {
    if (!this.env.applications.includes(appl)) return { sense: SscpSense.UNKNOWN_PLU, message: `application ${appl} is not defined` }
    if (lu.session !== undefined) return { sense: SscpSense.FUNCTION_ACTIVE, message: `LU ${lu.name} already has a session with ${lu.session.application}` }
    // Fault: the application refuses the session (§4.1 0801 "application rejects the CINIT/logon").
    const sense = this.env.faults.takeBindReject(lu.name)
    if (sense !== undefined) return { sense, message: `fault: session start for ${lu.name} rejected with ${hex8(sense)}` }
    return undefined
  }

  private startSession (lu: LuRecord, appl: string): void {
    const b = this.env.bind
    const session = new PluSession({
      host: this.env.host,
      lu: lu.name,
      address: lu.address,
      application: appl,
      bind: lu2BindRu({ bind: b, application: appl, lu: lu.name }),
      rows: b.rows,
      cols: b.cols,
      maxRuPrimary: effectiveRuSize(b.maxRuPrimary),
      primarySendWindow: b.primarySendWindow,
      secondarySendWindow: b.secondarySendWindow,
      adaptive: b.adaptivePacing,
      clock: this.env.clock,
      logger: this.log,
      send: piu => this.send(piu),
      onEnded: info => this.sessionEnded(lu, session, info),
    })
    lu.session = session
    lu.lastSense = undefined
    this.log.info({ lu: lu.name, application: appl, event: 'bind' }, 'BIND sent')
    session.start()
  }

  private sessionEnded (lu: LuRecord, session: PluSession, info: { reason: string, byPlu: boolean, bindSense?: number }): void {
    if (lu.session !== session) return
    lu.session = undefined
    if (this.st !== 'active' || lu.state !== 'active') return
    if (info.bindSense !== undefined) {
      lu.lastSense = info.bindSense
      if (lu.enabled) this.logonScreen(lu, USS_MESSAGES.logonFailed(session.application, hex8(info.bindSense)))
      return
    }
    if (!lu.enabled) return
    // After a logoff VTAM shows the logon screen again; DEFAPPL (without FIRSTONLY) reconnects.
    if (info.byPlu && this.env.defaultApplication !== null && !this.env.defaultApplicationFirstOnly) {
      this.greet(lu, undefined)
      return
    }
    this.logonScreen(lu, USS_MESSAGES.sessionEnded(session.application))
  }

  // ------------------------------------------------------------------ LU-LU

  private receiveLuLu (piu: Piu, raw: Buffer): void {
    const lu = this.lus.get(piu.th.oaf)
    if (lu === undefined) {
      if (!piu.rh!.rri) this.rejectRaw(raw, piu, SscpSense.INVALID_ADDRESS, `OAF' ${piu.th.oaf} is not an LU of this PU`)
      return
    }
    if (lu.session === undefined) {
      if (!piu.rh!.rri) this.rejectRaw(raw, piu, SscpSense.NO_SESSION, `LU ${lu.name} has no LU-LU session`)
      else this.log.debug({ lu: lu.name }, 'response on an ended LU-LU session ignored')
      return
    }
    lu.session.receive(piu, raw)
  }

  // ------------------------------------------------------------------ helpers

  private sendSscp (to: { daf: number, efi: boolean }, rh: RequestRh, ru: Buffer, pending: SscpPending): void {
    this.snf = (this.snf % 0xffff) + 1
    this.pending.set(`${to.daf}:${to.efi ? 'x' : 'n'}:${this.snf}`, pending)
    this.send(encodePiu({ th: { mpf: 'whole', odai: false, efi: to.efi, daf: to.daf, oaf: 0, snf: this.snf }, rh, ru }))
  }

  private takePending (piu: Piu): SscpPending | undefined {
    const key = `${piu.th.oaf}:${piu.th.efi ? 'x' : 'n'}:${piu.th.snf}`
    const p = this.pending.get(key)
    this.pending.delete(key)
    return p
  }

  private rejectRaw (raw: Buffer, piu: Piu, sense: number, why: string): void {
    const rh = piu.rh
    this.log.warn({ daf: piu.th.daf, oaf: piu.th.oaf, sense: hex8(sense), senseName: senseName(sense), reason: why }, 'request from the gateway rejected')
    if (rh === undefined || rh.rri) return
    if (!rh.dr1 && !rh.dr2) return
    try {
      this.send(negativeResponse(raw, sense))
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not build a negative response')
    }
  }

  private send (piu: Buffer): boolean | void {
    if (this.st === 'closed') return
    return this.link.send(piu)
  }
}
