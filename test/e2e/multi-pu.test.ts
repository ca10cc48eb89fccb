// A host with more LUs than one PU holds (docs/hostlink.md "PUs"): the demo gateway with 300
// display and 300 printer LUs on one host gets three PUs, each its own sna link with local
// addresses 2-255 ("SNA Formats", GA27-3136: FID2 DAF'/OAF' are local to a PU's link station),
// served by one host simulator. Checked end to end: both sides' /status counts, the real s3270 on
// an LU of the second PU reaching DEMO, the real pr3287 on that display's printer on the third PU
// printing DEMO's PRINT (TN3270E ASSOCIATE, RFC 2355 §7.1), and every display LU in session at
// once with the raw TN3270E client.
import t, { type Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { S3270 } from '../helpers/s3270.js'
import { Pr3287 } from '../helpers/pr3287.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'
import { gatewayStatus, hostStatus, pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'

const LUS = 300

interface HostLinkStatus { pu: string, puActive: boolean, pus?: Array<{ name: string, linkUp: boolean, puActive: boolean, lus: number }>, luStates: Record<string, number>, lus: Array<{ name: string, pu?: string, attached: boolean }> }

async function demo (t: Test): Promise<Awaited<ReturnType<typeof startTestDemo>>> {
  const d = await startTestDemo(t, { lus: LUS, printers: true })
  // startDemo returns once the links are started; the host activates 600 LUs (ACTLU) after that.
  await pollUntil(async () => (await gatewayStatus(d)).pools.every(p => p.free === p.total), 'every LU active and free', 30_000, 50)
  return d
}

t.test('600 LUs of one host on three PUs: status counts on both sides, s3270 on PU 2, pr3287 on PU 3', async t => {
  const d = await demo(t)
  const st = await gatewayStatus(d)
  const link = st.hostLinks[0] as unknown as HostLinkStatus
  // LUs fill PU 1's addresses 2-255, then PU 2's, in config order: 300 displays, then 300 printers.
  t.match(link, { pu: 'GW1', puActive: true, luStates: { active: 2 * LUS } }, 'one host link entry, every PU active, 600 LUs active')
  t.same(link.pus, [
    { name: 'GW1', linkUp: true, puActive: true, lus: 254 },
    { name: 'GW1P2', linkUp: true, puActive: true, lus: 254 },
    { name: 'GW1P3', linkUp: true, puActive: true, lus: 92 },
  ], 'three PUs: 254 + 254 + 92 LUs')
  t.match(st.pools.find(p => p.name === 'HOSTA'), { total: LUS, free: LUS }, 'the display pool has all 300 free')
  t.match(st.pools.find(p => p.name === 'HOSTAPRT'), { total: LUS, free: LUS }, 'the printer pool has all 300 free')

  const host = await hostStatus(d)
  t.same(host.pus.map(p => ({ node: p.node, state: p.state, lus: p.lus.length })), [
    { node: 'GW1', state: 'active', lus: 254 },
    { node: 'GW1P2', state: 'active', lus: 254 },
    { node: 'GW1P3', state: 'active', lus: 92 },
  ], 'the one host simulator runs a PU controller per link')
  t.match(host.link, { gateways: 3, lus: 2 * LUS }, 'and counts every LU of them')
  // The same local address on two PUs is two LUs (addresses are per PU).
  t.same(host.pus.map(p => p.lus.find(l => l.address === 2)?.name), ['GW1A001', 'GW1A255', 'PR1A209'], 'address 2 on each PU')

  // GW1A300 is on PU 2; its printer PR1A300 on PU 3.
  const port = d.gateways[0]!.listenerPort('tn3270')
  const s = await S3270.start({ model: 2 })
  t.teardown(() => s.close())
  const c = await s.connect(`GW1A300@127.0.0.1:${port}`)
  t.ok(c.ok, `s3270 connected: ${c.status}`)
  await s.wait(5, 'InputField')
  const screen = (await s.ascii()).join('\n')
  t.match(screen, /tn3270-lb demo host HOSTA/, 'DEMO answers on an LU of the second PU')
  t.match(screen, /LU GW1A300/, 'the screen names the LU')
  const inUse = ((await gatewayStatus(d)).hostLinks[0] as unknown as HostLinkStatus).lus
  t.match(inUse, [{ name: 'GW1A300', pu: 'GW1P2', attached: true }], '/status lists the LU in use with its PU')

  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-multi-pu-'))
  const p = Pr3287.start({ assoc: 'GW1A300', target: `127.0.0.1:${port}`, dir })
  t.teardown(() => p.close())
  await pollUntil(async () => (await hostStatus(d)).sessions.bound.some(b => b.lu === 'PR1A300' && b.state === 'active'), 'host session with PR1A300', 10_000)
  await s.string('PRINT')
  await s.enter()
  await pollUntil(async () => (await s.ascii()).join('\n').includes('PRINTED ON PR1A300'), 'PRINTED ON PR1A300', 10_000)
  const jobs = await pollUntil(() => { const j = p.jobs(); return j.some(x => x.includes('LU GW1A300')) ? j : undefined }, 'the job in pr3287\'s output', 10_000)
  t.equal(jobs.length, 1, 'the display on PU 2 printed on its printer on PU 3')
})

t.test(`${LUS} display sessions at once across two PUs`, async t => {
  const d = await demo(t)
  const port = d.gateways[0]!.listenerPort('tn3270')
  const clients: E2eClient[] = []
  t.teardown(() => { for (const c of clients) c.destroy() })
  // 16 at a time: two cores shared with other tests.
  for (let i = 0; i < LUS; i += 16) {
    clients.push(...await Promise.all(Array.from({ length: Math.min(16, LUS - i) }, async () => await E2eClient.open(port, { connect: 'HOSTA', timeoutMs: 30_000 }))))
  }
  t.equal(new Set(clients.map(c => c.lu)).size, LUS, `${LUS} sessions on ${LUS} different LUs`)
  const st = await gatewayStatus(d)
  t.match(st.pools.find(p => p.name === 'HOSTA'), { total: LUS, free: 0, inUse: LUS }, 'every display LU in use')
  const link = st.hostLinks[0] as unknown as HostLinkStatus
  t.equal(link.lus.filter(l => l.pu === 'GW1P2').length, LUS - 254, 'the LUs beyond 254 are in use on PU 2')
  await pollUntil(async () => (await hostStatus(d)).sessions.active === LUS, `${LUS} active LU-LU sessions on the host`, 30_000, 100)
  t.pass(`the host simulator has ${LUS} active LU-LU sessions`)
  const another = await E2eClient.connect(port)
  t.teardown(() => { another.destroy() })
  const n = await another.negotiate({ connect: 'HOSTA' })
  t.match(n, { ok: false }, 'a 301st display is refused: the pool is full')
})
