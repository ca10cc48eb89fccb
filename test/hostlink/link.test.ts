// The sna host link on real sockets (port 0): HELLO both ways, PIUs, segmentation, keepalive,
// reconnect with backoff, bad frames, and nothing left behind after close.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import net from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises'
import { type Clock } from '../../lib/clock.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'
import {
  SnaLink, SnaLinkClient, SnaLinkServer, linkDefaults, makeHello, encodeHello, encodePiu, encodePing, encodePong, encodeBye, PROTOCOL,
  type DownInfo, type Hello, type SnaLinkClientOptions, type SnaLinkServerOptions,
} from '../../lib/hostlink/index.js'
import { TrackingClock, captureLogger, tcpHandles, rawConnect, rawServer, waitFor, type RawPeer } from './helpers.js'

const LUS = [{ name: 'GW1A0001', locaddr: 2 }, { name: 'GW1A0002', locaddr: 3 }]

async function startServer (t: Test, over: Partial<SnaLinkServerOptions> = {}) {
  const { logger, lines } = captureLogger()
  const server = new SnaLinkServer({ node: 'HOSTA', port: 0, logger, ...over })
  const addr = await server.listen()
  t.teardown(() => server.close())
  return { server, port: addr.port, lines }
}

function client (t: Test, port: number, over: Partial<SnaLinkClientOptions> = {}) {
  const { logger, lines } = captureLogger()
  const c = new SnaLinkClient({ host: '127.0.0.1', port, node: 'GW1', lus: LUS, expectNode: 'HOSTA', logger, ...over })
  t.teardown(() => c.close())
  return { c, lines }
}

const nextLink = (server: SnaLinkServer) => once(server, 'link').then(([l]) => l as SnaLink)
/** 'link' listeners must subscribe synchronously: PIUs sent right behind the HELLO follow at once. */
function nextLinkPius (server: SnaLinkServer, got: Buffer[]): Promise<SnaLink> {
  return new Promise(resolve => server.once('link', l => { l.on('piu', p => got.push(p)); resolve(l) }))
}
/** Round trip through the link: once our PING is answered, everything we sent before it was processed. */
let syncId = 0x8000_0000
async function sync (raw: RawPeer): Promise<void> {
  const id = ++syncId
  raw.socket.write(encodePing(id))
  for (;;) if ((await raw.next('PONG') as { id: number }).id === id) return
}

const gwHelloFrame = (over: Partial<Hello> = {}) => encodeHello({ ...makeHello('gateway', 'GW9', LUS), ...over })

