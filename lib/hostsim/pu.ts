// The SSCP side of one gateway link: the gateway is a PU 2.0 with dependent LUs; the simulated
// host activates it the way VTAM activates a PU behind a boundary function, then each LU
// (host-lu.ts: SSCP-LU session, USS, LU-LU session).
//
//   link up (hello lists the LUs and their local addresses)
//     → ACTPU (SSCP-PU, DAF'=OAF'=00, expedited, RH 6B 80 00, RU 11 11 01 + SSCP ID; KB Q161492)
//     ← +RSP(ACTPU)                                   PU state: pending-active → active
//     → ACTLU per LU (host-lu.ts)
//
// The SSCP-PU session is the sna ActivationHalfSession in the primary role. Inbound routing by
// (DAF', OAF') (KB Q195170, Q267902): (00,00) SSCP-PU; (00,LU) SSCP-LU; (01,LU) LU-LU. ODAI = 1
// PIUs are LU 6.2 traffic and go to the APPC partner (docs/internals.md). A PIU no session can
// take gets a -RSP with a sense (when it asked for any response) and a log line.
import type { Clock, Timer } from '../clock.js'
import type { HostSimConfig } from '../config/index.js'
import type { Logger } from '../observability/index.js'
import { errorMessage } from '../errors.js'
import {
  ActivationHalfSession, RequestCode, Sense,
  decodePiu, encodeActpu, formatSense, negativeResponse, senseName,
  type ActivationEvent, type Decision, type Piu,
} from '../sna/index.js'
import type { Faults } from './faults.js'
import { PLU_ADDRESS, type SessionStatus } from './session.js'
import { HostLu, type LuState } from './host-lu.js'
import type { BindConfig } from './bindimage.js'

export type { LuState } from './host-lu.js'

/**
 * An LU the gateway's HELLO offers: `luType` 1 (SCS printer) or 3 (3270 data stream printer),
 * absent for a display (LU type 2); `printer`, a display's associated printer (docs/hostlink.md).
 */
export interface HelloLu { name: string, address: number, luType?: 1 | 3, printer?: string }

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
  /** The application printer LUs are bound to once their printer attaches (VTAM LOGAPPL). */
  printerApplication: string | null
  bind: BindConfig
  faults: Faults
  clock: Clock
  logger: Logger
  /** SSCP ID in ACTPU (6 bytes: X'05' + 5 bytes). */
  sscpId: Buffer
  /**
   * An LU of another PU of this host by name: a display's associated printer may be on another
   * of the gateway's PUs (docs/hostlink.md "PUs"). Absent = only the PU's own LUs.
   */
  findLu?: (name: string) => HostLu | undefined
}

/** The HostEnv a host simulator's config gives; one place for the SSCP ID. */
export function hostEnv (config: HostSimConfig, deps: { faults: Faults, clock: Clock, logger: Logger }): HostEnv {
  return {
    host: config.name,
    applications: config.applications,
    defaultApplication: config.defaultApplication,
    defaultApplicationFirstOnly: config.defaultApplicationFirstOnly,
    printerApplication: config.printerApplication ?? config.applications[0] ?? null,
    bind: config.bind,
    ...deps,
    // SSCP ID = X'05' + 5 bytes, as in VTAM's ACTPU of KB Q161492.
    sscpId: Buffer.from([0x05, 0x00, 0x00, 0x00, 0x00, 0x01]),
  }
}

export type PuState = 'pending-active' | 'active' | 'rejected' | 'closed'

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

export class PuController {
  private st: PuState = 'pending-active'
  private readonly lus = new Map<number, HostLu>()
  private readonly sscpPu = new ActivationHalfSession({ kind: 'sscp-pu', role: 'primary', localAddress: 0, remoteAddress: 0 })
  /** Requests from the gateway waiting out the response-delay fault, in arrival order. */
  private delayed: Array<{ at: number, piu: Buffer }> = []
  private delayTimer: Timer | undefined
  private readonly log: Logger

