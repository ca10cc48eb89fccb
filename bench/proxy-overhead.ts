// Scenario proxy-overhead: ECHO transactions straight to a gateway (the baseline) and through the
// front proxy to the same gateway, with K concurrent clients; plus connection setup (connect →
// first DEMO screen) direct and through the proxy. The servers (host simulator, gateway, proxy:
// one `startDemo` process) run on the main thread, the clients in a worker thread.
import { startDemo, type Demo } from '../lib/demo.js'
import { OPTIONAL_HEADER_WAIT_MS } from '../lib/proxy-protocol/index.js'
import { benchLogger, fmt, fmtInt, machineInfo, median, percentile, ratio, runLoad, table, waitFor, writeResult } from './report.js'
import type { EchoResult, SetupResult } from './load-worker.js'

const CONCURRENCY = [1, 8, 32]
const LUS = 72

const ROUNDS = 4

/** Measurement window per path and round; BENCH_WINDOW_MS overrides (longer = steadier, slower). */
function windowMs (): number {
  const env = Number(process.env.BENCH_WINDOW_MS)
  return Number.isFinite(env) && env > 0 ? env : 350
}

type EchoPath = EchoResult['paths'][number]
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

async function demo (sets: string[]): Promise<Demo> {
  const d = await startDemo({ basePort: 0, gateways: 1, hosts: 1, lus: LUS, bind: '127.0.0.1', sets, logger: benchLogger() })
  // The proxy only forwards once a fresh /status says the gateway has a free LU.
  const ok = await waitFor(() => d.proxy.status().backends.some(b => b.eligibility === 'ok'), 10_000)
  if (!ok) throw new Error(`proxy backend not eligible: ${JSON.stringify(d.proxy.status().backends)}`)
  return d
}

/**
 * Between phases: every LU back in the pool, no session left on either side, and a proxy view
 * with room for `need` clients. The proxy balances on the free-LU count of its last /status poll
 * (every 2 s), net of the sessions it placed and ended since; LUs freed by direct clients only
 * show at the next poll. A burst of `need` connections against a view taken while the previous
 * phase's direct clients held their LUs would find the backend "full", and the proxy closes its
 * listener (CloseListenSocket, by design). LUS is large enough that this rarely waits.
 */
async function settle (d: Demo, need: number): Promise<void> {
  const ok = await waitFor(() => {
    const gw = d.gateways[0]!.status()
    const proxyView = d.proxy.status().backends.every(b => (b.freeLus ?? 0) >= need)
    return gw.pools.every(p => p.free === p.total) && gw.sessions.active === 0 && d.proxy.status().sessions.active === 0 && proxyView
  }, 15_000)
  if (!ok) throw new Error(`sessions did not end between phases: gateway ${JSON.stringify(d.gateways[0]!.status().pools)}, proxy ${JSON.stringify(d.proxy.status().backends)}`)
}

export async function proxyOverhead (): Promise<string> {
  const machine = machineInfo()
  const d = await demo([])
  // Direct clients of a listener in PROXY `optional` mode (the demo's) first wait
  // OPTIONAL_HEADER_WAIT_MS for a header that never comes; a second gateway with the header off
  // gives the connection-setup baseline without that wait.
  let plain: Demo | undefined
  try {
    plain = await demo(['listeners.0.proxyProtocol.mode=off'])
    const gwPort = d.gateways[0]!.listenerPort('tn3270')
    const proxyPort = d.proxy.listeners[0]!.port
    const plainPort = plain.gateways[0]!.listenerPort('tn3270')

    const rows: string[][] = []
    const win = windowMs()
    for (const k of CONCURRENCY) {
      await settle(d, k)
      const res = await runLoad<EchoResult>({ kind: 'echo', ports: [gwPort, proxyPort], clients: k, warmupMs: 200, windowMs: win, rounds: ROUNDS })
        .catch((err: Error) => { throw new Error(`echo K=${k}: ${err.message}`) })
      const [direct, proxied] = res.paths as [EchoPath, EchoPath]
      const tps = (p: EchoPath): number => sum(p.windows.map(w => w.transactions)) / (sum(p.windows.map(w => w.elapsedMs)) / 1000)
      const perRound = proxied.windows.map((w, i) => (w.transactions / w.elapsedMs) / (direct.windows[i]!.transactions / direct.windows[i]!.elapsedMs))
      for (const [name, p] of [['direct', direct], ['proxy', proxied]] as const) {
        const isProxy = p === proxied
        rows.push([String(k), name, fmtInt(sum(p.windows.map(w => w.transactions))), fmtInt(tps(p)),
          fmt(percentile(p.latenciesMs, 0.5), 3), fmt(percentile(p.latenciesMs, 0.99), 3),
          isProxy ? ratio(tps(p), tps(direct)) : '1.00×',
          isProxy ? `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}` : '',
          isProxy ? ratio(percentile(p.latenciesMs, 0.5), percentile(direct.latenciesMs, 0.5)) : '1.00×',
          isProxy ? ratio(percentile(p.latenciesMs, 0.99), percentile(direct.latenciesMs, 0.99)) : '1.00×'])
      }
    }
    const echoTable = table(['K clients', 'path', 'transactions', 'tx/s', 'p50 ms', 'p99 ms', 'tx/s vs direct', 'per-round range', 'p50 vs direct', 'p99 vs direct'], rows)

    const n = 10
    await settle(d, 1)
    const setups: Array<[string, SetupResult]> = []
    setups.push(['direct, PROXY header off (baseline)', await runLoad<SetupResult>({ kind: 'setup', port: plainPort, connections: n })])
    setups.push(['through the proxy (backend connect + PROXY v2)', await runLoad<SetupResult>({ kind: 'setup', port: proxyPort, connections: n })])
    await settle(d, 1)
    setups.push(['direct, PROXY header optional (demo default)', await runLoad<SetupResult>({ kind: 'setup', port: gwPort, connections: 5 })])
    const base = median([...setups[0]![1].latenciesMs])
    const setupTable = table(['path', 'connections', 'p50 ms', 'max ms', 'p50 vs baseline'],
      setups.map(([name, r]) => [name, String(r.latenciesMs.length), fmt(median([...r.latenciesMs]), 2), fmt(Math.max(...r.latenciesMs), 2), ratio(median([...r.latenciesMs]), base)]))

    const body = [
      `ECHO transactions (type text + Enter, wait for the \`ECHO: text\` screen), back to back per client. K clients connected straight to the gateway and K through the proxy to the same gateway (1 host, ${LUS} LUs), all connected up front; then ${ROUNDS} rounds of a ${win} ms window per path, alternating (after a 200 ms warm-up each). tx/s = all transactions / all window time; latency percentiles over every transaction. Ratios: proxy / direct in this run; per-round range = min–max of the ${ROUNDS} per-round tx/s ratios (the noise).`,
      '',
      echoTable,
      '',
      `Connection setup: connect → first DEMO screen (TN3270E negotiation, LU allocation, BIND/SDT on the simulated host), sequential connections. "optional" = the demo gateway listener's PROXY mode: a direct client first waits OPTIONAL_HEADER_WAIT_MS (${OPTIONAL_HEADER_WAIT_MS} ms in this build, lib/proxy-protocol/read.ts) for a header that never comes.`,
      '',
      setupTable,
    ].join('\n')
    const file = await writeResult('proxy-overhead', machine, body)
    return `${body}\n\nwritten ${file}`
  } finally {
    await d.shutdown({ immediate: true })
    await plain?.shutdown({ immediate: true })
  }
}
