// Client identity → pools and LUs (lib/gateway/identity-map.ts) and what the allocator does with
// it (allocator.ts): first matching rule wins, certificate patterns match verified certificates
// only, and refusals carry the RFC 2355 §7.1.2 reasons docs/operations.md "Client identity" lists.
import t from 'tap'
import { gatewaySchema, loadConfig } from '../../lib/config/index.js'
import { ListenerAllocator, type IdentityRefusal } from '../../lib/gateway/allocator.js'
import { globPattern, IdentityMap, type AllowedResources } from '../../lib/gateway/identity-map.js'
import { expandPools, LuRegistry, type Reservation } from '../../lib/gateway/lu-pool.js'

function identity (raw: Record<string, unknown>): IdentityMap {
  const config = loadConfig(gatewaySchema, { base: { identity: raw } })
  return new IdentityMap(config.identity)
}

const teller = { verified: true, subject: 'CN=teller-01,OU=Tellers,O=Example Bank,C=US', cn: 'teller-01', sans: ['DNS:teller-01.branch.example', 'email:t01@example.com'] }

t.test('rules: first match wins; addresses, subject, CN and SAN patterns; the default', async t => {
  const map = identity({
    rules: [
      { name: 'branch-tellers', addresses: ['10.1.0.0/16'], certificate: { cn: 'teller-*', san: 'DNS:*.branch.example' }, pools: ['TELLERS'], defaultPool: 'TELLERS' },
      { name: 'bank-certs', certificate: { subject: '*,O=Example Bank,C=US' }, pools: ['STAFF', 'TELLERS'], defaultPool: 'TELLERS' },
      { name: 'ops-net', addresses: ['192.0.2.0/24', '::1/128'], pools: ['OPS'], lus: ['OPS001..OPS003', 'CONSOLE'] },
    ],
    default: { pools: ['PUBLIC'] },
  })
  t.match(map.resolve({ address: '10.1.2.3', certificate: teller }), { rule: 'branch-tellers', pools: ['TELLERS'] })
  t.match(map.resolve({ address: '10.9.2.3', certificate: teller }), { rule: 'bank-certs', pools: ['TELLERS', 'STAFF'] }, 'default pool first')
  t.match(map.resolve({ address: '10.1.2.3', certificate: { ...teller, verified: false } }), { rule: 'default' }, 'an unverified certificate matches no certificate rule')
  t.match(map.resolve({ address: '10.1.2.3', certificate: { ...teller, sans: ['DNS:elsewhere.example'] } }), { rule: 'bank-certs' }, 'every pattern must match')
  t.match(map.resolve({ address: '10.1.2.3', certificate: { verified: true, sans: [] } }), { rule: 'default' }, 'a certificate without subject or CN')
  const ops = map.resolve({ address: '::1' })!
  t.equal(ops.rule, 'ops-net')
  t.same([...ops.lus], ['OPS001', 'OPS002', 'OPS003', 'CONSOLE'])
  t.match(map.resolve({ address: '::ffff:192.0.2.9' }), { rule: 'ops-net' }, 'IPv4-mapped addresses match IPv4 networks')
  t.match(map.resolve({ address: '198.51.100.1' }), { rule: 'default', pools: ['PUBLIC'] })
  t.equal(identity({}).resolve({ address: '198.51.100.1' }), undefined, 'no rules, no default: no restriction')
  t.equal(identity({ rules: [{ name: 'x', addresses: ['10.0.0.0/8'], pools: ['A'] }] }).resolve({ address: '11.0.0.1' }), undefined)
})

t.test('glob patterns: * and ?, case-insensitive, everything else literal', async t => {
  t.ok(globPattern('teller-*').test('TELLER-01'))
  t.ok(globPattern('t?ller').test('taller'))
  t.notOk(globPattern('t?ller').test('tller'))
  t.ok(globPattern('CN=a.b(c)+[d]').test('cn=A.B(C)+[D]'))
  t.notOk(globPattern('a.b').test('aXb'), 'a dot is a dot')
  t.notOk(globPattern('teller').test('teller-01'), 'the whole string')
})

