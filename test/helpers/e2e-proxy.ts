// Helpers for the front-proxy end-to-end tests (test/e2e/proxy-*.test.ts): the demo on ephemeral
// ports with its logs captured as JSON lines, proxy admin reads, and a gateway (re)start built
// exactly like lib/demo.ts builds its gateways (lib/demo.ts does not expose the configs). The demo's
// proxy sends PROXY v2 headers to its gateways (HAProxy doc/proxy-protocol.txt).
import { PassThrough } from 'node:stream'
import type { Test } from 'tap'
import { loadConfig, proxySchema, type GatewayConfig } from '../../lib/config/index.js'
import { startDemo, type Demo } from '../../lib/demo.js'
import { S3270 } from './s3270.js'
import { startGateway, type Gateway } from '../../lib/gateway/index.js'
import { createLogger, createRegistry, type Logger } from '../../lib/observability/index.js'
import { startProxy, type Proxy, type ProxyStatus } from '../../lib/proxy/index.js'
import { getJson, httpRequest, metricValue } from './e2e-gateway.js'

export type LogLine = Record<string, any>

/** A pino logger whose JSON lines land in `lines` (parsed). */
export function capturingLogger (lines: LogLine[], level = 'info'): Logger {
  const sink = new PassThrough()
  let rest = ''
  sink.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n')
    rest = parts.pop() ?? ''
    for (const line of parts) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine)
  })
  return createLogger({ level, destination: sink as never })
}

export interface ProxyDemoOptions {
  gateways?: number
  hosts?: number
  lus?: number
  sets?: string[]
  /** Lowest level captured (default info). */
  level?: string
}

/** startDemo on ephemeral ports with captured logs; torn down (immediate) with the test. */
export async function startProxyDemo (t: Test, lines: LogLine[], opts: ProxyDemoOptions = {}): Promise<Demo> {
  const demo = await startDemo({
    basePort: 0,
    bind: '127.0.0.1',
    gateways: opts.gateways ?? 2,
    hosts: opts.hosts ?? 1,
    lus: opts.lus ?? 2,
    sets: opts.sets ?? [],
    logger: capturingLogger(lines, opts.level),
  })
  t.teardown(async () => { await demo.shutdown({ immediate: true }) })
  return demo
}

export const proxyPort = (demo: Demo): number => demo.proxy.listeners[0]!.port
export const proxyMetrics = async (demo: Demo): Promise<string> => (await httpRequest(demo.proxy.admin.port, '/metrics')).body
export const proxyStatus = async (demo: Demo): Promise<ProxyStatus> => await getJson<ProxyStatus>(demo.proxy.admin.port, '/status')

/** One proxy metric sample (0 when absent, e.g. a counter never incremented). */
export async function proxyMetric (demo: Demo, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await proxyMetrics(demo), name, labels) ?? 0
}

/** Sum of every sample of `name` whose labels include `labels`. */
export function metricSum (text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (m === null || m[1] !== name) continue
    const have: Record<string, string> = {}
    for (const p of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[p[1]!] = p[2]!
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3])
  }
  return sum
}

export { demoGatewayConfig } from '../../lib/demo.js'

/** A real s3270 for the test, quit on teardown. */
export async function s3270 (t: Test): Promise<S3270> {
  const s = await S3270.start({ model: 2, extraArgs: ['-connecttimeout', '5'] })
  t.teardown(() => s.close())
  return s
}

/** Connect through the proxy and wait for the DEMO screen; returns the LU name. */
export async function connectLu (s: S3270, port: number): Promise<string> {
  const r = await s.connect(`127.0.0.1:${port}`)
  if (!r.ok) throw new Error(`s3270 Connect failed: ${r.status} ${r.data.join(' / ')}`)
  await s.wait(5, 'InputField')
  return await s.query('LuName')
}

/** Starts a gateway from a demo-like config with its own registry; shut down (immediate) with the test. */
export async function startDemoLikeGateway (t: Test, config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const gw = await startGateway(config, { logger: logger.child({ gateway: config.name }), registry: createRegistry() })
  t.teardown(async () => { await gw.shutdown({ immediate: true }) })
  return gw
}

/**
 * A proxy in front of the demo's gateways, configured like the demo's own (PROXY v2, /status
 * polling) plus `top` keys (e.g. drainTimeout) and `listener` keys (tls, routing, ...), with
 * captured logs; closed with the test.
 * For what the demo's proxy config cannot set (lib/demo.ts takes no proxy overrides).
 */
export async function startProxyFor (t: Test, demo: Demo, lines: LogLine[], top: Record<string, unknown> = {}, listener: Record<string, unknown> = {}): Promise<Proxy> {
  const config = loadConfig(proxySchema, {
    base: {
      admin: { host: '127.0.0.1', port: 0 },
      listeners: [{
        name: 'tn3270',
        host: '127.0.0.1',
        port: 0,
        proxyProtocol: 'v2',
        backends: demo.gateways.map(g => ({ name: g.name, host: '127.0.0.1', port: g.listenerPort('tn3270'), adminUrl: `http://127.0.0.1:${g.adminAddress.port}` })),
        ...listener,
      }],
      ...top,
    },
  })
  const proxy = await startProxy(config, { logger: capturingLogger(lines).child({ role: 'proxy' }), registry: createRegistry() })
  t.teardown(async () => { await proxy.close() })
  return proxy
}
