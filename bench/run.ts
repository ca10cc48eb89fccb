// The bench runner (bench/README.md):
//   npm run bench                       quick mode, every scenario (under five minutes)
//   npm run bench -- --full             the full run
//   npm run bench -- --scenario echo    one scenario (repeatable; with or without --full)
// Each role runs in its own process (bench/topology.ts); every process started is stopped at the
// end, also after a failure or on SIGINT/SIGTERM (bench/procs.ts). One markdown file per run and
// one SVG per scenario go to bench/results/.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { codecScenario } from './codec.js'
import { detectHaproxy } from './haproxy.js'
import { FULL, QUICK, type Mode } from './mode.js'
import { leftoverListeners } from './ports.js'
import { installCleanupHooks, liveProcesses, stopAll } from './procs.js'
import { machineInfo, writeRun, type ScenarioResult } from './report.js'
import { echoScenario } from './scenarios/echo.js'
import { floodScenario } from './scenarios/flood.js'
import { idleScenario } from './scenarios/idle.js'
import { scaleScenario } from './scenarios/scale.js'
import { setupScenario } from './scenarios/setup.js'
import { stalledScenario } from './scenarios/stalled.js'
import { openFileLimit, type RunContext } from './topology.js'

const SCENARIOS: Record<string, { what: string, run: (ctx: RunContext, mode: Mode) => Promise<ScenarioResult> }> = {
  echo: { what: 'ECHO tx/s and front CPU per 1000 tx, our proxy vs HAProxy, K = 1, 16, 128', run: echoScenario },
  setup: { what: 'connect → first screen → close, sessions/s and front CPU per session, C = 1, 8', run: setupScenario },
  idle: { what: 'RSS per idle session: front (ours vs HAProxy) and gateway, stepping N', run: idleScenario },
  scale: { what: 'idle sessions spread over several gateway processes (60,000 over 4 in full mode), memory per gateway', run: scaleScenario },
  flood: { what: 'FLOOD records/s with pacing windows 7 and 63 vs an unpaced server', run: floodScenario },
  stalled: { what: 'gateway memory per stalled client during FLOOD, pacing accounting', run: stalledScenario },
  codec: { what: 'telnet, 3270 and SNA codecs without I/O', run: async () => await codecScenario() },
}

const USAGE = `usage: npm run bench [-- --full] [-- --scenario NAME ...]
  (after npm run build: node dist/bench/run.js [--full] [--scenario NAME ...])

  --full             the full run (default: quick, under five minutes)
  --scenario NAME    run only NAME (repeatable); default: all
  --keep-temp        keep the temp dir (configs and process logs) after a successful run

scenarios:
${Object.entries(SCENARIOS).map(([n, s]) => `  ${n.padEnd(9)} ${s.what}`).join('\n')}`

async function main (): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      full: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      'keep-temp': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help === true) { console.log(USAGE); return 0 }
  const names = (values.scenario ?? Object.keys(SCENARIOS)).flatMap(s => s.split(','))
  const unknown = names.filter(n => !(n in SCENARIOS))
  if (unknown.length > 0) { console.error(`unknown scenario ${unknown.join(', ')}\n\n${USAGE}`); return 2 }

  installCleanupHooks()
  const mode = values.full === true ? FULL : QUICK
  const haproxy = detectHaproxy()
  const started = new Date()
  const machine = machineInfo(haproxy, openFileLimit())
  const tmp = await mkdtemp(path.join(tmpdir(), 'tn3270-bench-'))
  const ctx: RunContext = {
    tmp,
    cli: path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'cli.js'),
    haproxy,
    // BENCH_PROXY_THREADS: our proxy's worker processes and HAProxy's nbthread (default 1).
    proxyThreads: Number(process.env.BENCH_PROXY_THREADS ?? '1'),
    say: line => console.log(line),
  }
  console.log(`# bench, ${mode.name} mode: ${names.join(', ')}\n${machine.join('\n')}\n(temp dir ${tmp})`)
  if (haproxy === undefined) console.log('\n*** HAProxy is not installed (/usr/sbin/haproxy): our numbers are reported alone, without peer ratios. ***\n')

  const results: ScenarioResult[] = []
  const failures: string[] = []
  for (const name of names) {
    console.log(`\n## ${name}`)
    const t0 = Date.now()
    try {
      const r = await SCENARIOS[name]!.run(ctx, mode)
      results.push(r)
      console.log(`${r.body}\n(${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    } catch (err) {
      const msg = err instanceof Error ? (err.stack ?? err.message) : String(err)
      failures.push(`${name}: ${msg.split('\n')[0]}`)
      console.error(`scenario ${name} failed after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${msg}`)
    }
    // A scenario stops what it started; anything still running here is a bench bug.
    const left = liveProcesses()
    if (left.length > 0) {
      console.error(`still running after ${name}: ${left.join(', ')}; stopping`)
      await stopAll()
    }
  }
  await stopAll()
  const leftover = await leftoverListeners()
  const notes: string[] = []
  if (mode.name === 'quick') notes.push('Quick mode: small N, short windows, few rounds; ratios are indicative only. Claims about the goals come from a full run (`npm run bench -- --full`).')
  if (haproxy === undefined) notes.push('HAProxy was not installed: our numbers only, no peer ratios.')
  if (leftover.length > 0) notes.push(`Listeners still open after the run on ports ${leftover.join(', ')} (a bench bug).`)
  const file = await writeRun({ mode: mode.name, started, machine, results, failures, notes })
  console.log(`\nwritten ${file}`)
  if (leftover.length > 0) console.error(`listeners left behind on ports ${leftover.join(', ')}`)
  if (failures.length === 0 && values['keep-temp'] !== true) await rm(tmp, { recursive: true, force: true })
  else console.log(`process logs and configs kept in ${tmp}`)
  return failures.length > 0 || leftover.length > 0 ? 1 : 0
}

main().then(code => { process.exitCode = code }, async (err: unknown) => {
  console.error(err)
  await stopAll()
  process.exitCode = 1
})
