// What changed between two configs and whether a reload may apply it (lib/config/reload.ts,
// docs/operations.md "Reload"): named lists keyed by name, a refusal that names the key, and the
// gateway's and the proxy's rules for what can change while they run.
import t from 'tap'
import {
  checkReloadRules, describeChanges, diffConfig, gatewayConfigSchema, GATEWAY_RELOAD_RULES, loadConfig, proxySchema, PROXY_RELOAD_RULES,
} from '../../lib/config/index.js'
import { ErrorCodes, ReloadRefusedError } from '../../lib/errors.js'

const gateway = (over: Record<string, unknown> = {}) => loadConfig(gatewayConfigSchema, {
  base: {
    name: 'gw1',
    listeners: [{ name: 'tn3270', port: 3271, pools: ['HOSTA'] }],
    hosts: [{ name: 'HOSTA', link: { type: 'sna', port: 3471 } }],
    pools: [{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001..GW1A004'] }],
    ...over,
  },
})

const proxy = (over: Record<string, unknown> = {}) => loadConfig(proxySchema, {
  base: {
    listeners: [{ name: 'tn3270', port: 3270, backends: [{ name: 'gw1', host: '127.0.0.1', port: 3271 }, { name: 'gw2', host: '127.0.0.1', port: 3272 }] }],
    ...over,
  },
})

t.test('diffConfig: keys by path, named lists by name, order does not matter', async t => {
  t.same(diffConfig({ a: 1 }, { a: 1 }), [])
  t.same(describeChanges(diffConfig(
    { a: 1, b: { c: 2 }, gone: 1, list: [{ name: 'x', v: 1 }, { name: 'y', v: 1 }], plain: [1, 2] },
    { a: 1, b: { c: 3 }, added: true, list: [{ name: 'y', v: 1 }, { name: 'z', v: 1 }], plain: [2, 1] },
  )), ['b.c changed', 'gone removed', 'list.x removed', 'list.z added', 'plain changed', 'added added'])
  const [dotted] = diffConfig({ dns: [{ name: 'gw.svc.local', refresh: 1 }] }, { dns: [{ name: 'gw.svc.local', refresh: 2 }] })
  t.same(dotted!.path, ['dns', 'gw.svc.local', 'refresh'], 'a name with dots stays one segment')
  t.same(diffConfig({ list: [{ name: 'x' }, { name: 'x' }] }, { list: [] }).map(c => c.key), ['list'], 'a list with repeated names is compared whole')
  t.same(diffConfig({ a: undefined }, {}), [], 'undefined is absent')
})

t.test('gateway: what a reload applies live', async t => {
  const before = gateway()
  const after = gateway({
    pools: [{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001..GW1A002'] }, { name: 'HOSTB', host: 'HOSTB', lus: ['GW1B001'] }],
    hosts: [{ name: 'HOSTA', link: { type: 'sna', port: 3471 } }, { name: 'HOSTB', link: { type: 'sna', port: 3472 } }],
    listeners: [{ name: 'tn3270', port: 3271, pools: ['HOSTA', 'HOSTB'], closeListenSocket: false }],
    keepalive: { watchdogTimeout: '30s' },
    pacing: { highWaterMark: '128KiB' },
    negotiation: { timeout: '5s' },
    drainTimeout: '1m',
    audit: { file: '/tmp/audit.jsonl' },
    admin: { token: 'new' },
  })
  const changes = diffConfig(before, after)
  t.doesNotThrow(() => { checkReloadRules(changes, GATEWAY_RELOAD_RULES) })
  t.same(describeChanges(changes).sort(), ['admin.token added', 'listeners.tn3270.closeListenSocket changed', 'listeners.tn3270.pools changed', 'hosts.HOSTB added',
    'pools.HOSTA.lus changed', 'pools.HOSTB added', 'negotiation.timeout changed', 'keepalive.watchdogTimeout changed', 'pacing.highWaterMark changed',
    'audit.file added', 'drainTimeout changed'].sort())
})

t.test('gateway: what a reload refuses, naming the key', async t => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ listeners: [{ name: 'tn3270', port: 3999, pools: ['HOSTA'] }] }, 'listeners.tn3270.port', /a listener keeps its port/],
    [{ listeners: [{ name: 'tn3270', host: '0.0.0.0', port: 3271, pools: ['HOSTA'] }] }, 'listeners.tn3270.host', /keeps its address/],
    [{ listeners: [{ name: 'tn3270', port: 3271, pools: ['HOSTA'] }, { name: 'more', port: 3281, pools: ['HOSTA'] }] }, 'listeners.more', /cannot be added or removed live/],
    [{ hosts: [{ name: 'HOSTA', link: { type: 'sna', port: 3999 } }] }, 'hosts.HOSTA.link.port', /a host link keeps its address and settings/],
    [{ admin: { port: 3999 } }, 'admin.port', /keeps its port/],
    [{ admin: { host: '127.0.0.2' } }, 'admin.host', /keeps its address/],
    [{ name: 'gw9' }, 'name', /PU name/],
    [{ appc: { sesTimeout: 9 } }, 'appc.sesTimeout', /CNOS/],
    [{ log: { level: 'debug' } }, 'log.level', /keep their level/],
  ]
  for (const [over, key, why] of cases) {
    const err = (() => { try { checkReloadRules(diffConfig(gateway(), gateway(over)), GATEWAY_RELOAD_RULES) } catch (e) { return e } })()
    t.ok(err instanceof ReloadRefusedError, key)
    t.match(err, { code: ErrorCodes.CONFIG_RELOAD, key, message: new RegExp(`^config reload refused, nothing applied: ${key.replace(/\./g, '\\.')} (changed|added|removed): .*${why.source}`) })
  }
  t.throws(() => { checkReloadRules([{ key: 'mystery', path: ['mystery'], change: 'changed' }], GATEWAY_RELOAD_RULES) }, { message: /mystery changed: this key cannot change while the process runs/ })
})

