// The host simulator over real sockets: SnaLinkClient + a test PU as the gateway, admin HTTP.
import t, { type Test } from 'tap'
import { request } from 'node:http'
import { startHostSim, type HostSim } from '../../lib/hostsim/index.js'
import { DemoLayout } from '../../lib/hostsim/screens.js'
import { loadConfig, hostSimSchema } from '../../lib/config/index.js'
import { silentLogger } from '../../lib/observability/index.js'
import { SnaLinkClient } from '../../lib/hostlink/index.js'
import { encodePiu, commandRh, responseSense, type Piu } from '../../lib/sna/index.js'
import { buildBind, encodeBind as encodeLu62Bind } from '../../lib/appc/index.js'
import { TestPu, type TestLu } from './test-pu.js'
import { parseOutbound } from '../../lib/datastream/index.js'
import { until } from '../helpers/until.js'

const ENTER = 0x7d
const PF3 = 0xf3
const INPUT_ADDR = DemoLayout.prompt * 80 + 5

async function startSim (t: Test, name: string, extra: Record<string, unknown> = {}): Promise<HostSim> {
  const config = loadConfig(hostSimSchema, {
    base: {
      name,
      link: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      restartDelay: '200ms',
      appc: { lu: name, modes: [{ name: '#INTER', sessionLimit: 4 }] },
      ...extra,
    },
  })
  const sim = await startHostSim(config, { logger: silentLogger() })
  t.teardown(() => sim.close())
  return sim
}

function connectPu (t: Test, sim: HostSim, node: string, lus: TestLu[], opts: { autoIpr?: boolean } = {}): { pu: TestPu, client: SnaLinkClient } {
  const pu = new TestPu({ lus, autoIpr: opts.autoIpr })
  const client = new SnaLinkClient({ host: '127.0.0.1', port: sim.linkAddress.port, node, lus: lus.map(l => ({ name: l.name, locaddr: l.address })), logger: silentLogger(), reconnectMin: 50, reconnectMax: 100 })
  client.on('piu', piu => pu.receive(piu))
  client.on('up', () => pu.emit('link-up'))
  client.on('down', () => pu.emit('link-down'))
  pu.send = (piu) => { client.send(piu) }
  client.start()
  t.teardown(() => client.close())
  return { pu, client }
}

async function http (sim: HostSim, method: string, path: string, body?: string): Promise<{ status: number, json: any }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: sim.adminAddress.port, method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}


const LUS: TestLu[] = [{ name: 'GW1LU001', address: 2 }, { name: 'GW1LU002', address: 3 }, { name: 'GW1LU003', address: 4 }]

t.test('activation, DEMO first screen, ECHO, PF3 over a real link', async t => {
  const sim = await startSim(t, 'HOSTA')
  const { pu } = connectPu(t, sim, 'GW1', LUS)
  await pu.waitFor('actlu', lu => lu.name === 'GW1LU003')
  t.equal(pu.actpus, 1)
  await until('LUs active in /status', async () => (await http(sim, 'GET', '/status')).json.pus[0]?.lus.every((l: any) => l.state === 'active'))
  const st = (await http(sim, 'GET', '/status')).json
  t.equal(st.role, 'host-sim')
  t.equal(st.pus[0].node, 'GW1')
  t.same(st.pus[0].lus.map((l: any) => [l.name, l.address]), [['GW1LU001', 2], ['GW1LU002', 3], ['GW1LU003', 4]])
  t.equal((await http(sim, 'GET', '/readyz')).status, 200)

  pu.notify('GW1LU002', true)
  const [lu] = await pu.waitFor('uss')
  t.match(lu.uss[0], /LOGON APPLID/)
  const first = pu.waitFor('record')
  pu.typeUss('GW1LU002', 'LOGON APPLID(DEMO)')
  await first
  const v = pu.lu('GW1LU002')
  t.match(v.screen.lines()[0], /tn3270-lb demo host HOSTA/)
  t.match(v.screen.lines()[1], /LU GW1LU002/)

  const echo = pu.waitFor('record')
  pu.input('GW1LU002', ENTER, [{ address: INPUT_ADDR, text: 'round trip' }])
  await echo
  t.match(v.screen.lines()[DemoLayout.message], /ECHO: round trip/)
  const st2 = (await http(sim, 'GET', '/status')).json
  t.same(st2.sessions, { active: 1, bound: [{ lu: 'GW1LU002', gateway: 'GW1', application: 'DEMO', state: 'active' }] })
  t.equal(st2.pus[0].lus[1].application, 'DEMO')

  const unbind = pu.waitFor('unbind')
  pu.input('GW1LU002', PF3)
  await unbind
  await pu.waitFor('uss')
  t.same((await http(sim, 'GET', '/status')).json.sessions, { active: 0, bound: [] })
  t.match(sim.listening()[0], /^listening host-sim HOSTA 127\.0\.0\.1:\d+$/)
  t.match(sim.listening()[1], /^listening host-sim-admin HOSTA 127\.0\.0\.1:\d+$/)
})

