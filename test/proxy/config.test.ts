import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ErrorCodes } from '../../lib/errors.js'
import { loadConfig } from '../../lib/config/load.js'
import { proxySchema } from '../../lib/config/proxy.js'

const listener = { name: 'main', port: 3270, backends: [{ name: 'gw1', host: 'gw1', port: 3270, adminUrl: 'http://gw1:3370' }] }

t.test('defaults', async t => {
  const c = loadConfig(proxySchema, { base: { listeners: [listener] } })
  t.match(c, {
    name: 'proxy',
    admin: { host: '127.0.0.1', port: 0 },
    // tn3270e routing by default; it hands the negotiation over in a PROXY v2 header (docs/routing.md).
    listeners: [{ name: 'main', host: '127.0.0.1', port: 3270, routing: 'tn3270e', closeListenSocket: true, proxyProtocol: 'v2', pools: [], backends: [{ name: 'gw1', weight: 1 }], dns: [] }],
    connectTimeout: 3000, negotiationTimeout: 10_000, earlyCloseWindow: 1000, statusInterval: 2000, statusTimeout: 1000, statusStaleAfter: 10_000,
    affinity: { keepFor: 0, maxEntries: 100_000 },
    ejection: { failures: 3, baseTime: 5000, maxTime: 300_000 },
    idleTimeout: 0, halfCloseTimeout: 30_000, tcpKeepAlive: 60_000, drainTimeout: 30_000, closeSpreadTime: 5000,
    log: { level: 'info' },
  })
  t.equal(c.listeners[0]!.defaultPool, undefined, 'no default pool: each gateway\'s own')
})

t.test('routing: tcp keeps the L4 splice and its PROXY default (off); tn3270e takes pools, a default pool, v2', async t => {
  const tcp = loadConfig(proxySchema, { base: { listeners: [{ ...listener, routing: 'tcp' }] } })
  t.match(tcp.listeners[0], { routing: 'tcp', proxyProtocol: 'off', pools: [] })
  t.equal(loadConfig(proxySchema, { base: { listeners: [{ ...listener, routing: 'tcp', proxyProtocol: 'v2' }] } }).listeners[0]!.proxyProtocol, 'v2')
  const routed = loadConfig(proxySchema, { base: { listeners: [{ ...listener, pools: ['hosta', 'HOSTB'], defaultPool: 'hostb' }] }, sets: ['affinity.keepFor=5m'] })
  t.match(routed.listeners[0], { routing: 'tn3270e', proxyProtocol: 'v2', pools: ['HOSTA', 'HOSTB'], defaultPool: 'HOSTB' })
  t.equal(routed.affinity.keepFor, 300_000)
})

t.test('YAML file, environment and --set overrides', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-config-'))
  const file = join(dir, 'proxy.yaml')
  writeFileSync(file, `
listeners:
  - name: main
    port: 3270
    proxyProtocol: v2
    dns:
      - name: _tn3270._tcp.gw.ns.svc.cluster.local
        type: SRV
        adminPort: 9090
        refresh: 5s
`)
  const c = loadConfig(proxySchema, { file, env: { TN3270LB_CONNECTTIMEOUT: '4s', TN3270LB_LISTENERS__0__CLOSELISTENSOCKET: 'false' }, sets: ['ejection.failures=2'] })
  t.equal(c.connectTimeout, 4000)
  t.equal(c.listeners[0].closeListenSocket, false)
  t.equal(c.listeners[0].proxyProtocol, 'v2')
  t.same(c.listeners[0].dns, [{ name: '_tn3270._tcp.gw.ns.svc.cluster.local', type: 'SRV', adminPort: 9090, refresh: 5000, weight: 1 }])
  t.equal(c.ejection.failures, 2)
})

t.test('bad configs: one line naming key, value and expectation', async t => {
  const bad = (base: unknown, message: RegExp) => t.throws(() => loadConfig(proxySchema, { base }), { code: ErrorCodes.CONFIG_INVALID, message }, String(message))
  bad({}, /config: listeners = nothing: required, expected array/)
  bad({ listeners: [] }, /listeners = \[\]: expected at least one listener/)
  bad({ listeners: [{ name: 'main', port: 3270 }] }, /listeners\.0\.backends = nothing: expected at least one backend or dns entry/)
  bad({ listeners: [{ ...listener, proxyProtocol: 'v1' }] }, /listeners\.0\.proxyProtocol = "v1": expected one of off, v2/)
  bad({ listeners: [{ name: 'main', port: 1, dns: [{ name: 'gw' }] }] }, /listeners\.0\.dns\.0\.port = nothing: required for type A, expected a port/)
  bad({ listeners: [{ name: 'main', port: 1, dns: [{ name: 'gw', type: 'AAAA' }] }] }, /type = "AAAA": expected one of A, SRV/)
  bad({ listeners: [{ ...listener, backends: [{ name: 'gw1', host: 'h', port: 1, adminUrl: 'not a url' }] }] }, /adminUrl = "not a url": expected a URL/)
  bad({ listeners: [{ ...listener, backends: [{ name: 'gw1', host: 'h', port: 1, weight: 300 }] }] }, /weight = 300: expected a whole number from 0 to 256/)
  bad({ listeners: [listener, { ...listener, name: 'second', port: 3271 }] }, /listeners\.1\.backends\.0\.name = "gw1": expected a backend name not used elsewhere/)
  bad({ listeners: [listener, { ...listener, backends: [{ name: 'gw2', host: 'h', port: 1 }] }] }, /listeners\.1\.name = "main": expected a listener name not used elsewhere/)
  bad({ listeners: [listener], statusTimeout: '20s' }, /statusTimeout = "20s": expected less than statusStaleAfter/)
  bad({ listeners: [listener], connectTimeout: 'soon' }, /connectTimeout = "soon": expected a duration/)
  bad({ listeners: [listener], ejection: { failures: 0 } }, /ejection\.failures = 0: expected a whole number from 1 to 1000/)
  bad({ listeners: [listener], bogus: 1 }, /bogus: unknown key/)
  bad({ listeners: [{ ...listener, proxyProtocol: 'off' }] }, /listeners\.0\.proxyProtocol = "off": expected v2 with routing tn3270e/)
  bad({ listeners: [{ ...listener, routing: 'l7' }] }, /listeners\.0\.routing = "l7": expected one of tn3270e, tcp/)
  bad({ listeners: [{ ...listener, routing: 'tcp', pools: ['HOSTA'] }] }, /listeners\.0\.pools = \["HOSTA"\]: expected routing tn3270e/)
  bad({ listeners: [{ ...listener, routing: 'tcp', defaultPool: 'HOSTA' }] }, /listeners\.0\.defaultPool = "HOSTA": expected routing tn3270e/)
  bad({ listeners: [{ ...listener, pools: ['HOSTA'], defaultPool: 'HOSTB' }] }, /listeners\.0\.defaultPool = "HOSTB": expected one of the listener's pools/)
  bad({ listeners: [{ ...listener, pools: ['9BAD'] }] }, /listeners\.0\.pools\.0 = "9BAD": expected 1-8 characters/)
  bad({ listeners: [listener], affinity: { maxEntries: 0 } }, /affinity\.maxEntries = 0: expected a whole number/)
})
