// Outbound (host → terminal) 3270 record parser: command, WCC, orders, structured fields.
// Layouts: IBM "3270 Data Stream Programmer's Reference", GA23-0059, ch. 3-5 (commands, WCC,
// orders and their operands, 12/14-bit addresses; a structured field is a 2-byte length that
// counts itself, 0 = to the end of the record, then a 1-byte id, or 2 bytes when the first is
// X'0F'/X'10').
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

/** One order (or run of data) read at `offset`, and where the next one starts. */
interface Decoded { order: OutboundOrder; next: number }
type OrderDecoder = (b: Buffer, at: number) => Decoded

/** A count byte, then `count` (type, value) pairs: the operands of SFE and MF. */
function attributePairs (b: Buffer, at: number, name: string): { list: AttributePair[]; next: number } {
  need(b, at, 1, `${name} pair count`)
  const count = b[at] as number
  need(b, at + 1, count * 2, `${name} with ${count} attribute pair(s)`)
  const list: AttributePair[] = []
  for (let k = 0; k < count; k++) list.push({ type: b[at + 1 + 2 * k] as number, value: b[at + 2 + 2 * k] as number })
  return { list, next: at + 1 + count * 2 }
}

function address (b: Buffer, at: number): number {
  return decodeAddress(b[at] as number, b[at + 1] as number)
}

// Buffer-address orders: the order byte and a 2-byte address.
const addressOrder = (order: 'SBA' | 'EUA'): OrderDecoder => (b, at) => {
  need(b, at + 1, 2, `${order} address`)
  return { order: { order, offset: at, address: address(b, at + 1) }, next: at + 3 }
}

// Orders without operands.
const bareOrder = (order: 'IC' | 'PT'): OrderDecoder => (_b, at) => ({ order: { order, offset: at }, next: at + 1 })

// Field and attribute orders: SF (one attribute byte), SFE and MF (attribute pairs), SA (one pair).
const startField: OrderDecoder = (b, at) => {
  need(b, at + 1, 1, 'SF attribute')
  return { order: { order: 'SF', offset: at, attribute: decodeFieldAttribute(b[at + 1] as number) }, next: at + 2 }
}
const startFieldExtended: OrderDecoder = (b, at) => {
  const p = attributePairs(b, at + 1, 'SFE')
  const fa = p.list.find((x) => x.type === ExtendedAttribute.FIELD)
  return { order: { order: 'SFE', offset: at, attribute: decodeFieldAttribute(fa?.value ?? 0), pairs: p.list }, next: p.next }
}
const modifyField: OrderDecoder = (b, at) => {
  const p = attributePairs(b, at + 1, 'MF')
  return { order: { order: 'MF', offset: at, pairs: p.list }, next: p.next }
}
const setAttribute: OrderDecoder = (b, at) => {
  need(b, at + 1, 2, 'SA type and value')
  return { order: { order: 'SA', offset: at, type: b[at + 1] as number, value: b[at + 2] as number }, next: at + 3 }
}

// Character orders: RA (address, then a character that may itself be a GE sequence,
// GA23-0059 "Repeat to Address") and GE (one character from the alternate set).
const repeatToAddress: OrderDecoder = (b, at) => {
  need(b, at + 1, 3, 'RA address and character')
  const to = address(b, at + 1)
  if (b[at + 3] !== Order.GE) return { order: { order: 'RA', offset: at, address: to, char: b[at + 3] as number, ge: false }, next: at + 4 }
  need(b, at + 4, 1, 'RA graphic-escape character')
  return { order: { order: 'RA', offset: at, address: to, char: b[at + 4] as number, ge: true }, next: at + 5 }
}
const graphicEscape: OrderDecoder = (b, at) => {
  need(b, at + 1, 1, 'GE character')
  return { order: { order: 'GE', offset: at, char: b[at + 1] as number }, next: at + 2 }
}

const ORDER_DECODERS: ReadonlyMap<number, OrderDecoder> = new Map([
  [Order.SBA, addressOrder('SBA')],
  [Order.EUA, addressOrder('EUA')],
  [Order.IC, bareOrder('IC')],
  [Order.PT, bareOrder('PT')],
  [Order.SF, startField],
  [Order.SFE, startFieldExtended],
  [Order.MF, modifyField],
  [Order.SA, setAttribute],
  [Order.RA, repeatToAddress],
  [Order.GE, graphicEscape],
])

/** Data: bytes up to the next order. Below X'40' only the format control orders are data. */
function textRun (b: Buffer, at: number, cp: CodePage): Decoded {
  const isOrder = (c: number): boolean => c < 0x40 && !isFormatControl(c)
  if (isOrder(b[at] as number)) malformed(at, `unknown order ${hex(b[at] as number)}`)
  let end = at + 1
  while (end < b.length && !isOrder(b[end] as number)) end++
  const bytes = Buffer.from(b.subarray(at, end))
  return { order: { order: 'TEXT', offset: at, bytes, text: decode(bytes, cp) }, next: end }
}

/** Parse the orders and data of a Write-type record starting at `start`. */
export function parseOrders (b: Buffer, start: number, cp: CodePage = DEFAULT_CODE_PAGE): OutboundOrder[] {
  const orders: OutboundOrder[] = []
  let i = start
  while (i < b.length) {
    const decoded = ORDER_DECODERS.get(b[i] as number)?.(b, i) ?? textRun(b, i, cp)
    orders.push(decoded.order)
    i = decoded.next
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

