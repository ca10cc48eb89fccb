// A printer LU on a `tn3270` link to Debian's Hercules 3.13 (docs/printers.md "On a tn3270
// link"): Hercules has no TN3270E; a 3287 device of its configuration is reached with terminal
// type IBM-3287-1 and `@devnum` (RFC 1646 era TTYPE naming). The real pr3287 asks the gateway for
// the printer LU by name (TN3270E CONNECT, RFC 2355 §7.1); the gateway opens the upstream session
// as a 3287 and Hercules attaches it to its 3287 device. With no operating system in Hercules
// nothing is printed: what is checked is that the right device takes the session.
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHercules } from '../helpers/hercules.js'
import { Pr3287 } from '../helpers/pr3287.js'
import { startTestGateway } from '../gateway/gateway-fixture.js'
import { until } from '../helpers/until.js'

t.test('pr3287 through the gateway to a Hercules 3287 device', async t => {
  const herc = await startHercules({ devices: ['0010', { address: '0012', type: '3287' }] })
  t.teardown(() => herc.stop())
  const gw = await startTestGateway({
    name: 'gw-herc',
    listeners: [{ name: 'prt', port: 0, pools: ['HERCPRT'] }],
    hosts: [{
      name: 'HERC',
      link: { type: 'tn3270', host: '127.0.0.1', port: herc.port, connectTimeout: '10s', probeInterval: '250ms', luRequest: 'ttype', keepaliveMethod: 'none' },
    }],
    pools: [{ name: 'HERCPRT', host: 'HERC', kind: 'printer', luType: 'lu3', lus: [{ name: 'HERCP012', resource: '0012' }] }],
    keepalive: { method: 'none' },
  })
  t.teardown(gw.close)
  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-pr3287-'))
  const p = Pr3287.start({ target: `HERCP012@127.0.0.1:${gw.port('prt')}`, dir, trace: true })
  t.teardown(() => p.close())
  await until('pr3287 got HERCP012', () => p.trace().includes('IS IBM-3287-1 CONNECT HERCP012'), 15_000)
  t.pass('DEVICE-TYPE IS IBM-3287-1 CONNECT HERCP012')
  // The FUNCTIONS exchange follows the device type: wait for pr3287's IS.
  await until('pr3287 agreed functions', () => p.trace().includes('SENT SB TN3270E FUNCTIONS IS'), 15_000)
  t.match(p.trace(), /SENT SB TN3270E FUNCTIONS IS DATA-STREAM-CTL RESPONSES SE/, 'an LU type 3 printer: DATA-STREAM-CTL, no BIND-IMAGE on a tn3270 link')
  // Hercules' own log line: HHCTE009I Client 127.0.0.1 connected to 3287 device 0:0012.
  await until('Hercules attached the session to its 3287 device', () => /connected to 3287 device 0:0012/.test(herc.log()), 15_000)
  t.pass('Hercules: connected to 3287 device 0:0012')
  t.match(gw.side.status(), { sessions: 1 }, 'one upstream session')
})
