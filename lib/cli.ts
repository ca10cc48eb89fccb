#!/usr/bin/env node
// `tn3270-lb <demo|gateway|proxy|host-sim|check>` — wiring only (README "Running for real",
// docs/operations.md). Whatever fails before the roles are up is one line on stderr,
// `tn3270-lb: <message>`, and a non-zero exit: 2 for a usage or config mistake, 1 otherwise.
import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ErrorCodes, errorCode, errorMessage, isLbError, lbError } from './errors.js'
import { formatConfig, gatewayConfigSchema, hostSimSchema, loadConfig, proxySchema, readConfigFile, roleOfConfig, type ConfigFormat, type ConfigRole, type ProxyConfig } from './config/index.js'
import { buildInfo, createLogger, createRegistry, type Logger, type Registry } from './observability/index.js'
// The roles are imported when one starts, so help, version, check and usage errors answer fast.

const USAGE = `usage: tn3270-lb <command> [options]

commands:
  demo       host simulators, gateways and a proxy in one process (npm start)
               --base-port P (3270)  --gateways N (2)  --hosts N (2)  --lus N (4)
               --bind ADDR (127.0.0.1)  --set key=value (gateway config, repeatable)
  gateway    --config FILE [--set key=value ...]
  proxy      --config FILE [--set key=value ...]
  host-sim   --config FILE [--set key=value ...]
  check      [gateway|proxy|host-sim] --config FILE [--set key=value ...] [--format yaml|json]
               validate the config and print it with every default filled in (secrets
               redacted); exit 0, or 2 with one line. Without a role it is told from the file.

options:
  -h, --help   this text          --version   the version

Every config key can also come from the environment: TN3270LB_KEEPALIVE__WATCHDOGTIMEOUT=1s.
A non-loopback admin address needs a token: TN3270LB_ADMIN__TOKEN or admin.tokenFile.
Reference: docs/configuration.md, docs/operations.md.`

/** Something SIGHUP re-reads or reopens: the config, TLS certificate files, the audit file. */
interface Reloader {
  name: string
  run: () => unknown
}

interface Running {
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
  /** A proxy worker's status and registry, which its primary collects (lib/proxy/workers.ts). */
  status?: () => unknown
  registry?: Registry
  /** What SIGHUP runs, in order; each one's failure is reported and the next still runs. */
  reloaders: Reloader[]
}

const ROLES = ['gateway', 'proxy', 'host-sim'] as const
type Role = ConfigRole
const DEMO_FLAGS = ['base-port', 'gateways', 'hosts', 'lus', 'bind']
const ROLE_FLAGS = ['config']
const CHECK_FLAGS = ['config', 'format']

const OPTIONS = {
  config: { type: 'string' },
  set: { type: 'string', multiple: true },
  format: { type: 'string' },
  'base-port': { type: 'string' },
  gateways: { type: 'string' },
  hosts: { type: 'string' },
  lus: { type: 'string' },
  bind: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS, allowPositionals: true }>>['values']

const usageError = (message: string) => lbError(ErrorCodes.CLI_USAGE, `${message} (tn3270-lb --help)`)

function parse (argv: string[]): { command: string | undefined, positionals: string[], values: Values } {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    const option = /'(-[^' ]*)/.exec(errorMessage(err))?.[1]
    if (errorCode(err) === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw usageError(`unknown option ${option ?? ''}`.trim())
    if (errorCode(err) === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw usageError(/argument missing/.test(errorMessage(err)) ? `option ${option ?? ''} needs a value` : `option ${option ?? ''} takes no value`)
    }
    throw usageError(errorMessage(err).split('\n')[0]!)
  }
  const [command, ...positionals] = parsed.positionals
  return { command, positionals, values: parsed.values }
}

/** Refuses flags another command owns: one line naming the flag and what this command takes. */
function onlyFlags (command: string, values: Values, allowed: string[], takes: string): void {
  const foreign = [...DEMO_FLAGS, ...ROLE_FLAGS, ...CHECK_FLAGS].filter(f => !allowed.includes(f) && values[f as keyof Values] !== undefined)
  if (foreign.length > 0) {
    const owner = DEMO_FLAGS.includes(foreign[0]!) ? 'demo' : foreign[0] === 'format' ? 'check' : 'gateway, proxy, host-sim and check'
    throw usageError(`${command}: --${foreign[0]!} belongs to ${owner}; ${command} takes ${takes}`)
  }
}

function needConfig (command: string, values: Values): string {
  if (values.config === undefined) throw usageError(`${command}: --config FILE is required`)
  return values.config
}

function loadFor (role: Role, file: string, sets: string[]): unknown {
  const opts = { file, env: process.env, sets }
  if (role === 'gateway') return loadConfig(gatewayConfigSchema, opts)
  return role === 'proxy' ? loadConfig(proxySchema, opts) : loadConfig(hostSimSchema, opts)
}

