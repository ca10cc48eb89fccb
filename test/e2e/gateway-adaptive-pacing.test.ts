// Adaptive session-level pacing end to end on the sna link: the host simulator binds with the
// adaptive bit (BIND byte 9 bit 0, "SNA Formats", GA27-3136) and paces with isolated pacing
// messages (IPM). The gateway grants the host's windows with solicited IPMs only when the client
// can take a whole window (KB Q181737), and sends its own input in the windows the host's IPMs
// grant. Measured from the gateway's /status pacing accounting, as keepalive-pacing.test.ts does
// for fixed pacing.
import t, { type Test } from 'tap'
import { hostSimSchema, loadConfig } from '../../lib/config/index.js'
import { demoGatewayConfig } from '../../lib/demo.js'
import { startGateway, type Gateway } from '../../lib/gateway/index.js'
import { startHostSim, type HostSim, type HostSimStatus } from '../../lib/hostsim/index.js'
import { createRegistry, silentLogger } from '../../lib/observability/index.js'
import { getJson, metricValue, httpRequest } from '../helpers/e2e-gateway.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'
import { until } from '../helpers/until.js'

// Large enough that loopback kernel buffers cannot hide it (see keepalive-pacing.test.ts).
const FLOOD = 100_000

async function adaptiveHost (t: Test): Promise<HostSim> {
  const config = loadConfig(hostSimSchema, {
    base: {
      name: 'HOSTA',
      link: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      defaultApplication: 'DEMO',
      bind: { adaptivePacing: true },
      appc: { lu: 'HOSTA', modes: [{ name: '#INTER', sessionLimit: 8 }], tps: ['ECHO', 'APINGD', 'TXN'] },
    },
  })
  const sim = await startHostSim(config, { logger: silentLogger(), registry: createRegistry() })
  t.teardown(() => sim.close())
  return sim
}

async function gatewayFor (t: Test, sim: HostSim): Promise<Gateway> {
  const config = demoGatewayConfig({
    index: 1,
    hosts: 1,
    lus: 2,
    port: 0,
    adminPort: 0,
    hostLinkPorts: [sim.linkAddress.port],
    sets: ['keepalive.method=none', 'pacing.stallAfter=200ms', 'listeners.0.proxyProtocol.mode=off'],
  })
  const gw = await startGateway(config, { logger: silentLogger(), registry: createRegistry() })
  t.teardown(() => gw.shutdown({ immediate: true }))
  return gw
}

/** The gateway's pacing accounting for one LU (GET /status, hostLinks[].lus[].pacing). */
async function pacingOf (gw: Gateway, lu: string): Promise<{ window: number, adaptive: boolean, held: number, owed: boolean, stalled: boolean, clientQueuedBytes: number }> {
  const status = await getJson<{ hostLinks: Array<{ lus: Array<{ name: string, pacing?: any }> }> }>(gw.adminAddress.port, '/status')
  return status.hostLinks[0]!.lus.find(l => l.name === lu)!.pacing
}

const stalledSessions = async (gw: Gateway): Promise<number | undefined> =>
  metricValue((await httpRequest(gw.adminAddress.port, '/metrics')).body, 'tn3270_gateway_pacing_stalled_sessions')

t.test('adaptive pacing: inbound windows follow the host\'s IPMs; a client that stops reading during a FLOOD leaves at most one window held; all records arrive in order', async t => {
  const sim = await adaptiveHost(t)
  const gw = await gatewayFor(t, sim)
  const port = gw.listenerPort('tn3270')

  // More inputs than one inbound window (7 by default): each next window needs the host's IPM.
  const typist = await E2eClient.open(port)
  t.teardown(() => typist.destroy())
  const inbound = await pacingOf(gw, typist.lu!)
  t.equal(inbound.adaptive, true, 'the BIND asked for adaptive pacing and the gateway paces adaptively')
  for (let i = 1; i <= 20; i++) {
    typist.sendInput(`ping ${i}`)
    await typist.waitForRecord(r => r.text.includes(`ECHO: ping ${i}`), 5000, `echo ${i}`)
  }
  t.pass('20 inputs echoed: the gateway sent each window the host\'s IPM granted')

  // /status stays small at many LUs (docs/operations.md): idle LUs are counted, not listed, unless ?lus=1.
  type LinkStatus = { luStates: Record<string, number>, lusListed: string, lus: Array<{ name: string, attached: boolean, pacing?: unknown }> }
  const compact = (await getJson<{ hostLinks: LinkStatus[] }>(gw.adminAddress.port, '/status')).hostLinks[0]!
  t.same(compact.lus.map(l => l.name), [typist.lu], 'by default only the LU in use is listed')
  t.ok(compact.lus[0]!.pacing !== undefined, 'with its pacing accounting')
  t.same(compact.luStates, { 'in-session': 1, active: 1 }, 'every LU is counted by state')
  t.equal(compact.lusListed, 'in use or not active')
  const full = (await getJson<{ hostLinks: LinkStatus[] }>(gw.adminAddress.port, '/status?lus=1')).hostLinks[0]!
  t.equal(full.lus.length, 2, '?lus=1 lists every LU')
  t.equal(full.lusListed, 'all')
  typist.destroy()

  const slow = await E2eClient.open(port)
  t.teardown(() => slow.destroy())
  slow.sendInput(`FLOOD ${FLOOD}`)
  slow.stopReading()
  await until('pacing stalled', async () => (await stalledSessions(gw)) === 1, 30_000)
  await new Promise(resolve => setTimeout(resolve, 1000))
  const acct = await pacingOf(gw, slow.lu!)
  const host: HostSimStatus = await getJson(sim.adminAddress.port, '/status')
  const delivered = slow.received.length
  await new Promise(resolve => setTimeout(resolve, 500))
  t.comment(`gateway accounting for ${slow.lu}: ${JSON.stringify(acct)}; host pacing: ${JSON.stringify(host.pacing)}`)
  t.equal(acct.adaptive, true)
  t.ok(acct.window > 0, `a window was agreed (${acct.window})`)
  t.ok(acct.held <= acct.window, `the gateway holds at most one window (${acct.held} of ${acct.window})`)
  t.ok(acct.owed && acct.stalled, 'the solicited IPM is withheld and the session counts as stalled')
  t.ok(acct.clientQueuedBytes <= 64 * 1024 + 4096, `client write queue stays within the high-water mark plus one RU (${acct.clientQueuedBytes} bytes)`)
  t.equal(slow.received.length, delivered, 'nothing more reaches the client while it does not read')
  t.ok(host.pacing.waitingSessions >= 1, 'the host simulator\'s session waits for the gateway\'s IPM')
  t.ok(delivered < FLOOD, `the flood is held back (${delivered} records delivered so far)`)

  slow.resumeReading()
  await slow.waitForRecord(r => r.text.includes(`RECORD ${FLOOD} OF ${FLOOD}`), 120_000, 'the last record')
  const pattern = new RegExp(`RECORD (\\d+) OF ${FLOOD}`)
  const seen = slow.received.map(r => pattern.exec(r.text)?.[1]).filter((x): x is string => x !== undefined).map(Number)
  t.equal(seen.length, FLOOD, `all ${FLOOD} records arrived`)
  t.ok(seen.every((n, i) => n === i + 1), 'in order, none lost or duplicated')
  await until('stall cleared', async () => (await stalledSessions(gw)) === 0, 5000)
  t.pass('no session stalled once the client drained')
})
