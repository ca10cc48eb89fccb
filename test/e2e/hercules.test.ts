// End to end with real peers nobody here wrote: Debian's Hercules 3.13 as the TN3270 host
// (headless, loopback, plain TN3270 with `@devnum` / `@GROUP` device selection) and
// the real s3270 client (TN3270E) through the gateway's `tn3270` host link, on a real
// startGateway (test/gateway/gateway-fixture.ts adds the views these tests read).
import t, { type Test } from 'tap'
import { startHercules, type Hercules } from '../helpers/hercules.js'
import { S3270 } from '../helpers/s3270.js'
import { startTestGateway, type TestGateway } from '../gateway/gateway-fixture.js'
import { until } from '../helpers/until.js'

const DEVICES = ['0010', '0011', { address: '0020', group: 'TSOGRP' }, { address: '0021', group: 'TSOGRP' }]

function gatewayConfig (hercPort: number): Record<string, unknown> {
  return {
    name: 'gw-herc',
    listeners: [
      // Only the HERC pool: two LUs, so the third client finds the listener closed.
      { name: 'herc', port: 0, pools: ['HERC'] },
      { name: 'tso', port: 0, pools: ['TSO'] },
    ],
    hosts: [{
      name: 'HERC',
      link: {
        type: 'tn3270',
        host: '127.0.0.1',
        port: hercPort,
        connectTimeout: '10s',
        probeInterval: '250ms',
        resourceRetryAfter: '3s',
        luRequest: 'ttype',
        // Hercules 3.13 never answers DO TIMING-MARK (measured); NOP completes on write.
        keepaliveMethod: 'nop',
        keepaliveInterval: '1s',
      },
    }],
    pools: [
      { name: 'HERC', host: 'HERC', lus: [{ name: 'HERC0010', resource: '0010' }, { name: 'HERC0011', resource: '0011' }] },
      { name: 'TSO', host: 'HERC', lus: [{ name: 'TSO1', resource: 'TSOGRP' }, { name: 'TSO2', resource: 'TSOGRP' }] },
    ],
    keepalive: { watchdogTimeout: '2s' },
  }
}

async function client (t: Test): Promise<S3270> {
  const c = await S3270.start({ model: 2, commandTimeoutMs: 20_000 })
  t.teardown(async () => { await c.close() })
  return c
}

async function screen (c: S3270): Promise<string> {
  await c.waitOutput(3)
  return (await c.ascii()).join('\n')
}

let herc: Hercules
let gw: TestGateway

t.before(async () => {
  herc = await startHercules({ devices: DEVICES })
  gw = await startTestGateway(gatewayConfig(herc.port))
})
t.teardown(async () => {
  await gw?.close()
  await herc?.stop()
})

t.test('TN3270E clients get Hercules devices 0010 then 0011; a third finds the listener closed', async t => {
  const port = gw.port('herc')
  const a = await client(t)
  const ra = await a.connect(`127.0.0.1:${port}`)
  t.ok(ra.ok, `connect a: ${ra.data.join(' / ')}`)
  t.match(await screen(a), /Device number\s+: 0010/)
  t.equal(await a.query('ConnectionState'), 'connected-tn3270e', 'client leg is TN3270E, host leg plain TN3270')
  t.equal(await a.query('LuName'), 'HERC0010')

  const b = await client(t)
  const rb = await b.connect(`127.0.0.1:${port}`)
  t.ok(rb.ok, `connect b: ${rb.data.join(' / ')}`)
  t.match(await screen(b), /Device number\s+: 0011/)
  t.equal(await b.query('LuName'), 'HERC0011')

  t.notOk(gw.listeners.isOpen('herc'), 'CloseListenSocket: pool HERC has no LU left')
  t.equal(await gw.gauge('lus', { pool: 'HERC', state: 'in_use' }), 2)
  const c = await client(t)
  const rc = await c.connect(`127.0.0.1:${port}`, { timeoutMs: 15_000 })
  t.notOk(rc.ok, 'third connect fails')
  t.match(rc.data.join(' '), /Connection failed|refused/i)
  // Hercules writes its log through a buffered stdout: poll it.
  await until('Hercules logged both devices', () => /connected to 3270 device 0:0010/.test(herc.log()) && /connected to 3270 device 0:0011/.test(herc.log()))

  await a.disconnect()
  await until('listener herc reopens', () => gw.listeners.isOpen('herc'))
  await until('HERC0010 free', () => gw.lus.lu('HERC0010')?.state === 'free')
  await b.disconnect()
  await until('no sessions', () => gw.serving() === 0)
})

t.test('a pool name maps to a Hercules group, an LU name to its device; Query(LuName) names the LU assigned', async t => {
  const a = await client(t)
  const ra = await a.connect(`TSO@127.0.0.1:${gw.port('tso')}`)
  t.ok(ra.ok, ra.data.join(' / '))
  t.match(await screen(a), /Device number\s+: 002[01]/, 'group TSOGRP device')
  t.equal(await a.query('LuName'), 'TSO1', 'pool TSO -> first free LU TSO1 (resource TSOGRP)')

  const b = await client(t)
  const rb = await b.connect(`HERC0011@127.0.0.1:${gw.port('herc')}`)
  t.ok(rb.ok, rb.data.join(' / '))
  t.match(await screen(b), /Device number\s+: 0011/, 'specific LU -> its device number')
  t.equal(await b.query('LuName'), 'HERC0011')

  // A plain TN3270 client (N:) through the same link: no headers on either leg.
  const p = await client(t)
  const rp = await p.connect(`N:127.0.0.1:${gw.port('herc')}`)
  t.ok(rp.ok, rp.data.join(' / '))
  t.match(await screen(p), /Device number\s+: 0010/)
  t.equal(await p.query('ConnectionState'), 'connected-3270')

  t.equal(await gw.gauge('sessionsActive', { pool: 'HERC', mode: 'tn3270' }), 1)
  t.equal(await gw.gauge('sessionsActive', { pool: 'HERC', mode: 'tn3270e' }), 1)
  t.equal(await gw.gauge('sessionsActive', { pool: 'TSO', mode: 'tn3270e' }), 1)
  t.match(gw.side.status(), { address: `127.0.0.1:${herc.port}`, tls: false, luRequest: 'ttype', terminalType: 'IBM-3278-2-E', sessions: 3, refused: [] }, 'status while serving (no probe needed)')

  for (const c of [a, b, p]) await c.disconnect()
  await until('no sessions', () => gw.serving() === 0)
})

