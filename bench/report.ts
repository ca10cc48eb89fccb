// Shared bench helpers: running a load job in a worker, statistics, machine info, markdown
// tables and the results files (bench/results/<date>-<scenario>.md).
import { Worker } from 'node:worker_threads'
import { mkdir, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import pino from 'pino'
import { createLogger, silentLogger, type Logger } from '../lib/observability/index.js'
import type { LoadJob, LoadResult } from './load-worker.js'

/** Server logs: dropped, unless BENCH_LOG=<file> asks for them (debugging a failed run). */
export function benchLogger (): Logger {
  const file = process.env.BENCH_LOG
  if (file === undefined || file === '') return silentLogger()
  return createLogger({ level: 'debug', destination: pino.destination({ dest: file, sync: true, append: true }) })
}

export async function runLoad<R extends LoadResult> (job: LoadJob): Promise<R> {
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: job })
  try {
    const msg = await new Promise<{ ok: boolean, result?: R, error?: string }>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
      worker.once('exit', code => reject(new Error(`load worker exited with ${code} before answering`)))
    })
    if (!msg.ok) throw new Error(`load worker: ${msg.error ?? 'failed'}`)
    return msg.result!
  } finally {
    await worker.terminate()
  }
}

/** Nearest-rank percentile of an unsorted sample (q in 0..1). */
export function percentile (sample: Float64Array, q: number): number {
  if (sample.length === 0) return NaN
  const s = Float64Array.from(sample).sort()
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const fmt = (x: number, digits = 2): string => Number.isFinite(x) ? x.toFixed(digits) : '–'
export const fmtInt = (x: number): string => Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–'
/** x / base with two decimals, or three significant digits below 0.1 (e.g. 0.0261×). */
export const ratio = (x: number, base: number): string => {
  if (!(base > 0) || !Number.isFinite(x)) return '–'
  const r = x / base
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(3)}×`
}

export function table (headers: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')
}

export function machineInfo (): string {
  let model = cpus()[0]?.model ?? 'unknown'
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m !== null) model = m[1]!.trim()
  } catch { /* not Linux */ }
  const [l1, l5, l15] = loadavg()
  return [
    `- date: ${new Date().toISOString()}`,
    `- node: ${process.version} (${process.platform} ${process.arch})`,
    `- CPU: ${model} × ${cpus().length}`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- load average (1/5/15 min) at start of scenario: ${fmt(l1!)} / ${fmt(l5!)} / ${fmt(l15!)}`,
  ].join('\n')
}

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results')

/** Writes bench/results/<YYYY-MM-DD>-<scenario>.md and returns its path. */
export async function writeResult (scenario: string, machine: string, body: string): Promise<string> {
  await mkdir(resultsDir, { recursive: true })
  const file = path.join(resultsDir, `${new Date().toISOString().slice(0, 10)}-${scenario}.md`)
  await writeFile(file, `# ${scenario}\n\n${machine}\n\n${body.trim()}\n`)
  return file
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Polls until cond() holds or ms elapse; returns whether it held. */
export async function waitFor (cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) return false
    await sleep(20)
  }
  return true
}