  constructor (private readonly link: PuLink, private readonly env: HostEnv, private readonly appc?: AppcSink) {
    this.log = env.logger.child({ gateway: link.node })
    const ctx = { env, log: this.log, send: (piu: Buffer) => this.send(piu), puActive: () => this.st === 'active', lu: (name: string) => this.luNamed(name) ?? env.findLu?.(name) }
    for (const lu of link.lus) {
      if (!Number.isInteger(lu.address) || lu.address < 1 || lu.address > 255 || this.lus.has(lu.address)) {
        this.log.warn({ lu: lu.name, address: lu.address }, 'hello LU with an unusable or duplicate local address ignored')
        continue
      }
      this.lus.set(lu.address, new HostLu(lu.name.toUpperCase(), lu.address, ctx, { luType: lu.luType ?? 2, ...(lu.printer === undefined ? {} : { printer: lu.printer.toUpperCase() }) }))
    }
  }

  get state (): PuState { return this.st }

  /** An LU of this PU by name (a display's associated printer). */
  luNamed (name: string): HostLu | undefined {
    for (const lu of this.lus.values()) if (lu.name === name) return lu
    return undefined
  }

  /** Link is up: activate the PU (cold ACTPU, activation type 1). */
  start (): void {
    this.st = 'pending-active'
    this.applyPu(this.sscpPu.activate(encodeActpu({ format: 1, activationType: 1, fmProfile: 0, tsProfile: 1, sscpId: this.env.sscpId, controlVectors: [] })))
    this.log.info({ event: 'actpu' }, 'ACTPU sent')
  }

  /** Link gone or host restart: every session is gone with it. */
  close (reason: string): void {
    if (this.st === 'closed') return
    this.st = 'closed'
    if (this.delayTimer !== undefined) this.env.clock.clearTimeout(this.delayTimer)
    this.delayTimer = undefined
    this.delayed = []
    for (const lu of this.lus.values()) lu.close(reason)
    this.sscpPu.reset()
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
        lastSense: lu.lastSense === undefined ? null : formatSense(lu.lastSense),
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
      // No usable TH/RH: nothing can be answered (FID2 has no length or DCF to resync on).
      this.log.warn({ err: errorMessage(err), bytes: raw.length }, 'undecodable PIU from the gateway dropped')
      return
    }
    if (piu.th.odai) {
      if (this.appc !== undefined) this.appc.receive(raw)
      else if (piu.rh !== undefined && !piu.rh.rri) this.refuse(piu, Sense.RESOURCE_NOT_AVAILABLE, 'LU 6.2 traffic but no LU 6.2 partner is configured')
      return
    }
    if (piu.rh === undefined || piu.th.mpf !== 'whole') {
      // FID2 segments are not produced by the gateway; refuse the first one, drop the rest.
      if (piu.rh !== undefined && !piu.rh.rri) this.refuse(piu, Sense.SEGMENTATION_ERROR, `MPF=${piu.th.mpf} segment not supported`)
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
    this.dispatch(piu)
  }

  private scheduleDelayed (): void {
    if (this.delayTimer !== undefined || this.delayed.length === 0) return
    const wait = Math.max(0, this.delayed[0]!.at - this.env.clock.now())
    this.delayTimer = this.env.clock.setTimeout(() => {
      this.delayTimer = undefined
      const now = this.env.clock.now()
      while (this.delayed.length > 0 && this.delayed[0]!.at <= now && this.st !== 'closed') {
        this.dispatch(decodePiu(this.delayed.shift()!.piu))
      }
      this.scheduleDelayed()
    }, wait)
  }

