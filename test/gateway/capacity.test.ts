// Capacity promised to connections still negotiating (lib/gateway/capacity.ts): promises on sets of
// pools met by distinct free LUs, a bipartite matching. Checked against a brute-force assignment
// for every small case fast-check finds, and on the cases the gateway meets (CloseListenSocket,
// KB Q101235).
import t from 'tap'
import fc from 'fast-check'
import { extraCapacity, takeKeepsPromises, type Demand } from '../../lib/gateway/capacity.js'

const POOLS = ['A', 'B', 'C']

/** Most demands that can be met at once, by trying every assignment (small inputs only). */
function bruteMax (demands: Demand[], free: Map<string, number>): number {
  const units = demands.flatMap(d => Array.from({ length: d.count }, () => d.pools))
  let best = 0
  const left = new Map(free)
  const go = (i: number, met: number): void => {
    if (met + (units.length - i) <= best) return
    if (i === units.length) { best = Math.max(best, met); return }
    for (const p of units[i]!) {
      const n = left.get(p) ?? 0
      if (n > 0) { left.set(p, n - 1); go(i + 1, met + 1); left.set(p, n) }
    }
    go(i + 1, met)
  }
  go(0, 0)
  return best
}

const poolSet = fc.subarray(POOLS, { minLength: 1 })
const demandsArb = fc.array(fc.record({ pools: poolSet, count: fc.integer({ min: 0, max: 3 }) }), { maxLength: 3 })
const freeArb = fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3)).map(([a, b, c]) => new Map([['A', a], ['B', b], ['C', c]]))

t.test('extraCapacity = how many more on a pool set fit without losing a promise that fits now', async () => {
  fc.assert(fc.property(demandsArb, freeArb, poolSet, (demands, free, pools) => {
    const now = bruteMax(demands, free)
    const extra = extraCapacity(demands, free, pools)
    // k more fit iff the best with k more is now + k.
    const fits = (k: number): boolean => bruteMax([...demands, { pools, count: k }], free) === now + k
    return fits(extra) && !fits(extra + 1)
  }), { numRuns: 400 })
})

t.test('takeKeepsPromises = one LU of the pool can go without lowering what can be met', async () => {
  fc.assert(fc.property(demandsArb, freeArb, fc.constantFrom(...POOLS), (demands, free, pool) => {
    const after = new Map(free)
    after.set(pool, (free.get(pool) ?? 0) - 1)
    const expected = (free.get(pool) ?? 0) > 0 && bruteMax(demands, after) === bruteMax(demands, free)
    return takeKeepsPromises(demands, free, pool) === expected
  }), { numRuns: 400 })
})

t.test('the cases the gateway meets', async t => {
  const free = new Map([['HOSTA', 1], ['HOSTB', 1]])
  const both = ['HOSTA', 'HOSTB']
  t.equal(extraCapacity([], free, both), 2)
  t.equal(extraCapacity([{ pools: both, count: 2 }], free, both), 0, 'two connections fill the listener')
  t.ok(takeKeepsPromises([{ pools: both, count: 1 }], free, 'HOSTB'), 'the other connection can still have HOSTA')
  t.notOk(takeKeepsPromises([{ pools: ['HOSTB'], count: 1 }], free, 'HOSTB'), 'a HOSTB-only promise keeps HOSTB')
  t.notOk(takeKeepsPromises([], new Map([['HOSTA', 0]]), 'HOSTA'), 'no free LU, nothing to take')
  t.equal(extraCapacity([{ pools: ['HOSTA'], count: 1 }], new Map([['HOSTA', 0], ['HOSTB', 1]]), ['HOSTB']), 1, 'a promise no LU can meet blocks nobody')
  t.equal(extraCapacity([], new Map([['HOSTA', 1]]), ['NOPE']), 0, 'an unknown pool has no capacity')
})
