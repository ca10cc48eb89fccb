// End to end with real s3270 clients through the demo's proxy (docs/operations.md "Runtime API"):
// a gateway drained through the proxy's runtime API takes no new clients — every new session lands
// on the other gateway — while the session it already has goes on and is listed by its gateway's
// GET /v1/sessions; enabled again, it takes clients again.
import t from 'tap'
import { api } from '../helpers/admin-api.js'
import { pollUntil } from '../helpers/e2e-gateway.js'
import { connectLu, proxyPort, s3270, startProxyDemo, type LogLine } from '../helpers/e2e-proxy.js'

t.test('a backend drained through the runtime API takes no new clients; its session continues', async t => {
  const lines: LogLine[] = []
  const demo = await startProxyDemo(t, lines, { gateways: 2, hosts: 1, lus: 4 })
  const [gw1, gw2] = demo.gateways.map(g => g.adminAddress.port) as [number, number]
  const admin = demo.proxy.admin.port
  await pollUntil(async () => (await api(admin, 'GET', '/v1/backends')).json.backends.every((b: any) => b.eligibility === 'ok'), 'both gateways eligible', 10_000)

  // The first client goes to gw1 (equal load: by name), the second to gw2.
  const first = await s3270(t)
  t.match(await connectLu(first, proxyPort(demo)), /^GW1A/)
  const onGw2 = await s3270(t)
  t.match(await connectLu(onGw2, proxyPort(demo)), /^GW2A/)

  t.match(await api(admin, 'POST', '/v1/backends/gw2/drain'), { status: 200, json: { name: 'gw2', admin: 'drain', eligibility: 'drain', sessions: 1 } })
  for (let i = 0; i < 3; i++) {
    const c = await s3270(t)
    t.match(await connectLu(c, proxyPort(demo)), /^GW1A/, `new client ${i + 1} lands on gw1`)
  }
  t.equal((await api(gw1, 'GET', '/v1/sessions')).json.sessions.length, 4)
  const listed = (await api(gw2, 'GET', '/v1/sessions')).json.sessions
  t.match(listed, [{ lu: /^GW2A/, pool: 'HOSTA', host: 'HOSTA', proxied: true, clientAddress: '127.0.0.1', mode: 'tn3270e' }], 'the drained gateway keeps its one session')
  await onGw2.string('drained')
  await onGw2.enter()
  await pollUntil(async () => (await onGw2.ascii()).join('\n').includes('ECHO: drained'), 'ECHO on the drained backend', 10_000)
  t.pass('the session on the drained backend goes on')
  t.ok(lines.some(l => l.event === 'backend_drained' && l.backend === 'gw2'), 'logged')

  t.match((await api(admin, 'POST', '/v1/backends/gw2/enable')).json, { admin: 'ready' })
  await pollUntil(async () => (await api(admin, 'GET', '/v1/backends')).json.backends.find((b: any) => b.name === 'gw2').eligibility === 'ok', 'gw2 eligible again')
  const again = await s3270(t)
  t.match(await connectLu(again, proxyPort(demo)), /^GW2A/, 'enabled: gw2 (fewer sessions) takes the next client')
})