function check (positionals: string[], values: Values): void {
  onlyFlags('check', values, CHECK_FLAGS, '[gateway|proxy|host-sim] --config FILE [--set key=value] [--format yaml|json]')
  const file = needConfig('check', values)
  const named = positionals[0]
  if (named !== undefined && !(ROLES as readonly string[]).includes(named)) throw usageError(`check: unknown role ${JSON.stringify(named)}; expected gateway, proxy or host-sim`)
  if (positionals.length > 1) throw usageError(`check: unexpected ${JSON.stringify(positionals[1])}`)
  const format = values.format ?? 'yaml'
  if (format !== 'yaml' && format !== 'json') throw usageError(`check: --format ${JSON.stringify(format)}: expected yaml or json`)
  const role = (named as Role | undefined) ?? roleOfConfig(readConfigFile(file))
  const config = loadFor(role, file, values.set ?? [])
  process.stdout.write(formatConfig(config, format as ConfigFormat))
  process.stderr.write(`tn3270-lb: ${file}: valid ${role} config\n`)
}

function intFlag (name: string, text: string | undefined, def: number, min: number, max: number): number {
  if (text === undefined) return def
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw lbError(ErrorCodes.CLI_USAGE, `--${name} = ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`)
  }
  return n
}

/** The demo's admin token: the same environment keys the roles read (admin.token, admin.tokenFile). */
function demoAdminToken (env: NodeJS.ProcessEnv): string | undefined {
  if (env.TN3270LB_ADMIN__TOKEN !== undefined && env.TN3270LB_ADMIN__TOKEN !== '') return env.TN3270LB_ADMIN__TOKEN
  const file = env.TN3270LB_ADMIN__TOKENFILE
  if (file === undefined || file === '') return undefined
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw lbError(ErrorCodes.CONFIG_FILE, `config: TN3270LB_ADMIN__TOKENFILE = ${JSON.stringify(file)}: ${errorMessage(err)}`, err)
  }
}

async function demo (values: Values): Promise<Running> {
  onlyFlags('demo', values, DEMO_FLAGS, '--base-port, --gateways, --hosts, --lus, --bind and --set')
  const adminToken = demoAdminToken(process.env)
  const { startDemo } = await import('./demo.js')
  const d = await startDemo({
    basePort: intFlag('base-port', values['base-port'], 3270, 0, 65000),
    gateways: intFlag('gateways', values.gateways, 2, 1, 50),
    hosts: intFlag('hosts', values.hosts, 2, 1, 26),
    lus: intFlag('lus', values.lus, 4, 1, 999),
    // A printer LU per display LU (docs/printers.md); beyond a PU's 254 local addresses the
    // gateway defines more PUs on the host (docs/hostlink.md "PUs").
    printers: true,
    bind: values.bind ?? '127.0.0.1',
    sets: values.set ?? [],
    ...(adminToken === undefined ? {} : { adminToken }),
    print: line => process.stdout.write(line + '\n'),
  })
  // The demo's configs are generated, so there is nothing to re-read; audit files are reopened.
  return { shutdown: o => d.shutdown(o), reloaders: d.gateways.map(g => ({ name: `${g.name} audit file`, run: () => { g.reopenAuditFile() } })) }
}

async function role (command: Role, values: Values): Promise<Running> {
  onlyFlags(command, values, ROLE_FLAGS, '--config FILE and --set key=value')
  // A reload loads exactly as the start did: the same file, environment and --set values.
  const opts = { file: needConfig(command, values), env: process.env, sets: values.set ?? [] }
  const registry = createRegistry()
  let logger: Logger
  let running: Running & { listening: () => string[] }
  if (command === 'gateway') {
    const config = loadConfig(gatewayConfigSchema, opts)
    logger = createLogger({ level: config.log.level, base: { gateway: config.name } })
    const gw = await (await import('./gateway/index.js')).startGateway(config, { logger, registry, reloadConfig: () => loadConfig(gatewayConfigSchema, opts) })
    running = { shutdown: o => gw.shutdown(o), listening: () => gw.listening(), reloaders: [{ name: 'config', run: () => gw.reload() }, { name: 'TLS certificates', run: () => { gw.reloadCertificates() } }, { name: 'audit file', run: () => { gw.reopenAuditFile() } }] }
  } else if (command === 'proxy') {
    const config = loadConfig(proxySchema, opts)
    const p = await import('./proxy/index.js')
    const index = p.workerIndex()
    if (index === undefined && p.workerCount(config.workers) > 1) {
      // The primary only forks and supervises the workers (docs/operations.md "Workers").
      logger = createLogger({ level: config.log.level, base: { role: 'proxy', worker: 'primary' } })
      const primary = await p.startProxyPrimary({ count: p.workerCount(config.workers), config, logger, registry, reloadConfig: () => loadConfig(proxySchema, opts) })
      running = { shutdown: o => primary.shutdown(o), listening: () => primary.listening(), reloaders: [{ name: 'workers', run: () => { primary.reload() } }] }
    } else {
      const forWorker = (c: ProxyConfig): ProxyConfig => index === undefined ? c : { ...c, admin: { ...c.admin, port: p.workerAdminPort(c.admin.port, index) } }
      logger = createLogger({ level: config.log.level, base: { role: 'proxy', ...(index === undefined ? {} : { worker: index }) } })
      // A worker's series carry its index: the primary's /metrics shows every worker's side by side.
      if (index !== undefined) registry.setDefaultLabels({ worker: String(index) })
      const proxy = await p.startProxy(forWorker(config), { logger, registry, reloadConfig: () => forWorker(loadConfig(proxySchema, opts)) })
      running = { shutdown: o => proxy.shutdown(o), listening: () => proxy.listening(), status: () => proxy.status(), registry, reloaders: [{ name: 'config', run: () => proxy.reload() }, { name: 'TLS certificates', run: () => { proxy.reloadCertificates() } }] }
    }
  } else {
    const config = loadConfig(hostSimSchema, opts)
    logger = createLogger({ level: config.log.level, base: { host: config.name } })
    const sim = await (await import('./hostsim/index.js')).startHostSim(config, { logger, registry })
    running = { shutdown: o => sim.shutdown(o), listening: () => sim.listening(), reloaders: [] }
  }
  // A proxy worker's lines are printed by its primary, once for all workers.
  if (!cluster.isWorker) for (const line of running.listening()) process.stdout.write(line + '\n')
  logger.debug('started')
  return running
}

