// Sense-code catalogue: sna-formats.md §4.1 (BIND/CNOS relevant), §4.3 (3270 LU senses), §1/§2.4 (2001, 2011).
// Sense data = 2-byte category+modifier, 2-byte sense-code-specific information (§2.3).
import { ErrorCodes, lbError } from '../errors.js'

/** Full 4-byte codes with their own meaning (checked first). */
const EXACT: Record<number, string> = {
  0x08010001: 'Resource not available: independent LU received ACTLU',
  0x08010009: 'Resource not available: LU pending delete',
  0x0801000a: 'Resource not available: PLU being taken down, do not retry',
  0x08050000: 'Session limit exceeded',
  0x08050001: 'Session limit exceeded: BIND would violate CNOS contention-winner limits',
  0x08050008: 'Session limit exceeded: dependent LU session limit',
  0x08050009: 'Session limit exceeded: PLU limit',
  0x0805000a: 'Session limit exceeded: SLU limit',
  0x0805000b: 'Session limit exceeded: session exists and parallel sessions not supported',
  0x08060011: 'Resource unknown: OLU name',
  0x08060012: 'Resource unknown: DLU name',
  0x08060013: 'Resource unknown: SLU name',
  0x08060014: 'Resource unknown: PLU name',
  0x0806002a: 'Resource unknown: NAU name in ACTLU does not match',
  0x080f6051: 'Security mismatch: access security information invalid',
  0x0812000d: 'Insufficient resource: buffers to activate a session',
  0x08150004: 'Function active: BIND received when session already active',
  0x08210001: 'Invalid session parameters: mode name at LU not valid',
  0x08210002: 'Invalid session parameters: mode name not recognized',
  0x08350001: 'Invalid parameter: BIND type (negotiable/non-negotiable)',
  0x0835000a: 'Invalid parameter: SLU maximum RU size',
  0x0835000b: 'Invalid parameter: PLU maximum RU size',
  0x08350018: 'Invalid parameter: parallel-session/sync-level byte',
  0x08460000: 'ERP message forthcoming',
  0x084b6031: 'TP not available, retry allowed',
  0x084c0000: 'TP not available, no retry',
  0x08640000: 'Function terminated: deallocate abend',
  0x08890000: 'Transaction program error, no truncation',
  0x08890001: 'Transaction program error, truncation',
  0x10086000: 'Invalid FM header: length wrong',
  0x1008600b: 'Invalid FM header: unrecognized FMH command',
  0x10086021: 'Invalid FM header: TP name not recognized',
  0x10086031: 'Invalid FM header: PIP not allowed',
  0x10086032: 'Invalid FM header: PIP not specified correctly',
  0x10086034: 'Invalid FM header: conversation type mismatch',
  0x10086040: 'Invalid FM header: invalid attach parameter',
  0x10086041: 'Invalid FM header: sync level not supported',
  0x20110000: 'Pacing error: request received after pacing count reached 0',
  0x20110001: 'Pacing error: unexpected IPM',
  0x20110002: 'Pacing error: unexpected pacing request',
  0x20110003: 'Pacing error: PI set in a non-IPM response under adaptive pacing',
  0x80050001: 'No session: non-SC request with no LU-LU session',
  0x80050004: 'No session: UNBIND with no session',
  0x800f0001: 'FID2 ODAI setting in received BIND incorrect',
}

