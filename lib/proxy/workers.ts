// Worker processes for the proxy (`workers: N | auto`, docs/operations.md "Workers"): one Node
// process runs one event loop on one core, so the proxy forks N copies of itself with node:cluster
// (Node.js doc/api/cluster.md) and every copy listens on the same ports. Scheduling is
// SCHED_NONE: the primary binds each listen socket once and hands it to the workers, and the
// kernel gives each new connection to one of the workers accepting on it (no round trip through
// the primary per connection, as HAProxy's threads share theirs, `nbthread`,
// doc/configuration.txt).
//
// CloseListenSocket (KB Q101235) stays per worker and stays honest: a worker listens exactly
// while its own view of the gateways says a client can be served; the primary keeps a shared
// listen socket open while at least one worker listens on it and closes it when the last one
// closes (doc/api/cluster.md, "How it works"), so the port refuses connections only when no
// worker can serve, and a worker that cannot serve never accepts.
//
// Signals go to the primary: SIGTERM/SIGINT drain every worker (a second one stops them at once),
// SIGHUP reloads every worker. Workers ignore those signals themselves (a signal to the process
// group reaches them too) and follow the primary's messages. A worker that dies while the proxy
// serves is replaced, after a back-off that grows while replacements keep dying young (a worker
// that crashes at once must not turn the primary into a fork loop); one that fails at start
// stops the whole start.
//
// The primary has the proxy's admin port (`admin.port`): /status merges every worker's status
// (worker-status.ts), /metrics aggregates every worker's registry (prom-client's
// AggregatorRegistry.aggregate; each worker's series carry a `worker` label), and the runtime API
// is sent on to every worker's own admin port (`admin.port + 1 + index`). Status and metrics
// travel over the cluster IPC channel, one request id per question.
//
//   primary: starting --every worker ready--> serving --shutdown()--> stopping --all exited--> stopped
//            starting --a worker exited--> stopped (start fails)
import cluster, { type Worker } from 'node:cluster'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { availableParallelism } from 'node:os'
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import type { ProxyConfig } from '../config/index.js'
import { ErrorCodes, errorMessage, lbError } from '../errors.js'
import { backoffDelay } from '../hostlink/index.js'
import { readBody, sendJson, startAdminServer, type AdminServer, type Logger, type Registry } from '../observability/index.js'
import type { ProxyStatus } from './status.js'
import { mergeWorkerStatus, type WorkerStatus } from './worker-status.js'

/** The `workers` key: a count, or `auto` for one per core. */
export type WorkersSetting = number | 'auto'

/** The environment key that tells a worker its index (0-based); not TN3270LB_…, which are config keys. */
export const WORKER_INDEX_ENV = 'TN3270_PROXY_WORKER_INDEX'

/** Replacing a dead worker: the first after 100 ms, doubling up to 30 s while replacements die young. */
export const RESTART_MIN_MS = 100
export const RESTART_MAX_MS = 30_000
/** A worker that served this long before it died resets the back-off. */
export const RESTART_RESET_AFTER_MS = 60_000
/** How long the primary waits for a worker's status or metrics before reporting it missing. */
const COLLECT_TIMEOUT_MS = 5_000

export function workerCount (setting: WorkersSetting): number {
  return setting === 'auto' ? availableParallelism() : setting
}

/** This process's worker index, when it is a worker of a proxy primary. */
export function workerIndex (): number | undefined {
  if (!cluster.isWorker) return undefined
  const n = Number(process.env[WORKER_INDEX_ENV])
  return Number.isInteger(n) && n >= 0 ? n : undefined
}

/** A worker's admin port: the primary has `admin.port`, worker i the next ports; port 0 stays 0 (ephemeral). */
export function workerAdminPort (port: number, index: number): number {
  return port === 0 ? 0 : port + 1 + index
}

/**
 * The delay before replacing a worker that died while serving (pure): `failures` counts the
 * replacements in a row that died within RESTART_RESET_AFTER_MS of their start.
 */
export function restartDelay (failures: number, random: () => number = Math.random): number {
  return failures === 0 ? 0 : backoffDelay(failures - 1, RESTART_MIN_MS, RESTART_MAX_MS, random)
}

