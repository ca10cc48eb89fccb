// The shared admin server on real sockets (lib/observability/admin.ts, docs/operations.md): run
// info in /status, the build-info gauge, the status page and its CSP, the admin token for every
// state-changing request (RFC 6750 bearer), and one-line errors for a port in use.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { createRegistry, readBody, sendJson, silentLogger, startAdminServer, STATUS_PAGE_CSP, withRunInfo, type AdminOptions } from '../../lib/observability/index.js'
import { ErrorCodes } from '../../lib/errors.js'

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

async function admin (t: Test, extra: Partial<AdminOptions> = {}) {
  const seen: string[] = []
  const server = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    registry: createRegistry(),
    logger: silentLogger(),
    status: () => ({ role: 'gateway', name: 'gw1', ready: true, listeners: [{ name: 'tn3270', address: '127.0.0.1:1', open: true }] }),
    ready: () => true,
    token: undefined,
    route: async (req, res, url) => {
      if (url.pathname === '/boom') throw new Error('boom')
      if (url.pathname === '/decode') { decodeURIComponent(url.pathname + url.search.slice(1)); return false }
      if (url.pathname !== '/change') return false
      seen.push(`${req.method ?? ''} ${(await readBody(req, 16)).toString()}`)
      sendJson(res, 202, { done: true })
      return true
    },
    ...extra,
  })
  t.teardown(() => server.close())
  const base = `http://127.0.0.1:${server.address.port}`
  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
    const res = await request(base + path, { method: method as 'GET', headers, ...(body === undefined ? {} : { body }) })
    const text = await res.body.text()
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }
  }
  return { server, call, seen }
}

t.test('/status carries version, start time and uptime; the registry a build-info gauge', async t => {
  const { call } = await admin(t)
  const s = (await call('GET', '/status')).json()
  t.equal(s.role, 'gateway', 'the role\'s own fields stay')
  t.equal(s.version, version)
  t.match(s.startedAt, /^\d{4}-\d\d-\d\dT/)
  t.equal(s.uptimeSeconds, 0)
  const metrics = (await call('GET', '/metrics')).text
  t.match(metrics, `tn3270_build_info{version="${version}",node="${process.version}"} 1`)
  t.same(withRunInfo([1], 0), [1], 'non-objects pass through')
  t.same(withRunInfo({ a: 1 }, 0, 61_500), { a: 1, version, startedAt: '1970-01-01T00:00:00.000Z', uptimeSeconds: 61 })
})

t.test('GET / is the status page with a strict CSP', async t => {
  const { call } = await admin(t)
  const page = await call('GET', '/')
  t.equal(page.status, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.equal(page.headers['content-security-policy'], STATUS_PAGE_CSP)
  t.match(STATUS_PAGE_CSP, /default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-/)
  t.notMatch(STATUS_PAGE_CSP, /unsafe/)
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.match(page.text, /<td data-col="open"><span class="ok">open<\/span><\/td>/, 'server-rendered: works without JavaScript')
  t.notMatch(page.text, /src=|href="http/, 'nothing is loaded from elsewhere')
  t.equal((await call('HEAD', '/')).text, '')
})

t.test('loopback without a token: reads and state changes are open (demo)', async t => {
  const { call, seen } = await admin(t)
  t.equal((await call('POST', '/change', {}, 'x')).status, 202)
  t.same(seen, ['POST x'])
  t.equal((await call('DELETE', '/nothing')).status, 404)
})

t.test('with a token: every method but GET/HEAD needs it, compared in full', async t => {
  const { call, seen } = await admin(t, { token: 's3cret' })
  for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong!' }, { authorization: 'Bearer s3cre' }, { authorization: 'Bearer s3cretx' }, { authorization: 'Basic s3cret' }, { authorization: 'Bearer' }]) {
    const r = await call('POST', '/change', headers, 'x')
    t.equal(r.status, 401, JSON.stringify(headers))
    t.match(r.json().error, /admin\.token/)
    t.equal(r.headers['www-authenticate'], 'Bearer realm="tn3270-lb admin"')
  }
  t.equal((await call('PUT', '/nothing')).status, 401, 'no route discovery without the token')
  t.same(seen, [], 'the route never ran')
  t.equal((await call('POST', '/change', { authorization: 'Bearer s3cret' }, 'ok')).status, 202)
  t.equal((await call('POST', '/change', { authorization: 'bearer  s3cret' }, 'ok2')).status, 202)
  t.same(seen, ['POST ok', 'POST ok2'])
  t.equal((await call('GET', '/status')).status, 200, 'reads stay open')
  t.equal((await call('GET', '/metrics')).status, 200)
})

t.test('a non-loopback admin address without a token does not start', async t => {
  await t.rejects(admin(t, { host: '0.0.0.0' }), { code: ErrorCodes.ADMIN_TOKEN_REQUIRED, message: /^config: admin\.token: required when admin\.host \(0\.0\.0\.0\)/ })
  await t.rejects(admin(t, { host: '0.0.0.0', token: '' }), { code: ErrorCodes.ADMIN_TOKEN_REQUIRED }, 'an empty token is no token')
  const { call, server } = await admin(t, { host: '0.0.0.0', token: 'proc' })
  t.equal((await call('POST', '/change', { authorization: 'Bearer proc' }, 'y')).status, 202)
  t.equal((await call('POST', '/change', {}, 'y')).status, 401)
  // A reload rotates the token (admin.tokenFile behind a Secret): the old one stops working at once.
  server.setToken('rotated')
  t.equal((await call('POST', '/change', { authorization: 'Bearer proc' }, 'y')).status, 401)
  t.equal((await call('POST', '/change', { authorization: 'Bearer rotated' }, 'y')).status, 202)
  t.throws(() => { server.setToken(undefined) }, { code: ErrorCodes.ADMIN_TOKEN_REQUIRED }, 'off loopback the token cannot go away')
  t.equal((await call('POST', '/change', { authorization: 'Bearer rotated' }, 'y')).status, 202, 'and the refused change left the token as it was')
})

t.test('errors: bad percent-encoding is 400, a failing route 500, a big body names its limit', async t => {
  const { call } = await admin(t)
  const bad = await call('GET', '/decode?%E0%A4%A')
  t.equal(bad.status, 400)
  t.match(bad.json().error, /malformed percent-encoding/)
  const boom = await call('GET', '/boom')
  t.equal(boom.status, 500)
  t.same(boom.json(), { error: 'internal error' })
  const big = await call('POST', '/change', {}, 'x'.repeat(100))
  t.equal(big.status, 500, 'readBody rejects; routes turn it into their own 413')
  await t.rejects(readBody(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]) as never, 16),
    { code: ErrorCodes.ADMIN_BODY_TOO_LARGE, message: 'request body larger than 16 bytes' })
})

t.test('a port in use is one line naming the address and the keys', async t => {
  const blocker = createServer()
  await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { blocker.close() })
  const port = (blocker.address() as { port: number }).port
  await t.rejects(admin(t, { port }), {
    code: ErrorCodes.ADMIN_LISTEN,
    message: `admin: cannot listen on 127.0.0.1:${port} (admin.host/admin.port): address already in use`,
  })
})
