// Starting a role (docs/operations.md "Command line"): whatever stops the start — a config that
// does not hold together, a port in use — is one line and a non-zero status, never a stack; a
// running role requires its admin token for state changes; SIGHUP never stops one.
import t from 'tap'
import { request } from 'undici'
import { runCli, spawnCli } from '../helpers/e2e-cli.js'
import { pollUntil } from '../helpers/e2e-gateway.js'
import { join } from 'node:path'
import { all, busyPort, dir, file, GATEWAY, oneLine } from './helpers.js'

t.test('start-up failures: one line, non-zero, no stack', async t => {
  const busy = await busyPort(t)
  const cases: Array<[string[], number, RegExp]> = [
    [['gateway', '--config', file('empty.yaml', '')], 2, /^tn3270-lb: config: .*empty\.yaml is empty: listeners = nothing: expected at least one listener/],
    [['gateway', '--config', file('nohost.yaml', GATEWAY.replace('host: HOSTA, lus', 'host: HOSTZ, lus'))], 2,
      /^tn3270-lb: config: pools\.0\.host = "HOSTZ": expected the name of a configured host \(hosts are HOSTA\)$/],
    [['gateway', '--config', file('nopool.yaml', GATEWAY.replace('pools: [HOSTA] }', 'pools: [HOSTX] }'))], 2,
      /^tn3270-lb: config: listeners\.0\.pools\.0 = "HOSTX": expected the name of a configured pool/],
    [['gateway', '--config', file('appc.yaml', `${GATEWAY.replace('type: sna, port: 1', 'type: tn3270, port: 1')}appc: { partners: [{ name: P, host: HOSTA }] }\n`)], 2,
      /^tn3270-lb: config: appc\.partners\.0\.host = "HOSTA": expected a host with an sna link/],
    [['host-sim', '--config', file('hs-open.yaml', 'name: H\nlink: { port: 0 }\nadmin: { host: 0.0.0.0 }\n')], 2,
      /^tn3270-lb: config: admin\.token = nothing: required when admin\.host \(0\.0\.0\.0\) is not a loopback address/],
    [['host-sim', '--config', file('hs-admin.yaml', `name: H\nlink: { port: 0 }\nadmin: { port: ${busy} }\nlog: { level: silent }\n`)], 1,
      new RegExp(`^tn3270-lb: admin: cannot listen on 127\\.0\\.0\\.1:${busy} \\(admin\\.host/admin\\.port\\): address already in use$`)],
    [['host-sim', '--config', file('hs-link.yaml', `name: H\nlink: { port: ${busy} }\nlog: { level: silent }\n`)], 1, /^tn3270-lb: listen EADDRINUSE: address already in use/],
    [['demo', '--bind', '0.0.0.0', '--base-port', '0'], 2, /^tn3270-lb: config: admin\.token = nothing: required when admin\.host \(0\.0\.0\.0\)/],
    [['proxy', '--config', file('px.yaml', `listeners: [{ name: t, port: ${busy}, closeListenSocket: false, backends: [{ name: a, host: 127.0.0.1, port: 1 }] }]\nlog: { level: silent }\n`)], 1,
      /^tn3270-lb: listen EADDRINUSE: address already in use/],
  ]
  const runs = await all(cases.map(([args]) => () => runCli(args)))
  cases.forEach(([args, status, pattern], i) => { t.test(`${args[0]!} ${args[2]!.split('/').pop()!}`, async t => { oneLine(t, runs[i]!, status, pattern) }) })
  const debug = await runCli(['check', '--config', join(dir, 'none.yaml')], { env: { TN3270LB_DEBUG: '1' } })
  t.match(debug.stderr, /^tn3270-lb: config: cannot read .*\n.*Tn3270LbError.*\n\s+at /, 'TN3270LB_DEBUG=1 adds the stack')
  oneLine(t, await runCli(['demo'], { env: { TN3270LB_ADMIN__TOKENFILE: join(dir, 'nope', 'token') } }), 2,
    /^tn3270-lb: config: TN3270LB_ADMIN__TOKENFILE = ".*nope\/token": ENOENT/)
})

t.test('the demo on a non-loopback address with a token file', async t => {
  const token = file('demo-token', 'from-a-file\n')
  const cli = await spawnCli(t, ['demo', '--base-port', '0', '--gateways', '1', '--hosts', '1', '--lus', '1', '--bind', '127.0.0.1'],
    { expectLines: 6, env: { TN3270LB_ADMIN__TOKENFILE: token, LOG_LEVEL: 'warn' } })
  const port = cli.ports.get('host-sim-admin HOSTA')!
  const post = async (auth?: string) => (await request(`http://127.0.0.1:${port}/faults`, { method: 'POST', body: '{}', headers: auth === undefined ? {} : { authorization: `Bearer ${auth}` } })).statusCode
  t.equal(await post(), 401)
  t.equal(await post('from-a-file'), 200)
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
})

t.test('a running role takes its admin token from the config (env override)', async t => {
  const cfg = file('hs-token.yaml', 'name: HOSTA\nlink: { port: 0 }\nadmin: { port: 0, token: from-file }\nlog: { level: warn }\n')
  const cli = await spawnCli(t, ['host-sim', '--config', cfg], { expectLines: 2, env: { TN3270LB_ADMIN__TOKEN: 'from-env' } })
  const port = cli.ports.get('host-sim-admin HOSTA')!
  const post = async (auth?: string) => (await request(`http://127.0.0.1:${port}/restart`, { method: 'POST', headers: auth === undefined ? {} : { authorization: `Bearer ${auth}` } })).statusCode
  t.equal(await post(), 401)
  t.equal(await post('from-file'), 401, 'the environment overrides the file')
  t.equal(await post('from-env'), 202)
  const status = await request(`http://127.0.0.1:${port}/status`)
  t.equal(status.statusCode, 200, 'reads stay open')
  t.equal((await status.body.json() as { version: string }).version, '0.1.0')
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0, 'SIGTERM: clean exit')
})

t.test('SIGHUP on a role with nothing to reload says so and keeps running', async t => {
  const cfg = file('hs-hup.yaml', 'name: HOSTA\nlink: { port: 0 }\nadmin: { port: 0 }\nlog: { level: warn }\n')
  const cli = await spawnCli(t, ['host-sim', '--config', cfg], { expectLines: 2 })
  cli.child.kill('SIGHUP')
  await pollUntil(() => cli.stderr.includes('tn3270-lb: SIGHUP: nothing to reload for this command'), 'the SIGHUP line')
  t.equal((await request(`http://127.0.0.1:${cli.ports.get('host-sim-admin HOSTA')!}/healthz`)).statusCode, 200, 'still running')
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0)
})
