// The CLI as an operator first meets it (docs/operations.md "Command line"): help and
// version on stdout with status 0; usage mistakes as one line on stderr with status 2.
import t from 'tap'
import { runCli } from '../helpers/e2e-cli.js'
import { all, deploy, oneLine } from './helpers.js'

t.test('help and version', async t => {
  const variants = [['--help'], ['-h'], ['help'], ['gateway', '--help'], ['--version']]
  const runs = await all(variants.map(args => () => runCli(args)))
  const v = runs.pop()!
  for (const [i, r] of runs.entries()) {
    t.equal(r.code, 0, variants[i]!.join(' '))
    t.match(r.stdout, /^usage: tn3270-lb <command> \[options\]/)
    t.match(r.stdout, /check {6}\[gateway\|proxy\|host-sim\] --config FILE/)
    t.equal(r.stderr, '')
  }
  t.equal(v.code, 0)
  t.equal(v.stdout, `tn3270-lb 0.1.0 (node ${process.version})\n`)
})

t.test('usage mistakes: one line, status 2', async t => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^tn3270-lb: a command is required: demo, gateway, proxy, host-sim or check \(tn3270-lb --help\)$/],
    [['serve'], /^tn3270-lb: unknown command "serve"/],
    [['gateway', '--verbose'], /^tn3270-lb: unknown option --verbose/],
    [['gateway', '--config'], /^tn3270-lb: option --config needs a value \(tn3270-lb --help\)$/],
    [['--version=2'], /^tn3270-lb: option --version takes no value/],
    [['gateway'], /^tn3270-lb: gateway: --config FILE is required/],
    [['gateway', '--config', 'x.yaml', '--lus', '8'], /^tn3270-lb: gateway: --lus belongs to demo; gateway takes --config FILE and --set key=value/],
    [['proxy', '--config', 'x.yaml', '--format', 'json'], /^tn3270-lb: proxy: --format belongs to check/],
    [['demo', '--config', 'x.yaml'], /^tn3270-lb: demo: --config belongs to gateway, proxy, host-sim and check; demo takes --base-port/],
    [['demo', '--lus', 'many'], /^tn3270-lb: --lus = "many": expected a whole number from 1 to 999$/],
    [['host-sim', 'extra', '--config', 'x'], /^tn3270-lb: host-sim: unexpected "extra"/],
    [['check', 'router', '--config', 'x'], /^tn3270-lb: check: unknown role "router"/],
    [['check', 'gateway', 'x', '--config', 'x'], /^tn3270-lb: check: unexpected "x"/],
    [['check', '--config', deploy('hosta.yaml'), '--format', 'xml'], /--format "xml": expected yaml or json/],
  ]
  const runs = await all(cases.map(([args]) => () => runCli(args)))
  cases.forEach(([args, pattern], i) => { t.test(args.join(' ') || '(nothing)', async t => { oneLine(t, runs[i]!, 2, pattern) }) })
})

