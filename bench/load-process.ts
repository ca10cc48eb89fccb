// A load generator process (bench/README.md, "Method"; started by bench/load.ts through the same
// process-group wrapper as the servers, so it is measured and stopped like them). It holds groups
// of TN3270E sessions (bench/client.ts) and runs one command at a time from its parent over IPC:
// open idle sessions, an ECHO window, a connection-setup window, a FLOOD, stalling and resuming
// readers.
import { performance } from 'node:perf_hooks'
import { encode } from '../lib/datastream/index.js'
import { BenchClient, floodSequence } from './client.js'
import type { LoadCommand, LoadReply, OpenResult, EchoWindowResult, SetupResult, FloodResult, StallResult, ResumeResult } from './load.js'

const groups = new Map<string, BenchClient[]>()

function group (name: string): BenchClient[] {
  let g = groups.get(name)
  if (g === undefined) { g = []; groups.set(name, g) }
  return g
}

const errorText = (err: unknown): string => err instanceof Error ? err.message : String(err)

/** Opens `count` sessions, at most `concurrency` negotiating at once; failures are counted, not fatal. */
async function open (cmd: Extract<LoadCommand, { op: 'open' }>): Promise<OpenResult> {
  const t0 = performance.now()
  const g = group(cmd.group)
  let next = 0
  let failed = 0
  let opened = 0
  const errors = new Map<string, number>()
  const worker = async (): Promise<void> => {
    while (next < cmd.count) {
      next++
      try {
        const c = await BenchClient.connect({ port: cmd.port, ...(cmd.resource === undefined ? {} : { resource: cmd.resource }) }, cmd.timeoutMs)
        g.push(c)
        opened++
      } catch (err) {
        failed++
        const e = errorText(err)
        errors.set(e, (errors.get(e) ?? 0) + 1)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(cmd.concurrency, cmd.count) }, worker))
  // A session that closed after its first screen (this time or before) is not open any more.
  const alive = g.filter(c => !c.socket.destroyed && c.socket.readyState === 'open')
  const dropped = g.length - alive.length
  groups.set(cmd.group, alive)
  return { opened, failed, dropped, open: alive.length, errors: [...errors].map(([e, n]) => `${n}× ${e}`).slice(0, 5), ms: performance.now() - t0 }
}

/**
 * Every session of the group runs ECHO transactions back to back (type text, Enter, wait for
 * `ECHO: text`) until `ms` have passed; transactions in flight at the end are finished and
 * counted, and the window's elapsed time includes them.
 */
async function echo (cmd: Extract<LoadCommand, { op: 'echo' }>): Promise<EchoWindowResult> {
  const clients = group(cmd.group)
  const latencies: number[] = []
  const t0 = performance.now()
  const end = t0 + cmd.ms
  let transactions = 0
  let failed = 0
  await Promise.all(clients.map(async (c, k) => {
    for (let n = 0; ; n++) {
      const s = performance.now()
      if (s >= end) return
      const text = `${cmd.tag}C${k}T${n}`
      const expect = encode(`ECHO: ${text}`)
      c.enter(text)
      try {
        await c.next(r => r.dataType === 0 && r.data.indexOf(expect) !== -1)
      } catch {
        failed++
        return
      }
      latencies.push(performance.now() - s)
      transactions++
    }
  }))
  return { transactions, failed, elapsedMs: performance.now() - t0, latenciesMs: Float64Array.from(latencies) }
}

/** `concurrency` loops of connect → first DEMO screen → close, for `ms`. */
async function setup (cmd: Extract<LoadCommand, { op: 'setup' }>): Promise<SetupResult> {
  const latencies: number[] = []
  let failed = 0
  const errors = new Map<string, number>()
  const t0 = performance.now()
  const end = t0 + cmd.ms
  await Promise.all(Array.from({ length: cmd.concurrency }, async () => {
    while (performance.now() < end) {
      const s = performance.now()
      try {
        const c = await BenchClient.connect({ port: cmd.port }, 10_000)
        latencies.push(performance.now() - s)
        c.close()
      } catch (err) {
        failed++
        const e = errorText(err)
        errors.set(e, (errors.get(e) ?? 0) + 1)
        await new Promise(resolve => setTimeout(resolve, 10)) // a refused connect must not spin
      }
    }
  }))
  return { sessions: latencies.length, failed, errors: [...errors].map(([e, n]) => `${n}× ${e}`).slice(0, 5), elapsedMs: performance.now() - t0, latenciesMs: Float64Array.from(latencies) }
}

