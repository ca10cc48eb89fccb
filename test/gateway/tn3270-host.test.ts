// The `tn3270` HostSide (lib/gateway/tn3270-host.ts) between scripted clients and scripted hosts:
// header conversion, responses answered where the other side cannot, availability (probe,
// refusals, retry), credit-based flow control, keepalive toward the host, ending.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer, type TLSSocket } from 'node:tls'
import { ErrorCodes } from '../../lib/errors.js'
import { createTn3270HostSide, loadTlsMaterial } from '../../lib/gateway/tn3270-host.js'
import { expandPools, LuRegistry } from '../../lib/gateway/lu-pool.js'
import { gatewaySchema, loadConfig } from '../../lib/config/index.js'
import { createGatewayMetrics, silentLogger } from '../../lib/observability/index.js'
import { Registry } from 'prom-client'
import { Opt, BRK } from '../../lib/telnet/index.js'
import { DO, IAC, WILL, WONT, fakeHost, HostPeer, screenRecord } from '../hostlink/tn3270-fake-host.js'
import { startTestGateway, type TestGateway } from './gateway-fixture.js'
import { until } from '../helpers/until.js'

function config (hostPort: number, link: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'gw-test',
    listeners: [{ name: 'main', port: 0, pools: ['P'] }],
    hosts: [{ name: 'H', link: { type: 'tn3270', host: '127.0.0.1', port: hostPort, connectTimeout: '1s', probeInterval: '100ms', resourceRetryAfter: '300ms', keepaliveMethod: 'none', ...link } }],
    pools: [{ name: 'P', host: 'H', lus: [{ name: 'LUA', resource: 'DEV1' }], generic: 1 }],
    keepalive: { method: 'none' },
    ...extra,
  }
}

/** startGateway with this config (a host that does not come up only delays the start by the start-up wait). */
async function gateway (t: Tap, raw: Record<string, unknown>): Promise<TestGateway> {
  const gw = await startTestGateway(raw)
  t.teardown(gw.close)
  return gw
}
type Tap = Test

/** A scripted TN3270E client: negotiates with the gateway; records then go through `peer`. */
async function tn3270eClient (t: Tap, port: number, connectName?: string, functions: number[] = [2]): Promise<HostPeer> {
  const socket = connect(port, '127.0.0.1')
  const c = new HostPeer(socket)
  t.teardown(() => socket.destroy())
  await c.negotiated('DO', Opt.TN3270E)
  c.send(IAC, WILL, Opt.TN3270E)
  await c.waitFor('SEND DEVICE-TYPE', e => e.type === 'subneg' && e.option === Opt.TN3270E)
  c.subneg(Opt.TN3270E, [2, 7, ...Buffer.from('IBM-3278-2-E'), ...(connectName === undefined ? [] : [1, ...Buffer.from(connectName)])])
  const is = await c.subnegFrom(Opt.TN3270E, 1)
  if (is[1] !== 4) throw new Error(`device type refused: ${is.toString('hex')}`)
  c.subneg(Opt.TN3270E, [3, 7, ...functions])
  await c.subnegFrom(Opt.TN3270E, 2)
  return c
}

/** A scripted plain TN3270 client (declines TN3270E, like s3270 with N:). */
async function plainClient (t: Tap, port: number, ttype = 'IBM-3278-2-E'): Promise<HostPeer> {
  const socket = connect(port, '127.0.0.1')
  const c = new HostPeer(socket)
  t.teardown(() => socket.destroy())
  await c.negotiated('DO', Opt.TN3270E)
  c.send(IAC, WONT, Opt.TN3270E)
  await c.negotiated('DO', Opt.TTYPE)
  c.send(IAC, WILL, Opt.TTYPE)
  await c.subnegFrom(Opt.TTYPE, 0)
  c.subneg(Opt.TTYPE, [0, ...Buffer.from(ttype)])
  await c.negotiated('DO', Opt.EOR)
  c.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY)
  return c
}

/** A host that completes the plain handshake and paints a first screen. */
const plainHost = (first = 'LOGO') => async (p: HostPeer): Promise<void> => {
  await p.plainHandshake()
  p.sendRecord(screenRecord(first))
}

