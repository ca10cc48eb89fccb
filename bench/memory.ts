// Memory readings of a role: its RSS (VmRSS, proc(5)) as the OS charges it; for our Node
// processes also after a full garbage collection, and the live JavaScript memory then (V8 heap
// used + external memory, i.e. Buffers, from the role's Prometheus /metrics: prom-client's
// nodejs_heap_size_used_bytes and nodejs_external_memory_bytes). The collection makes
// per-session figures count what sessions retain rather than garbage not yet collected: the
// process runs with `--inspect=127.0.0.1:0` (memory scenarios only) and is asked over the Chrome
// DevTools Protocol (HeapProfiler.collectGarbage; chromedevtools.github.io/devtools-protocol).
import { WebSocket } from 'undici'
import type { RoleProcess } from './procs.js'
import { sampleTree } from './proc-stats.js'

/** Node options that make a process collectable by collectGarbage(). */
export const INSPECT_ARGS = ['--inspect=127.0.0.1:0']

export async function collectGarbage (proc: RoleProcess, timeoutMs = 15_000): Promise<void> {
  const m = await proc.waitForLine(/Debugger listening on (ws:\/\/\S+)/, 5000)
  const ws = new WebSocket(m[1]!)
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${proc.name}: no answer to HeapProfiler.collectGarbage within ${timeoutMs} ms`)), timeoutMs)
      ws.addEventListener('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })))
      ws.addEventListener('message', ev => {
        const msg = JSON.parse(String(ev.data)) as { id?: number, error?: { message: string } }
        if (msg.id !== 1) return
        clearTimeout(timer)
        if (msg.error !== undefined) reject(new Error(`${proc.name}: HeapProfiler.collectGarbage: ${msg.error.message}`))
        else resolve()
      })
      ws.addEventListener('error', () => { clearTimeout(timer); reject(new Error(`${proc.name}: inspector connection failed`)) })
    })
  } finally {
    ws.close()
  }
}

/** V8 heap used + external memory of a role, from its admin /metrics. */
export async function liveJsBytes (adminUrl: string): Promise<number> {
  const res = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  // A proxy primary serves every worker's series, each with its `worker` label: their sum.
  const value = (name: string): number => {
    const ms = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))]
    if (ms.length === 0) throw new Error(`${adminUrl}/metrics has no ${name}`)
    return ms.reduce((n, m) => n + Number(m[1]), 0)
  }
  return value('nodejs_heap_size_used_bytes') + value('nodejs_external_memory_bytes')
}

export interface MemoryReading {
  /** VmRSS now. */
  rss: number
  /** VmRSS right after a full GC (= rss for a process that is not ours). */
  rssAfterGc: number
  /** Live V8 heap + external bytes after the GC (NaN for a process that is not ours). */
  live: number
}

/** Reads RSS; with `node` (a role of ours started with INSPECT_ARGS), also after a GC, and live JS memory. */
export async function readMemory (proc: RoleProcess, node?: { adminUrl: string }): Promise<MemoryReading> {
  const rss = sampleTree(proc.pid).rssBytes
  if (node === undefined) return { rss, rssAfterGc: rss, live: NaN }
  await collectGarbage(proc)
  return { rss, rssAfterGc: sampleTree(proc.pid).rssBytes, live: await liveJsBytes(node.adminUrl) }
}