t.test('proxy: backends, sources and timeouts live; listener addresses, admin address, name and log level refused', async t => {
  const after = proxy({
    listeners: [{
      name: 'tn3270', port: 3270, closeListenSocket: false, backends: [{ name: 'gw1', host: '127.0.0.1', port: 3271, weight: 5 }],
      dns: [{ name: 'gw.svc.local', type: 'SRV' }],
    }],
    connectTimeout: '1s', idleTimeout: '1h', statusInterval: '1s', ejection: { failures: 5 }, drainTimeout: '10s', closeSpreadTime: '1s',
  })
  const changes = diffConfig(proxy(), after)
  t.doesNotThrow(() => { checkReloadRules(changes, PROXY_RELOAD_RULES) })
  t.match(describeChanges(changes), ['listeners.tn3270.closeListenSocket changed', 'listeners.tn3270.backends.gw1.weight changed', 'listeners.tn3270.backends.gw2 removed', 'listeners.tn3270.dns.gw.svc.local added'])
  for (const [over, key] of [
    [{ listeners: [{ name: 'tn3270', port: 3999, backends: [{ name: 'gw1', host: '127.0.0.1', port: 3271 }] }] }, 'listeners.tn3270.port'],
    [{ listeners: [{ name: 'other', port: 3270, backends: [{ name: 'gw1', host: '127.0.0.1', port: 3271 }] }] }, 'listeners.tn3270'],
    [{ admin: { port: 1 } }, 'admin.port'],
    [{ name: 'p2' }, 'name'],
    [{ log: { level: 'warn' } }, 'log.level'],
  ] as const) {
    t.throws(() => { checkReloadRules(diffConfig(proxy(), proxy(over)), PROXY_RELOAD_RULES) }, { key, code: ErrorCodes.CONFIG_RELOAD, message: /^config reload refused, nothing applied: / }, key)
  }
})
