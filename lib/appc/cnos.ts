// CNOS — Change Number of Sessions (SC31-6808 CNOS; trace in KB Q308927). The request
// and the reply are GDS variable X'1210', exchanged on mode SNASVCMG with service TP X'06F1'.
import { ErrorCodes, lbError } from '../errors.js'
import { decodeGdsAll, encodeGds, GDS_CNOS } from './gds.js'
import { modeNameBytes, modeNameFrom } from './ebcdic.js'

export const SNASVCMG = 'SNASVCMG'
/** SC31-6808 CNOS: the CNOS service TP name, X'06F1' (not EBCDIC text). */
export const CNOS_TP = Buffer.from([0x06, 0xf1])

// SC31-6808 CNOS byte 4: request X'02', reply X'08' (values from the Q308927 trace; bit meanings [UNCONFIRMED])
export const CNOS_REQUEST = 0x02
export const CNOS_REPLY = 0x08

/**
 * SC31-6808 CNOS byte 5 reply modifier: reserved and zero in requests (KB Q308927). X'02' "abnormal — mode
 * name not recognized" is confirmed; 00 accepted / 01 negotiated follow the APPC/PC return codes
 * 0000 / 0001 quoted in SC31-6808 CNOS [UNCONFIRMED as wire values].
 */
export const ReplyModifier = {
  ACCEPTED: 0x00,
  NEGOTIATED: 0x01,
  MODE_NOT_RECOGNIZED: 0x02,
} as const

export interface CnosLimits {
  /** Session limit (15 bits). */
  sessionLimit: number
  /** Minimum contention winners for the source LU (the one that sent the CNOS request). */
  sourceWinners: number
  /** Minimum contention winners for the target LU. */
  targetWinners: number
}

export interface CnosVariable extends CnosLimits {
  kind: 'request' | 'reply'
  replyModifier: number
  action: number
  drain: number
  deactivationResponsibility: number
  /** Byte 15: 00 = the one mode named (Linux-SNA affect_mode_names) [polarity UNCONFIRMED]. */
  modeSelect: number
  mode: string
}

function malformed (what: string): Error { return lbError(ErrorCodes.APPC_MALFORMED, `CNOS X'1210': ${what}`) }

function check15 (v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fff) throw malformed(`${what} ${v} out of range 0-32767`)
}

/** Encodes the whole GDS variable (LL and ID included). Requests always carry reply modifier 00. */
export function encodeCnos (v: Omit<CnosVariable, 'replyModifier' | 'action' | 'drain' | 'deactivationResponsibility' | 'modeSelect'> & Partial<CnosVariable>): Buffer {
  check15(v.sessionLimit, 'session limit')
  check15(v.sourceWinners, 'source contention winners')
  check15(v.targetWinners, 'target contention winners')
  const mode = modeNameBytes(v.mode)
  if (mode.length > 8) throw malformed(`mode name '${v.mode}' longer than 8`)
  const body = Buffer.alloc(13 + mode.length)
  body[0] = v.kind === 'request' ? CNOS_REQUEST : CNOS_REPLY
  // KB Q308927: the reply modifier is reserved in a request and must be X'00', never a stale reply's
  body[1] = v.kind === 'request' ? 0 : (v.replyModifier ?? 0)
  body[2] = v.action ?? 0
  body[3] = v.drain ?? 0
  body[4] = v.deactivationResponsibility ?? 0
  body.writeUInt16BE(v.sessionLimit, 5)
  body.writeUInt16BE(v.sourceWinners, 7)
  body.writeUInt16BE(v.targetWinners, 9)
  body[11] = v.modeSelect ?? 0
  body[12] = mode.length
  mode.copy(body, 13)
  return encodeGds(GDS_CNOS, body)
}

export function decodeCnos (buf: Buffer): CnosVariable {
  const vars = decodeGdsAll(buf)
  if (vars.length !== 1) throw malformed(`expected one GDS variable, got ${vars.length}`)
  const { id, data } = vars[0]!
  if (id !== GDS_CNOS) throw malformed(`GDS id X'${id.toString(16).toUpperCase()}' is not X'1210'`)
  if (data.length < 13) throw malformed(`body of ${data.length} bytes is shorter than 13`)
  const kind = data[0] === CNOS_REQUEST ? 'request' : data[0] === CNOS_REPLY ? 'reply' : undefined
  if (kind === undefined) throw malformed(`type byte X'${data[0]!.toString(16).toUpperCase()}' is neither request (02) nor reply (08)`)
  const mlen = data[12]!
  if (13 + mlen !== data.length) throw malformed(`mode name length ${mlen} does not match the ${data.length - 13} bytes left`)
  return {
    kind,
    replyModifier: data[1]!,
    action: data[2]!,
    drain: data[3]!,
    deactivationResponsibility: data[4]!,
    sessionLimit: data.readUInt16BE(5) & 0x7fff,
    sourceWinners: data.readUInt16BE(7) & 0x7fff,
    targetWinners: data.readUInt16BE(9) & 0x7fff,
    modeSelect: data[11]!,
    mode: modeNameFrom(data.subarray(13)),
  }
}

