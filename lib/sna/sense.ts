// The one table of SNA sense codes this code base sends or interprets (gateway, host simulator,
// APPC). Source: "SNA Formats", GA27-3136, chapter "Sense Data": sense data is 4 bytes, bytes 0-1
// = category and modifier, bytes 2-3 = sense-code-specific information (0000 = none applies).
// Where a meaning was checked against a public copy, the entry's comment names it: IBM z/OS
// Communications Server "SNA Sense Codes" (cs3cod0 pages such as sc0805, sc1001, sc2011) and the
// Microsoft Host Integration Server pages "State errors (category X'20')", "RH usage errors
// (category X'40')", "Path errors (category X'80')", "Logical unit sense codes" and "Sense data
// specific to LU 6.2". `unconfirmed` marks a value no retrievable copy confirmed.
import { ErrorCodes, lbError } from '../errors.js'

export interface SenseDefinition {
  /** The 4-byte sense data. */
  value: number
  /** Short meaning of this exact value. */
  meaning: string
  /** Meaning of the category+modifier as a whole (for xxxx values without their own entry). */
  family?: string
  /** Why the entry is not confirmed by a public copy of the manual. */
  unconfirmed?: string
}

const NOT_FOUND = 'not found in a retrievable copy of GA27-3136 or of the IBM/Microsoft sense-code pages'

