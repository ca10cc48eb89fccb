// Helpers for gateway end-to-end tests: an in-process demo on ephemeral ports, admin HTTP reads
// without keep-alive (so no pooled sockets outlive a request and skew handle counts), polling
// with a deadline, and a Prometheus text reader.
import { request } from 'node:http'
import type { Test } from 'tap'
import { startDemo, type Demo, type DemoOptions } from '../../lib/demo.js'
import type { GatewayStatus } from '../../lib/gateway/index.js'
import type { HostSimStatus } from '../../lib/hostsim/index.js'
import { createLogger, silentLogger, type Logger } from '../../lib/observability/index.js'

export interface HttpResult { status: number, body: string, headers: Record<string, string | string[] | undefined> }

/** GET (or POST) on loopback with `agent: false`: one connection per request, closed after it. */
export async function httpRequest (port: number, path: string, method = 'GET', host = '127.0.0.1', timeoutMs = 10_000): Promise<HttpResult> {
  return await new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, agent: false, timeout: timeoutMs }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }))
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error(`${method} ${path} on :${port} timed out after ${timeoutMs} ms`)) })
    req.on('error', reject)
    req.end()
  })
}

export async function getJson<T> (port: number, path: string): Promise<T> {
  const r = await httpRequest(port, path)
  if (r.status !== 200) throw new Error(`GET ${path} on :${port}: HTTP ${r.status}: ${r.body.slice(0, 200)}`)
  return JSON.parse(r.body) as T
}

export const gatewayStatus = async (demo: Demo, i = 0): Promise<GatewayStatus> => await getJson<GatewayStatus>(demo.gateways[i]!.adminAddress.port, '/status')
export const hostStatus = async (demo: Demo, j = 0): Promise<HostSimStatus> => await getJson<HostSimStatus>(demo.hosts[j]!.adminAddress.port, '/status')
export const gatewayMetrics = async (demo: Demo, i = 0): Promise<string> => (await httpRequest(demo.gateways[i]!.adminAddress.port, '/metrics')).body

/** Value of one sample in Prometheus text exposition, e.g. metricValue(text, 'x_total', { a: 'b' }). */
export function metricValue (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (m === null || m[1] !== name) continue
    const have: Record<string, string> = {}
    for (const p of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[p[1]!] = p[2]!
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3])
  }
  return undefined
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function pollUntil<T> (check: () => Promise<T> | T, what: string, timeoutMs = 30_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  let lastErr: unknown
  while (true) {
    try {
      last = await check()
      if (last) return last as NonNullable<T>
    } catch (err) { lastErr = err }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms${lastErr !== undefined ? ` (last error: ${(lastErr as Error).message})` : ''}`)
    }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

export type E2eDemoOptions = Partial<Omit<DemoOptions, 'basePort' | 'bind'>> & { logLevel?: string }

/** startDemo on ephemeral ports (basePort 0) with a silent logger (LOG_LEVEL=debug shows logs on stderr). */
export async function startTestDemo (t: Test, opts: E2eDemoOptions = {}): Promise<Demo> {
  const level = opts.logLevel ?? process.env.E2E_LOG_LEVEL
  const logger: Logger = level === undefined ? silentLogger() : createLogger({ level, destination: process.stderr as never })
  const demo = await startDemo({ basePort: 0, bind: '127.0.0.1', gateways: 1, hosts: 1, lus: 2, sets: [], logger, ...opts })
  t.teardown(async () => { await demo.shutdown({ immediate: true }) })
  return demo
}

/** Free LUs per pool equal to total, and no LU in use, on gateway i. */
export function allFree (s: GatewayStatus): boolean {
  return s.pools.every(p => p.free === p.total && p.inUse === 0) && s.sessions.active === 0 && s.sessions.negotiating === 0
}

/** LU names the host simulator has an LU-LU session for (any state but ended). */
export function hostBoundLus (s: HostSimStatus): string[] {
  return s.sessions.bound.map(b => b.lu).sort()
}

/** LU names the gateway holds (in_use) according to its host-side status. */
export function gatewayInUse (demo: Demo, i = 0): string[] {
  return demo.gateways[i]!.lus.all().filter(l => l.state === 'in_use').map(l => l.name).sort()
}