/** A TN3270E host: IS CONNECT <device>, FUNCTIONS IS <whatever was asked>, first screen. */
const eHost = (device = 'TCP001') => async (p: HostPeer): Promise<void> => {
  await p.tn3270eStart()
  p.subneg(Opt.TN3270E, [2, 4, ...Buffer.from('IBM-3278-2-E'), 1, ...Buffer.from(device)])
  const req = await p.subnegFrom(Opt.TN3270E, 1)
  p.subneg(Opt.TN3270E, [3, 4, ...req.subarray(2)])
  p.sendRecord(Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), screenRecord('READY')]))
}

t.test('TN3270E client <-> plain host: headers added and stripped, the gateway answers RESPONSES', async t => {
  const h = await fakeHost(t, plainHost('LOGO'))
  const gw = await gateway(t, config(h.port))
  const c = await tn3270eClient(t, gw.port('main'), 'LUA')
  const first = await c.recordAt(0)
  t.same([...first.subarray(0, 5)], [0, 0, 0, 0, 0], '3270-DATA header, NO-RESPONSE, SEQ 0')
  t.same(first.subarray(5), screenRecord('LOGO'))
  const host = await h.session(0)
  t.equal(host.ttype, 'IBM-3278-2-E@DEV1', 'LU LUA asked as resource DEV1 by @NAME')

  // Inbound: AID Enter with ALWAYS-RESPONSE, SEQ 5.
  c.sendRecord(Buffer.from([0x00, 0x00, 0x02, 0x00, 0x05, 0x7d, 0x40, 0x40]))
  t.same([...await host.recordAt(0)], [0x7d, 0x40, 0x40], 'header stripped toward the plain host')
  t.same([...await c.recordAt(1)], [0x02, 0x00, 0x00, 0x00, 0x05, 0x00], 'positive RESPONSE (DEVICE-END) for SEQ 5 from the gateway')

  // The host's reply unlocks the keyboard (WCC restore): one response-time observation.
  host.sendRecord(screenRecord('REPLY', 0xc3))
  t.same((await c.recordAt(2)).subarray(5), screenRecord('REPLY', 0xc3))
  const rt = await gw.metrics.responseTimeSeconds.get()
  t.equal(rt.values.find(v => v.metricName === 'tn3270_gateway_response_time_seconds_count' && v.labels.pool === 'P')?.value, 1)

  // ATTN (IAC IP from a TN3270E client) reaches a plain host as IAC BRK; SCS data is not relayed.
  c.send(IAC, 244)
  await host.waitFor('IAC BRK', e => e.type === 'command' && e.code === BRK)
  c.sendRecord(Buffer.from([0x01, 0, 0, 0, 6, 0x40]))
  c.sendRecord(Buffer.from([0x00, 0, 0, 0, 7, 0x6d]))
  t.same([...await host.recordAt(1)], [0x6d], 'only the 3270-DATA record went on')

  t.match(gw.side.status(), { sessions: 1, tls: false, luRequest: 'ttype' })
  c.end()
  await host.waitClosed()
  await until('served', () => gw.serving() === 0)
  t.match(gw.ended, [/client closed/])
  t.equal(gw.lus.lu('LUA')!.state, 'free')
})

