import t from 'tap'
import fc from 'fast-check'
import { canServe, chooseBackend, compareBackends, eligibility, nextTransition, type BackendView } from '../../lib/proxy/balancer.js'

const opts = { staleAfter: 10_000 }
const NOW = 100_000

function b (id: string, over: Partial<BackendView> = {}): BackendView {
  return { id, weight: 1, sessions: 0, lastPickedAt: -Infinity, removed: false, ejectedUntil: 0, polled: true, status: { at: NOW - 1000, ready: true, freeLus: 4 }, ...over }
}
const none = new Set<string>()
const pick = (list: BackendView[], tried: Set<string> = none, now = NOW) => chooseBackend(list, tried, now, opts)?.id

t.test('least sessions wins', async t => {
  t.equal(pick([b('a', { sessions: 3 }), b('b', { sessions: 1 }), b('c', { sessions: 2 })]), 'b')
  t.equal(pick([b('a', { sessions: 0 }), b('b', { sessions: 1 })]), 'a')
})

t.test('weights: (sessions + 1) / weight', async t => {
  // a: (0+1)/1 = 1, b: (0+1)/3 = 0.33 → b even at zero sessions
  t.equal(pick([b('a'), b('b', { weight: 3 })]), 'b')
  // a: (1+1)/1 = 2, b: (3+1)/3 = 1.33 → b
  t.equal(pick([b('a', { sessions: 1 }), b('b', { weight: 3, sessions: 3 })]), 'b')
  // a: (1+1)/1 = 2, b: (5+1)/3 = 2 → tie on load, then free LUs
  t.equal(pick([b('a', { sessions: 1, status: { at: NOW, ready: true, freeLus: 2 } }), b('b', { weight: 3, sessions: 5, status: { at: NOW, ready: true, freeLus: 1 } })]), 'a')
  // a: (0+1)/1 = 1, b: (3+1)/3 = 1.33 → a
  t.equal(pick([b('a'), b('b', { weight: 3, sessions: 3 })]), 'a')
  // weight 0 = drain: never picked even when idle
  t.equal(pick([b('a', { weight: 0 }), b('b', { sessions: 50 })]), 'b')
  t.equal(pick([b('a', { weight: 0 })]), undefined)
  t.equal(eligibility(b('a', { weight: 0 }), NOW, opts), 'no_weight')
})

t.test('ties: free LUs, then least recently picked, then id', async t => {
  const s = (free: number) => ({ at: NOW, ready: true, freeLus: free })
  t.equal(pick([b('a', { status: s(1) }), b('b', { status: s(3) })]), 'b', 'more free LUs')
  t.equal(pick([b('a', { lastPickedAt: 50 }), b('b', { lastPickedAt: 40 })]), 'b', 'least recently picked')
  t.equal(pick([b('a', { lastPickedAt: 50 }), b('b')]), 'b', 'never picked before picked')
  t.equal(pick([b('b'), b('a')]), 'a', 'id order when all else equal')
  t.equal(pick([b('a'), b('b')]), 'a', 'independent of input order')
  t.equal(compareBackends(b('a'), b('a')), 0)
  // unpolled backends (no status) compare as 0 free LUs
  t.equal(pick([b('x', { polled: false, status: undefined }), b('y', { status: s(1) })]), 'y')
  t.equal(pick([b('x', { polled: false, status: undefined, lastPickedAt: 1 }), b('y', { polled: false, status: undefined })]), 'y')
})

t.test('round robin emerges among equal backends', async t => {
  const list = [b('a'), b('b'), b('c')]
  const order: string[] = []
  for (let i = 0; i < 6; i++) {
    const chosen = chooseBackend(list, none, NOW + i, opts)!
    order.push(chosen.id)
    list[list.indexOf(chosen)] = { ...chosen, lastPickedAt: NOW + i }
  }
  t.same(order, ['a', 'b', 'c', 'a', 'b', 'c'])
})

t.test('tried backends are skipped', async t => {
  const list = [b('a'), b('b', { sessions: 1 }), b('c', { sessions: 2 })]
  t.equal(pick(list, new Set(['a'])), 'b')
  t.equal(pick(list, new Set(['a', 'b'])), 'c')
  t.equal(pick(list, new Set(['a', 'b', 'c'])), undefined)
})

t.test('free LU and readiness per the latest status', async t => {
  t.equal(eligibility(b('a', { status: { at: NOW, ready: true, freeLus: 0 } }), NOW, opts), 'no_free_lu')
  t.equal(eligibility(b('a', { status: { at: NOW, ready: true, freeLus: -2 } }), NOW, opts), 'no_free_lu')
  t.equal(eligibility(b('a', { status: { at: NOW, ready: false, freeLus: 3 } }), NOW, opts), 'not_ready')
  t.equal(eligibility(b('a', { status: undefined }), NOW, opts), 'no_status')
  t.equal(pick([b('a', { status: { at: NOW, ready: true, freeLus: 0 } }), b('b', { sessions: 9 })]), 'b')
  t.equal(pick([b('a', { status: undefined })]), undefined)
})

