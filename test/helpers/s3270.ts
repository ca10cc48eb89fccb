// Driver for the real s3270 scripted TN3270 client (Debian package s3270 4.1ga10), used by tests.
// Protocol (the x3270-script(1) manual page; facts measured with it in docs/tn3270.md): one action per line on stdin; the reply is zero or more
// `data: …` lines, then a 12-field status line, then `ok` or `error`. Pitfalls handled here
// (measured with s3270 4.1): Wait() timeouts must be integers; Connect() arguments containing a comma must be quoted;
// a refused connection prints one unprefixed garbage line before the status line, so the status
// is the last well-formed status line before ok/error and other lines are ignored; `Quit` never
// replies. One command is in flight at a time (a queue); every command has a timeout that kills
// the child and rejects with a message naming the command.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface S3270Options {
  /** 3278/3279 model number (2 = 24×80, 3 = 32×80, 4 = 43×80, 5 = 27×132). Default 2. */
  model?: 2 | 3 | 4 | 5
  /** Extra command-line arguments (e.g. ['-trace', '-tracefile', f], ['-connecttimeout', '5']). */
  extraArgs?: string[]
  /** Default per-command timeout in ms (default 20000). */
  commandTimeoutMs?: number
  /** Binary (default /usr/bin/s3270 via PATH lookup of `s3270`). */
  bin?: string
  /** `-model` given as s3270 spells it (e.g. '3278-4', '3279-2-E'); overrides `model`. */
  modelName?: string
}

export interface S3270Result {
  data: string[]
  status: string
  ok: boolean
}

export interface StatusFields {
  /** U unlocked, L locked, E error. */
  keyboard: string
  formatted: boolean
  /** Field at the cursor is protected. */
  protected: boolean
  /** `C(host)` or `N`. */
  connection: string
  connected: boolean
  host?: string
  /** I 3270, L/C NVT, P pending, N none. */
  mode: string
  model: number
  rows: number
  cols: number
  cursorRow: number
  cursorCol: number
  window: string
  /** Command execution time in seconds. */
  time: number
}

const STATUS_RE = /^[ULE] [FU] [PU] (?:C\([^)]*\)|N) \S+ \d+ \d+ \d+ \d+ \d+ \S+ [\d.-]+$/

/** Parse the 12-field s3270 status line (x3270-script(1), "Status line"). Throws on a malformed line. */
export function statusFields (status: string): StatusFields {
  const m = /^(\S) (\S) (\S) (C\(([^)]*)\)|N) (\S+) (\d+) (\d+) (\d+) (\d+) (\d+) (\S+) (\S+)$/.exec(status.trim())
  if (m === null) throw new Error(`s3270: not a status line: ${JSON.stringify(status)}`)
  const f: StatusFields = {
    keyboard: m[1] as string,
    formatted: m[2] === 'F',
    protected: m[3] === 'P',
    connection: m[4] as string,
    connected: (m[4] as string).startsWith('C('),
    mode: m[6] as string,
    model: Number(m[7]),
    rows: Number(m[8]),
    cols: Number(m[9]),
    cursorRow: Number(m[10]),
    cursorCol: Number(m[11]),
    window: m[12] as string,
    time: Number(m[13]),
  }
  if (m[5] !== undefined) f.host = m[5]
  return f
}

