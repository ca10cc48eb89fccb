import t, { type Test } from 'tap'
import { Cmd, Opt } from '../../lib/telnet/index.js'
import { Tn3270ServerSession } from '../../lib/tn3270/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import { bytes, type Peer } from '../telnet/fixtures/peer.js'
import { MemoryProvider } from './fixtures/support.js'
import { bare, clientE, type Bare } from './fixtures/scripted.js'

const { IAC, SB, SE, WILL, WONT, DO, EOR, IP, AO, BRK, NOP } = Cmd
const rec = (...p: Parameters<typeof bytes>): Buffer => bytes(bytes(...p), IAC, EOR)

async function eSession (t: Test, functions: number[], provider?: MemoryProvider): Promise<{ s: Tn3270ServerSession, peer: Peer, b: Bare }> {
  const b = await bare(t, {}, provider)
  const peer = await b.connect()
  await clientE(t, peer, { functions })
  const s = await b.outcome(0)
  if (s instanceof Error) throw s
  return { s, peer, b }
}
async function plainSession (t: Test): Promise<{ s: Tn3270ServerSession, peer: Peer }> {
  const b = await bare(t, { tn3270e: false })
  const peer = await b.connect()
  await peer.expect(IAC, DO, Opt.TTYPE)
  // everything in one segment, followed by a record: events raised before the caller attached
  // its listeners are held, not lost
  peer.send(IAC, WILL, Opt.TTYPE, IAC, SB, Opt.TTYPE, 0, 'IBM-3278-4', IAC, SE)
  await peer.until(() => peer.pending.includes(Buffer.from([IAC, WILL, Opt.BINARY])), 3000, 'options')
  await peer.drain()
  peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY, ...rec(0x7d, 0x40, 0x40))
  const s = await b.outcome(0)
  if (s instanceof Error) throw s
  return { s, peer }
}
const once = <T>(s: Tn3270ServerSession, ev: 'data' | 'response' | 'close' | 'attn' | 'sysreq'): Promise<T> => new Promise((resolve) => s.once(ev, (x?: unknown) => resolve(x as T)))

t.test('outbound TN3270E messages: headers, SEQ numbering, responses', async (t) => {
  const { s, peer } = await eSession(t, [2, 4])
  t.equal(s.send3270(bytes(0xf1, 0xc3)), undefined)
  t.same(...await peer.expect(rec(0, 0, 0, 0, 0, 0xf1, 0xc3)))
  t.equal(s.send3270(bytes(0xf1), { response: true }), 1)
  t.same(...await peer.expect(rec(0, 0, 2, 0, 1, 0xf1)), 'ALWAYS-RESPONSE, SEQ 1')
  t.equal(s.sendScs(bytes(0x40), { response: true }), 2)
  t.same(...await peer.expect(rec(1, 0, 2, 0, 2, 0x40)))
  s.sendResponse(0x1234, true, 0)
  t.same(...await peer.expect(rec(2, 0, 0, 0x12, 0x34, 0)), 'positive DEVICE-END copies SEQ')
  s.sendResponse(5, false, 1)
  t.same(...await peer.expect(rec(2, 0, 1, 0, 5, 1)), 'negative INTERVENTION-REQUIRED')
  s.sendNvt(bytes('hi'))
  t.same(...await peer.expect(rec(5, 0, 0, 0, 0, 'hi')))
  s.sendPrintEoj()
  t.same(...await peer.expect(rec(8, 0, 0, 0, 0)))
  s.send3270(bytes(0xff))
  t.same(...await peer.expect(0, 0, 0, 0, 3, 0xff, 0xff, IAC, EOR), 'IAC in data doubled')
  t.throws(() => s.sendBindImage(bytes(0x31)), { code: ErrorCodes.TN3270_SESSION_STATE })
  t.throws(() => s.sendUnbind(1), { code: ErrorCodes.TN3270_SESSION_STATE })
  t.throws(() => s.sendSscpLuData(bytes(1)), { code: ErrorCodes.TN3270_SESSION_STATE })
})

t.test('SEQ-NUMBER wraps 32767 -> 0', async (t) => {
  const { s, peer } = await eSession(t, [2])
  let last: number | undefined
  for (let i = 0; i < 32768; i++) last = s.send3270(bytes(1), { response: true })
  t.equal(last, 32767)
  t.equal(s.send3270(bytes(1), { response: true }), 0)
  await peer.drain(20)
})

t.test('responses not negotiated: asking for one is a caller error', async (t) => {
  const { s } = await eSession(t, [])
  t.throws(() => s.send3270(bytes(1), { response: true }), { code: ErrorCodes.TN3270_SESSION_STATE })
  t.throws(() => s.sendResponse(1, true, 0), { code: ErrorCodes.TN3270_SESSION_STATE })
})

t.test('BIND-IMAGE, UNBIND, SSCP-LU-DATA with the BIND-IMAGE function', async (t) => {
  const { s, peer } = await eSession(t, [0, 2, 4], new MemoryProvider(undefined, undefined, true))
  t.same([...s.functions], ['BIND-IMAGE', 'RESPONSES', 'SYSREQ'])
  s.sendBindImage(bytes(0x31, 0x01, 0x03))
  t.same(...await peer.expect(rec(3, 0, 0, 0, 0, 0x31, 0x01, 0x03)))
  s.sendUnbind(1)
  t.same(...await peer.expect(rec(4, 0, 0, 0, 0, 0x32, 0x01)))
  s.sendSscpLuData(bytes(0xc1))
  t.same(...await peer.expect(rec(7, 0, 0, 0, 0, 0xc1)))
})

