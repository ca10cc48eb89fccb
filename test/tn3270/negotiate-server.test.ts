import t from 'tap'
import { Cmd, Opt } from '../../lib/telnet/index.js'
import { REJECT_REASONS, REASON_CODE, Tn3270ServerSession, type DeviceDecision, type RejectReason, type ResourceProvider } from '../../lib/tn3270/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { bytes } from '../telnet/fixtures/peer.js'
import { MemoryProvider } from './fixtures/support.js'
import { bare, clientE, sbE } from './fixtures/scripted.js'

const { IAC, SB, SE, WILL, WONT, DO, DONT, EOR } = Cmd
const TT = Opt.TTYPE
const sbTT = (...p: Parameters<typeof bytes>): Buffer => bytes(IAC, SB, TT, bytes(...p), IAC, SE)

async function session (x: Promise<Tn3270ServerSession | Error>): Promise<Tn3270ServerSession> {
  const s = await x
  if (s instanceof Error) throw s
  return s
}
async function failure (x: Promise<Tn3270ServerSession | Error>): Promise<Error> {
  const s = await x
  if (!(s instanceof Error)) throw new Error('negotiation unexpectedly succeeded')
  return s
}

t.test('the s3270 trace of docs/tn3270.md, byte for byte (s3270 -model 2)', async (t) => {
  const b = await bare(t)
  const peer = await b.connect()
  t.same(...await peer.expect(0xff, 0xfd, 0x28))
  peer.send(0xff, 0xfb, 0x28)
  t.same(...await peer.expect(0xff, 0xfa, 0x28, 0x08, 0x02, 0xff, 0xf0))
  peer.send(0xff, 0xfa, 0x28, 0x02, 0x07, 'IBM-3278-2-E', 0xff, 0xf0)
  t.same(...await peer.expect(0xff, 0xfa, 0x28, 0x02, 0x04, 'IBM-3278-2-E', 0x01, 'LU01', 0xff, 0xf0))
  peer.send(0xff, 0xfa, 0x28, 0x03, 0x07, 0x00, 0x02, 0x04, 0xff, 0xf0) // BIND-IMAGE RESPONSES SYSREQ
  // RFC 2355 §7.2: we support only a subset, so we REQUEST the common subset (never BIND-IMAGE
  // without BINDs, docs/tn3270.md); s3270 answers IS with it.
  t.same(...await peer.expect(0xff, 0xfa, 0x28, 0x03, 0x07, 0x02, 0x04, 0xff, 0xf0))
  peer.send(0xff, 0xfa, 0x28, 0x03, 0x04, 0x02, 0x04, 0xff, 0xf0)
  const s = await session(b.outcome(0))
  t.same([s.mode, s.deviceType, s.lu, s.lease.pool, [...s.functions]], ['tn3270e', 'IBM-3278-2-E', 'LU01', 'POOLNAME', ['RESPONSES', 'SYSREQ']])
  t.same([s.rows, s.cols, s.altRows, s.altCols], [24, 80, 24, 80])
  s.send3270(bytes(0xf5, 0xc2, 0x11, 0x40, 0x40, 0x1d, 0x60))
  t.same(...await peer.expect(0, 0, 0, 0, 0, 0xf5, 0xc2, 0x11, 0x40, 0x40, 0x1d, 0x60, 0xff, 0xef))
  s.sendTimingMark()
  t.same(...await peer.expect(0xff, 0xfd, 0x06))
  const tm = new Promise((resolve) => s.once('timingMarkReply', resolve))
  peer.send(0xff, 0xfc, 0x06)
  t.equal(await tm, 'WONT')
  const data = new Promise((resolve) => s.once('data', resolve))
  peer.send(0, 0, 0, 0, 0, 0x7d, 0xc1, 0xd3, 0x11, 0xc1, 0xd1, 0xc8, 0xc9, 0xff, 0xef)
  t.same(await data, { type: '3270-DATA', data: bytes(0x7d, 0xc1, 0xd3, 0x11, 0xc1, 0xd1, 0xc8, 0xc9), seq: 0, responseFlag: 0 })
})

t.test('FUNCTIONS REQUEST we fully support is answered IS with the same list', async (t) => {
  const b = await bare(t)
  const peer = await b.connect()
  await clientE(t, peer, { functions: [2, 4] })
  t.same([...(await session(b.outcome(0))).functions], ['RESPONSES', 'SYSREQ'])
  // the exact bytes of that trace: ff fa 28 03 04 02 04 ff f0
  t.same(sbE(3, 4, 2, 4), bytes(0xff, 0xfa, 0x28, 0x03, 0x04, 0x02, 0x04, 0xff, 0xf0))
})