t.test('HELLO both ways, PIUs both directions, nothing left after close', async t => {
  const handlesBefore = tcpHandles()
  const clientClock = new TrackingClock()
  const serverClock = new TrackingClock()
  const { server, port } = await startServer(t, { clock: serverClock })
  const { c } = client(t, port, { clock: clientClock })
  t.throws(() => c.send(Buffer.from([1])), { code: ErrorCodes.HOSTLINK_DOWN, message: /is idle; PIU of 1 bytes not sent/ })
  const linked = nextLink(server)
  c.start(); c.start()
  const [hostHello] = await once(c, 'up') as [Hello]
  const link = await linked
  t.same(hostHello, { protocol: PROTOCOL, version: 1, role: 'host', node: 'HOSTA' })
  t.same(c.peer, hostHello)
  t.same(link.peer, { protocol: PROTOCOL, version: 1, role: 'gateway', node: 'GW1', lus: LUS })
  t.ok(c.isUp)
  t.equal(c.state, 'up')
  t.equal(server.links.size, 1)
  t.match(link.remote, /^127\.0\.0\.1:\d+$/)

  const up = Buffer.from('2d00000100010b8000', 'hex')
  const gotUp = once(link, 'piu')
  t.equal(c.send(up), true)
  t.same((await gotUp)[0], up)
  const downs: Buffer[] = []
  c.on('piu', p => downs.push(p))
  for (let i = 1; i <= 50; i++) link.send(Buffer.alloc(i, i))
  while (downs.length < 50) await once(c, 'piu')
  t.same(downs.map(b => b.length), Array.from({ length: 50 }, (_, i) => i + 1), 'in order, whole')
  t.ok(downs.every((b, i) => b.every(x => x === i + 1)))
  t.throws(() => c.send(Buffer.alloc(0)), { code: ErrorCodes.HOSTLINK_FRAME })
  t.throws(() => link.send(Buffer.alloc(65537)), { code: ErrorCodes.HOSTLINK_FRAME })

  const linkDown = once(link, 'down') as Promise<[string, DownInfo]>
  const clientDown = once(c, 'down') as Promise<[string, DownInfo]>
  await c.close()
  await c.close()
  const [why, info] = await linkDown
  t.equal(why, 'peer closed the link: gateway closing the link')
  t.same(info, { wasUp: true })
  t.match((await clientDown)[0], /gateway closing the link/)
  t.equal(c.state, 'closed')
  t.throws(() => c.send(up), { code: ErrorCodes.HOSTLINK_DOWN })
  t.throws(() => link.send(up), { code: ErrorCodes.HOSTLINK_DOWN, message: /is down/ })
  await server.close()
  t.equal(clientClock.pending, 0, 'client: no timers left')
  t.equal(serverClock.pending, 0, 'server: no timers left')
  t.ok(await waitFor(() => tcpHandles() === handlesBefore), 'no TCP sockets or servers left (the process could exit)', { resources: process.getActiveResourcesInfo() })
})

t.test('PIU frames across arbitrary segmentation on a real socket', async t => {
  const { server, port } = await startServer(t)
  const piuArb = fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 8 })
  let runs = 0
  await fc.assert(fc.asyncProperty(piuArb, fc.array(fc.nat(), { maxLength: 30 }), async (pius, rawCuts) => {
    const got: Buffer[] = []
    let link: SnaLink | undefined
    void nextLinkPius(server, got).then(l => { link = l })
    const raw = await rawConnect(port)
    const stream = Buffer.concat([gwHelloFrame(), ...pius.map(p => encodePiu(Buffer.from(p)))])
    const cuts = [...new Set(rawCuts.map(c => c % stream.length))].sort((a, b) => a - b)
    let prev = 0
    for (const c of [...cuts, stream.length]) {
      if (c === prev) continue
      await new Promise<void>(resolve => raw.socket.write(stream.subarray(prev, c), () => resolve()))
      await sleep(1) // let each piece arrive as its own segment
      prev = c
    }
    while (got.length < pius.length) await sleep(2)
    raw.socket.destroy()
    if (link !== undefined && link.state !== 'down') await once(link, 'down')
    runs++
    return JSON.stringify(got.map(b => [...b])) === JSON.stringify(pius.map(p => [...p]))
  }), { numRuns: 15 })
  t.equal(runs, 15)

  // And one byte per write, every boundary exercised.
  const got: Buffer[] = []
  void nextLinkPius(server, got)
  const raw = await rawConnect(port)
  const pius = [Buffer.from('2d0000010001', 'hex'), Buffer.alloc(40, 0x40), Buffer.from([0xff])]
  const stream = Buffer.concat([gwHelloFrame(), ...pius.map(p => encodePiu(p))])
  for (let i = 0; i < stream.length; i++) {
    await new Promise<void>(resolve => raw.socket.write(stream.subarray(i, i + 1), () => resolve()))
    if (i % 16 === 0) await sleep(1)
  }
  while (got.length < pius.length) await sleep(2)
  t.same(got, pius, `${stream.length} one-byte writes decode to the same PIUs`)
  raw.socket.destroy()
})

