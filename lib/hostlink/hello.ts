// HELLO contents (docs/hostlink.md, "HELLO"): who is at the other end, which protocol version,
// and for the gateway side which dependent LUs it offers. Pure validation with named reasons.
import { ErrorCodes, lbError } from '../errors.js'
import { PROTOCOL, PROTOCOL_VERSION } from './frame.js'

export type LinkRole = 'gateway' | 'host'

export interface LuOffer {
  /** LU name (1-8 of A-Z 0-9 @ # $). */
  name: string
  /** Local address on the PU, 1-255 (the LU's LOCADDR; ACTLU's DAF). */
  locaddr: number
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
  if (role === 'gateway') hello.lus = (lus ?? []).map(l => ({ name: l.name.toUpperCase(), locaddr: l.locaddr }))
  // Validate our own side with the same rules: a misconfigured node fails here, not at the peer.
  return validateHello(hello, role)
}

/** Checks a received HELLO; throws HOSTLINK_HELLO naming the first problem. */
export function validateHello (raw: unknown, expectRole: LinkRole, expectNode?: string): Hello {
  const bad = (msg: string) => lbError(ErrorCodes.HOSTLINK_HELLO, msg)
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('HELLO is not a JSON object')
  const h = raw as Record<string, unknown>
  if (h.protocol !== PROTOCOL) throw bad(`HELLO protocol ${JSON.stringify(h.protocol)}, expected "${PROTOCOL}"`)
  if (typeof h.version !== 'number' || !Number.isInteger(h.version)) throw bad(`HELLO version ${JSON.stringify(h.version)} is not a whole number`)
  if (h.version !== PROTOCOL_VERSION) throw bad(`unsupported protocol version ${h.version}; this node speaks version ${PROTOCOL_VERSION}`)
  if (h.role !== expectRole) throw bad(`HELLO role ${JSON.stringify(h.role)}, expected "${expectRole}"`)
  if (typeof h.node !== 'string' || !SNA_NAME.test(h.node)) throw bad(`HELLO node ${JSON.stringify(h.node)} is not an SNA name (1-8 of A-Z 0-9 @ # $)`)
  if (expectNode !== undefined && h.node !== expectNode.toUpperCase()) throw bad(`HELLO node ${h.node}, expected ${expectNode.toUpperCase()}`)
  const hello: Hello = { protocol: PROTOCOL, version: h.version, role: expectRole, node: h.node }
  if (expectRole === 'gateway') {
    if (!Array.isArray(h.lus)) throw bad('gateway HELLO has no "lus" array')
    const names = new Set<string>()
    const addrs = new Set<number>()
    hello.lus = h.lus.map((l: unknown, i: number) => {
      const lu = (typeof l === 'object' && l !== null ? l : {}) as Record<string, unknown>
      if (typeof lu.name !== 'string' || !SNA_NAME.test(lu.name)) throw bad(`HELLO lus[${i}].name ${JSON.stringify(lu.name)} is not an SNA name`)
      if (typeof lu.locaddr !== 'number' || !Number.isInteger(lu.locaddr) || lu.locaddr < 1 || lu.locaddr > 255) throw bad(`HELLO lus[${i}].locaddr ${JSON.stringify(lu.locaddr)} is not 1-255`)
      if (names.has(lu.name)) throw bad(`HELLO lus[${i}]: LU ${lu.name} listed twice`)
      if (addrs.has(lu.locaddr)) throw bad(`HELLO lus[${i}]: locaddr ${lu.locaddr} used twice`)
      names.add(lu.name); addrs.add(lu.locaddr)
      return { name: lu.name, locaddr: lu.locaddr }
    })
  } else if (h.lus !== undefined) {
    throw bad('host HELLO must not carry "lus"')
  }
  return hello
}