t.test('FLOOD 50, window 7: the host withholds output until each IPR; /status shows the wait', async t => {
  const sim = await startSim(t, 'HOSTA', { defaultApplication: 'DEMO', bind: { primarySendWindow: 7 } })
  const { pu } = connectPu(t, sim, 'GW1', LUS.slice(0, 1), { autoIpr: false })
  await pu.waitFor('actlu')
  const first = pu.waitFor('record')
  pu.notify('GW1LU001', true)
  await first
  const v = pu.lu('GW1LU001')
  pu.sendIpr('GW1LU001') // the first screen's window: a full window of 7 is granted again
  await new Promise(resolve => setTimeout(resolve, 20))
  v.records.length = 0
  v.data.length = 0
  pu.input('GW1LU001', ENTER, [{ address: INPUT_ADDR, text: 'FLOOD 50' }])
  // Window of the first screen: 6 left + the granted window of 7 = 13, then one window per IPR.
  let expected = 13
  for (;;) {
    await until(`${expected} records`, () => v.records.length >= expected)
    await new Promise(resolve => setTimeout(resolve, 30))
    t.equal(v.records.length, expected, `host stopped at ${expected}`)
    if (expected === 50) break
    const st = (await http(sim, 'GET', '/status')).json
    t.ok(st.pacing.waitingSessions === 1 && st.pacing.maxWaitingForIprMs >= 20, 'the host sees its window withheld')
    t.ok(st.pus[0].lus[0].session.pacing.waitingForIprMs >= 20)
    pu.sendIpr('GW1LU001')
    expected = Math.min(expected + 7, 50)
  }
  const numbers = v.records.map(r => {
    const text = parseOutbound(r).orders.find(o => o.order === 'TEXT')
    return text?.order === 'TEXT' ? /RECORD (\d+) OF 50/.exec(text.text)?.[1] : undefined
  })
  t.same(numbers, Array.from({ length: 50 }, (_, i) => String(i + 1)), 'RECORD 1..50 OF 50 in order')
  t.match(v.screen.lines()[DemoLayout.record], /RECORD 50 OF 50/)
  t.same(v.data.map((d, i) => d.pi ? i : -1).filter(i => i >= 0), [6, 13, 20, 27, 34, 41, 48], 'PI on the first request of each window')
  const st = (await http(sim, 'GET', '/status')).json
  t.equal(st.pacing.waitingSessions, 0)
})

t.test('faults over HTTP: LU2 logon refused, LU 6.2 BIND refused, delay, clear', async t => {
  const sim = await startSim(t, 'HOSTB')
  const { pu } = connectPu(t, sim, 'GW2', LUS.slice(0, 1))
  await pu.waitFor('actlu')
  pu.notify('GW1LU001', true)
  await pu.waitFor('uss')

  t.same((await http(sim, 'POST', '/faults', '{"rejectBinds":{"sense":"08063426"}}')).json.rejectBinds,
    { sense: '08063426', lu: null, remaining: null, rejected: 0 })
  const uss = pu.waitFor('uss')
  pu.typeUss('GW1LU001', 'LOGON APPLID(DEMO)')
  const [lu] = await uss
  t.match(lu.uss[lu.uss.length - 1], /LOGON TO DEMO FAILED, SENSE 08063426/)

  // An LU 6.2 BIND from the gateway (ODAI = 1) is refused with the configured sense.
  const bind = encodeLu62Bind(buildBind({ plu: 'GW2', slu: 'HOSTB', mode: '#INTER', primaryWinner: true }))
  const bindPiu = (snf: number): Buffer => encodePiu({ th: { mpf: 'whole', odai: true, efi: true, daf: 2, oaf: 1, snf }, rh: commandRh('SC'), ru: bind })
  let rsp = pu.waitFor('response', (p: Piu) => p.th.odai)
  pu.send(bindPiu(1))
  let [neg] = await rsp
  t.equal(responseSense(neg), 0x08063426, '-RSP(BIND) with the fault sense')
  t.equal(neg.ru[4], 0x31)
  t.equal((await http(sim, 'GET', '/faults')).json.rejectBinds.rejected, 2)

  t.equal((await http(sim, 'DELETE', '/faults')).json.rejectBinds, null)
  rsp = pu.waitFor('response', (p: Piu) => p.th.odai)
  pu.send(bindPiu(2))
  ;[neg] = await rsp
  t.equal(responseSense(neg), 0x08050000, 'without the fault the partner answers: no CNOS yet, limits 0 (0805)')

  t.equal((await http(sim, 'POST', '/faults', '{"delayResponses":"150ms"}')).json.delayResponsesMs, 150)
  const started = Date.now()
  const screen = pu.waitFor('uss')
  pu.typeUss('GW1LU001', 'HELLO')
  await screen
  t.ok(Date.now() - started >= 140, 'the answer came after the delay')
  t.same((await http(sim, 'POST', '/faults', '{"clear":true}')).json, { rejectBinds: null, delayResponsesMs: 0 })

  t.equal((await http(sim, 'POST', '/faults', '{nope')).status, 400)
  const bad = await http(sim, 'POST', '/faults', '{"rejectBinds":{"sense":"xyz"}}')
  t.equal(bad.status, 400)
  t.match(bad.json.error, /rejectBinds\.sense/)
  t.equal((await http(sim, 'PUT', '/faults', '{}')).status, 405)
  t.equal((await http(sim, 'GET', '/restart')).status, 405)
  t.equal((await http(sim, 'GET', '/nothing')).status, 404)
  t.equal((await http(sim, 'POST', '/faults', '')).status, 200, 'empty body: no change')
})

