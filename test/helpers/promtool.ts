// `promtool check metrics` (Prometheus' own linter for the text exposition format) on a
// /metrics body: exit status and everything it printed.
import { spawn } from 'node:child_process'

export async function promtoolCheckMetrics (input: string): Promise<{ code: number | null, out: string }> {
  return await new Promise((resolve, reject) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (c: Buffer) => { out += c.toString() })
    p.stderr.on('data', (c: Buffer) => { out += c.toString() })
    p.once('error', reject)
    p.once('close', code => resolve({ code, out }))
    p.stdin.end(input)
  })
}