type Question = 'status' | 'metrics'
type ToWorker = { type: 'shutdown', immediate: boolean } | { type: 'reload' } | { type: 'collect', id: number, what: Question }
type FromWorker = { type: 'ready', listening: string[] } | { type: 'collected', id: number, body?: unknown, error?: string }

function fromWorker (m: unknown): FromWorker | undefined {
  if (typeof m !== 'object' || m === null) return undefined
  const type = (m as { type?: unknown }).type
  return type === 'ready' || type === 'collected' ? m as FromWorker : undefined
}

export interface ProxyPrimary {
  /** The primary's admin line, then every worker's `listening` lines, each line once (the shared listeners appear once). */
  listening: () => string[]
  /** Drains every worker (or stops them at once); resolves when all have exited. */
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
  /** SIGHUP: every worker reloads (each logs its own outcome); the primary re-reads its admin token. */
  reload: () => void
}

export interface PrimaryOptions {
  count: number
  config: ProxyConfig
  logger: Logger
  registry: Registry
  /** Re-reads the config on SIGHUP (the admin token may have been rotated). */
  reloadConfig?: () => ProxyConfig
  random?: () => number
}

type PrimaryState = 'starting' | 'serving' | 'stopping' | 'stopped'

interface Answer { index: number, pid: number | undefined, body?: unknown, error?: string }

class Primary implements ProxyPrimary {
  state: PrimaryState = 'starting'
  private readonly workers = new Map<number, { worker: Worker, forkedAt: number }>()
  private readonly lines = new Map<number, string[]>()
  private readonly restarts = new Map<number, { failures: number, timer?: NodeJS.Timeout }>()
  private readonly questions = new Map<number, { waiting: number, answers: Answer[], done: () => void }>()
  private nextQuestion = 1
  private admin: AdminServer | undefined
  private started!: { resolve: () => void, reject: (err: Error) => void }
  private stopped: Promise<void> | undefined
  private allExited: (() => void) | undefined

  constructor (private readonly o: PrimaryOptions) {}