t.test('POST /restart drops the link, forgets limits and re-activates after the delay', async t => {
  const sim = await startSim(t, 'HOSTA', { defaultApplication: 'DEMO' })
  const { pu } = connectPu(t, sim, 'GW1', LUS.slice(0, 2))
  await pu.waitFor('actlu', lu => lu.name === 'GW1LU002')
  const first = pu.waitFor('record')
  pu.notify('GW1LU001', true)
  await first
  t.equal(sim.status().sessions.active, 1)
  const down = pu.waitFor('link-down')
  const res = await http(sim, 'POST', '/restart')
  t.equal(res.status, 202)
  t.same(res.json, { restarting: true, restartDelayMs: 200 })
  await down
  const st = (await http(sim, 'GET', '/status')).json
  t.equal(st.restart.restarting, true)
  t.equal(st.link.listening, false)
  t.same(st.sessions, { active: 0, bound: [] }, 'all sessions dropped')
  t.equal((await http(sim, 'GET', '/readyz')).status, 503)
  const t0 = Date.now()
  await pu.waitFor('actpu', () => true)
  t.ok(Date.now() - t0 >= 150, 're-activated only after restartDelay')
  t.equal(pu.actpus, 2, 'a second ACTPU on the new link')
  await pu.waitFor('actlu', lu => lu.name === 'GW1LU002')
  await until('ready again', () => sim.status().ready)
  t.equal(sim.status().restart.restarts, 1)
  const again = pu.waitFor('record')
  pu.notify('GW1LU001', true)
  await again
  t.equal(sim.status().sessions.active, 1, 'sessions start again after the restart')
})

t.test('two host simulators at once, each with its own gateway links', async t => {
  const a = await startSim(t, 'HOSTA', { defaultApplication: 'DEMO' })
  const b = await startSim(t, 'HOSTB', { defaultApplication: 'DEMO' })
  t.not(a.linkAddress.port, b.linkAddress.port)
  const ga = connectPu(t, a, 'GW1', [{ name: 'GW1A001', address: 2 }])
  const gb = connectPu(t, b, 'GW1', [{ name: 'GW1B001', address: 2 }])
  await Promise.all([ga.pu.waitFor('actlu'), gb.pu.waitFor('actlu')])
  const ra = ga.pu.waitFor('record')
  const rb = gb.pu.waitFor('record')
  ga.pu.notify('GW1A001', true)
  gb.pu.notify('GW1B001', true)
  await Promise.all([ra, rb])
  t.match(ga.pu.lu('GW1A001').screen.lines()[0], /demo host HOSTA/)
  t.match(gb.pu.lu('GW1B001').screen.lines()[0], /demo host HOSTB/)
  t.same(a.status().sessions.bound.map(s => s.lu), ['GW1A001'])
  t.same(b.status().sessions.bound.map(s => s.lu), ['GW1B001'])
  // A second gateway on host A: one PU per link.
  const gc = connectPu(t, a, 'GW2', [{ name: 'GW2A001', address: 2 }])
  await gc.pu.waitFor('actlu')
  t.same(a.status().pus.map(p => p.node).sort(), ['GW1', 'GW2'])
  const down = ga.pu.waitFor('link-down')
  await ga.client.close()
  await down
  await until('PU of the closed link gone', () => a.status().pus.length === 1)
  t.same(a.status().sessions.bound, [], 'its sessions went with it')
})
