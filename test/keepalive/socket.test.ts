// The keepalive engine on real sockets (port 0): a server session that writes a large payload
// to a client that never reads, so the client's receive window and the server's kernel send
// buffer fill up (the seed's zero-window case, KB Q137309).
import t, { type Test } from 'tap'
import type { Counter } from 'prom-client'
import net from 'node:net'
import { once } from 'node:events'
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises'
import { systemClock, type Clock } from '../../lib/clock.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { createLogger, createGatewayMetrics, Registry } from '../../lib/observability/index.js'
import { attachKeepAlive, telnetKeepAliveTarget, type KeepAliveHandle, type KeepAliveSettings } from '../../lib/keepalive/index.js'
import { isLbError, ErrorCodes, type Tn3270LbError } from '../../lib/errors.js'
import { MiniTelnetSession, DO_TM, WILL_TM, WONT_TM, NOP } from './telnet-session.js'

const WD = 1000
type Line = Record<string, unknown> & { event?: number, level: string, msg: string }

async function rig (t: Test, settings: KeepAliveSettings, clock: Clock) {
  const lines: Line[] = []
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => { lines.push(JSON.parse(s) as Line) } } })
  const metrics = createGatewayMetrics(new Registry())
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const { port } = server.address() as net.AddressInfo
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const client = net.connect({ port, host: '127.0.0.1' })
  client.on('error', () => {})
  t.teardown(() => { client.destroy() })
  await once(client, 'connect')
  const [socket] = await accepted
  t.teardown(() => { socket.destroy() })
  const session = new MiniTelnetSession(socket)
  const aborts: Tn3270LbError[] = []
  let handle: KeepAliveHandle | undefined
  const attach = () => {
    handle = attachKeepAlive(telnetKeepAliveTarget(session), settings, {
      logger, metrics, clock, client: session.client, lu: 'GW1A0001', onAbort: e => aborts.push(e),
    })
    return handle
  }
  const value = async (m: Counter, label?: string) =>
    (await m.get()).values.filter(v => label === undefined || v.labels.close === label).reduce((a, v) => a + v.value, 0)
  return { lines, metrics, client, socket, session, aborts, attach, value, get handle () { return handle } }
}

/**
 * How a client observes the RST: its next write fails with ECONNRESET. (Reading is not a
 * reliable witness: with unread data queued, libuv reports the hang-up as EOF.)
 */
async function expectReset (t: Test, client: net.Socket, server: net.Socket) {
  if (!server.closed) await once(server, 'close')
  await sleep(20)
  const failed = once(client, 'error') as Promise<[NodeJS.ErrnoException]>
  client.write('still there?')
  const [err] = await failed
  t.equal(err.code, 'ECONNRESET', 'the client sees a reset')
}

/** Client stops reading; server writes until its own user-space queue stays non-empty. */
async function stall (client: net.Socket, socket: net.Socket): Promise<number> {
  client.pause()
  const chunk = Buffer.alloc(1 << 20) // zeros: no IAC in the payload
  let written = 0
  for (let i = 0; i < 256; i++) {
    socket.write(chunk); written += chunk.length
    await sleep(20)
    if (socket.writableLength > 0) {
      await sleep(100)
      if (socket.writableLength > 0) break
    }
  }
  return written
}

