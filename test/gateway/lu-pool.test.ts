// The LU registry's three views of an LU (lib/gateway/lu-pool.ts): the host's activation, the
// operator's enable/disable (runtime API) and a reload's retirement, settled into one state that
// allocation, CloseListenSocket (KB Q101235), /status and metrics go by; and the LU expansion a
// reload uses, which keeps the local address a running LU has.
import t from 'tap'
import { expandPools, LuRegistry } from '../../lib/gateway/index.js'

const pools = [
  { name: 'PA', host: 'H', lus: ['LA001..LA003'], generic: 0 },
  { name: 'PB', host: 'H', lus: ['LB001'], generic: 0 },
]

function registry (): LuRegistry {
  const reg = new LuRegistry(expandPools(pools), pools)
  for (const lu of reg.all()) reg.activate(lu.name)
  return reg
}

const counts = (reg: LuRegistry, pool: string) => reg.counts().find(c => c.name === pool)

t.test('a disabled LU is not handed out and counts as unavailable; its session continues; enable brings it back', async t => {
  const reg = registry()
  let changes = 0
  reg.on('change', () => { changes++ })
  t.equal(reg.setAdmin({ lu: 'la001' }, 'disabled'), 'enabled', 'names are case-insensitive; the previous state is returned')
  t.equal(changes, 1)
  t.match(reg.lu('LA001'), { state: 'unavailable', reason: 'disabled by the operator', admin: 'disabled' })
  t.equal(reg.firstFree('PA')?.name, 'LA002')
  t.equal(reg.spare('PA'), 2)
  t.match(counts(reg, 'PA'), { state: 'enabled', free: 2, unavailable: 1 })
  t.equal(reg.setAdmin({ lu: 'LA001' }, 'disabled'), 'disabled', 'disabling twice changes nothing')
  t.equal(changes, 1)
  // Held, then disabled: in use until released, then unavailable.
  const lease = reg.take(reg.lu('LA002')!)
  reg.setAdmin({ lu: 'LA002' }, 'disabled')
  t.equal(reg.lu('LA002')!.state, 'in_use')
  lease.release()
  t.match(reg.lu('LA002'), { state: 'unavailable', reason: 'disabled by the operator' })
  reg.setAdmin({ lu: 'LA001' }, 'enabled')
  t.equal(reg.lu('LA001')!.state, 'free')
  t.equal(reg.setAdmin({ lu: 'NOPE' }, 'enabled'), undefined)
})

t.test('a disabled pool closes its capacity; the host view still wins when the host takes an LU away', async t => {
  const reg = registry()
  reg.setAdmin({ pool: 'PA' }, 'disabled')
  t.equal(reg.poolState('PA'), 'disabled')
  t.match(counts(reg, 'PA'), { state: 'disabled', free: 0, unavailable: 3 })
  t.match(reg.lu('LA003'), { state: 'unavailable', reason: 'pool PA disabled by the operator' })
  t.equal(reg.reserve(['PA']), undefined, 'a disabled pool promises nothing')
  t.equal(reg.spare('PA'), 0)
  const promise = reg.reserve(['PA', 'PB'])
  t.ok(promise, 'a listener with another pool can still promise an LU')
  promise!.release()
  reg.deactivate('LA003', 'host link down: x')
  t.match(reg.lu('LA003'), { state: 'unavailable', reason: 'host link down: x' })
  reg.setAdmin({ pool: 'pa' }, 'enabled')
  t.match(counts(reg, 'PA'), { state: 'enabled', free: 2, unavailable: 1 })
  reg.activate('LA003')
  t.equal(reg.lu('LA003')!.state, 'free')
  t.equal(reg.setAdmin({ pool: 'NOPE' }, 'disabled'), undefined)
  t.equal(reg.poolState('NOPE'), undefined)
})

t.test('define: new LUs and pools join unavailable, removed ones retire after their session, listed again they stay', async t => {
  const reg = registry()
  const held = reg.take(reg.lu('LA001')!)
  reg.setAdmin({ lu: 'LA002' }, 'disabled')
  const next = [{ name: 'PB', host: 'H', lus: ['LB001', 'LB002'], generic: 0 }, { name: 'PC', host: 'H2', lus: ['LC001'], generic: 0 }]
  reg.define(next, expandPools(next, new Map(reg.all().map(l => [l.name, l.def]))))
  t.same(reg.poolNames().sort(), ['PA', 'PB', 'PC'], 'PA stays while LA001 is held')
  t.match(counts(reg, 'PA'), { state: 'retiring', total: 1, inUse: 1 })
  t.match(reg.lu('LA001'), { admin: 'retiring', state: 'in_use' })
  t.equal(reg.lu('LA002'), undefined, 'a removed LU nobody holds goes at once')
  t.match(reg.lu('LB002'), { state: 'unavailable', reason: 'host link not up' })
  t.equal(reg.lu('LB002')!.def.locaddr, 6, 'a new LU takes the next local address no known LU holds')
  t.equal(reg.lu('LB001')!.def.locaddr, 5, 'a kept LU keeps its local address')
  t.equal(reg.setAdmin({ lu: 'LA001' }, 'disabled'), 'retiring', 'a retiring LU is left alone')
  t.equal(reg.setAdmin({ pool: 'PA' }, 'enabled'), 'retiring')
  held.release()
  t.equal(reg.lu('LA001'), undefined, 'gone once its session ended')
  t.notOk(reg.hasPool('PA'), 'and its pool with it')
  // Retiring, then listed again before its session ended: it stays, enabled.
  const lease = reg.take((reg.activate('LB002'), reg.lu('LB002'))!)
  const without = [{ name: 'PB', host: 'H', lus: ['LB001'], generic: 0 }]
  reg.define(without, expandPools(without))
  t.equal(reg.lu('LB002')!.admin, 'retiring')
  const back = [{ name: 'PB', host: 'H', lus: ['LB001', 'LB002'], generic: 0 }]
  reg.define(back, expandPools(back, new Map(reg.all().map(l => [l.name, l.def]))))
  t.equal(reg.lu('LB002')!.admin, 'enabled')
  lease.release()
  t.equal(reg.lu('LB002')!.state, 'free')
  // A retiring pool listed again comes back too.
  const l2 = reg.take(reg.lu('LB001')!)
  reg.define([], [])
  t.equal(reg.poolState('PB'), 'retiring')
  reg.define(back, expandPools(back, new Map(reg.all().map(l => [l.name, l.def]))))
  t.equal(reg.poolState('PB'), 'enabled')
  l2.release()
})

t.test('expandPools: known LUs keep their local address; explicit ones win; generic names from lib/config', async t => {
  const known = new Map([['K1', { name: 'K1', pool: 'P', host: 'H', locaddr: 9 }], ['K2', { name: 'K2', pool: 'Q', host: 'OTHER', locaddr: 2 }]])
  const defs = expandPools([{ name: 'P', host: 'H', lus: ['N1', 'K1', 'K2', { name: 'E1', locaddr: 20 }, 'N2'], generic: 1 }], known)
  t.same(defs.map(d => [d.name, d.locaddr]), [['N1', 2], ['K1', 9], ['K2', 3], ['E1', 20], ['N2', 21], ['P001', 22]])
})
