// Telnet command and option codes (RFC 854 §"TELNET COMMAND STRUCTURE", RFC 885, option RFCs).

export const IAC = 255
export const DONT = 254
export const DO = 253
export const WONT = 252
export const WILL = 251
export const SB = 250
export const GA = 249
export const EL = 248
export const EC = 247
export const AYT = 246
export const AO = 245
export const IP = 244
export const BRK = 243
export const DM = 242
export const NOP = 241
export const SE = 240
/** End of record (RFC 885 §"Command Name and Code"). */
export const EOR_CMD = 239

export const Cmd = { IAC, DONT, DO, WONT, WILL, SB, GA, EL, EC, AYT, AO, IP, BRK, DM, NOP, SE, EOR: EOR_CMD } as const

/** Option codes (IANA telnet-options registry). */
export const Opt = {
  BINARY: 0, // RFC 856
  ECHO: 1, // RFC 857
  SGA: 3, // RFC 858
  TIMING_MARK: 6, // RFC 860
  TTYPE: 24, // RFC 1091
  EOR: 25, // RFC 885
  NAWS: 31, // RFC 1073
  NEW_ENVIRON: 39, // RFC 1572
  TN3270E: 40, // RFC 2355
  STARTTLS: 46, // draft-altman-telnet-starttls
} as const

export type Verb = 'WILL' | 'WONT' | 'DO' | 'DONT'

export const VERB_CODE: Record<Verb, number> = { WILL, WONT, DO, DONT }

export function verbFromCode (code: number): Verb | undefined {
  switch (code) {
    case WILL: return 'WILL'
    case WONT: return 'WONT'
    case DO: return 'DO'
    case DONT: return 'DONT'
    default: return undefined
  }
}

/** Single-byte commands (everything but SB/SE and the four negotiation verbs). */
export type CommandName = 'NOP' | 'DM' | 'BRK' | 'IP' | 'AO' | 'AYT' | 'EC' | 'EL' | 'GA' | 'EOR'

const COMMAND_NAMES: Record<number, CommandName> = {
  [NOP]: 'NOP', [DM]: 'DM', [BRK]: 'BRK', [IP]: 'IP', [AO]: 'AO', [AYT]: 'AYT', [EC]: 'EC', [EL]: 'EL', [GA]: 'GA', [EOR_CMD]: 'EOR',
}

export function commandName (code: number): CommandName | undefined {
  return COMMAND_NAMES[code]
}

const OPT_NAMES = new Map<number, string>(Object.entries(Opt).map(([k, v]) => [v, k]))

export function optionName (opt: number): string {
  return OPT_NAMES.get(opt) ?? String(opt)
}

/** Double every IAC (RFC 854: a data byte 255 is sent as IAC IAC; RFC 855 for subnegotiation). */
export function doubleIac (buf: Uint8Array): Buffer {
  let n = 0
  for (const b of buf) if (b === IAC) n++
  if (n === 0) return Buffer.from(buf)
  const out = Buffer.allocUnsafe(buf.length + n)
  let j = 0
  for (const b of buf) {
    out[j++] = b
    if (b === IAC) out[j++] = IAC
  }
  return out
}
