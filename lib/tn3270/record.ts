// One 3270 record in either direction, decoded the same way for both roles: in TN3270E the
// 5-byte header (RFC 2355 §8.1) says what the record is; in TN3270 every record is 3270 data
// (RFC 1576 §2). Pure.
import { ResponseKind, type DataType } from './constants.js'
import { decodeMessage } from './header.js'

/** Data from the peer: 3270 / SCS / SSCP-LU / NVT data (RFC 2355 §8.1.1). */
export interface SessionData {
  type: '3270-DATA' | 'SCS-DATA' | 'SSCP-LU-DATA' | 'NVT-DATA'
  data: Buffer
  /** SEQ-NUMBER of the peer's message (0 in TN3270 mode). */
  seq: number
  /** RESPONSE-FLAG: NO-RESPONSE 0, ERROR-RESPONSE 1, ALWAYS-RESPONSE 2 (0 in TN3270 mode). */
  responseFlag: number
}

/** A RESPONSE message from the peer (RFC 2355 §10.2): the SEQ it answers, and the verdict. */
export interface SessionResponse {
  seq: number
  positive: boolean
  code: number
}

export type DecodedRecord =
  | { kind: 'data', data: SessionData }
  | { kind: 'response', response: SessionResponse }
  /** PRINT-EOJ: the end of a print job (RFC 2355 §10.3; a host's, to a printer client). */
  | { kind: 'print-eoj' }
  /** A message type that means nothing coming from this peer (BIND-IMAGE from a client, REQUEST, ...). */
  | { kind: 'ignored', dataType: DataType }

/** Decode one record; throws TN3270E_MALFORMED on a bad TN3270E header. */
export function decodeRecord (mode: 'tn3270' | 'tn3270e', rec: Buffer): DecodedRecord {
  if (mode === 'tn3270') return { kind: 'data', data: { type: '3270-DATA', data: rec, seq: 0, responseFlag: 0 } }
  const { header, data } = decodeMessage(rec)
  switch (header.dataType) {
    case '3270-DATA': case 'SCS-DATA': case 'SSCP-LU-DATA': case 'NVT-DATA':
      return { kind: 'data', data: { type: header.dataType, data, seq: header.seq, responseFlag: header.responseFlag } }
    case 'RESPONSE':
      return { kind: 'response', response: { seq: header.seq, positive: header.responseFlag === ResponseKind.POSITIVE, code: data[0] ?? 0 } }
    case 'PRINT-EOJ':
      return { kind: 'print-eoj' }
    default:
      return { kind: 'ignored', dataType: header.dataType }
  }
}
