// What a front proxy needs from negotiateServer (docs/tn3270.md, docs/routing.md): a provider that
// answers later (the client is held at its request; a lease granted after the client left goes
// back), a negotiation resumed from a snapshot on another connection (nothing sent first; the
// request handled as if it had just arrived), and the hand-over decision (the socket given up
// unanswered, with the bytes the client sent since). Bytes per RFC 2355 §7-8, RFC 1091 and
// RFC 1576 §2.
import t, { type Test } from 'tap'
import { Cmd, Opt } from '../../lib/telnet/index.js'
import {
  decodeSnapshot, encodeSnapshot, isHandOver, negotiateServer, REASON_CODE,
  type AllocationContext, type DeviceDecision, type DeviceRequest, type FrontDecision, type HandedOver, type HandOverProvider,
  type NegotiateOptions, type ResourceProvider, type Tn3270ServerSession,
} from '../../lib/tn3270/index.js'
import { ErrorCodes, NegotiationError } from '../../lib/errors.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { bytes, listen, Peer } from '../telnet/fixtures/peer.js'
import { captureLogger, MemoryProvider } from './fixtures/support.js'
import { bare, sbE } from './fixtures/scripted.js'

const { IAC, SB, SE, WILL, WONT, DO } = Cmd
const sbTT = (...p: Parameters<typeof bytes>): Buffer => bytes(IAC, SB, Opt.TTYPE, bytes(...p), IAC, SE)

/** A provider that answers only when the test says so, over a MemoryProvider. */
class LaterProvider implements ResourceProvider {
  readonly inner = new MemoryProvider()
  readonly asked: Array<{ req: DeviceRequest, ctx: AllocationContext, answer: (d?: DeviceDecision) => void, fail: (err: Error) => void }> = []
  private waiters: Array<() => void> = []

  allocate (req: DeviceRequest, ctx: AllocationContext): Promise<DeviceDecision> {
    return new Promise((resolve, reject) => {
      this.asked.push({ req, ctx, answer: (d) => resolve(d ?? this.inner.allocate(req)), fail: reject })
      for (const w of this.waiters.splice(0)) w()
    })
  }

  async nth (i: number): Promise<LaterProvider['asked'][number]> {
    while (this.asked.length <= i) await new Promise<void>((resolve) => this.waiters.push(resolve))
    return this.asked[i]!
  }
}

async function laterServer (t: Test, opts: Partial<NegotiateOptions> = {}) {
  const p = new LaterProvider()
  const b = await bare(t, opts, p as unknown as MemoryProvider)
  return { b, p }
}

t.test('TN3270E: the client waits at its request until the provider answers', async (t) => {
  const { b, p } = await laterServer(t)
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E)
  t.same(...await peer.expect(IAC, DO, Opt.TN3270E, sbE(8, 2)))
  peer.send(sbE(2, 7, 'IBM-3278-2-E', 1, 'POOLNAME'))
  const asked = await p.nth(0)
  t.same(await peer.drain(30), bytes(), 'nothing is said while the provider decides')
  t.equal(asked.ctx.signal.aborted, false)
  asked.answer()
  t.same(...await peer.expect(sbE(2, 4, 'IBM-3278-2-E', 1, 'LU01')))
  peer.send(sbE(3, 7, 2))
  t.same(...await peer.expect(sbE(3, 4, 2)))
  const s = await b.outcome(0)
  if (s instanceof Error) throw s
  t.same([s.mode, s.lu, [...s.functions]], ['tn3270e', 'LU01', ['RESPONSES']])
})

t.test('a client that leaves while the provider decides: the late lease is released, the provider told', async (t) => {
  const { b, p } = await laterServer(t)
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E, sbE(2, 7, 'IBM-3278-2'))
  const asked = await p.nth(0)
  peer.destroy()
  const err = await b.outcome(0)
  t.ok(err instanceof NegotiationError)
  t.match(err, { code: ErrorCodes.TN3270_NEGOTIATION_FAILED, failure: 'closed', phase: 'await-allocation', message: /closed during negotiation \(await-allocation\)/ })
  t.equal(asked.ctx.signal.aborted, true, 'the provider may stop choosing')
  asked.answer()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(p.inner.released, 1, 'granted after the client left, released at once')
  t.equal(p.inner.held.size, 0)
  t.ok(b.log.lines.some((l) => l.event === 'tn3270_late_lease_released'))
})

t.test('a timeout while the provider decides releases the late lease too', async (t) => {
  const clock = new FakeClock()
  const { b, p } = await laterServer(t, { clock, timeout: 3000 })
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E, sbE(2, 7, 'IBM-3278-2'))
  const asked = await p.nth(0)
  clock.advance(3000)
  t.match(await b.outcome(0), { code: ErrorCodes.TN3270_NEGOTIATION_TIMEOUT, failure: 'timeout', message: /timed out after 3000 ms in phase await-allocation/ })
  await peer.closed
  asked.answer()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(p.inner.held.size, 0)
})

