// The interop matrix with the real x3270-family client (Debian s3270 4.1): each row is one s3270
// session against the demo — a terminal model, an oversize screen, IBM-DYNAMIC, an LU list with a
// bad name first, SysReq, Attn, Clear/PA1/PA2 or a code page — that must reach the DEMO screen and
// use it (type, Enter, see the ECHO), directly at a gateway and through the proxy, in TN3270E and in
// TN3270 (`N:`) mode. Facts the rows rely on (x3270 Common/telnet.c, kybd.c, ctlr.c; docs/tn3270.md):
//   - `-oversize CxR` makes s3270 announce IBM-DYNAMIC; its Usable Area reply says C x R.
//   - In TN3270E s3270 asks for BIND-IMAGE and waits for the BIND; DEMO's query BIND (X'03') then
//     a Read Partition Query sizes the screen (Erase/Write Alternate) and names the code page.
//   - SysReq: IAC AO in TN3270E (SYSREQ agreed), a Test Request Read in TN3270; Attn: IAC IP in
//     TN3270E, PA1 then IAC BRK in TN3270. The gateway makes them SNA: SSCP session switch with
//     LUSTAT X'082B' on return, and SIGNAL, which DEMO shows as ATTENTION RECEIVED.
import { S3270 } from './s3270.js'
import type { Test } from 'tap'
import { errorMessage } from '../../lib/errors.js'
import { startTestDemo } from './e2e-gateway.js'

export type InteropMode = 'tn3270e' | 'tn3270'
export type InteropPath = 'direct' | 'proxy'

export interface InteropRow {
  name: string
  /** `-model` as s3270 spells it. */
  model: string
  extraArgs?: string[]
  /** Connect target prefix before host:port, e.g. `BADNAME,HOSTB@`. */
  lus?: string
  /** The host the DEMO screen must name (default HOSTA, the listener's default pool). */
  host?: string
  /** Rows x cols the screen must end up with (DEMO's `SCREEN RxC` line and s3270's status line). */
  size: { rows: number, cols: number }
  /** Code page id DEMO must report, when the row sets one. */
  codePage?: number
  /** Text typed into the DEMO input field; its echo must come back unchanged. */
  text: string
  /** Keys pressed between the first screen and the echo, each checked. */
  keys?: Array<'sysreq' | 'attn' | 'pa1' | 'pa2' | 'clear'>
}

/** The SSCP's answer to a LOGON for the application the LU is in session with (hostsim USS). */
const SSCP_ANSWER = 'LOGON TO DEMO FAILED'

const MODEL_SIZE: Record<string, { rows: number, cols: number }> = {
  2: { rows: 24, cols: 80 }, 3: { rows: 32, cols: 80 }, 4: { rows: 43, cols: 80 }, 5: { rows: 27, cols: 132 },
}

/** The rows of the matrix (the same for both modes and both paths). */
export function interopRows (): InteropRow[] {
  const rows: InteropRow[] = []
  for (const kind of ['3278', '3279']) {
    for (const m of [2, 3, 4, 5]) {
      rows.push({ name: `model ${kind}-${m}`, model: `${kind}-${m}`, size: MODEL_SIZE[m]!, text: `MODEL ${kind}-${m}` })
    }
  }
  rows.push({ name: 'model 3279-4-E (extended)', model: '3279-4-E', size: MODEL_SIZE[4]!, text: 'EXTENDED' })
  for (const [cols, rowsN] of [[100, 50], [160, 62]] as const) {
    rows.push({ name: `-oversize ${cols}x${rowsN}`, model: '3279-4-E', extraArgs: ['-oversize', `${cols}x${rowsN}`], size: { rows: rowsN, cols }, text: `OVERSIZE ${cols}X${rowsN}` })
  }
  rows.push({ name: '-tn IBM-DYNAMIC', model: '3279-4-E', extraArgs: ['-tn', 'IBM-DYNAMIC'], size: MODEL_SIZE[4]!, text: 'DYNAMIC' })
  rows.push({ name: 'LU list with a bad name first', model: '3278-2', lus: 'NO$SUCH,HOSTB@', host: 'HOSTB', size: MODEL_SIZE[2]!, text: 'LU LIST' })
  rows.push({ name: 'SysReq to the SSCP and back', model: '3278-2', size: MODEL_SIZE[2]!, text: 'AFTER SYSREQ', keys: ['sysreq'] })
  rows.push({ name: 'Attn', model: '3278-2', size: MODEL_SIZE[2]!, text: 'AFTER ATTN', keys: ['attn'] })
  rows.push({ name: 'Clear, PA1, PA2', model: '3279-3', size: MODEL_SIZE[3]!, text: 'AFTER KEYS', keys: ['pa1', 'pa2', 'clear'] })
  const pages: Array<[number, string]> = [[37, 'CENTS ¢ NOT ¬ É'], [1047, 'BRACKETS [] CARET ^ é'], [273, 'GRÜSSE ÄÖÜ äöü ß §'], [285, 'POUNDS £ DOLLARS $ ¯']]
  for (const [cp, text] of pages) {
    rows.push({ name: `code page ${cp}`, model: '3279-2', extraArgs: ['-codepage', String(cp)], size: MODEL_SIZE[2]!, codePage: cp, text })
  }
  return rows
}