t.test('stalled client, hardClose: one keepalive queued at a time, 700 per tick with the client address, 701 then RST', async t => {
  const clock = new FakeClock()
  const limit = 10
  const r = await rig(t, { method: 'timingmark', watchdogTimeout: WD, keepAliveLimit: limit, hardClose: true, gracefulCloseTimeout: 5000 }, clock)
  const clientAddr = `${r.client.localAddress}:${r.client.localPort}`
  const payload = await stall(r.client, r.socket)
  const handle = r.attach()
  const before = r.socket.writableLength
  clock.advance(WD)
  await tick()
  const afterSend = r.socket.writableLength
  t.equal(afterSend - before, DO_TM.length, 'the first keepalive is queued behind the payload')
  const seen: number[] = [afterSend]
  for (let i = 1; i < limit; i++) {
    r.client.write('typing') // inbound data: does not complete the keepalive
    clock.advance(WD)
    await sleep(5)
    seen.push(r.socket.writableLength)
  }
  t.comment(`payload ${payload} B; server writableLength before the first keepalive ${before} B, ` +
    `then at ticks 1..${limit}: ${seen.join(', ')} B (a queuing implementation would add ${DO_TM.length} B per tick)`)
  t.ok(Math.max(...seen) <= afterSend, 'writableLength never grows past one queued keepalive')
  t.equal(await r.value(r.metrics.keepaliveSent), 1, 'exactly one keepalive sent across all ticks')
  t.ok(r.session.inboundBytes > 0, 'the client did send data')
  const e700 = r.lines.filter(l => l.event === 700)
  t.same(e700.map(l => l.ticks), [1, 2, 3, 4, 5, 6, 7, 8, 9], '700 once per overdue tick so far')
  t.equal(handle.state.phase, 'outstanding')

  clock.advance(WD)
  await expectReset(t, r.client, r.socket)
  const e700all = r.lines.filter(l => l.event === 700)
  t.equal(e700all.length, limit)
  for (const l of e700all) t.match(l, { level: 'warn', client: clientAddr, lu: 'GW1A0001' })
  const e701 = r.lines.filter(l => l.event === 701)
  t.equal(e701.length, 1)
  t.match(e701[0], { level: 'error', client: clientAddr, lu: 'GW1A0001', close: 'hard', ticks: limit })
  t.ok(r.lines.indexOf(e701[0]!) > r.lines.indexOf(e700all.at(-1)!), '701 follows the last 700')
  t.equal(await r.value(r.metrics.keepaliveOverdue), limit)
  t.equal(await r.value(r.metrics.keepaliveAborts, 'hard'), 1)
  t.equal(r.aborts.length, 1)
  t.ok(isLbError(r.aborts[0], ErrorCodes.KEEPALIVE_LIMIT))
  t.match(r.aborts[0]!.message, new RegExp(`keepalive to ${clientAddr} outstanding for ${limit} watchdog ticks`))
  if (!r.socket.closed) await once(r.socket, 'close')
  t.equal(handle.state.phase, 'closed')
  t.equal(clock.pending, 0, 'no timers left')
})

t.test('stalled client, graceful: FIN cannot get through, reset after gracefulCloseTimeout', async t => {
  const clock = new FakeClock()
  const r = await rig(t, { method: 'timingmark', watchdogTimeout: WD, keepAliveLimit: 2, hardClose: false, gracefulCloseTimeout: 3000 }, clock)
  await stall(r.client, r.socket)
  r.attach()
  clock.advance(WD * 3)
  await sleep(20)
  t.same(r.lines.filter(l => l.event !== undefined).map(l => l.event), [700, 700, 701])
  t.match(r.lines.find(l => l.event === 701), { close: 'graceful', ticks: 2 })
  t.ok(r.socket.writableEnded, 'end() was called')
  t.notOk(r.socket.destroyed, 'not reset yet')
  clock.advance(2999)
  await sleep(20)
  t.notOk(r.socket.destroyed, 'still within the bound')
  clock.advance(1)
  await expectReset(t, r.client, r.socket)
  t.ok(r.lines.some(l => l.level === 'warn' && /did not finish in time/.test(l.msg)))
  t.equal(await r.value(r.metrics.keepaliveAborts, 'graceful'), 1)
  t.equal(clock.pending, 0)
})

