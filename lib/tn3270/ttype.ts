// TERMINAL-TYPE subnegotiation bodies (the bytes between `IAC SB TERMINAL-TYPE` and `IAC SE`),
// RFC 1091: the server sends SEND (1), the client answers IS (0) <NVT-ASCII name>. Pure codec,
// shared by the server and the client negotiators.
import { ErrorCodes, lbError } from '../errors.js'

/** TTYPE subnegotiation verbs (RFC 1091 "Command Names and Codes"). */
export const TTYPE_IS = 0
export const TTYPE_SEND = 1

export type TtypeMessage = { kind: 'send' } | { kind: 'is', name: string }

export function encodeTtype (m: TtypeMessage): Buffer {
  if (m.kind === 'send') return Buffer.from([TTYPE_SEND])
  return Buffer.concat([Buffer.from([TTYPE_IS]), Buffer.from(m.name, 'latin1')])
}

/**
 * Decode a TERMINAL-TYPE body; throws TELNET_PROTOCOL on anything else. A name is printable
 * NVT ASCII (RFC 1091), which also keeps log lines and the `@NAME` split honest.
 */
export function decodeTtype (body: Uint8Array): TtypeMessage {
  const hex = Buffer.from(body).toString('hex')
  if (body.length === 1 && body[0] === TTYPE_SEND) return { kind: 'send' }
  if (body.length < 2 || body[0] !== TTYPE_IS) throw lbError(ErrorCodes.TELNET_PROTOCOL, `malformed TERMINAL-TYPE subnegotiation: ${hex}`)
  const name = body.subarray(1)
  for (const b of name) if (b < 0x21 || b > 0x7e) throw lbError(ErrorCodes.TELNET_PROTOCOL, `terminal type contains byte 0x${b.toString(16)}`)
  return { kind: 'is', name: Buffer.from(name).toString('latin1') }
}
