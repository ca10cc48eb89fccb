// The connection pipeline (lib/gateway/pipeline.ts, connection.ts) on real sockets, with a
// scripted host side: a connection that ends in any phase is counted once in
// tn3270_gateway_connections_total with the right result, logs exactly one line, gives back what
// it held (pending slot, reservation, lease) and reports the phase to onConnectionEnd.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import { connect, createServer, Socket } from 'node:net'
import { systemClock } from '../../lib/clock.js'
import { gatewaySchema, loadConfig, type GatewayConfig } from '../../lib/config/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import type { ClientBinding, ConnectionEndInfo, HostSide, HostSideEvents } from '../../lib/gateway/index.js'
import { ConnectionPipeline, type PipelineOptions } from '../../lib/gateway/pipeline.js'
import { ClientLimits } from '../../lib/gateway/client-limits.js'
import { ClientConnection, type ConnectionStage } from '../../lib/gateway/connection.js'
import { ListenerAllocator } from '../../lib/gateway/allocator.js'
import { expandPools, LuRegistry } from '../../lib/gateway/lu-pool.js'
import { createGatewayMetrics, Registry, type Logger } from '../../lib/observability/index.js'
import { customTlv, encodeProxyV2, PP2_TYPE_TN3270_NEGOTIATION } from '../../lib/proxy-protocol/index.js'
import { encodeSnapshot } from '../../lib/tn3270/index.js'
import { Opt } from '../../lib/telnet/index.js'
import { HostPeer, IAC, WILL, screenRecord } from '../hostlink/tn3270-fake-host.js'
import pino from 'pino'

type Line = Record<string, any>

/** A host side that serves by painting one screen and waiting for the client to leave. */
class ScriptedHost extends EventEmitter<HostSideEvents> implements HostSide {
  readonly name = 'H'
  readonly type = 'tn3270' as const
  readonly up = true
  readonly bindImage = false
  readonly lu62 = undefined
  readonly bindings: ClientBinding[] = []
  /** Serve with a bug: throw after taking the session. */
  failing = false
  start (): void {}
  adoptLus (): void {}
  async serve (b: ClientBinding): Promise<void> {
    this.bindings.push(b)
    if (this.failing) throw new Error('host side bug')
    b.session.send3270(screenRecord('HELLO'))
    await new Promise<void>(resolve => {
      const done = (reason: string): void => { b.onEnd(`client closed: ${reason}`); resolve() }
      if (b.session.closed) done('already closed')
      else b.session.once('close', done)
    })
  }
  async endAll (): Promise<void> {}
  async close (): Promise<void> {}
  status (): Record<string, unknown> { return {} }
}

interface Rig {
  config: GatewayConfig
  lus: LuRegistry
  pipeline: ConnectionPipeline
  host: ScriptedHost
  lines: Line[]
  ends: ConnectionEndInfo[]
  port: number
  metric: (name: 'connections' | 'sessionsActive' | 'negotiationSeconds' | 'clientLimitRefusals', labels?: Record<string, string>) => Promise<number>
}