t.test('graceful close that the client completes: orderly FIN, one DO TM after the payload, no reset', async t => {
  const clock = new FakeClock()
  const r = await rig(t, { method: 'timingmark', watchdogTimeout: WD, keepAliveLimit: 3, hardClose: false, gracefulCloseTimeout: 5000 }, clock)
  const payload = await stall(r.client, r.socket)
  r.attach()
  for (let i = 0; i < 4; i++) { clock.advance(WD); await sleep(5) }
  t.equal(r.lines.filter(l => l.event === 701).length, 1)
  const chunks: Buffer[] = []
  r.client.on('data', (c: Buffer) => chunks.push(c))
  let clientError: Error | undefined
  r.client.on('error', e => { clientError = e })
  r.client.resume()
  await once(r.client, 'end')
  const [hadError] = await once(r.client, 'close') as [boolean]
  t.notOk(hadError, 'orderly close')
  t.notOk(clientError)
  const got = Buffer.concat(chunks)
  t.equal(got.length, payload + DO_TM.length, 'the client received the payload and exactly one keepalive')
  t.same(got.subarray(payload), DO_TM)
  if (!r.socket.closed) await once(r.socket, 'close')
  t.equal(clock.pending, 0, 'grace timer disarmed by the close')
  t.equal(r.handle?.state.phase, 'closed')
})

t.test('a client answering WONT/WILL TM stays connected across many ticks', async t => {
  const clock = new FakeClock()
  const r = await rig(t, { method: 'timingmark', watchdogTimeout: WD, keepAliveLimit: 1, hardClose: true, gracefulCloseTimeout: 5000 }, clock)
  let n = 0
  r.client.on('data', (c: Buffer) => { if (c.includes(DO_TM)) r.client.write(++n % 2 === 0 ? WILL_TM : WONT_TM) })
  const handle = r.attach()
  const ticks = 25
  for (let i = 0; i < ticks; i++) {
    clock.advance(WD)
    while (handle.state.phase !== 'idle') await tick()
  }
  t.comment(`${ticks} ticks, ${n} TIMING-MARKs answered`)
  t.equal(n, ticks)
  t.equal(await r.value(r.metrics.keepaliveSent), ticks)
  t.equal(await r.value(r.metrics.keepaliveOverdue), 0)
  t.same(r.lines.filter(l => l.event !== undefined), [])
  t.notOk(r.client.destroyed)
  t.notOk(r.socket.destroyed)
  handle.stop()
  handle.stop()
  t.equal(clock.pending, 0, 'stop() disarms')
  clock.advance(WD * 5)
  t.equal(n, ticks, 'nothing sent after stop()')
})

t.test('NOP: completes on the write callback alone; a client that reads but never answers is fine', async t => {
  const clock = new FakeClock()
  const r = await rig(t, { method: 'nop', watchdogTimeout: WD, keepAliveLimit: 1, hardClose: true, gracefulCloseTimeout: 5000 }, clock)
  const got: Buffer[] = []
  r.client.on('data', (c: Buffer) => got.push(c))
  const handle = r.attach()
  for (let i = 0; i < 10; i++) {
    clock.advance(WD)
    while (handle.state.phase !== 'idle') await tick()
  }
  await sleep(20)
  t.same(Buffer.concat(got), Buffer.concat(Array(10).fill(NOP)))
  t.equal(await r.value(r.metrics.keepaliveOverdue), 0)
  t.notOk(r.client.destroyed)
})

t.test('system clock, hardClose: the real watchdog aborts a stalled client', async t => {
  const r = await rig(t, { method: 'timingmark', watchdogTimeout: 30, keepAliveLimit: 2, hardClose: true, gracefulCloseTimeout: 1000 }, systemClock)
  await stall(r.client, r.socket)
  r.attach()
  await expectReset(t, r.client, r.socket)
  t.same(r.lines.filter(l => l.event !== undefined).map(l => l.event), [700, 700, 701])
})

t.test('attaching to a socket that is already closed disarms at once', async t => {
  const clock = new FakeClock()
  const r = await rig(t, { method: 'timingmark', watchdogTimeout: WD, keepAliveLimit: 2, hardClose: true, gracefulCloseTimeout: 1000 }, clock)
  r.socket.destroy()
  await once(r.socket, 'close')
  const handle = r.attach()
  await tick()
  t.equal(handle.state.phase, 'closed')
  t.equal(clock.pending, 0)
})
