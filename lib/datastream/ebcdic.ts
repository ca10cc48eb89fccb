// EBCDIC <-> Unicode for the code pages a 3270 gateway meets most: CCSID 37 (cp037, US/Canada,
// the x3270 default), CCSID 1047 (Latin-1/Open Systems, z/OS UNIX), CCSID 273 (cp273, Germany and
// Austria) and CCSID 285 (cp285, United Kingdom). All tables are full 256-entry bijections between the bytes 00-FF and the code points U+0000-U+00FF, so:
//  * decode never meets an unmappable byte (every byte has a character);
//  * encode meets an unmappable character only outside U+0000-U+00FF; it becomes the documented
//    substitute byte X'3F' (EBCDIC SUB, the 3270 "substitute" format-control character,
//    GA23-0059 "Format Control Orders") unless the caller chooses another. Never a throw on data.
// cp037 matches x3270 Common/unicode.c "cp037" and Python's cp037 codec (IBM CCSID 37 code page);
// cp1047 matches glibc iconv IBM1047 (differs from cp037 only at 5F AD B0 BA BB BD).
// cp273 and cp285 match x3270's "cp273"/"cp285" tables (Common/unicode.c) and glibc iconv IBM273 /
// IBM285, with the overline as U+00AF MACRON as x3270 and iconv IBM273 have it (iconv IBM285 and
// Python's cp273 say U+203E OVERLINE, outside Latin-1; the glyph is the same).
// test/datastream/ebcdic.test.ts checks all 256 entries both ways against Python and iconv.

import { ErrorCodes, lbError } from '../errors.js'

export type CodePage = 'cp037' | 'cp1047' | 'cp273' | 'cp285'
export const CODE_PAGES: readonly CodePage[] = ['cp037', 'cp1047', 'cp273', 'cp285']
export const DEFAULT_CODE_PAGE: CodePage = 'cp037'
/** EBCDIC SUB (X'3F'): what encode() writes for a character the code page cannot represent. */
export const EBCDIC_SUBSTITUTE = 0x3f