/** Category+modifier (first 2 bytes). */
const CATEGORY_MODIFIER: Record<number, string> = {
  0x0801: 'Resource not available',
  0x0802: 'Intervention required',
  0x0805: 'Session limit exceeded',
  0x0806: 'Resource unknown',
  0x0809: 'Mode inconsistency',
  0x080b: 'Bracket race error',
  0x080f: 'Security mismatch',
  0x0812: 'Insufficient resource',
  0x0813: 'Bracket bid reject, no RTR forthcoming',
  0x0814: 'Bracket bid reject, RTR forthcoming',
  0x0815: 'Function active',
  0x081b: 'Receiver in transmit mode',
  0x081c: 'Request not executable',
  0x0821: 'Invalid session parameters',
  0x0829: 'Change direction required',
  0x082b: 'Presentation space integrity lost',
  0x082d: 'LU busy',
  0x0835: 'Invalid parameter (with pointer)',
  0x0839: 'LU-LU session being taken down',
  0x0843: 'WCC print bit not sent',
  0x0846: 'ERP message forthcoming',
  0x084b: 'TP not available, retry allowed',
  0x084c: 'TP not available, no retry',
  0x0863: 'Character set does not exist',
  0x0864: 'Function terminated',
  0x0871: 'Read partition state error',
  0x0889: 'Transaction program error',
  0x1003: 'Function not supported',
  0x1005: 'Parameter invalid',
  0x1007: 'Category not supported',
  0x1008: 'Invalid FM header',
  0x2001: 'Sequence number error',
  0x2002: 'Chaining error',
  0x2003: 'Bracket error',
  0x2004: 'Direction error',
  // 2005, 4014, 8004: SNA Formats sense list from memory, not in sna-formats.md [UNCONFIRMED]
  0x2005: 'Data traffic reset',
  0x2011: 'Pacing error',
  0x4014: 'Incorrect DR1I/DR2I/ERI combination',
  0x8004: 'Unrecognized DAF',
  0x8005: 'No session',
  0x8009: 'LU not active',
  0x800f: 'FID2 ODAI error',
}

/** Category (first byte). */
const CATEGORY: Record<number, string> = {
  0x08: 'Request reject',
  0x10: 'Request error',
  0x20: 'State error',
  0x40: 'RH usage error',
  0x80: 'Path error',
}

/** Well-known codes as constants. */
export const Sense = {
  SESSION_LIMIT_EXCEEDED: 0x08050000,
  RESOURCE_UNKNOWN: 0x08060000,
  INVALID_SESSION_PARAMETERS: 0x08210000,
  INVALID_PARAMETER: 0x08350000,
  FUNCTION_ACTIVE: 0x08150000,
  RESOURCE_NOT_AVAILABLE: 0x08010000,
  INSUFFICIENT_RESOURCE: 0x08120000,
  INTERVENTION_REQUIRED: 0x08020000,
  /** RU length error: the RU is shorter than its format needs (request-reject category 10). */
  RU_LENGTH_ERROR: 0x10020000,
  FUNCTION_NOT_SUPPORTED: 0x10030000,
  SEQUENCE_ERROR: 0x20010000,
  CHAINING_ERROR: 0x20020000,
  BRACKET_ERROR: 0x20030000,
  DIRECTION_ERROR: 0x20040000,
  DATA_TRAFFIC_RESET: 0x20050000,
  PACING_ERROR: 0x20110000,
  INVALID_RESPONSE_MODE: 0x40140000,
  UNRECOGNIZED_DAF: 0x80040000,
  NO_SESSION: 0x80050000,
  NO_LU_LU_SESSION: 0x80050001,
  LU_NOT_ACTIVE: 0x80090000,
} as const

/** Description of a 4-byte sense code; 0835 codes include the pointer, unknown ones the category. */
export function senseName (sense: number): string {
  const exact = EXACT[sense >>> 0]
  if (exact !== undefined) return exact
  const cm = (sense >>> 16) & 0xffff
  const info = sense & 0xffff
  if (cm === 0x0835) return `Invalid parameter at offset ${info}`
  const named = CATEGORY_MODIFIER[cm]
  if (named !== undefined) return named
  const cat = CATEGORY[cm >> 8]
  return cat !== undefined ? `${cat} (modifier X'${(cm & 0xff).toString(16).padStart(2, '0').toUpperCase()}')` : `Unknown sense ${formatSense(sense)}`
}

/** 'XXXXXXXX' upper-case hex. */
export function formatSense (sense: number): string {
  return (sense >>> 0).toString(16).toUpperCase().padStart(8, '0')
}

/** Parses 'XXXXXXXX' (optionally X'…' or 0x…) into a sense code. */
export function parseSense (text: string): number {
  const m = /^(?:0x|X')?([0-9a-fA-F]{8})'?$/.exec(text.trim())
  if (m === null) throw lbError(ErrorCodes.SNA_SENSE, `sense "${text}" is not 8 hex digits`)
  return parseInt(m[1]!, 16) >>> 0
}
