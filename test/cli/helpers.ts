// Shared by the CLI tests (test/cli/*.test.ts): temporary config files, a minimal gateway
// config, and the "one line on stderr" check every failure must pass (docs/operations.md
// "Command line").
import type { Test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CliRun } from '../helpers/e2e-cli.js'

export const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-cli-'))
export const file = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p }
export const deploy = (p: string): string => new URL(`../../deploy/compose/config/${p}`, import.meta.url).pathname

export const GATEWAY = `
listeners: [{ name: tn3270, port: 0, pools: [HOSTA] }]
hosts: [{ name: HOSTA, link: { type: sna, port: 1 } }]
pools: [{ name: HOSTA, host: HOSTA, lus: [GW1A001..GW1A004] }]
`

/** Exactly one line on stderr, nothing on stdout, and the status given. */
export function oneLine (t: Test, r: CliRun, status: number, pattern: RegExp): void {
  t.equal(r.code, status, `exit status ${status}`)
  t.equal(r.stdout, '', 'nothing on stdout')
  const lines = r.stderr.split('\n').filter(l => l !== '')
  t.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr)}`)
  t.match(lines[0], pattern)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
}

/** Runs jobs two at a time (the machine has two cores; each job is a Node process). */
export async function all<T> (jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) { const i = next++; out[i] = await jobs[i]!() }
  }
  await Promise.all([worker(), worker()])
  return out
}

/** A port something else holds, released with the test. */
export async function busyPort (t: Test): Promise<number> {
  const s: Server = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { s.close() })
  return (s.address() as { port: number }).port
}
