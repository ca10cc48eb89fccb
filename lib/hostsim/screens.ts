// 3270 outbound records for application DEMO, built with the datastream ScreenWriter
// (GA23-0059: Erase/Write F5 / Erase/Write Alternate 7E / Write F1 + WCC, SBA/SF/IC orders,
// keyboard restore X'02'; Write Structured Field F3 with Read Partition Query).
// demoScreen/floodRecord build a record field by field; DemoScreens builds the same bytes from
// RecordTemplates made once per terminal (only the message or the record line changes), which is
// what a session sends: a FLOOD record is a copy of the record with a blank line and the number
// written into it (test/hostsim/screens-fast.test.ts holds the two to the same bytes).
import { RecordTemplate, ScreenWriter, encode, latin1Table, type CodePage } from '../datastream/index.js'
import type { DemoAction } from './demo.js'

export interface DemoScreenContext {
  host: string
  lu: string
  rows: number
  cols: number
  /** The screen is the alternate size (Erase/Write Alternate), learnt from the terminal. */
  alternate?: boolean
  /** The terminal's code page (from its Character Sets query reply); default cp037. */
  cp?: CodePage
  /** What the session knows about the terminal, shown on the screen (e.g. `SCREEN 43x80 CODE PAGE 273`). */
  terminal?: string
}

/** Screen rows used by DEMO (0-based). */
export const DemoLayout = {
  title: 0,
  lu: 1,
  terminal: 2,
  message: 3,
  prompt: 5,
  record: 7,
  help: -1, // last row
} as const

const PROMPT = '==>'
const HELP = 'ENTER=SEND  FLOOD n  PRINT [n]  PF3=LOGOFF  CLEAR=REDISPLAY'

function inputColumn (): number { return PROMPT.length + 1 }

function pad (text: string, width: number): string {
  return text.length >= width ? text.slice(0, width) : text + ' '.repeat(width - text.length)
}

/** The whole DEMO screen (Erase/Write): title, LU, optional message, prompt with the input field. */
export function demoScreen (ctx: DemoScreenContext, message: string | undefined, alarm = false): Buffer {
  const w = screenWriter(ctx, alarm, message === undefined ? undefined : message.slice(0, ctx.cols - 2))
  return w.toBuffer()
}

/** demoScreen's writer; `message` undefined = no message line, null = a text slot for it. */
function screenWriter (ctx: DemoScreenContext, alarm: boolean, message: string | null | undefined): ScreenWriter {
  const w = writer(ctx)
  const width = ctx.cols - 1
  const wcc = { restore: true, resetMdt: true, alarm }
  if (ctx.alternate === true) w.eraseWriteAlternate(wcc)
  else w.eraseWrite(wcc)
  w.field(DemoLayout.title, 0, pad(`tn3270-lb demo host ${ctx.host}`, width - 1), { protected: true, intensified: true })
    .field(DemoLayout.lu, 0, `LU ${ctx.lu}`, { protected: true })
  if (ctx.terminal !== undefined) w.field(DemoLayout.terminal, 0, ctx.terminal.slice(0, width - 1), { protected: true })
  if (message === null) w.sba(DemoLayout.message, 0).sf({ protected: true, intensified: true }).slot()
  else if (message !== undefined) w.field(DemoLayout.message, 0, message, { protected: true, intensified: true })
  const inCol = inputColumn()
  w.field(DemoLayout.prompt, 0, PROMPT, { protected: true })
    .inputField(DemoLayout.prompt, inCol, ctx.cols - inCol - 2)
    .field(ctx.rows - 1, 0, HELP, { protected: true })
    .sba(DemoLayout.prompt, inCol + 1).ic()
  return w
}

/**
 * The text the DEMO screen shows, row by row (what `demoScreen` paints, trailing blanks cut):
 * what PRINT prints. Rows without text are empty strings, up to the help line.
 */
export function demoScreenLines (ctx: DemoScreenContext, message: string | undefined): string[] {
  const width = ctx.cols - 1
  const rows = Array.from({ length: ctx.rows }, () => '')
  const put = (row: number, text: string): void => { rows[row < 0 ? ctx.rows + row : row] = text.slice(0, width - 1).trimEnd() }
  put(DemoLayout.title, `tn3270-lb demo host ${ctx.host}`)
  put(DemoLayout.lu, `LU ${ctx.lu}`)
  if (ctx.terminal !== undefined) put(DemoLayout.terminal, ctx.terminal)
  if (message !== undefined) put(DemoLayout.message, message)
  put(DemoLayout.prompt, PROMPT)
  put(DemoLayout.help, HELP)
  return rows
}

/** One FLOOD record: Write carrying `RECORD i OF n`; the last one restores the keyboard. */
export function floodRecord (ctx: DemoScreenContext, i: number, n: number): Buffer {
  const last = i === n
  const w = writer(ctx)
  w.write({ restore: last })
    .field(DemoLayout.record, 0, recordLine(ctx, i, n), { protected: true })
  if (last) w.sba(DemoLayout.prompt, inputColumn() + 1).ic()
  return w.toBuffer()
}

function recordLine (ctx: DemoScreenContext, i: number, n: number): string {
  return pad(`RECORD ${i} OF ${n}`, ctx.cols - 2)
}

