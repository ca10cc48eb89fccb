// The real s3270 client against the demo's gateways and host simulators (README "Quick start";
// session_end lines as docs/operations.md "Logs" describes them).
import t, { type Test } from 'tap'
import { readFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { startDemo, type Demo } from '../../lib/demo.js'
import { createLogger } from '../../lib/observability/index.js'
import { decode } from '../../lib/datastream/index.js'
import { S3270 } from '../helpers/s3270.js'

const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-e2e-'))
const logLines: Array<Record<string, unknown>> = []

async function demo (t: Test): Promise<Demo> {
  const sink = new PassThrough()
  sink.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>)
  })
  const d = await startDemo({ basePort: 0, gateways: 2, hosts: 2, lus: 4, bind: '127.0.0.1', sets: [], logger: createLogger({ level: 'info', destination: sink }) })
  t.teardown(() => d.shutdown({ immediate: true }))
  return d
}

async function client (t: Test, trace?: string): Promise<S3270> {
  const s = await S3270.start({ model: 2, extraArgs: trace === undefined ? [] : ['-trace', '-tracefile', trace] })
  t.teardown(() => s.close())
  return s
}

/** Every `RECORD i OF n` the client received, in arrival order, from its s3270 trace. */
function recordsInTrace (file: string): number[] {
  const hex = readFileSync(file, 'latin1').split('\n').filter(l => l.startsWith('< 0x')).map(l => l.split(/\s+/)[2] ?? '').join('')
  const text = decode(Buffer.from(hex, 'hex'))
  return [...text.matchAll(/RECORD (\d+) OF 500/g)].map(m => Number(m[1]))
}

async function gatewayStatus (d: Demo, i: number): Promise<any> {
  const res = await request(`http://127.0.0.1:${d.gateways[i]!.adminAddress.port}/status`)
  return await res.body.json()
}

async function waitFor (what: string, cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond()) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

for (const mode of ['tn3270e', 'tn3270'] as const) {
  t.test(`DEMO through a gateway in ${mode} mode: screen, ECHO, FLOOD 500 in order, PF3, HOSTB@`, async t => {
    const d = await demo(t)
    const port = d.gateways[0]!.listenerPort('tn3270')
    const prefix = mode === 'tn3270' ? 'N:' : ''
    const trace = join(dir, `flood-${mode}.trc`)
    const s = await client(t, trace)
    const c = await s.connect(`${prefix}127.0.0.1:${port}`)
    t.ok(c.ok, `connected: ${c.status}`)
    await s.wait(5, 'InputField')
    const screen = (await s.ascii()).join('\n')
    t.match(screen, /tn3270-lb demo host HOSTA/, 'first screen names the host')
    const lu = /LU (GW1A\d{3})/.exec(screen)?.[1]
    t.ok(lu, 'first screen names the LU')
    if (mode === 'tn3270e') {
      t.equal(await s.query('LuName'), lu, 'Query(LuName) is the LU the gateway assigned')
      t.equal(await s.query('ConnectionState'), 'connected-tn3270e')
    } else {
      t.equal(await s.query('ConnectionState'), 'connected-3270')
    }

    await s.string('hello')
    await s.enter()
    await waitFor('ECHO: hello', async () => (await s.ascii()).join('\n').includes('ECHO: hello'))
    t.pass('ECHO: hello came back')

    await s.string('FLOOD 500')
    await s.enter()
    await waitFor('RECORD 500 OF 500', async () => (await s.ascii()).join('\n').includes('RECORD 500 OF 500'), 30_000)
    const status = await s.run('Wait(10,Unlock)')
    t.ok(status.ok, 'keyboard unlocked by the last record')
    const seen = recordsInTrace(trace)
    t.equal(seen.length, 500, 'all 500 records arrived')
    t.same(seen, Array.from({ length: 500 }, (_, i) => i + 1), 'in order, none duplicated')

    await s.pf(3)
    await waitFor('logoff', async () => !(await s.ascii()).join('\n').includes('RECORD 500 OF 500'))
    t.pass('PF3 logged off (UNBIND) and the host showed its next screen')
    await s.disconnect()

    const b = await client(t)
    t.ok((await b.connect(`${prefix}HOSTB@127.0.0.1:${port}`)).ok, 'HOSTB@ connects')
    await b.wait(5, 'InputField')
    t.match((await b.ascii()).join('\n'), /tn3270-lb demo host HOSTB/, 'HOSTB@ reaches HOSTB')
    if (mode === 'tn3270e') t.match(await b.query('LuName'), /^GW1B\d{3}$/)
    await b.disconnect()
    await waitFor('all LUs free again', async () => (await gatewayStatus(d, 0)).pools.every((p: any) => p.free === p.total))
    t.pass('every LU free after the clients left')
  })
}

t.test('POST /restart on a host: its clients are disconnected cleanly and its LUs come back; the other host is untouched', async t => {
  const d = await demo(t)
  const port = d.gateways[0]!.listenerPort('tn3270')
  const a = await client(t)
  const b = await client(t)
  t.ok((await a.connect(`HOSTA@127.0.0.1:${port}`)).ok)
  t.ok((await b.connect(`HOSTB@127.0.0.1:${port}`)).ok)
  await a.wait(5, 'InputField')
  await b.wait(5, 'InputField')
  const before = logLines.length
  const res = await request(`http://127.0.0.1:${d.hosts[0]!.adminAddress.port}/restart`, { method: 'POST' })
  await res.body.dump()
  t.equal(res.statusCode < 300, true, `POST /restart answered ${res.statusCode}`)

  await waitFor('HOSTA client disconnected', async () => (await a.query('ConnectionState')) === 'not-connected')
  t.pass('HOSTA client was disconnected')
  const ended = logLines.slice(before).find(l => l.event === 'session_end' && /GW1A/.test(String(l.lu)))
  t.ok(ended, 'the disconnect is logged')
  t.match(String(ended?.reason), /DACTLU|link down|deactivated/i, `with a reason: ${String(ended?.reason)}`)

  await b.string('still here')
  await b.enter()
  await waitFor('HOSTB echo', async () => (await b.ascii()).join('\n').includes('ECHO: still here'))
  t.pass('the HOSTB session was untouched')

  await waitFor('HOSTA LUs active again', async () => {
    const st = await gatewayStatus(d, 0)
    const pool = st.pools.find((p: any) => p.name === 'HOSTA')
    return st.hostLinks.find((h: any) => h.host === 'HOSTA').up === true && pool.free === pool.total
  }, 15_000)
  t.pass('HOSTA LUs re-activated after the host came back')
  const c = await client(t)
  t.ok((await c.connect(`HOSTA@127.0.0.1:${port}`)).ok, 'a new client gets a HOSTA session')
  await c.wait(5, 'InputField')
  t.match((await c.ascii()).join('\n'), /tn3270-lb demo host HOSTA/)
})
