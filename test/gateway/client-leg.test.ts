// The client leg both host sides share (lib/gateway/client-leg.ts), on a scripted session: credit
// from the client's socket (KB Q181737), one credit check per flush, KeepAlive attachment
// (KB Q137309), RFC 2562 response time, holding reads, ending once.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import { gatewaySchema, loadConfig } from '../../lib/config/index.js'
import { ClientLeg, restoresKeyboard, type ClientLegOptions } from '../../lib/gateway/client-leg.js'
import type { ClientBinding } from '../../lib/gateway/index.js'
import { createGatewayMetrics, Registry, silentLogger } from '../../lib/observability/index.js'
import { FakeClock } from '../helpers/fake-clock.js'

class FakeSocket extends EventEmitter {
  writableLength = 0
  destroyed = false
  closed = false
  paused = false
  readonly flushCallbacks: Array<() => void> = []
  write (_data: Buffer, cb?: () => void): boolean { if (cb !== undefined) this.flushCallbacks.push(cb); return true }
  /** Everything queued reached the kernel. */
  flush (): void { for (const cb of this.flushCallbacks.splice(0)) cb() }
  pause (): this { this.paused = true; return this }
  resume (): this { this.paused = false; return this }
}

class FakeSession extends EventEmitter {
  readonly socket = new FakeSocket()
  readonly client = '192.0.2.1:1000'
  closed = false
  closedWith: string | undefined
  timingMarks = 0
  close (reason: string): void {
    this.closed = true
    this.closedWith = reason
    this.emit('close', reason)
  }
  sendTimingMark (done: () => void): boolean { this.timingMarks++; done(); return true }
  sendNop (done: () => void): boolean { done(); return true }
}

function leg (t: Test, raw: Record<string, unknown> = {}, over: Partial<ClientLegOptions> = {}) {
  const config = loadConfig(gatewaySchema, { base: { pacing: { highWaterMark: '10KiB' }, keepalive: { method: 'none' }, ...raw } })
  const registry = new Registry()
  const metrics = createGatewayMetrics(registry)
  const clock = new FakeClock(1000)
  const session = new FakeSession()
  const ends: string[] = []
  const onEnds: string[] = []
  let credits = 0
  const binding = {
    session,
    lease: { lu: 'LU1', pool: 'P', host: 'H' },
    lu: { name: 'LU1', pool: 'P', host: 'H' },
    logger: silentLogger(),
    onEnd: (reason: string) => { onEnds.push(reason) },
  } as unknown as ClientBinding
  const l: ClientLeg = new ClientLeg({
    binding, config, metrics, clock,
    onCredit: () => { credits++ },
    // The owner's end is idempotent: what it was first asked to end with is what counts.
    end: reason => { if (l.end(reason)) ends.push(reason) },
    ...over,
  })
  t.teardown(() => { l.end('test over') })
  return { l, session, metrics, clock, ends, onEnds, credits: () => credits }
}

const immediate = (): Promise<void> => new Promise(resolve => { setImmediate(resolve) })

t.test('credit: whole max-size messages below the high-water mark, capped by responses; a drained client always gets a window', async t => {
  const { l, session } = leg(t)
  t.equal(l.credit({ maxMessageBytes: 1000, window: 7, responsesOutstanding: 0 }), 10, 'nothing queued: 10 KiB / 1000 → 10')
  session.socket.writableLength = 4000
  t.equal(l.credit({ maxMessageBytes: 1000, window: 7, responsesOutstanding: 0 }), 6)
  t.equal(l.credit({ maxMessageBytes: 1000, window: 7, responsesOutstanding: 2, responseLimit: 3 }), 1, 'responses owed cap it')
  session.socket.writableLength = 20_000
  t.equal(l.credit({ maxMessageBytes: 1000, window: 7, responsesOutstanding: 0 }), 0, 'over the mark: none')
  session.socket.writableLength = 0
  t.equal(l.credit({ maxMessageBytes: 8000, window: 7, responsesOutstanding: 0 }), 7, 'a drained client counts as one window even when the mark is below it')
})

t.test('one credit check per flush, run once the queued bytes left the process; drain also asks', async t => {
  const { l, session, credits } = leg(t)
  l.checkCreditWhenFlushed()
  l.checkCreditWhenFlushed()
  t.equal(session.socket.flushCallbacks.length, 1, 'one empty write, however often asked')
  await immediate()
  t.equal(credits(), 0, 'not before the bytes left')
  session.socket.flush()
  await immediate()
  t.equal(credits(), 1)
  l.checkCreditWhenFlushed()
  t.equal(session.socket.flushCallbacks.length, 1, 'asked again after the check ran')
  session.socket.emit('drain')
  t.equal(credits(), 2, 'drain re-evaluates at once')
  let flushed = 0
  l.afterFlush(() => { flushed++ })
  session.socket.flush()
  t.equal(flushed, 1, 'afterFlush runs when the write completes')
  l.end('done')
  session.socket.flush()
  await immediate()
  t.equal(credits(), 2, 'no credit check after the end')
  l.checkCreditWhenFlushed()
  t.equal(session.socket.flushCallbacks.length, 0, 'nothing scheduled once ended')
})