// EBCDIC byte -> Unicode code point (IBM CCSID 37).
const CP037_TO_UNICODE: readonly number[] = [
  0x0000, 0x0001, 0x0002, 0x0003, 0x009c, 0x0009, 0x0086, 0x007f, 0x0097, 0x008d, 0x008e, 0x000b, 0x000c, 0x000d, 0x000e, 0x000f,  // 00-0F
  0x0010, 0x0011, 0x0012, 0x0013, 0x009d, 0x0085, 0x0008, 0x0087, 0x0018, 0x0019, 0x0092, 0x008f, 0x001c, 0x001d, 0x001e, 0x001f,  // 10-1F
  0x0080, 0x0081, 0x0082, 0x0083, 0x0084, 0x000a, 0x0017, 0x001b, 0x0088, 0x0089, 0x008a, 0x008b, 0x008c, 0x0005, 0x0006, 0x0007,  // 20-2F
  0x0090, 0x0091, 0x0016, 0x0093, 0x0094, 0x0095, 0x0096, 0x0004, 0x0098, 0x0099, 0x009a, 0x009b, 0x0014, 0x0015, 0x009e, 0x001a,  // 30-3F
  0x0020, 0x00a0, 0x00e2, 0x00e4, 0x00e0, 0x00e1, 0x00e3, 0x00e5, 0x00e7, 0x00f1, 0x00a2, 0x002e, 0x003c, 0x0028, 0x002b, 0x007c,  // 40-4F
  0x0026, 0x00e9, 0x00ea, 0x00eb, 0x00e8, 0x00ed, 0x00ee, 0x00ef, 0x00ec, 0x00df, 0x0021, 0x0024, 0x002a, 0x0029, 0x003b, 0x00ac,  // 50-5F
  0x002d, 0x002f, 0x00c2, 0x00c4, 0x00c0, 0x00c1, 0x00c3, 0x00c5, 0x00c7, 0x00d1, 0x00a6, 0x002c, 0x0025, 0x005f, 0x003e, 0x003f,  // 60-6F
  0x00f8, 0x00c9, 0x00ca, 0x00cb, 0x00c8, 0x00cd, 0x00ce, 0x00cf, 0x00cc, 0x0060, 0x003a, 0x0023, 0x0040, 0x0027, 0x003d, 0x0022,  // 70-7F
  0x00d8, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, 0x0068, 0x0069, 0x00ab, 0x00bb, 0x00f0, 0x00fd, 0x00fe, 0x00b1,  // 80-8F
  0x00b0, 0x006a, 0x006b, 0x006c, 0x006d, 0x006e, 0x006f, 0x0070, 0x0071, 0x0072, 0x00aa, 0x00ba, 0x00e6, 0x00b8, 0x00c6, 0x00a4,  // 90-9F
  0x00b5, 0x007e, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, 0x0078, 0x0079, 0x007a, 0x00a1, 0x00bf, 0x00d0, 0x00dd, 0x00de, 0x00ae,  // A0-AF
  0x005e, 0x00a3, 0x00a5, 0x00b7, 0x00a9, 0x00a7, 0x00b6, 0x00bc, 0x00bd, 0x00be, 0x005b, 0x005d, 0x00af, 0x00a8, 0x00b4, 0x00d7,  // B0-BF
  0x007b, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, 0x0048, 0x0049, 0x00ad, 0x00f4, 0x00f6, 0x00f2, 0x00f3, 0x00f5,  // C0-CF
  0x007d, 0x004a, 0x004b, 0x004c, 0x004d, 0x004e, 0x004f, 0x0050, 0x0051, 0x0052, 0x00b9, 0x00fb, 0x00fc, 0x00f9, 0x00fa, 0x00ff,  // D0-DF
  0x005c, 0x00f7, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, 0x0058, 0x0059, 0x005a, 0x00b2, 0x00d4, 0x00d6, 0x00d2, 0x00d3, 0x00d5,  // E0-EF
  0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, 0x0038, 0x0039, 0x00b3, 0x00db, 0x00dc, 0x00d9, 0x00da, 0x009f,  // F0-FF
]

// CCSID 1047 is CCSID 37 with six bytes moved (¬ ^ [ ] Ý ¨ change places; glibc iconv IBM1047),
// so the table is derived instead of written out a second time.
const CP1047_CHANGES: ReadonlyArray<readonly [byte: number, codePoint: number]> = [
  [0x5f, 0x005e], [0xad, 0x005b], [0xb0, 0x00ac], [0xba, 0x00dd], [0xbb, 0x00a8], [0xbd, 0x005d],
]
// CCSID 273 (German): the national characters Ä Ö Ü ä ö ü ß § take the places of cp037's
// invariant-variant characters, which move elsewhere (iconv IBM273, x3270 cp273).
const CP273_CHANGES: ReadonlyArray<readonly [byte: number, codePoint: number]> = [
  [0x43, 0x007b], [0x4a, 0x00c4], [0x4f, 0x0021], [0x59, 0x007e], [0x5a, 0x00dc], [0x5f, 0x005e], [0x63, 0x005b],
  [0x6a, 0x00f6], [0x7c, 0x00a7], [0xa1, 0x00df], [0xb0, 0x00a2], [0xb5, 0x0040], [0xba, 0x00ac], [0xbb, 0x007c],
  [0xc0, 0x00e4], [0xcc, 0x00a6], [0xd0, 0x00fc], [0xdc, 0x007d], [0xe0, 0x00d6], [0xec, 0x005c], [0xfc, 0x005d],
]
// CCSID 285 (United Kingdom): £ at X'5B', $ at X'4A', overline at X'A1' (iconv IBM285, x3270 cp285).
const CP285_CHANGES: ReadonlyArray<readonly [byte: number, codePoint: number]> = [
  [0x4a, 0x0024], [0x5b, 0x00a3], [0xa1, 0x00af], [0xb0, 0x00a2], [0xb1, 0x005b], [0xba, 0x005e], [0xbc, 0x007e],
]