  async start (): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => { this.started = { resolve, reject } })
    // Before the first fork: the listen sockets are shared, not accepted in the primary.
    cluster.schedulingPolicy = cluster.SCHED_NONE
    for (let i = 0; i < this.o.count; i++) this.fork(i)
    await ready
    this.admin = await startAdminServer({
      host: this.o.config.admin.host,
      port: this.o.config.admin.port,
      token: this.o.config.admin.token,
      registry: this.o.registry,
      logger: this.o.logger,
      status: () => this.status(),
      metrics: () => this.metrics(),
      ready: () => this.state === 'serving',
      route: (req, res, url) => this.forward(req, res, url),
    })
  }

  listening (): string[] {
    const own = this.admin === undefined ? [] : [`listening proxy-admin ${this.o.config.name} ${this.admin.address.address}:${this.admin.address.port}`]
    return [...new Set([...own, ...[...this.lines.values()].flat()])]
  }

  shutdown (opts: { immediate?: boolean } = {}): Promise<void> {
    if (this.state === 'starting' || this.state === 'serving') this.state = 'stopping'
    this.stopped ??= new Promise<void>((resolve) => { this.allExited = resolve })
    for (const r of this.restarts.values()) clearTimeout(r.timer)
    this.send({ type: 'shutdown', immediate: opts.immediate === true })
    if (this.workers.size === 0) this.exited()
    return this.stopped
  }

  reload (): void {
    this.send({ type: 'reload' })
    if (this.o.reloadConfig === undefined || this.admin === undefined) return
    try {
      this.admin.setToken(this.o.reloadConfig().admin.token)
    } catch (err) {
      // The workers log their own reload outcome; the primary keeps the token it has.
      this.o.logger.error({ event: 'config_reload', result: 'refused', error: errorMessage(err) }, 'primary: admin token not reloaded')
    }
  }

  private send (m: ToWorker): void {
    for (const { worker } of this.workers.values()) if (worker.isConnected()) worker.send(m)
  }

  private fork (index: number): void {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) })
    this.workers.set(index, { worker, forkedAt: Date.now() })
    worker.on('message', (m: unknown) => {
      const msg = fromWorker(m)
      if (msg?.type === 'ready') this.ready(index, msg.listening)
      else if (msg?.type === 'collected') this.answered(index, worker, msg)
    })
    worker.on('exit', (code, signal) => this.workerExited(index, worker, code, signal))
  }

  private ready (index: number, lines: string[]): void {
    this.lines.set(index, lines)
    if (this.state === 'starting' && this.lines.size === this.o.count) {
      this.state = 'serving'
      this.o.logger.info({ event: 'workers_ready', workers: this.o.count }, 'proxy workers ready')
      this.started.resolve()
    }
  }

  private workerExited (index: number, worker: Worker, code: number | null, signal: string | null): void {
    const entry = this.workers.get(index)
    if (entry?.worker !== worker) return
    this.workers.delete(index)
    if (this.state === 'starting') {
      // One worker could not start (its own stderr line says why): the others are stopped too,
      // by a signal, as they may not follow messages yet.
      this.state = 'stopping'
      for (const { worker: w } of this.workers.values()) w.process.kill('SIGKILL')
      this.started.reject(lbError(ErrorCodes.PROXY_WORKER_START, `proxy worker ${index} exited during start (code ${String(code)}, signal ${String(signal)})`))
    } else if (this.state === 'serving') {
      this.lines.delete(index)
      this.replace(index, Date.now() - entry.forkedAt, code, signal)
      return
    }
    if (this.workers.size === 0) this.exited()
  }

  /** A worker died while serving: another under the same index, sooner if the dead one had served a while. */
  private replace (index: number, servedMs: number, code: number | null, signal: string | null): void {
    const r = this.restarts.get(index) ?? { failures: 0 }
    r.failures = servedMs >= RESTART_RESET_AFTER_MS ? 0 : r.failures + 1
    this.restarts.set(index, r)
    const delayMs = restartDelay(r.failures, this.o.random)
    this.o.logger.error({ event: 'worker_exited', worker: index, code, signal, restartInMs: delayMs }, 'proxy worker exited; starting another')
    r.timer = setTimeout(() => {
      r.timer = undefined
      if (this.state === 'serving') this.fork(index)
    }, delayMs)
  }

  private exited (): void {
    this.state = 'stopped'
    this.allExited?.()
  }

  /** Asks every live worker; resolves with one answer per worker (an error where none came in time). */
  private collect (what: Question): Promise<Answer[]> {
    const id = this.nextQuestion++
    const asked = [...this.workers.entries()].filter(([, { worker }]) => worker.isConnected())
    return new Promise(resolve => {
      const answers: Answer[] = []
      const done = (): void => {
        clearTimeout(timer)
        this.questions.delete(id)
        for (const [index, { worker }] of asked) {
          if (!answers.some(a => a.index === index)) answers.push({ index, pid: worker.process.pid, error: `no answer within ${COLLECT_TIMEOUT_MS} ms` })
        }
        resolve(answers.sort((a, b) => a.index - b.index))
      }
      const timer = setTimeout(done, COLLECT_TIMEOUT_MS)
      this.questions.set(id, { waiting: asked.length, answers, done })
      if (asked.length === 0) done()
      for (const [, { worker }] of asked) worker.send({ type: 'collect', id, what } satisfies ToWorker)
    })
  }

  private answered (index: number, worker: Worker, m: Extract<FromWorker, { type: 'collected' }>): void {
    const q = this.questions.get(m.id)
    if (q === undefined) return
    q.answers.push({ index, pid: worker.process.pid, ...(m.error === undefined ? { body: m.body } : { error: m.error }) })
    if (--q.waiting === 0) q.done()
  }

  private async status (): Promise<unknown> {
    const answers = await this.collect('status')
    const workers: WorkerStatus[] = answers.map(a => ({ index: a.index, pid: a.pid, ...(a.error === undefined ? { status: a.body as ProxyStatus } : { error: a.error }) }))
    return mergeWorkerStatus(this.o.config.name, this.state !== 'serving', workers)
  }

  /** Every worker's series (each with its `worker` label) and the primary's own, in one exposition. */
  private async metrics (): Promise<string> {
    const answers = await this.collect('metrics')
    const missing = answers.filter(a => a.error !== undefined)
    if (missing.length > 0) this.o.logger.warn({ event: 'metrics_incomplete', workers: missing.map(a => a.index) }, 'proxy workers did not answer for /metrics')
    const all = [...answers.flatMap(a => a.error === undefined ? [a.body as MetricObjectWithValues<MetricValue<string>>[]] : []), await this.o.registry.getMetricsAsJSON()]
    return await AggregatorRegistry.aggregate(all).metrics()
  }

  /**
   * The runtime API (docs/operations.md "Runtime API") is per worker: the primary sends each
   * request on to every worker's admin port and answers with every worker's reply.
   */
  private async forward (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req)
    const headers: Record<string, string> = {}
    for (const h of ['authorization', 'content-type']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h]
    const replies = await Promise.all([...this.lines.entries()].sort(([a], [b]) => a - b).map(async ([index, lines]) => {
      const admin = workerAdminAddress(lines)
      if (admin === undefined) return { worker: index, status: 502, body: { error: 'no admin address known for this worker' } }
      try {
        const r = await fetch(`http://${admin}${url.pathname}${url.search}`, { method: req.method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(COLLECT_TIMEOUT_MS) })
        const text = await r.text()
        return { worker: index, status: r.status, body: parseJson(text) }
      } catch (err) {
        return { worker: index, status: 502, body: { error: errorMessage(err) } }
      }
    }))
    const codes = new Set(replies.map(r => r.status))
    sendJson(res, codes.size === 1 ? replies[0]?.status ?? 502 : 502, { workers: replies })
    return true
  }
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** host:port of a worker's admin server from its `listening proxy-admin` line (a wildcard address is reached on loopback). */
function workerAdminAddress (lines: string[]): string | undefined {
  for (const l of lines) {
    const m = /^listening proxy-admin \S+ (.+):(\d+)$/.exec(l)
    if (m === null) continue
    const host = m[1] === '0.0.0.0' ? '127.0.0.1' : m[1] === '::' ? '[::1]' : m[1]!.includes(':') ? `[${m[1]!}]` : m[1]!
    return `${host}:${m[2]!}`
  }
  return undefined
}

