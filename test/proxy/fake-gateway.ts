// Test doubles for the proxy's integration tests: a fake gateway (a TN3270 port that speaks first
// with a few telnet bytes, plus a small admin HTTP server with the gateway /status shape) that
// closes and re-opens its listen socket to simulate LU exhaustion, and small client helpers.
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { createLogger, type Logger } from '../../lib/observability/logger.js'
import { proxySchema, type ProxyConfig } from '../../lib/config/proxy.js'
import { createRegistry, type Registry } from '../../lib/observability/metrics.js'
import { startProxy, type Proxy, type ProxyDeps } from '../../lib/proxy/index.js'

/** IAC DO TERMINAL-TYPE: what a TN3270 server sends first (RFC 1576 §3). */
export const DO_TTYPE = Buffer.from([0xff, 0xfd, 0x18])

export type Behaviour = 'greet' | 'close-at-once' | 'silent'
export type AdminMode = 'ok' | 'hang' | 'error'

export interface FakeGatewayOptions {
  name: string
  host?: string
  port?: number
  adminPort?: number
  lus?: number
}

export class FakeGateway {
  readonly name: string
  readonly host: string
  port = 0
  adminPort = 0
  lus: number
  behaviour: Behaviour = 'greet'
  adminMode: AdminMode = 'ok'
  ready = true
  /** Keep the write side open after the proxy's FIN (to test half-close); default: end with it. */
  halfOpen = false
  /** GET /status requests answered or held (the proxy's polls). */
  statusRequests = 0
  /** Bytes each accepted connection sent, in accept order. */
  readonly received: Buffer[][] = []
  readonly sockets = new Set<net.Socket>()
  accepted = 0
  private server: net.Server | undefined
  private admin: http.Server | undefined
  private readonly hung = new Set<http.ServerResponse>()

  constructor (opts: FakeGatewayOptions) {
    this.name = opts.name
    this.host = opts.host ?? '127.0.0.1'
    this.port = opts.port ?? 0
    this.adminPort = opts.adminPort ?? 0
    this.lus = opts.lus ?? 4
  }

  get listening (): boolean { return this.server !== undefined }
  get free (): number { return this.listening ? Math.max(0, this.lus - this.sockets.size) : 0 }
  get adminUrl (): string { return `http://${this.host}:${this.adminPort}` }
  /** The greeting this gateway sends: DO TERMINAL-TYPE then its name, so a client can tell who answered. */
  get greeting (): Buffer { return Buffer.concat([DO_TTYPE, Buffer.from(this.name)]) }

  async start (): Promise<this> {
    await this.listen()
    this.admin = http.createServer((req, res) => this.status(req, res))
    this.admin.listen(this.adminPort, this.host)
    await once(this.admin, 'listening')
    this.adminPort = (this.admin.address() as AddressInfo).port
    return this
  }