t.test('a provider that fails is an UNKNOWN-ERROR reject; the client may ask again', async (t) => {
  const { b, p } = await laterServer(t)
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.expect(IAC, DO, Opt.TN3270E, sbE(8, 2))
  peer.send(sbE(2, 7, 'IBM-3278-2'))
  ;(await p.nth(0)).fail(new Error('no gateway answered'))
  t.same(...await peer.expect(sbE(2, 6, 5, REASON_CODE['UNKNOWN-ERROR'])))
  t.ok(b.log.lines.some((l) => l.event === 'tn3270_provider_error'))
  peer.send(sbE(2, 7, 'IBM-3278-2'))
  ;(await p.nth(1)).answer()
  t.same(...await peer.expect(sbE(2, 4, 'IBM-3278-2', 1, 'LU01')))
})

t.test('TN3270: a refused name cycles the client after the provider answers', async (t) => {
  const { b, p } = await laterServer(t, { tn3270e: false })
  const peer = await b.connect()
  await peer.expect(IAC, DO, Opt.TTYPE)
  peer.send(IAC, WILL, Opt.TTYPE)
  await peer.expect(sbTT(1))
  peer.send(sbTT(0, 'IBM-3279-2-E@LU09'))
  const first = await p.nth(0)
  t.same(first.ctx.snapshot, { mode: 'tn3270', options: [{ option: Opt.TTYPE, local: false, remote: true }], terminalType: 'IBM-3279-2-E@LU09' })
  first.answer({ ok: false, reason: 'INV-NAME', message: 'no LU09' })
  t.same(...await peer.expect(sbTT(1)), 'ask for the next name')
  peer.send(sbTT(0, 'IBM-3279-2-E@LU02'))
  const second = await p.nth(1)
  t.match(second.ctx.snapshot, { previousTerminalType: 'IBM-3279-2-E@LU09', lastRefusal: 'no LU09' })
  second.answer()
  t.same(...await peer.expect(IAC, DO, Opt.EOR, IAC, WILL, Opt.EOR, IAC, DO, Opt.BINARY, IAC, WILL, Opt.BINARY))
})

/** What the proxy would do: negotiate to the request, carry the snapshot as bytes. */
async function snapshotFrom (t: Test, script: (peer: Awaited<ReturnType<Awaited<ReturnType<typeof laterServer>>['b']['connect']>>) => void, tn3270e = true): Promise<Buffer> {
  const { b, p } = await laterServer(t, { tn3270e })
  const peer = await b.connect()
  script(peer)
  const asked = await p.nth(0)
  peer.destroy()
  return encodeSnapshot(asked.ctx.snapshot)
}

