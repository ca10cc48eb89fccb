// Driver for the real pr3287 3287 printer emulator (Debian package pr3287 4.1ga10, the x3270
// suite; pr3287(1) manual page): `-assoc LU` sends TN3270E DEVICE-TYPE REQUEST IBM-3287-1
// ASSOCIATE LU, `LU@host:port` CONNECT LU. Each print job is piped to `-command`, which pr3287
// opens at the job's first data and closes at its end (PRINT-EOJ, UNBIND, or `-eojtimeout`);
// here every job goes to its own file `job-<pid>.txt` in `dir`, so jobs can be counted.
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Pr3287Options {
  /** `-assoc <display LU>`; otherwise `target` names the LU or pool (`LU@host:port`). */
  assoc?: string
  /** `[LU@]host:port`. */
  target: string
  /** Directory the jobs (and the trace) go to. */
  dir: string
  trace?: boolean
  extraArgs?: string[]
}

export class Pr3287 {
  readonly stderr: string[] = []
  private exited: Promise<number | null>

  private constructor (private readonly child: ChildProcess, readonly dir: string) {
    child.stderr?.on('data', (b: Buffer) => { this.stderr.push(b.toString()) })
    this.exited = new Promise(resolve => { child.once('exit', code => { resolve(code) }) })
  }

  static start (o: Pr3287Options): Pr3287 {
    const args = [
      ...(o.assoc === undefined ? [] : ['-assoc', o.assoc]),
      '-command', `cat > ${join(o.dir, 'job-$$.txt')}`,
      ...(o.trace === true ? ['-trace', '-tracedir', o.dir] : []),
      ...(o.extraArgs ?? []),
      o.target,
    ]
    return new Pr3287(spawn('pr3287', args, { stdio: ['ignore', 'ignore', 'pipe'] }), o.dir)
  }

  /** Completed or open job files, oldest first by name is not meaningful: sorted by content length. */
  jobs (): string[] {
    return readdirSync(this.dir).filter(f => f.startsWith('job-')).map(f => readFileSync(join(this.dir, f), 'latin1'))
  }

  /** The trace file's text (with `trace: true`). */
  trace (): string {
    const f = readdirSync(this.dir).find(n => n.startsWith('x3trc'))
    return f === undefined ? '' : readFileSync(join(this.dir, f), 'latin1')
  }

  /** Resolves with the exit code once pr3287 has exited on its own (a refused device, say). */
  get exit (): Promise<number | null> { return this.exited }

  async close (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    await this.exited
  }
}