t.test('client: keepalive timeout when the host stops answering PING', async t => {
  const clock = new FakeClock()
  const host = await rawServer()
  t.teardown(() => host.server.close())
  const { c, lines } = client(t, host.port, { clock, keepaliveInterval: 1000, keepaliveLimit: 3, random: () => 0.5 })
  c.start()
  const raw = await host.accept()
  raw.socket.write(encodeHello(makeHello('host', 'HOSTA')))
  await once(c, 'up')
  // Answer the first two PINGs, then fall silent.
  for (let i = 0; i < 2; i++) {
    clock.advance(1000)
    const ping = await raw.next('PING') as { id: number }
    raw.socket.write(encodePong(ping.id))
    await sync(raw)
  }
  t.notOk(lines.some(l => l.event === 700), 'answered PINGs are not overdue')
  const down = once(c, 'down') as Promise<[string, DownInfo]>
  clock.advance(1000) // PING 3, never answered
  await raw.next('PING')
  clock.advance(3000)
  const [why, info] = await down
  t.match(why, /keepalive timeout: no PONG for 3 intervals of 1000 ms/)
  t.ok(isLbError(info.error, ErrorCodes.KEEPALIVE_LIMIT))
  t.equal(info.wasUp, true)
  t.same(lines.filter(l => l.event !== undefined).map(l => l.event), [700, 700, 700, 701])
  t.match(lines.find(l => l.event === 701), { level: 'error', close: 'hard', hostlink: 'sna' })
  t.equal(raw.frames.filter(f => f.type === 'PING').length, 0, 'exactly one PING per answered interval, none queued while one was outstanding')
  t.equal(c.state, 'waiting', 'the client schedules a reconnect')
  await c.close()
  t.equal(clock.pending, 0)
})