/**
 * DEMO's records for one terminal (size, code page, host and LU fixed), from templates built on
 * first use: the same bytes as demoScreen and floodRecord, without building each record field by
 * field. A session makes a new one when the terminal's size or code page changes.
 */
export class DemoScreens {
  /** By (message line or not) × (alarm or not): index 2·message + alarm. */
  private readonly screens: Array<RecordTemplate | undefined> = [undefined, undefined, undefined, undefined]
  private flood: FloodTemplates | undefined

  constructor (readonly ctx: DemoScreenContext) {}

  /** demoScreen(ctx, message, alarm). */
  screen (message: string | undefined, alarm = false): Buffer {
    const key = (message === undefined ? 0 : 2) + (alarm ? 1 : 0)
    let t = this.screens[key]
    if (t === undefined) {
      t = screenWriter(this.ctx, alarm, message === undefined ? undefined : null).toTemplate()
      this.screens[key] = t
    }
    return t.fill(message === undefined ? [] : [message.slice(0, this.ctx.cols - 2)])
  }

  /** floodRecord(ctx, i, n). */
  floodRecord (i: number, n: number): Buffer {
    const flood = this.flood ??= this.floodTemplates()
    const width = this.ctx.cols - 2
    if (RECORD_PREFIX.length + decimalDigits(i) + flood.of(n).length > width) {
      // The line does not fit the screen: cut as floodRecord cuts it (narrow screens only).
      return (i === n ? flood.last : flood.more).fill([recordLine(this.ctx, i, n)])
    }
    // The record with a blank line, then `i OF n` written over the blanks after `RECORD `.
    const out = Buffer.from(i === n ? flood.lastBlank : flood.moreBlank)
    let at = flood.lineOffset + RECORD_PREFIX.length
    at = writeDecimal(out, at, i, flood.digits)
    out.set(flood.of(n), at)
    return out
  }

  private floodTemplates (): FloodTemplates {
    const record = (last: boolean): ScreenWriter => writer(this.ctx).write({ restore: last }).sba(DemoLayout.record, 0).sf({ protected: true }).slot()
    const more = record(false).toTemplate()
    const last = record(true).sba(DemoLayout.prompt, inputColumn() + 1).ic().toTemplate()
    const blank = pad(RECORD_PREFIX, this.ctx.cols - 2)
    const bytes = latin1Table(this.ctx.cp)
    let ofN = -1
    let ofBytes: Buffer = Buffer.alloc(0)
    return {
      more,
      last,
      moreBlank: more.fill([blank]),
      lastBlank: last.fill([blank]),
      lineOffset: more.firstSlotOffset,
      digits: Uint8Array.from({ length: 10 }, (_, d) => bytes[0x30 + d]!),
      // ` OF n` in EBCDIC, kept for the FLOOD in progress.
      of: (n: number): Buffer => {
        if (n !== ofN) { ofN = n; ofBytes = encode(` OF ${n}`, this.ctx.cp) }
        return ofBytes
      },
    }
  }
}

/** The FLOOD record templates of one terminal, and the pieces a record is patched from. */
interface FloodTemplates {
  more: RecordTemplate
  last: RecordTemplate
  /** The records with `RECORD ` and blanks on the record line. */
  moreBlank: Buffer
  lastBlank: Buffer
  /** Where the record line's text starts in the record. */
  lineOffset: number
  /** EBCDIC 0-9 in the terminal's code page (F0-F9 in every code page here). */
  digits: Uint8Array
  of: (n: number) => Buffer
}

const RECORD_PREFIX = 'RECORD '

function decimalDigits (i: number): number {
  let d = 1
  for (let v = i; v >= 10; v = Math.floor(v / 10)) d++
  return d
}

/** Writes the decimal digits of `i` (a non-negative integer) at `at`; returns the offset after them. */
function writeDecimal (out: Buffer, at: number, i: number, digits: Uint8Array): number {
  const end = at + decimalDigits(i)
  let v = i
  for (let k = end - 1; k >= at; k--) {
    out[k] = digits[v % 10]!
    v = Math.floor(v / 10)
  }
  return end
}

/** Read Partition Query (WSF, PID X'FF', type Query): the terminal answers with its query replies. */
export function queryRecord (): Buffer {
  return new ScreenWriter().writeStructuredField().readPartitionQuery().toBuffer()
}

function writer (ctx: DemoScreenContext): ScreenWriter {
  return new ScreenWriter({ rows: ctx.rows, cols: ctx.cols, ...(ctx.cp === undefined ? {} : { cp: ctx.cp }) })
}

/**
 * Outbound records for one DEMO action, produced lazily (FLOOD 20000 is built as the window opens).
 * A session passes its DemoScreens (templates kept between actions); a context makes fresh ones.
 */
export function * renderDemo (screens: DemoScreenContext | DemoScreens, action: DemoAction): Generator<Buffer> {
  const s = screens instanceof DemoScreens ? screens : new DemoScreens(screens)
  switch (action.type) {
    case 'query':
      yield queryRecord()
      return
    case 'screen':
      yield s.screen(action.message, action.alarm)
      return
    case 'flood':
      for (let i = 1; i <= action.count; i++) yield s.floodRecord(i, action.count)
      return
    case 'logoff':
    case 'print':
      return
  }
}
