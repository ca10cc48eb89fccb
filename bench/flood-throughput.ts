// Scenario flood-throughput: `FLOOD n` from DEMO to one client straight at the gateway (SNA
// session-level pacing between the simulated host and the gateway, application credit toward the
// client, TN3270E framing), against a baseline in the same run: a plain Node TCP server that
// writes the same n records (same bytes: TN3270E header + DEMO flood record + IAC EOR) with no
// pacing, only write()/'drain' backpressure. The client (worker thread) is the same code for both.
import { createServer, type AddressInfo, type Server } from 'node:net'
import { startDemo, type Demo } from '../lib/demo.js'
import { floodRecord } from '../lib/hostsim/screens.js'
import { frame } from './client.js'
import { benchLogger, fmt, fmtInt, machineInfo, median, ratio, runLoad, table, waitFor, writeResult } from './report.js'
import type { FloodResult } from './load-worker.js'

const COUNT = 20_000
const ROUNDS = 3

/** The records FLOOD n sends, framed as a TN3270E server puts them on the wire (3270-DATA, seq i). */
export function floodWire (n: number, lu = 'GW1A001'): Buffer[] {
  const ctx = { host: 'HOSTA', lu, rows: 24, cols: 80 }
  const out: Buffer[] = []
  for (let i = 1; i <= n; i++) {
    const header = Buffer.from([0, 0, 0, (i >> 8) & 0xff, i & 0xff])
    out.push(frame(Buffer.concat([header, floodRecord(ctx, i, n)])))
  }
  return out
}

/** Plain TCP server: on the client's first bytes, writes every record, honouring 'drain'. */
async function plainServer (records: Buffer[]): Promise<Server> {
  const server = createServer(socket => {
    socket.setNoDelay(true)
    socket.on('error', () => {})
    socket.once('data', () => {
      let i = 0
      const pump = (): void => {
        while (i < records.length) {
          if (!socket.write(records[i++]!)) { socket.once('drain', pump); return }
        }
      }
      pump()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return server
}

export async function floodThroughput (): Promise<string> {
  const machine = machineInfo()
  const wire = floodWire(COUNT)
  const wireBytes = wire.reduce((n, b) => n + b.length, 0)
  const server = await plainServer(wire)
  let d: Demo | undefined
  try {
    d = await startDemo({ basePort: 0, gateways: 1, hosts: 1, lus: 4, bind: '127.0.0.1', sets: [], logger: benchLogger() })
    const demo = d
    if (!await waitFor(() => demo.proxy.status().backends.some(b => b.eligibility === 'ok'), 10_000)) {
      throw new Error(`proxy backend not eligible: ${JSON.stringify(demo.proxy.status().backends)}`)
    }
    const ports = {
      plain: (server.address() as AddressInfo).port,
      gateway: d.gateways[0]!.listenerPort('tn3270'),
      proxy: d.proxy.listeners[0]!.port,
    }
    const runs: Record<keyof typeof ports, FloodResult[]> = { plain: [], gateway: [], proxy: [] }
    // Interleaved rounds, so drift in machine load hits every path alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of ['plain', 'gateway', 'proxy'] as const) {
        await waitFor(() => demo.gateways[0]!.status().sessions.active === 0, 5000)
        runs[path].push(await runLoad<FloodResult>({ kind: 'flood', port: ports[path], count: COUNT, raw: path === 'plain' }))
      }
    }
    const recPerSec = (rs: FloodResult[]): number => median(rs.map(r => r.records / (r.elapsedMs / 1000)))
    const base = recPerSec(runs.plain)
    const names = { plain: 'plain Node TCP server, no pacing (baseline)', gateway: 'FLOOD via gateway (direct)', proxy: 'FLOOD via proxy → gateway' }
    const rows = (['plain', 'gateway', 'proxy'] as const).map(path => {
      const rs = runs[path]
      const ms = median(rs.map(r => r.elapsedMs))
      const bytes = median(rs.map(r => r.bytes))
      return [names[path], fmtInt(COUNT), fmt(ms, 0), fmtInt(recPerSec(rs)), fmt(bytes / (ms / 1000) / 1e6, 2), ratio(recPerSec(rs), base), rs.map(r => fmt(r.elapsedMs, 0)).join(' / ')]
    })
    const body = [
      `One client, ${fmtInt(COUNT)} records (${fmtInt(wireBytes)} bytes framed for the baseline, about ${Math.round(wireBytes / COUNT)} B per record), median of ${ROUNDS} interleaved rounds; time from the request (Enter on \`FLOOD ${COUNT}\`, or the trigger bytes for the baseline) to the last record received. Ratio: records/s against the plain server in this run.`,
      '',
      table(['path', 'records', 'ms (median)', 'records/s', 'MB/s', 'vs baseline', 'ms per round'], rows),
    ].join('\n')
    const file = await writeResult('flood-throughput', machine, body)
    return `${body}\n\nwritten ${file}`
  } finally {
    await d?.shutdown({ immediate: true })
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
}