export interface RowTarget { mode: InteropMode, path: InteropPath, port: number }

/** Polls Ascii() until `pattern` shows (the row's deadline bounds it). */
async function screenShows (s: S3270, pattern: RegExp | string, what: string, ms = 10_000): Promise<string> {
  const end = Date.now() + ms
  let last = ''
  while (Date.now() < end) {
    last = (await s.ascii()).join('\n')
    if (typeof pattern === 'string' ? last.includes(pattern) : pattern.test(last)) return last
    await new Promise(resolve => setTimeout(resolve, 40))
  }
  throw new Error(`${what}: not on the screen within ${ms} ms; screen was:\n${last}`)
}

/** Runs one row; resolves with what was checked, rejects with what went wrong. */
export async function runRow (row: InteropRow, target: RowTarget): Promise<string[]> {
  const checked: string[] = []
  const s = await S3270.start({ modelName: row.model, extraArgs: row.extraArgs ?? [], commandTimeoutMs: 20_000 })
  try {
    const prefix = target.mode === 'tn3270' ? 'N:' : ''
    const c = await s.connect(`${prefix}${row.lus ?? ''}127.0.0.1:${target.port}`)
    if (!c.ok) throw new Error(`Connect failed: ${c.data.join(' / ')} (${c.status})`)
    const state = await s.query('ConnectionState')
    const want = target.mode === 'tn3270e' ? 'connected-tn3270e' : 'connected-3270'
    if (state !== want) throw new Error(`connection state ${state}, expected ${want}`)
    await firstScreen(s, row, checked)
    for (const key of row.keys ?? []) await press(s, key, target.mode, checked)
    await s.string(row.text)
    await s.enter()
    await screenShows(s, `ECHO: ${row.text}`, `the echo of ${JSON.stringify(row.text)}`)
    checked.push('echo unchanged')
    await s.disconnect()
    return checked
  } finally {
    await s.close()
  }
}

async function firstScreen (s: S3270, row: InteropRow, checked: string[]): Promise<void> {
  const { rows, cols } = row.size
  const size = new RegExp(`SCREEN ${rows}x${cols}`)
  const screen = await screenShows(s, size, `DEMO's SCREEN ${rows}x${cols} line`)
  if (!screen.includes(`tn3270-lb demo host ${row.host ?? 'HOSTA'}`)) throw new Error(`not the DEMO screen of ${row.host ?? 'HOSTA'}:\n${screen}`)
  const status = s.lastStatus.split(' ')
  if (Number(status[6]) !== rows || Number(status[7]) !== cols) throw new Error(`s3270 says ${status[6]}x${status[7]}, expected ${rows}x${cols}`)
  checked.push(`DEMO screen ${rows}x${cols}`)
  if (row.codePage !== undefined) {
    if (!screen.includes(`CODE PAGE ${row.codePage}`)) throw new Error(`DEMO did not learn code page ${row.codePage}:\n${screen}`)
    checked.push(`code page ${row.codePage}`)
  }
}