async function rig (t: Test, raw: Record<string, unknown> = {}, stages?: (o: PipelineOptions) => ConnectionStage[]): Promise<Rig> {
  const config = loadConfig(gatewaySchema, {
    base: {
      name: 'gw-pipe',
      listeners: [{ name: 'main', port: 0, pools: ['P'] }],
      hosts: [{ name: 'H', link: { type: 'tn3270', port: 1 } }],
      pools: [{ name: 'P', host: 'H', lus: [{ name: 'LU1', resource: 'D1' }, { name: 'LU2', resource: 'D2' }] }],
      negotiation: { timeout: '2s' },
      ...raw,
    },
  })
  const lus = new LuRegistry(expandPools(config.pools), config.pools.map(p => ({ name: p.name, host: p.host })))
  for (const lu of lus.all()) lus.activate(lu.name)
  const lines: Line[] = []
  const logger: Logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)) } })
  const registry = new Registry()
  const metrics = createGatewayMetrics(registry)
  const host = new ScriptedHost()
  const ends: ConnectionEndInfo[] = []
  const opts: PipelineOptions = { config, lus, hosts: new Map([['H', host]]), metrics, logger, clock: systemClock, onConnectionEnd: i => { ends.push(i) } }
  const pipeline = new ConnectionPipeline(opts, stages?.(opts))
  const listener = config.listeners[0]!
  const server = createServer(socket => { pipeline.accept({ socket, listener, reservation: lus.reserve(listener.pools) }) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    pipeline.endAll('test over')
    await pipeline.settled()
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
  const metric: Rig['metric'] = async (name, labels = {}) => {
    const m = await metrics[name].get()
    const want = name === 'negotiationSeconds' ? 'tn3270_gateway_negotiation_seconds_count' : undefined
    return m.values.filter(v => (want === undefined || (v as { metricName?: string }).metricName === want) && Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
      .reduce((sum, v) => sum + v.value, 0)
  }
  return { config, lus, pipeline, host, lines, ends, port: (server.address() as { port: number }).port, metric }
}

async function open (t: Test, port: number, localAddress?: string): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) })
  t.teardown(() => s.destroy())
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  return s
}

/** TN3270E up to DEVICE-TYPE REQUEST (RFC 2355 §7.1); the server's answer is returned. */
async function requestDevice (peer: HostPeer, connectName?: string): Promise<Buffer> {
  await peer.negotiated('DO', Opt.TN3270E)
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.waitFor('SEND DEVICE-TYPE', e => e.type === 'subneg' && e.option === Opt.TN3270E)
  peer.subneg(Opt.TN3270E, [2, 7, ...Buffer.from('IBM-3278-2-E'), ...(connectName === undefined ? [] : [1, ...Buffer.from(connectName)])])
  return await peer.subnegFrom(Opt.TN3270E, 1)
}

async function session (t: Test, port: number, connectName?: string): Promise<HostPeer> {
  const peer = new HostPeer(await open(t, port))
  const is = await requestDevice(peer, connectName)
  t.equal(is[1], 4, 'DEVICE-TYPE IS')
  peer.subneg(Opt.TN3270E, [3, 7, 2])
  await peer.subnegFrom(Opt.TN3270E, 2)
  await peer.recordAt(0)
  return peer
}

const ended = async (r: Rig, n: number): Promise<void> => { while (r.ends.length < n) await new Promise(resolve => setTimeout(resolve, 5)) }
const endLines = (r: Rig): Line[] => r.lines.filter(l => l.event === 'connection_end' || l.event === 'session_end')

t.test('serving: accepted once, session_start and one session_end line, lease released, sessions_active back to 0', async t => {
  const r = await rig(t)
  const c = await session(t, r.port, 'LU1')
  t.equal(r.pipeline.sessions, 1)
  t.equal(r.pipeline.negotiating, 0)
  t.equal(r.lus.lu('LU1')!.state, 'in_use')
  t.equal(await r.metric('sessionsActive', { pool: 'P', mode: 'tn3270e' }), 1)
  t.equal(await r.metric('connections', { result: 'accepted' }), 1)
  t.equal(await r.metric('negotiationSeconds'), 1)
  t.match(r.lines.filter(l => l.event === 'session_start'), [{ lu: 'LU1', pool: 'P', mode: 'tn3270e', listener: 'main', msg: 'client session started' }])
  c.end()
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'serving', result: 'accepted', lu: 'LU1', pool: 'P', mode: 'tn3270e', listener: 'main', reason: /client closed/ }])
  t.match(endLines(r), [{ event: 'session_end', lu: 'LU1', reason: /client closed/, level: 30 }])
  t.equal(r.lus.lu('LU1')!.state, 'free', 'lease released')
  t.equal(r.lus.spare('P'), 2, 'no reservation left behind')
  t.equal(await r.metric('sessionsActive', { pool: 'P', mode: 'tn3270e' }), 0)
  t.equal(await r.metric('connections'), 1, 'counted once')
  t.equal(r.pipeline.sessions, 0)
})