/** Every sense code by name. Values ending in 0000 also describe their whole category+modifier. */
export const SENSE_CODES = {
  // ---- X'08' request reject
  RESOURCE_NOT_AVAILABLE: { value: 0x08010000, meaning: 'Resource not available' },
  RESOURCE_NOT_AVAILABLE_INDEPENDENT_LU: { value: 0x08010001, meaning: 'Resource not available: independent LU received ACTLU' },
  RESOURCE_NOT_AVAILABLE_PENDING_DELETE: { value: 0x08010009, meaning: 'Resource not available: LU pending delete' },
  RESOURCE_NOT_AVAILABLE_PLU_ENDING: { value: 0x0801000a, meaning: 'Resource not available: PLU being taken down, do not retry' },
  /** Microsoft HIS "Logical unit sense codes". */
  INTERVENTION_REQUIRED: { value: 0x08020000, meaning: 'Intervention required' },
  /** IBM sc0805; 0805 0000 also after a VTAM re-IPL until CNOS runs again. */
  SESSION_LIMIT_EXCEEDED: { value: 0x08050000, meaning: 'Session limit exceeded' },
  SESSION_LIMIT_CNOS_WINNERS: { value: 0x08050001, meaning: 'Session limit exceeded: BIND would violate CNOS contention-winner limits' },
  SESSION_LIMIT_DEPENDENT_LU: { value: 0x08050008, meaning: 'Session limit exceeded: dependent LU session limit' },
  SESSION_LIMIT_PLU: { value: 0x08050009, meaning: 'Session limit exceeded: PLU limit' },
  SESSION_LIMIT_SLU: { value: 0x0805000a, meaning: 'Session limit exceeded: SLU limit' },
  SESSION_LIMIT_NO_PARALLEL: { value: 0x0805000b, meaning: 'Session limit exceeded: session exists and parallel sessions not supported' },
  RESOURCE_UNKNOWN: { value: 0x08060000, meaning: 'Resource unknown' },
  RESOURCE_UNKNOWN_OLU: { value: 0x08060011, meaning: 'Resource unknown: OLU name' },
  RESOURCE_UNKNOWN_DLU: { value: 0x08060012, meaning: 'Resource unknown: DLU name' },
  RESOURCE_UNKNOWN_SLU: { value: 0x08060013, meaning: 'Resource unknown: SLU name' },
  RESOURCE_UNKNOWN_PLU: { value: 0x08060014, meaning: 'Resource unknown: PLU name' },
  RESOURCE_UNKNOWN_ACTLU_NAME: { value: 0x0806002a, meaning: 'Resource unknown: NAU name in ACTLU does not match' },
  /** KB Q216202: CICS refused the BIND; bytes 2-3 out of the architected range are a CICS message number. */
  RESOURCE_UNKNOWN_CICS_3426: { value: 0x08063426, meaning: 'Resource unknown: BIND refused by CICS (bytes 2-3 = CICS message 3426)' },
  MODE_INCONSISTENCY: { value: 0x08090000, meaning: 'Mode inconsistency' },
  BRACKET_RACE: { value: 0x080b0000, meaning: 'Bracket race error' },
  SECURITY_MISMATCH: { value: 0x080f0000, meaning: 'Security mismatch' },
  ACCESS_SECURITY_INVALID: { value: 0x080f6051, meaning: 'Security mismatch: access security information invalid' },
  INSUFFICIENT_RESOURCE: { value: 0x08120000, meaning: 'Insufficient resource' },
  INSUFFICIENT_BUFFERS: { value: 0x0812000d, meaning: 'Insufficient resource: buffers to activate a session' },
  BID_REJECT_NO_RTR: { value: 0x08130000, meaning: 'Bracket bid reject, no RTR forthcoming' },
  /** Microsoft HIS "Sense data specific to LU 6.2". */
  BID_REJECT_RTR_FORTHCOMING: { value: 0x08140000, meaning: 'Bracket bid reject, RTR forthcoming' },
  /** IBM sc0815. */
  FUNCTION_ACTIVE: { value: 0x08150000, meaning: 'Function active' },
  FUNCTION_ACTIVE_LFSID_IN_USE: { value: 0x08150004, meaning: 'Function active: BIND received when session already active' },
  RECEIVER_IN_TRANSMIT_MODE: { value: 0x081b0000, meaning: 'Receiver in transmit mode' },
  REQUEST_NOT_EXECUTABLE: { value: 0x081c0000, meaning: 'Request not executable' },
  INVALID_SESSION_PARAMETERS: { value: 0x08210000, meaning: 'Invalid session parameters' },
  INVALID_MODE_NAME: { value: 0x08210001, meaning: 'Invalid session parameters: mode name at LU not valid' },
  MODE_NAME_NOT_RECOGNIZED: { value: 0x08210002, meaning: 'Invalid session parameters: mode name not recognized' },
  CHANGE_DIRECTION_REQUIRED: { value: 0x08290000, meaning: 'Change direction required' },
  PRESENTATION_SPACE_LOST: { value: 0x082b0000, meaning: 'Presentation space integrity lost' },
  LU_BUSY: { value: 0x082d0000, meaning: 'LU busy' },
  /** The gateway's answer for a TN3270E COMPONENT-DISCONNECTED negative response (RFC 2355 §10.4). */
  LU_COMPONENT_DISCONNECTED: { value: 0x08310000, meaning: 'LU component disconnected', unconfirmed: NOT_FOUND },
  /** Bytes 2-3: 0-origin offset of the bad field in the RU (BIND X'31' = offset 0, KB Q157444). */
  INVALID_PARAMETER: { value: 0x08350000, meaning: 'Invalid parameter (with pointer)' },
  BIND_TYPE_INVALID: { value: 0x08350001, meaning: 'Invalid parameter: BIND type (negotiable/non-negotiable)' },
  SLU_MAX_RU_INVALID: { value: 0x0835000a, meaning: 'Invalid parameter: SLU maximum RU size' },
  PLU_MAX_RU_INVALID: { value: 0x0835000b, meaning: 'Invalid parameter: PLU maximum RU size' },
  PARALLEL_SESSIONS_INVALID: { value: 0x08350018, meaning: 'Invalid parameter: parallel-session/sync-level byte' },
  SESSION_BEING_TAKEN_DOWN: { value: 0x08390000, meaning: 'LU-LU session being taken down' },
  /** IBM sc083a: "LU not enabled ... not ready to accept CINIT or BIND requests". */
  LU_NOT_ENABLED: { value: 0x083a0000, meaning: 'LU not enabled' },
  WCC_PRINT_BIT_NOT_SENT: { value: 0x08430000, meaning: 'WCC print bit not sent' },
  ERP_MESSAGE_FORTHCOMING: { value: 0x08460000, meaning: 'ERP message forthcoming' },
  TP_NOT_AVAILABLE_RETRY: { value: 0x084b6031, meaning: 'TP not available, retry allowed' },
  TP_NOT_AVAILABLE_NO_RETRY: { value: 0x084c0000, meaning: 'TP not available, no retry' },
  CHARACTER_SET_UNKNOWN: { value: 0x08630000, meaning: 'Character set does not exist' },
  DEALLOCATE_ABEND: { value: 0x08640000, meaning: 'Function terminated: deallocate abend', family: 'Function terminated' },
  READ_PARTITION_STATE_ERROR: { value: 0x08710000, meaning: 'Read partition state error' },
  TP_ERROR_NO_TRUNCATION: { value: 0x08890000, meaning: 'Transaction program error, no truncation', family: 'Transaction program error' },
  TP_ERROR_TRUNCATION: { value: 0x08890001, meaning: 'Transaction program error, truncation' },
  // ---- X'10' request error
  /** IBM sc1001. */
  RU_DATA_ERROR: { value: 0x10010000, meaning: 'RU data error' },
  /** IBM sc1001 0003: isolated pacing message format error. */
  IPM_FORMAT_ERROR: { value: 0x10010003, meaning: 'RU data error: isolated pacing message format error' },
  /** The RU is shorter than its format needs. */
  RU_LENGTH_ERROR: { value: 0x10020000, meaning: 'RU length error', unconfirmed: NOT_FOUND },
  FUNCTION_NOT_SUPPORTED: { value: 0x10030000, meaning: 'Function not supported' },
  PARAMETER_INVALID: { value: 0x10050000, meaning: 'Parameter invalid' },
  CATEGORY_NOT_SUPPORTED: { value: 0x10070000, meaning: 'Category not supported' },
  /** IBM sc1008: LU 6.2 sends these in FMH-7 or UNBIND. */
  INVALID_FM_HEADER: { value: 0x10080000, meaning: 'Invalid FM header' },
  FMH_LENGTH_WRONG: { value: 0x10086000, meaning: 'Invalid FM header: length wrong' },
  FMH_UNRECOGNIZED: { value: 0x1008600b, meaning: 'Invalid FM header: unrecognized FMH command' },
  TP_NAME_NOT_RECOGNIZED: { value: 0x10086021, meaning: 'Invalid FM header: TP name not recognized' },
  PIP_NOT_ALLOWED: { value: 0x10086031, meaning: 'Invalid FM header: PIP not allowed' },
  PIP_NOT_SPECIFIED_CORRECTLY: { value: 0x10086032, meaning: 'Invalid FM header: PIP not specified correctly' },
  CONVERSATION_TYPE_MISMATCH: { value: 0x10086034, meaning: 'Invalid FM header: conversation type mismatch' },
  ATTACH_PARAMETER_INVALID: { value: 0x10086040, meaning: 'Invalid FM header: invalid attach parameter' },
  SYNC_LEVEL_NOT_SUPPORTED: { value: 0x10086041, meaning: 'Invalid FM header: sync level not supported' },
  // ---- X'20' state error (Microsoft HIS "State errors (category X'20')")
  SEQUENCE_ERROR: { value: 0x20010000, meaning: 'Sequence number error' },
  CHAINING_ERROR: { value: 0x20020000, meaning: 'Chaining error' },
  BRACKET_ERROR: { value: 0x20030000, meaning: 'Bracket error' },
  DIRECTION_ERROR: { value: 0x20040000, meaning: 'Direction error' },
  DATA_TRAFFIC_RESET: { value: 0x20050000, meaning: 'Data traffic reset' },
  /** IBM sc2011. */
  PACING_ERROR: { value: 0x20110000, meaning: 'Pacing error: request received after pacing count reached 0', family: 'Pacing error' },
  PACING_UNEXPECTED_IPM: { value: 0x20110001, meaning: 'Pacing error: unexpected IPM' },
  PACING_UNEXPECTED_PI: { value: 0x20110002, meaning: 'Pacing error: unexpected pacing request' },
  PACING_PI_IN_NON_IPM_RESPONSE: { value: 0x20110003, meaning: 'Pacing error: PI set in a non-IPM response under adaptive pacing' },
  // ---- X'40' RH usage error (Microsoft HIS "RH usage errors (category X'40')", IBM rherr)
  INVALID_RESPONSE_MODE: { value: 0x40140000, meaning: 'Incorrect DR1I/DR2I/ERI combination' },
  // ---- X'80' path error (Microsoft HIS "Path errors (category X'80')")
  UNRECOGNIZED_DAF: { value: 0x80040000, meaning: 'Unrecognized DAF' },
  NO_SESSION: { value: 0x80050000, meaning: 'No session' },
  NO_LU_LU_SESSION: { value: 0x80050001, meaning: 'No session: non-SC request with no LU-LU session' },
  UNBIND_NO_SESSION: { value: 0x80050004, meaning: 'No session: UNBIND with no session' },
  SEGMENTATION_ERROR: { value: 0x80070000, meaning: 'Segmentation error' },
  LU_NOT_ACTIVE: { value: 0x80090000, meaning: 'LU not active' },
  INVALID_ADDRESS_COMBINATION: { value: 0x800f0000, meaning: 'Invalid address combination' },
  /** IBM sc800f. */
  ODAI_INVALID: { value: 0x800f0001, meaning: 'FID2 ODAI setting in received BIND incorrect' },
} as const satisfies Record<string, SenseDefinition>

