// The host simulator against the gateway's own PU implementation (lib/sna DependentLuNode over
// SnaLinkClient): the exact PIU sequence a gateway goes through to bring a client to DEMO, with
// the gateway-side half-sessions checking sequence numbers, chaining, brackets and BIND contents.
import t from 'tap'
import { EventEmitter } from 'node:events'
import { startHostSim } from '../../lib/hostsim/index.js'
import { DemoLayout } from '../../lib/hostsim/screens.js'
import { loadConfig, hostSimSchema } from '../../lib/config/index.js'
import { silentLogger } from '../../lib/observability/index.js'
import { systemClock } from '../../lib/clock.js'
import { SnaLinkClient } from '../../lib/hostlink/index.js'
import { DependentLuNode, type LuDataEvent } from '../../lib/sna/index.js'
import { Screen, buildInbound, decode, encode } from '../../lib/datastream/index.js'

t.test('DependentLuNode reaches DEMO, echoes, floods with pacing and logs off without protocol errors', async t => {
  const config = loadConfig(hostSimSchema, {
    base: { name: 'HOSTA', link: { port: 0 }, admin: { port: 0 }, bind: { primarySendWindow: 7, secondarySendWindow: 7, maxRuPrimary: 256 } },
  })
  const sim = await startHostSim(config, { logger: silentLogger() })
  t.teardown(() => sim.close())
  const lus = [{ name: 'GW1LU001', locaddr: 2 }, { name: 'GW1LU002', locaddr: 3 }]
  const client = new SnaLinkClient({ host: '127.0.0.1', port: sim.linkAddress.port, node: 'GW1', lus, logger: silentLogger(), reconnectMin: 50, reconnectMax: 100 })
  const node = new DependentLuNode({ puName: 'GW1', lus, send: piu => { client.send(piu) }, logger: silentLogger(), clock: systemClock })
  client.on('piu', piu => node.receive(piu))
  client.on('down', () => node.linkDown())
  t.teardown(() => client.close())
  const errors: string[] = []
  node.on('protocolError', e => errors.push(`node: ${e.reason}`))
  const lu = node.lu('GW1LU001')
  lu.on('protocolError', e => errors.push(`lu: ${e.reason}`))

  const active = new Promise<void>(resolve => lu.once('active', () => resolve()))
  client.start()
  await active
  t.ok(node.puActive, 'ACTPU answered by the node')

  // Client attaches: NOTIFY(enabled) → USS logon screen (character-coded SSCP-LU data).
  const uss = new Promise<Buffer>(resolve => lu.once('sscpData', resolve))
  lu.attach()
  t.match(decode(await uss), /LOGON APPLID/)

  // Typed logon → BIND (validated as LU2 by the node) → SDT → first screen, paced and chained.
  const screen = new Screen({ rows: 24, cols: 80 })
  let chain: Buffer[] = []
  let records = 0
  const recordEvents = new EventEmitter()
  let sent = 0
  const window = (): number => lu.bind?.pacing.secondarySendWindow ?? 0
  lu.on('data', (d: LuDataEvent) => {
    if (d.chain === 'first' || d.chain === 'only') chain = []
    chain.push(d.ru)
    if (d.chain === 'last' || d.chain === 'only') {
      screen.apply(Buffer.concat(chain))
      records++
      recordEvents.emit('record')
    }
  })
  lu.on('pacing', () => lu.sendIpr())
  const waitRecords = (n: number): Promise<void> => new Promise(resolve => {
    const check = (): void => { if (records >= n) { recordEvents.off('record', check); resolve() } }
    recordEvents.on('record', check)
    check()
  })
  const type = (text: string, aid = 0x7d): void => {
    const record = buildInbound({ aid, cursor: 0, fields: text === '' ? [] : [{ address: DemoLayout.prompt * 80 + 5, text }], rows: 24, cols: 80 })
    lu.sendData(record, { chain: true, changeDirection: true, pacing: window() > 0 && sent++ % window() === 0 })
  }
  const sdt = new Promise<void>(resolve => lu.once('sdt', () => resolve()))
  lu.sendSscpData(encode('LOGON APPLID(DEMO)'))
  await sdt
  t.equal(lu.state, 'in-session')
  await waitRecords(1)
  t.match(screen.lines()[0], /tn3270-lb demo host HOSTA/)
  t.match(screen.lines()[1], /LU GW1LU001/)

  type('interop')
  await waitRecords(2)
  t.match(screen.lines()[DemoLayout.message], /ECHO: interop/)

  type('FLOOD 20000')
  await waitRecords(20002)
  t.match(screen.lines()[DemoLayout.record], /RECORD 20000 OF 20000/)
  t.notOk(screen.keyboardLocked)
  t.equal(sim.status().sessions.active, 1)

  const unbound = new Promise<number>(resolve => lu.once('unbind', resolve))
  const again = new Promise<Buffer>(resolve => lu.once('sscpData', resolve))
  type('', 0xf3)
  t.equal(await unbound, 0x01, 'PF3 → UNBIND normal')
  t.match(decode(await again), /SESSION WITH DEMO ENDED/)
  t.equal(sim.status().sessions.active, 0)

  // Client leaves: NOTIFY(disabled); the host's view drops the terminal.
  lu.detach()
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(sim.status().pus[0].lus[0].enabled, false)
  t.same(errors, [], 'no protocol errors on either side')
})
