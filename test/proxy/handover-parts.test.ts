// The pure parts of tn3270e routing (docs/routing.md): reading a gateway's answer to a
// handed-over request (RFC 2355 §7.1 DEVICE-TYPE IS / REJECT, RFC 1576 §2 DO/WILL EOR and
// BINARY, RFC 1091 TERMINAL-TYPE SEND), the LU ranges of /status, the affinity memory (like
// z/OS KEEPLU), and rewriting a request to name a pool or an LU.
import t from 'tap'
import { AnswerReader } from '../../lib/proxy/answer.js'
import { AffinityTable } from '../../lib/proxy/affinity.js'
import { healthReason } from '../../lib/proxy/handover.js'
import { LuNameSet } from '../../lib/proxy/lu-names.js'
import { routeRequestOf, withResource } from '../../lib/proxy/router.js'
import { Cmd, Opt } from '../../lib/telnet/index.js'
import { bytes } from '../telnet/fixtures/peer.js'

const { IAC, SB, SE, WILL, DO, WONT, NOP } = Cmd
const read = (...chunks: Buffer[]) => {
  const r = new AnswerReader()
  let v
  for (const c of chunks) v = r.feed(c)
  return v
}

t.test('AnswerReader: acceptance', async t => {
  t.same(read(bytes(IAC, SB, Opt.TN3270E, 2, 4, 'IBM-3278-2-E', 1, 'GW2B001', IAC, SE)), { kind: 'accepted', lu: 'GW2B001' }, 'DEVICE-TYPE IS CONNECT <lu>')
  t.same(read(bytes(IAC, DO, Opt.EOR, IAC, WILL, Opt.EOR)), { kind: 'accepted' }, 'TN3270: DO EOR')
  t.same(read(bytes(IAC, WILL, Opt.BINARY)), { kind: 'accepted' }, 'TN3270: WILL BINARY (EOR already agreed)')
  t.same(read(bytes(0xf5, 0xc2, IAC, 0xef)), { kind: 'accepted' }, 'a record: every option was already agreed')
  t.same(read(bytes(IAC, NOP), bytes(IAC, SB, Opt.TN3270E, 2), bytes(4, 'IBM-3278-2', 1, 'L1', IAC, SE)), { kind: 'accepted', lu: 'L1' }, 'a NOP decides nothing; an answer split over segments')
  const r = new AnswerReader()
  t.equal(r.feed(bytes(IAC)), undefined, 'half a command: read on')
  t.same(r.feed(bytes(DO, Opt.EOR)), { kind: 'accepted' })
  t.same(r.feed(bytes(IAC, SB, Opt.TTYPE, 1, IAC, SE)), { kind: 'accepted' }, 'the verdict stands')
})

t.test('AnswerReader: refusals', async t => {
  t.same(read(bytes(IAC, SB, Opt.TN3270E, 2, 6, 5, 1, IAC, SE)), { kind: 'refused', why: 'reject', reason: 'DEVICE-IN-USE', message: 'gateway answered REJECT DEVICE-IN-USE' })
  t.match(read(bytes(IAC, SB, Opt.TN3270E, 2, 6, 5, 3, IAC, SE)), { why: 'reject', reason: 'INV-NAME' })
  t.match(read(bytes(IAC, SB, Opt.TTYPE, 1, IAC, SE)), { kind: 'refused', why: 'ttype_send' }, 'TN3270: the next name, please (RFC 1091)')
  t.match(read(bytes(IAC, DO, Opt.TN3270E)), { why: 'protocol', message: /DO 40 instead of an answer.*PROXY header/ }, 'a fresh negotiation: the hand-over was not taken')
  t.match(read(bytes(IAC, WONT, Opt.EOR)), { why: 'protocol' })
  t.match(read(bytes(IAC, SB, Opt.TN3270E, 8, 2, IAC, SE)), { why: 'protocol', message: /send-device-type/ })
  t.match(read(bytes(IAC, SB, Opt.TN3270E, 2, IAC, SE)), { why: 'protocol', message: /malformed/ })
  t.match(read(bytes(IAC, SB, Opt.TTYPE, 0, 'X', IAC, SE)), { why: 'protocol', message: /option 24/ })
  t.match(read(bytes(IAC, SB, 99, 1, IAC, SE)), { why: 'protocol', message: /option 99/ })
  t.match(read(bytes(IAC, 17)), { why: 'protocol', message: /not telnet/ })
})

