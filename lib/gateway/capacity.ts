// Capacity held by connections still negotiating, as a matching problem. A connection accepted on
// a listener (CloseListenSocket, KB Q101235) is promised *an* LU from one of that listener's pools,
// not a particular pool: what it will ask for is not known until its device request. So the
// promises are kept as demands on sets of pools, and a question ("can one more connection be
// accepted here?", "may this LU be handed out?") is answered by whether every promise can still be
// met by a distinct free LU — a bipartite matching, computed as a maximum flow (Ford–Fulkerson with
// breadth-first augmenting paths) over listeners' pool sets and pools. Pure; the sizes are tiny (a
// few listeners, a few pools), so the graph is rebuilt for each question.

/** Connections waiting on one listener: `count` of them, each to get an LU from any of `pools`. */
export interface Demand { pools: readonly string[], count: number }

/** Free LUs per pool name. */
export type FreeLus = ReadonlyMap<string, number>

/**
 * How many more connections on `pools` could be promised an LU without breaking a promise that can
 * be kept now (promises no free LU can meet, e.g. after a host link went down, block nothing).
 */
export function extraCapacity (demands: readonly Demand[], free: FreeLus, pools: readonly string[]): number {
  const supply = pools.reduce((n, p) => n + Math.max(0, free.get(p) ?? 0), 0)
  if (supply === 0) return 0
  return maxFlow([...demands, { pools, count: supply }], free) - maxFlow(demands, free)
}

/** Handing out one free LU of `pool` leaves every promise that can be kept now still keepable. */
export function takeKeepsPromises (demands: readonly Demand[], free: FreeLus, pool: string): boolean {
  const n = free.get(pool) ?? 0
  if (n <= 0) return false
  const after = new Map(free)
  after.set(pool, n - 1)
  return maxFlow(demands, after) === maxFlow(demands, free)
}

/** Maximum flow source → demand (count) → pool (unbounded, if listed) → sink (free LUs). */
function maxFlow (demands: readonly Demand[], free: FreeLus): number {
  const pools = [...free.keys()]
  const d = demands.length
  // Nodes: 0 source, 1..d demands, d+1..d+pools pools, last sink.
  const sink = d + pools.length + 1
  const cap: number[][] = Array.from({ length: sink + 1 }, () => new Array<number>(sink + 1).fill(0))
  demands.forEach((dem, i) => {
    cap[0]![i + 1] = dem.count
    for (const p of dem.pools) {
      const j = pools.indexOf(p)
      if (j !== -1) cap[i + 1]![d + 1 + j] = Number.MAX_SAFE_INTEGER
    }
  })
  pools.forEach((p, j) => { cap[d + 1 + j]![sink] = Math.max(0, free.get(p) ?? 0) })
  let flow = 0
  for (;;) {
    const path = augmentingPath(cap, sink)
    if (path === undefined) return flow
    let bottleneck = Number.MAX_SAFE_INTEGER
    for (let v = sink; v !== 0; v = path[v]!) bottleneck = Math.min(bottleneck, cap[path[v]!]![v]!)
    for (let v = sink; v !== 0; v = path[v]!) {
      cap[path[v]!]![v]! -= bottleneck
      cap[v]![path[v]!]! += bottleneck
    }
    flow += bottleneck
  }
}

/** Breadth-first search for a path with room from the source (0) to `sink`: each node's predecessor. */
function augmentingPath (cap: number[][], sink: number): number[] | undefined {
  const prev = new Array<number>(cap.length).fill(-1)
  prev[0] = 0
  const queue = [0]
  while (queue.length > 0) {
    const u = queue.shift()!
    for (let v = 0; v < cap.length; v++) {
      if (prev[v] !== -1 || cap[u]![v]! <= 0) continue
      prev[v] = u
      if (v === sink) return prev
      queue.push(v)
    }
  }
  return undefined
}
