// The proxy with worker processes (`workers`, lib/proxy/workers.ts, docs/operations.md "Workers"):
// the real CLI forks them with node:cluster; every worker serves the shared listen socket and has
// its own admin port; CloseListenSocket (KB Q101235) closes the port only once every worker has
// closed it and opens it again when a gateway can serve; SIGHUP reloads every worker, SIGTERM to
// the primary drains them all and the process tree exits 0.
import t from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { spawnCli } from '../helpers/e2e-cli.js'
import { until } from '../helpers/until.js'
import { file } from '../cli/helpers.js'
import { FakeGateway } from './fake-gateway.js'
import { workerAdminPort, workerCount } from '../../lib/proxy/index.js'

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

async function httpStatus (port: number): Promise<{ listeners: Array<{ open: boolean }> }> {
  const res = await fetch(`http://127.0.0.1:${port}/status`)
  return await res.json() as { listeners: Array<{ open: boolean }> }
}

t.test('workers: a count or auto; admin ports by worker index', async t => {
  t.equal(workerCount(3), 3)
  t.ok(workerCount('auto') >= 1, 'auto = the cores Node sees')
  t.equal(workerAdminPort(9100, 0), 9100)
  t.equal(workerAdminPort(9100, 2), 9102)
  t.equal(workerAdminPort(0, 2), 0, 'port 0 stays 0: an ephemeral port per worker')
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
  // One listener line (shared) and one admin line per worker.
  const cli = await spawnCli(t, ['proxy', '--config', cfg], { expectLines: 3 })
  const port = cli.ports.get('proxy edge')!
  const admins = cli.lines.map(l => /^listening proxy-admin \S+ \S+:(\d+)$/.exec(l.line)?.[1]).filter(p => p !== undefined).map(Number)
  t.equal(admins.length, 2, 'each worker has its own admin port')
  t.not(admins[0], admins[1])
  // Each worker writes its own log lines; they may arrive after the primary's listening lines.
  await until('both workers\' listening log lines', () => new Set(cli.logs().filter(l => l.event === 'listening' && l.listener === 'edge').map(l => l.worker)).size === 2)
  t.pass('both workers listen on the edge listener')

  const got = await Promise.all(Array.from({ length: 6 }, async () => await tryClient(port)))
  t.ok(got.every(g => g.startsWith('\xff\xfd\x18')), 'clients get the gateway\'s first bytes through the workers')
  await until('six sessions ended', () => cli.logs().filter(l => l.event === 'session_end').length === 6).catch((err: unknown) => { t.comment(cli.logs().map(l => l.event).join(' ')); throw err })
  t.ok(cli.logs().filter(l => l.event === 'session_end').every(l => l.bytesOut === gw.greeting.length), 'bytes counted per session')

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
  await until('a new worker 1', () => cli.logs().some(l => l.event === 'listening' && l.listener === 'edge' && l.worker === 1 && l.pid !== victim))
  t.match(cli.logs().find(l => l.event === 'worker_exited'), { worker: 1, signal: 'SIGKILL' }, 'the primary says which worker died')

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
  // Worker i listens for admin on admin.port + i: worker 1 gets the taken port and cannot start.
  const cfg = file('proxy-workers-bad.yaml', `
workers: 2
admin: { port: ${taken - 1} }
listeners:
  - name: edge
    port: 0
    closeListenSocket: false
    backends: [{ name: gw, host: 127.0.0.1, port: 1 }]
`)
  await t.rejects(spawnCli(t, ['proxy', '--config', cfg], { expectLines: 3, timeoutMs: 30_000 }), /exited \(1\) before listening[\s\S]*proxy worker 1 exited during start/)
})
