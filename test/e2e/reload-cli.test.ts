// End to end through the real CLI (docs/operations.md "Reload", "Audit records"): a gateway and a
// proxy as processes with config files, a real s3270 session through the proxy. SIGHUP reloads
// that add a host and its pool to the gateway and remove the proxy backend the session runs over
// keep that session: it still gets ECHO afterwards. A reload that changes a listener's port is
// refused whole, naming the key. When the sessions close, the gateway's audit file has one record
// each, with the session's facts and none of its screen text.
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import YAML from 'yaml'
import { api } from '../helpers/admin-api.js'
import { spawnCli, type CliChild } from '../helpers/e2e-cli.js'
import { pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'
import { S3270 } from '../helpers/s3270.js'

const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-reload-'))
const audit = join(dir, 'audit.jsonl')

function gatewayYaml (hosts: Array<[string, number]>, listenerPort = 0): string {
  return YAML.stringify({
    name: 'gw7',
    admin: { host: '127.0.0.1', port: 0 },
    listeners: [{ name: 'tn3270', host: '127.0.0.1', port: listenerPort, pools: hosts.map(([h]) => h), proxyProtocol: { mode: 'optional', trustedSources: ['127.0.0.0/8'] } }],
    hosts: hosts.map(([name, port]) => ({ name, link: { type: 'sna', host: '127.0.0.1', port } })),
    pools: hosts.map(([name]) => ({ name, host: name, lus: [`GW7${name.slice(-1)}001..GW7${name.slice(-1)}002`] })),
    audit: { file: audit },
  })
}

function proxyYaml (gw: { port: number, admin: number }, names: string[]): string {
  return YAML.stringify({
    admin: { host: '127.0.0.1', port: 0 },
    statusInterval: '200ms',
    listeners: [{
      name: 'tn3270', host: '127.0.0.1', port: 0, proxyProtocol: 'v2',
      // Two names for the one gateway: the session takes the first, which the reload removes.
      backends: names.map(name => ({ name, host: '127.0.0.1', port: gw.port, adminUrl: `http://127.0.0.1:${gw.admin}` })),
    }],
  })
}

const reloaded = async (cli: CliChild, n: number): Promise<Array<Record<string, unknown>>> =>
  await pollUntil(() => { const l = cli.logs().filter(x => x.event === 'config_reload'); return l.length >= n ? l : undefined }, `reload ${n} logged`, 10_000)

async function echo (s: S3270, text: string): Promise<void> {
  await s.string(text)
  await s.enter()
  await pollUntil(async () => (await s.ascii()).join('\n').includes(`ECHO: ${text}`), `ECHO: ${text}`, 10_000)
}

t.test('SIGHUP reloads keep an open s3270 session; a refused one changes nothing; audit records without screen data', async t => {
  const sims = await startTestDemo(t, { hosts: 2, gateways: 1, lus: 1 })
  const [hostA, hostB] = sims.hosts.map(h => h.linkAddress.port) as [number, number]
  const gwFile = join(dir, 'gateway.yaml')
  writeFileSync(gwFile, gatewayYaml([['HOSTA', hostA]]))
  const gw = await spawnCli(t, ['gateway', '--config', gwFile], { expectLines: 2 })
  const gwAdmin = gw.ports.get('gateway-admin gw7')!
  const gwPort = await pollUntil(async () => (await api(gwAdmin, 'GET', '/status')).json.listeners[0].address.match(/:(\d+)$/)?.[1] as string | undefined, 'gateway listener open')
  const pxFile = join(dir, 'proxy.yaml')
  writeFileSync(pxFile, proxyYaml({ port: Number(gwPort), admin: gwAdmin }, ['a-gw7', 'b-gw7']))
  const px = await spawnCli(t, ['proxy', '--config', pxFile], { expectLines: 2 })
  const pxPort = px.ports.get('proxy tn3270')!
  const pxAdmin = px.ports.get('proxy-admin proxy')!
  await pollUntil(async () => (await api(pxAdmin, 'GET', '/status')).json.listeners[0].open, 'proxy listener open')

  const s = await S3270.start({ model: 2 })
  t.teardown(() => s.close())
  t.ok((await s.connect(`127.0.0.1:${pxPort}`)).ok)
  await s.wait(10, 'InputField')
  await echo(s, 'hello')
  t.match((await api(pxAdmin, 'GET', '/v1/backends')).json.backends, [{ name: 'a-gw7', sessions: 1 }, { name: 'b-gw7', sessions: 0 }])

  // Gateway: a new host and its pool.
  writeFileSync(gwFile, gatewayYaml([['HOSTA', hostA], ['HOSTB', hostB]]))
  gw.child.kill('SIGHUP')
  const [g1] = await reloaded(gw, 1)
  t.match(g1, { result: 'applied', changes: ['listeners.tn3270.pools changed', 'hosts.HOSTB added', 'pools.HOSTB added'] })
  // Proxy: the backend the session runs over leaves.
  writeFileSync(pxFile, proxyYaml({ port: Number(gwPort), admin: gwAdmin }, ['b-gw7']))
  px.child.kill('SIGHUP')
  const [p1] = await reloaded(px, 1)
  t.match(p1, { result: 'applied', changes: ['listeners.tn3270.backends.a-gw7 removed'] })
  t.match((await api(pxAdmin, 'GET', '/v1/backends')).json.backends, [{ name: 'a-gw7', removed: true, sessions: 1 }, { name: 'b-gw7' }])
  await echo(s, 'after')
  t.pass('the session still gets ECHO after both reloads')

  // The new pool serves: a client asking for HOSTB through the proxy gets the new host.
  await pollUntil(async () => (await api(gwAdmin, 'GET', '/status')).json.pools.find((p: any) => p.name === 'HOSTB')?.free === 2, 'HOSTB LUs active')
  // The proxy routes by what its last status poll saw (docs/routing.md): wait until it knows too.
  await pollUntil(async () => (await api(pxAdmin, 'GET', '/status')).json.backends.some((b: any) => b.pools?.find((p: any) => p.name === 'HOSTB')?.free > 0), 'the proxy sees the HOSTB LUs')
  const b = await S3270.start({ model: 2 })
  t.teardown(() => b.close())
  t.ok((await b.connect(`HOSTB@127.0.0.1:${pxPort}`)).ok)
  await b.wait(10, 'InputField')
  t.match((await b.ascii()).join('\n'), /tn3270-lb demo host HOSTB/)

  // Refused: a listener's port. Nothing applied; the session goes on.
  writeFileSync(gwFile, gatewayYaml([['HOSTA', hostA], ['HOSTB', hostB]], 3999))
  gw.child.kill('SIGHUP')
  const [, g2] = await reloaded(gw, 2)
  t.match(g2, { level: 'warn', result: 'refused', key: 'listeners.tn3270.port', reason: /a listener keeps its port/ })
  await pollUntil(() => gw.stderr.some(l => /^tn3270-lb: SIGHUP: config: config reload refused, nothing applied: listeners\.tn3270\.port changed/.test(l)), 'the refusal on stderr')
  t.match((await api(gwAdmin, 'POST', '/v1/reload')).json, { key: 'listeners.tn3270.port' }, 'POST /v1/reload says the same')
  await echo(s, 'still')

  await s.disconnect()
  await b.disconnect()
  const records = await pollUntil(() => {
    const lines = readFileSync(audit, 'utf8').split('\n').filter(l => l !== '')
    return lines.length >= 2 ? lines : undefined
  }, 'two audit records', 10_000)
  // The two clients leave together: their records may come in either order.
  const parsed = records.map(l => JSON.parse(l) as Record<string, unknown>)
  const first = parsed.find(r => r.pool === 'HOSTA')
  const second = parsed.find(r => r.pool === 'HOSTB')
  t.match(first, {
    event: 'session_audit', gateway: 'gw7', clientAddress: '127.0.0.1', clientPort: Number, proxied: true, tls: null, listener: 'tn3270',
    pool: 'HOSTA', lu: /^GW7A00[12]$/, host: 'HOSTA', application: 'DEMO', deviceType: /^IBM-3278-2/, mode: 'tn3270e',
    start: /^\d{4}-/, end: /^\d{4}-/, durationMs: Number, bytesIn: Number, bytesOut: Number, recordsIn: Number, recordsOut: Number, endReason: /client closed/,
  })
  t.ok((first!.recordsIn as number) >= 3 && (first!.recordsOut as number) >= 4, 'records each way')
  t.match(second, { pool: 'HOSTB', host: 'HOSTB' })
  for (const screen of ['hello', 'after', 'still', 'ECHO', 'demo host']) t.notOk(records.join('\n').includes(screen), `no screen text (${screen})`)

  px.child.kill('SIGTERM')
  gw.child.kill('SIGTERM')
  t.match(await px.exited, { code: 0 })
  t.match(await gw.exited, { code: 0 })
})
