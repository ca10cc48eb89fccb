// Every process the bench starts (host simulators, gateways, our proxy, HAProxy, load generators,
// the unpaced baseline server) runs in its own process group, started through a shell that first
// raises the soft open-file limit to the hard one (`ulimit -n`), then execs the program, so the
// group id is the program's pid. Stopping signals the whole group; a registry stops whatever is
// still running when the run ends, fails, or is interrupted, so no run leaves processes or
// listeners behind. CPU and memory are read per group from /proc (proc(5)).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import { sleep } from './stats.js'

export interface SpawnOptions {
  /** Name in logs and errors, e.g. `gateway gw1`. */
  name: string
  command: string
  args: string[]
  /** stdout and stderr go here (and are scanned for lines while someone waits for one). */
  logFile: string
  /** Adds an IPC channel (load generators). */
  ipc?: boolean
  env?: NodeJS.ProcessEnv
}

const live = new Set<RoleProcess>()

// `$0` is the program, `"$@"` its arguments: no quoting of paths into the shell text.
const RAISE_NOFILE_THEN_EXEC = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"'

export class RoleProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  readonly logFile: string
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>
  private exitedValue: number | string | undefined
  private readonly lines: string[] = []
  private readonly waiters = new Set<() => void>()
  private readonly log: WriteStream
  private partial = ''

  constructor (opts: SpawnOptions) {
    this.name = opts.name
    this.logFile = opts.logFile
    this.log = createWriteStream(opts.logFile, { flags: 'a' })
    const stdio: StdioOptions = opts.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe']
    this.child = spawn('/bin/sh', ['-c', RAISE_NOFILE_THEN_EXEC, opts.command, ...opts.args], {
      detached: true, // own process group: group id = pid
      stdio,
      env: opts.env ?? process.env,
      ...(opts.ipc === true ? { serialization: 'advanced' as const } : {}),
    })
    if (this.child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`)
    this.pid = this.child.pid
    live.add(this)
    this.child.stdout!.on('data', (b: Buffer) => this.onOutput(b))
    this.child.stderr!.on('data', (b: Buffer) => this.onOutput(b))
    this.exited = new Promise(resolve => {
      this.child.once('exit', (code, signal) => {
        this.exitedValue = code ?? signal ?? 'unknown'
        live.delete(this)
        for (const w of this.waiters) w()
        resolve(this.exitedValue)
      })
    })
  }

  get running (): boolean { return this.exitedValue === undefined }

  /** Waits for an output line matching `re` (lines already seen count); fails if the process exits first. */
  async waitForLine (re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs
    for (;;) {
      for (const l of this.lines) {
        const m = re.exec(l)
        if (m !== null) return m
      }
      if (!this.running) throw new Error(`${this.name} exited (${String(this.exitedValue)}) before printing ${re}; see ${this.logFile}`)
      const left = end - Date.now()
      if (left <= 0) throw new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms; see ${this.logFile}`)
      await new Promise<void>(resolve => {
        const done = (): void => { clearTimeout(timer); this.waiters.delete(done); resolve() }
        const timer = setTimeout(done, left)
        this.waiters.add(done)
      })
    }
  }

  /**
   * Stops the group: SIGTERM twice (our CLI drains on the first and stops at once on the second;
   * HAProxy stops at once), then SIGKILL if anything of the group is still there after `graceMs`.
   */
  async stop (graceMs = 3000): Promise<void> {
    if (this.running) {
      signalGroup(this.pid, 'SIGTERM')
      await sleep(20)
      signalGroup(this.pid, 'SIGTERM')
      const timer = new Promise(resolve => setTimeout(resolve, graceMs))
      await Promise.race([this.exited, timer])
    }
    // The leader may be gone while a child of it (a worker process) is not: kill the group.
    signalGroup(this.pid, 'SIGKILL')
    if (this.running) await this.exited
    this.log.end()
    await once(this.log, 'close').catch(() => {})
  }

  private onOutput (b: Buffer): void {
    this.log.write(b)
    const text = this.partial + b.toString('utf8')
    const parts = text.split('\n')
    this.partial = parts.pop() ?? ''
    // Only the start-up lines matter to waiters; keep a bounded number.
    if (this.lines.length < 2000) this.lines.push(...parts)
    for (const w of this.waiters) w()
  }
}

function signalGroup (pgid: number, sig: NodeJS.Signals): void {
  try { process.kill(-pgid, sig) } catch { /* the group is gone */ }
}

/** Stops every process this run started that is still running (in parallel). */
export async function stopAll (): Promise<void> {
  await Promise.all([...live].map(async p => await p.stop()))
}

export function liveProcesses (): string[] {
  return [...live].map(p => `${p.name} (pid ${p.pid})`)
}

let hooked = false
/**
 * Last-resort cleanup: on exit (any cause the runtime still sees) every remaining group gets
 * SIGKILL synchronously; SIGINT/SIGTERM/SIGHUP to the runner stop the groups and exit.
 */
export function installCleanupHooks (): void {
  if (hooked) return
  hooked = true
  process.on('exit', () => { for (const p of live) signalGroup(p.pid, 'SIGKILL') })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} bench process group(s)\n`)
      stopAll().finally(() => process.exit(130))
    })
  }
}
