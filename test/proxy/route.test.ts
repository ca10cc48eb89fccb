// The tn3270e routing choice (lib/proxy/balancer.ts chooseRoute, canServeRoutes; docs/routing.md),
// pure and exhaustive: a pool goes to gateways with a free LU in it, an LU name to its owner, an
// ASSOCIATE (RFC 2355 §7.1) to the owner of the display LU, no name to the listener's default
// pool; weighted least sessions among those (HAProxy `balance leastconn`); a refusal names the
// RFC 2355 §7.1.2 reason that fits.
import t from 'tap'
import fc from 'fast-check'
import { canServeRoutes, chooseRoute, type BackendView, type PoolView, type RouteOptions, type RouteRequest } from '../../lib/proxy/balancer.js'
import { LuNameSet } from '../../lib/proxy/lu-names.js'

const NOW = 100_000
const opts: RouteOptions = { staleAfter: 10_000 }
const none = new Set<string>()

/** A gateway whose listener serves `pools` (name → [free, LU ranges]), in that order. */
function gw (id: string, pools: Record<string, [number, string[]]>, over: Partial<BackendView> = {}): BackendView {
  const views: PoolView[] = Object.entries(pools).map(([name, [free, ranges]]) => {
    const set = new LuNameSet(ranges)
    return { name, free, owns: (lu: string) => set.has(lu) }
  })
  const freeLus = views.reduce((n, p) => n + p.free, 0)
  return { id, weight: 1, sessions: 0, lastPickedAt: -Infinity, removed: false, ejectedUntil: 0, polled: true, status: { at: NOW - 1000, ready: true, freeLus, pools: views }, ...over }
}

/** The demo layout: gateway i owns GW<i>A001..GW<i>A004 in HOSTA and GW<i>B001..GW<i>B004 in HOSTB. */
const demo = (i: number, a: number, b: number, over: Partial<BackendView> = {}): BackendView =>
  gw(`gw${i}`, { HOSTA: [a, [`GW${i}A001..GW${i}A004`]], HOSTB: [b, [`GW${i}B001..GW${i}B004`]] }, over)

const generic: RouteRequest = { kind: 'generic' }
const name = (n: string): RouteRequest => ({ kind: 'name', name: n })
const associate = (lu: string): RouteRequest => ({ kind: 'associate', lu })
const route = (list: BackendView[], req: RouteRequest, o: RouteOptions = opts, tried: Set<string> = none) => chooseRoute(list, req, tried, NOW, o)
const to = (list: BackendView[], req: RouteRequest, o?: RouteOptions, tried?: Set<string>) => {
  const r = route(list, req, o, tried)
  return r.ok ? `${r.backend.id}${r.pool === undefined ? '' : `/${r.pool}`}${r.connect === undefined ? '' : ` connect ${r.connect}`}` : `${r.reason}`
}

t.test('a pool: only gateways with a free LU in it, weighted least sessions among them', async t => {
  // The issue's case: HOSTB is free only on gw2, and gw1 is less loaded.
  t.equal(to([demo(1, 1, 0), demo(2, 0, 1, { sessions: 5 })], name('HOSTB')), 'gw2/HOSTB')
  t.equal(to([demo(1, 1, 0), demo(2, 0, 1, { sessions: 5 })], name('HOSTA')), 'gw1/HOSTA')
  t.equal(to([demo(1, 3, 3, { sessions: 2 }), demo(2, 3, 3, { sessions: 1 })], name('HOSTA')), 'gw2/HOSTA', 'least sessions')
  t.equal(to([demo(1, 3, 3, { sessions: 1, weight: 3 }), demo(2, 3, 3)], name('HOSTA')), 'gw1/HOSTA', '(1+1)/3 < (0+1)/1: weights')
  t.equal(to([demo(1, 1, 4), demo(2, 2, 0)], name('HOSTA')), 'gw2/HOSTA', 'a tie on load: more free LUs in the pool asked for, not in total')
  t.equal(to([demo(1, 1, 1, { lastPickedAt: 5 }), demo(2, 1, 1, { lastPickedAt: 4 })], name('hosta'.toUpperCase())), 'gw2/HOSTA', 'then least recently picked')
  const r = route([demo(1, 1, 0), demo(2, 1, 0)], name('HOSTB'))
  t.same(r, { ok: false, kind: 'pool', reason: 'DEVICE-IN-USE', message: 'no gateway has a free LU in pool HOSTB' }, 'a full pool: DEVICE-IN-USE')
  t.match(route([demo(1, 0, 1)], name('HOSTB'), opts, new Set(['gw1'])), { ok: false, reason: 'DEVICE-IN-USE', message: /no other gateway/ }, 'after a refused try')
})