t.test('stale status expires', async t => {
  const at = NOW - 5000
  const x = b('a', { status: { at, ready: true, freeLus: 2 } })
  t.equal(eligibility(x, at + 9_999, opts), 'ok', 'fresh just before staleAfter')
  t.equal(eligibility(x, at + 10_000, opts), 'stale', 'stale at staleAfter')
  t.equal(chooseBackend([x], none, at + 10_000, opts), undefined)
  t.equal(canServe([x], at + 9_999, opts), true)
  t.equal(canServe([x], at + 10_000, opts), false)
  // a backend without a status source never goes stale
  const u = b('u', { polled: false, status: undefined })
  t.equal(eligibility(u, NOW * 10, opts), 'ok')
})

t.test('ejection and re-admission', async t => {
  const e = b('a', { ejectedUntil: NOW + 500 })
  t.equal(eligibility(e, NOW, opts), 'ejected')
  t.equal(eligibility(e, NOW + 499, opts), 'ejected')
  t.equal(eligibility(e, NOW + 500, opts), 'ok', 're-admitted when the ejection ends')
  t.equal(pick([e, b('b', { sessions: 10 })]), 'b')
  t.equal(pick([e, b('b', { sessions: 10 })], none, NOW + 500), 'a')
  t.equal(pick([b('a', { ejectedUntil: 0 })]), 'a', 'ejectedUntil 0 = admitted')
})

t.test('removed backends keep nothing new', async t => {
  t.equal(eligibility(b('a', { removed: true }), NOW, opts), 'removed')
  t.equal(pick([b('a', { removed: true }), b('b', { sessions: 3 })]), 'b')
})

t.test('canServe and empty input', async t => {
  t.equal(canServe([], NOW, opts), false)
  t.equal(pick([]), undefined)
  t.equal(canServe([b('a', { weight: 0 }), b('b')], NOW, opts), true)
})

t.test('nextTransition: earliest ejection end or staleness', async t => {
  t.equal(nextTransition([], NOW, opts), undefined)
  t.equal(nextTransition([b('a', { polled: false, status: undefined })], NOW, opts), undefined)
  t.equal(nextTransition([b('a', { status: { at: NOW - 1000, ready: true, freeLus: 1 } })], NOW, opts), NOW + 9000)
  t.equal(nextTransition([b('a', { ejectedUntil: NOW + 300 }), b('b', { status: { at: NOW, ready: true, freeLus: 0 } })], NOW, opts), NOW + 300)
  t.equal(nextTransition([b('a', { ejectedUntil: NOW - 1, status: { at: NOW - 20_000, ready: true, freeLus: 1 } })], NOW, opts), undefined, 'past times ignored')
  t.equal(nextTransition([b('a', { removed: true, ejectedUntil: NOW + 5 })], NOW, opts), undefined)
})

// Properties over random backend sets: the pick is eligible, untried, minimal, order-independent.
const arbBackend = fc.record({
  weight: fc.integer({ min: 0, max: 5 }),
  sessions: fc.integer({ min: 0, max: 6 }),
  lastPickedAt: fc.oneof(fc.constant(-Infinity), fc.integer({ min: 0, max: NOW })),
  removed: fc.boolean(),
  ejectedUntil: fc.oneof(fc.constant(0), fc.integer({ min: NOW - 100, max: NOW + 100 })),
  polled: fc.boolean(),
  status: fc.option(fc.record({ at: fc.integer({ min: NOW - 20_000, max: NOW }), ready: fc.boolean(), freeLus: fc.integer({ min: -1, max: 4 }) }), { nil: undefined }),
})
const arbSet = fc.array(arbBackend, { maxLength: 7 }).map(list => list.map((x, i) => ({ id: `b${i}`, ...x })))

t.test('property: chosen backend is eligible, untried and no other eligible one ranks before it', async t => {
  fc.assert(fc.property(arbSet, fc.array(fc.integer({ min: 0, max: 6 })), (list, triedIdx) => {
    const tried = new Set(triedIdx.map(i => `b${i}`))
    const chosen = chooseBackend(list, tried, NOW, opts)
    const candidates = list.filter(x => !tried.has(x.id) && eligibility(x, NOW, opts) === 'ok')
    if (chosen === undefined) return candidates.length === 0
    if (tried.has(chosen.id) || eligibility(chosen, NOW, opts) !== 'ok') return false
    return candidates.every(c => compareBackends(chosen, c) <= 0)
  }))
  t.pass('property held')
})

t.test('property: result does not depend on input order; canServe iff a pick exists', async t => {
  fc.assert(fc.property(arbSet, fc.integer(), (list, seed) => {
    const shuffled = [...list].sort((x, y) => ((x.id.charCodeAt(1) * seed) % 7) - ((y.id.charCodeAt(1) * seed) % 7))
    const a = chooseBackend(list, none, NOW, opts)?.id
    const c = chooseBackend(shuffled, none, NOW, opts)?.id
    return a === c && canServe(list, NOW, opts) === (a !== undefined)
  }))
  t.pass('property held')
})

t.test('property: trying every backend in turn visits each eligible backend once', async t => {
  fc.assert(fc.property(arbSet, list => {
    const tried = new Set<string>()
    for (;;) {
      const next = chooseBackend(list, tried, NOW, opts)
      if (next === undefined) break
      if (tried.has(next.id)) return false
      tried.add(next.id)
    }
    return tried.size === list.filter(x => eligibility(x, NOW, opts) === 'ok').length
  }))
  t.pass('property held')
})
