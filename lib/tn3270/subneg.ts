// TN3270E subnegotiation bodies (the bytes between `IAC SB TN3270E` and `IAC SE`), RFC 2355 §8
// and the device-type/functions negotiation of §7.1–§7.2. Pure codec.
import { ErrorCodes, lbError } from '../errors.js'
import { Op, REASON_CODE, reasonName, type RejectReason } from './constants.js'

export type Tn3270eMessage =
  | { kind: 'send-device-type' } // SEND DEVICE-TYPE (server -> client; verb first, §8)
  | { kind: 'device-type-request', deviceType: string, connect?: string, associate?: string }
  | { kind: 'device-type-is', deviceType: string, device: string }
  | { kind: 'device-type-reject', reason: RejectReason }
  | { kind: 'functions-request', functions: number[] }
  | { kind: 'functions-is', functions: number[] }

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1')

export function encodeTn3270e (m: Tn3270eMessage): Buffer {
  switch (m.kind) {
    case 'send-device-type': return Buffer.from([Op.SEND, Op.DEVICE_TYPE])
    case 'device-type-request': {
      const parts = [Buffer.from([Op.DEVICE_TYPE, Op.REQUEST]), ascii(m.deviceType)]
      if (m.connect !== undefined) parts.push(Buffer.from([Op.CONNECT]), ascii(m.connect))
      else if (m.associate !== undefined) parts.push(Buffer.from([Op.ASSOCIATE]), ascii(m.associate))
      return Buffer.concat(parts)
    }
    case 'device-type-is':
      return Buffer.concat([Buffer.from([Op.DEVICE_TYPE, Op.IS]), ascii(m.deviceType), Buffer.from([Op.CONNECT]), ascii(m.device)])
    case 'device-type-reject':
      return Buffer.from([Op.DEVICE_TYPE, Op.REJECT, Op.REASON, REASON_CODE[m.reason]])
    case 'functions-request': return Buffer.from([Op.FUNCTIONS, Op.REQUEST, ...m.functions])
    case 'functions-is': return Buffer.from([Op.FUNCTIONS, Op.IS, ...m.functions])
  }
}

const malformed = (why: string, body: Uint8Array): Error =>
  lbError(ErrorCodes.TN3270E_MALFORMED, `malformed TN3270E subnegotiation (${why}): ${Buffer.from(body).toString('hex')}`)

// Device types and names are NVT-ASCII printable characters (RFC 2355 §7.1.1; RFC 1091).
function text (body: Uint8Array, what: string): string {
  for (const b of body) if (b < 0x21 || b > 0x7e) throw malformed(`${what} contains byte 0x${b.toString(16)}`, body)
  return Buffer.from(body).toString('latin1')
}

export function decodeTn3270e (body: Uint8Array): Tn3270eMessage {
  if (body.length < 2) throw malformed('shorter than 2 bytes', body)
  const [a, b] = [body[0]!, body[1]!]
  if (a === Op.SEND && b === Op.DEVICE_TYPE && body.length === 2) return { kind: 'send-device-type' }
  if (a === Op.DEVICE_TYPE) {
    const rest = body.subarray(2)
    if (b === Op.REQUEST) {
      // REQUEST <device-type> [CONNECT <resource-name> | ASSOCIATE <device-name>] (§7.1.1)
      const sep = rest.findIndex((x) => x === Op.CONNECT || x === Op.ASSOCIATE)
      const type = text(sep === -1 ? rest : rest.subarray(0, sep), 'device-type')
      if (type.length === 0) throw malformed('empty device-type', body)
      if (sep === -1) return { kind: 'device-type-request', deviceType: type }
      const name = text(rest.subarray(sep + 1), 'resource name')
      if (name.length === 0) throw malformed('empty resource name', body)
      return rest[sep] === Op.CONNECT
        ? { kind: 'device-type-request', deviceType: type, connect: name }
        : { kind: 'device-type-request', deviceType: type, associate: name }
    }
    if (b === Op.IS) {
      const sep = rest.indexOf(Op.CONNECT)
      if (sep === -1) throw malformed('IS without CONNECT', body)
      return { kind: 'device-type-is', deviceType: text(rest.subarray(0, sep), 'device-type'), device: text(rest.subarray(sep + 1), 'device name') }
    }
    if (b === Op.REJECT) {
      const reason = rest.length === 2 && rest[0] === Op.REASON ? reasonName(rest[1]!) : undefined
      if (reason === undefined) throw malformed('bad REJECT REASON', body)
      return { kind: 'device-type-reject', reason }
    }
  }
  if (a === Op.FUNCTIONS && (b === Op.REQUEST || b === Op.IS)) {
    const functions = [...body.subarray(2)]
    if (new Set(functions).size !== functions.length) throw malformed('function listed twice', body)
    return { kind: b === Op.REQUEST ? 'functions-request' : 'functions-is', functions }
  }
  throw malformed('unknown command', body)
}