t.test('basic TN3270E (empty function list) and a renewed client REQUEST', async (t) => {
  const b = await bare(t)
  const peer = await b.connect()
  await clientE(t, peer, { functions: [] })
  t.same([...(await session(b.outcome(0))).functions], [])
  const b2 = await bare(t)
  const p2 = await b2.connect()
  p2.send(IAC, WILL, Opt.TN3270E)
  p2.send(sbE(2, 7, 'IBM-3278-2'))
  await p2.until(() => p2.pending.includes(Buffer.from('LU01')), 3000, 'IS')
  await p2.drain()
  p2.send(sbE(3, 7, 0, 2)) // server counter-proposes RESPONSES
  t.same(...await p2.expect(sbE(3, 7, 2)))
  p2.send(sbE(3, 7, 2, 4)) // client re-requests instead of IS: we answer again
  t.same(...await p2.expect(sbE(3, 4, 2, 4)))
  t.same([...(await session(b2.outcome(0))).functions], ['RESPONSES', 'SYSREQ'])
})

t.test('BIND-IMAGE granted only when the provider says bindImage (pr3287 list, ASSOCIATE)', async (t) => {
  const b = await bare(t, {}, new MemoryProvider(['LU01', 'PRT01'], 'POOLNAME', true))
  const peer = await b.connect()
  // pr3287 asks for all five; an SCS printer session gets BIND-IMAGE RESPONSES SCS-CTL-CODES:
  // ff fa 28 03 07 00 02 03 ff f0 (no DATA-STREAM-CTL, no SYSREQ: RFC 2355 §7.2, §10.3).
  await clientE(t, peer, { type: 'IBM-3287-1', functions: [0, 1, 2, 3, 4], serverFunctions: [0, 2, 3] })
  const s = await session(b.outcome(0))
  t.same([...s.functions], ['BIND-IMAGE', 'RESPONSES', 'SCS-CTL-CODES'])
  const p2 = await b.connect()
  p2.send(IAC, WILL, Opt.TN3270E)
  p2.send(sbE(2, 7, 'IBM-3287-1', 0, 'LU01'))
  await p2.until(() => p2.pending.includes(Buffer.from('PRT01')), 3000, 'IS')
  t.same(b.provider.requests[1], { mode: 'tn3270e', deviceType: 'IBM-3287-1', associate: 'LU01', client: b.provider.requests[1]!.client })
  t.match(b.provider.requests[1]!.client, /^127\.0\.0\.1:\d+$/)
})

t.test('every REJECT REASON is encoded and the client may retry on the same connection', async (t) => {
  let next: RejectReason | undefined
  const inner = new MemoryProvider()
  const provider: ResourceProvider = {
    allocate: (req): DeviceDecision => next !== undefined ? { ok: false, reason: next, message: `scripted ${next}` } : inner.allocate(req),
  }
  const b = await bare(t, {}, inner)
  const b2 = await bare(t, {}, provider as MemoryProvider)
  const peer = await b2.connect()
  peer.send(IAC, WILL, Opt.TN3270E)
  t.same(...await peer.expect(IAC, DO, Opt.TN3270E, sbE(8, 2)))
  for (const r of REJECT_REASONS) {
    next = r
    peer.send(sbE(2, 7, 'IBM-3278-2', 1, 'LU02'))
    t.same(...await peer.expect(sbE(2, 6, 5, REASON_CODE[r])), r)
  }
  next = undefined
  peer.send(sbE(2, 7, 'IBM-3278-2', 1, 'LU02'))
  t.same(...await peer.expect(sbE(2, 4, 'IBM-3278-2', 1, 'LU02')))
  t.equal(b2.log.lines.filter((l) => l.event === 'tn3270_device_reject').length, 8)
  t.ok(b) // unused server keeps the helper symmetric
})

