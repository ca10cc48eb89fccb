// What a run writes (bench/README.md, "Results"): bench/results/<stamp>-<mode>.md (the machine, the mode, a headline table of
// ratios, then each scenario's tables) and bench/results/<stamp>-<mode>-<scenario>.svg (one chart
// per scenario, bench/svg.ts). The machine block names what the ratios depend on: cores, CPU
// model, kernel, Node and HAProxy versions, the open-file limit and the load average.
import { mkdir, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { svgDocument, type Panel } from './svg.js'
import { fmt, table } from './stats.js'
import type { HaproxyInfo } from './haproxy.js'

export interface ScenarioResult {
  name: string
  title: string
  /** Markdown: method paragraph and tables. */
  body: string
  panels: Panel[]
  /** Rows of the run's headline table: figure, ours, peer or baseline, ratio. */
  headline: string[][]
}

export const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results')

export function machineInfo (haproxy: HaproxyInfo | undefined, openFiles: number): string[] {
  let model = cpus()[0]?.model ?? 'unknown'
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m !== null) model = m[1]!.trim()
  } catch { /* not Linux */ }
  const [l1, l5, l15] = loadavg()
  return [
    `- nproc: ${availableParallelism()}; CPU: ${model}`,
    `- kernel: ${process.platform} ${release()}; memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; open-file limit per process: ${openFiles}`,
    `- Node: ${process.version}; HAProxy: ${haproxy === undefined ? '**not installed** (our numbers only, no peer ratios)' : haproxy.version}`,
    `- load average (1/5/15 min) at start: ${fmt(l1!)} / ${fmt(l5!)} / ${fmt(l15!)}`,
  ]
}

export function loadNow (): string {
  return loadavg().map(x => fmt(x)).join(' / ')
}

/** Writes the run's markdown and one SVG per scenario; returns the markdown's path. */
export async function writeRun (o: { mode: string, started: Date, machine: string[], results: ScenarioResult[], failures: string[], notes: string[] }): Promise<string> {
  await mkdir(resultsDir, { recursive: true })
  const stamp = o.started.toISOString().slice(0, 16).replace(/:/g, '')
  const base = `${stamp}-${o.mode}`
  const headline = o.results.flatMap(r => r.headline)
  const parts = [
    `# Benchmark run ${o.started.toISOString().slice(0, 16).replace('T', ' ')} UTC (${o.mode})`,
    '',
    ...o.machine,
    `- finished: ${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC, load average then ${loadNow()}`,
    '',
    ...o.notes.flatMap(n => [`> ${n}`, '']),
    '## Headline',
    '',
    headline.length > 0 ? table(['figure', 'ours', 'HAProxy / baseline', 'ratio'], headline) : '(no scenario finished)',
    '',
  ]
  if (o.failures.length > 0) parts.push('## Failed scenarios', '', ...o.failures.map(f => `- ${f}`), '')
  for (const r of o.results) {
    const svg = `${base}-${r.name}.svg`
    if (r.panels.length > 0) await writeFile(path.join(resultsDir, svg), svgDocument(r.title, r.panels))
    parts.push(`## ${r.title}`, '', r.body.trim(), '')
    if (r.panels.length > 0) parts.push(`![${r.title}](${svg})`, '')
  }
  const file = path.join(resultsDir, `${base}.md`)
  await writeFile(file, parts.join('\n'))
  return file
}
