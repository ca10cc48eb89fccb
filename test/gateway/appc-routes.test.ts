// The /v1/appc routes (lib/gateway/appc-routes.ts) on a real admin server (port 0), engine ↔
// partner behind it (test/appc/fixture.ts); names as "SNA LU 6.2 Reference: Peer Protocols",
// SC31-6808, and docs/operations.md "Admin token".
import t from 'tap'
import { request } from 'node:http'
import { appcRoutes } from '../../lib/gateway/index.js'
import { startAdminServer, silentLogger } from '../../lib/observability/index.js'
import { fixture, type FixtureOptions } from '../appc/fixture.js'

interface Reply { status: number, body: Buffer, json: () => any, headers: Record<string, unknown> }

function call (port: number, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const b = Buffer.concat(chunks)
        resolve({ status: res.statusCode!, body: b, json: () => JSON.parse(b.toString()), headers: res.headers })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function server (t: { teardown: (fn: () => Promise<void>) => void }, opts: FixtureOptions = {}, token?: string) {
  const f = await fixture(opts)
  const admin = await startAdminServer({ host: '127.0.0.1', port: 0, token, registry: f.registry, logger: silentLogger(), status: () => ({}), ready: () => true, route: appcRoutes(f.engine) })
  t.teardown(async () => { f.engine.close(); await admin.close() })
  return { f, port: admin.address.port }
}

t.test('aping through the API reports round-trip times', async t => {
  const { port } = await server(t)
  const r = await call(port, 'GET', '/v1/appc/HOSTLU/APPCMODE/aping?size=500&count=4')
  t.equal(r.status, 200)
  const j = r.json()
  t.match(j, { partner: 'HOSTLU', mode: 'APPCMODE', size: 500, count: 4 })
  t.equal(j.rttMs.length, 4)
  for (const v of j.rttMs) t.ok(typeof v === 'number' && v >= 0)
  t.ok(j.minMs <= j.avgMs && j.avgMs <= j.maxMs)
  t.ok(j.allocateMs >= 0)
  const d = await call(port, 'GET', '/v1/appc/HOSTLU/APPCMODE/aping')
  t.match(d.json(), { size: 100, count: 2 }, 'defaults')
  const z = await call(port, 'GET', '/v1/appc/HOSTLU/APPCMODE/aping?size=0&count=1')
  t.match(z.json(), { size: 0, count: 1 })
})

t.test('POST a transaction; sessions; operator CNOS; metrics', async t => {
  const { port } = await server(t)
  const r = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/TXN', 'order 42')
  t.equal(r.status, 200)
  t.equal(r.headers['content-type'], 'application/octet-stream')
  t.match(r.body.toString(), /^ORDER 42 TXN#1 LEN=8 CKSUM=[0-9A-F]{4}$/)
  const e = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/ECHO?type=basic&sync=confirm', Buffer.from([0, 4, 1, 2]))
  t.same(e.body, Buffer.from([0, 4, 1, 2]))
  const s = await call(port, 'GET', '/v1/appc/sessions')
  t.equal(s.status, 200)
  t.match(s.json().modes[0], { partner: 'HOSTLU', mode: 'APPCMODE', linkUp: true, negotiated: { sessionLimit: 4, minWinners: 2, minPartnerWinners: 0 }, sessions: [{ polarity: 'winner', state: 'bound', lfsid: /^1\.\d+\.\d+$/ }] })
  const c = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/cnos', JSON.stringify({ sessionLimit: 2, minWinners: 1 }))
  t.equal(c.status, 200)
  t.match(c.json(), { trigger: 'operator', limits: { sessionLimit: 2, minWinners: 1, minPartnerWinners: 0 } })
  const c2 = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/cnos')
  t.match(c2.json(), { limits: { sessionLimit: 4 } }, 'no body: configured limits')
  const m = await call(port, 'GET', '/metrics')
  t.match(m.body.toString(), /tn3270_gateway_appc_cnos_total\{partner="HOSTLU",mode="APPCMODE",trigger="operator",result="accepted"\} 2/)
  t.match(m.body.toString(), /tn3270_gateway_appc_sessions\{partner="HOSTLU",mode="APPCMODE",polarity="winner",state="bound"\} 1/)
})

t.test('bad input gets 4xx with a JSON error naming it', async t => {
  const { f, port } = await server(t)
  const cases: Array<[string, string, string | undefined, number, RegExp]> = [
    ['GET', '/v1/appc/HOSTLU/APPCMODE/aping?size=abc', undefined, 400, /size='abc' is not a whole number/],
    ['GET', '/v1/appc/HOSTLU/APPCMODE/aping?count=0', undefined, 400, /count=0 is out of range 1-1000/],
    ['GET', '/v1/appc/HOSTLU/APPCMODE/aping?size=99999', undefined, 400, /size=99999 is out of range 0-32767/],
    ['GET', '/v1/appc/NOPE/APPCMODE/aping', undefined, 404, /unknown APPC partner 'NOPE'/],
    ['POST', '/v1/appc/HOSTLU/NOMODE/ECHO', 'x', 404, /has no mode 'NOMODE'/],
    ['POST', '/v1/appc/HOSTLU/APPCMODE/bad%20tp', 'x', 400, /TP name 'bad tp' is not valid/],
    ['POST', '/v1/appc/bad!lu/APPCMODE/ECHO', 'x', 400, /partner name 'bad!lu'/],
    ['POST', '/v1/appc/HOSTLU/TOOLONGMODE/ECHO', 'x', 400, /mode name 'TOOLONGMODE'/],
    ['POST', '/v1/appc/HOSTLU/APPCMODE/ECHO?type=full', 'x', 400, /type='full' must be mapped or basic/],
    ['POST', '/v1/appc/HOSTLU/APPCMODE/ECHO?sync=syncpt', 'x', 400, /sync='syncpt' must be none or confirm/],
    ['POST', '/v1/appc/HOSTLU/APPCMODE/cnos', '{bad', 400, /not JSON/],
    ['POST', '/v1/appc/HOSTLU/APPCMODE/cnos', '[1]', 400, /must be a JSON object/],
    ['POST', '/v1/appc/HOSTLU/APPCMODE/cnos', '{"limit":3}', 400, /unknown CNOS field 'limit'/],
    ['POST', '/v1/appc/HOSTLU/APPCMODE/cnos', '{"sessionLimit":-1}', 400, /sessionLimit must be an integer 0-32767, got -1/],
    ['POST', '/v1/appc/HOSTLU/APPCMODE/cnos', '{"sessionLimit":1,"minWinners":2}', 400, /exceed sessionLimit 1/],
    ['POST', '/v1/appc/NOPE/APPCMODE/cnos', '{}', 404, /unknown APPC partner/],
    ['PUT', '/v1/appc/sessions', undefined, 405, /use GET/],
    ['GET', '/v1/appc/HOSTLU/APPCMODE/ECHO', undefined, 405, /use POST/],
    ['GET', '/v1/appc/a/b', undefined, 404, /expected \/v1\/appc\/sessions or/],
  ]
  for (const [method, path, body, status, re] of cases) {
    const r = await call(port, method, path, body)
    t.equal(r.status, status, `${method} ${path}`)
    t.match(r.json().error, re, `${method} ${path}`)
  }
  const unknownTp = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/NOSUCH', 'x')
  t.equal(unknownTp.status, 502)
  t.match(unknownTp.json(), { code: 'TN3270LB_ERR_APPC_CONVERSATION', sense: '10086021' })
  const big = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/ECHO', Buffer.alloc(1024 * 1024 + 1))
  t.equal(big.status, 413)
  t.equal((await call(port, 'GET', '/other')).status, 404, 'other paths are not ours')
  f.link.disconnect()
  const down = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/ECHO', 'x')
  t.equal(down.status, 503)
  t.match(down.json().error, /host link to HOSTA .* is down/)
  const cdown = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/cnos', '{}')
  t.equal(cdown.status, 502)
})

t.test('allocation timeout maps to 504', async t => {
  const { f, port } = await server(t, { mode: { sessionLimit: 1, minWinners: 1 }, appc: { allocateTimeout: 50 } })
  const held = await f.engine.allocate({ partner: 'HOSTLU', mode: 'APPCMODE', tp: 'ECHO' })
  const r = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/ECHO', 'x')
  t.equal(r.status, 504)
  t.match(r.json().error, /allocate timeout/)
  held.cancel()
})

t.test('admin.token guards every APPC state change; reads stay open (appc.apiToken is retired)', async t => {
  const { port } = await server(t, {}, 's3cret')
  const no = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/ECHO', 'hi')
  t.equal(no.status, 401)
  t.match(no.json().error, /admin\.token/)
  t.equal((await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/cnos', '{}', { authorization: 'Bearer wrong!' })).status, 401)
  t.equal((await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/ECHO', 'hi', { authorization: 'Bearer s3cret' })).body.toString(), 'hi')
  t.equal((await call(port, 'GET', '/v1/appc/sessions')).status, 200, 'reads stay open, like /status')
})

t.test('a malformed percent-encoding in the path is a 400 naming the segment, not a 500', async t => {
  const { port } = await server(t)
  for (const path of ['/v1/appc/HOSTLU/APPCMODE/%E0%A4%A', '/v1/appc/%/APPCMODE/aping', '/v1/appc/sessions%ZZ']) {
    const get = path.endsWith('aping')
    const r = await call(port, get ? 'GET' : 'POST', path, get ? undefined : 'x')
    t.equal(r.status, 400, path)
    t.match(r.json().error, /path segment '.*' is not valid percent-encoding/, path)
  }
  const ok = await call(port, 'POST', '/v1/appc/HOSTLU/APPCMODE/EC%48O', 'y')
  t.equal(ok.status, 200, 'valid percent-encoding still decodes (EC%48O = ECHO)')
  t.equal(ok.body.toString(), 'y')
})