t.test('an LU name: the gateway that owns it, whatever the balance says', async t => {
  const list = [demo(1, 4, 4), demo(2, 4, 4, { sessions: 30 })]
  t.equal(to(list, name('GW2B003')), 'gw2/HOSTB', 'GW2B003 is gw2\'s though gw2 is far busier')
  t.equal(to(list, name('GW1A004')), 'gw1/HOSTA')
  t.same(route(list, name('GW1A005')), { ok: false, kind: 'unknown', reason: 'INV-NAME', message: 'no gateway serves an LU or pool named GW1A005 here' }, 'outside every range: INV-NAME')
  t.match(route([demo(1, 4, 0), demo(2, 4, 4)], name('GW1B001')), { ok: false, kind: 'lu', reason: 'DEVICE-IN-USE' }, 'its pool has nothing free: the LU is in use')
  t.match(route(list, name('GW1A001'), opts, new Set(['gw1'])), { ok: false, kind: 'lu', reason: 'DEVICE-IN-USE', message: 'no other gateway that owns LU GW1A001 can take it now' })
  // Two gateways in front of the same host LUs (tn3270 links to one z/OS): either owner will do.
  const twin = [gw('x', { P: [1, ['TSO01..TSO09']] }, { sessions: 2 }), gw('y', { P: [1, ['TSO01..TSO09']] })]
  t.equal(to(twin, name('TSO05')), 'y/P')
})

t.test('ASSOCIATE: the gateway that owns the display LU, even with its pools full', async t => {
  const list = [demo(1, 0, 0), demo(2, 4, 4)]
  t.equal(to(list, associate('GW1A002')), 'gw1/HOSTA')
  t.same(route(list, associate('NOSUCH')), { ok: false, kind: 'unknown', reason: 'INV-NAME', message: 'no gateway serves a display LU named NOSUCH here' })
  t.match(route([demo(1, 0, 0, { status: { at: NOW, ready: false, freeLus: 0, pools: demo(1, 0, 0).status!.pools } })], associate('GW1A002')), { ok: false, reason: 'DEVICE-IN-USE' }, 'its owner not ready')
  t.match(route(list, associate('GW1A002'), opts, new Set(['gw1'])), { ok: false, kind: 'associate', reason: 'DEVICE-IN-USE' })
})

t.test('no name: the gateway\'s own default, or the listener\'s default pool (then asked for by name)', async t => {
  t.equal(to([demo(1, 0, 2), demo(2, 1, 0, { sessions: 1 })], generic), 'gw1/HOSTB', 'any pool with room; the request goes as sent')
  const withDefault: RouteOptions = { ...opts, defaultPool: 'HOSTB' }
  t.equal(to([demo(1, 5, 0), demo(2, 0, 1, { sessions: 3 })], generic, withDefault), 'gw2/HOSTB connect HOSTB', 'only HOSTB counts, and the gateway is asked for HOSTB')
  t.same(route([demo(1, 5, 0)], generic, withDefault), { ok: false, kind: 'generic', reason: 'DEVICE-IN-USE', message: 'no gateway has a free LU in pool HOSTB' })
  t.same(route([demo(1, 0, 0)], generic), { ok: false, kind: 'generic', reason: 'DEVICE-IN-USE', message: 'no gateway has a free LU in the pools offered here' })
})

t.test('a listener that offers some pools: others are unknown here, and generic clients are asked into one it offers', async t => {
  const onlyB: RouteOptions = { ...opts, offered: new Set(['HOSTB']) }
  const list = [demo(1, 3, 1), demo(2, 3, 0)]
  t.match(route(list, name('HOSTA'), onlyB), { ok: false, kind: 'unknown', reason: 'INV-NAME' }, 'a pool not offered: INV-NAME')
  t.match(route(list, name('GW1A001'), onlyB), { ok: false, kind: 'unknown', reason: 'INV-NAME' }, 'an LU of a pool not offered')
  t.equal(to(list, name('GW1B002'), onlyB), 'gw1/HOSTB')
  t.equal(to(list, generic, onlyB), 'gw1/HOSTB connect HOSTB', 'generic: the first offered pool with room, by name')
  t.equal(canServeRoutes([demo(1, 3, 0)], NOW, onlyB), false, 'HOSTA free does not open a HOSTB-only listener')
  t.equal(canServeRoutes([demo(1, 3, 0)], NOW, opts), true)
})

