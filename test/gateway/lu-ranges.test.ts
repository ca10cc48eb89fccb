// The compact LU ownership a gateway reports in /status for the front proxy (docs/routing.md):
// LU names as `FIRST..LAST` ranges, the notation pools are configured with (docs/configuration.md),
// so 60,000 LUs defined as ranges cost a few strings, not 60,000 objects.
import t from 'tap'
import fc from 'fast-check'
import { expandLuEntry } from '../../lib/config/index.js'
import { compactLuNames, expandPools } from '../../lib/gateway/lu-pool.js'
import { gatewaySchema, loadConfig } from '../../lib/config/index.js'
import { startGateway } from '../../lib/gateway/index.js'
import { Registry, silentLogger } from '../../lib/observability/index.js'

t.test('runs of one prefix and digit count going up by one become ranges; the rest stay names', async t => {
  t.same(compactLuNames(['GW1A001', 'GW1A002', 'GW1A003', 'GW1A004']), ['GW1A001..GW1A004'])
  t.same(compactLuNames(['GW1A001']), ['GW1A001'])
  t.same(compactLuNames([]), [])
  t.same(compactLuNames(['TSO', 'CICS', 'LU01', 'LU02']), ['TSO', 'CICS', 'LU01..LU02'])
  t.same(compactLuNames(['LU01', 'LU03', 'LU04']), ['LU01', 'LU03..LU04'], 'a gap starts a new range')
  t.same(compactLuNames(['LU09', 'LU010']), ['LU09', 'LU010'], 'a different digit count is another run')
  t.same(compactLuNames(['LU99', 'LU100']), ['LU99', 'LU100'])
  t.same(compactLuNames(['A01', 'B02']), ['A01', 'B02'], 'another prefix is another run')
  t.same(compactLuNames(['GW12009', 'GW12010']), ['GW12009..GW12010'], 'the longest digit run counts (GW + 12009)')
  t.same(compactLuNames(['LU02', 'LU01']), ['LU02', 'LU01'], 'order is kept, never sorted')
})

t.test('60,000 LUs in ranges report as a handful of entries', async t => {
  const pools = [{ name: 'BIG', host: 'H', generic: 0, lus: Array.from({ length: 6 }, (_, i) => `L${i}00001..L${i}10000`) }]
  const names = expandPools(pools as never).map(d => d.name)
  t.equal(names.length, 60_000)
  const started = process.hrtime.bigint()
  const ranges = compactLuNames(names)
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  t.same(ranges, Array.from({ length: 6 }, (_, i) => `L${i}00001..L${i}10000`))
  t.comment(`compacted 60,000 names in ${ms.toFixed(1)} ms`)
})

t.test('property: expanding the compact form gives back the names, in order', async t => {
  const name = fc.tuple(fc.constantFrom('A', 'LU', 'GW1A', 'X$'), fc.integer({ min: 0, max: 40 }), fc.constantFrom(2, 3))
    .map(([p, n, w]) => `${p}${String(n).padStart(w, '0')}`)
  fc.assert(fc.property(fc.uniqueArray(name, { maxLength: 40 }), names => {
    const back = compactLuNames(names).flatMap(e => expandLuEntry(e) ?? [`bad:${e}`])
    t.same(back, names)
    return true
  }), { numRuns: 300 })
})

t.test('/status: every pool with spare LUs and the LU ranges it owns', async t => {
  const config = loadConfig(gatewaySchema, {
    base: {
      name: 'gw-ranges',
      admin: { host: '127.0.0.1', port: 0 },
      listeners: [{ name: 'main', port: 0, pools: ['P', 'Q'] }],
      hosts: [{ name: 'H', link: { type: 'tn3270', host: '127.0.0.1', port: 1, probeInterval: '1h' } }],
      pools: [
        { name: 'P', host: 'H', lus: [{ name: 'LU01', resource: 'D1' }, { name: 'LU02', resource: 'D2' }, { name: 'TSO', resource: 'D3' }] },
        { name: 'Q', host: 'H', lus: [], generic: 3 },
      ],
    },
  })
  const gw = await startGateway(config, { logger: silentLogger(), registry: new Registry() })
  t.teardown(() => gw.shutdown({ immediate: true }))
  t.match(gw.status().pools, [
    { name: 'P', total: 3, free: 0, unavailable: 3, spare: 0, luRanges: ['LU01..LU02', 'TSO'] },
    { name: 'Q', total: 3, spare: 0, luRanges: ['Q001..Q003'] },
  ])
})
