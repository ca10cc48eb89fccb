// TN3270E constants (RFC 2355 §8 (subnegotiation codes) and §8.1 (header); the same values as
// x3270's include/tn3270e.h).

/** Subnegotiation command bytes (RFC 2355 §8, "TN3270E Telnet option subnegotiation"). */
export const Op = {
  ASSOCIATE: 0,
  CONNECT: 1,
  DEVICE_TYPE: 2,
  FUNCTIONS: 3,
  IS: 4,
  REASON: 5,
  REJECT: 6,
  REQUEST: 7,
  SEND: 8,
} as const

export type RejectReason = 'CONN-PARTNER' | 'DEVICE-IN-USE' | 'INV-ASSOCIATE' | 'INV-NAME'
  | 'INV-DEVICE-TYPE' | 'TYPE-NAME-ERROR' | 'UNKNOWN-ERROR' | 'UNSUPPORTED-REQ'

/** REJECT REASON codes (RFC 2355 §8). */
export const REASON_CODE: Record<RejectReason, number> = {
  'CONN-PARTNER': 0,
  'DEVICE-IN-USE': 1,
  'INV-ASSOCIATE': 2,
  'INV-NAME': 3,
  'INV-DEVICE-TYPE': 4,
  'TYPE-NAME-ERROR': 5,
  'UNKNOWN-ERROR': 6,
  'UNSUPPORTED-REQ': 7,
}

export const REJECT_REASONS = Object.keys(REASON_CODE) as RejectReason[]

export function reasonName (code: number): RejectReason | undefined {
  return REJECT_REASONS.find((r) => REASON_CODE[r] === code)
}

/** Function codes (RFC 2355 §8; 5 and 6 from the later extensions draft, recognised but never granted). */
export type Tn3270eFunction = 'BIND-IMAGE' | 'DATA-STREAM-CTL' | 'RESPONSES' | 'SCS-CTL-CODES' | 'SYSREQ'
  | 'CONTENTION-RESOLUTION' | 'SNA-SENSE'

export const FUNCTION_CODE: Record<Tn3270eFunction, number> = {
  'BIND-IMAGE': 0,
  'DATA-STREAM-CTL': 1,
  RESPONSES: 2,
  'SCS-CTL-CODES': 3,
  SYSREQ: 4,
  'CONTENTION-RESOLUTION': 5,
  'SNA-SENSE': 6,
}

export function functionName (code: number): Tn3270eFunction | undefined {
  return (Object.keys(FUNCTION_CODE) as Tn3270eFunction[]).find((f) => FUNCTION_CODE[f] === code)
}

/** Header DATA-TYPE values (RFC 2355 §8.1.1). */
export type DataType = '3270-DATA' | 'SCS-DATA' | 'RESPONSE' | 'BIND-IMAGE' | 'UNBIND' | 'NVT-DATA'
  | 'REQUEST' | 'SSCP-LU-DATA' | 'PRINT-EOJ'

export const DATA_TYPE_CODE: Record<DataType, number> = {
  '3270-DATA': 0x00,
  'SCS-DATA': 0x01,
  RESPONSE: 0x02,
  'BIND-IMAGE': 0x03,
  UNBIND: 0x04,
  'NVT-DATA': 0x05,
  REQUEST: 0x06,
  'SSCP-LU-DATA': 0x07,
  'PRINT-EOJ': 0x08,
}

export function dataTypeName (code: number): DataType | undefined {
  return (Object.keys(DATA_TYPE_CODE) as DataType[]).find((d) => DATA_TYPE_CODE[d] === code)
}

/** RESPONSE-FLAG on 3270-DATA / SCS-DATA (RFC 2355 §8.1.3). */
export const ResponseFlag = { NO_RESPONSE: 0x00, ERROR_RESPONSE: 0x01, ALWAYS_RESPONSE: 0x02 } as const
/** RESPONSE-FLAG on a RESPONSE message (RFC 2355 §8.1.3). */
export const ResponseKind = { POSITIVE: 0x00, NEGATIVE: 0x01 } as const
/** REQUEST-FLAG (RFC 2355 §8.1.2): ERR-COND-CLEARED on a REQUEST message. */
export const RequestFlag = { ERR_COND_CLEARED: 0x00 } as const
/** RESPONSE data byte (RFC 2355 §10.2): positive DEVICE-END; negative reasons. */
export const ResponseCode = {
  DEVICE_END: 0x00,
  COMMAND_REJECT: 0x00,
  INTERVENTION_REQUIRED: 0x01,
  OPERATION_CHECK: 0x02,
  COMPONENT_DISCONNECTED: 0x03,
} as const

/** SEQ-NUMBER is 15 bits in practice: x3270 and z/OS wrap 32767 -> 0. */
export const SEQ_MASK = 0x7fff
