// Soft stop like HAProxy's (doc/management.txt, "Stopping and restarting HAProxy"): the caller has
// already made /readyz answer 503 and stopped accepting; sessions continue up to `drainTimeout`,
// then the rest are closed spread over `closeSpreadTime` (HAProxy's `close-spread-time`,
// doc/configuration.txt: closing every client at the same instant makes them all reconnect at the
// same instant), each with a FIN first, destroyed after `graceMs` if still open.
import type { Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'
import type { Termination } from './splice.js'

export interface Drainable {
  readonly done: Promise<unknown>
  terminate: (why: Termination, graceMs: number) => void
}

export interface DrainOptions {
  drainTimeout: number
  closeSpreadTime: number
  /** After the FIN, how long a session may take to close before it is reset. */
  graceMs?: number
  clock: Clock
  logger: Logger
  /** [0, 1) source for the spread; Math.random by default. */
  random?: () => number
}

export interface DrainReport {
  /** Sessions that ended on their own within drainTimeout. */
  finished: number
  /** Sessions still open at drainTimeout: closed by the proxy, spread in time (unless they ended first). */
  closed: number
}

function sleep (clock: Clock, ms: number): { promise: Promise<void>, cancel: () => void } {
  let cancel = () => {}
  const promise = new Promise<void>((resolve) => {
    const t = clock.setTimeout(resolve, ms)
    cancel = () => { clock.clearTimeout(t); resolve() }
  })
  return { promise, cancel }
}

/** Waits for `sessions()` to end, up to drainTimeout; then closes the rest, spread in time. */
export async function drainSessions (sessions: () => Drainable[], opts: DrainOptions): Promise<DrainReport> {
  const initial = sessions()
  const waitAll = Promise.all(initial.map(s => s.done))
  const timeout = sleep(opts.clock, opts.drainTimeout)
  await Promise.race([waitAll, timeout.promise])
  timeout.cancel()
  const left = sessions()
  const finished = initial.length - left.length
  if (left.length === 0) return { finished, closed: 0 }
  opts.logger.warn({ event: 'drain_timeout', sessions: left.length, closeSpreadTime: opts.closeSpreadTime }, 'drain timeout reached; closing the remaining sessions')
  const random = opts.random ?? Math.random
  const grace = opts.graceMs ?? 1000
  await Promise.all(left.map(async (s) => {
    const wait = sleep(opts.clock, Math.floor(random() * opts.closeSpreadTime))
    const first = await Promise.race([wait.promise.then(() => 'due' as const), s.done.then(() => 'ended' as const)])
    wait.cancel()
    if (first === 'due') s.terminate('drain', grace)
    await s.done
  }))
  return { finished, closed: left.length }
}