/** Quote an action argument when needed (commas, spaces, parentheses, quotes, backslashes). */
export function quoteArg (arg: string): string {
  if (/^[^\s,()"\\]+$/.test(arg)) return arg
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

interface Pending {
  action: string
  timeoutMs: number
  resolve: (r: S3270Result) => void
  reject: (e: Error) => void
  data: string[]
  status: string
  other: string
  timer?: NodeJS.Timeout
}

export class S3270 {
  readonly child: ChildProcessWithoutNullStreams
  /** Last status line seen. */
  lastStatus = ''
  /** Lines that arrived outside any command, and stderr, for diagnostics. */
  readonly stray: string[] = []
  private readonly queue: Pending[] = []
  private current: Pending | undefined
  private exited = false
  private exitInfo = ''
  private readonly exitPromise: Promise<void>
  private readonly defaultTimeout: number

  private constructor (child: ChildProcessWithoutNullStreams, defaultTimeout: number) {
    this.child = child
    this.defaultTimeout = defaultTimeout
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true
        this.exitInfo = signal !== null ? `killed by ${signal}` : `exited with code ${code}`
        this.failAll(new Error(`s3270 ${this.exitInfo}`))
        resolve()
      })
    })
    createInterface({ input: child.stdout }).on('line', (line) => { this.onLine(line) })
    createInterface({ input: child.stderr }).on('line', (line) => { this.stray.push(`stderr: ${line}`) })
    child.stdin.on('error', () => { /* EPIPE after exit; the exit handler reports it */ })
  }

  /** Spawn `s3270 -model N [extraArgs]`; resolves once the process is running. */
  static async start (opts: S3270Options = {}): Promise<S3270> {
    const args = ['-model', opts.modelName ?? String(opts.model ?? 2), ...(opts.extraArgs ?? [])]
    // A UTF-8 locale: text with non-ASCII characters (String(), Ascii) crosses stdin/stdout as UTF-8.
    const child = spawn(opts.bin ?? 's3270', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', (err) => { reject(new Error(`s3270: cannot start: ${err.message}`)) })
    })
    return new S3270(child, opts.commandTimeoutMs ?? 20_000)
  }

  get pid (): number | undefined { return this.child.pid }
  get running (): boolean { return !this.exited }

  /** Run one action (e.g. `Connect(127.0.0.1:3270)`); queued behind any command in flight. */
  async run (action: string, opts: { timeoutMs?: number } = {}): Promise<S3270Result> {
    if (/[\r\n]/.test(action)) throw new Error(`s3270: one action per line, got ${JSON.stringify(action)}`)
    if (this.exited) throw new Error(`s3270 ${this.exitInfo}; cannot run ${action}`)
    return await new Promise<S3270Result>((resolve, reject) => {
      this.queue.push({ action, timeoutMs: opts.timeoutMs ?? this.defaultTimeout, resolve, reject, data: [], status: '', other: '' })
      this.next()
    })
  }

  private next (): void {
    if (this.current !== undefined || this.exited) return
    const p = this.queue.shift()
    if (p === undefined) return
    this.current = p
    p.timer = setTimeout(() => {
      this.current = undefined
      p.reject(new Error(`s3270: ${p.action} timed out after ${p.timeoutMs} ms; killed s3270 (pid ${this.child.pid})`))
      this.kill()
    }, p.timeoutMs)
    this.child.stdin.write(`${p.action}\n`)
  }

  private onLine (line: string): void {
    const p = this.current
    if (p === undefined) { this.stray.push(line); return }
    if (line === 'ok' || line === 'error') {
      clearTimeout(p.timer)
      this.current = undefined
      const status = p.status !== '' ? p.status : p.other
      this.lastStatus = status
      p.resolve({ data: p.data, status, ok: line === 'ok' })
      this.next()
      return
    }
    const m = /^data: ?(.*)$/s.exec(line)
    if (m !== null) p.data.push(m[1] as string)
    else if (STATUS_RE.test(line)) p.status = line
    else p.other = line // garbage (e.g. the refused-connection line): ignored unless nothing better
  }

  private failAll (err: Error): void {
    const all = [...(this.current !== undefined ? [this.current] : []), ...this.queue.splice(0)]
    this.current = undefined
    for (const p of all) { clearTimeout(p.timer); p.reject(err) }
  }

  private kill (): void {
    if (!this.exited) this.child.kill('SIGKILL')
  }

  // ---- helpers ----

  /** Connect(target); quotes the target when it contains a comma etc. Blocks until the first screen. */
  async connect (target: string, opts: { timeoutMs?: number } = {}): Promise<S3270Result> {
    return await this.run(`Connect(${quoteArg(target)})`, opts)
  }

  /** The screen as text rows (Ascii). */
  async ascii (): Promise<string[]> {
    const r = await this.run('Ascii')
    if (!r.ok) throw new Error(`s3270: Ascii failed: ${r.data.join(' / ')}`)
    return r.data
  }

  /** Wait(n, what) with an integer timeout (s3270 rejects fractions); the command timeout covers it. */
  async wait (seconds: number, what: 'Output' | 'Unlock' | 'InputField' | 'Disconnect' | 'NVTMode' | 'Seconds' = 'Output'): Promise<S3270Result> {
    const n = Math.max(1, Math.ceil(seconds))
    return await this.run(`Wait(${n},${what})`, { timeoutMs: n * 1000 + 10_000 })
  }

  async waitOutput (seconds: number): Promise<S3270Result> { return await this.wait(seconds, 'Output') }

  /** Type text at the cursor (String action; s3270 backslash escapes such as \n = Enter apply). */
  async string (text: string): Promise<S3270Result> { return await this.run(`String(${quoteArg(text)})`) }
  async enter (): Promise<S3270Result> { return await this.run('Enter') }
  async pf (n: number): Promise<S3270Result> { return await this.run(`PF(${Math.trunc(n)})`) }
  async pa (n: number): Promise<S3270Result> { return await this.run(`PA(${Math.trunc(n)})`) }
  async attn (): Promise<S3270Result> { return await this.run('Attn') }
  async sysreq (): Promise<S3270Result> { return await this.run('SysReq') }
  async clear (): Promise<S3270Result> { return await this.run('Clear') }
  async tab (): Promise<S3270Result> { return await this.run('Tab') }
  async moveCursor (row: number, col: number): Promise<S3270Result> { return await this.run(`MoveCursor(${row},${col})`) }

  /** Query(name), e.g. ConnectionState, LuName, Tn3270eOptions, TerminalName; returns the data joined. */
  async query (name: string): Promise<string> {
    const r = await this.run(`Query(${quoteArg(name)})`)
    if (!r.ok) throw new Error(`s3270: Query(${name}) failed: ${r.data.join(' / ')}`)
    return r.data.join('\n').trim()
  }

  async disconnect (): Promise<S3270Result> { return await this.run('Disconnect') }

  /** Quit (no reply comes), then SIGKILL if still running after `graceMs`. Idempotent. */
  async close (graceMs = 3000): Promise<void> {
    if (this.exited) return
    this.failAll(new Error('s3270: closed'))
    this.child.stdin.write('Quit\n')
    this.child.stdin.end()
    const timer = setTimeout(() => { this.kill() }, graceMs)
    await this.exitPromise
    clearTimeout(timer)
  }
}
