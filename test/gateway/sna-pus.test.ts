// A host with several PUs (docs/hostlink.md "PUs"): LUs fill PU 1's local addresses 2-255, then
// PU 2's; each PU is its own sna link with its own HELLO, as Microsoft Host Integration Server
// defines a connection per PU ("SNA Formats", GA27-3136: FID2 DAF'/OAF' are local to a PU's link
// station). A real gateway and host simulator, with a TCP relay between them so that one PU's
// link can be cut while the others stay.
import t, { type Test } from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { gatewayConfigSchema, hostSimSchema, loadConfig } from '../../lib/config/index.js'
import { expandPools } from '../../lib/gateway/index.js'
import { puNameOf } from '../../lib/gateway/sna-pu.js'
import { planLus } from '../../lib/gateway/reload-plan.js'
import { startHostSim, type HostSim } from '../../lib/hostsim/index.js'
import { silentLogger } from '../../lib/observability/index.js'
import { startTestGateway } from './gateway-fixture.js'
import { until } from '../helpers/until.js'

t.test('expandPools: LUs without a locaddr go on to PU 2 after address 255 of PU 1', async t => {
  const defs = expandPools([
    { name: 'PA', host: 'H', lus: ['LA001..LA256'], generic: 0 },
    { name: 'PB', host: 'H', lus: [{ name: 'LX', locaddr: 9, pu: 3 }, 'LY'], generic: 0 },
    { name: 'PC', host: 'OTHER', lus: ['LZ'], generic: 0 },
  ])
  const at = (name: string): unknown => { const d = defs.find(x => x.name === name)!; return [d.pu ?? 1, d.locaddr] }
  t.same(at('LA001'), [1, 2], 'the first LU at address 2 of PU 1 (1 is the PU)')
  t.same(at('LA254'), [1, 255], 'the 254th at 255')
  t.same(at('LA255'), [2, 2], 'the 255th at address 2 of PU 2')
  t.same(at('LA256'), [2, 3])
  t.same(at('LX'), [3, 9], 'an explicit PU and address')
  t.same(at('LY'), [3, 10], 'the next LU follows the explicit one')
  t.same(at('LZ'), [1, 2], 'addresses count per host')
  t.notOk('pu' in defs.find(d => d.name === 'LA001')!, 'PU 1 is left implicit, as before several PUs')

  // A reload keeps addresses and skips the held ones on every PU.
  const known = new Map(defs.map(d => [d.name, d]))
  const again = expandPools([{ name: 'PA', host: 'H', lus: ['LA001..LA256', 'LNEW'], generic: 0 }], new Map([...known].filter(([n]) => n !== 'LX' && n !== 'LY')))
  t.same(again.find(d => d.name === 'LNEW'), { name: 'LNEW', pool: 'PA', host: 'H', locaddr: 4, pu: 2 }, 'a new LU takes the next free address on PU 2')
})

t.test('PU names: the gateway name, then P<n> at the end', async t => {
  t.equal(puNameOf('gw1'), 'GW1')
  t.equal(puNameOf('gw1', 1), 'GW1')
  t.equal(puNameOf('gw1', 2), 'GW1P2')
  t.equal(puNameOf('gateway-twelve', 2), 'GATEWAP2', 'cut to 8 characters')
  t.equal(puNameOf('gateway-twelve', 12), 'GATEWP12')
  t.equal(puNameOf('1gw', 3), 'P1GWP3', 'a name starting with a digit gets a P first')
})

t.test('config: `pu` only with `locaddr`', async t => {
  const base = { listeners: [{ name: 'l', port: 0, pools: ['PA'] }], hosts: [{ name: 'H', link: { type: 'sna', port: 1 } }] }
  t.throws(() => loadConfig(gatewayConfigSchema, { base: { ...base, pools: [{ name: 'PA', host: 'H', lus: [{ name: 'LX', pu: 2 }] }] } }),
    /pools\.0\.lus\.0\.pu.*expected `locaddr` with `pu`/)
  const ok = loadConfig(gatewayConfigSchema, { base: { ...base, pools: [{ name: 'PA', host: 'H', lus: [{ name: 'LX', pu: 2, locaddr: 5 }] }] } })
  t.same(ok.pools[0]!.lus, [{ name: 'LX', pu: 2, locaddr: 5 }])
})

t.test('reload: an LU offered on PU 2 comes back only at its own address there', async t => {
  const current = expandPools([{ name: 'PA', host: 'SNA', lus: ['LA001..LA255'], generic: 0 }])
  const offered = new Map(current.map(d => [d.name, { pu: d.pu ?? 1, locaddr: d.locaddr! }]))
  const hosts = new Map([['SNA', { type: 'sna' as const, offered }]])
  const shrunk = current.filter(d => d.name !== 'LA255')
  t.same(planLus({ pools: [{ name: 'PA', host: 'SNA', lus: ['LA001..LA255'], generic: 0 }], hosts, current: shrunk }).find(d => d.name === 'LA255'),
    { name: 'LA255', pool: 'PA', host: 'SNA', locaddr: 2, pu: 2 }, 'back at address 2 of PU 2')
  t.throws(() => planLus({ pools: [{ name: 'PA', host: 'SNA', lus: ['LA001..LA254', { name: 'LA255', locaddr: 2 }], generic: 0 }], hosts, current: shrunk }),
    { message: /LU LA255 was offered with local address 2 on PU 2 on host SNA; it cannot come back with 2$/ })
  t.throws(() => planLus({ pools: [{ name: 'PA', host: 'SNA', lus: ['LA001..LA254', { name: 'LA255', locaddr: 2, pu: 3 }], generic: 0 }], hosts, current }),
    { message: /LU LA255 has local address 2 on PU 2 on its sna link; it cannot change live/ })
})

