// Shared by test/e2e/appc-*.test.ts (not a test file): an in-process demo (startDemo, ephemeral
// ports, one gateway and one host simulator on the real `sna` link) whose log lines are kept for
// the test to read, undici pools on the gateway and host admin ports, and small readers for the
// /v1/appc API, /metrics and the host simulator's /status.
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import { Pool } from 'undici'
import { startDemo, type Demo } from '../../lib/demo.js'
import type { HostSimStatus } from '../../lib/hostsim/index.js'
import { createLogger } from '../../lib/observability/index.js'
import { metricValue, pollUntil } from '../helpers/e2e-gateway.js'

export const MODE = '%23INTER'

export interface AppcEnv {
  demo: Demo
  gw: Pool
  host: Pool
  logs: Array<Record<string, unknown>>
}

export interface Reply { status: number, text: string }

export interface SessionView { id: number, lfsid: string, polarity: string, state: string, autoActivated: boolean, tp?: string, idleMs?: number }
export interface ModeView {
  partner: string
  mode: string
  linkUp: boolean
  negotiated?: { sessionLimit: number, minWinners: number, minPartnerWinners: number }
  recovery: string
  waiting: number
  sessions: SessionView[]
}

/** startDemo (1 gateway, 1 host) with `sets`; waits for the start-of-day CNOS. Torn down with t. */
export async function startAppcDemo (t: Test, sets: string[] = [], gwConnections = 8): Promise<AppcEnv> {
  const logs: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') logs.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  const logger = createLogger({ level: process.env.E2E_LOG_LEVEL ?? 'info', destination })
  const demo = await startDemo({ basePort: 0, bind: '127.0.0.1', gateways: 1, hosts: 1, lus: 1, sets, logger })
  const gw = new Pool(`http://127.0.0.1:${demo.gateways[0]!.adminAddress.port}`, { connections: gwConnections })
  const host = new Pool(`http://127.0.0.1:${demo.hosts[0]!.adminAddress.port}`, { connections: 4 })
  t.teardown(async () => {
    await Promise.all([gw.destroy(), host.destroy()])
    await demo.shutdown({ immediate: true })
  })
  const env = { demo, gw, host, logs }
  await pollUntil(async () => (await modeView(env)).negotiated !== undefined, 'start-of-day CNOS', 10_000)
  return env
}

export async function call (p: Pool, method: 'GET' | 'POST' | 'DELETE', path: string, body?: string): Promise<Reply> {
  const r = await p.request({ method, path, body, headers: body !== undefined && body.startsWith('{') ? { 'content-type': 'application/json' } : {} })
  return { status: r.statusCode, text: await r.body.text() }
}

/** POST /v1/appc/HOSTA/#INTER/{tp} with `text` as the body. */
export const transact = async (e: AppcEnv, tp: string, text: string): Promise<Reply> => await call(e.gw, 'POST', `/v1/appc/HOSTA/${MODE}/${tp}`, text)

export async function modeView (e: AppcEnv): Promise<ModeView> {
  const r = await call(e.gw, 'GET', '/v1/appc/sessions')
  const j = JSON.parse(r.text) as { modes: ModeView[] }
  return j.modes.find(m => m.partner === 'HOSTA' && m.mode === '#INTER')!
}

export async function hostStatus (e: AppcEnv): Promise<HostSimStatus> {
  return JSON.parse((await call(e.host, 'GET', '/status')).text) as HostSimStatus
}

/** The host simulator's LU 6.2 sessions of mode #INTER (its view of what the gateway bound). */
export async function hostSessions (e: AppcEnv): Promise<HostSimStatus['appc']['list']> {
  return (await hostStatus(e)).appc.list.filter(s => s.mode === '#INTER')
}

/** Sum of every series of `name` that carries `labels`, from the gateway's /metrics. */
export async function metric (e: AppcEnv, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await call(e.gw, 'GET', '/metrics')).text
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
    const v = metricValue(line, name, labels)
    if (v !== undefined) sum += v
  }
  return sum
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
