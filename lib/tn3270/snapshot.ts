// A server negotiation stopped at the client's device request, as data: what another process
// needs to continue it on the same client byte stream (docs/tn3270.md, "Negotiation snapshot").
// Pure codec, versioned and length-checked, small enough to ride in a PROXY v2 TLV
// (HAProxy doc/proxy-protocol.txt §2.2).
import { ErrorCodes, errorMessage, isLbError, lbError } from '../errors.js'
import { decodeTn3270e, encodeTn3270e } from './subneg.js'
import { decodeTtype, encodeTtype } from './ttype.js'

export const SNAPSHOT_VERSION = 1

/** A telnet option in force, from the server's point of view: local = the server's side, remote = the client's. */
export interface AgreedOption { option: number, local: boolean, remote: boolean }

/** TN3270E DEVICE-TYPE REQUEST fields exactly as the client sent them (RFC 2355 §7.1.1). */
export interface DeviceTypeRequest { deviceType: string, connect?: string, associate?: string }

export type NegotiationSnapshot =
  | { mode: 'tn3270e', options: AgreedOption[], request: DeviceTypeRequest }
  | {
    mode: 'tn3270'
    options: AgreedOption[]
    /** The TERMINAL-TYPE IS name exactly as received, `@NAME` included (RFC 1091; RFC 1646 era). */
    terminalType: string
    /** The name the client sent before this one (refused): a repeat of it ends the client's list (RFC 1091). */
    previousTerminalType?: string
    /** Why that name was refused, told to the client if its list runs out. */
    lastRefusal?: string
  }

const MODE_TN3270 = 0x00
const MODE_TN3270E = 0x01
const LOCAL = 0x01
const REMOTE = 0x02

const malformed = (why: string): Error => lbError(ErrorCodes.TN3270_SNAPSHOT_MALFORMED, `negotiation snapshot: ${why}`)

