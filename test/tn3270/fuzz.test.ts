// Fuzz: random and mutated client streams, split at every byte, against a live server while
// another session keeps working. Only the offending connection may close; the process never crashes.
import t from 'tap'
import fc from 'fast-check'
import { Cmd, Opt } from '../../lib/telnet/index.js'
import { Peer, bytes } from '../telnet/fixtures/peer.js'
import { startAppServer, buildScreen, ebcdic } from './fixtures/support.js'
import { clientE, sbE } from './fixtures/scripted.js'

const { IAC, SB, SE, WILL, DO, EOR, IP } = Cmd

// A valid TN3270E client script (s3270-like) followed by an Enter record; mutations start from it.
const VALID = bytes(
  IAC, WILL, Opt.TN3270E, sbE(2, 7, 'IBM-3278-2-E', 1, 'POOLNAME'), sbE(3, 7, 2, 4), sbE(3, 4, 2, 4),
  0, 0, 0, 0, 0, 0x7d, 0xc5, 0x48, 0x11, 0xc5, 0x48, ...ebcdic('X'), IAC, EOR, IAC, IP, IAC, DO, Opt.TIMING_MARK,
)
const VALID_TN3270 = bytes(
  IAC, 252, Opt.TN3270E, IAC, WILL, Opt.TTYPE, IAC, SB, Opt.TTYPE, 0, 'IBM-3279-2-E@LU02', IAC, SE,
  IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR, IAC, WILL, Opt.BINARY, IAC, DO, Opt.BINARY, 0x7d, 0x40, 0x40, IAC, EOR,
)

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.constantFrom(IAC, SB, SE, 0, 1, 2, 3, 7, 40, EOR) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
)
function mutate (base: Buffer, ms: Array<{ kind: 'flip' | 'insert' | 'delete' | 'truncate', at: number, value: number }>): Buffer {
  let b = [...base]
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length
    if (m.kind === 'flip') b[at] = m.value
    else if (m.kind === 'insert') b.splice(at, 0, m.value)
    else if (m.kind === 'delete') b.splice(at, 1)
    else b = b.slice(0, at)
  }
  return Buffer.from(b)
}

const streams = fc.oneof(
  fc.uint8Array({ maxLength: 120 }).map((u) => Buffer.from(u)),
  fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => mutate(VALID, ms)),
  fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => mutate(VALID_TN3270, ms)),
  // oversize subnegotiation and oversize record
  fc.constant(bytes(IAC, WILL, Opt.TN3270E, IAC, SB, 40, ...Buffer.alloc(1500, 0x41))),
  fc.constant(bytes(VALID_TN3270.subarray(0, VALID_TN3270.length - 5), ...Buffer.alloc(70_000, 0x40))),
)

t.test('random and mutated streams, one byte per write, beside a working session', async (t) => {
  const srv = await startAppServer({ timeout: 3000 })
  t.teardown(() => srv.close())
  // the bystander session
  const good = await Peer.connect(srv.port)
  t.teardown(() => good.destroy())
  await clientE(t, good, { functions: [2, 4] })
  const first = buildScreen('')
  t.same(await good.read(5 + first.length + 2), bytes(0, 0, 0, 0, 0, first, IAC, EOR))
  let answered = 0
  const checkBystander = async (): Promise<void> => {
    good.send(0, 0, 0, 0, 0, 0x7d, 0xc5, 0x48, 0x11, 0xc5, 0x48, ...ebcdic(`OK${answered}`), IAC, EOR)
    // SEQ-NUMBER counts every message this session sent (the first screen was SEQ 0); a header
    // byte of X'FF' is doubled on the wire like any other data byte (RFC 2355 §8).
    const seq = [(answered + 1) >> 8, (answered + 1) & 0xff].flatMap(b => b === IAC ? [IAC, IAC] : [b])
    const want = bytes(0, 0, 0, ...seq, buildScreen(`OK${answered}`), IAC, EOR)
    t.same(await good.read(want.length), want)
    answered++
  }

  let connections = 1
  await fc.assert(fc.asyncProperty(streams, async (stream) => {
    const p = await Peer.connect(srv.port)
    connections++
    p.socket.setNoDelay(true)
    // split at every byte: one write per byte (the last big run in modest slices)
    for (let i = 0; i < stream.length && !p.ended; i += i < 2000 ? 1 : 4096) {
      p.socket.write(stream.subarray(i, i < 2000 ? i + 1 : i + 4096))
      if (i < 300 && i % 16 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await p.drain(15)
    p.destroy()
    await p.closed
    await checkBystander()
  }), { numRuns: 60 })

  // every connection ended in a session or a logged failure; the bystander is still alive
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(srv.sessions.length + srv.failures.length, connections)
  const failedLogs = srv.log.lines.filter((l) => l.event === 'tn3270_negotiation_failed')
  t.equal(failedLogs.length, srv.failures.length, 'each failure logged with a reason')
  t.ok(failedLogs.every((l) => typeof l.reason === 'string' && (l.reason as string).length > 0))
  t.ok(srv.log.lines.some((l) => /TOO_LONG/.test(String(l.reason))), 'limits were exercised')
  await checkBystander()
  t.notOk(srv.sessions[0]!.closed)
  t.equal(srv.provider.held.size, srv.sessions.filter((s) => !s.closed).length, 'no leaked leases')
})
