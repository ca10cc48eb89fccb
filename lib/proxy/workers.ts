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
// serves is replaced; one that fails at start stops the whole start.
//
//   primary: starting --every worker ready--> serving --shutdown()--> stopping --all exited--> stopped
//            starting --a worker exited--> stopped (start fails)
import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import { ErrorCodes, lbError } from '../errors.js'
import type { Logger } from '../observability/index.js'

/** The `workers` key: a count, or `auto` for one per core. */
export type WorkersSetting = number | 'auto'

/** The environment key that tells a worker its index (0-based); not TN3270LB_…, which are config keys. */
export const WORKER_INDEX_ENV = 'TN3270_PROXY_WORKER_INDEX'

export function workerCount (setting: WorkersSetting): number {
  return setting === 'auto' ? availableParallelism() : setting
}

/** This process's worker index, when it is a worker of a proxy primary. */
export function workerIndex (): number | undefined {
  if (!cluster.isWorker) return undefined
  const n = Number(process.env[WORKER_INDEX_ENV])
  return Number.isInteger(n) && n >= 0 ? n : undefined
}

/** A worker's admin port: the configured port plus its index; port 0 stays 0 (an ephemeral port each). */
export function workerAdminPort (port: number, index: number): number {
  return port === 0 ? 0 : port + index
}

type ToWorker = { type: 'shutdown', immediate: boolean } | { type: 'reload' }
type FromWorker = { type: 'ready', listening: string[] }

function isReady (m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'ready'
}

export interface ProxyPrimary {
  /** Every worker's `listening` lines, each line once (the shared listeners appear once). */
  listening: () => string[]
  /** Drains every worker (or stops them at once); resolves when all have exited. */
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
  /** SIGHUP: every worker reloads (each logs its own outcome). */
  reload: () => void
}

type PrimaryState = 'starting' | 'serving' | 'stopping' | 'stopped'

class Primary implements ProxyPrimary {
  state: PrimaryState = 'starting'
  private readonly workers = new Map<number, Worker>()
  private readonly lines = new Map<number, string[]>()
  private started!: { resolve: () => void, reject: (err: Error) => void }
  private stopped: Promise<void> | undefined
  private allExited: (() => void) | undefined

  constructor (private readonly count: number, private readonly logger: Logger) {}

  start (): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => { this.started = { resolve, reject } })
    // Before the first fork: the listen sockets are shared, not accepted in the primary.
    cluster.schedulingPolicy = cluster.SCHED_NONE
    for (let i = 0; i < this.count; i++) this.fork(i)
    return ready
  }

  listening (): string[] {
    return [...new Set([...this.lines.values()].flat())]
  }

  shutdown (opts: { immediate?: boolean } = {}): Promise<void> {
    if (this.state === 'starting' || this.state === 'serving') this.state = 'stopping'
    this.stopped ??= new Promise<void>((resolve) => { this.allExited = resolve })
    this.send({ type: 'shutdown', immediate: opts.immediate === true })
    if (this.workers.size === 0) this.exited()
    return this.stopped
  }

  reload (): void {
    this.send({ type: 'reload' })
  }

  private send (m: ToWorker): void {
    for (const w of this.workers.values()) if (w.isConnected()) w.send(m)
  }

  private fork (index: number): void {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) })
    this.workers.set(index, worker)
    worker.on('message', (m: unknown) => { if (isReady(m)) this.ready(index, m.listening) })
    worker.on('exit', (code, signal) => this.workerExited(index, worker, code, signal))
  }

  private ready (index: number, lines: string[]): void {
    this.lines.set(index, lines)
    if (this.state === 'starting' && this.lines.size === this.count) {
      this.state = 'serving'
      this.logger.info({ event: 'workers_ready', workers: this.count }, 'proxy workers ready')
      this.started.resolve()
    }
  }

  private workerExited (index: number, worker: Worker, code: number | null, signal: string | null): void {
    if (this.workers.get(index) !== worker) return
    this.workers.delete(index)
    if (this.state === 'starting') {
      // One worker could not start (its own stderr line says why): the others are stopped too,
      // by a signal, as they may not follow messages yet.
      this.state = 'stopping'
      for (const w of this.workers.values()) w.process.kill('SIGKILL')
      this.started.reject(lbError(ErrorCodes.PROXY_WORKER_START, `proxy worker ${index} exited during start (code ${String(code)}, signal ${String(signal)})`))
    } else if (this.state === 'serving') {
      this.logger.error({ event: 'worker_exited', worker: index, code, signal }, 'proxy worker exited; starting another')
      this.lines.delete(index)
      this.fork(index)
      return
    }
    if (this.workers.size === 0) this.exited()
  }

  private exited (): void {
    this.state = 'stopped'
    this.allExited?.()
  }
}

/** In the primary: forks `count` workers running the same command line; resolves once all are ready. */
export async function startProxyPrimary (count: number, logger: Logger): Promise<ProxyPrimary> {
  const primary = new Primary(count, logger)
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
}

/** In a worker: report ready, then follow the primary's messages; signals are the primary's. */
export function serveAsWorker (role: WorkerRole): void {
  const ignore = (): void => {}
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, ignore)
  let reloading: Promise<void> = Promise.resolve()
  const stop = (immediate: boolean): void => {
    role.shutdown({ immediate }).finally(() => process.exit(0))
  }
  process.on('message', (m: ToWorker) => {
    if (m.type === 'shutdown') stop(m.immediate)
    else reloading = reloading.then(() => role.reload())
  })
  // The primary is gone (killed): nobody will send the stop, so stop now.
  process.on('disconnect', () => stop(true))
  process.send?.({ type: 'ready', listening: role.listening() } satisfies FromWorker)
}
