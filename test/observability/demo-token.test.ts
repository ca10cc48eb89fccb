// The demo's admin token (lib/demo.ts, docs/operations.md "Admin token"): every role the demo
// starts takes it from its own config (admin.token), passed to its admin server explicitly.
import t from 'tap'
import { request } from 'undici'
import { startTestDemo } from '../helpers/e2e-gateway.js'

t.test('every admin port of the demo requires the token for state changes', async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 1, lus: 1, adminToken: 'demo-secret' })
  const post = async (port: number, path: string, token?: string) => (await request(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    body: '{}',
  })).statusCode
  const host = demo.hosts[0]!.adminAddress.port
  const gw = demo.gateways[0]!.adminAddress.port
  t.equal(await post(host, '/faults'), 401)
  t.equal(await post(host, '/faults', 'demo-secret'), 200)
  t.equal(await post(gw, '/v1/appc/HOSTA/%23INTER/cnos'), 401)
  t.equal(await post(demo.proxy.admin.port, '/anything'), 401)
  t.equal(await post(demo.proxy.admin.port, '/anything', 'demo-secret'), 404, 'with the token: on to routing')
  t.equal((await request(`http://127.0.0.1:${gw}/status`)).statusCode, 200, 'reads stay open')
  const bad = await request(`http://127.0.0.1:${gw}/v1/appc/%E0%A4%A/%23INTER/aping`)
  t.equal(bad.statusCode, 400, 'a malformed percent-escape under /v1/appc is the client\'s mistake: 400, not 500')
  t.match(await bad.body.json(), { error: /not valid percent-encoding/ })
})