function derived (changes: ReadonlyArray<readonly [number, number]>): readonly number[] {
  const moved = new Map(changes)
  return CP037_TO_UNICODE.map((cp, byte) => moved.get(byte) ?? cp)
}

interface Table {
  toUnicode: readonly number[]
  toEbcdic: Map<number, number>
  /** The same as toEbcdic, indexed by code point: every table covers U+0000-U+00FF, nothing above. */
  fromLatin1: Uint8Array
  decoded: readonly string[]
}

function buildTable (toUnicode: readonly number[]): Table {
  const toEbcdic = new Map<number, number>()
  const fromLatin1 = new Uint8Array(256)
  toUnicode.forEach((cp, byte) => { toEbcdic.set(cp, byte); fromLatin1[cp] = byte })
  return { toUnicode, toEbcdic, fromLatin1, decoded: toUnicode.map((cp) => String.fromCharCode(cp)) }
}

const TABLES: Record<CodePage, Table> = {
  cp037: buildTable(CP037_TO_UNICODE),
  cp1047: buildTable(derived(CP1047_CHANGES)),
  cp273: buildTable(derived(CP273_CHANGES)),
  cp285: buildTable(derived(CP285_CHANGES)),
}

function table (cp: CodePage): Table {
  const t = TABLES[cp]
  if (t === undefined) {
    throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `unknown code page '${String(cp)}' (expected one of ${CODE_PAGES.join(', ')})`)
  }
  return t
}

export function isCodePage (name: string): name is CodePage {
  return (CODE_PAGES as readonly string[]).includes(name)
}

/** Unicode text -> EBCDIC bytes. Characters the code page lacks become `substitute` (default X'3F'). */
export function encode (text: string, cp: CodePage = DEFAULT_CODE_PAGE, substitute: number = EBCDIC_SUBSTITUTE): Buffer {
  const out = Buffer.alloc(text.length)
  return out.subarray(0, encodeInto(text, out, 0, table(cp).fromLatin1, substitute))
}

/** The code page's EBCDIC → Unicode table: the code point of each byte 00-FF. */
export function codePointTable (cp: CodePage = DEFAULT_CODE_PAGE): readonly number[] {
  return table(cp).toUnicode
}

/** The code page's Unicode → EBCDIC table indexed by code point (U+0000-U+00FF), for encodeInto. */
export function latin1Table (cp: CodePage = DEFAULT_CODE_PAGE): Uint8Array {
  return table(cp).fromLatin1
}

/**
 * Encodes `text` into `out` from `offset` with a 256-entry table (latin1Table, or one derived from
 * it); returns the offset after the last byte. One byte per code point, as encode(): a code point
 * above U+00FF (a surrogate pair counts once) becomes `substitute`. `out` needs text.length bytes.
 */
export function encodeInto (text: string, out: Uint8Array, offset: number, bytes: Uint8Array, substitute: number = EBCDIC_SUBSTITUTE): number {
  let n = offset
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x100) { out[n++] = bytes[c]!; continue }
    // A high surrogate followed by a low one is one code point (one byte), as `for...of` counts.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    out[n++] = substitute
  }
  return n
}

/** EBCDIC bytes -> Unicode text. Total: every byte maps to a character. */
export function decode (bytes: Uint8Array, cp: CodePage = DEFAULT_CODE_PAGE): string {
  const d = table(cp).decoded
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += d[bytes[i] as number]
  return s
}

/** One EBCDIC byte -> its Unicode character. */
export function decodeByte (byte: number, cp: CodePage = DEFAULT_CODE_PAGE): string {
  return table(cp).decoded[byte & 0xff] as string
}

/** One character -> its EBCDIC byte, or undefined when the code page has none. */
export function encodeChar (ch: string, cp: CodePage = DEFAULT_CODE_PAGE): number | undefined {
  return table(cp).toEbcdic.get(ch.codePointAt(0) as number)
}