t.test('a device the host refuses is taken out of rotation; the client is closed without the refusal screen', async t => {
  // Someone outside the gateway holds device 0010.
  const squatter = await client(t)
  const rs = await squatter.connect(`0010@127.0.0.1:${herc.port}`)
  t.ok(rs.ok, rs.data.join(' / '))
  t.match(await screen(squatter), /Device number\s+: 0010/)

  const victim = await client(t)
  await victim.connect(`HERC0010@127.0.0.1:${gw.port('herc')}`, { timeoutMs: 15_000 })
  const state = await victim.query('ConnectionState')
  t.equal(state, 'not-connected', 'client closed by the gateway')
  const text = (await victim.ascii().catch(() => [] as string[])).join('\n')
  t.notMatch(text, /Connection rejected/, 'never shown the host\'s refusal screen')
  await until('HERC0010 unavailable', () => gw.lus.lu('HERC0010')?.state === 'unavailable')
  t.match(gw.lus.lu('HERC0010')!.reason, /refused by host: .*Connection rejected/)
  t.match(gw.ended.at(-1), /host refused resource 0010/)

  // The next generic client gets the next resource.
  const next = await client(t)
  const rn = await next.connect(`127.0.0.1:${gw.port('herc')}`)
  t.ok(rn.ok, rn.data.join(' / '))
  t.match(await screen(next), /Device number\s+: 0011/)
  t.equal(await next.query('LuName'), 'HERC0011')
  t.notOk(gw.listeners.isOpen('herc'), 'HERC0010 out of rotation + HERC0011 in use: listener closed')

  await squatter.disconnect()
  await next.disconnect()
  // After resourceRetryAfter the resource is tried again.
  await until('HERC0010 back after resourceRetryAfter', () => gw.lus.lu('HERC0010')?.state === 'free', 10_000)
  const again = await client(t)
  t.ok((await again.connect(`HERC0010@127.0.0.1:${gw.port('herc')}`)).ok)
  t.match(await screen(again), /Device number\s+: 0010/)
  await again.disconnect()
  await until('no sessions', () => gw.serving() === 0)
})

t.test('killing Hercules drops its clients and the link; restarting it restores the LUs without restarting the gateway', async t => {
  const a = await client(t)
  t.ok((await a.connect(`127.0.0.1:${gw.port('herc')}`)).ok)
  t.match(await screen(a), /Device number\s+: 00(10|11)/)
  t.equal(await gw.gauge('hostLinkUp', { host: 'HERC' }), 1)

  const port = herc.port
  await herc.stop()
  await until('client dropped', async () => (await a.query('ConnectionState')) === 'not-connected')
  await until('host link down', async () => (await gw.gauge('hostLinkUp', { host: 'HERC' })) === 0)
  await until('all LUs unavailable', () => gw.lus.all().every(l => l.state === 'unavailable'))
  t.match(gw.lus.lu('HERC0011')!.reason, /host link down/)
  await until('listeners closed', () => !gw.listeners.isOpen('herc') && !gw.listeners.isOpen('tso'))
  await until('session ended', () => gw.serving() === 0)
  t.equal(await gw.gauge('sessionsActive', { pool: 'HERC', mode: 'tn3270e' }), 0)

  herc = await startHercules({ devices: DEVICES, port })
  await until('host link up again', async () => (await gw.gauge('hostLinkUp', { host: 'HERC' })) === 1)
  await until('listener reopened', () => gw.listeners.isOpen('herc'))
  t.equal(await gw.gauge('lus', { pool: 'HERC', state: 'free' }), 2)
  const b = await client(t)
  t.ok((await b.connect(`127.0.0.1:${gw.port('herc')}`)).ok)
  t.match(await screen(b), /Device number\s+: 0010/)
  await b.disconnect()
})

t.test('the same host side inside the real startGateway (tn3270 link from config)', async t => {
  const { startGateway } = await import('../../lib/gateway/index.js')
  const { loadConfig, gatewaySchema } = await import('../../lib/config/index.js')
  const { createRegistry, silentLogger } = await import('../../lib/observability/index.js')
  const g = await startGateway(loadConfig(gatewaySchema, { base: gatewayConfig(herc.port) }), { logger: silentLogger(), registry: createRegistry() })
  t.teardown(() => g.shutdown({ immediate: true }))
  const a = await client(t)
  t.ok((await a.connect(`HERC0011@127.0.0.1:${g.listenerPort('herc')}`)).ok)
  t.match(await screen(a), /Device number\s+: 0011/)
  t.equal(await a.query('LuName'), 'HERC0011')
  t.match(g.status(), { hostLinks: [{ host: 'HERC', type: 'tn3270', up: true, sessions: 1 }], sessions: { active: 1 } })
  await a.disconnect()
})