/** Undefined when the command only printed something (help, version, check). */
async function main (argv: string[]): Promise<(Running & { listening?: () => string[] }) | undefined> {
  const { command, positionals, values } = parse(argv)
  if (values.help === true || command === 'help') {
    process.stdout.write(USAGE + '\n')
    return undefined
  }
  if (values.version === true || command === 'version') {
    process.stdout.write(`tn3270-lb ${buildInfo().version} (node ${buildInfo().node})\n`)
    return undefined
  }
  if (command === undefined) throw usageError('a command is required: demo, gateway, proxy, host-sim or check')
  if (command === 'check') { check(positionals, values); return undefined }
  if (positionals.length > 0) throw usageError(`${command}: unexpected ${JSON.stringify(positionals[0])}`)
  if (command === 'demo') return await demo(values)
  if ((ROLES as readonly string[]).includes(command)) return await role(command as Role, values)
  throw usageError(`unknown command ${JSON.stringify(command)}; expected demo, gateway, proxy, host-sim or check`)
}

/**
 * SIGHUP: every reloader in turn (config, audit file, ...), like HAProxy's and nginx's reload
 * signal. The roles log each outcome themselves; a failure is also one line on stderr, and the
 * process always keeps running with what it had.
 */
async function reload (running: Running): Promise<void> {
  if (running.reloaders.length === 0) process.stderr.write('tn3270-lb: SIGHUP: nothing to reload for this command\n')
  for (const r of running.reloaders) {
    try {
      await r.run()
    } catch (err) {
      process.stderr.write(`tn3270-lb: SIGHUP: ${r.name}: ${errorMessage(err).split('\n')[0]!}\n`)
    }
  }
}

/** SIGTERM/SIGINT: drain; a second signal stops at once (HAProxy soft stop, docs/operations.md). */
function handleSignals (running: Running): void {
  // One reload at a time; a SIGHUP during one runs once more after it.
  let reloading: Promise<void> = Promise.resolve()
  process.on('SIGHUP', () => { reloading = reloading.then(() => reload(running)) })
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
      process.stderr.write(`tn3270-lb: shutdown failed: ${errorMessage(err)}\n`)
      process.exit(1)
    })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}

/** Usage and config mistakes exit 2 (what the operator typed); anything else that stopped the start, 1. */
function exitStatus (err: unknown): number {
  if (isLbError(err, ErrorCodes.CLI_USAGE)) return 2
  const code = errorCode(err) ?? ''
  return code.startsWith('TN3270LB_ERR_CONFIG_') || code === ErrorCodes.ADMIN_TOKEN_REQUIRED ? 2 : 1
}

/** A proxy worker follows its primary (lib/proxy/workers.ts), which has the signals. */
function serveWorker (running: Running & { listening?: () => string[] }): void {
  void import('./proxy/index.js').then(p => p.serveAsWorker({ listening: running.listening ?? (() => []), shutdown: running.shutdown, reload: () => reload(running), status: running.status ?? (() => ({})), registry: running.registry ?? createRegistry() }))
}

main(process.argv.slice(2)).then(running => {
  if (running === undefined) return
  if (cluster.isWorker) serveWorker(running)
  else handleSignals(running)
}, (err: unknown) => {
  // One line, never a stack: the message names the key, port or file (TN3270LB_DEBUG=1 adds the stack).
  const line = errorMessage(err).split('\n')[0]!.trim()
  process.stderr.write(`tn3270-lb: ${line}\n`)
  if (process.env.TN3270LB_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`)
  // exit now: a role that failed half-way may still hold sockets or timers.
  process.exit(exitStatus(err))
})