t.test('resume TN3270E on another connection: nothing sent first, the answer at once', async (t) => {
  const wire = await snapshotFrom(t, (peer) => peer.send(IAC, WILL, Opt.TN3270E, sbE(2, 7, 'IBM-3278-2-E', 1, 'LU02')))
  const b = await bare(t, { resume: decodeSnapshot(wire) })
  const peer = await b.connect()
  t.same(...await peer.expect(sbE(2, 4, 'IBM-3278-2-E', 1, 'LU02')), 'DEVICE-TYPE IS first: no DO TN3270E, no SEND DEVICE-TYPE')
  t.same(b.provider.requests, [{ mode: 'tn3270e', deviceType: 'IBM-3278-2-E', resourceName: 'LU02', client: b.provider.requests[0]!.client }])
  peer.send(sbE(3, 7, 2, 4))
  t.same(...await peer.expect(sbE(3, 4, 2, 4)))
  const s = await b.outcome(0)
  if (s instanceof Error) throw s
  t.same([s.mode, s.lu, [...s.functions]], ['tn3270e', 'LU02', ['RESPONSES', 'SYSREQ']])
  // The client's WILL TN3270E carried over: its WONT now ends 3270 mode (RFC 2355 §7).
  const closed = new Promise<string>((resolve) => s.once('close', resolve))
  peer.send(IAC, WONT, Opt.TN3270E)
  t.match(await closed, /client left 3270 mode \(disabled option 40/)
})

t.test('resume TN3270E: a refusal leaves the client free to ask again here', async (t) => {
  const wire = await snapshotFrom(t, (peer) => peer.send(IAC, WILL, Opt.TN3270E, sbE(2, 7, 'IBM-3278-2', 1, 'LU01')))
  const b = await bare(t, { resume: decodeSnapshot(wire) })
  b.provider.held.add('LU01')
  const peer = await b.connect()
  t.same(...await peer.expect(sbE(2, 6, 5, REASON_CODE['DEVICE-IN-USE'])))
  peer.send(sbE(2, 7, 'IBM-3278-2', 1, 'LU02'))
  t.same(...await peer.expect(sbE(2, 4, 'IBM-3278-2', 1, 'LU02')))
})

t.test('resume TN3270: the 3270 options asked at once; a repeat of the refused name ends the list', async (t) => {
  const wire = await snapshotFrom(t, (peer) => peer.send(IAC, WILL, Opt.TTYPE, sbTT(0, 'IBM-3278-2@LU02')), false)
  const b = await bare(t, { tn3270e: false, resume: decodeSnapshot(wire) })
  const peer = await b.connect()
  t.same(...await peer.expect(IAC, DO, Opt.EOR, IAC, WILL, Opt.EOR, IAC, DO, Opt.BINARY, IAC, WILL, Opt.BINARY))
  peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY)
  const s = await b.outcome(0)
  if (s instanceof Error) throw s
  t.same([s.mode, s.lu], ['tn3270', 'LU02'])

  const repeat = decodeSnapshot(encodeSnapshot({
    mode: 'tn3270', options: [{ option: Opt.TTYPE, local: false, remote: true }],
    terminalType: 'IBM-3278-2@NOPE', previousTerminalType: 'IBM-3278-2@NOPE', lastRefusal: 'no LU or pool named NOPE',
  }))
  const b2 = await bare(t, { resume: repeat })
  const p2 = await b2.connect()
  t.same(...await p2.expect('tn3270-lb: no LU or pool named NOPE\r\n'))
  t.match(await b2.outcome(0), { code: ErrorCodes.TN3270_DEVICE_TYPE, failure: 'refused' })
  await p2.closed
})

t.test('a server that cannot continue the snapshot refuses it clearly', async (t) => {
  const b = await bare(t, { tn3270e: false, resume: { mode: 'tn3270e', options: [{ option: Opt.TN3270E, local: false, remote: true }], request: { deviceType: 'IBM-3278-2' } } })
  const peer = await b.connect()
  t.match(await b.outcome(0), { failure: 'protocol', phase: 'start', message: /offers TN3270 only/ })
  await peer.closed
  t.equal(b.provider.requests.length, 0)
})

// ---- the hand-over decision: a front proxy passes the request on (docs/routing.md) ----------------

/** A listener whose provider answers with the decision the test gives, on a handing-over negotiator. */
async function frontServer (t: Test, opts: Partial<NegotiateOptions<HandOverProvider>> = {}) {
  const asked: Array<{ req: DeviceRequest, ctx: AllocationContext, answer: (d: FrontDecision) => void }> = []
  let wake: (() => void) | undefined
  const provider: HandOverProvider = {
    allocate: (req, ctx) => new Promise<FrontDecision>((resolve) => { asked.push({ req, ctx, answer: resolve }); wake?.() }),
  }
  const outcomes: Array<Promise<HandedOver | Tn3270ServerSession | Error>> = []
  const srv = await listen((s) => { outcomes.push(negotiateServer(s, { provider, ...opts }).catch((e: Error) => e)) })
  t.teardown(() => srv.close())
  const nth = async (i: number) => {
    while (asked.length <= i) await new Promise<void>((resolve) => { wake = resolve })
    return asked[i]!
  }
  const outcome = async (i: number) => {
    while (outcomes.length <= i) await new Promise((resolve) => setTimeout(resolve, 5))
    return await outcomes[i]!
  }
  const connect = async () => {
    const p = await Peer.connect(srv.port)
    p.socket.setNoDelay(true) // each send its own segment, at once (no Nagle wait for an ACK)
    t.teardown(() => p.destroy())
    return p
  }
  return { nth, outcome, connect }
}

function handedOver (x: HandedOver | Tn3270ServerSession | Error): HandedOver {
  if (x instanceof Error || !('handedOver' in x)) throw new Error(`expected a hand-over, got ${x instanceof Error ? x.message : 'a session'}`)
  return x
}