function prefixed (b: Buffer, what: string): Buffer {
  if (b.length > 0xffff) throw malformed(`${what} longer than 65535 bytes`)
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

/** An optional text field: empty when absent, else printable ASCII (RFC 1091 names, log-safe messages). */
function textField (text: string | undefined, what: string): Buffer {
  if (text !== undefined && !/^[\x20-\x7e]+$/.test(text)) throw malformed(`${what} must be 1 or more printable ASCII characters`)
  return prefixed(Buffer.from(text ?? '', 'latin1'), what)
}

function encodeOptions (options: readonly AgreedOption[]): Buffer {
  if (options.length > 255) throw malformed(`${options.length} options (at most 255)`)
  const seen = new Set<number>()
  const out = Buffer.alloc(1 + 2 * options.length)
  out[0] = options.length
  options.forEach((o, i) => {
    if (!Number.isInteger(o.option) || o.option < 0 || o.option > 255) throw malformed(`option ${o.option} out of range`)
    if (seen.has(o.option)) throw malformed(`option ${o.option} listed twice`)
    if (!o.local && !o.remote) throw malformed(`option ${o.option} listed with neither side enabled`)
    seen.add(o.option)
    out[1 + 2 * i] = o.option
    out[2 + 2 * i] = (o.local ? LOCAL : 0) | (o.remote ? REMOTE : 0)
  })
  return out
}

/**
 * Layout (all lengths big-endian u16): version, mode, option count n, n × (option, flags),
 * request body length + body (the subnegotiation body as received: DEVICE-TYPE REQUEST for
 * TN3270E, TERMINAL-TYPE IS for TN3270), previous terminal type length + text, last refusal
 * length + text (both empty for TN3270E).
 */
export function encodeSnapshot (s: NegotiationSnapshot): Buffer {
  // The same validation as on the wire: a snapshot never carries what a client could not send.
  const body = requestBody(() => {
    if (s.mode === 'tn3270') {
      const b = encodeTtype({ kind: 'is', name: s.terminalType })
      decodeTtype(b)
      return b
    }
    const r = s.request
    if (r.connect !== undefined && r.associate !== undefined) throw malformed('a DEVICE-TYPE REQUEST has CONNECT or ASSOCIATE, not both')
    const b = encodeTn3270e({ kind: 'device-type-request', ...r })
    const m = decodeTn3270e(b)
    // A separator byte inside a name would read back as another field.
    if (m.kind !== 'device-type-request' || m.deviceType !== r.deviceType || m.connect !== r.connect || m.associate !== r.associate) {
      throw malformed('DEVICE-TYPE REQUEST fields must be printable ASCII')
    }
    return b
  })
  return Buffer.concat([
    Buffer.from([SNAPSHOT_VERSION, s.mode === 'tn3270e' ? MODE_TN3270E : MODE_TN3270]),
    encodeOptions(s.options),
    prefixed(body, 'request'),
    textField(s.mode === 'tn3270' ? s.previousTerminalType : undefined, 'previous terminal type'),
    textField(s.mode === 'tn3270' ? s.lastRefusal : undefined, 'last refusal'),
  ])
}

class Reader {
  private at = 0
  constructor (private readonly buf: Uint8Array) {}
  get left (): number { return this.buf.length - this.at }
  byte (what: string): number {
    if (this.left < 1) throw malformed(`truncated at offset ${this.at} (${what})`)
    return this.buf[this.at++]!
  }

  chunk (what: string): Buffer {
    const len = (this.byte(`${what} length`) << 8) | this.byte(`${what} length`)
    if (this.left < len) throw malformed(`${what} of ${len} bytes but only ${this.left} left`)
    const out = Buffer.from(this.buf.subarray(this.at, this.at + len))
    this.at += len
    return out
  }
}

function decodeOptions (r: Reader): AgreedOption[] {
  const n = r.byte('option count')
  const options: AgreedOption[] = []
  for (let i = 0; i < n; i++) {
    const option = r.byte('option')
    const flags = r.byte('option flags')
    if ((flags & ~(LOCAL | REMOTE)) !== 0 || flags === 0) throw malformed(`option ${option} has flags 0x${flags.toString(16)}`)
    if (options.some((o) => o.option === option)) throw malformed(`option ${option} listed twice`)
    options.push({ option, local: (flags & LOCAL) !== 0, remote: (flags & REMOTE) !== 0 })
  }
  return options
}

function text (b: Buffer, what: string): string | undefined {
  if (b.length === 0) return undefined
  for (const c of b) if (c < 0x20 || c > 0x7e) throw malformed(`${what} contains byte 0x${c.toString(16)}`)
  return b.toString('latin1')
}

/** Run a request-body codec, reporting its errors as snapshot errors. */
function requestBody<T> (fn: () => T): T {
  try { return fn() } catch (err) {
    if (isLbError(err, ErrorCodes.TN3270_SNAPSHOT_MALFORMED)) throw err
    throw malformed(`request body: ${errorMessage(err)}`)
  }
}

/** Decode a snapshot; throws TN3270_SNAPSHOT_MALFORMED naming what is wrong. */
export function decodeSnapshot (buf: Uint8Array): NegotiationSnapshot {
  const r = new Reader(buf)
  const version = r.byte('version')
  if (version !== SNAPSHOT_VERSION) throw malformed(`unsupported version ${version} (this build reads ${SNAPSHOT_VERSION})`)
  const mode = r.byte('mode')
  if (mode !== MODE_TN3270 && mode !== MODE_TN3270E) throw malformed(`unknown mode 0x${mode.toString(16)}`)
  const options = decodeOptions(r)
  const body = r.chunk('request')
  const previous = text(r.chunk('previous terminal type'), 'previous terminal type')
  const refusal = text(r.chunk('last refusal'), 'last refusal')
  if (r.left !== 0) throw malformed(`${r.left} bytes after the last field`)
  if (mode === MODE_TN3270E) {
    if (previous !== undefined || refusal !== undefined) throw malformed('a TN3270E snapshot carries no terminal-type history')
    return requestBody(() => {
      const m = decodeTn3270e(body)
      if (m.kind !== 'device-type-request') throw malformed(`request is ${m.kind}, not a DEVICE-TYPE REQUEST`)
      const { kind: _kind, ...request } = m
      return { mode: 'tn3270e', options, request }
    })
  }
  return requestBody(() => {
    const m = decodeTtype(body)
    if (m.kind !== 'is') throw malformed('request is TERMINAL-TYPE SEND, not IS')
    return {
      mode: 'tn3270',
      options,
      terminalType: m.name,
      ...(previous === undefined ? {} : { previousTerminalType: previous }),
      ...(refusal === undefined ? {} : { lastRefusal: refusal }),
    }
  })
}