t.test('TN3270E on both legs: responses relayed with each side\'s SEQ; plain client: the gateway answers the host', async t => {
  const h = await fakeHost(t, eHost('TCP001'))
  const gw = await gateway(t, config(h.port, { luRequest: 'connect' }))
  const c = await tn3270eClient(t, gw.port('main'), 'LUA', [2, 4])
  await c.recordAt(0)
  const host = await h.session(0)
  const req = await host.subnegFrom(Opt.TN3270E, 0)
  t.same([...req], [2, 7, ...Buffer.from('IBM-3278-2-E'), 1, ...Buffer.from('DEV1')], 'resource asked by CONNECT')
  t.same([...await host.subnegFrom(Opt.TN3270E, 1)], [3, 7, 2, 4], 'RESPONSES, and SYSREQ because the client has it')

  // Host asks for a definite response (SEQ 40): the client is asked with its own SEQ (1).
  host.sendRecord(Buffer.concat([Buffer.from([0, 0, 2, 0, 40]), screenRecord('Q')]))
  const r = await c.recordAt(1)
  t.same([...r.subarray(0, 5)], [0, 0, 2, 0, 1])
  c.sendRecord(Buffer.from([0x02, 0, 1, 0, 1, 0x01])) // negative, INTERVENTION-REQUIRED
  t.same([...await host.recordAt(0)], [0x02, 0, 1, 0, 40, 0x01], 'relayed to the host with its SEQ')

  // Client asks (SEQ 9): forwarded with ALWAYS-RESPONSE; the host's answer comes back as SEQ 9.
  c.sendRecord(Buffer.from([0, 0, 2, 0, 9, 0x7d]))
  const up = await host.recordAt(1)
  t.same([...up.subarray(0, 3)], [0, 0, 2])
  const hostSeq = up.readUInt16BE(3)
  host.sendRecord(Buffer.from([0x02, 0, 0, hostSeq >> 8, hostSeq & 0xff, 0]))
  t.same([...await c.recordAt(2)], [0x02, 0, 0, 0, 9, 0])
  c.send(IAC, 245) // SYSREQ = IAC AO with the SYSREQ function (RFC 2355 §10.5)
  await host.waitFor('IAC AO', e => e.type === 'command' && e.code === 245)
  c.send(IAC, 244) // ATTN = IAC IP (RFC 2355 §10.4): upstream as IAC IP to a TN3270E host
  await host.waitFor('IAC IP', e => e.type === 'command' && e.code === 244)
  c.end()
  await until('served', () => gw.serving() === 0)

  // A plain client cannot answer: the gateway does once the record is written.
  const p = await plainClient(t, gw.port('main'))
  await p.recordAt(0)
  const host2 = await h.session(1)
  host2.sendRecord(Buffer.concat([Buffer.from([0, 0, 2, 0, 77]), screenRecord('ASK')]))
  t.same(await p.recordAt(1), screenRecord('ASK'), 'no header toward the plain client')
  t.same([...await host2.recordAt(0)], [0x02, 0, 0, 0, 77, 0], 'positive response for SEQ 77 from the gateway')
  p.sendRecord(Buffer.from([0x7d]))
  t.same([...await host2.recordAt(1)], [0, 0, 0, 0, 0, 0x7d], 'header added toward the TN3270E host')
})

t.test('availability: down while the host refuses connects, up when it answers; a refused resource rests for resourceRetryAfter', async t => {
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as { port: number }).port
  await new Promise<void>(resolve => probe.close(() => resolve()))
  const gw = await gateway(t, config(port))
  await until('probe failed', () => gw.lus.lu('LUA')!.reason.startsWith('host link down'))
  t.equal(gw.side.up, false)
  t.equal(await gw.gauge('hostLinkUp', { host: 'H' }), 0)
  t.match(gw.lus.lu('LUA')!.reason, /ECONNREFUSED/)
  t.match(gw.side.status(), { lastProbe: { ok: false } })

  // The host comes up on that port, rejecting DEV1 (like Hercules with the device taken) but
  // serving generic sessions.
  let refusals = 0
  const server = createServer(socket => {
    const p = new HostPeer(socket)
    p.plainHandshake().then(() => {
      if (p.ttype!.endsWith('@DEV1')) { refusals++; p.sendRecord(screenRecord('Connection rejected, device DEV1 unavailable')) } else p.sendRecord(screenRecord('GENERIC'))
    }).catch(() => socket.destroy())
  })
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  const sockets = new Set<Socket>()
  server.on('connection', s => { sockets.add(s) })
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  await until('host link up', () => gw.side.up)
  await until('listener open', () => gw.listeners.isOpen('main'))
  t.equal(await gw.gauge('hostLinkUp', { host: 'H' }), 1)
  t.equal(gw.lus.lu('LUA')!.state, 'free')

  const victim = await tn3270eClient(t, gw.port('main'), 'LUA')
  await victim.waitClosed()
  t.equal(victim.records.length, 0, 'the client never saw the refusal screen')
  t.equal(refusals, 1)
  t.equal(gw.lus.lu('LUA')!.state, 'unavailable')
  t.match(gw.lus.lu('LUA')!.reason, /refused by host: .*Connection rejected, device DEV1 unavailable/)
  t.match(gw.side.status(), { refused: [{ lu: 'LUA' }] })
  await until('served', () => gw.serving() === 0)

  const next = await tn3270eClient(t, gw.port('main'))
  t.same((await next.recordAt(0)).subarray(5), screenRecord('GENERIC'), 'the next client gets the next LU (generic P001)')
  t.equal(gw.lus.lu('P001')!.state, 'in_use')
  await until('LUA back after resourceRetryAfter', () => gw.lus.lu('LUA')!.state === 'free', 3000)
  next.end()
  await until('served', () => gw.serving() === 0)
})