t.test('response time: client record to the host record whose WCC restores the keyboard (RFC 2562)', async t => {
  const { l, metrics, clock } = leg(t)
  const count = async (): Promise<number> => (await metrics.responseTimeSeconds.get()).values.find(v => (v as { metricName?: string }).metricName === 'tn3270_gateway_response_time_seconds_count' && v.labels.pool === 'P')?.value ?? 0
  l.hostRecordDelivered(Buffer.from([0xf5, 0xc3]))
  t.equal(await count(), 0, 'nothing was asked')
  l.clientRecordForwarded()
  clock.advance(250)
  l.hostRecordDelivered(Buffer.from([0xf1, 0xc1, 0x40]))
  t.equal(await count(), 0, 'a Write without Keyboard Restore does not end it')
  l.hostRecordDelivered(Buffer.from([0xf5, 0xc3]))
  t.equal(await count(), 1)
  const sum = (await metrics.responseTimeSeconds.get()).values.find(v => (v as { metricName?: string }).metricName === 'tn3270_gateway_response_time_seconds_sum')?.value
  t.equal(sum, 0.25)
  t.equal(restoresKeyboard(Buffer.from([0x05, 0x02])), true, 'local-channel Erase/Write counts too')
  t.equal(restoresKeyboard(Buffer.from([0x7e, 0xc2])), true, 'Erase/Write Alternate')
  t.equal(restoresKeyboard(Buffer.from([0x6f, 0xff])), false, 'Erase All Unprotected has no WCC')
  t.equal(restoresKeyboard(Buffer.from([0xf5])), false, 'too short')
  t.equal(restoresKeyboard(Buffer.from([0x99, 0xff])), false, 'not a command')
})

t.test('reads are held while the host is backed up and released at the end', async t => {
  const { l, session } = leg(t)
  l.holdReads()
  t.equal(session.socket.paused, true)
  l.releaseReads()
  t.equal(session.socket.paused, false)
  l.holdReads()
  l.end('bye')
  t.equal(session.socket.paused, false, 'ending releases held reads')
  l.holdReads()
  t.equal(session.socket.paused, false, 'no hold after the end')
})

t.test('ends once: onEnd once with the first reason, the client closed; client close and listener errors end it through the owner', async t => {
  const a = leg(t)
  t.equal(a.l.open, true)
  t.equal(a.l.end('host went away'), true)
  t.equal(a.l.end('again'), false)
  t.same(a.onEnds, ['host went away'])
  t.equal(a.session.closedWith, 'host went away')
  t.equal(a.l.endReason, 'host went away')
  a.l.dispose()

  const b = leg(t)
  b.session.close('peer reset')
  t.same(b.ends, ['client closed: peer reset'])
  t.same(b.onEnds, ['client closed: peer reset'])

  const c = leg(t)
  const emitter = new EventEmitter()
  c.l.listen(emitter, 'data', () => { throw new Error('boom') })
  emitter.emit('data')
  t.same(c.ends, ['bridge error: boom'], 'one bad exchange ends this client only')
  c.l.dispose()
  t.equal(emitter.listenerCount('data'), 0, 'subscriptions dropped')
})

t.test('an owner\'s methods: called with the owner and their arguments through a guard shared by every leg', async t => {
  class Owner {
    got: string[] = []
    onData (this: Owner, a: string, b: number): void { this.got.push(`${a} ${b}`) }
    onBad (): void { throw new Error('bad owner') }
  }
  const x = leg(t); const y = leg(t)
  const ox = new Owner(); const oy = new Owner()
  const ex = new EventEmitter(); const ey = new EventEmitter()
  x.l.listen(ex, 'data', ox.onData, ox)
  y.l.listen(ey, 'data', oy.onData, oy)
  ex.emit('data', 'x', 1)
  ey.emit('data', 'y', 2)
  t.same(ox.got, ['x 1'], 'each leg calls its own owner')
  t.same(oy.got, ['y 2'])
  t.not(ex.listeners('data')[0], ey.listeners('data')[0], 'each subscription its own listener, to remove it')
  // A second owner on one leg is not its owner: still called with itself (the unshared path).
  const other = new Owner()
  x.l.listen(ex, 'more', other.onData, other)
  ex.emit('more', 'z', 3)
  t.same(other.got, ['z 3'])
  x.l.listen(ex, 'bad', ox.onBad, ox)
  ex.emit('bad')
  t.same(x.ends, ['bridge error: bad owner'], 'a throwing method ends its client only')
  t.same(y.ends, [])
  x.l.dispose(); y.l.dispose()
  t.equal(ex.listenerCount('data') + ex.listenerCount('more') + ex.listenerCount('bad') + ey.listenerCount('data'), 0, 'subscriptions dropped')
})

t.test('KeepAlive is attached once on demand and stopped at the end', async t => {
  const { l, session, clock, metrics } = leg(t, { keepalive: { method: 'timingmark', watchdogTimeout: '1s' } })
  l.startKeepAlive()
  l.startKeepAlive()
  clock.advance(1000)
  t.equal(session.timingMarks, 1, 'one probe per tick')
  t.equal((await metrics.keepaliveSent.get()).values[0]?.value, 1)
  l.end('bye')
  clock.advance(5000)
  t.equal(session.timingMarks, 1, 'no probe after the end')
  const none = leg(t)
  none.l.startKeepAlive()
  none.clock.advance(120_000)
  t.equal(none.session.timingMarks, 0, 'keepalive.method none')
})
