// Print jobs of application DEMO: the text of a screen, for the display's associated printer.
//   LU type 1 (SCS): EBCDIC text, each line ended by New Line X'15' ("3270 Data Stream Programmer's
//     Reference", GA23-0059, SCS control codes; "SNA Sessions Between Logical Units", GC20-1868,
//     for LU type 1), a Form Feed X'0C' before the
//     next copy so that each copy starts a page.
//   LU type 3 (3270 data stream printer): Erase/Write X'F5' with a WCC that starts the printer
//     (bit 4) with line length by NL/EM orders (bits 2-3 = 00), the text with NL order X'15'
//     between lines and EM order X'19' at the end (GA23-0059, "Printer Operations").
// A job is one bracket ("SNA Formats", GA27-3136: BB on its first chain, EB on its last): the
// gateway ends the client's print job (TN3270E PRINT-EOJ, RFC 2355 §10.3) where the bracket ends.
import { encode, type CodePage } from '../datastream/index.js'

export type PrinterLuType = 'lu1' | 'lu3'

/** SCS New Line and Form Feed; 3270 NL and EM orders (GA23-0059). */
const SCS_NL = 0x15
const SCS_FF = 0x0c
const ORDER_NL = 0x15
const ORDER_EM = 0x19
/** Erase/Write, and a WCC with start printer (X'08') run through the 3270 code table (X'C8'). */
const ERASE_WRITE = 0xf5
const WCC_START_PRINT = 0xc8

/** One copy of a job as the record the printer LU's session sends (one chain). */
export function printRecord (luType: PrinterLuType, lines: readonly string[], opts: { firstCopy: boolean, cp?: CodePage }): Buffer {
  const text = lines.map(l => encode(l, opts.cp))
  if (luType === 'lu1') {
    const parts: Buffer[] = opts.firstCopy ? [] : [Buffer.from([SCS_FF])]
    for (const t of text) parts.push(t, Buffer.from([SCS_NL]))
    return Buffer.concat(parts)
  }
  const parts: Buffer[] = [Buffer.from([ERASE_WRITE, WCC_START_PRINT])]
  text.forEach((t, i) => { parts.push(t, Buffer.from([i === text.length - 1 ? ORDER_EM : ORDER_NL])) })
  if (text.length === 0) parts.push(Buffer.from([ORDER_EM]))
  return Buffer.concat(parts)
}

/**
 * A job of `copies` copies of `lines`: one record per copy, the last one ending the bracket. With
 * more than one copy each starts with a `COPY i OF n` line, so a reader can tell them apart.
 */
export function * printJob (luType: PrinterLuType, lines: readonly string[], copies: number, cp?: CodePage): Generator<{ data: Buffer, endBracket: boolean }> {
  for (let i = 1; i <= copies; i++) {
    const copy = copies === 1 ? lines : [`COPY ${i} OF ${copies}`, ...lines]
    yield { data: printRecord(luType, copy, { firstCopy: i === 1, ...(cp === undefined ? {} : { cp }) }), endBracket: i === copies }
  }
}
