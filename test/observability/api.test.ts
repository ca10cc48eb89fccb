// The runtime API plumbing (lib/observability/api.ts, docs/operations.md "Runtime API") on a real
// admin server: routes by method and path with percent-decoded parameters, JSON bodies, and the
// refusals a runtime request can meet (400, 404, 405, 409) as JSON with a code; anything else is
// the server's 500.
import t, { type Test } from 'tap'
import { AdminRequestError, ErrorCodes, lbError, ReloadRefusedError } from '../../lib/errors.js'
import { apiRoutes, badRequest, conflict, createRegistry, notFound, onlyKeys, silentLogger, startAdminServer, type ApiRoute } from '../../lib/observability/index.js'
import { api } from '../helpers/admin-api.js'

async function server (t: Test, routes: ApiRoute[], token?: string): Promise<number> {
  const s = await startAdminServer({
    host: '127.0.0.1', port: 0, token, registry: createRegistry(), logger: silentLogger(), status: () => ({}), ready: () => true, route: apiRoutes(routes),
  })
  t.teardown(() => s.close())
  return s.address.port
}

t.test('routes by method and path; parameters are decoded; bodies are JSON objects', async t => {
  const seen: unknown[] = []
  const port = await server(t, [
    { method: 'GET', path: '/v1/things', handle: ({ query }) => ({ things: [query.get('q')] }) },
    { method: 'POST', path: '/v1/things/:name/poke', handle: ({ params, body }) => { seen.push([params, body]); return { poked: params.name } } },
  ])
  t.same((await api(port, 'GET', '/v1/things?q=x')).json, { things: ['x'] })
  t.same((await api(port, 'POST', '/v1/things/gw.svc%2F10.0.0.1%3A3270/poke', { a: 1 })).json, { poked: 'gw.svc/10.0.0.1:3270' })
  t.same((await api(port, 'POST', '/v1/things/X/poke')).json, { poked: 'X' }, 'an empty body is {}')
  t.same(seen, [[{ name: 'gw.svc/10.0.0.1:3270' }, { a: 1 }], [{ name: 'X' }, {}]])
  const wrong = await api(port, 'DELETE', '/v1/things/X/poke')
  t.equal(wrong.status, 405)
  t.equal(wrong.headers.allow, 'POST')
  t.match(wrong.json, { error: 'DELETE is not allowed on /v1/things/X/poke; use POST', code: ErrorCodes.ADMIN_REQUEST })
  t.equal((await api(port, 'GET', '/v1/things/X')).status, 404, 'no route: the admin server\'s 404')
  t.equal((await api(port, 'POST', '/v1/things//poke')).status, 404, 'an empty parameter matches nothing')
})

t.test('bad bodies and paths are 400 naming what was wrong', async t => {
  const port = await server(t, [{ method: 'POST', path: '/v1/x/:name', handle: ({ body }) => onlyKeys(body, ['weight']) }])
  t.match((await api(port, 'POST', '/v1/x/a', '{nope')).json, { error: /^body is not JSON: / })
  t.match((await api(port, 'POST', '/v1/x/a', '[1]')).json, { error: 'body must be a JSON object' })
  t.match((await api(port, 'POST', '/v1/x/a', { weigth: 3 })).json, { error: 'unknown body key "weigth"; expected weight' })
  t.same((await api(port, 'POST', '/v1/x/a', { weight: 3 })).json, { weight: 3 })
  const big = await api(port, 'POST', '/v1/x/a', JSON.stringify({ weight: 'x'.repeat(70_000) }))
  t.equal(big.status, 400)
  t.match(big.json.error, /larger than 65536 bytes/)
  const enc = await api(port, 'POST', '/v1/x/%E0%A4%A')
  t.equal(enc.status, 400)
  t.match(enc.json.error, /not valid percent-encoding/)
  t.throws(() => onlyKeys({ a: 1 }, []), { message: 'unexpected body key "a"; this request takes no body' })
  t.same(onlyKeys(undefined, []), {})
})

t.test('refusals: 404 and 409 from a handler, reload refusals and config errors as 409, anything else 500', async t => {
  const port = await server(t, [
    { method: 'GET', path: '/v1/e/missing', handle: () => { throw notFound('no pool "X"') } },
    { method: 'GET', path: '/v1/e/busy', handle: () => { throw conflict('pool X is being removed') } },
    { method: 'GET', path: '/v1/e/bad', handle: () => { throw badRequest('weight must be 0-256') } },
    { method: 'GET', path: '/v1/e/reload', handle: () => { throw new ReloadRefusedError('listeners.tn3270.port', 'config reload refused: port') } },
    { method: 'GET', path: '/v1/e/config', handle: () => { throw lbError(ErrorCodes.CONFIG_INVALID, 'config: pools.0.host = "X": expected ...') } },
    { method: 'GET', path: '/v1/e/bug', handle: () => { throw lbError(ErrorCodes.SNA_STATE, 'a bug') } },
    { method: 'GET', path: '/v1/e/async', handle: async () => await Promise.resolve({ ok: true }) },
  ])
  t.match(await api(port, 'GET', '/v1/e/missing'), { status: 404, json: { error: 'no pool "X"', code: ErrorCodes.ADMIN_REQUEST } })
  t.match(await api(port, 'GET', '/v1/e/busy'), { status: 409, json: { error: 'pool X is being removed' } })
  t.match(await api(port, 'GET', '/v1/e/bad'), { status: 400, json: { error: 'weight must be 0-256' } })
  t.match(await api(port, 'GET', '/v1/e/reload'), { status: 409, json: { code: ErrorCodes.CONFIG_RELOAD, key: 'listeners.tn3270.port' } })
  t.match(await api(port, 'GET', '/v1/e/config'), { status: 409, json: { code: ErrorCodes.CONFIG_INVALID, error: /pools\.0\.host/ } })
  t.match(await api(port, 'GET', '/v1/e/bug'), { status: 500, json: { error: 'internal error' } })
  t.same((await api(port, 'GET', '/v1/e/async')).json, { ok: true })
  t.ok(new AdminRequestError(409, 'x') instanceof Error)
})

t.test('POSTs pass the admin token check before any route runs', async t => {
  let ran = 0
  const port = await server(t, [{ method: 'POST', path: '/v1/reload', handle: () => { ran++; return { result: 'unchanged' } } }], 'tok')
  t.equal((await api(port, 'POST', '/v1/reload')).status, 401)
  t.equal(ran, 0)
  t.same((await api(port, 'POST', '/v1/reload', undefined, 'tok')).json, { result: 'unchanged' })
})