t.test('credit: a client that does not drain stops the gateway reading the host; nothing is lost', async t => {
  const COUNT = 6000
  const big = Buffer.alloc(4000, 0x40)
  let hostSocket: Socket | undefined
  const h = await fakeHost(t, async p => {
    await p.plainHandshake()
    hostSocket = p.socket
    for (let i = 0; i < COUNT; i++) {
      const rec = Buffer.concat([Buffer.from([0xf1, 0xc2, i >> 8, i & 0xff]), big])
      p.sendRecord(rec)
    }
  })
  const gw = await gateway(t, config(h.port, {}, { pacing: { highWaterMark: '16KiB', stallAfter: '100ms' } }))
  const c = await plainClient(t, gw.port('main'))
  await c.recordAt(0)
  c.socket.pause()
  await until('stalled', async () => (await gw.metrics.pacingStalledSessions.get()).values[0]?.value === 1, 10_000)
  t.pass('the session counts as stalled once credit has been owed for stallAfter')
  const before = hostSocket!.writableLength
  await new Promise(resolve => setTimeout(resolve, 300))
  t.ok(before > 0, 'the host still has data it cannot write')
  t.equal(hostSocket!.writableLength, before, 'and none of it moves: the gateway stopped reading the host')
  c.socket.resume()
  await until('all records', () => c.records.length === COUNT, 20_000)
  const order = c.records.map(r => r.readUInt16BE(2))
  t.same(order, Array.from({ length: COUNT }, (_, i) => i), 'in order, none lost')
  await until('unstalled', async () => (await gw.metrics.pacingStalledSessions.get()).values[0]?.value === 0)
  t.ok(((await gw.metrics.pacingCreditWaitSeconds.get()).values.find(v => v.metricName?.endsWith('_count') === true)?.value ?? 0) > 0, 'credit waits observed')
})

t.test('ending: host close ends the client; endAll ends everyone; keepalive toward a mute host aborts it', async t => {
  const h = await fakeHost(t, plainHost('X'))
  const gw = await gateway(t, config(h.port, { keepaliveMethod: 'timingmark', keepaliveInterval: '100ms', keepaliveLimit: 2 }))
  const a = await tn3270eClient(t, gw.port('main'))
  await a.recordAt(0)
  const hostA = await h.session(0)
  // A host that answers DO TIMING-MARK keeps its session.
  await hostA.negotiated('DO', Opt.TIMING_MARK)
  hostA.send(IAC, WONT, Opt.TIMING_MARK)
  hostA.end()
  await a.waitClosed()
  await until('served', () => gw.serving() === 0)
  t.match(gw.ended.at(-1), /host closed/)

  // A host that never answers: limit reached, the host leg is aborted, the client is closed.
  const b = await tn3270eClient(t, gw.port('main'))
  await b.recordAt(0)
  await b.waitClosed(3000)
  await until('served', () => gw.serving() === 0)
  t.match(gw.ended.at(-1), /keepalive toward the host: keepalive to 127\.0\.0\.1:\d+ outstanding for 2 watchdog ticks/)

  const c = await tn3270eClient(t, gw.port('main'))
  await c.recordAt(0)
  await gw.side.endAll('maintenance')
  await c.waitClosed()
  t.match(gw.ended.at(-1), /maintenance/)
  t.equal(gw.serving(), 0)
})

t.test('factory and TLS material errors are clear', async t => {
  const cfg = loadConfig(gatewaySchema, { base: { hosts: [{ name: 'S', link: { type: 'sna', port: 1 } }], pools: [] } })
  const deps = { lus: new LuRegistry(expandPools([]), []), metrics: createGatewayMetrics(new Registry()), logger: silentLogger(), config: cfg }
  t.throws(() => createTn3270HostSide(cfg.hosts[0]!, deps), { code: ErrorCodes.CONFIG_INVALID, message: /hosts\.S\.link\.type = "sna": expected "tn3270"/ })
  t.throws(() => loadTlsMaterial('H', { ca: '/nonexistent/ca.pem', rejectUnauthorized: true }),
    { code: ErrorCodes.CONFIG_INVALID, message: /hosts\.H\.link\.tls\.ca = "\/nonexistent\/ca\.pem": expected PEM text or a readable PEM file/ })
  t.throws(() => loadTlsMaterial('H', { cert: '-----BEGIN CERTIFICATE-----', rejectUnauthorized: true }), { message: /needs both cert and key/ })
  t.same(loadTlsMaterial('H', { ca: '-----BEGIN CERTIFICATE-----x', servername: 'mf', rejectUnauthorized: false }),
    { ca: '-----BEGIN CERTIFICATE-----x', servername: 'mf', rejectUnauthorized: false })
  t.equal(loadTlsMaterial('H', undefined), undefined)
})

