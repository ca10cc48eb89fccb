// Outbound (host → terminal) 3270 record parser: command, WCC, orders, structured fields.
// Layouts: sna-formats.md §6.2 (commands, WCC, orders, addresses); GA23-0059 ch. 3-5
// (order operands; structured field = 2-byte length including itself, 0 = to end of record,
// then a 1-byte id, or 2 bytes when the first is X'0F'/X'10').
// Anything that does not fit raises DATASTREAM_MALFORMED naming the offset.

import { ErrorCodes, lbError } from '../errors.js'
import { decodeAddress } from './address.js'
import { type CommandName, commandHasWcc, commandName, ExtendedAttribute, isFormatControl, Order } from './constants.js'
import { type CodePage, decode, DEFAULT_CODE_PAGE } from './ebcdic.js'
import { decodeFieldAttribute, decodeWcc, type FieldAttribute, type Wcc } from './fields.js'

export interface AttributePair { type: number; value: number }

export type OutboundOrder =
  | { order: 'SBA'; offset: number; address: number }
  | { order: 'SF'; offset: number; attribute: FieldAttribute }
  /** `attribute` comes from the X'C0' pair; without one the field is unprotected/normal (raw 0). */
  | { order: 'SFE'; offset: number; attribute: FieldAttribute; pairs: AttributePair[] }
  | { order: 'SA'; offset: number; type: number; value: number }
  | { order: 'MF'; offset: number; pairs: AttributePair[] }
  | { order: 'IC'; offset: number }
  | { order: 'PT'; offset: number }
  | { order: 'RA'; offset: number; address: number; char: number; ge: boolean }
  | { order: 'EUA'; offset: number; address: number }
  | { order: 'GE'; offset: number; char: number }
  | { order: 'TEXT'; offset: number; bytes: Buffer; text: string }

export interface StructuredField {
  offset: number
  /** 1-byte id, or (first << 8 | second) for the 2-byte ids starting X'0F' / X'10'. */
  id: number
  data: Buffer
}

export interface OutboundRecord {
  command: CommandName
  commandCode: number
  /** Present for W, EW, EWA. */
  wcc?: Wcc
  orders: OutboundOrder[]
  /** Present for WSF. */
  structuredFields?: StructuredField[]
}

export interface ParseOptions { cp?: CodePage }

function malformed (offset: number, what: string): never {
  throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `3270 data stream malformed at offset ${offset}: ${what}`)
}

function hex (b: number): string { return `X'${b.toString(16).toUpperCase().padStart(2, '0')}'` }

function need (buf: Uint8Array, at: number, n: number, what: string): void {
  if (at + n > buf.length) malformed(at, `${what} needs ${n} byte(s), record ends after ${buf.length - at}`)
}

/** Parse an outbound record (no TN3270E header, no IAC EOR). */
export function parseOutbound (buf: Uint8Array, opts: ParseOptions = {}): OutboundRecord {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  if (b.length === 0) malformed(0, 'empty record (no command byte)')
  const code = b[0] as number
  const command = commandName(code)
  if (command === undefined) malformed(0, `unknown command ${hex(code)}`)
  const rec: OutboundRecord = { command, commandCode: code, orders: [] }
  if (commandHasWcc(command)) {
    need(b, 1, 1, `${command} WCC`)
    rec.wcc = decodeWcc(b[1] as number)
    rec.orders = parseOrders(b, 2, opts.cp ?? DEFAULT_CODE_PAGE)
  } else if (command === 'WSF') {
    rec.structuredFields = parseStructuredFields(b, 1)
  } else if (b.length > 1) {
    // EAU / Read Buffer / Read Modified / Read Modified All carry no data (GA23-0059 ch. 3).
    malformed(1, `${b.length - 1} unexpected byte(s) after ${command} command ${hex(code)}`)
  }
  return rec
}

