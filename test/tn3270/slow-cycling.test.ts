// Negotiators real sites have, as scripted peers against negotiateServer:
//  - a PCOMM-like client that takes about 5 s for each step of the TN3270E negotiation (RFC 2355
//    §7: WILL TN3270E, DEVICE-TYPE REQUEST, FUNCTIONS REQUEST; proxy3270's notes say IBM PCOMM
//    needs 5 s). The deadline is the whole negotiation (negotiation.timeout): such a client is
//    served when the steps fit in it and closed with the phase named when they do not. The
//    gateway's clock is a fake one, so "5 s" costs no real time.
//  - an OS/400-style client that declines TN3270E and cycles its terminal types on each TTYPE SEND
//    (RFC 1091 §2: the server asks again, the client moves down its list, repeating its last type
//    when the list is over) through 5250 types before a 3270 one.
import t, { type Test } from 'tap'
import { Cmd, Opt } from '../../lib/telnet/index.js'
import type { Tn3270ServerSession } from '../../lib/tn3270/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { bytes, type Peer } from '../telnet/fixtures/peer.js'
import { bare, sbE } from './fixtures/scripted.js'

const { IAC, SB, SE, WILL, WONT, DO } = Cmd
const TT = Opt.TTYPE
const sbTT = (...p: Parameters<typeof bytes>): Buffer => bytes(IAC, SB, TT, bytes(...p), IAC, SE)
const STEP_MS = 5000

/** The slow client: each answer after STEP_MS on the gateway's clock. */
async function slowClient (peer: Peer, clock: FakeClock): Promise<void> {
  const step = async (waitFor: Buffer, what: string, answer: Buffer): Promise<void> => {
    await peer.until(() => peer.pending.includes(waitFor) || peer.ended, 3000, what)
    if (peer.ended) return
    await peer.drain(20)
    clock.advance(STEP_MS)
    if (!peer.ended) peer.send(answer)
  }
  await step(bytes(IAC, DO, Opt.TN3270E), 'DO TN3270E', bytes(IAC, WILL, Opt.TN3270E))
  await step(sbE(8, 2), 'SEND DEVICE-TYPE', sbE(2, 7, 'IBM-3278-2-E'))
  // PCOMM asks BIND-IMAGE, RESPONSES, SYSREQ; this server grants RESPONSES and SYSREQ (no BINDs).
  await step(bytes(IAC, SB, Opt.TN3270E, 2, 4), 'DEVICE-TYPE IS', sbE(3, 7, 0, 2, 4))
  await step(sbE(3, 7, 2, 4), 'FUNCTIONS REQUEST (counter-proposal)', sbE(3, 4, 2, 4))
}

async function outcome (b: Awaited<ReturnType<typeof bare>>): Promise<Tn3270ServerSession | Error> { return await b.outcome(0) }

t.test('a PCOMM-like client, 5 s per step, within a 30 s negotiation.timeout: served', async (t: Test) => {
  const clock = new FakeClock()
  const b = await bare(t, { clock, timeout: 30_000 })
  const peer = await b.connect()
  await slowClient(peer, clock)
  const s = await outcome(b)
  t.notOk(s instanceof Error, s instanceof Error ? s.message : 'session')
  if (s instanceof Error) return
  t.same([s.mode, s.lu, [...s.functions]], ['tn3270e', 'LU01', ['RESPONSES', 'SYSREQ']])
  t.equal(clock.now(), 4 * STEP_MS, '20 s of negotiation')
  s.close('test over')
})

t.test('the same client under the default 10 s: closed when the deadline passes, the phase named', async (t: Test) => {
  const clock = new FakeClock()
  const b = await bare(t, { clock, timeout: 10_000 })
  const peer = await b.connect()
  await slowClient(peer, clock)
  const err = await outcome(b)
  t.ok(isLbError(err, ErrorCodes.TN3270_NEGOTIATION_TIMEOUT), 'timeout')
  // 5 s for WILL TN3270E, then the deadline passes before the DEVICE-TYPE REQUEST.
  t.match((err as Error).message, /timed out after 10000 ms in phase await-device-type/)
  t.equal(b.provider.held.size, 0, 'the LU went back')
  await peer.closed
})

// RFC 1091 terminal-type cycling as an OS/400 client does it: 5250 types first.
async function os400 (peer: Peer, types: string[]): Promise<void> {
  await peer.until(() => peer.pending.includes(bytes(IAC, DO, Opt.TN3270E)), 3000, 'DO TN3270E')
  peer.send(IAC, WONT, Opt.TN3270E)
  await peer.until(() => peer.pending.includes(bytes(IAC, DO, TT)), 3000, 'DO TTYPE')
  peer.send(IAC, WILL, TT)
  let asked = 0
  for (const type of types) {
    await peer.until(() => countOf(peer.pending, sbTT(1)) > asked, 3000, `TTYPE SEND #${asked + 1}`)
    asked++
    peer.send(sbTT(0, type))
  }
}

function countOf (hay: Buffer, needle: Buffer): number {
  let n = 0
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) n++
  return n
}

t.test('OS/400-style cycling: 5250 types refused one by one, the 3270 type in the list accepted', async (t: Test) => {
  const b = await bare(t)
  const peer = await b.connect()
  await os400(peer, ['IBM-3477-FC', 'IBM-3180-2', 'IBM-5555-C01', 'IBM-3278-2-E'])
  await peer.until(() => peer.pending.includes(bytes(IAC, DO, Opt.EOR)), 3000, 'DO EOR')
  peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY)
  const s = await outcome(b)
  t.notOk(s instanceof Error, s instanceof Error ? s.message : 'session')
  if (s instanceof Error) return
  t.same([s.mode, s.deviceType, s.lu], ['tn3270', 'IBM-3278-2-E', 'LU01'])
  t.equal(countOf(peer.pending, sbTT(1)), 4, 'asked once per type')
  s.close('test over')
})

t.test('OS/400-style cycling with no 3270 type: the repeated last type ends it, with a line the client can show', async (t: Test) => {
  const b = await bare(t)
  const peer = await b.connect()
  await os400(peer, ['IBM-3477-FC', 'IBM-5555-C01', 'IBM-5555-C01'])
  const err = await outcome(b)
  t.ok(isLbError(err, ErrorCodes.TN3270_DEVICE_TYPE))
  t.match((err as Error).message, /repeated terminal type IBM-5555-C01/)
  await peer.closed
  t.match(peer.pending.toString('latin1'), /tn3270-lb: unsupported terminal type IBM-5555-C01\r\n/, 'the reason in NVT text before the close')
  t.equal(b.provider.requests.length, 0, 'no 5250 type reached the provider')
})

t.test('a client that leaves mid-negotiation is an ordinary end: logged at info, not warn', async (t: Test) => {
  const b = await bare(t)
  const peer = await b.connect()
  await peer.until(() => peer.pending.includes(bytes(IAC, DO, Opt.TN3270E)), 3000, 'DO TN3270E')
  peer.socket.end()
  const err = await outcome(b)
  t.ok(isLbError(err, ErrorCodes.TN3270_NEGOTIATION_FAILED))
  t.match(b.log.lines.find(l => l.event === 'tn3270_negotiation_failed'), { level: 30, phase: 'await-tn3270e', reason: /peer closed/ })
})
