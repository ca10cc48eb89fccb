// The proxy with worker processes (`workers`, lib/proxy/workers.ts, docs/operations.md "Workers"):
// the real CLI forks them with node:cluster; every worker serves the shared listen socket and has
// its own admin port; CloseListenSocket (KB Q101235) closes the port only once every worker has
// closed it and opens it again when a gateway can serve; SIGHUP reloads every worker, SIGTERM to
// the primary drains them all and the process tree exits 0. The primary's admin port shows the
// whole proxy: /status merged from every worker's, /metrics with every worker's series (checked by
// promtool), the runtime API sent on to every worker; a worker that dies is replaced after a
// back-off.
import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { spawnCli } from '../helpers/e2e-cli.js'
import { until } from '../helpers/until.js'
import { file } from '../cli/helpers.js'
import { FakeGateway } from './fake-gateway.js'
import { promtoolCheckMetrics } from '../helpers/promtool.js'
import { mergeWorkerStatus, restartDelay, workerAdminPort, workerCount, RESTART_MAX_MS, RESTART_MIN_MS, type ProxyStatus } from '../../lib/proxy/index.js'

// A forked worker loads the whole proxy through the TypeScript loader; on a loaded machine with
// coverage on, that took over 10 s. As long as spawnCli gives a whole process to start.
const WORKER_START_MS = 60_000

/** Resolves with the first bytes a client gets through the port, or the connect error's code. */
async function tryClient (port: number): Promise<string> {
  const c = net.connect({ port, host: '127.0.0.1' })
  try {
    const [chunk] = await Promise.race([once(c, 'data'), once(c, 'error').then(([e]) => { throw e })]) as [Buffer]
    return chunk.toString('latin1')
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error'
  } finally {
    c.destroy()
  }
}

async function httpStatus (port: number): Promise<ProxyStatus & { workers?: Array<{ index: number, status: ProxyStatus | null }> }> {
  const res = await fetch(`http://127.0.0.1:${port}/status`)
  return await res.json() as ProxyStatus
}

t.test('workers: a count or auto; admin ports by worker index', async t => {
  t.equal(workerCount(3), 3)
  t.ok(workerCount('auto') >= 1, 'auto = the cores Node sees')
  t.equal(workerAdminPort(9100, 0), 9101, 'the primary has admin.port, worker 0 the next one')
  t.equal(workerAdminPort(9100, 2), 9103)
  t.equal(workerAdminPort(0, 2), 0, 'port 0 stays 0: an ephemeral port per worker')
})

t.test('replacing a dead worker: at once after a long life, then a growing back-off up to a cap', async t => {
  t.equal(restartDelay(0), 0, 'a worker that served a while is replaced at once')
  t.equal(restartDelay(1, () => 0.5), RESTART_MIN_MS)
  t.equal(restartDelay(2, () => 0.5), 2 * RESTART_MIN_MS)
  t.equal(restartDelay(5, () => 0.5), 16 * RESTART_MIN_MS)
  t.equal(restartDelay(40, () => 0.5), RESTART_MAX_MS, 'capped')
  for (let n = 1; n < 20; n++) {
    const d = restartDelay(n, Math.random)
    t.ok(d >= RESTART_MIN_MS && d <= RESTART_MAX_MS, `delay ${d} within bounds after ${n} early deaths`)
  }
})

