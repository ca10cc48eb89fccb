// Checks across gateway config sections (lib/config/references.ts, docs/configuration.md): what
// used to surface only in startGateway is now a config error `tn3270-lb check` reports.
import t from 'tap'
import { gatewayConfigSchema, gatewaySchema, loadConfig, expandLuEntry, genericLuNames } from '../../lib/config/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'

const good = () => ({
  listeners: [{ name: 'tn3270', port: 0, pools: ['HOSTA'] }],
  hosts: [{ name: 'HOSTA', link: { type: 'sna', port: 1 } }, { name: 'ZOS', link: { type: 'tn3270', port: 2 } }],
  pools: [{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001..GW1A004'] }, { name: 'TSO', host: 'ZOS', generic: 2 }],
  appc: { partners: [{ name: 'HOSTA', host: 'HOSTA', modes: [{ name: '#INTER' }] }] },
})

function errorOf (base: unknown): string {
  try { loadConfig(gatewayConfigSchema, { base }) } catch (err) {
    if (isLbError(err, ErrorCodes.CONFIG_INVALID)) return err.message
    throw err
  }
  throw new Error('expected a config error')
}

t.test('a consistent gateway config loads; the sections-only schema ignores references', async t => {
  const c = loadConfig(gatewayConfigSchema, { base: good() })
  t.equal(c.pools[1]!.generic, 2)
  t.doesNotThrow(() => loadConfig(gatewaySchema, { base: { pools: [{ name: 'P', host: 'NOWHERE' }] } }))
})

t.test('a gateway needs a listener and a pool', async t => {
  t.equal(errorOf({}), 'config: listeners = nothing: expected at least one listener (a gateway serves clients only on its listeners)')
  t.equal(errorOf({ ...good(), pools: [] }), 'config: pools = []: expected at least one pool of LUs for the listeners to serve')
})

t.test('names that point nowhere', async t => {
  const c = good()
  c.pools[0]!.host = 'HOSTX'
  t.equal(errorOf(c), 'config: pools.0.host = "HOSTX": expected the name of a configured host (hosts are HOSTA, ZOS)')
  const d = good()
  d.listeners[0]!.pools = ['HOSTA', 'NOPOOL']
  t.equal(errorOf(d), 'config: listeners.0.pools.1 = "NOPOOL": expected the name of a configured pool (pools are HOSTA, TSO)')
  const e = { ...good(), hosts: [] }
  t.match(errorOf(e), /pools\.0\.host = "HOSTA": expected the name of a configured host \(none is configured\)/)
})

t.test('APPC partners ride sna links only', async t => {
  const c = good()
  c.appc.partners[0]!.host = 'ZOS'
  t.equal(errorOf(c), 'config: appc.partners.0.host = "ZOS": expected a host with an sna link: LU 6.2 sessions need SNA, and ZOS is reached over tn3270')
  const d = good()
  d.appc.partners[0]!.host = 'NOHOST'
  t.match(errorOf(d), /^config: appc\.partners\.0\.host = "NOHOST": expected the name of a configured host/)
})

t.test('duplicate names', async t => {
  const c = good()
  c.listeners.push({ name: 'tn3270', port: 0, pools: ['HOSTA'] })
  t.match(errorOf(c), /^config: listeners\.1\.name = "tn3270": expected a listener name not used elsewhere/)
  const d = good()
  d.hosts.push({ name: 'HOSTA', link: { type: 'sna', port: 3 } })
  t.match(errorOf(d), /^config: hosts\.2\.name = "HOSTA": expected a host name not used elsewhere/)
  const e = good()
  e.pools.push({ name: 'TSO', host: 'ZOS', generic: 1 })
  t.match(errorOf(e), /^config: pools\.2\.name = "TSO": expected a pool name not used elsewhere/)
})

t.test('LU names: valid, unique across pools, disjoint from pool names (RFC 2355 §7.1)', async t => {
  const c = good()
  c.pools[0]!.lus = ['GW1A001..GW1A004', 'gw1a003']
  t.match(errorOf(c), /^config: pools\.0\.lus = .*: LU GW1A003 is listed twice$/)
  const d = good()
  d.pools.push({ name: 'HOSTB', host: 'HOSTA', lus: ['GW1A004'] })
  t.match(errorOf(d), /^config: pools\.2\.lus = \["GW1A004"\]: LU GW1A004 is also in pool HOSTA$/)
  const e = good()
  e.pools[0]!.lus = ['TSO']
  t.match(errorOf(e), /LU TSO has the name of a pool/)
  const f = good()
  f.pools[0]!.lus = ['GW1A001..GW1B004']
  t.equal(errorOf(f), 'config: pools.0.lus.0 = "GW1A001..GW1B004": expected an LU name (1-8 of A-Z 0-9 @ # $, not starting with a digit) or a range like GW1A001..GW1A032')
  const g = good()
  g.pools[0]!.lus = ['GATEWAY1A001']
  t.match(errorOf(g), /pools\.0\.lus\.0 = "GATEWAY1A001": expected an LU name/)
})

t.test('appc.apiToken is retired: admin.token guards /v1/appc; the error says so', async t => {
  t.equal(errorOf({ ...good(), admin: { token: 'a' }, appc: { apiToken: 'a', partners: [] } }),
    'config: appc.apiToken: retired: admin.token guards every state-changing admin request, /v1/appc included; remove the key')
})

t.test('LU entry grammar', async t => {
  t.same(expandLuEntry('gw1a001..gw1a003'), ['GW1A001', 'GW1A002', 'GW1A003'])
  t.same(expandLuEntry('G10A1..G10A2'), ['G10A1', 'G10A2'])
  t.same(expandLuEntry('LU$01'), ['LU$01'])
  for (const bad of ['1ABC', 'A..B', 'A1..B2', 'A01..A1', 'A3..A1', 'A1..A2..A3', 'ABCDEFGH1..ABCDEFGH2', 'A00000..A10000']) {
    t.equal(expandLuEntry(bad), undefined, bad)
  }
  t.equal(expandLuEntry('A0000..A9999')!.length, 10_000)
  t.same(genericLuNames('TSOPOOL1', 2), ['TSOPO001', 'TSOPO002'])
})
