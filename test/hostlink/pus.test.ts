// Several PUs toward one host (docs/hostlink.md "PUs"): each PU is its own link with its own
// HELLO, and its LUs' local addresses are its own ("SNA Formats", GA27-3136: FID2 DAF'/OAF' are
// local to a PU's link station), so the same address on two PUs is two LUs and the same PIU bytes
// reach each. Exact frame bytes, then one host simulator with two PUs' links.
import t from 'tap'
import { FrameDecoder, FrameType, SnaLinkClient, encodeHello, encodePiu, makeHello, validateHello } from '../../lib/hostlink/index.js'
import { startHostSim } from '../../lib/hostsim/index.js'
import { hostSimSchema, loadConfig } from '../../lib/config/index.js'
import { silentLogger } from '../../lib/observability/index.js'
import { systemClock } from '../../lib/clock.js'
import { DependentLuNode } from '../../lib/sna/index.js'
import { until } from '../helpers/until.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

// The HELLO of gateway gw1's second PU: node GW1P2, LU LA255 at address 2 and LA256 at 3 whose
// associated printer PR001 is on another PU (listed in that PU's HELLO, not here).
const PU2_HELLO_JSON = '{"protocol":"tn3270-lb/sna","version":1,"role":"gateway","node":"GW1P2","lus":[{"name":"LA255","locaddr":2},{"name":"LA256","locaddr":3,"printer":"PR001"}]}'
const PU2_HELLO_FRAME = hex(`
  01 0000009c
  7b2270726f746f636f6c223a22746e333237302d6c622f736e61222c2276657273696f6e223a312c22726f6c6522
  3a2267617465776179222c226e6f6465223a224757315032222c226c7573223a5b7b226e616d65223a224c413235
  35222c226c6f6361646472223a327d2c7b226e616d65223a224c41323536222c226c6f6361646472223a332c2270
  72696e746572223a225052303031227d5d7d`)

// ACTLU to local address 2 as the host sends it on any PU's link: TH 2D 00 02 00 0001 (FID2,
// whole BIU, expedited; DAF' 02, OAF' 00 the SSCP; SNF 1), RH 6B 80 00, RU 0D 01 01 (ACTLU,
// cold, FM profile 0 / TS profile 1).
const ACTLU_2_FRAME = hex('02 0000000c 2d00020000016b80 00 0d0101')

t.test('the second PU\'s HELLO frame, byte for byte', async t => {
  const hello = makeHello('gateway', 'gw1p2', [{ name: 'la255', locaddr: 2 }, { name: 'LA256', locaddr: 3, printer: 'pr001' }])
  t.equal(JSON.stringify(hello), PU2_HELLO_JSON, 'names upper-cased, addresses 2 and 3 of this PU')
  t.equal(encodeHello(hello).toString('hex'), PU2_HELLO_FRAME.toString('hex'), 'type 01, length 0x9c = 156, JSON')
  const r = new FrameDecoder().push(PU2_HELLO_FRAME)
  t.equal(r.frames.length, 1)
  const f = r.frames[0]!
  t.equal(PU2_HELLO_FRAME[0], FrameType.HELLO)
  if (f.type !== 'HELLO') throw new Error(`expected a HELLO frame, got ${f.type}`)
  const received = validateHello(f.hello, 'gateway')
  t.same(received.lus, [{ name: 'LA255', locaddr: 2 }, { name: 'LA256', locaddr: 3, printer: 'PR001' }],
    'the receiver takes it, the printer on another PU included')
})

t.test('the ACTLU PIU frame for address 2', async t => {
  t.equal(encodePiu(ACTLU_2_FRAME.subarray(5)).toString('hex'), ACTLU_2_FRAME.toString('hex'))
  t.equal(ACTLU_2_FRAME.readUInt32BE(1), 12, 'TH 6 + RH 3 + RU 3')
})

t.test('one host simulator, two PUs of one gateway on two links, each with an LU at address 2', async t => {
  const sim = await startHostSim(loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { port: 0 }, admin: { port: 0 } } }), { logger: silentLogger() })
  t.teardown(() => sim.close())
  const pu = (name: string, lu: string): { node: DependentLuNode, actlu: Promise<Buffer> } => {
    const lus = [{ name: lu, locaddr: 2 }]
    const client = new SnaLinkClient({ host: '127.0.0.1', port: sim.linkAddress.port, node: name, lus, expectNode: 'HOSTA', logger: silentLogger() })
    const node = new DependentLuNode({ puName: name, lus, send: piu => { client.send(piu) }, logger: silentLogger(), clock: systemClock })
    const actlu = new Promise<Buffer>(resolve => {
      // The first PIU with DAF' 02 is the ACTLU; every PIU still goes to the node.
      const onPiu = (piu: Buffer): void => {
        if (piu[2] === 2) { client.off('piu', onPiu); resolve(piu) }
      }
      client.on('piu', onPiu)
    })
    client.on('piu', piu => node.receive(piu))
    t.teardown(() => client.close())
    client.start()
    return { node, actlu }
  }
  const one = pu('GW1', 'LA001')
  const two = pu('GW1P2', 'LA255')
  const [a1, a2] = await Promise.all([one.actlu, two.actlu])
  t.equal(encodePiu(a1).toString('hex'), ACTLU_2_FRAME.toString('hex'), 'PU 1\'s link: ACTLU to address 2')
  t.equal(encodePiu(a2).toString('hex'), ACTLU_2_FRAME.toString('hex'), 'PU 2\'s link: the same bytes, another LU')
  // The host's LU is active once the node's +RSP(ACTLU) has arrived.
  await until('both LUs active on the host', () => sim.status().pus.every(p => p.lus.every(l => l.state === 'active')) && sim.status().pus.length === 2)
  const status = sim.status()
  t.same(status.pus.map(p => [p.node, p.state, p.lus.map(l => [l.name, l.address, l.state])]).sort(), [
    ['GW1', 'active', [['LA001', 2, 'active']]],
    ['GW1P2', 'active', [['LA255', 2, 'active']]],
  ], 'two PUs, each with its own LU at address 2, both active')
  t.match(status.link, { gateways: 2, lus: 2 })
})
