// FUNCTIONS negotiation decision (RFC 2355 §7.2). Pure.
import { FUNCTION_CODE } from './constants.js'

/**
 * Functions this server grants on a session, each exactly when the session will use it:
 * BIND-IMAGE only when the LU's session will send BINDs; SYSREQ for displays (a printer has no
 * SYSREQ key); SCS-CTL-CODES for an LU type 1 printer (SCS-DATA) and DATA-STREAM-CTL for an LU
 * type 3 printer (3270-DATA), the "printer sessions only" functions of RFC 2355 §10.3 — a display
 * session gets neither (RFC 2355 §9: with neither agreed, TN3270E is a terminal session).
 */
export function supportedFunctions (bindImage: boolean, printer?: 'lu1' | 'lu3'): Set<number> {
  const s = new Set([FUNCTION_CODE.RESPONSES])
  if (printer === undefined) s.add(FUNCTION_CODE.SYSREQ)
  else s.add(printer === 'lu1' ? FUNCTION_CODE['SCS-CTL-CODES'] : FUNCTION_CODE['DATA-STREAM-CTL'])
  // Granting BIND-IMAGE without ever sending a BIND leaves s3270 connected-unbound (measured with s3270 4.1; docs/tn3270.md).
  if (bindImage) s.add(FUNCTION_CODE['BIND-IMAGE'])
  return s
}

export type FunctionsReply =
  | { verb: 'IS', functions: number[] } // agree: the negotiation is complete
  | { verb: 'REQUEST', functions: number[] } // counter-proposal: a strict subset of what the peer asked for

/**
 * Answer a peer's FUNCTIONS REQUEST: IS with the same list when we support all of it, otherwise
 * REQUEST with the common subset (never a function the client did not ask for). The client then
 * answers IS (x3270: "They want what we want, or less. Done.").
 */
export function answerFunctionsRequest (requested: readonly number[], supported: ReadonlySet<number>): FunctionsReply {
  const common = [...new Set(requested)].filter((f) => supported.has(f)).sort((a, b) => a - b)
  const same = common.length === new Set(requested).size
  return same ? { verb: 'IS', functions: common } : { verb: 'REQUEST', functions: common }
}

/** A FUNCTIONS IS from the peer is acceptable only if it adds nothing to what we proposed. */
export function isAcceptableIs (proposed: readonly number[], is: readonly number[]): boolean {
  const p = new Set(proposed)
  return is.every((f) => p.has(f))
}