t.test('only gateways that may be tried: health, staleness, readiness, weight, discovery', async t => {
  const sick = [
    demo(1, 1, 1, { ejectedUntil: NOW + 1 }),
    demo(2, 1, 1, { status: { at: NOW - 20_000, ready: true, freeLus: 2, pools: demo(2, 1, 1).status!.pools } }),
    demo(3, 1, 1, { status: { at: NOW, ready: false, freeLus: 2, pools: demo(3, 1, 1).status!.pools } }),
    demo(4, 1, 1, { weight: 0 }),
    demo(5, 1, 1, { removed: true }),
  ]
  for (const req of [generic, name('HOSTA'), name('GW1A001'), associate('GW1A001')]) {
    const r = route(sick, req)
    t.notOk(r.ok, `${JSON.stringify(req)}: nobody to try`)
    if (!r.ok) t.equal(r.reason, 'DEVICE-IN-USE', 'known names are busy, not unknown')
  }
  t.equal(canServeRoutes(sick, NOW, opts), false)
  t.equal(to([...sick, demo(6, 1, 0)], name('HOSTA')), 'gw6/HOSTA')
})

t.test('gateways that report no pools (no admin URL, or an older /status) may serve anything', async t => {
  const unpolled: BackendView = { id: 'u', weight: 1, sessions: 4, lastPickedAt: -Infinity, removed: false, ejectedUntil: 0, polled: false }
  const old = gw('o', {}, { status: { at: NOW, ready: true, freeLus: 2 } })
  t.equal(to([unpolled], name('ANYTHING')), 'u', 'an unknown name goes to them as sent')
  t.equal(to([demo(1, 1, 1), unpolled], name('ANYTHING')), 'u')
  t.equal(to([demo(1, 1, 1), unpolled], name('HOSTA')), 'gw1/HOSTA', 'least sessions still decides')
  t.equal(to([demo(1, 1, 1, { sessions: 9 }), unpolled], name('HOSTA')), 'u')
  t.equal(to([old], generic), 'o')
  t.equal(canServeRoutes([unpolled], NOW, opts), true)
  t.equal(canServeRoutes([old], NOW, opts), true)
  t.equal(canServeRoutes([gw('o', {}, { status: { at: NOW, ready: true, freeLus: 0 } })], NOW, opts), false)
  t.equal(canServeRoutes([], NOW, opts), false)
})

// ---- properties over random gateway sets ---------------------------------------------------

const POOLS = ['HOSTA', 'HOSTB', 'HOSTC']
const arbGw = fc.record({
  weight: fc.integer({ min: 0, max: 3 }),
  sessions: fc.integer({ min: 0, max: 5 }),
  lastPickedAt: fc.oneof(fc.constant(-Infinity), fc.integer({ min: 0, max: NOW })),
  removed: fc.boolean(),
  ejectedUntil: fc.oneof(fc.constant(0), fc.constant(NOW + 1)),
  stale: fc.boolean(),
  ready: fc.boolean(),
  pools: fc.subarray(POOLS).chain(ps => fc.tuple(...ps.map(() => fc.integer({ min: 0, max: 2 }))).map(free => ps.map((p, k) => [p, free[k]!] as const))),
})
const arbGws = fc.array(arbGw, { maxLength: 6 }).map(list => list.map((g, i) => gw(`g${i}`, Object.fromEntries(g.pools.map(([p, f]) => [p, [f, [`${p.slice(-1)}${i}01..${p.slice(-1)}${i}09`]]])), {
  weight: g.weight, sessions: g.sessions, lastPickedAt: g.lastPickedAt, removed: g.removed, ejectedUntil: g.ejectedUntil,
})).map((b, i) => list[i]!.stale || !list[i]!.ready ? { ...b, status: { ...b.status!, at: list[i]!.stale ? NOW - 20_000 : b.status!.at, ready: list[i]!.ready } } : b))
const arbReq: fc.Arbitrary<RouteRequest> = fc.oneof(
  fc.constant(generic),
  fc.constantFrom(...POOLS, 'NOPOOL').map(name),
  fc.tuple(fc.constantFrom('A', 'B', 'C'), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 9 })).map(([h, g, n]) => name(`${h}${g}0${n}`)),
  fc.tuple(fc.constantFrom('A', 'B'), fc.integer({ min: 0, max: 6 })).map(([h, g]) => associate(`${h}${g}05`)),
)
const admitted = (b: BackendView): boolean => !b.removed && b.weight > 0 && NOW >= b.ejectedUntil && b.status!.ready && NOW - b.status!.at < opts.staleAfter

