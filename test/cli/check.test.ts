// `tn3270-lb check` (docs/operations.md "Command line", docs/configuration.md): every role, YAML or JSON, loadable
// again, secrets redacted; a bad config is one line on stderr and status 2.
import t from 'tap'
import YAML from 'yaml'
import { join } from 'node:path'
import { runCli } from '../helpers/e2e-cli.js'
import { all, deploy, dir, file, GATEWAY, oneLine } from './helpers.js'

t.test('check: every role, YAML or JSON, loadable again', async t => {
  const gw = file('gw.yaml', GATEWAY)
  const env = { TN3270LB_ADMIN__TOKEN: 'not-printed' }
  const [r, px, hs] = await all([
    () => runCli(['check', '--config', gw]),
    () => runCli(['check', '--config', deploy('proxy.yaml'), '--format', 'json'], { env }),
    () => runCli(['check', 'host-sim', '--config', deploy('hosta.yaml'), '--set', 'restartDelay=2s'], { env }),
  ])
  t.equal(r!.code, 0, r!.stderr)
  t.equal(r!.stderr, `tn3270-lb: ${gw}: valid gateway config\n`)
  const cfg = YAML.parse(r!.stdout) as Record<string, any>
  t.equal(cfg.keepalive.watchdogTimeout, 60000, 'defaults filled in (durations in ms)')
  t.same(cfg.admin, { host: '127.0.0.1', port: 0 })
  const again = await runCli(['check', 'gateway', '--config', file('again.yaml', r!.stdout)])
  t.equal(again.stdout, r!.stdout, 'the printed config checks to itself')

  t.equal(px!.code, 0, px.stderr)
  t.match(px!.stderr, /valid proxy config/)
  const pcfg = JSON.parse(px!.stdout) as Record<string, any>
  t.equal(pcfg.admin.token, '<redacted>')
  t.notMatch(px!.stdout, 'not-printed')
  t.equal(hs!.code, 0, hs!.stderr)
  t.match(hs!.stdout, /restartDelay: 2000/)
})

t.test('check: a bad config is one line and status 2', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['check', '--config', file('bad.yaml', `${GATEWAY}keepalive: { watchdogTimeout: soon }\n`)],
      /^tn3270-lb: config: keepalive\.watchdogTimeout = "soon": expected a duration like 500ms, 1s, 5m$/],
    [['check', '--config', join(dir, 'missing.yaml')], /^tn3270-lb: config: cannot read .*missing\.yaml: ENOENT/],
    [['check', '--config', file('yaml.yaml', 'listeners: [\n')], /^tn3270-lb: config: .*yaml\.yaml line \d+: /],
    [['check', 'proxy', '--config', deploy('proxy.yaml')], /^tn3270-lb: config: admin\.token = nothing: required when admin\.host \(0\.0\.0\.0\)/],
  ]
  const runs = await all(cases.map(([args]) => () => runCli(args)))
  cases.forEach(([, pattern], i) => { oneLine(t, runs[i]!, 2, pattern) })
})
