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
  const n = countIac(buf)
  if (n === 0) return Buffer.from(buf)
  const out = Buffer.allocUnsafe(buf.length + n)
  copyDoubled(buf, out, 0)
  return out
}

/**
 * One outbound record in one allocation: `head` (a TN3270E header, RFC 2355 §8.1) and `data`, each
 * with IAC doubled (RFC 854), then IAC EOR (RFC 885). The hot path toward clients: one copy of the
 * record instead of a concatenation per layer.
 */
export function encodeRecord (data: Uint8Array, head?: Uint8Array): Buffer {
  const headLength = head === undefined ? 0 : head.length + countIac(head)
  const out = Buffer.allocUnsafe(headLength + data.length + countIac(data) + 2)
  let j = head === undefined ? 0 : copyDoubled(head, out, 0)
  j = copyDoubled(data, out, j)
  out[j] = IAC
  out[j + 1] = EOR_CMD
  return out
}

/** IAC bytes in `buf`, found with indexOf (native) rather than byte by byte. */
function countIac (buf: Uint8Array): number {
  let n = 0
  for (let i = buf.indexOf(IAC); i !== -1; i = buf.indexOf(IAC, i + 1)) n++
  return n
}

/** Copies `src` into `out` at `at` with every IAC doubled; returns the offset after it. */
function copyDoubled (src: Uint8Array, out: Buffer, at: number): number {
  let from = 0
  let j = at
  for (let i = src.indexOf(IAC); i !== -1; i = src.indexOf(IAC, i + 1)) {
    out.set(src.subarray(from, i + 1), j)
    j += i + 1 - from
    out[j++] = IAC
    from = i + 1
  }
  out.set(src.subarray(from), j)
  return j + src.length - from
}
