// 3270 data stream constants. Source: IBM "3270 Data Stream Programmer's Reference", GA23-0059,
// and the same values in x3270's include/3270ds.h.

/**
 * Code → name lookup over one or more name → code tables; a later table wins on a shared code.
 * Every code table below (commands, AIDs, query codes) is read back this way.
 */
function nameLookup<N extends string> (...tables: Array<Readonly<Record<N, number>>>): (code: number) => N | undefined {
  const byCode = new Map<number, N>()
  for (const table of tables) for (const [name, code] of Object.entries(table) as Array<[N, number]>) byCode.set(code, name)
  return (code) => byCode.get(code)
}

/** Outbound commands, SNA (LU2) form (GA23-0059 ch. 3, "3270 Commands"). */
export const Command = {
  W: 0xf1,    // Write
  EW: 0xf5,   // Erase/Write
  EWA: 0x7e,  // Erase/Write Alternate
  EAU: 0x6f,  // Erase All Unprotected
  WSF: 0xf3,  // Write Structured Field
  RB: 0xf2,   // Read Buffer
  RM: 0xf6,   // Read Modified
  RMA: 0x6e,  // Read Modified All
} as const
export type CommandName = keyof typeof Command

/** Local (channel-attached / non-SNA TN3270) command codes, accepted by the parser as aliases. */
export const LocalCommand: Readonly<Record<CommandName, number>> = {
  W: 0x01, EW: 0x05, EWA: 0x0d, EAU: 0x0f, WSF: 0x11, RB: 0x02, RM: 0x06, RMA: 0x0e,
}

/** The command a code stands for, in either form. */
export const commandName: (code: number) => CommandName | undefined = nameLookup<CommandName>(Command, LocalCommand)
/** Commands followed by a WCC byte (GA23-0059 "Write Control Character"). */
export function commandHasWcc (name: CommandName): boolean { return name === 'W' || name === 'EW' || name === 'EWA' }

/** WCC bits (GA23-0059 "Write Control Character"; bit 0x40 also falls out of the code-table translation). */
export const WccBit = {
  RESET: 0x40,
  PRINTOUT_FORMAT: 0x30,
  START_PRINTER: 0x08,
  SOUND_ALARM: 0x04,
  KEYBOARD_RESTORE: 0x02,
  RESET_MDT: 0x01,
} as const

/** Orders (GA23-0059 ch. 4, "Orders"). Operand lengths in comments. */
export const Order = {
  PT: 0x05,   // Program Tab
  GE: 0x08,   // Graphic Escape + 1 char
  SBA: 0x11,  // Set Buffer Address + 2-byte address
  EUA: 0x12,  // Erase Unprotected to Address + 2-byte address
  IC: 0x13,   // Insert Cursor
  SF: 0x1d,   // Start Field + attribute
  SA: 0x28,   // Set Attribute + type + value
  SFE: 0x29,  // Start Field Extended + count + count×(type, value)
  MF: 0x2c,   // Modify Field + count + count×(type, value)
  RA: 0x3c,   // Repeat to Address + 2-byte address + char (optionally GE + char)
} as const
export type OrderName = keyof typeof Order

/** Format control orders: bytes below X'40' that are data, not orders (GA23-0059; x3270 3270ds.h). */
export const FormatControl = {
  NUL: 0x00, FF: 0x0c, CR: 0x0d, SO: 0x0e, SI: 0x0f, NL: 0x15, EM: 0x19, DUP: 0x1c, FM: 0x1e, SUB: 0x3f, EO: 0xff,
} as const
const FCO_SET = new Set<number>(Object.values(FormatControl))
export function isFormatControl (b: number): boolean { return FCO_SET.has(b) }

/** Field attribute bits (GA23-0059 "Field Attributes"); the top two bits come from the code table. */
export const FieldBit = {
  PROTECTED: 0x20,
  NUMERIC: 0x10,
  INTENSITY: 0x0c, // 00 normal, 04 normal detectable, 08 intensified detectable, 0C non-display
  RESERVED: 0x02,
  MDT: 0x01,
} as const

/** Extended attribute types used in SFE/MF/SA pairs (GA23-0059; x3270 3270ds.h XA_*). */
export const ExtendedAttribute = {
  ALL: 0x00,          // SA only: reset all character attributes
  FIELD: 0xc0,        // basic 3270 field attribute
  VALIDATION: 0xc1,
  OUTLINING: 0xc2,
  HIGHLIGHTING: 0x41, // 00 default, F0 normal, F1 blink, F2 reverse, F4 underscore, F8 intensify
  FOREGROUND: 0x42,   // colors F1 blue .. F7 white (0 = default)
  CHARSET: 0x43,
  BACKGROUND: 0x45,
  TRANSPARENCY: 0x46,
} as const