t.test('inbound TN3270E messages and commands', async (t) => {
  const { s, peer } = await eSession(t, [2, 4])
  let ev = once(s, 'data')
  peer.send(rec(0, 0, 2, 0, 9, 0x7d, 0x40, 0x40))
  t.same(await ev, { type: '3270-DATA', data: bytes(0x7d, 0x40, 0x40), seq: 9, responseFlag: 2 })
  ev = once(s, 'data')
  peer.send(rec(7, 0, 0, 0, 1, 0xc1))
  t.same(await ev, { type: 'SSCP-LU-DATA', data: bytes(0xc1), seq: 1, responseFlag: 0 })
  ev = once(s, 'data')
  peer.send(rec(5, 0, 0, 0, 0, 'x'))
  t.same(await ev, { type: 'NVT-DATA', data: bytes('x'), seq: 0, responseFlag: 0 })
  let r = once(s, 'response')
  peer.send(rec(2, 0, 0, 0, 1, 0))
  t.same(await r, { seq: 1, positive: true, code: 0 })
  r = once(s, 'response')
  peer.send(rec(2, 0, 1, 0, 2, 3))
  t.same(await r, { seq: 2, positive: false, code: 3 })
  peer.send(rec(3, 0, 0, 0, 0, 0x31)) // BIND-IMAGE from a client is meaningless: ignored
  const attn = once(s, 'attn')
  peer.send(IAC, NOP, IAC, IP)
  await attn
  const sysreq = once(s, 'sysreq')
  peer.send(IAC, AO)
  await sysreq
  const attn2 = once(s, 'attn')
  peer.send(IAC, BRK)
  await attn2
  const tm = new Promise((resolve) => s.once('timingMarkReply', resolve))
  let done = false
  s.sendTimingMark(() => { done = true })
  await peer.expect(IAC, DO, Opt.TIMING_MARK)
  peer.send(IAC, WILL, Opt.TIMING_MARK)
  t.equal(await tm, 'WILL')
  t.ok(done)
  s.sendNop()
  t.same(...await peer.expect(IAC, NOP))
  t.notOk(s.closed)
})

t.test('AO without SYSREQ is not a SYSREQ', async (t) => {
  const { s, peer } = await eSession(t, [2])
  let sysreqs = 0
  s.on('sysreq', () => sysreqs++)
  const d = once(s, 'data')
  peer.send(IAC, AO, ...rec(0, 0, 0, 0, 0, 0x7d))
  await d
  t.equal(sysreqs, 0)
})

t.test('a malformed record closes only this session, with its reason', async (t) => {
  const { s, peer, b } = await eSession(t, [2])
  const closed = once<string>(s, 'close')
  peer.send(rec(0, 0))
  t.match(await closed, /TN3270E_MALFORMED: TN3270E record of 2 bytes/)
  t.ok(b.log.lines.some((l) => l.event === 'tn3270_session_error'))
  t.ok(s.closed)
})

t.test('leaving 3270 mode closes the session', async (t) => {
  const { s, peer } = await eSession(t, [2])
  const closed = once<string>(s, 'close')
  peer.send(IAC, WONT, Opt.TN3270E)
  t.match(await closed, /client left 3270 mode \(disabled option 40/)
})

t.test('TN3270 session: no header, early record held for the caller, BRK = ATTN', async (t) => {
  const { s, peer } = await plainSession(t)
  t.same([s.mode, s.deviceType, s.altRows, s.altCols], ['tn3270', 'IBM-3278-4', 43, 80])
  t.same(await once(s, 'data'), { type: '3270-DATA', data: bytes(0x7d, 0x40, 0x40), seq: 0, responseFlag: 0 }, 'record sent with the last option bytes arrives')
  t.equal(s.send3270(bytes(0xf5, 0xc3), { response: true }), undefined)
  t.same(...await peer.expect(0xf5, 0xc3, IAC, EOR))
  s.sendScs(bytes(0x40))
  t.same(...await peer.expect(0x40, IAC, EOR))
  s.sendNvt(bytes('a'))
  t.same(...await peer.expect('a'))
  t.throws(() => s.sendPrintEoj(), { code: ErrorCodes.TN3270_SESSION_STATE })
  const attn = once(s, 'attn')
  peer.send(IAC, BRK)
  await attn
  let sysreqs = 0
  s.on('sysreq', () => sysreqs++)
  const closed = once<string>(s, 'close')
  peer.send(IAC, AO, IAC, WONT, Opt.BINARY)
  t.match(await closed, /client left 3270 mode \(disabled option 0/)
  t.equal(sysreqs, 0)
})

t.test('close and reset', async (t) => {
  const a = await eSession(t, [])
  const c1 = once<string>(a.s, 'close')
  a.s.close('operator')
  t.equal(await c1, 'operator')
  await a.peer.closed
  const b = await eSession(t, [])
  const c2 = once<string>(b.s, 'close')
  b.s.reset('keepalive limit')
  t.equal(await c2, 'keepalive limit')
  t.equal(b.s.socket.destroyed, true)
  t.match(b.s.client, /^127\.0\.0\.1:\d+$/)
})