  private dispatch (piu: Piu): void {
    const { daf, oaf } = piu.th
    try {
      if (daf === 0 && oaf === 0) { this.applyPu(this.sscpPu.receive(piu)); return }
      if (daf !== 0 && daf !== PLU_ADDRESS) { this.refuse(piu, Sense.UNRECOGNIZED_DAF, `DAF' ${daf} is neither the SSCP (00) nor the PLU (01)`); return }
      const lu = this.lus.get(oaf)
      if (lu === undefined) { this.refuse(piu, Sense.INVALID_ADDRESS_COMBINATION, `OAF' ${oaf} is not an LU of this PU`); return }
      if (daf === 0) { lu.receiveSscp(piu); return }
      if (!lu.receiveLuLu(piu)) {
        if (piu.rh?.rri === true) this.log.debug({ lu: lu.name }, 'response on an ended LU-LU session ignored')
        else this.refuse(piu, Sense.NO_LU_LU_SESSION, `LU ${lu.name} has no LU-LU session`)
      }
    } catch (err) {
      // A codec error no session answered: -RSP 1001 rather than a crash.
      this.log.warn({ err: errorMessage(err), daf, oaf }, 'PIU from the gateway could not be processed')
      this.refuse(piu, Sense.RU_DATA_ERROR, errorMessage(err))
    }
  }

  // ------------------------------------------------------------------ SSCP-PU

  private applyPu (d: Decision<ActivationEvent>): void {
    for (const piu of d.send) this.send(piu)
    for (const ev of d.events) {
      switch (ev.type) {
        case 'active': this.puActive(ev.response ?? Buffer.alloc(0)); break
        case 'activation-failed':
          this.st = 'rejected'
          this.log.error({ event: 'actpu_rejected', sense: formatSense(ev.sense), senseName: senseName(ev.sense) }, 'ACTPU rejected by the gateway')
          break
        case 'request':
          this.answerPu(ev.piu.th.snf, ev.piu.th.efi, `${ev.name} on the SSCP-PU session not supported`)
          break
        case 'data':
          this.answerPu(ev.snf, ev.expedited, 'data on the SSCP-PU session not supported')
          break
        case 'protocol-error':
          this.log.warn({ reason: ev.reason, sense: ev.sense === undefined ? undefined : formatSense(ev.sense) }, 'SSCP-PU protocol error')
          break
        default:
      }
    }
  }

  private puActive (response: Buffer): void {
    // Any +RSP whose RU starts with X'11' is accepted: its body differs between PUs (i3274_cc.c, Hercules comm3705.c).
    if (response[0] !== RequestCode.ACTPU) this.log.warn({ ru0: response[0] }, '+RSP(ACTPU) does not start with X\'11\'; accepted anyway')
    this.st = 'active'
    this.log.info({ event: 'pu_active', lus: this.lus.size }, 'PU active; activating LUs')
    for (const lu of this.lus.values()) lu.activate()
  }

  /** -RSP 1003 to a request on the SSCP-PU session (NMVT, REQMS ...: not supported here). */
  private answerPu (snf: number, expedited: boolean, why: string): void {
    this.log.warn({ sense: formatSense(Sense.FUNCTION_NOT_SUPPORTED), reason: why }, 'request from the gateway rejected')
    if (this.sscpPu.owedResponse(snf, expedited) !== undefined) this.send(this.sscpPu.respond(snf, Sense.FUNCTION_NOT_SUPPORTED, { expedited }))
  }

  // ------------------------------------------------------------------ helpers

  /** -RSP to a request no session takes (when it asked for a response). */
  private refuse (piu: Piu, sense: number, why: string): void {
    const rh = piu.rh
    this.log.warn({ daf: piu.th.daf, oaf: piu.th.oaf, sense: formatSense(sense), senseName: senseName(sense), reason: why }, 'request from the gateway rejected')
    if (rh === undefined || rh.rri || (!rh.dr1 && !rh.dr2)) return
    try {
      this.send(negativeResponse(piu, sense))
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not build a negative response')
    }
  }

  private send (piu: Buffer): boolean | void {
    if (this.st === 'closed') return
    return this.link.send(piu)
  }
}
