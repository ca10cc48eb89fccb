import t from 'tap'
import { FakeClock } from '../helpers/fake-clock.js'
import { ErrorCodes } from '../../lib/errors.js'
import { DnsDiscovery, resolveDnsSource, staticTargets, type Resolver, type SrvRecord } from '../../lib/proxy/discovery.js'
import type { BackendTarget } from '../../lib/proxy/backend.js'
import { captureLogger } from './fake-gateway.js'

function fakeResolver (a: Record<string, string[] | Error>, srv: Record<string, SrvRecord[] | Error> = {}): Resolver & { calls: string[] } {
  const calls: string[] = []
  const answer = <T>(table: Record<string, T | Error>, name: string): Promise<T> => {
    calls.push(name)
    const v = table[name]
    if (v === undefined) return Promise.reject(Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' }))
    return v instanceof Error ? Promise.reject(v) : Promise.resolve(v)
  }
  return { calls, resolve4: (n) => answer(a, n), resolveSrv: (n) => answer(srv, n) }
}

t.test('staticTargets', async t => {
  t.same(staticTargets([{ name: 'gw1', host: 'h', port: 1, adminUrl: 'http://h:2', weight: 3 }]), [{ id: 'gw1', host: 'h', port: 1, adminUrl: 'http://h:2', weight: 3, source: 'static' }])
})

t.test('A records: one backend per address, admin URL from adminPort', async t => {
  const r = fakeResolver({ 'gw.ns.svc': ['10.0.0.2', '10.0.0.1'] })
  const targets = await resolveDnsSource({ name: 'gw.ns.svc', type: 'A', port: 3270, adminPort: 9090, refresh: 1000, weight: 2 }, r)
  t.same(targets, [
    { id: 'gw.ns.svc/10.0.0.1:3270', host: '10.0.0.1', port: 3270, adminUrl: 'http://10.0.0.1:9090', weight: 2, source: 'dns:gw.ns.svc' },
    { id: 'gw.ns.svc/10.0.0.2:3270', host: '10.0.0.2', port: 3270, adminUrl: 'http://10.0.0.2:9090', weight: 2, source: 'dns:gw.ns.svc' },
  ])
  t.same((await resolveDnsSource({ name: '127.0.0.1', type: 'A', port: 1, refresh: 1, weight: 1 }, r)).map(x => x.id), ['127.0.0.1/127.0.0.1:1'], 'an IP literal needs no lookup')
  await t.rejects(resolveDnsSource({ name: 'x', type: 'A', refresh: 1, weight: 1 }, r), { code: ErrorCodes.BACKEND_DISCOVERY, message: /type A needs a port/ })
  await t.rejects(resolveDnsSource({ name: 'missing', type: 'A', port: 1, refresh: 1, weight: 1 }, r), /ENOTFOUND/)
})

t.test('SRV records: targets resolved, record ports, failing targets skipped, IPv6 admin URL', async t => {
  const r = fakeResolver({ 'gw-0.gw.ns.svc': ['10.0.0.5'] }, {
    '_tn3270._tcp.gw.ns.svc': [
      { name: 'gw-0.gw.ns.svc', port: 3270, priority: 0, weight: 50 },
      { name: 'gw-1.gw.ns.svc', port: 3270, priority: 0, weight: 50 },
      { name: 'fd00::7', port: 3271, priority: 0, weight: 50 },
    ],
  })
  const { logger, events } = captureLogger()
  const targets = await resolveDnsSource({ name: '_tn3270._tcp.gw.ns.svc', type: 'SRV', adminPort: 9090, refresh: 1000, weight: 1 }, r, logger)
  t.same(targets.map(x => [x.id, x.adminUrl]), [
    ['_tn3270._tcp.gw.ns.svc/10.0.0.5:3270', 'http://10.0.0.5:9090'],
    ['_tn3270._tcp.gw.ns.svc/fd00::7:3271', 'http://[fd00::7]:9090'],
  ])
  t.match(events('dns_lookup_failed')[0], { target: 'gw-1.gw.ns.svc' })
  const fixed = await resolveDnsSource({ name: '_tn3270._tcp.gw.ns.svc', type: 'SRV', port: 4000, refresh: 1000, weight: 1 }, r)
  t.ok(fixed.every(x => x.port === 4000 && x.adminUrl === undefined), 'a configured port overrides the SRV port')
})

t.test('DnsDiscovery: refreshes, reports changes, keeps the last set on failure, stops', async t => {
  const answers: Record<string, string[] | Error> = { 'gw.test': ['10.0.0.1'] }
  const r = fakeResolver(answers)
  const clock = new FakeClock()
  const { logger, events } = captureLogger()
  const seen: BackendTarget[][] = []
  const d = new DnsDiscovery({ source: { name: 'gw.test', type: 'A', port: 3270, refresh: 5000, weight: 1 }, resolver: r, clock, logger, onTargets: x => seen.push(x) })
  await d.start()
  t.same(seen.map(x => x.map(y => y.host)), [['10.0.0.1']])
  answers['gw.test'] = ['10.0.0.1', '10.0.0.2']
  clock.advance(5000)
  await new Promise(resolve => setImmediate(resolve))
  t.same(seen.map(x => x.map(y => y.host)), [['10.0.0.1'], ['10.0.0.1', '10.0.0.2']])
  t.equal(events('dns_backends').length, 2)
  answers['gw.test'] = new Error('SERVFAIL')
  clock.advance(5000)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(seen.length, 2, 'a failed lookup reports nothing: the previous set stays')
  t.match(events('dns_lookup_failed')[0], { dns: 'gw.test', error: 'SERVFAIL' })
  answers['gw.test'] = ['10.0.0.1', '10.0.0.2']
  clock.advance(5000)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(seen.length, 3)
  t.equal(events('dns_backends').length, 2, 'an unchanged answer is not logged again')
  d.stop()
  t.equal(clock.pending, 0)
  await d.refresh()
  t.equal(seen.length, 3, 'nothing reported after stop')
})
