// Every log line of a full demo run through the real CLI (docs/operations.md "Logs"): host
// simulators, gateways and the proxy at debug level, an s3270 session through the proxy (ECHO,
// logoff), one straight to a gateway on the other host, an APPC conversation, the runtime API, a
// refused reload, SIGHUP and the drain on SIGTERM. No line repeats a JSON key (pino writes both
// copies when a binding and a line carry the same key), and every `event` is snake_case or one of
// the KB Q137309 numbers.
import t from 'tap'
import { api } from '../helpers/admin-api.js'
import { spawnCli } from '../helpers/e2e-cli.js'
import { pollUntil } from '../helpers/e2e-gateway.js'
import { duplicateKeys, eventStyleOk } from '../helpers/log-lines.js'
import { S3270 } from '../helpers/s3270.js'

t.test('a full demo run: no log line has a duplicate key; one event style', async t => {
  const cli = await spawnCli(t, ['demo', '--base-port', '0', '--gateways', '2', '--hosts', '2', '--lus', '2'], { expectLines: 10, env: { LOG_LEVEL: 'debug' } })
  const proxy = cli.ports.get('proxy tn3270')!
  const proxyAdmin = cli.ports.get('proxy-admin proxy')!
  const gw1 = cli.ports.get('gateway gw1')!
  const gw1Admin = cli.ports.get('gateway-admin gw1')!
  await pollUntil(async () => (await api(proxyAdmin, 'GET', '/status')).json.listeners[0].open, 'proxy listener open', 10_000)

  const s = await S3270.start({ model: 2 })
  t.teardown(() => s.close())
  t.ok((await s.connect(`127.0.0.1:${proxy}`)).ok)
  await s.wait(10, 'InputField')
  await s.string('hello')
  await s.enter()
  await pollUntil(async () => (await s.ascii()).join('\n').includes('ECHO: hello'), 'ECHO', 10_000)
  const b = await S3270.start({ model: 2 })
  t.teardown(() => b.close())
  t.ok((await b.connect(`N:HOSTB@127.0.0.1:${gw1}`)).ok)
  await b.wait(10, 'InputField')

  t.equal((await api(gw1Admin, 'POST', '/v1/appc/HOSTA/%23INTER/ECHO', 'ping')).json, 'ping')
  t.equal((await api(gw1Admin, 'GET', '/v1/sessions')).status, 200)
  await api(gw1Admin, 'POST', '/v1/pools/HOSTB/disable')
  await api(gw1Admin, 'POST', '/v1/pools/HOSTB/enable')
  await api(proxyAdmin, 'POST', '/v1/backends/gw2/drain')
  await api(proxyAdmin, 'POST', '/v1/backends/gw2/enable')
  t.equal((await api(gw1Admin, 'POST', '/v1/reload')).status, 409, 'the demo has no config file to re-read')
  cli.child.kill('SIGHUP')
  await s.pf(3)
  await s.disconnect()
  await b.disconnect()
  await pollUntil(() => cli.logs().filter(l => l.event === 'session_audit').length >= 2, 'both sessions audited', 10_000)
  cli.child.kill('SIGTERM')
  t.match(await cli.exited, { code: 0 })

  const json = cli.lines.map(l => l.line).filter(l => l.startsWith('{'))
  t.ok(json.length > 100, `a full run: ${json.length} lines`)
  const repeated = json.filter(l => duplicateKeys(l).length > 0)
  t.same(repeated, [], 'no line repeats a key')
  const events = new Set(json.map(l => (JSON.parse(l) as { event?: unknown }).event).filter(e => e !== undefined))
  t.same([...events].filter(e => !eventStyleOk(e)), [], `one event style in ${events.size} kinds of event`)
  for (const e of ['session_start', 'session_end', 'session_audit', 'host_link_up', 'config_reload', 'pool_disabled', 'backend_drained']) t.ok(events.has(e), e)
})

t.test('the checks themselves', async t => {
  t.same(duplicateKeys('{"role":"demo","a":{"role":1},"role":"host","s":"\\"role\\":"}'), ['role'])
  t.same(duplicateKeys('{"a":[{"x":1},{"x":2}],"b":"x"}'), [])
  t.ok(eventStyleOk('host_link_up') && eventStyleOk(700) && eventStyleOk(undefined))
  t.notOk(eventStyleOk('host-link-up') || eventStyleOk('hostLinkUp') || eventStyleOk('_x'))
})