t.test('healthReason: ill answers count against a gateway\'s health, refusals do not', async t => {
  t.same(['closed', 'timeout', 'protocol', 'reject', 'ttype_send'].map(w => healthReason(w as never)), ['reset', 'timeout', 'other', undefined, undefined])
})

t.test('LuNameSet: names and ranges as /status writes them', async t => {
  const s = new LuNameSet(['GW1A001..GW1A004', 'tso', 'L12009..L12011', 'BAD..WORSE', 'X1..Y2', 'Z9..Z1', 7, ''])
  t.same(['GW1A001', 'gw1a004', 'GW1A005', 'GW1A0001', 'TSO', 'L12010', 'L1201', 'BAD', 'Z5'].map(n => s.has(n)), [true, true, false, false, true, true, false, false, false])
  t.same(s.invalid, ['BAD..WORSE', 'X1..Y2', 'Z9..Z1', '7', ''])
  t.equal(s.empty, false)
  t.equal(LuNameSet.EMPTY.empty, true)
  t.equal(LuNameSet.EMPTY.has('A1'), false)
})

t.test('AffinityTable: remembered for keepFor, bounded, off at 0', async t => {
  const a = new AffinityTable({ keepFor: 1000, maxEntries: 2 })
  t.equal(a.enabled, true)
  a.remember('10.0.0.1', 'L1', 'P', 0)
  t.same(a.recall('10.0.0.1', 999), { lu: 'L1', pool: 'P', endedAt: 0 })
  t.equal(a.recall('10.0.0.1', 1000), undefined, 'forgotten at keepFor')
  t.equal(a.size, 0)
  a.remember('10.0.0.1', 'L1', undefined, 0)
  a.remember('10.0.0.2', 'L2', 'P', 0)
  a.remember('10.0.0.1', 'L3', 'P', 10) // refreshed: now the newest
  a.remember('10.0.0.3', 'L4', 'P', 20)
  t.equal(a.size, 2, 'bounded')
  t.equal(a.recall('10.0.0.2', 30), undefined, 'the oldest went first')
  t.match(a.recall('10.0.0.1', 30), { lu: 'L3' })
  a.forget('10.0.0.1')
  t.equal(a.recall('10.0.0.1', 30), undefined)
  const off = new AffinityTable({ keepFor: 0, maxEntries: 10 })
  off.remember('10.0.0.1', 'L1', 'P', 0)
  t.equal(off.enabled, false)
  t.equal(off.size, 0, 'off: nothing remembered')
})

t.test('routeRequestOf and withResource', async t => {
  t.same(routeRequestOf({ mode: 'tn3270e', deviceType: 'IBM-3278-2', client: 'c' }), { kind: 'generic' })
  t.same(routeRequestOf({ mode: 'tn3270e', deviceType: 'IBM-3278-2', resourceName: 'hostb', client: 'c' }), { kind: 'name', name: 'HOSTB' })
  t.same(routeRequestOf({ mode: 'tn3270e', deviceType: 'IBM-3287-1', associate: 'gw1a001', client: 'c' }), { kind: 'associate', lu: 'GW1A001' })
  t.same(routeRequestOf({ mode: 'tn3270', deviceType: 'IBM-3278-2', resourceName: '', client: 'c' }), { kind: 'generic' })
  const e = { mode: 'tn3270e' as const, options: [{ option: Opt.TN3270E, local: false, remote: true }], request: { deviceType: 'IBM-3278-2-E' } }
  t.same(withResource(e, 'HOSTB'), { ...e, request: { deviceType: 'IBM-3278-2-E', connect: 'HOSTB' } })
  const n = { mode: 'tn3270' as const, options: [{ option: Opt.TTYPE, local: false, remote: true }], terminalType: 'IBM-3279-2-E@NOPE', previousTerminalType: 'IBM-3279-2-E@OLD', lastRefusal: 'x' }
  t.same(withResource(n, 'L2'), { ...n, terminalType: 'IBM-3279-2-E@L2' }, 'the name after @ replaced, the history kept')
  t.same(withResource({ ...n, terminalType: 'IBM-3278-2' }, 'HOSTA').mode === 'tn3270' && (withResource({ ...n, terminalType: 'IBM-3278-2' }, 'HOSTA') as typeof n).terminalType, 'IBM-3278-2@HOSTA')
})