t.test('engine-side rejects: INV-DEVICE-TYPE, INV-ASSOCIATE, INV-NAME, provider error', async (t) => {
  const throwing: ResourceProvider = { allocate: () => { throw new Error('db down') } }
  const b = await bare(t)
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.expect(IAC, DO, Opt.TN3270E, sbE(8, 2))
  peer.send(sbE(2, 7, 'IBM-3278-9'))
  t.same(...await peer.expect(sbE(2, 6, 5, REASON_CODE['INV-DEVICE-TYPE'])))
  peer.send(sbE(2, 7, 'IBM-3278-2', 0, 'LU01'))
  t.same(...await peer.expect(sbE(2, 6, 5, REASON_CODE['INV-ASSOCIATE'])))
  peer.send(sbE(2, 7, 'IBM-3278-2', 1, 'WAYTOOLONGNAME'))
  t.same(...await peer.expect(sbE(2, 6, 5, REASON_CODE['INV-NAME'])))
  t.equal(b.provider.requests.length, 0, 'the provider was not consulted')
  const b2 = await bare(t, {}, throwing as MemoryProvider)
  const p2 = await b2.connect()
  p2.send(IAC, WILL, Opt.TN3270E)
  await p2.expect(IAC, DO, Opt.TN3270E, sbE(8, 2))
  p2.send(sbE(2, 7, 'IBM-3278-2'))
  t.same(...await p2.expect(sbE(2, 6, 5, REASON_CODE['UNKNOWN-ERROR'])))
  t.ok(b2.log.lines.some((l) => l.event === 'tn3270_provider_error'))
})

t.test('LU list walk BAD, LU01 (busy), LU02 at byte level', async (t) => {
  const b = await bare(t)
  b.provider.held.add('LU01')
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.expect(IAC, DO, Opt.TN3270E, sbE(8, 2))
  peer.send(sbE(2, 7, 'IBM-3278-2-E', 1, 'BAD'))
  t.same(...await peer.expect(sbE(2, 6, 5, 3)))
  peer.send(sbE(2, 7, 'IBM-3278-2-E', 1, 'LU01'))
  t.same(...await peer.expect(sbE(2, 6, 5, 1)))
  peer.send(sbE(2, 7, 'IBM-3278-2-E', 1, 'LU02'))
  t.same(...await peer.expect(sbE(2, 4, 'IBM-3278-2-E', 1, 'LU02')))
})

t.test('WONT TN3270E falls back to TN3270 with @NAME (RFC 1576, RFC 1646)', async (t) => {
  const b = await bare(t)
  const peer = await b.connect()
  t.same(...await peer.expect(IAC, DO, Opt.TN3270E))
  peer.send(IAC, WONT, Opt.TN3270E)
  t.same(...await peer.expect(IAC, DO, TT))
  peer.send(IAC, WILL, TT)
  t.same(...await peer.expect(sbTT(1)))
  peer.send(sbTT(0, 'IBM-3279-2-E@LU02'))
  t.same(...await peer.expect(IAC, DO, Opt.EOR, IAC, WILL, Opt.EOR, IAC, DO, Opt.BINARY, IAC, WILL, Opt.BINARY))
  peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY)
  peer.send(IAC, DO, Opt.BINARY)
  const s = await session(b.outcome(0))
  t.same([s.mode, s.deviceType, s.lu, [...s.functions]], ['tn3270', 'IBM-3279-2-E', 'LU02', []])
  t.same(b.provider.requests, [{ mode: 'tn3270', deviceType: 'IBM-3279-2-E', resourceName: 'LU02', client: b.provider.requests[0]!.client }])
  t.same(await peer.drain(), bytes(), 'no redundant acknowledgements')
})

t.test('fallback after an allocation releases the lease', async (t) => {
  const b = await bare(t)
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E)
  peer.send(sbE(2, 7, 'IBM-3278-2', 1, 'LU01'))
  await peer.until(() => peer.pending.includes(Buffer.from('LU01')), 3000, 'IS')
  t.ok(b.provider.held.has('LU01'))
  peer.send(IAC, WONT, Opt.TN3270E)
  await peer.until(() => peer.pending.includes(Buffer.from([IAC, DO, TT])), 3000, 'DO TTYPE')
  t.equal(b.provider.released, 1)
  t.notOk(b.provider.held.has('LU01'))
  peer.send(IAC, WILL, TT, sbTT(0, 'IBM-3278-2@LU01'))
  peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY)
  t.equal((await session(b.outcome(0))).lu, 'LU01')
})