/** One client, `FLOOD count` (or the trigger bytes of the raw baseline): time to the last record, order checked. */
async function flood (cmd: Extract<LoadCommand, { op: 'flood' }>): Promise<FloodResult> {
  const c = await BenchClient.connect({ port: cmd.port, raw: cmd.raw, ...(cmd.resource === undefined ? {} : { resource: cmd.resource }) })
  try {
    const before = c.bytes
    let records = 0
    let outOfOrder = 0
    let done!: () => void
    const finished = new Promise<void>(resolve => { done = resolve })
    c.onRecord = (r) => {
      if (!cmd.raw && r.dataType !== 0) return
      records++
      if (floodSequence(r.data) !== records) outOfOrder++
      if (records === cmd.count) done()
    }
    const t0 = performance.now()
    if (cmd.raw) c.socket.write('go')
    else c.enter(`FLOOD ${cmd.count}`)
    const timer = setTimeout(done, cmd.timeoutMs)
    await finished
    clearTimeout(timer)
    const elapsedMs = performance.now() - t0
    if (records < cmd.count) throw new Error(`flood: only ${records} of ${cmd.count} records within ${cmd.timeoutMs} ms`)
    return { records, bytes: c.bytes - before, elapsedMs, outOfOrder }
  } finally {
    c.close()
  }
}

interface StalledSession { client: BenchClient, records: number, outOfOrder: number, complete: Promise<void>, count: number }
const stalled = new Map<string, StalledSession[]>()

/**
 * Each session of the group asks for `FLOOD count`, reads `pauseAfter` records, then stops
 * reading (socket.pause: the kernel buffers fill and TCP's window closes, as with a frozen
 * terminal). Resolves once every session has paused.
 */
async function stall (cmd: Extract<LoadCommand, { op: 'stall' }>): Promise<StallResult> {
  const sessions: StalledSession[] = []
  const paused: Array<Promise<void>> = []
  for (const client of group(cmd.group)) {
    const s: StalledSession = { client, records: 0, outOfOrder: 0, complete: Promise.resolve(), count: cmd.count }
    let onPaused!: () => void
    paused.push(new Promise<void>(resolve => { onPaused = resolve }))
    s.complete = new Promise<void>(resolve => {
      client.onRecord = (r) => {
        if (r.dataType !== 0) return
        s.records++
        if (floodSequence(r.data) !== s.records) s.outOfOrder++
        if (s.records === cmd.pauseAfter) { client.socket.pause(); onPaused() }
        if (s.records === cmd.count) resolve()
      }
    })
    client.enter(`FLOOD ${cmd.count}`)
    sessions.push(s)
  }
  stalled.set(cmd.group, sessions)
  const t0 = performance.now()
  const all = Promise.all(paused)
  const ok = await Promise.race([all.then(() => true), new Promise<boolean>(resolve => setTimeout(() => resolve(false), cmd.timeoutMs))])
  return { sessions: sessions.length, paused: ok ? sessions.length : sessions.filter(s => s.records >= cmd.pauseAfter).length, ms: performance.now() - t0 }
}

/**
 * The first `verify` stalled sessions read again and must get every record, in order; the rest
 * are closed. Gives up when no record has arrived for `stuckMs` (a session that never resumes is
 * a finding, reported as incomplete) or after `timeoutMs`.
 */
async function resume (cmd: Extract<LoadCommand, { op: 'resume' }>): Promise<ResumeResult> {
  const sessions = stalled.get(cmd.group) ?? []
  const verify = sessions.slice(0, cmd.verify)
  for (const s of sessions.slice(cmd.verify)) s.client.close()
  const t0 = performance.now()
  for (const s of verify) s.client.socket.resume()
  let stuck = false
  const all = Promise.all(verify.map(async s => await s.complete))
  const watch = new Promise<void>(resolve => {
    let seen = -1
    let since = performance.now()
    const timer = setInterval(() => {
      const now = performance.now()
      const n = verify.reduce((a, s) => a + s.records, 0)
      if (n !== seen) { seen = n; since = now }
      if (now - since >= cmd.stuckMs) stuck = true
      if (stuck || now - t0 >= cmd.timeoutMs) { clearInterval(timer); resolve() }
    }, 250)
    void all.then(() => { clearInterval(timer); resolve() })
  })
  await watch
  const ms = performance.now() - t0
  for (const s of verify) s.client.close()
  stalled.delete(cmd.group)
  groups.delete(cmd.group)
  return {
    verified: verify.length,
    complete: verify.filter(s => s.records === s.count).length,
    outOfOrder: verify.reduce((n, s) => n + s.outOfOrder, 0),
    records: verify.reduce((n, s) => n + s.records, 0),
    stuck,
    ms,
  }
}

function close (name: string): number {
  const g = groups.get(name) ?? []
  for (const c of g) c.close()
  groups.delete(name)
  return g.length
}

async function run (cmd: LoadCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'open': return await open(cmd)
    case 'echo': return await echo(cmd)
    case 'setup': return await setup(cmd)
    case 'flood': return await flood(cmd)
    case 'stall': return await stall(cmd)
    case 'resume': return await resume(cmd)
    case 'close': return { closed: close(cmd.group) }
  }
}

process.on('message', (msg: { id: number, cmd: LoadCommand }) => {
  run(msg.cmd).then(
    result => process.send!({ id: msg.id, ok: true, result } satisfies LoadReply),
    (err: unknown) => process.send!({ id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies LoadReply),
  )
})
// The parent going away (even by SIGKILL) closes the IPC channel: leave with it.
process.on('disconnect', () => process.exit(0))
process.send!({ id: 0, ok: true, result: 'ready' } satisfies LoadReply)