  /** Opens the TN3270 port (again, on the same port number). */
  async listen (): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true }, s => this.accept(s))
    server.on('connection', s => s.on('end', () => { if (!this.halfOpen) s.end() }))
    server.listen(this.port, this.host)
    await once(server, 'listening')
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  /** Closes the TN3270 listen socket (LU exhaustion); sessions stay. */
  closeListener (): void {
    this.server?.close()
    this.server = undefined
  }

  async stop (): Promise<void> {
    this.closeListener()
    for (const s of this.sockets) s.destroy()
    for (const r of this.hung) r.destroy()
    this.admin?.closeAllConnections()
    await new Promise<void>(resolve => this.admin === undefined ? resolve() : this.admin.close(() => resolve()))
  }

  private accept (socket: net.Socket): void {
    this.accepted++
    const chunks: Buffer[] = []
    this.received.push(chunks)
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => {})
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      // Echo client data (after any PROXY header) so tests see a round trip.
      if (this.behaviour !== 'close-at-once' && !c.subarray(0, 4).equals(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a]))) socket.write(c)
    })
    if (this.behaviour === 'close-at-once') { socket.end(); return }
    if (this.behaviour === 'greet') socket.write(this.greeting)
  }

  private status (req: http.IncomingMessage, res: http.ServerResponse): void {
    this.statusRequests++
    if (this.adminMode === 'hang') { this.hung.add(res); return }
    if (this.adminMode === 'error') { res.writeHead(500); res.end('boom'); return }
    const body = {
      role: 'gateway',
      name: this.name,
      ready: this.ready,
      draining: false,
      listeners: [{ name: 'main', address: `${this.host}:${this.port}`, open: this.listening, pools: ['POOL'] }],
      pools: [{ name: 'POOL', host: 'HOSTA', total: this.lus, free: this.free, inUse: this.sockets.size, unavailable: 0 }],
      hostLinks: [{ host: 'HOSTA', type: 'sna', up: true }],
      sessions: { active: this.sockets.size },
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
}

/** A client of the proxy that collects what it receives. */
export class TestClient {
  readonly socket: net.Socket
  data = Buffer.alloc(0)
  ended = false
  closed = false
  error: NodeJS.ErrnoException | undefined
  private readonly waiters: Array<() => void> = []

  constructor (port: number, host = '127.0.0.1') {
    this.socket = net.connect({ port, host, allowHalfOpen: true })
    this.socket.on('data', (c: Buffer) => { this.data = Buffer.concat([this.data, c]); this.wake() })
    this.socket.on('end', () => { this.ended = true; this.wake() })
    this.socket.on('close', () => { this.closed = true; this.wake() })
    this.socket.on('error', (e) => { this.error = e; this.wake() })
  }

  private wake (): void { for (const w of this.waiters.splice(0)) w() }

  /** Resolves once `pred` holds (checked on every socket event), or rejects after `ms`. */
  async until (pred: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms
    while (!pred()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received ${this.data.toString('hex')} ended=${this.ended} closed=${this.closed} error=${this.error?.code}`)
      await new Promise<void>(resolve => { this.waiters.push(resolve); setTimeout(resolve, Math.min(left, 50)) })
    }
  }

  async receive (bytes: Buffer, ms?: number): Promise<void> {
    await this.until(() => this.data.includes(bytes), ms, `bytes ${bytes.toString('hex')}`)
  }
}

/** Connects and resolves with the error code if the connect fails (e.g. ECONNREFUSED), else 'connected'. */
export async function tryConnect (port: number, host = '127.0.0.1'): Promise<string> {
  return await new Promise(resolve => {
    const s = net.connect({ port, host })
    s.once('connect', () => { s.destroy(); resolve('connected') })
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
  })
}

/** Polls `pred` every 10 ms until true or `ms` passes. */
export async function waitFor (pred: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

export interface CapturedLogger { logger: Logger, lines: Array<Record<string, unknown>>, events: (name: string) => Array<Record<string, unknown>> }

/** A pino logger whose JSON lines are kept for assertions. */
export function captureLogger (): CapturedLogger {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>) } } })
  return { logger, lines, events: (name) => lines.filter(l => l.event === name) }
}

// ------------------------------------------------------------------------------ proxy harness

/**
 * Fast timings for tests; `listener` and top-level keys can be overridden. The fake gateways only
 * greet and echo bytes, so these listeners splice them unread: `routing: tcp` (tn3270e routing is
 * tested against gateways that speak TN3270, test/proxy/routing.test.ts and test/e2e/proxy-*).
 */
export function testConfig (gateways: FakeGateway[], over: { listener?: Record<string, unknown>, top?: Record<string, unknown>, polled?: boolean } = {}): ProxyConfig {
  return proxySchema.parse({
    listeners: [{
      name: 'main',
      host: '127.0.0.1',
      port: 0,
      routing: 'tcp',
      backends: gateways.map(g => ({ name: g.name, host: g.host, port: g.port, ...(over.polled === false ? {} : { adminUrl: g.adminUrl }) })),
      ...over.listener,
    }],
    connectTimeout: '500ms',
    earlyCloseWindow: '150ms',
    statusInterval: '40ms',
    statusTimeout: '500ms',
    statusStaleAfter: '3s',
    ejection: { failures: 1, baseTime: '10s', maxTime: '1m' },
    drainTimeout: '1s',
    closeSpreadTime: '50ms',
    ...over.top,
  })
}

export interface Harness { proxy: Proxy, registry: Registry, log: CapturedLogger, port: number, metric: (name: string, labels?: Record<string, string>) => Promise<number | undefined> }

export async function startTestProxy (t: { teardown: (fn: () => unknown) => void }, config: ProxyConfig, deps: Partial<ProxyDeps> = {}): Promise<Harness> {
  const registry = createRegistry()
  const log = captureLogger()
  const proxy = await startProxy(config, { logger: log.logger, registry, ...deps })
  t.teardown(() => proxy.close())
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
    const m = registry.getSingleMetric(name)
    if (m === undefined) return undefined
    const values = (await m.get()).values as Array<{ value: number, labels: Record<string, string | number> }>
    return values.find(v => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value
  }
  return { proxy, registry, log, port: proxy.listeners[0].port, metric }
}

export async function startGateways (t: { teardown: (fn: () => unknown) => void }, names: string[], opts: Partial<FakeGatewayOptions> = {}): Promise<FakeGateway[]> {
  const out: FakeGateway[] = []
  for (const name of names) {
    const g = await new FakeGateway({ name, ...opts }).start()
    t.teardown(() => g.stop())
    out.push(g)
  }
  return out
}
