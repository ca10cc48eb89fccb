// The host simulator's PLU under adaptive session-level pacing ("SNA Formats", GA27-3136: the
// isolated pacing message, IPM; BIND byte 9 bit 0), driven by IPMs from a test secondary: the
// gateway's own DependentLuNode, wired to a PuController in memory. The LU grants windows with
// solicited IPMs (DependentLu.sendIpm), resets the window with an unsolicited IPM carrying RWI (the
// host acknowledges before it sends again, Linux-SNA sna_tc.c), and the host answers the LU's own
// pacing requests with solicited IPMs.
import t from 'tap'
import { loadConfig, hostSimSchema } from '../../lib/config/index.js'
import { silentLogger } from '../../lib/observability/index.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { Faults } from '../../lib/hostsim/faults.js'
import { PuController, hostEnv } from '../../lib/hostsim/pu.js'
import { DemoLayout } from '../../lib/hostsim/screens.js'
import { DependentLuNode, decodePiu, isIpm, decodeIpmRu, type Ipm, type LuDataEvent } from '../../lib/sna/index.js'
import { buildInbound, encode } from '../../lib/datastream/index.js'

const LU = 'GW1LU001'

/** PuController ⇄ DependentLuNode with queued (not re-entrant) delivery; `run()` delivers until quiet. */
function wire (bind: Record<string, unknown>) {
  const config = loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { port: 0 }, bind } })
  const clock = new FakeClock(1_000_000)
  const toNode: Buffer[] = []
  const toHost: Buffer[] = []
  const seenByNode: Buffer[] = []
  const host = new PuController({ node: 'GW1', remote: 'memory', lus: [{ name: LU, address: 2 }], send: (b) => { toNode.push(b); return true } },
    hostEnv(config, { faults: new Faults(), clock, logger: silentLogger() }))
  const node = new DependentLuNode({ puName: 'GW1', lus: [{ name: LU, locaddr: 2 }], send: (b) => { toHost.push(b) }, logger: silentLogger(), clock })
  const run = (): void => {
    while (toNode.length > 0 || toHost.length > 0) {
      const n = toNode.shift()
      if (n !== undefined) { seenByNode.push(n); node.receive(n) }
      const h = toHost.shift()
      if (h !== undefined) host.receive(h)
    }
  }
  return { host, node, lu: node.lu(LU), run, seenByNode }
}

t.test('adaptive BIND: solicited grants, unsolicited reset with RWI, reset-ack, IPMs for the LU\'s own PI', async t => {
  const w = wire({ adaptivePacing: true, primarySendWindow: 3, secondarySendWindow: 3 })
  const { lu, run } = w
  const errors: string[] = []
  w.node.on('protocolError', e => errors.push(e.reason))
  lu.on('protocolError', e => errors.push(e.reason))
  let records = 0
  lu.on('data', (d: LuDataEvent) => { if (d.chain === 'only' || d.chain === 'last') records++ })
  const ipms: Ipm[] = []
  lu.on('ipm', ipm => ipms.push(ipm))
  t.throws(() => lu.sendIpm({ type: 'solicited', rwi: false, nws: 1 }), { code: 'TN3270LB_ERR_SNA_STATE' }, 'no IPM without an LU-LU session')

  w.host.start()
  run()
  lu.attach()
  run()
  lu.sendSscpData(encode('LOGON APPLID(DEMO)'))
  run()
  t.equal(lu.state, 'in-session')
  t.equal(lu.bind?.pacing.adaptive, true, 'the host sent an adaptive BIND (byte 9 bit 0)')
  t.equal(records, 1, 'first screen: the first request of a window of 3')
  const session = () => w.host.status().lus[0]!.session!
  t.equal(session().pacing.adaptive, true)

  // The LU's own first request carries PI: the host answers with a solicited IPM, not an IPR.
  const flood = buildInbound({ aid: 0x7d, cursor: 0, fields: [{ address: DemoLayout.prompt * 80 + 5, text: 'FLOOD 30' }], rows: 24, cols: 80 })
  lu.sendData(flood, { chain: true, changeDirection: true, pacing: true })
  run()
  t.same(ipms, [{ type: 'solicited', rwi: false, nws: 3 }], 'the LU\'s pacing request answered by a solicited IPM')
  t.equal(records, 3, 'two records left in the first window, then the host waits')
  t.ok(session().pacing.queued > 0, 'output queued behind the closed window')

  // An IPR is not a pacing response on an adaptive session: nothing moves.
  lu.sendIpr()
  run()
  t.equal(records, 3)

  // Solicited IPM: the next window is the NWS, not the BIND's 3.
  lu.sendIpm({ type: 'solicited', rwi: false, nws: 5 })
  run()
  t.equal(records, 8, 'a window of 5')

  // Unsolicited IPM with RWI, NWS 2: acknowledged first, then a window of 2 at once.
  const before = w.seenByNode.length
  lu.sendIpm({ type: 'unsolicited', rwi: true, nws: 2 })
  run()
  const after = w.seenByNode.slice(before).map(b => decodePiu(b))
  t.ok(isIpm(after[0]!), 'the reset acknowledgement goes before any data')
  t.same(decodeIpmRu(after[0]!.ru), { type: 'reset-ack', rwi: false, nws: 2 })
  t.equal(records, 10, 'the reset window of 2 used at once')

  // Reset to 0: the host acknowledges and stops; its acknowledgement is its next pacing request.
  lu.sendIpm({ type: 'unsolicited', rwi: true, nws: 0 })
  run()
  t.same(ipms.at(-1), { type: 'reset-ack', rwi: false, nws: 0 })
  t.equal(records, 10, 'nothing sent with a window of 0')
  t.ok(session().pacing.queued > 0)

  // Solicited grants bring the rest.
  while (records < 31) {
    const had = records
    lu.sendIpm({ type: 'solicited', rwi: false, nws: 7 })
    run()
    t.equal(records, Math.min(had + 7, 31), `a window of 7 after ${had} records`)
  }
  t.equal(session().pacing.queued, 0)
  t.same(errors, [], 'no protocol errors on the LU side')
})

t.test('fixed pacing (no adaptive bit): an IPM is refused, the IPR opens the window', async t => {
  const w = wire({ primarySendWindow: 2, secondarySendWindow: 2 })
  const { lu, run } = w
  let records = 0
  lu.on('data', (d: LuDataEvent) => { if (d.chain === 'only' || d.chain === 'last') records++ })
  w.host.start()
  run()
  lu.attach()
  run()
  lu.sendSscpData(encode('LOGON APPLID(DEMO)'))
  run()
  t.equal(lu.bind?.pacing.adaptive, false)
  lu.sendData(buildInbound({ aid: 0x7d, cursor: 0, fields: [{ address: DemoLayout.prompt * 80 + 5, text: 'FLOOD 5' }], rows: 24, cols: 80 }), { chain: true, changeDirection: true, pacing: true })
  run()
  t.equal(records, 2)
  lu.sendIpm({ type: 'solicited', rwi: false, nws: 5 })
  run()
  t.equal(records, 2, 'an IPM on a fixed-paced session opens nothing')
  lu.sendIpr()
  run()
  t.equal(records, 4, 'one IPR, one window of 2')
})
