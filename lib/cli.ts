#!/usr/bin/env node
// `tn3270-lb <demo|proxy|gateway|host-sim>` — wiring only (ARCHITECTURE §5 Commands).
import { parseArgs } from 'node:util'
import { ErrorCodes, isLbError, lbError } from './errors.js'
import { gatewaySchema, hostSimSchema, loadConfig } from './config/index.js'
import { proxySchema } from './config/proxy.js'
import { createLogger, createRegistry, type Logger } from './observability/index.js'
import { startGateway } from './gateway/index.js'
import { startProxy } from './proxy/index.js'
import { startHostSim } from './hostsim/index.js'
import { startDemo } from './demo.js'

const USAGE = `usage: tn3270-lb <command> [options]

commands:
  demo       host simulators, gateways and a proxy in one process (npm start)
               --base-port P (3270)  --gateways N (2)  --hosts N (2)  --lus N (4)
               --bind ADDR (127.0.0.1)  --set key=value (gateway config, repeatable)
  gateway    --config FILE [--set key=value ...]
  proxy      --config FILE [--set key=value ...]
  host-sim   --config FILE [--set key=value ...]

Every config key can also come from the environment: TN3270LB_KEEPALIVE__WATCHDOGTIMEOUT=1s.`

interface Running { shutdown: (opts?: { immediate?: boolean }) => Promise<void> }

async function main (argv: string[]): Promise<Running> {
  const [command, ...rest] = argv
  const { values } = parseArgs({
    args: rest,
    allowPositionals: false,
    options: {
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      'base-port': { type: 'string' },
      gateways: { type: 'string' },
      hosts: { type: 'string' },
      lus: { type: 'string' },
      bind: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help === true || command === undefined || command === 'help') {
    process.stdout.write(USAGE + '\n')
    process.exit(command === undefined ? 2 : 0)
  }
  const sets = values.set ?? []
  const env = process.env
  const needConfig = (): string => {
    if (values.config === undefined) throw lbError(ErrorCodes.CLI_USAGE, `${command}: --config FILE is required`)
    return values.config
  }
  switch (command) {
    case 'demo':
      return await startDemo({
        basePort: intFlag('base-port', values['base-port'], 3270, 0, 65000),
        gateways: intFlag('gateways', values.gateways, 2, 1, 50),
        hosts: intFlag('hosts', values.hosts, 2, 1, 26),
        lus: intFlag('lus', values.lus, 4, 1, 999),
        bind: values.bind ?? '127.0.0.1',
        sets,
        print: line => process.stdout.write(line + '\n'),
      })
    case 'gateway': {
      const config = loadConfig(gatewaySchema, { file: needConfig(), env, sets })
      const logger = createLogger({ level: config.log.level, base: { gateway: config.name } })
      const gw = await startGateway(config, { logger, registry: createRegistry() })
      printListening(logger, gw.listening())
      return gw
    }
    case 'proxy': {
      const config = loadConfig(proxySchema, { file: needConfig(), env, sets })
      const logger = createLogger({ level: config.log.level, base: { role: 'proxy' } })
      const proxy = await startProxy(config, { logger, registry: createRegistry() })
      printListening(logger, proxy.listening())
      return proxy
    }
    case 'host-sim': {
      const config = loadConfig(hostSimSchema, { file: needConfig(), env, sets })
      const logger = createLogger({ level: config.log.level, base: { host: config.name } })
      const sim = await startHostSim(config, { logger, registry: createRegistry() })
      printListening(logger, sim.listening())
      return sim
    }
    default:
      throw lbError(ErrorCodes.CLI_USAGE, `unknown command ${JSON.stringify(command)}; expected demo, gateway, proxy or host-sim`)
  }
}

function intFlag (name: string, text: string | undefined, def: number, min: number, max: number): number {
  if (text === undefined) return def
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw lbError(ErrorCodes.CLI_USAGE, `--${name} = ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`)
  }
  return n
}

function printListening (logger: Logger, lines: string[]): void {
  for (const line of lines) process.stdout.write(line + '\n')
  logger.debug({ listeners: lines.length }, 'started')
}

/** SIGTERM/SIGINT: drain; a second signal stops at once (issue 4, HAProxy soft stop). */
function handleSignals (running: Running): void {
  let signalled = false
  let forced = false
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      forced = true
      process.stderr.write(`${sig} again: stopping now\n`)
      running.shutdown({ immediate: true }).finally(() => process.exit(1))
      return
    }
    signalled = true
    running.shutdown().then(() => process.exit(forced ? 1 : 0), (err: unknown) => {
      process.stderr.write(`shutdown failed: ${(err as Error).message}\n`)
      process.exit(1)
    })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}

main(process.argv.slice(2)).then(handleSignals, (err: unknown) => {
  if (isLbError(err)) process.stderr.write(`${err.message}\n`)
  else if (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) process.stderr.write(`${err.message}\n${USAGE}\n`)
  else process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`)
  process.exit(2)
})