t.test('tn3270e: false starts with DO TTYPE; rejected names cycle; a repeated type ends it', async (t) => {
  const b = await bare(t, { tn3270e: false })
  b.provider.held.add('LU01')
  const peer = await b.connect()
  t.same(...await peer.expect(IAC, DO, TT))
  peer.send(IAC, WILL, TT)
  t.same(...await peer.expect(sbTT(1)))
  peer.send(sbTT(0, 'IBM-3279-2-E@BAD'))
  t.same(...await peer.expect(sbTT(1)), 'INV-NAME: ask for the next type')
  peer.send(sbTT(0, 'IBM-3279-2-E@LU01'))
  t.same(...await peer.expect(sbTT(1)), 'DEVICE-IN-USE: ask again')
  peer.send(sbTT(0, 'VT100'))
  t.same(...await peer.expect(sbTT(1)), 'unsupported type: ask again')
  peer.send(sbTT(0, 'VT100'))
  const err = await failure(b.outcome(0))
  t.ok(isLbError(err, ErrorCodes.TN3270_DEVICE_TYPE))
  t.match(err.message, /repeated terminal type VT100/)
  await peer.closed
  t.ok(b.log.lines.some((l) => l.event === 'tn3270_negotiation_failed' && /repeated terminal type/.test(String(l.reason))))
})

t.test('refusals close with a logged reason and release the lease', async (t) => {
  const b = await bare(t, { tn3270e: false })
  const p1 = await b.connect()
  await p1.expect(IAC, DO, TT)
  p1.send(IAC, WONT, TT)
  t.match((await failure(b.outcome(0))).message, /refused TERMINAL-TYPE/)
  await p1.closed

  const p2 = await b.connect()
  await p2.expect(IAC, DO, TT)
  p2.send(IAC, WILL, TT)
  await p2.expect(sbTT(1))
  p2.send(sbTT(0, 'IBM-3278-2'))
  await p2.expect(IAC, DO, Opt.EOR)
  t.equal(b.provider.held.size, 1)
  p2.send(IAC, WONT, Opt.EOR)
  t.match((await failure(b.outcome(1))).message, /refused EOR/)
  t.equal(b.provider.held.size, 0)
  await p2.closed
})

t.test('negotiation timeout (fake clock) closes, logs and releases the lease', async (t) => {
  const clock = new FakeClock()
  const b = await bare(t, { clock, timeout: 5000 })
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E, ...sbE(2, 7, 'IBM-3278-2'))
  await peer.until(() => peer.pending.includes(Buffer.from('LU01')), 3000, 'IS')
  t.equal(b.provider.held.size, 1)
  clock.advance(4999)
  t.equal(b.provider.held.size, 1)
  clock.advance(1)
  const err = await failure(b.outcome(0))
  t.ok(isLbError(err, ErrorCodes.TN3270_NEGOTIATION_TIMEOUT))
  t.match(err.message, /timed out after 5000 ms in phase await-functions/)
  t.equal(b.provider.held.size, 0)
  await peer.closed
  t.ok(b.log.lines.some((l) => l.event === 'tn3270_negotiation_failed' && l.code === ErrorCodes.TN3270_NEGOTIATION_TIMEOUT))
  t.equal(clock.pending, 0)
})

t.test('client disconnect mid-negotiation releases the lease', async (t) => {
  const b = await bare(t)
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E, ...sbE(2, 7, 'IBM-3278-2'))
  await peer.until(() => peer.pending.includes(Buffer.from('LU01')), 3000, 'IS')
  peer.destroy()
  t.match((await failure(b.outcome(0))).message, /closed during negotiation \(await-functions\)/)
  t.equal(b.provider.held.size, 0)
})