t.test('negotiating: DEVICE-IN-USE is rejected_resource, a client that leaves is rejected_error; one info line each', async t => {
  const r = await rig(t)
  const holder = await session(t, r.port, 'LU1')
  const refused = new HostPeer(await open(t, r.port))
  const reject = await requestDevice(refused, 'LU1')
  t.same([...reject.subarray(0, 2)], [2, 6], 'DEVICE-TYPE REJECT')
  refused.destroy()
  await ended(r, 1)
  t.match(r.ends[0], { phase: 'negotiating', result: 'rejected_resource' })
  t.equal(await r.metric('connections', { result: 'rejected_resource' }), 1)

  const quitter = await open(t, r.port)
  await new HostPeer(quitter).negotiated('DO', Opt.TN3270E)
  t.equal(r.pipeline.negotiating, 1, 'counted as negotiating')
  quitter.destroy()
  await ended(r, 2)
  t.match(r.ends[1], { phase: 'negotiating', result: 'rejected_error' })
  t.equal(await r.metric('connections', { result: 'rejected_error' }), 1)
  const lines = endLines(r)
  t.equal(lines.length, 2, 'one line per connection')
  t.match(lines, [{ phase: 'negotiating', result: 'rejected_resource', level: 30, msg: 'connection ended before a session started' }, { phase: 'negotiating', result: 'rejected_error' }])
  t.equal(r.lus.spare('P'), 1, 'only the holder\'s LU is taken: reservations given back')
  holder.end()
})

t.test('proxy-header: an untrusted PROXY header is refused before negotiation, one warn line with its code', async t => {
  const r = await rig(t, { listeners: [{ name: 'main', port: 0, pools: ['P'], proxyProtocol: { mode: 'required', trustedSources: ['10.0.0.0/8'] } }] })
  const s = await open(t, r.port)
  s.write(encodeProxyV2({ src: { address: '192.0.2.7', port: 4000 }, dst: { address: '127.0.0.1', port: r.port } }))
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'proxy-header', result: 'rejected_error', code: ErrorCodes.PROXY_HEADER_UNTRUSTED, client: `127.0.0.1:${s.localPort!}` }])
  t.match(endLines(r), [{ level: 40, msg: 'connection rejected', code: ErrorCodes.PROXY_HEADER_UNTRUSTED, reason: /trusted/ }])
  t.equal(await r.metric('connections', { result: 'rejected_error' }), 1)
  t.equal(r.lus.spare('P'), 2, 'reservation given back')
  await new Promise<void>(resolve => { if (s.destroyed || s.readableEnded) resolve(); else s.once('close', () => resolve()) })
  t.pass('the socket was closed')
})

t.test('proxy-header: a trusted header gives the identity used for the session', async t => {
  const r = await rig(t, { listeners: [{ name: 'main', port: 0, pools: ['P'], proxyProtocol: { mode: 'required', trustedSources: ['127.0.0.0/8'] } }] })
  const s = await open(t, r.port)
  s.write(encodeProxyV2({ src: { address: '192.0.2.7', port: 4000 }, dst: { address: '127.0.0.1', port: r.port } }))
  const peer = new HostPeer(s)
  t.equal((await requestDevice(peer))[1], 4)
  peer.subneg(Opt.TN3270E, [3, 7])
  await peer.recordAt(0)
  t.match(r.lines.find(l => l.event === 'session_start'), { client: '192.0.2.7:4000' })
  t.equal(r.host.bindings[0]!.session.client, '192.0.2.7:4000')
  peer.end()
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'serving', client: '192.0.2.7:4000' }])
})

