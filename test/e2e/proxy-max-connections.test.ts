// maxConnections on a proxy listener (lib/proxy/listener.ts, lib/listen/open-files.ts): at the cap
// the listener stops accepting, as HAProxy's maxconn does, so a process never takes a client it
// has no descriptors for; a client refused at TCP moves on (a hot-backup list, another worker),
// and the listener re-opens as soon as a session ends (CloseListenSocket, KB Q101235).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { startProxyDemo, type LogLine } from '../helpers/e2e-proxy.js'
import { tlsProxy } from '../helpers/e2e-tls.js'
import { E2eClient, tcpConnect } from '../helpers/e2e-tn3270-client.js'
import { errorCode } from '../../lib/errors.js'
import { connectionsWithin, openFileLimit, parseOpenFileLimit } from '../../lib/listen/index.js'
import { until } from '../helpers/until.js'

t.test('two clients fill maxConnections 2: the third is refused at TCP, and connects once one leaves', async t => {
  const lines: LogLine[] = []
  const d = await startProxyDemo(t, lines, { gateways: 1, hosts: 1, lus: 4 })
  const proxy = await tlsProxy(t, d, lines, { maxConnections: 2 })
  const port = proxy.listeners[0]!.port
  const a = await E2eClient.open(port)
  t.teardown(() => a.destroy())
  const b = await E2eClient.open(port)
  t.teardown(() => b.destroy())
  t.not(a.lu, b.lu, 'two sessions')
  await until('the listener closed at the cap', () => proxy.status().listeners[0]?.open === false)
  t.match(proxy.status().listeners[0], { maxConnections: 2, sessions: 2 })
  t.match(lines.find(l => l.event === 'listener_closed'), { listener: 'edge', reason: 'holding maxConnections (2) clients' })
  const refused = await tcpConnect(port).then(s => { s.destroy(); return 'connected' }, (err: unknown) => errorCode(err))
  t.equal(refused, 'ECONNREFUSED', 'the third client is refused by the kernel, not accepted and dropped')
  a.destroy()
  await until('the listener open again', () => proxy.status().listeners[0]?.open === true)
  const c = await E2eClient.open(port)
  t.teardown(() => c.destroy())
  t.ok(c.lu, 'the third client gets a session once one ended')
})

t.test('auto: two descriptors per client under the soft open-file limit (proc(5) limits)', async t => {
  const text = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max cpu time              unlimited            unlimited            seconds   ',
    'Max open files            20000                20000                files     ',
  ].join('\n')
  t.equal(parseOpenFileLimit(text), 20_000)
  t.equal(parseOpenFileLimit(text.replace('20000                20000', 'unlimited            unlimited')), undefined)
  t.equal(parseOpenFileLimit('nothing here'), undefined)
  t.equal(connectionsWithin(20_000, 2), 9950)
  t.equal(connectionsWithin(undefined, 2), 0, 'unknown limit: no cap')
  t.equal(connectionsWithin(50, 2), 1, 'never a cap of 0, which would mean none')
  t.equal(openFileLimit(), parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8')), 'this process, read from /proc')
  t.equal(openFileLimit('/nonexistent/limits'), undefined)
})