t.test('property: a choice is admitted, untried, can serve the request, and none ranks before it', async t => {
  fc.assert(fc.property(arbGws, arbReq, fc.subarray(['g0', 'g1', 'g2']), (list, req, triedIds) => {
    const tried = new Set(triedIds)
    const r = chooseRoute(list, req, tried, NOW, opts)
    const serves = (b: BackendView, pool: string | undefined): boolean => {
      const p = b.status!.pools!.find(x => x.name === pool)
      if (p === undefined) return false
      if (req.kind === 'associate') return p.owns(req.lu)
      if (req.kind === 'generic') return p.free > 0
      return p.free > 0 && (p.name === req.name || p.owns(req.name))
    }
    const able = list.filter(b => !tried.has(b.id) && admitted(b) && b.status!.pools!.some(p => serves(b, p.name)))
    if (!r.ok) return able.length === 0 && (r.reason === 'DEVICE-IN-USE' || r.reason === 'INV-NAME')
    if (tried.has(r.backend.id) || !admitted(r.backend) || !serves(r.backend, r.pool)) return false
    // Weighted least sessions first: no gateway that can serve has a lower (sessions + 1) / weight.
    return able.every(b => (r.backend.sessions + 1) * b.weight <= (b.sessions + 1) * r.backend.weight)
  }), { numRuns: 2000 })
  t.pass('property held')
})

t.test('property: retrying visits each gateway that can serve once, then refuses; INV-NAME only for names nobody reports', async t => {
  fc.assert(fc.property(arbGws, arbReq, (list, req) => {
    const tried = new Set<string>()
    for (;;) {
      const r = chooseRoute(list, req, tried, NOW, opts)
      if (!r.ok) {
        if (r.reason !== 'INV-NAME') return true
        const n = req.kind === 'associate' ? req.lu : req.kind === 'name' ? req.name : ''
        return !list.some(b => b.status!.pools!.some(p => p.name === n || p.owns(n)))
      }
      if (tried.has(r.backend.id)) return false
      tried.add(r.backend.id)
    }
  }), { numRuns: 2000 })
  t.pass('property held')
})

t.test('property: the choice does not depend on the order gateways are listed in', async t => {
  fc.assert(fc.property(arbGws, arbReq, (list, req) => {
    const a = chooseRoute(list, req, none, NOW, opts)
    const b = chooseRoute([...list].reverse(), req, none, NOW, opts)
    return a.ok === b.ok && (!a.ok || (b.ok && a.backend.id === b.backend.id))
  }), { numRuns: 2000 })
  t.pass('property held')
})

t.test('property: the listener is open exactly when some pool it offers could take a generic client', async t => {
  fc.assert(fc.property(arbGws, fc.subarray(POOLS), (list, offered) => {
    const o: RouteOptions = { ...opts, ...(offered.length === 0 ? {} : { offered: new Set(offered) }) }
    return canServeRoutes(list, NOW, o) === chooseRoute(list, generic, none, NOW, o).ok
  }), { numRuns: 2000 })
  t.pass('property held')
})

t.test('printer pools: a generic printer request only goes to a printer pool, a generic display never does (RFC 2355 §7.1; docs/printers.md)', async t => {
  const withPrinters = (id: string, displays: number, printers: number, over: Partial<BackendView> = {}): BackendView => {
    const b = gw(id, { HOSTA: [displays, [`GW${id}A001..GW${id}A004`]] }, over)
    const set = new LuNameSet([`PR${id}A001..PR${id}A004`])
    const pools = [...b.status!.pools!, { name: 'HOSTAPRT', free: printers, owns: (lu: string) => set.has(lu), kind: 'printer' as const }]
    return { ...b, status: { ...b.status!, freeLus: displays + printers, pools } }
  }
  const printer: RouteRequest = { kind: 'generic', device: 'printer' }
  t.equal(to([withPrinters('1', 0, 2), withPrinters('2', 2, 0)], generic), '2/HOSTA', 'a display skips the gateway with only printers free')
  t.equal(to([withPrinters('1', 0, 2), withPrinters('2', 2, 0)], printer), '1/HOSTAPRT', 'a printer skips the gateway with only displays free')
  t.equal(to([withPrinters('1', 3, 0)], printer), 'DEVICE-IN-USE', 'no printer free anywhere')
  t.equal(to([withPrinters('1', 0, 1)], printer, { ...opts, defaultPool: 'HOSTA' }), '1/HOSTAPRT', 'the display default pool does not bind a printer')
  t.equal(to([withPrinters('1', 1, 1), withPrinters('2', 1, 1, { sessions: 3 })], associate('GW2A001')), '2/HOSTA', 'ASSOCIATE goes to the display LU\'s owner')
  t.ok(canServeRoutes([withPrinters('1', 0, 1)], NOW, opts), 'free printers keep the proxy listener open')
})