t.test('handover: a trusted header with the TN3270 negotiation TLV resumes at the request; the answer is the first byte (docs/routing.md)', async t => {
  const r = await rig(t, { listeners: [{ name: 'main', port: 0, pools: ['P'], proxyProtocol: { mode: 'required', trustedSources: ['127.0.0.0/8'] } }] })
  const snapshot = encodeSnapshot({ mode: 'tn3270e', options: [{ option: Opt.TN3270E, local: false, remote: true }], request: { deviceType: 'IBM-3278-2-E', connect: 'LU2' } })
  const s = await open(t, r.port)
  s.write(encodeProxyV2({ src: { address: '192.0.2.7', port: 4000 }, dst: { address: '127.0.0.1', port: r.port }, tlvs: [customTlv(PP2_TYPE_TN3270_NEGOTIATION, snapshot)] }))
  const peer = new HostPeer(s)
  const is = await peer.subnegFrom(Opt.TN3270E, 0)
  t.same(is, Buffer.from([2, 4, ...Buffer.from('IBM-3278-2-E'), 1, ...Buffer.from('LU2')]), 'DEVICE-TYPE IS ... CONNECT LU2, with no DO TN3270E or SEND DEVICE-TYPE before it')
  t.equal(peer.events[0]?.type, 'subneg', 'the very first thing the gateway wrote')
  peer.subneg(Opt.TN3270E, [3, 7, 2])
  await peer.subnegFrom(Opt.TN3270E, 1)
  await peer.recordAt(0)
  t.match(r.lines.find(l => l.event === 'session_start'), { client: '192.0.2.7:4000', lu: 'LU2', mode: 'tn3270e' })
  peer.end()
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'serving', result: 'accepted', lu: 'LU2' }])
})

t.test('handover: a refused request is answered like any other; the proxy closes and the connection counts rejected_resource', async t => {
  const r = await rig(t, { listeners: [{ name: 'main', port: 0, pools: ['P'], proxyProtocol: { mode: 'optional', trustedSources: ['127.0.0.0/8'] } }] })
  const holder = await session(t, r.port, 'LU1')
  const snapshot = encodeSnapshot({ mode: 'tn3270', options: [{ option: Opt.TTYPE, local: false, remote: true }], terminalType: 'IBM-3278-2@LU1' })
  const s = await open(t, r.port)
  s.write(encodeProxyV2({ src: { address: '192.0.2.7', port: 4001 }, dst: { address: '127.0.0.1', port: r.port }, tlvs: [customTlv(PP2_TYPE_TN3270_NEGOTIATION, snapshot)] }))
  const peer = new HostPeer(s)
  const send = await peer.subnegFrom(Opt.TTYPE, 0)
  t.same([...send], [1], 'TN3270: TTYPE SEND asks for the next name (RFC 1091)')
  s.destroy()
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'negotiating', result: 'rejected_resource', client: '192.0.2.7:4001' }])
  holder.end()
})

t.test('handover: a malformed snapshot ends the connection at once, TN3270_SNAPSHOT_MALFORMED, nothing written', async t => {
  const r = await rig(t, { listeners: [{ name: 'main', port: 0, pools: ['P'], proxyProtocol: { mode: 'required', trustedSources: ['127.0.0.0/8'] } }] })
  const s = await open(t, r.port)
  const got: Buffer[] = []
  s.on('data', (c: Buffer) => got.push(c))
  const closed = new Promise<void>(resolve => s.once('close', () => resolve()))
  s.write(encodeProxyV2({ src: { address: '192.0.2.7', port: 4002 }, dst: { address: '127.0.0.1', port: r.port }, tlvs: [customTlv(PP2_TYPE_TN3270_NEGOTIATION, Buffer.from([9, 9]))] }))
  await ended(r, 1)
  await closed
  t.equal(Buffer.concat(got).length, 0, 'no negotiation byte')
  t.match(r.ends, [{ phase: 'negotiating', result: 'rejected_error', code: ErrorCodes.TN3270_SNAPSHOT_MALFORMED, reason: /unsupported version 9/ }])
  t.equal(r.lus.spare('P'), 2, 'reservation given back')
})