t.test('IBM-DYNAMIC: Read Partition Query, size from the Usable Area reply', async (t) => {
  const ua = [0x00, 0x0b, 0x81, 0x81, 0x01, 0x00, 0x00, 0x84, 0x00, 0x1b, 0x01]
  const b = await bare(t)
  const peer = await b.connect()
  await clientE(t, peer, { type: 'IBM-DYNAMIC', functions: [2] })
  // PID X'FF' is IAC-doubled on the wire
  t.same(...await peer.expect(0, 0, 0, 0, 0, 0xf3, 0x00, 0x05, 0x01, 0xff, 0xff, 0x02, IAC, EOR))
  peer.send(0, 0, 0, 0, 0, 0x88, ...ua, IAC, EOR)
  const s = await session(b.outcome(0))
  t.same([s.deviceType, s.rows, s.cols, s.altRows, s.altCols], ['IBM-DYNAMIC', 24, 80, 27, 132])

  const b2 = await bare(t, { tn3270e: false })
  const p2 = await b2.connect()
  await p2.expect(IAC, DO, TT)
  p2.send(IAC, WILL, TT, ...sbTT(0, 'IBM-DYNAMIC'), IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY)
  await p2.until(() => p2.pending.includes(Buffer.from([0xf3, 0x00, 0x05, 0x01, 0xff, 0xff, 0x02, IAC, EOR])), 3000, 'query')
  p2.send(0x7d, 0x40, 0x40, IAC, EOR) // a stray keystroke record is not a query reply: ignored
  p2.send(0x88, 0x00, 0x06, 0x81, 0x80, 0x80, 0x81, IAC, EOR) // a reply without Usable Area
  const s2 = await session(b2.outcome(0))
  t.same([s2.mode, s2.altRows, s2.altCols], ['tn3270', 24, 80])
  t.ok(b2.log.lines.some((l) => l.event === 'tn3270_query_no_usable_area'))
})

t.test('bad input closes that connection with a logged reason', async (t) => {
  const cases: Array<[string, Buffer[], RegExp]> = [
    ['unknown TN3270E command', [bytes(IAC, WILL, Opt.TN3270E), sbE(9, 9)], /malformed TN3270E subnegotiation \(unknown command\): 0909/],
    ['FUNCTIONS before DEVICE-TYPE', [bytes(IAC, WILL, Opt.TN3270E), sbE(3, 7, 2)], /unexpected TN3270E functions-request in phase await-device-type/],
    ['IAC garbage inside SB', [bytes(IAC, SB, 40, 1, IAC, 1)], /TELNET_PROTOCOL/],
    ['oversize subnegotiation', [bytes(IAC, SB, 24, ...Buffer.alloc(2000, 0x41))], /TELNET_SUBNEG_TOO_LONG/],
    ['TTYPE in the wrong phase', [sbTT(0, 'IBM-3278-2')], /unexpected TERMINAL-TYPE/],
  ]
  const b = await bare(t)
  for (const [i, [name, chunks, re]] of cases.entries()) {
    const p = await b.connect()
    for (const c of chunks) p.send(c)
    const err = await failure(b.outcome(i))
    t.match(err.message, re, name)
    await p.closed
  }
  t.equal(b.log.lines.filter((l) => l.event === 'tn3270_negotiation_failed').length, cases.length)
})

t.test('FUNCTIONS IS that adds a function is a protocol error; bad TTYPE bodies too', async (t) => {
  const b = await bare(t)
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E, ...sbE(2, 7, 'IBM-3278-2'))
  await peer.until(() => peer.pending.includes(Buffer.from('LU01')), 3000, 'IS')
  peer.send(sbE(3, 7, 0, 2))
  await peer.until(() => peer.pending.includes(sbE(3, 7, 2)), 3000, 'REQUEST')
  peer.send(sbE(3, 4, 0, 2))
  t.match((await failure(b.outcome(0))).message, /adds to our proposal/)
  t.equal(b.provider.held.size, 0)

  const b2 = await bare(t, { tn3270e: false })
  for (const [i, body] of [bytes(1), bytes(0, 'IBM 3278')].entries()) {
    const p = await b2.connect()
    p.send(IAC, WILL, TT)
    await p.until(() => p.pending.includes(sbTT(1)), 3000, 'SEND')
    p.send(sbTT(body))
    t.match((await failure(b2.outcome(i))).message, /TERMINAL-TYPE|terminal type/)
  }
})

t.test('other subnegotiations and early records are ignored during negotiation', async (t) => {
  const b = await bare(t, { tn3270e: false })
  const peer = await b.connect()
  peer.send(IAC, SB, Opt.NAWS, 0, 80, 0, 24, IAC, SE, IAC, DONT, Opt.ECHO)
  peer.send(IAC, WILL, TT, ...sbTT(0, 'IBM-3278-2-E'))
  peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY)
  peer.send(IAC, DO, Opt.BINARY)
  const s = await session(b.outcome(0))
  t.equal(s.lu, 'LU01')
  t.ok(b.log.lines.some((l) => l.event === 'telnet_subneg_ignored'))
})