t.test('hand-over, TN3270E: nothing answered, the socket handed over open with what the client sent since', async (t) => {
  const f = await frontServer(t)
  const peer = await f.connect()
  t.same(...await peer.expect(IAC, DO, Opt.TN3270E))
  // The request and, in the same segment, bytes a client should not send yet (a FUNCTIONS REQUEST).
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.expect(sbE(8, 2))
  peer.send(sbE(2, 7, 'IBM-3278-2-E', 1, 'HOSTB'), sbE(3, 7, 2))
  const asked = await f.nth(0)
  t.same(asked.ctx.snapshot, { mode: 'tn3270e', options: [{ option: Opt.TN3270E, local: false, remote: true }], request: { deviceType: 'IBM-3278-2-E', connect: 'HOSTB' } })
  peer.send(IAC, Cmd.NOP) // while the provider decides
  await new Promise((resolve) => setTimeout(resolve, 30))
  asked.answer({ handedOver: true })
  const h = handedOver(await f.outcome(0))
  t.same(h.rest, bytes(sbE(3, 7, 2), IAC, Cmd.NOP), 'the bytes after the request, exactly as sent, across segments')
  t.same(await peer.drain(30), bytes(), 'no answer from the negotiator')
  t.notOk(h.socket.destroyed, 'the socket is open')
  t.equal(h.socket.listenerCount('data'), 0, 'the negotiator no longer reads it')
  // The new owner reads on from where the negotiator stopped.
  const more = new Promise<Buffer>((resolve) => h.socket.once('data', resolve))
  h.socket.resume()
  peer.send('after')
  t.same(await more, Buffer.from('after'))
  h.socket.write(sbE(2, 4, 'IBM-3278-2-E', 1, 'GW2B001'))
  t.same(...await peer.expect(sbE(2, 4, 'IBM-3278-2-E', 1, 'GW2B001')), 'the new owner answers the client')
  h.socket.destroy()
})

t.test('hand-over, TN3270: after a refused name the next one is handed over', async (t) => {
  const f = await frontServer(t, { tn3270e: false })
  const peer = await f.connect()
  await peer.expect(IAC, DO, Opt.TTYPE)
  peer.send(IAC, WILL, Opt.TTYPE)
  await peer.expect(sbTT(1))
  peer.send(sbTT(0, 'IBM-3278-2@NOPE'))
  ;(await f.nth(0)).answer({ ok: false, reason: 'INV-NAME', message: 'no gateway knows NOPE' })
  t.same(...await peer.expect(sbTT(1)), 'RFC 1091: the next name, please')
  peer.send(sbTT(0, 'IBM-3278-2@HOSTA'))
  const second = await f.nth(1)
  t.match(second.ctx.snapshot, { mode: 'tn3270', terminalType: 'IBM-3278-2@HOSTA', previousTerminalType: 'IBM-3278-2@NOPE', lastRefusal: 'no gateway knows NOPE' })
  second.answer({ handedOver: true })
  const h = handedOver(await f.outcome(0))
  t.same(h.rest, bytes())
  t.same(await peer.drain(30), bytes())
  h.socket.destroy()
})

t.test('bytes held during a refused request are read after the answer, in order', async (t) => {
  const f = await frontServer(t)
  const peer = await f.connect()
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.expect(IAC, DO, Opt.TN3270E, sbE(8, 2))
  peer.send(sbE(2, 7, 'IBM-3278-2', 1, 'LU01'))
  const first = await f.nth(0)
  // A client that does not wait (RFC 2355 §7.1 says it should): its next request is held, unread.
  peer.send(sbE(2, 7, 'IBM-3278-2', 1, 'LU02'))
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.equal(first.ctx.signal.aborted, false)
  first.answer({ ok: false, reason: 'DEVICE-IN-USE', message: 'LU01 busy' })
  t.same(...await peer.expect(sbE(2, 6, 5, REASON_CODE['DEVICE-IN-USE'])), 'the REJECT goes out before the held request is read')
  const second = await f.nth(1)
  t.equal(second.req.resourceName, 'LU02', 'then the held request is handled')
  second.answer({ handedOver: true })
  handedOver(await f.outcome(0)).socket.destroy()
})

t.test('a client that leaves during the hand-over: the negotiation fails, a late hand-over is ignored', async (t) => {
  const log = captureLogger()
  const f = await frontServer(t, { logger: log.logger })
  const peer = await f.connect()
  peer.send(IAC, WILL, Opt.TN3270E, sbE(2, 7, 'IBM-3278-2'))
  const asked = await f.nth(0)
  peer.socket.end()
  t.match(await f.outcome(0), { code: ErrorCodes.TN3270_NEGOTIATION_FAILED, failure: 'closed', phase: 'await-allocation' })
  t.equal(asked.ctx.signal.aborted, true, 'the provider is told (a FIN while held is still seen)')
  asked.answer({ handedOver: true })
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(log.lines.some((l) => l.event === 'tn3270_late_handover'))
})

t.test('isHandOver tells the decisions apart', async (t) => {
  t.equal(isHandOver({ handedOver: true }), true)
  t.equal(isHandOver({ ok: false, reason: 'INV-NAME', message: 'x' }), false)
})