/** In the primary: forks the workers; resolves once all are ready and the primary's admin port listens. */
export async function startProxyPrimary (o: PrimaryOptions): Promise<ProxyPrimary> {
  o.registry.setDefaultLabels({ worker: 'primary' })
  const primary = new Primary(o)
  try {
    await primary.start()
  } catch (err) {
    await primary.shutdown({ immediate: true })
    throw err
  }
  return primary
}

export interface WorkerRole {
  listening: () => string[]
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
  reload: () => Promise<void>
  /** This worker's GET /status body. */
  status: () => unknown
  registry: Registry
}

/**
 * A worker's admin line names it `<proxy name>/<index>`, so the primary's line (`<proxy name>`)
 * is the one the proxy is known by.
 */
function workerLines (lines: string[], index: number): string[] {
  return lines.map(l => l.replace(/^(listening proxy-admin \S+) /, `$1/${index} `))
}

/** In a worker: report ready, then follow the primary's messages; signals are the primary's. */
export function serveAsWorker (role: WorkerRole): void {
  const index = workerIndex() ?? 0
  const ignore = (): void => {}
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, ignore)
  let reloading: Promise<void> = Promise.resolve()
  const stop = (immediate: boolean): void => {
    role.shutdown({ immediate }).finally(() => process.exit(0))
  }
  const answer = async (id: number, what: Question): Promise<void> => {
    let reply: FromWorker
    try {
      reply = { type: 'collected', id, body: what === 'status' ? role.status() : await role.registry.getMetricsAsJSON() }
    } catch (err) {
      reply = { type: 'collected', id, error: errorMessage(err) }
    }
    process.send?.(reply)
  }
  process.on('message', (m: ToWorker) => {
    if (m.type === 'shutdown') stop(m.immediate)
    else if (m.type === 'collect') void answer(m.id, m.what)
    else reloading = reloading.then(() => role.reload())
  })
  // The primary is gone (killed): nobody will send the stop, so stop now.
  process.on('disconnect', () => stop(true))
  process.send?.({ type: 'ready', listening: workerLines(role.listening(), index) } satisfies FromWorker)
}