t.test('the primary\'s status: listeners open while any worker listens, sessions add up, each worker kept', async t => {
  const listener = { name: 'edge', address: '0.0.0.0:23', closeListenSocket: true, maxConnections: 9950, proxyProtocol: 'v2' as const, routing: 'tcp' as const, pools: [], defaultPool: null }
  const backend = { name: 'gwA', listener: 'edge', address: '10.0.0.1:23', source: 'config', weight: 1, configWeight: 1, admin: 'ready' as const, up: true, freeLus: 3, pools: null, statusAgeMs: 10, ejectedUntil: null, removed: false, lastError: null }
  const w0: ProxyStatus = { role: 'proxy', name: 'px', ready: true, draining: false, listeners: [{ ...listener, open: false, sessions: 2 }], backends: [{ ...backend, eligibility: 'no_free_lu', sessions: 2 }], sessions: { active: 2 } }
  const w1: ProxyStatus = { role: 'proxy', name: 'px', ready: true, draining: false, listeners: [{ ...listener, open: true, sessions: 3 }], backends: [{ ...backend, eligibility: 'ok', sessions: 3 }], sessions: { active: 3 } }
  const s = mergeWorkerStatus('px', false, [{ index: 0, pid: 10, status: w0 }, { index: 1, pid: 11, status: w1 }, { index: 2, pid: 12, error: 'no answer within 5000 ms' }])
  t.match(s.listeners, [{ name: 'edge', open: true, sessions: 5, maxConnections: 19900 }])
  t.match(s.backends, [{ name: 'gwA', eligibility: 'ok', sessions: 5 }])
  t.same(s.sessions, { active: 5 })
  t.equal(s.ready, true)
  t.same(s.workers.map(w => [w.index, w.pid, w.error, w.status?.sessions.active ?? null]), [[0, 10, null, 2], [1, 11, null, 3], [2, 12, 'no answer within 5000 ms', null]])
  t.equal(mergeWorkerStatus('px', true, [{ index: 0, pid: 10, status: w0 }]).ready, false, 'a draining primary is not ready')
  t.equal(mergeWorkerStatus('px', false, []).ready, false, 'no worker answered: not ready')
})