export type SenseName = keyof typeof SENSE_CODES

/** Sense values by name (`Sense.BRACKET_ERROR` = 0x20030000). */
export const Sense = Object.fromEntries(
  Object.entries(SENSE_CODES).map(([name, def]) => [name, def.value]),
) as { readonly [K in SenseName]: (typeof SENSE_CODES)[K]['value'] }

const BY_VALUE = new Map<number, SenseDefinition>()
for (const def of Object.values(SENSE_CODES) as SenseDefinition[]) BY_VALUE.set(def.value >>> 0, def)

/** Category (first byte), for codes the table does not name. */
const CATEGORY: Record<number, string> = {
  0x08: 'Request reject',
  0x10: 'Request error',
  0x20: 'State error',
  0x40: 'RH usage error',
  0x80: 'Path error',
}

/** Name of a sense value in the table, if it has one. */
export function senseCodeName (sense: number): SenseName | undefined {
  for (const [name, def] of Object.entries(SENSE_CODES)) if (def.value === sense >>> 0) return name as SenseName
  return undefined
}

/** Description of a 4-byte sense code; 0835 codes include the pointer, unknown ones the category. */
export function senseName (sense: number): string {
  const exact = BY_VALUE.get(sense >>> 0)
  if (exact !== undefined) return exact.meaning
  const cm = (sense >>> 16) & 0xffff
  const info = sense & 0xffff
  if (cm === 0x0835) return `Invalid parameter at offset ${info}`
  const family = BY_VALUE.get((cm * 0x10000) >>> 0)
  if (family !== undefined) return family.family ?? family.meaning
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

