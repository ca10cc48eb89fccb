// Runs the real CLI (`lib/cli.ts`, docs/operations.md "Command line") as a child process for
// end-to-end tests, through the same TypeScript loader tap uses (transpile only), so no build
// step and no writes to dist/. The child is killed in teardown if it is still running.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import type { Test } from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LOADER = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url)

export interface CliChild {
  child: ChildProcess
  /** stdout lines (pino JSON logs and `listening ...` lines), with the ms since spawn they arrived. */
  lines: Array<{ at: number, line: string }>
  stderr: string[]
  /** `listening <role> <name> <address:port>` → port, keyed `role name`. */
  ports: Map<string, number>
  spawnedAt: number
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null, at: number }>
  /** Parsed pino lines (those that are JSON). */
  logs: () => Array<Record<string, unknown> & { at: number }>
}

/**
 * A base port P with P+offsets all free on loopback right now (the demo port layout, lib/demo.ts).
 * Chosen below the kernel's ephemeral range (32768 and up by default): a CloseListenSocket
 * listener that is closed for a while must not find its port taken by an outgoing connection.
 */
export async function freeBasePort (offsets: number[], tries = 20): Promise<number> {
  for (let i = 0; i < tries; i++) {
    const p = 10000 + Math.floor(Math.random() * 20000)
    let ok = true
    for (const off of offsets) {
      if (!(await canBind(p + off))) { ok = false; break }
    }
    if (ok) return p
  }
  throw new Error('no free base port found')
}

async function canBind (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

/**
 * Spawns `tn3270-lb <args>` from lib/cli.ts and resolves once `expectLines` listening lines were
 * printed (or rejects with the child's stderr if it exits first / times out).
 */
export async function spawnCli (t: Test, args: string[], opts: { expectLines: number, timeoutMs?: number, env?: Record<string, string> }): Promise<CliChild> {
  if (!existsSync(fileURLToPath(LOADER))) throw new Error(`TypeScript loader not found at ${LOADER.href}`)
  const spawnedAt = Date.now()
  const child = spawn(process.execPath, ['--import', LOADER.href, 'lib/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', TS_NODE_PROJECT: 'tsconfig.json', LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const lines: CliChild['lines'] = []
  const stderr: string[] = []
  const ports = new Map<string, number>()
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null, at: number }>(resolve => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }))
  })
  let listening = 0
  let onListening: (() => void) | undefined
  createInterface({ input: child.stdout! }).on('line', line => {
    lines.push({ at: Date.now() - spawnedAt, line })
    const m = /^listening (\S+) (\S+) (\S+):(\d+)$/.exec(line)
    if (m !== null) {
      ports.set(`${m[1]} ${m[2]}`, Number(m[4]))
      listening++
      if (listening >= opts.expectLines) onListening?.()
    }
  })
  createInterface({ input: child.stderr! }).on('line', line => { stderr.push(line) })
  const timeoutMs = opts.timeoutMs ?? 60_000
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not print ${opts.expectLines} listening lines within ${timeoutMs} ms; stderr: ${stderr.join('\n')}`)), timeoutMs)
    onListening = () => { clearTimeout(timer); resolve() }
    if (listening >= opts.expectLines) onListening()
    void exited.then(e => { clearTimeout(timer); reject(new Error(`CLI exited (${e.code ?? e.signal}) before listening; stderr: ${stderr.join('\n')}`)) })
  })
  const logs = (): Array<Record<string, unknown> & { at: number }> => {
    const out: Array<Record<string, unknown> & { at: number }> = []
    for (const l of lines) {
      if (!l.line.startsWith('{')) continue
      try { out.push({ ...(JSON.parse(l.line) as Record<string, unknown>), at: l.at }) } catch { /* not JSON */ }
    }
    return out
  }
  return { child, lines, stderr, ports, spawnedAt, exited, logs }
}

export interface CliRun { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/**
 * Runs `tn3270-lb <args>` to completion (commands that print and exit: --help, --version, check,
 * or a start that fails) and returns its exit status and output.
 */
export async function runCli (args: string[], opts: { env?: Record<string, string>, timeoutMs?: number } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', LOADER.href, 'lib/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', TS_NODE_PROJECT: 'tsconfig.json', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.once('close', (c, s) => resolve([c, s])))
  clearTimeout(timer)
  return { code, signal, stdout, stderr }
}