t.test('options the client volunteers: 3270 ones accepted once, others refused once', async (t) => {
  const b = await bare(t, { tn3270e: false })
  const peer = await b.connect()
  t.same(...await peer.expect(IAC, DO, TT))
  // a client that offers TTYPE itself (crossing our DO) and some options we do not do
  peer.send(IAC, WILL, TT, IAC, WILL, Opt.NAWS, IAC, DO, Opt.ECHO, IAC, WILL, Opt.TN3270E)
  t.same(...await peer.expect(sbTT(1), IAC, DONT, Opt.NAWS, IAC, WONT, Opt.ECHO, IAC, DONT, Opt.TN3270E))
  peer.send(sbTT(0, 'IBM-3278-2'))
  t.same(...await peer.expect(IAC, DO, Opt.EOR, IAC, WILL, Opt.EOR, IAC, DO, Opt.BINARY, IAC, WILL, Opt.BINARY))
  peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY)
  t.equal((await session(b.outcome(0))).lu, 'LU01')
  t.same(await peer.drain(), bytes())

  // TN3270E offered, but the client volunteers BINARY/EOR first: accepted, then TN3270E proceeds
  const e = await bare(t)
  const p2 = await e.connect()
  await p2.expect(IAC, DO, Opt.TN3270E)
  p2.send(IAC, WILL, Opt.BINARY, IAC, DO, Opt.EOR, IAC, WILL, Opt.TN3270E)
  t.same(...await p2.expect(IAC, DO, Opt.BINARY, IAC, WILL, Opt.EOR, sbE(8, 2)))
})

t.test('onReject sees engine and provider rejects in both modes; a throwing hook is contained', async (t) => {
  const seen: unknown[] = []
  const b = await bare(t, { onReject: (i) => { seen.push([i.mode, i.deviceType, i.resourceName, i.reason]); if (seen.length === 1) throw new Error('hook bug') } })
  b.provider.held.add('LU01')
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E)
  await peer.expect(IAC, DO, Opt.TN3270E, sbE(8, 2))
  peer.send(sbE(2, 7, 'IBM-3278-9'))
  await peer.expect(sbE(2, 6, 5, 4))
  peer.send(sbE(2, 7, 'IBM-3278-2', 1, 'LU01'))
  await peer.expect(sbE(2, 6, 5, 1))
  peer.send(IAC, WONT, Opt.TN3270E)
  await peer.expect(IAC, DO, TT)
  peer.send(IAC, WILL, TT, ...sbTT(0, 'IBM-3278-2@NOPE'))
  await peer.expect(sbTT(1))
  t.same(seen, [['tn3270e', 'IBM-3278-9', undefined, 'INV-DEVICE-TYPE'], ['tn3270e', 'IBM-3278-2', 'LU01', 'DEVICE-IN-USE'], ['tn3270', 'IBM-3278-2', 'NOPE', 'INV-NAME']])
  t.ok(b.log.lines.some((l) => l.event === 'tn3270_on_reject_error'))
})

t.test('a socket already closed fails at once', async (t) => {
  const { negotiateServer } = await import('../../lib/tn3270/index.js')
  const net = await import('node:net')
  const s = new net.Socket()
  s.destroy()
  await t.rejects(negotiateServer(s, { provider: new MemoryProvider() }), { code: ErrorCodes.TN3270_NEGOTIATION_FAILED, message: /already closed/ })
})

t.test('an action that throws (here: the log sink) fails only this negotiation, and releases nothing twice', async (t) => {
  const { pino } = await import('pino')
  const { Writable } = await import('node:stream')
  const sink = new Writable({ write (_c, _e, cb) { cb() } })
  const logger = pino({
    level: 'debug',
    hooks: {
      logMethod (args, method) {
        if ((args[0] as { event?: string } | undefined)?.event === 'tn3270_device_reject') throw new Error('log sink down')
        method.apply(this, args)
      },
    },
  }, sink)
  const b = await bare(t, { logger })
  b.provider.held.add('LU01')
  const peer = await b.connect()
  peer.send(IAC, WILL, Opt.TN3270E, ...sbE(2, 7, 'IBM-3278-2', 1, 'LU01'))
  const err = await failure(b.outcome(0))
  t.match(err, { code: ErrorCodes.TN3270_NEGOTIATION_FAILED, failure: 'protocol', phase: 'await-device-type', message: 'internal error: log sink down' })
  await peer.closed
  t.equal(b.provider.held.size, 1, 'only the LU held before the test')
})