/** Parse the orders and data of a Write-type record starting at `start`. */
export function parseOrders (b: Buffer, start: number, cp: CodePage = DEFAULT_CODE_PAGE): OutboundOrder[] {
  const orders: OutboundOrder[] = []
  let i = start
  const pairs = (at: number, name: string): { list: AttributePair[]; next: number } => {
    need(b, at, 1, `${name} pair count`)
    const count = b[at] as number
    need(b, at + 1, count * 2, `${name} with ${count} attribute pair(s)`)
    const list: AttributePair[] = []
    for (let k = 0; k < count; k++) list.push({ type: b[at + 1 + 2 * k] as number, value: b[at + 2 + 2 * k] as number })
    return { list, next: at + 1 + count * 2 }
  }
  while (i < b.length) {
    const op = b[i] as number
    const at = i
    switch (op) {
      case Order.SBA:
      case Order.EUA: {
        const name = op === Order.SBA ? 'SBA' : 'EUA'
        need(b, i + 1, 2, `${name} address`)
        orders.push({ order: name, offset: at, address: decodeAddress(b[i + 1] as number, b[i + 2] as number) })
        i += 3
        break
      }
      case Order.SF:
        need(b, i + 1, 1, 'SF attribute')
        orders.push({ order: 'SF', offset: at, attribute: decodeFieldAttribute(b[i + 1] as number) })
        i += 2
        break
      case Order.SFE: {
        const p = pairs(i + 1, 'SFE')
        const fa = p.list.find((x) => x.type === ExtendedAttribute.FIELD)
        orders.push({ order: 'SFE', offset: at, attribute: decodeFieldAttribute(fa?.value ?? 0), pairs: p.list })
        i = p.next
        break
      }
      case Order.MF: {
        const p = pairs(i + 1, 'MF')
        orders.push({ order: 'MF', offset: at, pairs: p.list })
        i = p.next
        break
      }
      case Order.SA:
        need(b, i + 1, 2, 'SA type and value')
        orders.push({ order: 'SA', offset: at, type: b[i + 1] as number, value: b[i + 2] as number })
        i += 3
        break
      case Order.IC:
        orders.push({ order: 'IC', offset: at })
        i += 1
        break
      case Order.PT:
        orders.push({ order: 'PT', offset: at })
        i += 1
        break
      case Order.RA: {
        need(b, i + 1, 3, 'RA address and character')
        const address = decodeAddress(b[i + 1] as number, b[i + 2] as number)
        // RA's character may itself be a GE sequence (GA23-0059 "Repeat to Address").
        if (b[i + 3] === Order.GE) {
          need(b, i + 4, 1, 'RA graphic-escape character')
          orders.push({ order: 'RA', offset: at, address, char: b[i + 4] as number, ge: true })
          i += 5
        } else {
          orders.push({ order: 'RA', offset: at, address, char: b[i + 3] as number, ge: false })
          i += 4
        }
        break
      }
      case Order.GE:
        need(b, i + 1, 1, 'GE character')
        orders.push({ order: 'GE', offset: at, char: b[i + 1] as number })
        i += 2
        break
      default: {
        if (op < 0x40 && !isFormatControl(op)) malformed(at, `unknown order ${hex(op)}`)
        let j = i + 1
        while (j < b.length) {
          const c = b[j] as number
          if (c < 0x40 && !isFormatControl(c)) break
          j++
        }
        const bytes = Buffer.from(b.subarray(i, j))
        orders.push({ order: 'TEXT', offset: at, bytes, text: decode(bytes, cp) })
        i = j
      }
    }
  }
  return orders
}

/** Parse a list of structured fields (outbound WSF or inbound AID X'88'), starting at `start`. */
export function parseStructuredFields (b: Buffer, start: number): StructuredField[] {
  const out: StructuredField[] = []
  let i = start
  while (i < b.length) {
    need(b, i, 2, 'structured field length')
    let len = b.readUInt16BE(i)
    if (len === 0) len = b.length - i // length 0: the field runs to the end (GA23-0059 ch. 5)
    if (len < 3) malformed(i, `structured field length ${len} is below the minimum 3`)
    if (i + len > b.length) malformed(i, `structured field length ${len} exceeds the ${b.length - i} byte(s) left`)
    const first = b[i + 2] as number
    const twoByte = first === 0x0f || first === 0x10
    if (twoByte && len < 4) malformed(i, `structured field ${hex(first)}xx length ${len} leaves no room for its 2-byte id`)
    const id = twoByte ? (first << 8) | (b[i + 3] as number) : first
    out.push({ offset: i, id, data: Buffer.from(b.subarray(i + (twoByte ? 4 : 3), i + len)) })
    i += len
  }
  return out
}

