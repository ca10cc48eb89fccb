// A gateway whose listener port is taken does not start: one line naming the listener, the address
// and the config key, exit status 1 (docs/operations.md "Listener ports"). Before, it printed
// "listening" and retried the bind forever — also when the listener started closed (no LU yet).
import t from 'tap'
import { runCli } from '../helpers/e2e-cli.js'
import { busyPort, file, GATEWAY, oneLine } from './helpers.js'

t.test('gateway start with its listener port in use: one line, status 1', async t => {
  const busy = await busyPort(t)
  const cfg = file('gw-busy.yaml', `${GATEWAY.replace('port: 0, pools', `host: 127.0.0.1, port: ${busy}, pools`)}admin: { port: 0 }\nlog: { level: silent }\n`)
  oneLine(t, await runCli(['gateway', '--config', cfg]), 1,
    new RegExp(`^tn3270-lb: listener tn3270: cannot listen on 127\\.0\\.0\\.1:${busy} \\(listeners\\.0\\.port\\): address already in use$`))
})
