// HELLO contents (docs/hostlink.md, "HELLO"): who is at the other end, which protocol version,
// and for the gateway side which dependent LUs it offers. Pure validation with named reasons.
import { ErrorCodes, lbError, Tn3270LbError } from '../errors.js'
import { PROTOCOL, PROTOCOL_VERSION } from './frame.js'

export type LinkRole = 'gateway' | 'host'

export interface LuOffer {
  /** LU name (1-8 of A-Z 0-9 @ # $). */
  name: string
  /** Local address on the PU, 1-255 (the LU's LOCADDR; ACTLU's DAF). */
  locaddr: number
  /**
   * What the LU is, as VTAM knows it from the LU's definition (its logon mode, "z/OS Communications
   * Server: SNA Resource Definition Reference", SC27-3675): 1 an SCS printer, 3 a 3270 data stream
   * printer; absent = 2, a display. Optional: a HELLO without it is a version 1 HELLO as before.
   */
  luType?: 1 | 3
  /**
   * A display LU's associated printer LU, where a print job for it goes: one of this HELLO's LUs
   * or of another PU's HELLO of the same gateway (docs/hostlink.md "PUs").
   */
  printer?: string
}

export interface Hello {
  protocol: typeof PROTOCOL
  version: number
  role: LinkRole
  /** PU name (gateway) or host (SSCP) name. */
  node: string
  /** Gateway side only. */
  lus?: LuOffer[]
}

const SNA_NAME = /^[A-Z@#$][A-Z0-9@#$]{0,7}$/

export function makeHello (role: LinkRole, node: string, lus?: LuOffer[]): Hello {
  const hello: Hello = { protocol: PROTOCOL, version: PROTOCOL_VERSION, role, node: node.toUpperCase() }
  if (role === 'gateway') hello.lus = (lus ?? []).map(l => offer(l.name.toUpperCase(), l.locaddr, l.luType, l.printer?.toUpperCase()))
  // Validate our own side with the same rules: a misconfigured node fails here, not at the peer.
  return validateHello(hello, role)
}

/** Checks a received HELLO; throws HOSTLINK_HELLO naming the first problem. */
export function validateHello (raw: unknown, expectRole: LinkRole, expectNode?: string): Hello {
  const hello = checkHello(raw, expectRole, expectNode)
  if (hello instanceof Tn3270LbError) throw hello
  return hello
}

const bad = (msg: string): Tn3270LbError => lbError(ErrorCodes.HOSTLINK_HELLO, msg)

/** The HELLO, or the HOSTLINK_HELLO error naming its first problem (for the link, which closes with it). */
export function checkHello (raw: unknown, expectRole: LinkRole, expectNode?: string): Hello | Tn3270LbError {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('HELLO is not a JSON object')
  const h = raw as Record<string, unknown>
  if (h.protocol !== PROTOCOL) return bad(`HELLO protocol ${JSON.stringify(h.protocol)}, expected "${PROTOCOL}"`)
  if (typeof h.version !== 'number' || !Number.isInteger(h.version)) return bad(`HELLO version ${JSON.stringify(h.version)} is not a whole number`)
  if (h.version !== PROTOCOL_VERSION) return bad(`unsupported protocol version ${h.version}; this node speaks version ${PROTOCOL_VERSION}`)
  if (h.role !== expectRole) return bad(`HELLO role ${JSON.stringify(h.role)}, expected "${expectRole}"`)
  if (typeof h.node !== 'string' || !SNA_NAME.test(h.node)) return bad(`HELLO node ${JSON.stringify(h.node)} is not an SNA name (1-8 of A-Z 0-9 @ # $)`)
  if (expectNode !== undefined && h.node !== expectNode.toUpperCase()) return bad(`HELLO node ${h.node}, expected ${expectNode.toUpperCase()}`)
  const hello: Hello = { protocol: PROTOCOL, version: h.version, role: expectRole, node: h.node }
  if (expectRole === 'host') return h.lus === undefined ? hello : bad('host HELLO must not carry "lus"')
  if (!Array.isArray(h.lus)) return bad('gateway HELLO has no "lus" array')
  const lus = checkLus(h.lus)
  if (lus instanceof Tn3270LbError) return lus
  hello.lus = lus
  return hello
}

/** A gateway's LU offers: SNA names and LOCADDRs 1-255, each used once. */
function checkLus (list: unknown[]): LuOffer[] | Tn3270LbError {
  const names = new Set<string>()
  const addrs = new Set<number>()
  const out: LuOffer[] = []
  for (const [i, l] of list.entries()) {
    const lu = (typeof l === 'object' && l !== null ? l : {}) as Record<string, unknown>
    if (typeof lu.name !== 'string' || !SNA_NAME.test(lu.name)) return bad(`HELLO lus[${i}].name ${JSON.stringify(lu.name)} is not an SNA name`)
    if (typeof lu.locaddr !== 'number' || !Number.isInteger(lu.locaddr) || lu.locaddr < 1 || lu.locaddr > 255) return bad(`HELLO lus[${i}].locaddr ${JSON.stringify(lu.locaddr)} is not 1-255`)
    if (names.has(lu.name)) return bad(`HELLO lus[${i}]: LU ${lu.name} listed twice`)
    if (addrs.has(lu.locaddr)) return bad(`HELLO lus[${i}]: locaddr ${lu.locaddr} used twice`)
    if (lu.luType !== undefined && lu.luType !== 1 && lu.luType !== 3) return bad(`HELLO lus[${i}].luType ${JSON.stringify(lu.luType)} is not 1 or 3 (omit it for a display, LU type 2)`)
    if (lu.printer !== undefined && (typeof lu.printer !== 'string' || !SNA_NAME.test(lu.printer))) return bad(`HELLO lus[${i}].printer ${JSON.stringify(lu.printer)} is not an SNA name`)
    names.add(lu.name)
    addrs.add(lu.locaddr)
    out.push(offer(lu.name, lu.locaddr, lu.luType, lu.printer))
  }
  return out
}

function offer (name: string, locaddr: number, luType: 1 | 3 | undefined, printer: string | undefined): LuOffer {
  return { name, locaddr, ...(luType === undefined ? {} : { luType }), ...(printer === undefined ? {} : { printer }) }
}