t.test('server: one PING outstanding at a time; keepalive timeout closes the link', async t => {
  const clock = new FakeClock()
  const { server, port, lines } = await startServer(t, { clock, keepaliveInterval: 500, keepaliveLimit: 2 })
  const linked = nextLink(server)
  const raw = await rawConnect(port)
  raw.socket.write(gwHelloFrame())
  const link = await linked
  t.equal((await raw.next('HELLO') as { hello: Hello }).hello.node, 'HOSTA')
  const ids: number[] = []
  for (let i = 0; i < 10; i++) {
    clock.advance(500)
    const ping = await raw.next('PING') as { id: number }
    ids.push(ping.id)
    raw.socket.write(encodePong(ping.id))
    raw.socket.write(encodePong(ping.id + 1000)) // a stray PONG completes nothing
    await sync(raw)
  }
  t.same(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  t.equal(link.state, 'up')
  const down = once(link, 'down') as Promise<[string, DownInfo]>
  clock.advance(500)
  await raw.next('PING')
  raw.socket.write(encodePiu(Buffer.from([1, 2, 3]))) // inbound PIUs do not count as an answer
  await sync(raw)
  clock.advance(500)
  clock.advance(500)
  const [why, info] = await down
  t.match(why, /keepalive timeout/)
  t.equal(info.error?.code, ErrorCodes.KEEPALIVE_LIMIT)
  t.equal(raw.frames.filter(f => f.type === 'PING').length, 0, 'no second PING while one was outstanding')
  await raw.closed()
  t.equal(server.links.size, 0)
  t.ok(lines.some(l => l.event === 701))
})

t.test('reconnect with capped exponential backoff after the host restarts; same client object comes back up', async t => {
  const handlesBefore = tcpHandles()
  const clock = new TrackingClock()
  const first = await startServer(t)
  const port = first.port
  const { c, lines } = client(t, port, { clock, reconnectMin: 20, reconnectMax: 80, random: () => 0.5 })
  const ups: Hello[] = []
  const downs: string[] = []
  const delays: number[] = []
  c.on('up', h => ups.push(h))
  c.on('down', r => downs.push(r))
  c.on('reconnect', r => delays.push(r.delay))
  c.start()
  await once(c, 'up')
  await first.server.close()
  while (delays.length < 5) await once(c, 'reconnect')
  t.equal(downs[0], 'peer closed the link: host shutting down')
  t.match(downs.slice(1), Array(downs.length - 1).fill(/connect failed: ECONNREFUSED/))
  t.same(delays.slice(0, 5), [20, 40, 80, 80, 80], 'doubling from reconnectMin, capped at reconnectMax')
  t.ok(c.attempt >= 5)
  t.equal(c.state, 'waiting')
  t.ok(lines.some(l => l.level === 'warn' && /reconnecting in 80 ms/.test(l.msg)))

  const { logger } = captureLogger()
  const second = new SnaLinkServer({ node: 'HOSTA', port, logger })
  const relinked = nextLink(second)
  await second.listen()
  t.teardown(() => second.close())
  await Promise.all([once(c, 'up'), relinked])
  t.equal(ups.length, 2)
  t.equal(c.attempt, 0, 'backoff resets once up')
  t.equal(second.links.size, 1)
  await c.close()
  await second.close()
  t.equal(clock.pending, 0, 'no timers left')
  t.ok(await waitFor(() => tcpHandles() === handlesBefore), 'no TCP handles left', { resources: process.getActiveResourcesInfo() })
})

t.test('connect refused and connect timeout schedule reconnects; close() while waiting stops them', async t => {
  const { port } = await (async () => {
    const s = net.createServer(); s.listen(0, '127.0.0.1'); await once(s, 'listening')
    const p = (s.address() as net.AddressInfo).port
    await new Promise(resolve => s.close(resolve))
    return { port: p }
  })()
  const clock = new TrackingClock()
  const { c } = client(t, port, { clock, reconnectMin: 10, reconnectMax: 10 })
  c.start()
  const [why, info] = await once(c, 'down') as [string, DownInfo]
  t.equal(why, 'connect failed: ECONNREFUSED')
  t.same(info, { wasUp: false })
  await once(c, 'reconnect')
  await c.close()
  t.equal(clock.pending, 0)

  const fake = new FakeClock()
  const { c: c2 } = client(t, port, { clock: fake, connectTimeout: 100 })
  const down = once(c2, 'down') as Promise<[string, DownInfo]>
  c2.start()
  fake.advance(100) // before the event loop could even report the refusal
  t.equal((await down)[0], 'connect timeout after 100 ms')
  t.equal(c2.state, 'waiting')
  await c2.close()
  t.equal(fake.pending, 0)
})

async function expectRefused (t: Test, raw: RawPeer, re: RegExp) {
  const bye = await raw.next('BYE') as { reason: string }
  t.match(bye.reason, re, `peer told why: ${bye.reason}`)
  await raw.closed()
}

t.test('server rejects bad frames and bad HELLOs with a named error, closes, logs the reason', async t => {
  const clock = new FakeClock()
  const { server, port, lines } = await startServer(t, { clock })
  const links: SnaLink[] = []
  server.on('link', l => links.push(l))

  let raw = await rawConnect(port)
  raw.socket.write(gwHelloFrame())
  await raw.next('HELLO')
  while (links.length < 1) await tick()
  const down = once(links[0]!, 'down') as Promise<[string, DownInfo]>
  raw.socket.write(Buffer.from([0x7f, 0, 0, 0, 2, 9, 9]))
  await expectRefused(t, raw, /unknown frame type 0x7f \(length 2\)/)
  const [why, info] = await down
  t.match(why, /unknown frame type 0x7f/)
  t.ok(isLbError(info.error, ErrorCodes.HOSTLINK_FRAME))
  t.ok(lines.some(l => l.level === 'warn' && /protocol error; closing: unknown frame type/.test(l.msg)))
  t.ok(lines.some(l => /host link down: unknown frame type/.test(l.msg)))

  const refusals: Array<[Buffer, RegExp]> = [
    [encodePiu(Buffer.from([1])), /expected HELLO as the first frame, got PIU/],
    [gwHelloFrame({ version: 2 }), /unsupported protocol version 2; this node speaks version 1/],
    [gwHelloFrame({ role: 'host' }), /role "host", expected "gateway"/],
    [encodeHello(makeHello('host', 'HOSTX')), /role "host"/],
    [Buffer.from([0x01, 0, 0, 0, 2, 0x7b, 0x7b]), /not valid JSON/],
    [Buffer.concat([gwHelloFrame(), gwHelloFrame()]), /second HELLO on a link that is already up/],
    [Buffer.concat([gwHelloFrame(), Buffer.from([0x02, 0, 2, 0, 0])]), /PIU frame length 131072 outside 1\.\.65536/],
  ]
  for (const [bytes, re] of refusals) {
    raw = await rawConnect(port)
    raw.socket.write(bytes)
    await expectRefused(t, raw, re)
  }
  t.equal(lines.filter(l => l.level === 'warn' && /protocol error/.test(l.msg)).length, 1 + refusals.length)

  raw = await rawConnect(port)
  await raw.next('HELLO')
  clock.advance(5000)
  await expectRefused(t, raw, /no HELLO from the peer within 5000 ms/)
  t.ok(await waitFor(() => clock.pending === 0), 'no timers left')
  t.equal(server.links.size, 0)
})

t.test('client refuses a host with the wrong version or name, and notices a close without BYE', async t => {
  const host = await rawServer()
  t.teardown(() => host.server.close())
  const cases: Array<[Buffer, RegExp]> = [
    [encodeHello({ ...makeHello('host', 'HOSTA'), version: 7 }), /unsupported protocol version 7/],
    [encodeHello(makeHello('host', 'HOSTB')), /HELLO node HOSTB, expected HOSTA/],
  ]
  for (const [hello, re] of cases) {
    const { c } = client(t, host.port, { reconnectMin: 60_000, reconnectMax: 60_000 })
    c.start()
    const raw = await host.accept()
    const down = once(c, 'down') as Promise<[string, DownInfo]>
    raw.socket.write(hello)
    await expectRefused(t, raw, re)
    const [why, info] = await down
    t.match(why, re)
    t.equal(info.error?.code, ErrorCodes.HOSTLINK_HELLO)
    t.equal(info.wasUp, false)
    await c.close()
  }
  const { c } = client(t, host.port, { reconnectMin: 60_000, reconnectMax: 60_000 })
  c.start()
  const raw = await host.accept()
  raw.socket.write(encodeHello(makeHello('host', 'HOSTA')))
  await once(c, 'up')
  const down = once(c, 'down') as Promise<[string, DownInfo]>
  raw.socket.end()
  t.equal((await down)[0], 'peer closed the connection without BYE')
  await c.close()

  const { c: c3 } = client(t, host.port, { reconnectMin: 60_000, reconnectMax: 60_000 })
  c3.start()
  const raw3 = await host.accept()
  const down3 = once(c3, 'down') as Promise<[string, DownInfo]>
  raw3.socket.write(encodeBye('')) // BYE before HELLO: host refuses us without a reason
  t.equal((await down3)[0], 'peer closed the link: (no reason given)')
  await c3.close()
})

t.test('backpressure: send returns false while the host does not read, then drain', async t => {
  const host = await rawServer()
  t.teardown(() => host.server.close())
  const { c } = client(t, host.port)
  c.start()
  const raw = await host.accept()
  raw.socket.write(encodeHello(makeHello('host', 'HOSTA')))
  await once(c, 'up')
  raw.socket.pause()
  const piu = Buffer.alloc(60_000, 0x40)
  let sent = 0
  while (c.send(piu)) { sent++; if (sent > 10_000) break }
  t.ok(sent < 10_000, `send() returned false after ${sent} PIUs of 60000 bytes`)
  const drained = once(c, 'drain')
  raw.socket.resume()
  await drained
  t.pass('drain after the host reads')
  await c.close()
})

t.test('a down listener may close the client; closing while connecting leaves nothing', async t => {
  const { port } = await startServer(t)
  const clock = new TrackingClock()
  const { c } = client(t, port, { clock })
  c.start()
  await c.close() // before the TCP connect completed
  t.equal(c.state, 'closed')
  t.equal(clock.pending, 0)
  c.start()
  t.equal(c.state, 'closed', 'start() after close() does nothing')

  const host = await rawServer()
  t.teardown(() => host.server.close())
  const { c: c2 } = client(t, host.port, { clock })
  c2.on('down', () => { void c2.close() })
  c2.start()
  const raw = await host.accept()
  raw.socket.destroy()
  await once(c2, 'down')
  await c2.close()
  t.equal(c2.state, 'closed')
  t.equal(clock.pending, 0, 'no reconnect scheduled')
})

t.test('server close() with links in every phase; listen errors surface', async t => {
  const clock: Clock = new TrackingClock()
  const { logger } = captureLogger()
  const server = new SnaLinkServer({ node: 'HOSTA', port: 0, logger, clock })
  const { port } = await server.listen()
  const linked = nextLink(server)
  const { c } = client(t, port, { reconnectMin: 60_000, reconnectMax: 60_000 })
  c.start()
  await linked
  const idle = await rawConnect(port) // connected, no HELLO yet
  await idle.next('HELLO')
  const cDown = once(c, 'down') as Promise<[string, DownInfo]>
  await server.close()
  await server.close()
  t.equal((await cDown)[0], 'peer closed the link: host shutting down')
  await expectRefused(t, idle, /host shutting down/)
  t.equal((clock as TrackingClock).pending, 0)
  const again = new SnaLinkServer({ node: 'HOSTA', port: 0, logger })
  await again.close()

  const holder = new SnaLinkServer({ node: 'HOSTA', port: 0, logger })
  const taken = await holder.listen()
  t.teardown(() => holder.close())
  const clash = new SnaLinkServer({ node: 'HOSTA', port: taken.port, logger })
  await t.rejects(clash.listen(), { code: 'EADDRINUSE' })
})

t.test('PING from the peer is answered with the same id', async t => {
  const { server, port } = await startServer(t)
  const linked = nextLink(server)
  const raw = await rawConnect(port)
  raw.socket.write(gwHelloFrame())
  await linked
  raw.socket.write(encodePing(0xdeadbeef))
  t.same(await raw.next('PONG'), { type: 'PONG', id: 0xdeadbeef })
  raw.socket.write(encodeBye('done'))
  await raw.closed()
})

for (const batch of ['tick', 'turn'] as const) {
  t.test(`batch '${batch}': PIUs sent together leave in one write at the batch's end; flush() sends them at once`, async t => {
    const raw = await rawServer()
    t.teardown(() => raw.server.close())
    const socket = net.connect({ port: raw.port, host: '127.0.0.1' })
    await once(socket, 'connect')
    const peer = await raw.accept()
    const { logger } = captureLogger()
    const link = new SnaLink(socket, { role: 'gateway', hello: makeHello('gateway', 'GW1', LUS), expectNode: 'HOSTA', ...linkDefaults, logger, clock: new TrackingClock(), batch })
    t.teardown(() => link.close())
    await peer.next('HELLO')
    peer.socket.write(encodeHello(makeHello('host', 'HOSTA')))
    await once(link, 'up')
    link.send(Buffer.from([1]))
    // A later callback of the same turn: batched still with 'turn' (the uncork is a setImmediate).
    await new Promise<void>(resolve => process.nextTick(resolve))
    link.send(Buffer.from([2]))
    if (batch === 'turn') t.ok(link.queued > 0, 'both PIUs wait, corked, until the end of the turn')
    await tick()
    t.equal(link.queued, 0, 'handed to the kernel by the end of the turn')
    // A pacing response the peer waits for: flushed at once, with what was batched before it.
    link.send(Buffer.from([3]))
    link.send(Buffer.from([4]))
    t.ok(link.queued > 0, 'batched')
    link.flush()
    t.equal(link.queued, 0, 'flush() hands the batch to the kernel now')
    link.flush()
    link.send(Buffer.from([5]))
    t.ok(link.queued > 0, 'a send after flush() is batched again')
    const got: number[] = []
    while (got.length < 5) got.push(((await peer.next('PIU')) as { piu: Buffer }).piu[0]!)
    t.same(got, [1, 2, 3, 4, 5], 'in order')
  })
}