/** A TCP relay in front of the host's link port; `cut(node)` resets the connection whose HELLO names that PU. */
async function relay (t: Test, port: number): Promise<{ port: number, cut: (node: string) => void }> {
  const pairs: Array<{ node: string | undefined, a: Socket, b: Socket }> = []
  const server = createServer(a => {
    const b = connect(port, '127.0.0.1')
    const pair: { node: string | undefined, a: Socket, b: Socket } = { node: undefined, a, b }
    pairs.push(pair)
    let head = ''
    a.on('data', chunk => {
      // The gateway's HELLO is the first frame (docs/hostlink.md "HELLO"): JSON with its PU name.
      if (pair.node === undefined) pair.node = /"node":"([A-Z0-9@#$]+)"/.exec(head += chunk.toString('latin1'))?.[1]
      b.write(chunk)
    })
    b.on('data', chunk => a.write(chunk))
    a.on('error', () => {}); b.on('error', () => {})
    a.on('close', () => b.destroy()); b.on('close', () => a.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const p of pairs) { p.a.destroy(); p.b.destroy() } server.close() })
  return {
    port: (server.address() as { port: number }).port,
    cut: node => { for (const p of pairs.filter(x => x.node === node && !x.a.destroyed)) p.a.resetAndDestroy() },
  }
}

t.test('three PUs on three links to one host simulator; one PU\'s link down leaves the others serving', async t => {
  const simConfig = loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, defaultApplication: 'DEMO' } })
  const sim: HostSim = await startHostSim(simConfig, { logger: silentLogger() })
  t.teardown(() => sim.close())
  const r = await relay(t, sim.linkAddress.port)
  const gw = await startTestGateway({
    name: 'gw1',
    listeners: [{ name: 'l', host: '127.0.0.1', port: 0, pools: ['PA'] }],
    hosts: [{ name: 'HOSTA', link: { type: 'sna', host: '127.0.0.1', port: r.port, reconnectMin: '50ms', reconnectMax: '100ms' } }],
    pools: [{ name: 'PA', host: 'HOSTA', lus: ['LA001..LA260', { name: 'LX', locaddr: 9, pu: 3 }] }],
  })
  t.teardown(() => gw.close())
  const free = (): number => gw.lus.all().filter(l => l.state === 'free').length
  await until('all 261 LUs free', () => free() === 261, 10_000)
  t.ok(gw.side.up, 'the host is up: every PU active')
  t.equal(await gw.gauge('hostLinkUp', { host: 'HOSTA' }), 1)

  // What each link's HELLO offered, as the host simulator took it.
  const pus = sim.status().pus.map(p => ({ node: p.node, state: p.state, lus: p.lus.length, first: p.lus[0]?.name, address: p.lus[0]?.address }))
  t.same(pus.sort((a, b) => a.node.localeCompare(b.node)), [
    { node: 'GW1', state: 'active', lus: 254, first: 'LA001', address: 2 },
    { node: 'GW1P2', state: 'active', lus: 6, first: 'LA255', address: 2 },
    { node: 'GW1P3', state: 'active', lus: 1, first: 'LX', address: 9 },
  ], 'one PU controller per link, local addresses per PU')
  t.match(gw.gateway.status().hostLinks[0], { pu: 'GW1', puActive: true, pus: [{ name: 'GW1', lus: 254 }, { name: 'GW1P2', lus: 6 }, { name: 'GW1P3', lus: 1 }] })
  t.same(sim.status().link, { ...sim.status().link, gateways: 3, lus: 261 }, 'the host counts three links and 261 LUs')

  r.cut('GW1P2')
  await until('PU 2\'s LUs unavailable', () => free() === 255, 5000)
  t.same(gw.lus.all().filter(l => l.state !== 'free').map(l => l.name), ['LA255', 'LA256', 'LA257', 'LA258', 'LA259', 'LA260'], 'only PU 2\'s LUs went')
  t.match(gw.lus.lu('LA255')!.reason, /host link down/, 'with the link as the reason')
  t.notOk(gw.side.up, 'the host is not up while one PU is down')
  t.equal(await gw.gauge('hostLinkUp', { host: 'HOSTA' }), 0)
  t.match(gw.gateway.status().hostLinks[0], { puActive: false, pus: [{ name: 'GW1', puActive: true }, { name: 'GW1P2', puActive: false }, { name: 'GW1P3', puActive: true }] })

  // The gateway reconnects the PU's link; the host activates it again (ACTPU, ACTLU).
  await until('PU 2 back', () => free() === 261, 10_000)
  await until('host up again', () => gw.side.up, 5000)
  t.pass('PU 2 reconnected and its LUs are free again')
  t.equal(sim.status().pus.filter(p => p.node === 'GW1P2').length, 1, 'one link for PU 2 on the host')
})
