import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gatewaySchema, hostSimSchema, loadConfig, parseDuration, parseSize, formatDuration } from '../../lib/config/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-config-'))
const file = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p }

/** Loads and returns the one-line error message, failing the test if loading succeeds. */
function errorOf (fn: () => unknown): string {
  try { fn() } catch (err) {
    if (isLbError(err)) return err.message
    throw err
  }
  throw new Error('expected a config error')
}

t.test('units', async t => {
  t.equal(parseDuration('500ms'), 500)
  t.equal(parseDuration('1s'), 1000)
  t.equal(parseDuration('1.5s'), 1500)
  t.equal(parseDuration('5m'), 300_000)
  t.equal(parseDuration('2h'), 7_200_000)
  t.equal(parseDuration('250'), 250)
  t.equal(parseDuration(42), 42)
  t.equal(parseDuration('5 minutes'), undefined)
  t.equal(parseDuration(-1), undefined)
  t.equal(parseDuration(null), undefined)
  t.equal(parseSize('64KiB'), 65536)
  t.equal(parseSize('1MiB'), 1048576)
  t.equal(parseSize('1GiB'), 1024 ** 3)
  t.equal(parseSize('512B'), 512)
  t.equal(parseSize('4096'), 4096)
  t.equal(parseSize(10), 10)
  t.equal(parseSize(1.5), undefined)
  t.equal(parseSize('64KB'), undefined)
  t.equal(parseSize(true), undefined)
  t.equal(formatDuration(7_200_000), '2h')
  t.equal(formatDuration(120_000), '2m')
  t.equal(formatDuration(3000), '3s')
  t.equal(formatDuration(1500), '1500ms')
  t.equal(formatDuration(0), '0ms')
})

t.test('defaults from an empty gateway config', async t => {
  const c = loadConfig(gatewaySchema, {})
  t.equal(c.keepalive.method, 'timingmark')
  t.equal(c.keepalive.watchdogTimeout, 60_000)
  t.equal(c.keepalive.keepAliveLimit, 3)
  t.equal(c.keepalive.hardClose, false)
  t.equal(c.negotiation.timeout, 10_000)
  t.equal(c.appc.renegLimits, false)
  t.equal(c.appc.retryCnos, true)
  t.equal(c.appc.sesTimeout, 4)
  t.equal(c.pacing.highWaterMark, 65536)
})

t.test('YAML file, env and --set overrides in that order', async t => {
  const p = file('gw.yaml', `
name: gw1
keepalive:
  watchdogTimeout: 30s
listeners:
  - name: main
    port: 3271
    pools: [hosta]
pools:
  - name: HOSTA
    host: HOSTA
    lus: [GW1A001..GW1A004]
hosts:
  - name: HOSTA
    link: { type: sna, port: 3471 }
`)
  const c = loadConfig(gatewaySchema, {
    file: p,
    env: { TN3270LB_KEEPALIVE__KEEPALIVELIMIT: '5', TN3270LB_KEEPALIVE__WATCHDOGTIMEOUT: '20s', OTHER: 'x' },
    sets: ['keepalive.watchdogTimeout=1s', 'keepalive.hardClose=true', 'listeners.0.closeListenSocket=no'],
  })
  t.equal(c.keepalive.watchdogTimeout, 1000, '--set wins over env and file')
  t.equal(c.keepalive.keepAliveLimit, 5, 'env applied')
  t.equal(c.keepalive.hardClose, true)
  t.equal(c.listeners[0].closeListenSocket, false)
  t.same(c.listeners[0].pools, ['HOSTA'], 'SNA names upper-cased')
  t.equal(c.hosts[0].link.type, 'sna')
})

t.test('--set takes YAML flow lists', async t => {
  const c = loadConfig(gatewaySchema, { base: { listeners: [{ name: 'a', port: 1, pools: ['X'] }] }, sets: ['listeners.0.pools=[A, B]'] })
  t.same(c.listeners[0].pools, ['A', 'B'])
})

