// Parent side of the load generators (bench/README.md, "Method"): LoadProcess starts bench/load-process.js in its own
// process group and sends it one command at a time over IPC. The command and result shapes are
// the protocol between the two.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { RoleProcess } from './procs.js'
import type { RunContext } from './topology.js'

export type LoadCommand =
  | { op: 'open', group: string, port: number, count: number, concurrency: number, resource?: string, timeoutMs: number }
  | { op: 'echo', group: string, ms: number, tag: string }
  | { op: 'close', group: string }
  | { op: 'setup', port: number, concurrency: number, ms: number }
  | { op: 'flood', port: number, count: number, raw: boolean, resource?: string, timeoutMs: number }
  | { op: 'stall', group: string, count: number, pauseAfter: number, timeoutMs: number }
  | { op: 'resume', group: string, verify: number, stuckMs: number, timeoutMs: number }

export interface OpenResult { opened: number, failed: number, dropped: number, open: number, errors: string[], ms: number }
export interface EchoWindowResult { transactions: number, failed: number, elapsedMs: number, latenciesMs: Float64Array }
export interface SetupResult { sessions: number, failed: number, errors: string[], elapsedMs: number, latenciesMs: Float64Array }
export interface FloodResult { records: number, bytes: number, elapsedMs: number, outOfOrder: number }
export interface StallResult { sessions: number, paused: number, ms: number }
export interface ResumeResult { verified: number, complete: number, outOfOrder: number, records: number, stuck: boolean, ms: number }

export type LoadReply = { id: number, ok: true, result: unknown } | { id: number, ok: false, error: string }

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-process.js')

export class LoadProcess {
  readonly proc: RoleProcess
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (r: unknown) => void, reject: (e: Error) => void }>()

  private constructor (proc: RoleProcess) {
    this.proc = proc
    proc.child.on('message', (m: LoadReply) => {
      const p = this.pending.get(m.id)
      if (p === undefined) return
      this.pending.delete(m.id)
      if (m.ok) p.resolve(m.result)
      else p.reject(new Error(`${proc.name}: ${m.error}`))
    })
    void proc.exited.then(code => {
      for (const p of this.pending.values()) p.reject(new Error(`${proc.name} exited (${String(code)}); see ${proc.logFile}`))
      this.pending.clear()
    })
  }

  static async start (ctx: RunContext, name: string): Promise<LoadProcess> {
    const proc = new RoleProcess({
      name: `load ${name}`,
      command: process.execPath,
      args: [script],
      logFile: path.join(ctx.tmp, `load-${name}.log`),
      ipc: true,
    })
    const lp = new LoadProcess(proc)
    // The child's first message (id 0) says it is ready to take commands.
    await new Promise<void>((resolve, reject) => lp.pending.set(0, { resolve: () => resolve(), reject }))
    return lp
  }

  async send<R> (cmd: LoadCommand): Promise<R> {
    const id = this.nextId++
    return await new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: r => resolve(r as R), reject })
      this.proc.child.send({ id, cmd }, err => { if (err !== null) { this.pending.delete(id); reject(err) } })
    })
  }

  async stop (): Promise<void> { await this.proc.stop(1000) }
}

/** `n` load processes started together. */
export async function startLoad (ctx: RunContext, n: number, name = 'gen'): Promise<LoadProcess[]> {
  const out = await Promise.allSettled(Array.from({ length: n }, async (_, i) => await LoadProcess.start(ctx, `${name}${i + 1}`)))
  const ok = out.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
  const bad = out.find(r => r.status === 'rejected')
  if (bad !== undefined) {
    await Promise.all(ok.map(async l => await l.stop()))
    throw (bad as PromiseRejectedResult).reason
  }
  return ok
}