function registry (): LuRegistry {
  const pools = [
    { name: 'TELLERS', host: 'H', lus: ['TLR001..TLR002'], generic: 0 },
    { name: 'STAFF', host: 'H', lus: ['STF001'], generic: 0 },
    { name: 'OTHER', host: 'H', lus: ['OTH001'], generic: 0 },
  ]
  const reg = new LuRegistry(expandPools(pools), pools.map(p => ({ name: p.name, host: p.host })))
  for (const lu of reg.all()) reg.activate(lu.name)
  return reg
}

const req = (resourceName?: string) => ({ mode: 'tn3270e' as const, deviceType: 'IBM-3278-2-E', client: '10.1.2.3:1000', ...(resourceName === undefined ? {} : { resourceName }) })
const allowed = (rule: string, pools: string[], lus: string[] = []): AllowedResources => ({ rule, pools, lus: new Set(lus) })

t.test('the allocator hands out only what the rule allows; refusals are INV-NAME or UNSUPPORTED-REQ', async t => {
  const reg = registry()
  const refusals: IdentityRefusal[] = []
  const alloc = (restricted: AllowedResources | undefined, reservation?: Reservation): ListenerAllocator => {
    const a = new ListenerAllocator({ registry: reg, pools: ['OTHER', 'STAFF', 'TELLERS'], ...(reservation === undefined ? {} : { reservation }), sendsBindImage: () => false, onIdentityRefusal: r => { refusals.push(r) } })
    a.restrict(restricted)
    return a
  }
  const tellers = allowed('tellers', ['TELLERS'], ['STF001'])
  const g = alloc(tellers, reg.reserve(['OTHER'])).allocate(req())
  t.match(g, { ok: true, lu: 'TLR001' }, 'generic: the rule\'s default pool, not the listener\'s first pool or the reserved one')
  t.equal(reg.spare('OTHER'), 1, 'the reservation was consumed by the grant: OTHER is not promised to anyone')
  t.match(alloc(tellers).allocate(req('TLR002')), { ok: true, lu: 'TLR002' }, 'an LU of an allowed pool by name')
  t.match(alloc(tellers).allocate(req('STF001')), { ok: true, lu: 'STF001' }, 'a single LU the rule names')
  t.match(alloc(tellers).allocate(req()), { ok: false, reason: 'DEVICE-IN-USE', message: 'no free LU in TELLERS, STF001' }, 'all of its LUs busy')
  t.equal(refusals.length, 0)
  t.match(alloc(tellers).allocate(req('OTH001')), { ok: false, reason: 'INV-NAME', message: 'LU OTH001 is not allowed for this client (identity rule tellers)' })
  t.match(alloc(tellers).allocate(req('OTHER')), { ok: false, reason: 'INV-NAME', message: 'pool OTHER is not allowed for this client (identity rule tellers)' })
  t.match(alloc(tellers).allocate(req('STAFF')), { ok: false, reason: 'INV-NAME' }, 'one LU of a pool is not the pool')
  t.match(alloc(tellers).allocate(req('NOSUCH')), { ok: false, reason: 'INV-NAME', message: /neither an LU nor a pool/ }, 'unknown names read the same to the client')
  t.match(alloc(allowed('nothing-here', ['ELSEWHERE'])).allocate(req()), { ok: false, reason: 'UNSUPPORTED-REQ', message: 'a generic request is not allowed for this client (identity rule nothing-here)' })
  t.same(refusals, [
    { rule: 'tellers', request: 'OTH001', reason: 'INV-NAME' },
    { rule: 'tellers', request: 'OTHER', reason: 'INV-NAME' },
    { rule: 'tellers', request: 'STAFF', reason: 'INV-NAME' },
    { rule: 'nothing-here', request: '(generic)', reason: 'UNSUPPORTED-REQ' },
  ])
  const free = new ListenerAllocator({ registry: registry(), pools: ['OTHER', 'TELLERS'], sendsBindImage: () => false })
  t.match(free.allocate(req()), { ok: true, lu: 'OTH001' }, 'no rule: the listener\'s pools in order, as before')
})
