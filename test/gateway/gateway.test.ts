// startGateway itself (lib/gateway/gateway.ts): its callers load gatewayConfigSchema, which finds
// the mistakes across sections (lib/config); start-up waits for host links on their events and
// gives up after the start-up wait on the gateway's clock; the admin plane answers /status and
// falls through to 404; listener ports are proven at start (docs/operations.md "Listener ports").
import t from 'tap'
import { gatewayConfigSchema, gatewaySchema, loadConfig } from '../../lib/config/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import { startGateway } from '../../lib/gateway/index.js'
import { Registry, silentLogger } from '../../lib/observability/index.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { httpRequest } from '../helpers/e2e-gateway.js'

const base = {
  name: 'gw-unit',
  admin: { host: '127.0.0.1', port: 0 },
  listeners: [{ name: 'main', port: 0, pools: ['P'] }],
  // Nothing listens on port 1: the link never comes up.
  hosts: [{ name: 'H', link: { type: 'tn3270', host: '127.0.0.1', port: 1, probeInterval: '1h' } }],
  pools: [{ name: 'P', host: 'H', lus: [{ name: 'LU1', resource: 'D1' }] }],
}

const deps = () => ({ logger: silentLogger(), registry: new Registry() })

t.test('mistakes across sections are config errors before startGateway runs (gatewayConfigSchema)', async t => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ pools: [{ name: 'P', host: 'NOPE', lus: ['LU1'] }] }, /^config: pools\.0\.host = "NOPE": expected the name of a configured host/],
    [{ listeners: [{ name: 'main', port: 0, pools: ['Q'] }] }, /^config: listeners\.0\.pools\.0 = "Q": expected the name of a configured pool/],
    [{ appc: { partners: [{ name: 'PART', host: 'H' }] } }, /^config: appc\.partners\.0\.host = "H": expected a host with an sna link/],
  ]
  for (const [over, message] of cases) {
    t.throws(() => loadConfig(gatewayConfigSchema, { base: { ...base, ...over } }), { code: ErrorCodes.CONFIG_INVALID, message })
  }
  // A caller that skipped the cross-section checks still gets a config error for an APPC partner without an LU 6.2 link.
  await t.rejects(startGateway(loadConfig(gatewaySchema, { base: { ...base, appc: { partners: [{ name: 'PART', host: 'H' }] } } }), deps()),
    { code: ErrorCodes.CONFIG_INVALID, message: /^config: appc\.partners\.PART\.host = "H": expected the name of a host with an sna link$/ })
})

t.test('start-up gives up waiting for a host link after the start-up wait, on the gateway\'s clock', async t => {
  const clock = new FakeClock(Date.now())
  let started = false
  const starting = startGateway(loadConfig(gatewayConfigSchema, { base }), { ...deps(), clock }).then(g => { started = true; return g })
  // The probe of port 1 fails at once; the wait for an 'up' that never comes ends on the clock.
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(started, false, 'still waiting for the host link')
  clock.advance(3000)
  const gw = await starting
  t.teardown(() => gw.shutdown({ immediate: true }))
  t.match(gw.status(), { ready: true, draining: false, hostLinks: [{ host: 'H', type: 'tn3270', up: false }], listeners: [{ name: 'main', open: false }], sessions: { active: 0, negotiating: 0 } })
  const port = gw.adminAddress.port
  t.equal((await httpRequest(port, '/readyz')).status, 200)
  t.equal((await httpRequest(port, '/v1/appc/sessions')).status, 404, 'no APPC routes without partners')
  // Never opened (no LU can be served), but its port was proven at start: port 0 became a real one.
  t.match(gw.listening(), [/^listening gateway gw-unit 127\.0\.0\.1:[1-9]\d*$/, /^listening gateway-admin gw-unit 127\.0\.0\.1:\d+$/])
  t.ok(gw.listenerPort('main') > 0, 'the port the start-up bind got, for when it opens')
  await gw.shutdown({ immediate: true })
  t.match(gw.status(), { ready: false, draining: true })
})
