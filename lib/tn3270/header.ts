// The 5-byte TN3270E message header (RFC 2355 §8.1): DATA-TYPE, REQUEST-FLAG, RESPONSE-FLAG,
// SEQ-NUMBER (16-bit big-endian). IAC doubling is the telnet layer's job, not this one's.
import { ErrorCodes, lbError } from '../errors.js'
import { DATA_TYPE_CODE, dataTypeName, type DataType } from './constants.js'

export const HEADER_LENGTH = 5

export interface Tn3270eHeader {
  dataType: DataType
  requestFlag: number
  responseFlag: number
  seq: number
}

export interface DecodedMessage {
  header: Tn3270eHeader
  data: Buffer
}

export function encodeHeader (h: Tn3270eHeader): Buffer {
  if (!Number.isInteger(h.seq) || h.seq < 0 || h.seq > 0xffff) throw new RangeError(`TN3270E SEQ-NUMBER out of range: ${h.seq}`)
  const b = Buffer.allocUnsafe(HEADER_LENGTH) // every byte is written below
  b[0] = DATA_TYPE_CODE[h.dataType]
  b[1] = h.requestFlag & 0xff
  b[2] = h.responseFlag & 0xff
  b.writeUInt16BE(h.seq, 3)
  return b
}

export function encodeMessage (h: Tn3270eHeader, data: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeHeader(h), data])
}

/** Split a TN3270E record into header and data; throws TN3270E_MALFORMED. */
export function decodeMessage (record: Uint8Array): DecodedMessage {
  if (record.length < HEADER_LENGTH) {
    throw lbError(ErrorCodes.TN3270E_MALFORMED, `TN3270E record of ${record.length} bytes is shorter than the 5-byte header`)
  }
  const dataType = dataTypeName(record[0]!)
  if (dataType === undefined) throw lbError(ErrorCodes.TN3270E_MALFORMED, `unknown TN3270E DATA-TYPE 0x${record[0]!.toString(16).padStart(2, '0')}`)
  // A Buffer is used as it is (the telnet layer gave the record its own memory): no copy.
  const buf = Buffer.isBuffer(record) ? record : Buffer.from(record)
  return {
    header: { dataType, requestFlag: buf[1]!, responseFlag: buf[2]!, seq: buf.readUInt16BE(3) },
    data: buf.subarray(HEADER_LENGTH),
  }
}
