// 2,000 client connections that end at random phases — at connect, after DO TN3270E, after
// DEVICE-TYPE IS, right after negotiation (while the host's BIND and query are on their way),
// during the query, after the first screen, with input outstanding, or in an orderly way — by FIN
// or by RST, half of them through the proxy. An ordinary end is never an error: the run must log
// no error-level line, none of the end-of-session warnings that used to come with a close
// ("SDT received in state pending-unbind", "host did not answer UNBIND in time", "session bridge
// failed"), and leave every LU free with the host in agreement (RFC 2355 §7 negotiation; LU
// clean-up as docs/hostlink.md describes it: UNBIND, NOTIFY disabled).
import t from 'tap'
import type { Demo } from '../../lib/demo.js'
import { E2eClient, tcpConnect } from '../helpers/e2e-tn3270-client.js'
import { allFree, gatewayStatus, hostStatus, pollUntil } from '../helpers/e2e-gateway.js'
import { startProxyDemo, type LogLine } from '../helpers/e2e-proxy.js'

const CYCLES = Number(process.env.E2E_CHURN_CYCLES ?? 2000)
const WORKERS = 32
const DEADLINE_MS = 120_000

const PHASES = ['connect', 'do-tn3270e', 'device-type-is', 'negotiated', 'query', 'screen', 'input-sent', 'orderly'] as const
type Phase = typeof PHASES[number]

/** mulberry32: a small seeded generator, so a failing run can be repeated with E2E_CHURN_SEED. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Warnings that said an ordinary end was a problem; none may come back. */
const END_NOISE = [/SDT received in state/, /host did not answer (UNBIND|NOTIFY) in time/, /session bridge failed/, /BIND rejected/, /protocol error/i]

interface Tally { phases: Record<string, number>, refused: number, rejected: number, failures: string[] }

function leave (c: E2eClient, rst: boolean): void {
  if (rst && typeof c.socket.resetAndDestroy === 'function') c.socket.resetAndDestroy()
  else c.socket.end()
}

/**
 * A connection the server speaks on (DO TN3270E). While every LU is taken the listener is closed
 * (CloseListenSocket): connects are refused, reset from the backlog, or closed by the proxy with
 * no gateway free — all before any server byte; such attempts are retried.
 */
async function served (port: number, tally: Tally): Promise<E2eClient> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await new Promise(resolve => setTimeout(resolve, Math.min(20, attempt)))
    let c: E2eClient
    try {
      c = E2eClient.wrap(await tcpConnect(port, '127.0.0.1', 10_000))
    } catch {
      tally.refused++
      continue
    }
    try {
      await c.until(() => c.firstByteAt !== undefined, 10_000, 'the first server byte')
      return c
    } catch {
      c.destroy()
      tally.refused++
    }
  }
}

async function cycle (port: number, phase: Phase, rst: boolean, tally: Tally): Promise<void> {
  if (phase === 'connect') {
    // Leave as soon as TCP is up, before the server says anything.
    try { leave(E2eClient.wrap(await tcpConnect(port, '127.0.0.1', 10_000)), rst) } catch { tally.refused++ }
    return
  }
  const c = await served(port, tally)
  try {
    if (phase === 'do-tn3270e') { leave(c, rst); return }
    if (phase === 'query') c.answerQueries = false
    const n = await c.negotiate({ functions: [2], stopAfterDeviceType: phase === 'device-type-is', timeoutMs: 10_000 })
    if (!n.ok) { tally.rejected++; leave(c, rst); return }
    if (phase === 'device-type-is' || phase === 'negotiated') { leave(c, rst); return }
    if (phase === 'query') {
      await c.until(() => c.queries > 0, 10_000, 'the host\'s Read Partition Query')
      leave(c, rst)
      return
    }
    await c.waitForText('tn3270-lb demo host', 10_000)
    if (phase === 'screen') { leave(c, rst); return }
    c.sendInput('CHURN')
    if (phase === 'input-sent') { leave(c, rst); return }
    await c.waitForText('ECHO: CHURN', 10_000)
    await c.end(10_000)
  } catch (err) {
    tally.failures.push(`${phase}${rst ? ' (RST)' : ''}: ${(err as Error).message.split('\n')[0]}`)
  } finally {
    c.destroy()
    await c.closed
  }
}

async function settle (demo: Demo): Promise<void> {
  await pollUntil(async () => {
    for (let i = 0; i < demo.gateways.length; i++) if (!allFree(await gatewayStatus(demo, i))) return false
    return true
  }, 'every LU free', 20_000)
  await pollUntil(async () => (await hostStatus(demo)).sessions.bound.length === 0, 'no LU-LU session left on the host', 10_000)
}

t.test(`${CYCLES} connections ending at random phases: no error line, no end-of-session warning`, async t => {
  const lines: LogLine[] = []
  const demo = await startProxyDemo(t, lines, { gateways: 2, hosts: 1, lus: 16, level: 'warn' })
  const ports = [demo.gateways[0]!.listenerPort('tn3270'), demo.proxy.listeners[0]!.port]
  const seed = Number(process.env.E2E_CHURN_SEED ?? 16)
  const random = rng(seed)
  const plan = Array.from({ length: CYCLES }, () => ({ phase: PHASES[Math.floor(random() * PHASES.length)]!, rst: random() < 0.3, port: ports[random() < 0.5 ? 0 : 1]! }))
  const tally: Tally = { phases: {}, refused: 0, rejected: 0, failures: [] }
  const started = Date.now()
  let next = 0
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while (next < plan.length && Date.now() - started < DEADLINE_MS) {
      const p = plan[next++]!
      tally.phases[p.phase] = (tally.phases[p.phase] ?? 0) + 1
      await cycle(p.port, p.phase, p.rst, tally)
    }
  }))
  t.equal(next, CYCLES, `every cycle ran within ${DEADLINE_MS} ms (${Date.now() - started} ms)`)
  t.comment(`seed ${seed}: ${JSON.stringify(tally.phases)}; connects refused or closed unserved while full ${tally.refused}, rejected ${tally.rejected}, ${Date.now() - started} ms`)
  t.same(tally.failures.slice(0, 10), [], `no cycle failed (${tally.failures.length})`)
  if (tally.failures.length > 0) t.comment(tally.failures.slice(0, 30).join('\n'))
  await settle(demo)
  const errors = lines.filter(l => (typeof l.level === 'number' ? l.level >= 50 : ['error', 'fatal'].includes(String(l.level))))
  t.same(errors.slice(0, 5), [], `no error-level line (${errors.length})`)
  const noise = lines.filter(l => END_NOISE.some(re => re.test(String(l.msg ?? ''))))
  t.same(noise.slice(0, 5), [], `no end-of-session warning (${noise.length})`)
  const warns = new Map<string, number>()
  for (const l of lines) warns.set(String(l.msg), (warns.get(String(l.msg)) ?? 0) + 1)
  t.comment(`other warnings: ${JSON.stringify([...warns])}`)
})
