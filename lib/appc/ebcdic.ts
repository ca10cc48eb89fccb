// The names LU 6.2 carries (TP, mode, LU, user id) in cp037, through datastream's code page: only
// A-Z, a-z, 0-9, space and the few punctuation marks SNA names use (cp037) are
// accepted, so a name never goes out silently mangled.
import { decodeByte, encode } from '../datastream/index.js'
import { ErrorCodes, lbError } from '../errors.js'

/** Characters LU 6.2 names may carry; the cp037 mapping itself is datastream's. */
const NAME_CHAR = /[A-Za-z0-9 .$#@\-_*]/

export function toEbcdic (text: string, what = 'name'): Buffer {
  for (const ch of text) {
    if (!NAME_CHAR.test(ch)) throw lbError(ErrorCodes.APPC_MALFORMED, `${what} '${text}': character '${ch}' has no cp037 mapping here`)
  }
  return encode(text)
}

/** Decodes a name; bytes outside the name set become `\xNN` so service TP names (X'06F1') stay readable. */
export function fromEbcdic (buf: Buffer): string {
  let s = ''
  for (const b of buf) {
    const ch = decodeByte(b)
    s += ch.length === 1 && NAME_CHAR.test(ch) ? ch : `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return s
}

/** A mode name as carried in CNOS and BIND: upper case, blank-padded to 8 (KB Q308927 "M62P002 "). */
export function modeNameBytes (mode: string): Buffer {
  return toEbcdic(mode.toUpperCase().padEnd(8, ' '), 'mode name')
}

export function modeNameFrom (buf: Buffer): string { return fromEbcdic(buf).trimEnd() }
