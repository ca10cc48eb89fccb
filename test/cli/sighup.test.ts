// SIGHUP reaches the running role (lib/cli.ts): TLS certificates are read again, the process keeps
// running, and the outcome is one log line (docs/operations.md "TLS").
import t from 'tap'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnCli } from '../helpers/e2e-cli.js'
import { makePki, serverCert } from '../helpers/certs.js'
import { until } from '../helpers/until.js'
import { file } from './helpers.js'

t.test('SIGHUP reloads a proxy listener\'s certificate; SIGTERM still drains', async t => {
  const pki = await makePki(t)
  const one = await serverCert(pki, 'one', 0x5101)
  const two = await serverCert(pki, 'two', 0x5102)
  const cert = join(pki.dir, 'live.pem')
  const key = join(pki.dir, 'live.key')
  copyFileSync(one.cert, cert); copyFileSync(one.key, key)
  const cfg = file('proxy-tls.yaml', `
admin: { port: 0 }
listeners:
  - name: edge
    port: 0
    closeListenSocket: false
    tls: { mode: direct, cert: ${cert}, key: ${key} }
    backends: [{ name: gw, host: 127.0.0.1, port: 1 }]
`)
  const cli = await spawnCli(t, ['proxy', '--config', cfg], { expectLines: 2 })
  cli.child.kill('SIGHUP')
  await until('the unchanged line', () => cli.logs().some(l => l.event === 'tls_reload' && l.result === 'unchanged'))
  t.pass('SIGHUP with the same files: reported unchanged, the process runs on')
  // Replaced files are picked up by the directory watch or the next SIGHUP, whichever comes first.
  copyFileSync(two.cert, cert); copyFileSync(two.key, key)
  cli.child.kill('SIGHUP')
  await until('the reloaded line', () => cli.logs().some(l => l.event === 'tls_reload' && l.result === 'reloaded'))
  t.match(cli.logs().find(l => l.event === 'tls_reload' && l.result === 'reloaded'), { serial: two.serial, listener: 'edge', role: 'proxy' })
  cli.child.kill('SIGHUP')
  cli.child.kill('SIGTERM')
  t.equal((await cli.exited).code, 0, 'SIGTERM after SIGHUP: clean exit')
})