async function press (s: S3270, key: NonNullable<InteropRow['keys']>[number], mode: InteropMode, checked: string[]): Promise<void> {
  switch (key) {
    case 'sysreq': {
      // SysReq, LOGON typed to the SSCP (it answers: the LU is in session already), SysReq back:
      // DEMO repaints (LUSTAT X'082B'), so its ECHO from before is gone.
      await s.string('BEFORE')
      await s.enter()
      await screenShows(s, 'ECHO: BEFORE', 'the echo before SysReq')
      if (!(await s.sysreq()).ok) throw new Error('SysReq refused by s3270')
      await unlocked(s, `keyboard locked after SysReq (${mode})`)
      await s.string('LOGON APPLID(DEMO)')
      await s.enter()
      await screenShows(s, SSCP_ANSWER, 'the SSCP\'s answer on the SSCP-LU session')
      checked.push('SysReq: SSCP session answered')
      if (!(await s.sysreq()).ok) throw new Error('second SysReq refused by s3270')
      await screenShows(s, /tn3270-lb demo host(?![^]*ECHO: BEFORE)/, 'DEMO repainted after the second SysReq')
      await unlocked(s, `keyboard locked back on the LU-LU session (${mode})`)
      checked.push('SysReq: back, DEMO repainted')
      return
    }
    case 'attn':
      await s.attn()
      await screenShows(s, 'ATTENTION RECEIVED', 'DEMO\'s ATTENTION RECEIVED after Attn')
      checked.push('Attn reached DEMO')
      return
    case 'pa1':
    case 'pa2':
      await s.pa(key === 'pa1' ? 1 : 2)
      await screenShows(s, 'KEY NOT ASSIGNED', `DEMO's answer to ${key.toUpperCase()}`)
      await unlocked(s, `keyboard locked after ${key.toUpperCase()}`)
      checked.push(`${key.toUpperCase()} answered`)
      return
    case 'clear': {
      await s.clear()
      const end = Date.now() + 10_000
      while (Date.now() < end) {
        const text = (await s.ascii()).join('\n')
        if (text.includes('tn3270-lb demo host') && !text.includes('KEY NOT ASSIGNED')) break
        await new Promise(resolve => setTimeout(resolve, 40))
      }
      await unlocked(s, 'keyboard locked after Clear')
      checked.push('Clear repainted')
    }
  }
}

async function unlocked (s: S3270, what: string): Promise<void> {
  const u = await s.run('Wait(10,Unlock)', { timeoutMs: 20_000 })
  if (!u.ok) throw new Error(what)
}

/** Runs `jobs` with at most `limit` at a time, in order of start. */
export async function pooled<T> (jobs: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++
      out[i] = await jobs[i]!()
    }
  }))
  return out
}

/**
 * Every row in `mode` with the real s3270, directly at a gateway and through the proxy, against
 * one demo (query BINDs, DEFAPPL DEMO); rows run six at a time, each s3270 on its own LU.
 */
export async function runInteropMatrix (t: Test, mode: InteropMode): Promise<void> {
  const demo = await startTestDemo(t, { gateways: 2, hosts: 2, lus: 8 })
  const ports: Record<InteropPath, number> = { direct: demo.gateways[0]!.listenerPort('tn3270'), proxy: demo.proxy.listeners[0]!.port }
  const started = Date.now()
  const jobs = interopRows().flatMap(row => (['direct', 'proxy'] as const).map(path => async () => {
    const at = Date.now()
    try {
      const checked = await runRow(row, { mode, path, port: ports[path] })
      return { row: row.name, path, ok: true, detail: checked.join(', '), ms: Date.now() - at }
    } catch (err) {
      return { row: row.name, path, ok: false, detail: errorMessage(err), ms: Date.now() - at }
    }
  }))
  const results = await pooled(jobs, 6)
  for (const r of results) t.ok(r.ok, `${r.row} (${r.path}, ${r.ms} ms): ${r.detail}`)
  t.comment(`${results.length} rows in ${Date.now() - started} ms`)
}