t.test('two workers share the listener, close it together when no gateway can serve, reopen it, and stop on one SIGTERM', async t => {
  const gw = await new FakeGateway({ name: 'gwA', lus: 8 }).start()
  t.teardown(() => gw.stop())
  const cfg = file('proxy-workers.yaml', `
workers: 2
admin: { port: 0 }
statusInterval: 100ms
statusTimeout: 500ms
statusStaleAfter: 2s
listeners:
  - name: edge
    port: 0
    routing: tcp
    backends: [{ name: gwA, host: 127.0.0.1, port: ${gw.port}, adminUrl: ${gw.adminUrl} }]
`)
  // One listener line (shared), the primary's admin line and one admin line per worker.
  const cli = await spawnCli(t, ['proxy', '--config', cfg], { expectLines: 4 })
  const port = cli.ports.get('proxy edge')!
  const admins = cli.lines.map(l => /^listening proxy-admin \S+\/\d \S+:(\d+)$/.exec(l.line)?.[1]).filter(p => p !== undefined).map(Number)
  t.equal(admins.length, 2, 'each worker has its own admin port')
  t.not(admins[0], admins[1])
  const primaryAdmin = Number(cli.lines.map(l => /^listening proxy-admin [^\s/]+ \S+:(\d+)$/.exec(l.line)?.[1]).find(p => p !== undefined))
  t.ok(primaryAdmin > 0 && !admins.includes(primaryAdmin), 'the primary has an admin port of its own')
  // Each worker writes its own log lines; they may arrive after the primary's listening lines.
  await until('both workers\' listening log lines', () => new Set(cli.logs().filter(l => l.event === 'listening' && l.listener === 'edge').map(l => l.worker)).size === 2, WORKER_START_MS)
  t.pass('both workers listen on the edge listener')

  const got = await Promise.all(Array.from({ length: 6 }, async () => await tryClient(port)))
  t.ok(got.every(g => g.startsWith('\xff\xfd\x18')), 'clients get the gateway\'s first bytes through the workers')
  await until('six sessions ended', () => cli.logs().filter(l => l.event === 'session_end').length === 6).catch((err: unknown) => { t.comment(cli.logs().map(l => l.event).join(' ')); throw err })
  t.ok(cli.logs().filter(l => l.event === 'session_end').every(l => l.bytesOut === gw.greeting.length), 'bytes counted per session')

  // The primary's admin port: the whole proxy on one port.
  const whole = await httpStatus(primaryAdmin)
  t.match(whole, { role: 'proxy', ready: true, listeners: [{ name: 'edge', open: true }], backends: [{ name: 'gwA' }] })
  t.equal(whole.workers?.length, 2, 'each worker\'s own status is in the primary\'s')
  t.equal(whole.workers!.reduce((n, w) => n + (w.status?.sessions.active ?? 0), 0), whole.sessions.active, 'sessions add up')
  const metrics = await (await fetch(`http://127.0.0.1:${primaryAdmin}/metrics`)).text()
  const forwarded = [...metrics.matchAll(/^tn3270_proxy_connections_total\{([^}]*)\} (\d+)$/gm)].filter(m => m[1]!.includes('result="forwarded"'))
  t.ok(forwarded.every(m => /worker="[01]"/.test(m[1]!)), 'every worker\'s series on the primary\'s /metrics carries its worker label')
  t.equal(forwarded.reduce((n, m) => n + Number(m[2]), 0), 6, 'and they add up to the six clients')
  t.match(metrics, /^process_cpu_seconds_total\{worker="primary"\} /m, 'and the primary\'s own')
  const lint = await promtoolCheckMetrics(metrics)
  t.equal(lint.code, 0, `promtool check metrics on the primary's /metrics (output: ${lint.out.trim() || 'none'})`)
  const drain = await fetch(`http://127.0.0.1:${primaryAdmin}/v1/backends/gwA/weight`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight: 7 }) })
  const drained = await drain.json() as { workers: Array<{ worker: number, status: number }> }
  t.equal(drain.status, 200, 'a runtime API call on the primary is sent on to every worker')
  t.same(drained.workers.map(w => [w.worker, w.status]), [[0, 200], [1, 200]])
  t.ok((await Promise.all(admins.map(httpStatus))).every(s => s.backends[0]!.weight === 7), 'every worker took the new weight')

  // No LU anywhere: every worker closes its listener, so the port refuses (CloseListenSocket).
  gw.closeListener()
  await until('both workers closed the listener', async () => (await Promise.all(admins.map(httpStatus))).every(s => !s.listeners[0]!.open))
  t.equal(await tryClient(port), 'ECONNREFUSED', 'the port refuses once every worker has closed it')
  await gw.listen()
  await until('both workers reopened', async () => (await Promise.all(admins.map(httpStatus))).every(s => s.listeners[0]!.open))
  t.match(await tryClient(port), /gwA/, 'the same port serves again')

  // A worker that dies while serving is replaced under the same index.
  const victim = cli.logs().find(l => l.event === 'listening' && l.listener === 'edge' && l.worker === 1)!.pid as number
  process.kill(victim, 'SIGKILL')
  await until('a new worker 1', () => cli.logs().some(l => l.event === 'listening' && l.listener === 'edge' && l.worker === 1 && l.pid !== victim), WORKER_START_MS)
  t.match(cli.logs().find(l => l.event === 'worker_exited'), { worker: 1, signal: 'SIGKILL' }, 'the primary says which worker died')
  const restartIn = cli.logs().find(l => l.event === 'worker_exited')!.restartInMs as number
  t.ok(restartIn >= RESTART_MIN_MS && restartIn <= RESTART_MAX_MS, `a worker that died young is replaced after a back-off (${restartIn} ms)`)

  cli.child.kill('SIGHUP')
  await until('both workers reloaded', () => cli.logs().filter(l => l.event === 'config_reload').length === 2)
  t.pass('SIGHUP to the primary reloads every worker')
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0, 'SIGTERM to the primary: every worker drains, clean exit')
  t.equal(cli.logs().filter(l => l.event === 'drain_done').length, 2, 'both workers drained')
})

t.test('a worker that cannot start stops the whole start', async t => {
  const blocker = net.createServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => { blocker.close() })
  const taken = (blocker.address() as net.AddressInfo).port
  // Worker i listens for admin on admin.port + 1 + i: worker 1 gets the taken port and cannot start.
  const cfg = file('proxy-workers-bad.yaml', `
workers: 2
admin: { port: ${taken - 2} }
listeners:
  - name: edge
    port: 0
    closeListenSocket: false
    backends: [{ name: gw, host: 127.0.0.1, port: 1 }]
`)
  await t.rejects(spawnCli(t, ['proxy', '--config', cfg], { expectLines: 4, timeoutMs: 30_000 }), /exited \(1\) before listening[\s\S]*proxy worker 1 exited during start/)
})
