// 3270 outbound records for application DEMO, built with the datastream ScreenWriter
// (GA23-0059: Erase/Write F5 / Write F1 + WCC, SBA/SF/IC orders, keyboard restore X'02').
import { ScreenWriter } from '../datastream/index.js'
import type { DemoAction } from './demo.js'

export interface DemoScreenContext {
  host: string
  lu: string
  rows: number
  cols: number
}

/** Screen rows used by DEMO (0-based). */
export const DemoLayout = {
  title: 0,
  lu: 1,
  message: 3,
  prompt: 5,
  record: 7,
  help: -1, // last row
} as const

const PROMPT = '==>'

function inputColumn (): number { return PROMPT.length + 1 }

function pad (text: string, width: number): string {
  return text.length >= width ? text.slice(0, width) : text + ' '.repeat(width - text.length)
}

/** The whole DEMO screen (Erase/Write): title, LU, optional message, prompt with the input field. */
export function demoScreen (ctx: DemoScreenContext, message: string | undefined, alarm = false): Buffer {
  const w = new ScreenWriter({ rows: ctx.rows, cols: ctx.cols })
  const width = ctx.cols - 1
  w.eraseWrite({ restore: true, resetMdt: true, alarm })
    .field(DemoLayout.title, 0, pad(`tn3270-lb demo host ${ctx.host}`, width - 1), { protected: true, intensified: true })
    .field(DemoLayout.lu, 0, `LU ${ctx.lu}`, { protected: true })
  if (message !== undefined) w.field(DemoLayout.message, 0, message.slice(0, width - 1), { protected: true, intensified: true })
  const inCol = inputColumn()
  w.field(DemoLayout.prompt, 0, PROMPT, { protected: true })
    .inputField(DemoLayout.prompt, inCol, ctx.cols - inCol - 2)
    .field(ctx.rows - 1, 0, 'ENTER=SEND  FLOOD n=n RECORDS  PF3=LOGOFF  CLEAR=REDISPLAY', { protected: true })
    .sba(DemoLayout.prompt, inCol + 1).ic()
  return w.toBuffer()
}

/** One FLOOD record: Write carrying `RECORD i OF n`; the last one restores the keyboard. */
export function floodRecord (ctx: DemoScreenContext, i: number, n: number): Buffer {
  const last = i === n
  const w = new ScreenWriter({ rows: ctx.rows, cols: ctx.cols })
  w.write({ restore: last })
    .field(DemoLayout.record, 0, pad(`RECORD ${i} OF ${n}`, ctx.cols - 2), { protected: true })
  if (last) w.sba(DemoLayout.prompt, inputColumn() + 1).ic()
  return w.toBuffer()
}

/** Outbound records for one DEMO action, produced lazily (FLOOD 20000 is built as the window opens). */
export function * renderDemo (ctx: DemoScreenContext, action: DemoAction): Generator<Buffer> {
  switch (action.type) {
    case 'screen':
      yield demoScreen(ctx, action.message, action.alarm)
      return
    case 'flood':
      for (let i = 1; i <= action.count; i++) yield floodRecord(ctx, i, action.count)
      return
    case 'logoff':
      return
  }
}
