// The gateway's runtime API and config reload on a real gateway with real host simulators over
// sna links (lib/gateway/runtime-routes.ts, reload.ts; docs/operations.md "Runtime API" and
// "Reload"): the session list, disabling a pool or an LU (CloseListenSocket follows, KB Q101235;
// the open session goes on), and reloads that add a host and a pool, retire a pool and a host
// after their sessions end, and refuse what cannot change live — with the session kept.
import t, { type Test } from 'tap'
import { gatewayConfigSchema, loadConfig, type GatewayConfig } from '../../lib/config/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import { startGateway, type ConnectionEndInfo, type Gateway } from '../../lib/gateway/index.js'
import { createRegistry, silentLogger } from '../../lib/observability/index.js'
import { api } from '../helpers/admin-api.js'
import { metricValue, pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'

interface Layout { hosts: Array<[name: string, port: number]>, pools: Array<[name: string, host: string, lus: string]>, listenerPools: string[], port?: number, token?: string, extra?: Record<string, unknown> }

function config (l: Layout): GatewayConfig {
  return loadConfig(gatewayConfigSchema, {
    base: {
      name: 'gw5',
      admin: { host: '127.0.0.1', port: 0, ...(l.token === undefined ? {} : { token: l.token }) },
      listeners: [{ name: 'tn3270', port: l.port ?? 0, pools: l.listenerPools }],
      hosts: l.hosts.map(([name, port]) => ({ name, link: { type: 'sna', port } })),
      pools: l.pools.map(([name, host, lus]) => ({ name, host, lus: [lus] })),
      keepalive: { method: 'none' },
      ...l.extra,
    },
  })
}

interface Rig { gw: Gateway, admin: number, port: () => number, ends: ConnectionEndInfo[], next: (l: Layout | undefined) => void, hostA: number, hostB: number }

async function rig (t: Test, token?: string): Promise<Rig> {
  // Two host simulators (the demo's own gateway is not used); gateway gw5 offers LUs GW5A001-2 to HOSTA.
  const demo = await startTestDemo(t, { hosts: 2, gateways: 1, lus: 1 })
  const hostA = demo.hosts[0]!.linkAddress.port
  const hostB = demo.hosts[1]!.linkAddress.port
  let next: GatewayConfig | undefined
  const ends: ConnectionEndInfo[] = []
  const gw = await startGateway(config({ hosts: [['HOSTA', hostA]], pools: [['HOSTA', 'HOSTA', 'GW5A001..GW5A002']], listenerPools: ['HOSTA'], token }), {
    logger: silentLogger(),
    registry: createRegistry(),
    onConnectionEnd: info => { ends.push(info) },
    reloadConfig: () => {
      if (next === undefined) throw new Error('test: no next config')
      return next
    },
  })
  t.teardown(() => gw.shutdown({ immediate: true }))
  await pollUntil(() => gw.status().listeners[0]!.open, 'the listener open')
  return { gw, admin: gw.adminAddress.port, port: () => gw.listenerPort('tn3270'), ends, next: l => { next = l === undefined ? undefined : config({ ...l, token }) }, hostA, hostB }
}

async function echo (c: E2eClient, text: string): Promise<void> {
  c.sendInput(text)
  await c.waitForText(`ECHO: ${text}`, 10_000)
}

t.test('GET /v1/sessions lists a session; a disabled pool closes the listener while the session goes on', async t => {
  const r = await rig(t)
  const c = await E2eClient.open(r.port())
  t.teardown(() => c.destroy())
  await echo(c, 'one')
  // Records from the client: the Query Reply to DEMO's Read Partition Query (a query BIND), then 'one'.
  const { json } = await api(r.admin, 'GET', '/v1/sessions')
  t.match(json.sessions, [{
    clientAddress: '127.0.0.1', clientPort: c.socket.localPort, proxied: false, tls: null, listener: 'tn3270', pool: 'HOSTA', lu: 'GW5A001', host: 'HOSTA',
    application: 'DEMO', deviceType: 'IBM-3278-2-E', mode: 'tn3270e', since: /^\d{4}-\d\d-\d\dT/, recordsIn: 2,
  }])
  t.ok(json.sessions[0].bytesIn > 0 && json.sessions[0].bytesOut > json.sessions[0].bytesIn, 'bytes each way')
  t.ok(json.sessions[0].recordsOut >= 2, 'the first screen and the echo')

  const off = await api(r.admin, 'POST', '/v1/pools/hosta/disable')
  t.match(off, { status: 200, json: { pool: 'HOSTA', state: 'disabled', changed: true, total: 2, free: 0, inUse: 1, unavailable: 1 } })
  await pollUntil(() => !r.gw.status().listeners[0]!.open, 'CloseListenSocket: the listener closes')
  t.match(r.gw.status().pools, [{ name: 'HOSTA', host: 'HOSTA', state: 'disabled', free: 0 }])
  const metrics = (await api(r.admin, 'GET', '/metrics')).json as string
  t.equal(metricValue(metrics, 'tn3270_gateway_lus', { pool: 'HOSTA', host: 'HOSTA', state: 'unavailable' }), 1)
  await echo(c, 'two')
  t.pass('the open session goes on in a disabled pool')
  t.match((await api(r.admin, 'POST', '/v1/pools/HOSTA/disable')).json, { changed: false })
  t.match((await api(r.admin, 'POST', '/v1/pools/HOSTA/enable')).json, { state: 'enabled', changed: true, free: 1 })
  await pollUntil(() => r.gw.status().listeners[0]!.open, 'the listener opens again')

  t.match(await api(r.admin, 'POST', '/v1/lus/gw5a002/disable'), { status: 200, json: { lu: 'GW5A002', pool: 'HOSTA', admin: 'disabled', changed: true, state: 'unavailable', reason: 'disabled by the operator' } })
  await pollUntil(() => !r.gw.status().listeners[0]!.open, 'no free LU left: closed')
  t.match((await api(r.admin, 'GET', '/v1/pools')).json.pools, [{ name: 'HOSTA', lus: [{ name: 'GW5A001', state: 'in_use', admin: 'enabled' }, { name: 'GW5A002', state: 'unavailable', admin: 'disabled', reason: 'disabled by the operator' }] }])
  await api(r.admin, 'POST', '/v1/pools/HOSTA/disable')
  t.match((await api(r.admin, 'POST', '/v1/lus/GW5A002/enable')).json, { admin: 'enabled', state: 'unavailable', poolState: 'disabled', reason: 'pool HOSTA disabled by the operator' })
  t.match((await api(r.admin, 'POST', '/v1/lus/GW5A002/enable')).json, { changed: false })
  await api(r.admin, 'POST', '/v1/pools/HOSTA/enable')
  await pollUntil(() => r.gw.status().listeners[0]!.open, 'open again')

  t.match(await api(r.admin, 'POST', '/v1/pools/NOPE/disable'), { status: 404, json: { error: 'no pool "NOPE"; pools are HOSTA' } })
  t.match(await api(r.admin, 'POST', '/v1/lus/NOPE/enable'), { status: 404, json: { error: 'no LU "NOPE" in any pool' } })
  t.match(await api(r.admin, 'POST', '/v1/lus/GW5A002/enable', { now: true }), { status: 400, json: { error: /this request takes no body/ } })
  t.equal((await api(r.admin, 'GET', '/v1/pools/HOSTA/disable')).status, 405)
  t.equal((await api(r.admin, 'GET', '/v1/appc/sessions')).status, 404, 'no APPC routes without partners')
  await c.end()
  const ended = await pollUntil(() => r.ends.find(e => e.phase === 'serving'), 'the session end')
  t.match(ended.record, { lu: 'GW5A001', application: 'DEMO', recordsIn: 3, endReason: /client closed/ })
  t.same((await api(r.admin, 'GET', '/v1/sessions')).json, { sessions: [] })
})

t.test('state changes need the admin token when one is set', async t => {
  const r = await rig(t, 'tok')
  t.equal((await api(r.admin, 'POST', '/v1/pools/HOSTA/disable')).status, 401)
  t.equal((await api(r.admin, 'POST', '/v1/reload')).status, 401)
  t.equal((await api(r.admin, 'POST', '/v1/pools/HOSTA/disable', undefined, 'tok')).status, 200)
  t.equal((await api(r.admin, 'GET', '/v1/sessions')).status, 200, 'reads stay open')
})

t.test('reload: add a host and a pool, then retire the first pool and host; the open session is kept throughout', async t => {
  const r = await rig(t)
  const c = await E2eClient.open(r.port())
  t.teardown(() => c.destroy())
  await echo(c, 'before')
  const reloads = async (result: string): Promise<number | undefined> => metricValue((await api(r.admin, 'GET', '/metrics')).json as string, 'tn3270_config_reloads_total', { role: 'gateway', result })

  r.next({ hosts: [['HOSTA', r.hostA]], pools: [['HOSTA', 'HOSTA', 'GW5A001..GW5A002']], listenerPools: ['HOSTA'] })
  t.same((await api(r.admin, 'POST', '/v1/reload')).json, { result: 'unchanged', changes: [] })

  // Refused, nothing applied: the listener's port, and a new LU on the running sna link.
  r.next({ hosts: [['HOSTA', r.hostA], ['HOSTB', r.hostB]], pools: [['HOSTA', 'HOSTA', 'GW5A001..GW5A002'], ['HOSTB', 'HOSTB', 'GW5B001..GW5B002']], listenerPools: ['HOSTA', 'HOSTB'], extra: { listeners: [{ name: 'tn3270', port: 1, pools: ['HOSTA'] }] } })
  t.match(await api(r.admin, 'POST', '/v1/reload'), { status: 409, json: { code: ErrorCodes.CONFIG_RELOAD, key: 'listeners.tn3270.port', error: /a listener keeps its port/ } })
  r.next({ hosts: [['HOSTA', r.hostA]], pools: [['HOSTA', 'HOSTA', 'GW5A001..GW5A003']], listenerPools: ['HOSTA'] })
  t.match(await api(r.admin, 'POST', '/v1/reload'), { status: 409, json: { key: 'pools.HOSTA.lus', error: /LU GW5A003 is new on host HOSTA, an sna link/ } })
  t.equal(r.gw.hosts.size, 1, 'nothing applied')
  t.equal(await reloads('refused'), 2)

  r.next({ hosts: [['HOSTA', r.hostA], ['HOSTB', r.hostB]], pools: [['HOSTA', 'HOSTA', 'GW5A001..GW5A002'], ['HOSTB', 'HOSTB', 'GW5B001..GW5B002']], listenerPools: ['HOSTA', 'HOSTB'], extra: { keepalive: { method: 'none', watchdogTimeout: '30s' } } })
  const added = await api(r.admin, 'POST', '/v1/reload')
  t.match(added, { status: 200, json: { result: 'applied' } })
  t.same(added.json.changes.sort(), ['hosts.HOSTB added', 'keepalive.watchdogTimeout changed', 'listeners.tn3270.pools changed', 'pools.HOSTB added'])
  await pollUntil(() => r.gw.status().pools.find(p => p.name === 'HOSTB')?.free === 2, 'HOSTB LUs active')
  const b = await E2eClient.open(r.port(), { connect: 'HOSTB' })
  t.teardown(() => b.destroy())
  t.equal(b.lu, 'GW5B001')
  await echo(b, 'on B')
  await echo(c, 'after adding')
  t.equal(r.gw.status().sessions.active, 2)

  // Remove pool HOSTA and host HOSTA: GW5A001 is in use, so both stay until that session ends.
  r.next({ hosts: [['HOSTB', r.hostB]], pools: [['HOSTB', 'HOSTB', 'GW5B001..GW5B002']], listenerPools: ['HOSTB'] })
  t.match((await api(r.admin, 'POST', '/v1/reload')).json, { result: 'applied' })
  t.match(r.gw.status().pools.find(p => p.name === 'HOSTA'), { state: 'retiring', inUse: 1, free: 0 })
  t.match(await api(r.admin, 'POST', '/v1/pools/HOSTA/disable'), { status: 409, json: { error: /being removed by a config reload/ } })
  t.match(await api(r.admin, 'POST', '/v1/lus/GW5A001/disable'), { status: 409 })
  t.ok(r.gw.hosts.has('HOSTA'), 'the host link stays while its LU is held')
  await echo(c, 'still here')
  // Adding HOSTA back while it is finishing is refused, naming it.
  r.next({ hosts: [['HOSTA', r.hostA], ['HOSTB', r.hostB]], pools: [['HOSTB', 'HOSTB', 'GW5B001..GW5B002']], listenerPools: ['HOSTB'] })
  t.match(await api(r.admin, 'POST', '/v1/reload'), { status: 409, json: { key: 'hosts.HOSTA', error: /still has sessions finishing/ } })
  await c.end()
  await pollUntil(() => !r.gw.hosts.has('HOSTA') && r.gw.status().pools.length === 1, 'pool and host gone once the session ended')
  const metrics = (await api(r.admin, 'GET', '/metrics')).json as string
  t.equal(metricValue(metrics, 'tn3270_gateway_lus', { pool: 'HOSTA', state: 'free' }), undefined, 'the removed pool\'s series are gone')
  t.equal(metricValue(metrics, 'tn3270_gateway_lus', { pool: 'HOSTB', host: 'HOSTB', state: 'in_use' }), 1)
  t.equal(await reloads('applied'), 2)
  t.equal(await reloads('unchanged'), 1)
  await echo(b, 'B goes on')
})

t.test('a gateway started without a config file has nothing to re-read', async t => {
  const demo = await startTestDemo(t, { hosts: 1, gateways: 1, lus: 1 })
  const r = await api(demo.gateways[0]!.adminAddress.port, 'POST', '/v1/reload')
  t.match(r, { status: 409, json: { code: ErrorCodes.CONFIG_RELOAD, error: /started without a config file/ } })
  t.throws(() => demo.gateways[0]!.reload(), { code: ErrorCodes.CONFIG_RELOAD })
})
