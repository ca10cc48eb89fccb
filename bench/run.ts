// Benchmarks (`npm run bench` = all; `node dist/bench/run.js <scenario>...` = some). Each scenario
// prints its tables and writes bench/results/<date>-<scenario>.md. See bench/README.md.
import { codec } from './codec.js'
import { floodThroughput } from './flood-throughput.js'
import { proxyOverhead } from './proxy-overhead.js'
import { machineInfo } from './report.js'

const scenarios: Record<string, () => Promise<string>> = {
  'proxy-overhead': proxyOverhead,
  'flood-throughput': floodThroughput,
  codec,
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const unknown = args.filter(a => !(a in scenarios))
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`)
    process.exitCode = 2
    return
  }
  const names = args.length > 0 ? args : Object.keys(scenarios)
  console.log(machineInfo())
  for (const name of names) {
    console.log(`\n## ${name}\n`)
    const t0 = Date.now()
    console.log(await scenarios[name]!())
    console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
