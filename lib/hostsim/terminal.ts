// What DEMO knows of the terminal it draws on. With a query BIND (screen size code X'03': "default
// 24x80, alternate determined by the device"; SNA Network Implementation Guide, SC27-3672, PSERVIC
// operand of MODEENT) the terminal's answer to Read Partition Query decides: the Usable Area reply
// gives the alternate size Erase/Write Alternate selects, the Character Sets reply the code page of
// its base character set (3270 Data Stream Programmer's Reference, GA23-0059, query replies). Pure.
import { MAX_14BIT_ADDRESS, type CodePage, type InboundRecord } from '../datastream/index.js'

export interface TerminalScreen {
  rows: number
  cols: number
  /** The size is the alternate one: DEMO writes with Erase/Write Alternate. */
  alternate: boolean
  /** Code page DEMO encodes and decodes with; undefined = the default (cp037). */
  cp?: CodePage
  /** CPGID the terminal reported, known or not. */
  codePageId?: number
  /** The size came from a query reply. */
  queried?: boolean
}

/** CPGIDs of the code pages lib/datastream has tables for. */
const CODE_PAGE_BY_ID: ReadonlyMap<number, CodePage> = new Map([[37, 'cp037'], [1047, 'cp1047'], [273, 'cp273'], [285, 'cp285']])

/**
 * The screen after a query reply. A Usable Area smaller than 24x80 (a terminal the BIND's default
 * must fit, x3270 process_bind) or larger than 14-bit addressing reaches is not used: DEMO keeps the
 * default. An unknown code page is shown but not used: bytes still come back as they went out, since
 * every table is a bijection on the 256 byte values.
 */
export function terminalFromQueryReply (reply: InboundRecord, before: TerminalScreen): TerminalScreen {
  const out: TerminalScreen = { ...before, queried: true }
  const ua = reply.usableArea
  if (ua !== undefined && ua.rows >= 24 && ua.cols >= 80 && ua.rows * ua.cols <= MAX_14BIT_ADDRESS + 1) {
    out.rows = ua.rows
    out.cols = ua.cols
    out.alternate = ua.rows !== 24 || ua.cols !== 80
  }
  const id = reply.characterSet?.codePageId
  if (id !== undefined) {
    out.codePageId = id
    const cp = CODE_PAGE_BY_ID.get(id)
    if (cp !== undefined) out.cp = cp
  }
  return out
}