export interface TargetModeDefinition {
  /** The target's own maximum for the mode (0 = it accepts no sessions). */
  sessionLimit: number
  /** Contention winners the target wants for itself. */
  minWinners: number
}

/**
 * Target side of CNOS (pure). Rules [UNCONFIRMED architecture memory, SC31-6808 CNOS]: the target may lower
 * the session limit, never raise it; it keeps at least its own minimum winners where the limit
 * allows (capped by what the source asked for plus its own minimum), lowers the source's winners
 * so that source + target ≤ limit. Unknown mode → reply modifier X'02' and zero limits.
 */
export function negotiateCnos (req: CnosLimits, def: TargetModeDefinition | undefined): CnosLimits & { replyModifier: number } {
  if (def === undefined) return { sessionLimit: 0, sourceWinners: 0, targetWinners: 0, replyModifier: ReplyModifier.MODE_NOT_RECOGNIZED }
  const sessionLimit = Math.min(req.sessionLimit, def.sessionLimit)
  const targetWinners = Math.min(Math.max(req.targetWinners, def.minWinners), sessionLimit)
  const sourceWinners = Math.min(req.sourceWinners, sessionLimit - targetWinners)
  const same = sessionLimit === req.sessionLimit && sourceWinners === req.sourceWinners && targetWinners === req.targetWinners
  return { sessionLimit, sourceWinners, targetWinners, replyModifier: same ? ReplyModifier.ACCEPTED : ReplyModifier.NEGOTIATED }
}

export type CnosOutcome =
  | { ok: true, limits: CnosLimits, negotiated: boolean }
  | { ok: false, reason: string }

/**
 * Source side (pure): checks a reply against the request it answers. The target may only lower
 * values; winners must fit in the limit; the reply must name the mode asked for (and a one-mode
 * request must not come back as "all modes" — CICS DFHZC0161 check, SC31-6808 CNOS).
 */
export function acceptCnosReply (req: CnosLimits & { mode: string }, reply: CnosVariable): CnosOutcome {
  if (reply.kind !== 'reply') return { ok: false, reason: 'partner sent a CNOS request where a reply was expected' }
  if (reply.replyModifier === ReplyModifier.MODE_NOT_RECOGNIZED) return { ok: false, reason: `partner does not recognise mode ${req.mode} (reply modifier X'02')` }
  if (reply.replyModifier !== ReplyModifier.ACCEPTED && reply.replyModifier !== ReplyModifier.NEGOTIATED) {
    return { ok: false, reason: `partner answered with reply modifier X'${reply.replyModifier.toString(16).toUpperCase().padStart(2, '0')}'` }
  }
  if (reply.mode !== req.mode.toUpperCase()) return { ok: false, reason: `reply names mode ${reply.mode}, request was for ${req.mode}` }
  if (reply.modeSelect !== 0) return { ok: false, reason: 'reply for one mode came back as "all modes"' }
  if (reply.sessionLimit > req.sessionLimit) return { ok: false, reason: `reply raised the session limit from ${req.sessionLimit} to ${reply.sessionLimit}` }
  if (reply.sourceWinners + reply.targetWinners > reply.sessionLimit) {
    return { ok: false, reason: `reply winners ${reply.sourceWinners}+${reply.targetWinners} exceed its session limit ${reply.sessionLimit}` }
  }
  const limits = { sessionLimit: reply.sessionLimit, sourceWinners: reply.sourceWinners, targetWinners: reply.targetWinners }
  const negotiated = limits.sessionLimit !== req.sessionLimit || limits.sourceWinners !== req.sourceWinners || limits.targetWinners !== req.targetWinners
  return { ok: true, limits, negotiated }
}

/** Validates operator/config limits before a CNOS request goes out. */
export function checkRequestedLimits (l: CnosLimits): string | undefined {
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fff) return `${k} must be an integer 0-32767, got ${String(v)}`
  }
  if (l.sourceWinners + l.targetWinners > l.sessionLimit) {
    return `minWinners ${l.sourceWinners} + minPartnerWinners ${l.targetWinners} exceed sessionLimit ${l.sessionLimit}`
  }
  return undefined
}