t.test('edges: client gone during the upstream connect, host gone at connect time, records typed before the first screen, stray messages', async t => {
  // A host that never finishes negotiating: the client leaves; nothing is blamed on the resource.
  const mute = await fakeHost(t, p => { p.send(IAC, DO, Opt.TTYPE) })
  const gw = await gateway(t, config(mute.port, { connectTimeout: '5s' }))
  const a = await tn3270eClient(t, gw.port('main'), 'LUA')
  await mute.session(0)
  a.destroy()
  await until('served', () => gw.serving() === 0)
  t.match(gw.ended.at(-1), /client closed/)
  t.equal(gw.lus.lu('LUA')!.state, 'free', 'not refused: the client left')
  t.equal(gw.side.up, true)

  // Records typed before the host's first screen are kept and sent once the host is bound.
  const slow = await fakeHost(t, async p => {
    await p.plainHandshake()
    await new Promise(resolve => setTimeout(resolve, 200))
    p.sendRecord(screenRecord('LATE'))
  })
  const gw2 = await gateway(t, config(slow.port))
  const b = await tn3270eClient(t, gw2.port('main'))
  b.sendRecord(Buffer.from([0, 0, 0, 0, 1, 0x7d, 0x11]))
  t.same((await b.recordAt(0)).subarray(5), screenRecord('LATE'))
  const host = await slow.session(0)
  t.same([...await host.recordAt(0)], [0x7d, 0x11], 'the early record reached the host after the bind')
  // Host SCS-DATA has nowhere to go on a display; a stray RESPONSE from the client is ignored.
  host.sendRecord(Buffer.from([0x40, 0x40]))
  b.sendRecord(Buffer.from([0x02, 0, 0, 0, 99, 0]))
  b.sendRecord(Buffer.from([0, 0, 0, 0, 2, 0x6d]))
  t.same([...await host.recordAt(1)], [0x6d])
  t.equal(b.records.length, 2, 'host records relayed')
  b.end()
  await until('served', () => gw2.serving() === 0)

  // The host stops answering between probes: the session connect fails, the link goes down.
  const gone = await fakeHost(t, plainHost('X'))
  const gw3 = await gateway(t, config(gone.port, { probeInterval: '1h' }))
  for (const p of gone.peers) p.destroy()
  await new Promise<void>(resolve => gone.server.close(() => resolve()))
  const c = await tn3270eClient(t, gw3.port('main'), 'LUA')
  await c.waitClosed()
  await until('served', () => gw3.serving() === 0)
  await until('the probe that followed found the link down', () => !gw3.side.up)
  t.match(gw3.ended.at(-1), /host unreachable for resource DEV1: connect to 127\.0\.0\.1:\d+ failed: ECONNREFUSED/)
  t.match(gw3.lus.lu('LUA')!.reason, /host link down/)
  t.equal(await gw3.gauge('hostLinkUp', { host: 'H' }), 0)
  await until('listener closed', () => !gw3.listeners.isOpen('main'))
})

