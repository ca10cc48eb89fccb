// Load generator, run in a worker thread so the clients have their own event loop (and, on a
// 2-core machine, roughly their own core) while the servers run on the main thread.
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { encode } from '../lib/datastream/index.js'
import { BenchClient } from './client.js'

export type LoadJob =
  | { kind: 'echo', ports: number[], clients: number, warmupMs: number, windowMs: number, rounds: number }
  | { kind: 'setup', port: number, connections: number }
  | { kind: 'flood', port: number, count: number, raw: boolean }

export interface EchoWindow { transactions: number, elapsedMs: number }
/** Per port (in job order): one entry per round, and every transaction latency of those rounds. */
export interface EchoResult { kind: 'echo', paths: Array<{ windows: EchoWindow[], latenciesMs: Float64Array }> }
export interface SetupResult { kind: 'setup', latenciesMs: Float64Array }
export interface FloodResult { kind: 'flood', records: number, bytes: number, elapsedMs: number }
export type LoadResult = EchoResult | SetupResult | FloodResult

/**
 * K clients each run ECHO transactions back to back (type text, Enter, wait for `ECHO: text`)
 * until `ms` have passed; transactions in flight at the end are finished and counted, and the
 * window's elapsed time includes them.
 */
async function echoWindow (clients: BenchClient[], ms: number, latencies: number[] | undefined, tag: string): Promise<EchoWindow> {
  const t0 = performance.now()
  const end = t0 + ms
  let transactions = 0
  await Promise.all(clients.map(async (c, k) => {
    for (let n = 0; ; n++) {
      const s = performance.now()
      if (s >= end) return
      const text = `${tag}C${k}T${n}`
      const expect = encode(`ECHO: ${text}`)
      c.enter(text)
      await c.next(r => r.dataType === 0 && r.data.indexOf(expect) !== -1)
      latencies?.push(performance.now() - s)
      transactions++
    }
  }))
  return { transactions, elapsedMs: performance.now() - t0 }
}

/**
 * The same K clients on every port, connected once; then rounds of one window per port in turn
 * (A B A B ...), so drift in machine load hits every path alike and no connection setup or LU
 * release happens between measurements.
 */
async function echo (job: Extract<LoadJob, { kind: 'echo' }>): Promise<EchoResult> {
  const sets: BenchClient[][] = []
  try {
    for (const port of job.ports) {
      sets.push(await Promise.all(Array.from({ length: job.clients }, async () => await BenchClient.connect({ port }))))
    }
    const out = job.ports.map(() => ({ windows: [] as EchoWindow[], latencies: [] as number[] }))
    for (let p = 0; p < sets.length; p++) await echoWindow(sets[p]!, job.warmupMs, undefined, `W${p}`)
    for (let r = 0; r < job.rounds; r++) {
      for (let p = 0; p < sets.length; p++) out[p]!.windows.push(await echoWindow(sets[p]!, job.windowMs, out[p]!.latencies, `R${r}P${p}`))
    }
    return { kind: 'echo', paths: out.map(o => ({ windows: o.windows, latenciesMs: Float64Array.from(o.latencies) })) }
  } finally {
    for (const set of sets) for (const c of set) c.close()
  }
}

async function setup (job: Extract<LoadJob, { kind: 'setup' }>): Promise<SetupResult> {
  const out = new Float64Array(job.connections)
  for (let i = 0; i < job.connections; i++) {
    const t0 = performance.now()
    const c = await BenchClient.connect({ port: job.port })
    out[i] = performance.now() - t0
    c.close()
    await new Promise(resolve => setTimeout(resolve, 20)) // let the LU go back to the pool
  }
  return { kind: 'setup', latenciesMs: out }
}

async function flood (job: Extract<LoadJob, { kind: 'flood' }>): Promise<FloodResult> {
  const c = await BenchClient.connect({ port: job.port, raw: job.raw })
  const before = c.bytes
  let done!: () => void
  const finished = new Promise<void>(resolve => { done = resolve })
  let records = 0
  c.onRecord = (r) => { if ((job.raw || r.dataType === 0) && ++records === job.count) done() }
  const t0 = performance.now()
  if (job.raw) c.socket.write('go')
  else c.enter(`FLOOD ${job.count}`)
  const timer = setTimeout(done, 60_000)
  await finished
  clearTimeout(timer)
  const elapsedMs = performance.now() - t0
  const bytes = c.bytes - before
  c.close()
  if (records < job.count) throw new Error(`flood: only ${records} of ${job.count} records within 60 s`)
  return { kind: 'flood', records, bytes, elapsedMs }
}

async function run (job: LoadJob): Promise<LoadResult> {
  switch (job.kind) {
    case 'echo': return await echo(job)
    case 'setup': return await setup(job)
    case 'flood': return await flood(job)
  }
}

run(workerData as LoadJob).then(
  r => parentPort!.postMessage({ ok: true, result: r }),
  (err: Error) => parentPort!.postMessage({ ok: false, error: err.stack ?? err.message }),
)
