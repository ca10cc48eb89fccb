// Minimal cp037 for the names LU 6.2 carries (TP, mode, LU, user id): A-Z, 0-9, a-z, space and
// the few punctuation marks SNA names use (sna-formats.md §6.3). Other characters are refused so
// a name never goes out silently mangled.
import { ErrorCodes, lbError } from '../errors.js'

const TO: Record<string, number> = { ' ': 0x40, '.': 0x4b, '$': 0x5b, '#': 0x7b, '@': 0x7c, '-': 0x60, '_': 0x6d, '*': 0x5c }
for (let i = 0; i < 9; i++) {
  TO[String.fromCharCode(0x41 + i)] = 0xc1 + i // A-I
  TO[String.fromCharCode(0x4a + i)] = 0xd1 + i // J-R
  TO[String.fromCharCode(0x61 + i)] = 0x81 + i // a-i
  TO[String.fromCharCode(0x6a + i)] = 0x91 + i // j-r
}
for (let i = 0; i < 8; i++) {
  TO[String.fromCharCode(0x53 + i)] = 0xe2 + i // S-Z
  TO[String.fromCharCode(0x73 + i)] = 0xa2 + i // s-z
}
for (let i = 0; i < 10; i++) TO[String(i)] = 0xf0 + i
const FROM = new Map<number, string>(Object.entries(TO).map(([c, b]) => [b, c]))

export function toEbcdic (text: string, what = 'name'): Buffer {
  const out = Buffer.alloc(text.length)
  for (let i = 0; i < text.length; i++) {
    const b = TO[text[i]!]
    if (b === undefined) throw lbError(ErrorCodes.APPC_MALFORMED, `${what} '${text}': character '${text[i]}' has no cp037 mapping here`)
    out[i] = b
  }
  return out
}

/** Decodes a name; bytes outside the table become `\xNN` so service TP names (X'06F1') stay readable. */
export function fromEbcdic (buf: Buffer): string {
  let s = ''
  for (const b of buf) s += FROM.get(b) ?? `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`
  return s
}

/** A mode name as carried in CNOS and BIND: upper case, blank-padded to 8 (KB Q308927 "M62P002 "). */
export function modeNameBytes (mode: string): Buffer {
  return toEbcdic(mode.toUpperCase().padEnd(8, ' '), 'mode name')
}

export function modeNameFrom (buf: Buffer): string { return fromEbcdic(buf).trimEnd() }
