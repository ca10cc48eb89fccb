// Debian's Hercules 3.13 as a real TN3270 host for tests (tn3270-anchors.md §6): headless
// (`hercules -d -f cfg`, stdin /dev/null), console server on loopback, no OS needed — every
// connection gets the Hercules logo screen naming its device. Pitfalls handled here: SIGTERM
// leaves 3.13 stuck in "Releasing configuration", so stop() escalates to SIGKILL; the process
// runs in its own process group under `timeout` (a lifetime cap) and the whole group is killed,
// also from a process 'exit' hook, so a failed test cannot leak an emulator.

import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'

export interface HerculesDevice {
  /** Device number, e.g. '0010'. */
  address: string
  /** Device type; default '3270'. */
  type?: string
  /** Group name: clients asking for `GROUP@host:port` land on a device of this group. */
  group?: string
}

export interface HerculesOptions {
  /** Default: 3270 devices 0010, 0011 and 0020 in group TSOGRP (device groups as docs/configuration.md describes them for tn3270 hosts). */
  devices?: Array<string | HerculesDevice>
  /** Console port; default a free one. */
  port?: number
  /** How long to wait for the console listener (default 20 s). */
  startTimeoutMs?: number
  /** Hard lifetime cap in seconds enforced by `timeout` (default 900). */
  maxLifetimeSeconds?: number
  bin?: string
}

export interface Hercules {
  host: string
  port: number
  pid: number
  /** Combined stdout/stderr of the emulator. */
  logPath: string
  /** The emulator's log so far. */
  log: () => string
  /** Kill the process group (SIGTERM, then SIGKILL) and remove the work directory. Idempotent. */
  stop: () => Promise<void>
}

export const DEFAULT_DEVICES: HerculesDevice[] = [
  { address: '0010' }, { address: '0011' }, { address: '0020', group: 'TSOGRP' },
]

const live = new Set<ChildProcess>()
let exitHookInstalled = false
function killGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try { process.kill(-child.pid, signal) } catch { /* already gone */ }
}

export function herculesConfig (port: number, devices: Array<string | HerculesDevice>): string {
  const lines = [
    'CPUSERIAL 000611',
    'CPUMODEL  3090',
    'MAINSIZE  16',
    'NUMCPU    1',
    'ARCHMODE  ESA/390',
    `CNSLPORT  127.0.0.1:${port}`,
  ]
  for (const d of devices) {
    const dev = typeof d === 'string' ? { address: d } : d
    if (!/^[0-9A-Fa-f]{1,4}$/.test(dev.address)) throw new Error(`hercules: bad device number ${dev.address}`)
    if (dev.group !== undefined && !/^[A-Za-z0-9$#@]{1,8}$/.test(dev.group)) throw new Error(`hercules: bad group name ${dev.group}`)
    lines.push(`${dev.address} ${dev.type ?? '3270'}${dev.group !== undefined ? ` ${dev.group}` : ''}`)
  }
  return lines.join('\n') + '\n'
}

async function startOnce (opts: HerculesOptions, port: number): Promise<Hercules | 'port-busy'> {
  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-hercules-'))
  const cfg = join(dir, 'herc.cnf')
  const logPath = join(dir, 'hercules.log')
  writeFileSync(cfg, herculesConfig(port, opts.devices ?? DEFAULT_DEVICES))
  const fd = openSync(logPath, 'a')
  const lifetime = String(opts.maxLifetimeSeconds ?? 900)
  const child = spawn('timeout', ['--signal=KILL', lifetime, opts.bin ?? 'hercules', '-d', '-f', cfg], {
    cwd: dir, detached: true, stdio: ['ignore', fd, fd],
  })
  closeSync(fd)
  live.add(child)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => { for (const c of live) killGroup(c, 'SIGKILL') })
  }
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { live.delete(child); resolve() }) })
  const log = (): string => { try { return readFileSync(logPath, 'latin1') } catch { return '' } }
  let stopped = false
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true
      killGroup(child, 'SIGTERM')
      const timer = setTimeout(() => { killGroup(child, 'SIGKILL') }, 1500)
      await exited
      clearTimeout(timer)
      killGroup(child, 'SIGKILL') // hercules itself may outlive `timeout`: sweep the group
    }
    await exited
  }
  const spawnError = new Promise<Error>((resolve) => { child.once('error', resolve) })

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000)
  let childExited = false
  void exited.then(() => { childExited = true })
  for (;;) {
    const text = log()
    if (text.includes(`HHCTE003I Waiting for console connection on port ${port}`)) {
      return { host: '127.0.0.1', port, pid: child.pid as number, logPath, log, stop: async () => { await stop(); rmSync(dir, { recursive: true, force: true }) } }
    }
    if (/HHCTE002W|Address already in use/.test(text)) {
      await stop()
      rmSync(dir, { recursive: true, force: true })
      return 'port-busy'
    }
    const err = await Promise.race([spawnError, new Promise<undefined>((resolve) => setTimeout(() => { resolve(undefined) }, 100))])
    if (err !== undefined || childExited || Date.now() > deadline) {
      await stop()
      const why = err !== undefined ? `cannot start: ${err.message}` : childExited ? 'exited during start-up' : `no console listener after ${opts.startTimeoutMs ?? 20_000} ms`
      throw new Error(`hercules ${why}; log ${logPath}:\n${text.split('\n').slice(-15).join('\n')}`)
    }
  }
}

/** Start Hercules with a TN3270 console server on 127.0.0.1; resolves when it listens. */
export async function startHercules (opts: HerculesOptions = {}): Promise<Hercules> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = opts.port ?? await freePort()
    const h = await startOnce(opts, port)
    if (h !== 'port-busy') return h
    if (opts.port !== undefined) throw new Error(`hercules: port ${port} is in use`)
  }
  throw new Error('hercules: no free console port after 3 attempts')
}