t.test('one-line errors name key, value and expectation', async t => {
  t.equal(errorOf(() => loadConfig(gatewaySchema, { sets: ['keepalive.watchdogTimeout=soon'] })),
    'config: keepalive.watchdogTimeout = "soon": expected a duration like 500ms, 1s, 5m')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { sets: ['keepalive.method=ping'] })),
    'config: keepalive.method = "ping": expected one of timingmark, nop, none')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { sets: ['keepalive.keepAliveLimit=0'] })),
    'config: keepalive.keepAliveLimit = "0": expected a whole number from 1 to 1000000')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { sets: ['keepalive.hardClose=maybe'] })),
    'config: keepalive.hardClose = "maybe": expected true or false')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: { listeners: [{ name: 'a', port: 1, pools: ['1BAD'] }] } })),
    'config: listeners.0.pools.0 = "1BAD": expected 1-8 characters A-Z 0-9 @ # $, not starting with a digit')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: { listeners: [{ name: 'a', pools: ['A'] }] } })),
    'config: listeners.0.port = nothing: required, expected number')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: { keepalive: { watchdog: '1s' } } })),
    'config: keepalive.watchdog: unknown key')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: { bogus: 1 } })), 'config: bogus: unknown key')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: { hosts: [{ name: 'H', link: { type: 'x25', port: 1 } }] } })),
    'config: hosts.0.link.type = "x25": expected one of sna, tn3270')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: { listeners: [{ name: 'a', port: 1, pools: ['A'], proxyProtocol: { trustedSources: ['10.0.0.0/33'] } }] } })),
    'config: listeners.0.proxyProtocol.trustedSources.0 = "10.0.0.0/33": expected a network like 10.0.0.0/8 or ::1/128')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: { pacing: { highWaterMark: '64KB' } } })),
    'config: pacing.highWaterMark = "64KB": expected a size like 512B, 64KiB, 1MiB')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: [] })), 'config: top level must be a mapping of keys, got []')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { base: { name: 'a'.repeat(0) } })), 'config: name = "": String must contain at least 1 character(s)')
})

t.test('override paths are checked against the schema', async t => {
  t.match(errorOf(() => loadConfig(gatewaySchema, { sets: ['keepalive.ticks=3'] })),
    /^config: --set keepalive.ticks: unknown key "ticks" \(expected one of: method, watchdogTimeout/)
  t.equal(errorOf(() => loadConfig(gatewaySchema, { sets: ['noequals'] })), 'config: --set "noequals": expected key.path=value')
  t.equal(errorOf(() => loadConfig(gatewaySchema, { sets: ['name.deeper=1'] })), 'config: --set name.deeper: "deeper" is not a key that can be set here')
  t.match(errorOf(() => loadConfig(gatewaySchema, { env: { TN3270LB_NOPE: '1' } })), /^config: TN3270LB_NOPE: unknown key "NOPE"/)
  const err = (() => { try { loadConfig(gatewaySchema, { sets: ['x=1'] }) } catch (e) { return e } })()
  t.ok(isLbError(err, ErrorCodes.CONFIG_OVERRIDE))
})

t.test('file errors', async t => {
  t.match(errorOf(() => loadConfig(gatewaySchema, { file: join(dir, 'missing.yaml') })), /^config: cannot read .*missing\.yaml: ENOENT/)
  const bad = file('bad.yaml', 'name: gw1\nlisteners: [\n  - oops: : :\n')
  t.match(errorOf(() => loadConfig(gatewaySchema, { file: bad })), /^config: .*bad\.yaml line \d+: /)
  const empty = file('empty.yaml', '')
  t.equal(loadConfig(gatewaySchema, { file: empty }).name, 'gateway')
})

t.test('host simulator schema', async t => {
  const c = loadConfig(hostSimSchema, { base: { name: 'hosta', link: { port: 3471 } } })
  t.equal(c.name, 'HOSTA')
  t.equal(c.defaultApplication, null)
  t.equal(c.bind.primarySendWindow, 7)
  t.equal(c.restartDelay, 1000)
})
