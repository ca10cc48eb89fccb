// The listener's ResourceProvider (lib/gateway/allocator.ts) over the LU registry: generic, pool and
// LU requests (RFC 2355 §7.1.1: a resource name is an LU or a pool), and the capacity promised to
// connections still negotiating (CloseListenSocket, KB Q101235).
import t from 'tap'
import { expandPools, LuRegistry, poolDefinitions } from '../../lib/gateway/lu-pool.js'
import { ListenerAllocator } from '../../lib/gateway/allocator.js'
import { ErrorCodes } from '../../lib/errors.js'

function registry (): LuRegistry {
  const pools = [
    { name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001..GW1A002'], generic: 0 },
    { name: 'HOSTB', host: 'HOSTB', lus: ['GW1B001'], generic: 0 },
  ]
  const reg = new LuRegistry(expandPools(pools), pools)
  for (const lu of reg.all()) reg.activate(lu.name)
  return reg
}

const req = (resourceName?: string, extra: Record<string, string> = {}) =>
  ({ mode: 'tn3270e' as const, deviceType: 'IBM-3278-2-E', client: '127.0.0.1:1', ...(resourceName === undefined ? {} : { resourceName }), ...extra })

t.test('expandPools: ranges, explicit entries, generic, local addresses', async t => {
  const defs = expandPools([
    { name: 'P', host: 'H', lus: ['LU008..LU010', { name: 'X1', locaddr: 40 }, 'Y1'], generic: 0 },
    { name: 'G', host: 'H2', lus: [{ name: 'R1', resource: '0010' }], generic: 2 },
  ])
  t.same(defs.map(d => d.name), ['LU008', 'LU009', 'LU010', 'X1', 'Y1', 'R1', 'G001', 'G002'])
  t.same(defs.map(d => d.locaddr), [2, 3, 4, 40, 41, 2, 3, 4], 'consecutive per host from 2, explicit addresses respected')
  t.equal(defs[5].resource, '0010')
  // Bad names, bad ranges and duplicates are config errors now (lib/config, test/config/references.test.ts).
})

t.test('generic, pool and specific requests', async t => {
  const reg = registry()
  const a = new ListenerAllocator({ registry: reg, pools: ['HOSTA', 'HOSTB'], sendsBindImage: p => p === 'HOSTA' })
  const d1 = a.allocate(req())
  t.match(d1, { ok: true, lu: 'GW1A001', bindImage: true })
  const d2 = a.allocate(req('hosta'))
  t.match(d2, { ok: true, lu: 'GW1A002' })
  t.match(a.allocate(req('HOSTA')), { ok: false, reason: 'DEVICE-IN-USE', message: 'no free LU in pool HOSTA' })
  t.match(a.allocate(req()), { ok: true, lu: 'GW1B001', bindImage: false }, 'generic falls through to the next pool')
  t.match(a.allocate(req()), { ok: false, reason: 'DEVICE-IN-USE' })
  t.match(a.allocate(req('GW1A001')), { ok: false, reason: 'DEVICE-IN-USE', message: 'LU GW1A001 is in use' })
  t.match(a.allocate(req('NOSUCH')), { ok: false, reason: 'INV-NAME' })
  // A display with no associated printer: UNSUPPORTED-REQ (RFC 2355 §7.1; docs/printers.md).
  t.match(a.allocate(req(undefined, { associate: 'GW1A001' })), { ok: false, reason: 'UNSUPPORTED-REQ' })
  if (d1.ok) d1.lease.release()
  if (d1.ok) d1.lease.release()
  t.match(a.allocate(req('GW1A001')), { ok: true, lu: 'GW1A001' }, 'released LU can be taken by name')
  t.same(reg.counts().find(c => c.name === 'HOSTA'), { name: 'HOSTA', host: 'HOSTA', kind: 'display', state: 'enabled', total: 2, free: 0, inUse: 2, unavailable: 0 })
})

t.test('a listener only hands out LUs of the pools it serves', async t => {
  const reg = registry()
  const a = new ListenerAllocator({ registry: reg, pools: ['HOSTB'], sendsBindImage: () => true })
  t.match(a.allocate(req('HOSTA')), { ok: false, reason: 'INV-NAME', message: 'pool HOSTA is not served on this listener' })
  t.match(a.allocate(req('GW1A001')), { ok: false, reason: 'INV-NAME' })
})

t.test('unavailable LUs are refused and revoked from their holder', async t => {
  const reg = registry()
  const a = new ListenerAllocator({ registry: reg, pools: ['HOSTA'], sendsBindImage: () => true })
  const revoked: string[] = []
  reg.on('revoked', (lease, reason) => revoked.push(`${lease.lu}:${reason}`))
  const d = a.allocate(req('GW1A001'))
  reg.deactivate('GW1A001', 'host link down')
  reg.deactivate('GW1A002', 'host link down')
  t.same(revoked, ['GW1A001:host link down'])
  t.match(a.allocate(req('GW1A002')), { ok: false, reason: 'DEVICE-IN-USE', message: 'LU GW1A002 is not active (host link down)' })
  if (d.ok) d.lease.release()
  t.equal(reg.lu('GW1A001')?.state, 'unavailable', 'released while down stays unavailable')
  reg.activate('GW1A001')
  t.equal(reg.lu('GW1A001')?.state, 'free')
  reg.activate('GW1A001')
  reg.deactivate('NOPE', 'x')
  t.throws(() => { reg.take(reg.lu('GW1A002')!) }, { code: ErrorCodes.LU_UNAVAILABLE })
})

t.test('reservations: capacity promised at accept is not taken by a later connection', async t => {
  const reg = new LuRegistry(expandPools([{ name: 'P', host: 'H', lus: ['L1'], generic: 0 }]), [{ name: 'P', host: 'H' }])
  reg.activate('L1')
  const first = reg.reserve(['P'])
  t.ok(first?.active)
  t.equal(reg.reserved, 1)
  t.equal(reg.spare('P'), 0)
  t.equal(reg.reserve(['P']), undefined, 'no spare capacity left')
  const late = new ListenerAllocator({ registry: reg, pools: ['P'], sendsBindImage: () => true })
  t.match(late.allocate(req()), { ok: false, reason: 'DEVICE-IN-USE' }, 'unreserved generic request refused')
  t.match(late.allocate(req('L1')), { ok: false, reason: 'DEVICE-IN-USE', message: 'LU L1 is promised to a connection already accepted' })
  t.match(late.allocate(req('P')), { ok: false, reason: 'DEVICE-IN-USE' })
  const early = new ListenerAllocator({ registry: reg, pools: ['P'], reservation: first!, sendsBindImage: () => true })
  t.match(early.allocate(req()), { ok: true, lu: 'L1' })
  t.equal(first!.active, false, 'the reservation was used up by the grant')
  t.equal(reg.reserved, 0)
  t.equal(reg.spare('P'), 0)
  t.equal(reg.spare('NOPE'), 0)
  early.dispose()
  first!.release()
  t.equal(reg.reserved, 0)
})

t.test('a reservation is given back whichever pool the LU comes from, and once', async t => {
  const reg = registry()
  const reserved = reg.reserve(['HOSTA'])
  t.equal(reg.spare('HOSTA'), 1)
  const a = new ListenerAllocator({ registry: reg, pools: ['HOSTA', 'HOSTB'], reservation: reserved!, sendsBindImage: () => true })
  t.match(a.allocate(req('HOSTB')), { ok: true, lu: 'GW1B001' })
  t.equal(reg.spare('HOSTA'), 2, 'reservation given back')
  a.dispose()
  const b = new ListenerAllocator({ registry: reg, pools: ['HOSTA'], reservation: reg.reserve(['HOSTA'])!, sendsBindImage: () => true })
  let changes = 0
  reg.on('change', () => changes++)
  b.dispose()
  b.dispose()
  t.equal(changes, 1, 'one change when the reservation goes back')
  t.equal(reg.spare('HOSTA'), 2, 'dispose returns the reservation once')
})

// The reservation race: connection A (accepted first) and B (accepted second, silent) on a listener
// serving HOSTA and HOSTB with one free LU each. A asks for HOSTB. Before, A's reservation had been
// counted against HOSTA and B's against HOSTB, so A got DEVICE-IN-USE although B could still be
// served from HOSTA. Promises are on the listener's pools as a whole now (capacity.ts).
t.test('reservation race: a silent connection does not make a servable request fail', async t => {
  const pools = [{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001'], generic: 0 }, { name: 'HOSTB', host: 'HOSTB', lus: ['GW1B001'], generic: 0 }]
  const reg = new LuRegistry(expandPools(pools), pools)
  for (const lu of reg.all()) reg.activate(lu.name)
  const listener = ['HOSTA', 'HOSTB']
  const ra = reg.reserve(listener)
  const rb = reg.reserve(listener)
  t.ok(ra !== undefined && rb !== undefined, 'both accepted')
  t.equal(reg.canReserve(listener), false, 'the listener is full: CloseListenSocket closes it')
  const a = new ListenerAllocator({ registry: reg, pools: listener, reservation: ra!, sendsBindImage: () => true })
  t.match(a.allocate(req('HOSTB')), { ok: true, lu: 'GW1B001' }, 'A gets HOSTB')
  const b = new ListenerAllocator({ registry: reg, pools: listener, reservation: rb!, sendsBindImage: () => true })
  t.match(b.allocate(req('HOSTB')), { ok: false, reason: 'DEVICE-IN-USE', message: 'no free LU in pool HOSTB' }, 'HOSTB is really full now')
  t.match(b.allocate(req()), { ok: true, lu: 'GW1A001' }, 'and B is still served generically')
})

t.test('reservations across listeners: a request that would break a promise another listener cannot move is refused', async t => {
  const pools = [{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001'], generic: 0 }, { name: 'HOSTB', host: 'HOSTB', lus: ['GW1B001'], generic: 0 }]
  const reg = new LuRegistry(expandPools(pools), pools)
  for (const lu of reg.all()) reg.activate(lu.name)
  const onlyB = reg.reserve(['HOSTB']) // a connection on a listener that serves HOSTB only
  const both = reg.reserve(['HOSTA', 'HOSTB'])
  const a = new ListenerAllocator({ registry: reg, pools: ['HOSTA', 'HOSTB'], reservation: both!, sendsBindImage: () => true })
  t.match(a.allocate(req('GW1B001')), { ok: false, reason: 'DEVICE-IN-USE', message: 'LU GW1B001 is promised to a connection already accepted' })
  t.match(a.allocate(req()), { ok: true, lu: 'GW1A001' }, 'the generic request takes HOSTA, keeping HOSTB for the HOSTB-only connection')
  onlyB!.release()
  // A promise no free LU can meet (its host went away) blocks nobody.
  const stranded = reg.reserve(['HOSTB'])
  reg.deactivate('GW1B001', 'host link down')
  t.equal(stranded!.active, true)
  reg.activate('GW1B001')
  reg.deactivate('GW1A001', 'host link down')
  t.equal(reg.canReserve(['HOSTA']), false)
  t.equal(reg.canReserve(['HOSTA', 'HOSTB']), false, 'HOSTB\'s one LU is promised')
})

t.test('printer pools: device-type checks, ASSOCIATE, generic by kind, identity rules (RFC 2355 §7.1; docs/printers.md)', async t => {
  const pools = [
    { name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001..GW1A002', 'GW1A009'], generic: 0 },
    { name: 'HOSTAPRT', host: 'HOSTA', kind: 'printer' as const, lus: ['PR1A001..PR1A002'], generic: 0 },
    { name: 'HOSTA3', host: 'HOSTA', kind: 'printer' as const, luType: 'lu3' as const, lus: ['PR3A001'], generic: 0 },
  ]
  const reg = new LuRegistry(expandPools(pools), poolDefinitions(pools), new Map([['GW1A001', 'PR1A001'], ['GW1A002', 'PR3A001'], ['GW1A009', 'NOSUCH']]))
  for (const lu of reg.all()) reg.activate(lu.name)
  const a = () => new ListenerAllocator({ registry: reg, pools: ['HOSTA', 'HOSTAPRT', 'HOSTA3'], sendsBindImage: () => true })
  const printer = (extra: Record<string, string> = {}, mode: 'tn3270e' | 'tn3270' = 'tn3270e') => ({ ...req(undefined, extra), deviceType: 'IBM-3287-1', mode })

  t.same(reg.poolKind('HOSTAPRT'), { kind: 'printer', luType: 'lu1' })
  t.same(reg.poolKind('hosta'), { kind: 'display' })
  t.equal(reg.poolKind('NOPE'), undefined)
  t.equal(reg.printerOf('gw1a001'), 'PR1A001')
  t.match(reg.counts().find(c => c.name === 'HOSTA3'), { kind: 'printer', luType: 'lu3', total: 1 })

  t.match(a().allocate(req()), { ok: true, lu: 'GW1A001' }, 'a generic display never gets a printer')
  const p1 = a().allocate(printer())
  t.match(p1, { ok: true, lu: 'PR1A001', printer: 'lu1' }, 'a generic printer gets a printer LU')
  t.match(a().allocate(printer({ resourceName: 'HOSTA3' })), { ok: true, lu: 'PR3A001', printer: 'lu3' }, 'a printer pool by name')
  t.match(a().allocate(req('PR1A002')), { ok: false, reason: 'TYPE-NAME-ERROR', message: 'PR1A002 is an LU type 1 printer LU, and device type IBM-3278-2-E is a display' })
  t.match(a().allocate(req('HOSTAPRT')), { ok: false, reason: 'TYPE-NAME-ERROR' })
  t.match(a().allocate(printer({ resourceName: 'GW1A002' })), { ok: false, reason: 'TYPE-NAME-ERROR', message: /a display LU/ })
  t.match(a().allocate(printer({ resourceName: 'HOSTA' })), { ok: false, reason: 'TYPE-NAME-ERROR', message: /a display pool/ })
  t.match(a().allocate(printer({ resourceName: 'PR1A002' }, 'tn3270')), { ok: false, reason: 'TYPE-NAME-ERROR', message: /SCS printer needs TN3270E/ }, 'SCS cannot go over plain TN3270')

  t.match(a().allocate(printer({ associate: 'GW1A001' })), { ok: false, reason: 'DEVICE-IN-USE', message: 'LU PR1A001 is in use' })
  if (p1.ok) p1.lease.release()
  t.match(a().allocate(printer({ associate: 'gw1a001' })), { ok: true, lu: 'PR1A001', printer: 'lu1' }, 'ASSOCIATE: the display\'s printer')
  t.match(a().allocate(printer({ associate: 'PR1A002' })), { ok: false, reason: 'INV-ASSOCIATE', message: /is a printer LU/ })
  t.match(a().allocate(printer({ associate: 'HOSTA' })), { ok: false, reason: 'INV-ASSOCIATE', message: /is a pool/ })
  t.match(a().allocate(printer({ associate: 'NOSUCH1' })), { ok: false, reason: 'INV-NAME' })
  t.match(a().allocate(printer({ associate: 'GW1A009' })), { ok: false, reason: 'UNSUPPORTED-REQ', message: /NOSUCH, is not in a pool served/ })
  const onlyDisplays = new ListenerAllocator({ registry: reg, pools: ['HOSTA'], sendsBindImage: () => true })
  t.match(onlyDisplays.allocate(printer({ associate: 'GW1A002' })), { ok: false, reason: 'UNSUPPORTED-REQ', message: /not in a pool served on this listener/ })
  t.match(onlyDisplays.allocate(printer()), { ok: false, reason: 'UNSUPPORTED-REQ', message: /needs a printer pool/ })
  t.match(onlyDisplays.allocate(printer({}, 'tn3270')), { ok: false, reason: 'UNSUPPORTED-REQ', message: /LU type 3 printer pool/ })
  const onlyPrinters = new ListenerAllocator({ registry: reg, pools: ['HOSTAPRT'], sendsBindImage: () => true })
  t.match(onlyPrinters.allocate(req()), { ok: false, reason: 'UNSUPPORTED-REQ', message: /needs a display pool/ })
  t.match(a().allocate(printer({}, 'tn3270')), { ok: false, reason: 'DEVICE-IN-USE', message: 'no free LU in pools HOSTA3' }, 'plain TN3270: LU type 3 pools only, and that one is taken')

  // An identity rule: its printer LUs by name count; another's printer is INV-NAME.
  const refusals: string[] = []
  const r = new ListenerAllocator({ registry: reg, pools: ['HOSTA', 'HOSTAPRT', 'HOSTA3'], sendsBindImage: () => true, onIdentityRefusal: x => refusals.push(`${x.rule}:${x.request}:${x.reason}`) })
  r.restrict({ rule: 'ops', pools: ['HOSTA'], lus: new Set(['PR1A002']) })
  t.match(r.allocate(printer({ associate: 'GW1A002' })), { ok: false, reason: 'INV-NAME', message: /the printer of GW1A002 is not allowed/ })
  t.match(r.allocate(printer()), { ok: true, lu: 'PR1A002' }, 'a generic printer may get the rule\'s own printer LU')
  t.same(refusals, ['ops:GW1A002:INV-NAME'])
})