t.test('a host out of devices rests every generic LU until one of its sessions ends', async t => {
  let live = 0
  const h = await fakeHost(t, async p => {
    await p.plainHandshake()
    if (live >= 1) { p.sendRecord(screenRecord('Connection rejected, no available 3270 device')); return }
    live++
    p.socket.once('close', () => { live-- })
    p.sendRecord(screenRecord('SESSION'))
  })
  const raw = config(h.port, { resourceRetryAfter: '1h' })
  raw.pools = [{ name: 'P', host: 'H', generic: 3 }]
  const gw = await gateway(t, raw)
  const a = await tn3270eClient(t, gw.port('main'))
  t.same((await a.recordAt(0)).subarray(5), screenRecord('SESSION'))
  const b = await tn3270eClient(t, gw.port('main'))
  await b.waitClosed()
  t.equal(b.records.length, 0, 'refused client saw nothing')
  await until('generic LUs resting', () => ['P002', 'P003'].every(n => gw.lus.lu(n)!.state === 'unavailable'))
  t.match(gw.lus.lu('P003')!.reason, /host out of devices/)
  await until('listener closed', () => !gw.listeners.isOpen('main'))
  a.end()
  await until('listener reopened after a device was freed', () => gw.listeners.isOpen('main'))
  t.equal(gw.lus.counts()[0]!.free, 3)
  const c = await tn3270eClient(t, gw.port('main'))
  t.same((await c.recordAt(0)).subarray(5), screenRecord('SESSION'))
})

t.test('TLS to the host: CA file, server name and a client certificate from the config', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tn3270-host-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=zos.test',
    '-addext', 'subjectAltName=DNS:zos.test', '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  const { readFileSync } = await import('node:fs')
  const cert = readFileSync(join(dir, 'cert.pem'))
  const key = readFileSync(join(dir, 'key.pem'))
  const peers: string[] = []
  const server = createTlsServer({ cert, key, ca: cert, requestCert: true, rejectUnauthorized: true }, socket => {
    socket.on('error', () => {})
    peers.push(String((socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''))
    const p = new HostPeer(socket)
    p.plainHandshake().then(() => { p.sendRecord(screenRecord('SECURE')) }).catch(() => socket.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const tls = { ca: join(dir, 'cert.pem'), servername: 'zos.test', cert: join(dir, 'cert.pem'), key: key.toString() }
  const gw = await gateway(t, config(port, { tls }))
  t.match(gw.side.status(), { tls: true, lastProbe: { ok: true } })
  const c = await tn3270eClient(t, gw.port('main'), 'LUA')
  t.same((await c.recordAt(0)).subarray(5), screenRecord('SECURE'))
  t.ok(peers.includes('zos.test'), 'the host saw the gateway\'s client certificate')
  c.end()
  await until('served', () => gw.serving() === 0)

  // Without the client certificate the host refuses the handshake: the link is down.
  const gw2 = await gateway(t, config(port, { tls: { ca: tls.ca, servername: 'zos.test' } }))
  await until('probe failed', () => gw2.lus.lu('LUA')!.reason.startsWith('host link down'))
  t.equal(gw2.side.up, false)
  t.match(gw2.lus.lu('LUA')!.reason, /before speaking telnet/)
})

t.test('a host still freeing the device an LU just had is retried before the resource is blamed', async t => {
  let lastClose = 0
  let refused = 0
  const h = await fakeHost(t, async p => {
    await p.plainHandshake()
    if (Date.now() - lastClose < 400) { refused++; p.sendRecord(screenRecord('Connection rejected, device DEV1 unavailable')); return }
    p.socket.once('close', () => { lastClose = Date.now() })
    p.sendRecord(screenRecord('SESSION'))
  })
  const gw = await gateway(t, config(h.port, { resourceRetryAfter: '1h' }))
  const a = await tn3270eClient(t, gw.port('main'), 'LUA')
  await a.recordAt(0)
  a.end()
  await until('LUA free', () => gw.lus.lu('LUA')!.state === 'free')
  const b = await tn3270eClient(t, gw.port('main'), 'LUA')
  t.same((await b.recordAt(0)).subarray(5), screenRecord('SESSION'), 'served after the host finished freeing the device')
  t.ok(refused >= 1, 'the host did refuse at first')
  t.equal(gw.lus.lu('LUA')!.state, 'in_use', 'not taken out of rotation')
})

t.test('records typed before the host\'s first screen are bounded; host data other than 3270-DATA is not relayed', async t => {
  // A host slow to paint: the client types more than pacing.inboundQueueLimit records meanwhile.
  const slow = await fakeHost(t, async p => {
    await p.plainHandshake()
    await new Promise(resolve => setTimeout(resolve, 300))
    p.sendRecord(screenRecord('LATE'))
  })
  const gw = await gateway(t, config(slow.port, {}, { pacing: { inboundQueueLimit: 2 } }))
  const c = await tn3270eClient(t, gw.port('main'))
  for (let i = 0; i < 3; i++) c.sendRecord(Buffer.from([0, 0, 0, 0, i, 0x7d]))
  await c.waitClosed()
  await until('served', () => gw.serving() === 0)
  t.match(gw.ended.at(-1), /client sent more than 2 records before the host session was up/)

  // SCS-DATA from a TN3270E host has nowhere to go on a display session.
  const e = await fakeHost(t, async p => {
    await eHost('TCP001')(p)
    p.sendRecord(Buffer.from([0x01, 0, 0, 0, 1, 0x40]))
    p.sendRecord(Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), screenRecord('AFTER')]))
  })
  const gw2 = await gateway(t, config(e.port, { luRequest: 'connect' }))
  const d = await tn3270eClient(t, gw2.port('main'), 'LUA')
  t.same((await d.recordAt(1)).subarray(5), screenRecord('AFTER'), 'the SCS record was dropped, the next screen relayed')
  d.end()
})

