// CPU time and resident memory of a process and its descendants, read from /proc (proc(5)):
// utime + stime of /proc/<pid>/stat in clock ticks (all threads of the process, so V8's GC and
// libuv threads count), VmRSS of /proc/<pid>/status. Descendants come from
// /proc/<pid>/task/<tid>/children, so a front that forks worker processes is measured whole.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

let ticksPerSecond: number | undefined
function clockTicks (): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    } catch {
      ticksPerSecond = 100
    }
    if (!(ticksPerSecond > 0)) ticksPerSecond = 100
  }
  return ticksPerSecond
}

export interface ProcSample {
  /** utime + stime, seconds, summed over the tree. */
  cpuSeconds: number
  /** VmRSS, bytes, summed over the tree. */
  rssBytes: number
  processes: number
}

function descendants (pid: number): number[] {
  const out = [pid]
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!
    let tasks: string[]
    try { tasks = readdirSync(`/proc/${p}/task`) } catch { continue }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ')) if (c.trim() !== '') out.push(Number(c))
      } catch { /* the task ended */ }
    }
  }
  return out
}

/** Fields after the command name: stat(5) field n is index n - 3 (the name may contain spaces). */
function statFields (pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s.slice(s.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

function rssOf (pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}

/** CPU and RSS of `pid` and everything it started; zeros once it has ended. */
export function sampleTree (pid: number): ProcSample {
  let ticks = 0
  let rss = 0
  let processes = 0
  for (const p of descendants(pid)) {
    const f = statFields(p)
    if (f === undefined) continue
    ticks += Number(f[11]) + Number(f[12]) // utime (14), stime (15)
    rss += rssOf(p)
    processes++
  }
  return { cpuSeconds: ticks / clockTicks(), rssBytes: rss, processes }
}

/** CPU seconds of several trees together (e.g. every host simulator). */
export function cpuOf (pids: number[]): number {
  return pids.reduce((s, p) => s + sampleTree(p).cpuSeconds, 0)
}