t.test('admission: over maxPendingPerClient a connection is refused at once with one warn line', async t => {
  const r = await rig(t, { negotiation: { timeout: '2s', maxPendingPerClient: 1 } })
  const first = await open(t, r.port, '127.0.0.3')
  await new HostPeer(first).negotiated('DO', Opt.TN3270E)
  await open(t, r.port, '127.0.0.3')
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'admission', result: 'rejected_error', code: ErrorCodes.CLIENT_PENDING_LIMIT }])
  t.match(endLines(r), [{ level: 40, msg: 'connection refused: too many connections from this client still negotiating', pending: 1, limit: 1 }])
  t.equal(r.lus.spare('P'), 1, 'the refused connection gave its reservation back')
  t.equal(await r.metric('clientLimitRefusals', { limit: 'pending' }), 1, 'counted as a pending-cap refusal')
  first.destroy()
  await ended(r, 2)
  const again = await session(t, r.port)
  t.pass('the client may negotiate again once its slot is free')
  again.end()
})

t.test('admission: maxSessionsPerClient counts a client\'s sessions and negotiating connections together', async t => {
  const r = await rig(t, { maxSessionsPerClient: 1 })
  const held = await session(t, r.port)
  await open(t, r.port)
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'admission', result: 'rejected_error', code: ErrorCodes.CLIENT_SESSION_LIMIT }])
  t.match(endLines(r), [{ level: 40, msg: 'connection refused: too many connections from this client', connections: 1, limit: 1 }])
  t.equal(await r.metric('clientLimitRefusals', { limit: 'sessions' }), 1)
  held.end()
})

t.test('admission: behind a trusted proxy each client is capped by its own address, never the proxy\'s', async t => {
  const r = await rig(t, { negotiation: { timeout: '2s', maxPendingPerClient: 1 }, listeners: [{ name: 'main', port: 0, pools: ['P'], proxyProtocol: { mode: 'optional', trustedSources: ['127.0.0.0/8'] } }] })
  const via = async (client: string): Promise<Socket> => {
    const s = await open(t, r.port)
    s.write(encodeProxyV2({ src: { address: client, port: 4000 }, dst: { address: '127.0.0.1', port: r.port } }))
    return s
  }
  const a = await via('192.0.2.7')
  const b = await via('192.0.2.8')
  await new HostPeer(a).negotiated('DO', Opt.TN3270E)
  await new HostPeer(b).negotiated('DO', Opt.TN3270E)
  t.equal(r.pipeline.negotiating, 2, 'two clients behind one proxy address: one slot each')
  await via('192.0.2.7')
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'admission', code: ErrorCodes.CLIENT_PENDING_LIMIT, client: '192.0.2.7:4000' }])
  a.destroy(); b.destroy()
})

t.test('ClientLimits: slots are counted per address and given back once', async t => {
  const limits = new ClientLimits()
  const caps = { pending: 1, sessions: 2 }
  const a = limits.admit('x', caps)
  t.ok(a.ok)
  t.match(limits.admit('x', caps), { ok: false, limit: 'pending', count: 1, max: 1 })
  if (!a.ok) return
  a.slot.settle(); a.slot.settle()
  t.equal(limits.count('x', 'pending'), 0, 'settle is idempotent')
  const b = limits.admit('x', caps)
  t.ok(b.ok, 'settled: room for another negotiating connection')
  t.match(limits.admit('x', caps), { ok: false, limit: 'sessions', count: 2, max: 2 })
  a.slot.release(); a.slot.release()
  t.equal(limits.count('x', 'sessions'), 1, 'release is idempotent')
  if (b.ok) b.slot.release()
  t.equal(limits.count('x', 'sessions'), 0)
  t.equal(limits.count('x', 'pending'), 0, 'a pending slot released without settling')
  t.ok(limits.admit('y', { pending: 0, sessions: 0 }).ok, '0 = no cap')
})