t.test('a printer LU on a tn3270 link: IBM-3287-1 upstream with SCS-CTL-CODES, SCS-DATA and PRINT-EOJ relayed in order (RFC 2355 §7.1, §10.3)', async t => {
  const h = await fakeHost(t, async p => {
    const req = await p.tn3270eStart()
    const type = req.subarray(2, req.indexOf(1, 2)).toString('latin1')
    p.subneg(Opt.TN3270E, [2, 4, ...Buffer.from(type), 1, ...Buffer.from('PRT001')])
    const fns = await p.subnegFrom(Opt.TN3270E, 1)
    p.subneg(Opt.TN3270E, [3, 4, ...fns.subarray(2)])
  })
  const gw = await gateway(t, config(h.port, { luRequest: 'connect' }, {
    listeners: [{ name: 'main', port: 0, pools: ['PP'] }],
    pools: [{ name: 'PP', host: 'H', kind: 'printer', luType: 'lu1', lus: [{ name: 'PRA', resource: 'PRT1' }] }],
  }))
  const socket = connect(gw.port('main'), '127.0.0.1')
  const c = new HostPeer(socket)
  t.teardown(() => socket.destroy())
  await c.negotiated('DO', Opt.TN3270E)
  c.send(IAC, WILL, Opt.TN3270E)
  await c.waitFor('SEND DEVICE-TYPE', e => e.type === 'subneg' && e.option === Opt.TN3270E)
  c.subneg(Opt.TN3270E, [2, 7, ...Buffer.from('IBM-3287-1'), 1, ...Buffer.from('PRA')])
  t.same([...await c.subnegFrom(Opt.TN3270E, 1)], [2, 4, ...Buffer.from('IBM-3287-1'), 1, ...Buffer.from('PRA')], 'DEVICE-TYPE IS IBM-3287-1 CONNECT PRA')
  c.subneg(Opt.TN3270E, [3, 7, 0, 1, 2, 3, 4]) // pr3287's list
  t.same([...await c.subnegFrom(Opt.TN3270E, 2)], [3, 7, 2, 3], 'the gateway offers RESPONSES and SCS-CTL-CODES to an SCS printer')
  c.subneg(Opt.TN3270E, [3, 4, 2, 3])

  const host = await h.session(0)
  const req = await host.subnegFrom(Opt.TN3270E, 0)
  t.same([...req], [2, 7, ...Buffer.from('IBM-3287-1'), 1, ...Buffer.from('PRT1')], 'the printer asked upstream as a 3287 with its resource')
  t.same([...await host.subnegFrom(Opt.TN3270E, 1)], [3, 7, 2, 3], 'RESPONSES and SCS-CTL-CODES asked of the host')
  // A job: SCS-DATA (X'01') with text and NL, then PRINT-EOJ (X'08').
  const scs = Buffer.from([0xc8, 0xc5, 0xd3, 0xd3, 0xd6, 0x15])
  host.sendRecord(Buffer.concat([Buffer.from([0x01, 0, 0, 0, 1]), scs]))
  host.sendRecord(Buffer.from([0x08, 0, 0, 0, 2]))
  const first = await c.recordAt(0)
  t.same([...first.subarray(0, 3)], [0x01, 0, 0], 'SCS-DATA to the printer')
  t.same(first.subarray(5), scs)
  t.same([...(await c.recordAt(1)).subarray(0, 1)], [0x08], 'then PRINT-EOJ')
  c.end()
  await until('served', () => gw.serving() === 0)
})
