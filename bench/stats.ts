// Small numeric and formatting helpers shared by the scenarios: percentiles, medians, ratios,
// and the number formats of the results tables (how to read them: bench/README.md).

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Polls until cond() holds or ms elapse; returns whether it held (bench only: lib/ awaits events). */
export async function waitUntil (cond: () => Promise<boolean> | boolean, ms: number, everyMs = 100): Promise<boolean> {
  const end = Date.now() + ms
  for (;;) {
    if (await cond()) return true
    if (Date.now() > end) return false
    await sleep(everyMs)
  }
}

export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

/** Nearest-rank percentile of an unsorted sample (q in 0..1). */
export function percentile (sample: ArrayLike<number>, q: number): number {
  if (sample.length === 0) return NaN
  const s = Float64Array.from(sample).sort()
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

export function median (xs: number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const fmt = (x: number, digits = 2): string => Number.isFinite(x) ? x.toFixed(digits) : '–'
export const fmtInt = (x: number): string => Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–'

/** x / base with two decimals, or three significant digits below 0.1 (e.g. 0.0261×). */
export function ratio (x: number, base: number): string {
  if (!(base > 0) || !Number.isFinite(x)) return '–'
  const r = x / base
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(3)}×`
}

/** `min–max` of a list of ratios (the per-round spread: read a ratio only to this precision). */
export function spread (rs: number[]): string {
  const ok = rs.filter(Number.isFinite)
  if (ok.length === 0) return '–'
  return `${Math.min(...ok).toFixed(2)}–${Math.max(...ok).toFixed(2)}`
}

export function table (headers: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')
}