t.test('ending from outside: before serving the socket is dropped (reason kept), a session is closed', async t => {
  let extra = 0
  const r = await rig(t, {}, o => {
    const [header, admission, tls, negotiate, serve] = new ConnectionPipeline(o).stages
    const added: ConnectionStage = { phase: 'tls', run: conn => { conn.useSocket(conn.socket); extra++ } }
    return [header!, admission!, tls!, added, negotiate!, serve!]
  })
  const s = await open(t, r.port)
  await new HostPeer(s).negotiated('DO', Opt.TN3270E)
  r.pipeline.endAll('gateway stopping')
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'negotiating', result: 'rejected_error', reason: 'gateway stopping' }])
  t.equal(extra, 1, 'an added stage runs in order')

  const c = await session(t, r.port)
  r.pipeline.endAll('gateway stopping')
  await ended(r, 2)
  t.match(r.ends[1], { phase: 'serving', reason: /client closed: gateway stopping/ })
  await c.waitClosed()
  t.equal(r.lus.counts()[0]!.free, 2)
})

t.test('a stage may hand the next stages another socket; no stages at all still ends once', async t => {
  const r = await rig(t)
  const lines: Line[] = []
  const ends: ConnectionEndInfo[] = []
  const listener = r.config.listeners[0]!
  const allocator = new ListenerAllocator({ registry: r.lus, pools: ['P'], reservation: r.lus.reserve(['P'])!, sendsBindImage: () => false })
  const accepted = new Socket()
  const wrapped = new Socket()
  const logger: Logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)) } })
  const conn = new ClientConnection({ socket: accepted, listener, allocator }, { metrics: createGatewayMetrics(new Registry()), logger, clock: systemClock, onEnd: i => { ends.push(i) } })
  t.equal(conn.phase, 'proxy-header')
  conn.useSocket(wrapped)
  t.equal(conn.socket, wrapped)
  await conn.run([])
  t.equal(conn.phase, 'closed')
  t.match(ends, [{ phase: 'proxy-header', result: 'rejected_error', reason: 'ended' }])
  t.equal(lines.length, 1)
  t.ok(wrapped.destroyed, 'the socket in use was closed')
  t.equal(r.lus.spare('P'), 2, 'reservation given back')
  conn.end('late')
  t.equal(ends.length, 1, 'ends once')

  let laterRan = false
  const stopping = new ClientConnection({ socket: new Socket(), listener, allocator }, { metrics: createGatewayMetrics(new Registry()), logger, clock: systemClock, onEnd: i => { ends.push(i) } })
  await stopping.run([
    { phase: 'proxy-header', run: c => { c.end('gateway stopping') } },
    { phase: 'negotiating', run: () => { laterRan = true } },
  ])
  t.equal(laterRan, false, 'no stage runs after an end from outside')
  t.match(ends.at(-1), { phase: 'proxy-header', reason: 'gateway stopping' })

  const throwing = new ClientConnection({ socket: new Socket(), listener, allocator }, { metrics: createGatewayMetrics(new Registry()), logger, clock: systemClock, onEnd: () => { throw new Error('hook bug') } })
  await throwing.run([])
  t.match(lines.at(-1), { level: 50, err: 'hook bug', msg: 'onConnectionEnd hook failed' }, 'a failing end hook is logged, not thrown')
})

t.test('a host side that fails still ends the session once: the LU goes back and the error is logged', async t => {
  const r = await rig(t)
  r.host.failing = true
  const peer = new HostPeer(await open(t, r.port))
  t.equal((await requestDevice(peer))[1], 4)
  peer.subneg(Opt.TN3270E, [3, 7])
  await ended(r, 1)
  t.match(r.ends, [{ phase: 'serving', result: 'accepted', reason: 'gateway error: host side bug' }])
  t.match(r.lines.find(l => l.level === 50), { msg: 'connection handler failed' })
  await peer.waitClosed()
  t.pass('the client is closed')
  t.equal(r.lus.lu('LU1')!.state, 'free')
  t.equal(await r.metric('sessionsActive', { pool: 'P', mode: 'tn3270e' }), 0)
})