/** The 64-entry code table for 6-bit values (buffer addresses, WCC, attributes; GA23-0059 appendix, x3270 code_table). */
export const CODE_TABLE: readonly number[] = [
  0x40, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
  0x50, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
  0x60, 0x61, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
  0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
]

/** Attention identifiers (GA23-0059 "Attention Identifier (AID)", x3270 3270ds.h). */
export const Aid = {
  NONE: 0x60,
  QUERY_REPLY: 0x61,
  ENTER: 0x7d,
  PF1: 0xf1, PF2: 0xf2, PF3: 0xf3, PF4: 0xf4, PF5: 0xf5, PF6: 0xf6, PF7: 0xf7, PF8: 0xf8, PF9: 0xf9,
  PF10: 0x7a, PF11: 0x7b, PF12: 0x7c,
  PF13: 0xc1, PF14: 0xc2, PF15: 0xc3, PF16: 0xc4, PF17: 0xc5, PF18: 0xc6, PF19: 0xc7, PF20: 0xc8, PF21: 0xc9,
  PF22: 0x4a, PF23: 0x4b, PF24: 0x4c,
  PA1: 0x6c, PA2: 0x6e, PA3: 0x6b,
  CLEAR: 0x6d,
  SELECT: 0x7e,
  SYSREQ: 0xf0,
  OICR: 0xe6,
  MSR_MHS: 0xe7,
  STRUCTURED_FIELD: 0x88,
} as const
export type AidName = keyof typeof Aid

export const aidName: (code: number) => AidName | undefined = nameLookup<AidName>(Aid)
export function pfAid (n: number): AidName {
  if (!Number.isInteger(n) || n < 1 || n > 24) throw new RangeError(`PF key ${n} out of range 1-24`)
  return `PF${n}` as AidName
}
/** AIDs whose Read Modified reply is a short read: the AID byte alone (x3270 ctlr_read_modified). */
export const SHORT_READ_AIDS: ReadonlySet<AidName> = new Set<AidName>(['PA1', 'PA2', 'PA3', 'CLEAR'])

/** Structured field ids (GA23-0059 ch. 5/6; x3270 3270ds.h SF_*). */
export const StructuredFieldId = {
  READ_PARTITION: 0x01,     // outbound; data: PID, type (02 Query, 03 Query List)
  ERASE_RESET: 0x03,
  SET_REPLY_MODE: 0x09,
  CREATE_PARTITION: 0x0c,
  OUTBOUND_3270DS: 0x40,
  QUERY_REPLY: 0x81,        // inbound, after AID X'88'
} as const
export const ReadPartitionType = { QUERY: 0x02, QUERY_LIST: 0x03 } as const

/** Query reply codes (QCODE, the byte after SFID X'81'; GA23-0059 ch. 6; x3270 3270ds.h QR_*). */
export const QueryCode = {
  SUMMARY: 0x80,
  USABLE_AREA: 0x81,
  IMAGE: 0x82,
  TEXT_PARTITIONS: 0x83,
  ALPHANUMERIC_PARTITIONS: 0x84,
  CHARACTER_SETS: 0x85,
  COLOR: 0x86,
  HIGHLIGHTING: 0x87,
  REPLY_MODES: 0x88,
  FIELD_VALIDATION: 0x8a,
  MSR_CONTROL: 0x8b,
  FIELD_OUTLINING: 0x8c,
  DBCS_ASIA: 0x91,
  SAVE_RESTORE: 0x92,
  PC3270: 0x93,
  DDM: 0x95,
  STORAGE_POOLS: 0x96,
  RPQ_NAMES: 0xa1,
  IMPLICIT_PARTITION: 0xa6,
  TRANSPARENCY: 0xa8,
  NULL: 0xff,
} as const
export type QueryCodeName = keyof typeof QueryCode
export const queryCodeName: (code: number) => QueryCodeName | undefined = nameLookup<QueryCodeName>(QueryCode)

/**
 * Screen sizes by 3278/3279 model (x3270's model table): the default size is always 24×80 and the
 * model gives the alternate, the one Erase/Write Alternate selects (GA23-0059).
 */
export const MODEL_SIZES: Readonly<Record<2 | 3 | 4 | 5, { rows: number; cols: number }>> = {
  2: { rows: 24, cols: 80 },
  3: { rows: 32, cols: 80 },
  4: { rows: 43, cols: 80 },
  5: { rows: 27, cols: 132 },
}
