// The TLS, identity and per-client cap keys (lib/config/tls.ts, identity.ts, references.ts;
// docs/configuration.md): defaults, and one clear line for each mistake.
import t from 'tap'
import { gatewayConfigSchema, loadConfig, proxySchema } from '../../lib/config/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'

const gateway = (extra: Record<string, unknown> = {}, listener: Record<string, unknown> = {}) => ({
  listeners: [{ name: 'tn3270', port: 0, pools: ['HOSTA', 'HOSTB'], ...listener }],
  hosts: [{ name: 'HOSTA', link: { type: 'sna', port: 1 } }],
  pools: [{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001..GW1A004'] }, { name: 'HOSTB', host: 'HOSTA', lus: ['GW1B001'] }],
  ...extra,
})

function errorOf (load: () => unknown): string {
  try { load() } catch (err) {
    if (isLbError(err, ErrorCodes.CONFIG_INVALID)) return err.message
    throw err
  }
  throw new Error('expected a config error')
}
const gwError = (base: unknown): string => errorOf(() => loadConfig(gatewayConfigSchema, { base }))

t.test('listener tls: defaults', async t => {
  const c = loadConfig(gatewayConfigSchema, { base: gateway({}, { tls: { mode: 'starttls', cert: '/c.pem', key: '/c.key' } }) })
  t.same(c.listeners[0]!.tls, { mode: 'starttls', allowPlain: false, cert: '/c.pem', key: '/c.key', clientAuth: 'none', minVersion: 'TLSv1.2', handshakeTimeout: 10_000, clientHelloWait: 200 })
  t.equal(c.maxSessionsPerClient, 2000)
  t.equal(c.negotiation.maxPendingPerClient, 16)
  t.same(c.identity, { rules: [] })
  const p = loadConfig(proxySchema, { base: { listeners: [{ name: 'x', port: 0, backends: [{ name: 'g', host: 'h', port: 1 }] }] } })
  t.equal(p.maxPendingPerClient, 8)
  t.equal(p.maxSessionsPerClient, 2000)
  t.equal(p.listeners[0]!.tls, undefined)
  t.equal(p.listeners[0]!.backendTls, undefined)
})

t.test('listener tls: mistakes', async t => {
  t.equal(gwError(gateway({}, { tls: { mode: 'direct', cert: 'c', key: 'k', clientAuth: 'require' } })), 'config: listeners.0.tls.ca = nothing: required with clientAuth require: the CAs client certificates must chain to')
  t.equal(gwError(gateway({}, { tls: { mode: 'direct', cert: 'c', key: 'k', allowPlain: true } })), 'config: listeners.0.tls.allowPlain = true: expected false with mode direct (a direct TLS listener has no plain clients); use optional')
  t.match(gwError(gateway({}, { tls: { mode: 'implicit', cert: 'c', key: 'k' } })), /^config: listeners\.0\.tls\.mode = "implicit": /)
  t.match(gwError(gateway({}, { tls: { mode: 'direct', cert: 'c', key: 'k', minVersion: 'TLSv1.1' } })), /^config: listeners\.0\.tls\.minVersion = "TLSv1\.1": /)
  t.match(gwError(gateway({}, { tls: { mode: 'direct', key: 'k' } })), /^config: listeners\.0\.tls\.cert = nothing/)
  t.match(errorOf(() => loadConfig(proxySchema, { base: { listeners: [{ name: 'x', port: 0, backends: [{ name: 'g', host: 'h', port: 1, tls: { ca: 'x', verify: false } }] }] } })), /^config: listeners\.0\.backends\.0\.tls/)
})

t.test('identity: rules name configured pools and LUs', async t => {
  const ok = loadConfig(gatewayConfigSchema, { base: gateway({ identity: { rules: [{ name: 'tellers', certificate: { cn: 'teller-*' }, pools: ['HOSTB'], lus: ['GW1A001..GW1A002'], defaultPool: 'HOSTB' }], default: { pools: ['HOSTA'] } } }) })
  t.match(ok.identity, { rules: [{ name: 'tellers', addresses: [], pools: ['HOSTB'], lus: ['GW1A001..GW1A002'] }], default: { pools: ['HOSTA'], lus: [] } })
  const rule = (r: Record<string, unknown>) => gateway({ identity: { rules: [{ name: 'r', addresses: ['10.0.0.0/8'], ...r }] } })
  t.equal(gwError(rule({ pools: ['NOPE'] })), 'config: identity.rules.0.pools.0 = "NOPE": expected the name of a configured pool (pools are HOSTA, HOSTB)')
  t.equal(gwError(rule({ lus: ['GW1A003..GW1A009'] })), 'config: identity.rules.0.lus.0 = "GW1A003..GW1A009": LU GW1A005 is not in any pool')
  t.equal(gwError(rule({ pools: ['HOSTA'], defaultPool: 'HOSTB' })), 'config: identity.rules.0.defaultPool = "HOSTB": expected one of this entry\'s pools')
  t.equal(gwError(gateway({ identity: { default: { pools: ['X'] } } })), 'config: identity.default.pools.0 = "X": expected the name of a configured pool (pools are HOSTA, HOSTB)')
  t.match(gwError(gateway({ identity: { rules: [{ name: 'everyone', pools: ['HOSTA'] }] } })), /^config: identity\.rules\.0\.addresses = nothing: expected addresses or certificate \(a rule for everyone is `identity\.default`\)/)
  t.match(gwError(rule({ certificate: {} })), /expected at least one of subject, cn, san/)
  t.match(gwError(rule({ lus: ['1BAD'] })), /expected an LU name/)
  t.match(gwError(rule({ addresses: ['10.0.0.0/33'] })), /expected a network like 10\.0\.0\.0\/8/)
  t.equal(gwError(gateway({ identity: { rules: [{ name: 'a', addresses: ['10.0.0.0/8'] }, { name: 'a', addresses: ['11.0.0.0/8'] }] } })), 'config: identity.rules.1.name = "a": expected a rule name not used elsewhere')
})
