import t, { type Test } from 'tap'
import type { EventEmitter } from 'node:events'
import { TelnetConnection, Cmd, Opt, type TelnetConnectionOptions } from '../../lib/telnet/index.js'
import { Peer, bytes, listen } from './fixtures/peer.js'
import { captureLogger } from '../tn3270/fixtures/support.js'

const { IAC, SB, SE, WILL, WONT, DO, DONT, EOR, NOP, IP } = Cmd

async function pair (t: Test, opts: TelnetConnectionOptions = {}): Promise<{ conn: TelnetConnection, peer: Peer }> {
  let resolveConn!: (c: TelnetConnection) => void
  const got = new Promise<TelnetConnection>((resolve) => { resolveConn = resolve })
  const srv = await listen((s) => resolveConn(new TelnetConnection(s, opts)))
  t.teardown(() => srv.close())
  const peer = await Peer.connect(srv.port)
  t.teardown(() => peer.destroy())
  return { conn: await got, peer }
}
const next = <T>(emitter: TelnetConnection, ev: string): Promise<T[]> =>
  new Promise((resolve) => (emitter as unknown as EventEmitter).once(ev, (...a: T[]) => resolve(a)))

t.test('sendRecord doubles IAC and appends IAC EOR; sendSubneg doubles inside SB', async (t) => {
  const { conn, peer } = await pair(t)
  let written = false
  t.equal(conn.sendRecord(bytes(1, 0xff, 2), () => { written = true }), true)
  t.same(...await peer.expect(1, IAC, IAC, 2, IAC, EOR))
  t.ok(written, 'done ran once the bytes reached the kernel')
  conn.sendSubneg(Opt.TTYPE, bytes(1, 0xff))
  t.same(...await peer.expect(IAC, SB, Opt.TTYPE, 1, IAC, IAC, IAC, SE))
  conn.sendData(bytes('x', 0xff))
  t.same(...await peer.expect('x', IAC, IAC))
})

t.test('records, NVT data, commands and subnegotiations are reported', async (t) => {
  const { conn, peer } = await pair(t)
  const nvt = next<Buffer>(conn, 'nvt')
  peer.send('hi')
  t.same((await nvt)[0], bytes('hi'))
  conn.recordMode = true
  const rec = next<Buffer>(conn, 'record')
  peer.send(1, IAC)
  peer.send(IAC, 2, IAC)
  peer.send(EOR)
  t.same((await rec)[0], bytes(1, 0xff, 2))
  const cmd = next<string>(conn, 'command')
  peer.send(IAC, IP)
  t.same(await cmd, ['IP'])
  const sb = next<unknown>(conn, 'subneg')
  peer.send(IAC, SB, 24, 0, 'A', IAC, SE)
  t.same(await sb, [24, bytes(0, 'A')])
  // EOR outside record mode is ignored (no record event)
  conn.recordMode = false
  let records = 0
  conn.on('record', () => records++)
  peer.send(IAC, EOR, IAC, NOP)
  await next(conn, 'command')
  t.equal(records, 0)
})

t.test('TIMING-MARK: DO TM answered WILL TM; our DO TM completes on WILL or WONT', async (t) => {
  const { conn, peer } = await pair(t)
  peer.send(IAC, DO, Opt.TIMING_MARK)
  t.same(...await peer.expect(IAC, WILL, Opt.TIMING_MARK))
  let done = 0
  conn.sendTimingMark(() => done++)
  t.same(...await peer.expect(IAC, DO, Opt.TIMING_MARK))
  t.equal(done, 1)
  t.equal(conn.timingMarksOutstanding, 1)
  const reply = next<string>(conn, 'timingMarkReply')
  peer.send(IAC, WONT, Opt.TIMING_MARK)
  t.same(await reply, ['WONT'])
  t.equal(conn.timingMarksOutstanding, 0)
  // unsolicited replies and DONT TM change nothing and send nothing
  let replies = 0
  conn.on('timingMarkReply', () => replies++)
  peer.send(IAC, WILL, Opt.TIMING_MARK, IAC, DONT, Opt.TIMING_MARK)
  conn.sendNop(() => done++)
  t.same(...await peer.expect(IAC, NOP))
  t.same(await peer.drain(), bytes(), 'nothing else sent')
  t.equal(replies, 0)
  t.equal(done, 2)
  // TM never entered the option table
  t.equal(conn.options.state('local', Opt.TIMING_MARK), 'NO')
})

t.test('scripted peers: yes to everything, refuses everything, changes its mind — no loops', async (t) => {
  t.test('yes-man', async (t) => {
    const { conn, peer } = await pair(t, { acceptRemote: [Opt.BINARY] })
    conn.enableRemote(Opt.EOR)
    conn.enableLocal(Opt.EOR)
    t.same(...await peer.expect(IAC, DO, Opt.EOR, IAC, WILL, Opt.EOR))
    peer.send(IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR)
    // the yes-man also volunteers, then repeats itself: only the first gets an answer
    peer.send(IAC, WILL, Opt.BINARY, IAC, WILL, Opt.BINARY, IAC, WILL, Opt.EOR, IAC, DO, Opt.EOR)
    t.same(...await peer.expect(IAC, DO, Opt.BINARY))
    t.same(await peer.drain(), bytes(), 'nothing acknowledged twice')
    t.ok(conn.isRemote(Opt.EOR) && conn.isLocal(Opt.EOR) && conn.isRemote(Opt.BINARY))
  })
  t.test('refuser', async (t) => {
    const { conn, peer } = await pair(t)
    const changes: unknown[] = []
    conn.on('option', (c) => changes.push(c))
    conn.enableRemote(Opt.TTYPE)
    t.same(...await peer.expect(IAC, DO, Opt.TTYPE))
    peer.send(IAC, WONT, Opt.TTYPE, IAC, WONT, Opt.TTYPE, IAC, DONT, Opt.ECHO)
    // a refused option offered by the peer gets one refusal each
    peer.send(IAC, WILL, Opt.NAWS, IAC, DO, Opt.ECHO)
    t.same(...await peer.expect(IAC, DONT, Opt.NAWS, IAC, WONT, Opt.ECHO))
    t.same(await peer.drain(), bytes())
    t.same(changes, [{ side: 'remote', option: Opt.TTYPE, enabled: false, refused: true }])
  })
  t.test('mind-changer', async (t) => {
    const { conn, peer } = await pair(t, { acceptRemote: [Opt.BINARY], acceptLocal: [Opt.BINARY] })
    peer.send(IAC, WILL, Opt.BINARY)
    t.same(...await peer.expect(IAC, DO, Opt.BINARY))
    peer.send(IAC, WONT, Opt.BINARY)
    t.same(...await peer.expect(IAC, DONT, Opt.BINARY))
    peer.send(IAC, WILL, Opt.BINARY)
    t.same(...await peer.expect(IAC, DO, Opt.BINARY))
    // we change our mind while our own request is pending: queue bit, no extra bytes
    conn.disableRemote(Opt.BINARY)
    t.same(...await peer.expect(IAC, DONT, Opt.BINARY))
    conn.enableRemote(Opt.BINARY)
    t.equal(conn.options.queue('remote', Opt.BINARY), 'OPPOSITE')
    peer.send(IAC, WONT, Opt.BINARY)
    t.same(...await peer.expect(IAC, DO, Opt.BINARY))
    peer.send(IAC, WILL, Opt.BINARY)
    t.same(await peer.drain(), bytes())
    t.ok(conn.isRemote(Opt.BINARY))
  })
})

t.test('options agreed before a hand-over are in force without a byte on the wire', async (t) => {
  const { conn, peer } = await pair(t, { agreed: [{ side: 'remote', option: Opt.TN3270E }, { side: 'local', option: Opt.BINARY }] })
  t.ok(conn.isRemote(Opt.TN3270E))
  t.ok(conn.isLocal(Opt.BINARY))
  const change = next<{ side: string, option: number, enabled: boolean }>(conn, 'option')
  peer.send(IAC, WONT, Opt.TN3270E)
  t.same((await change)[0], { side: 'remote', option: Opt.TN3270E, enabled: false })
  t.same(...await peer.expect(IAC, DONT, Opt.TN3270E), 'RFC 1143: the WONT is acknowledged, as for any option that was on')
})

t.test('oversize subnegotiation closes the connection with a logged reason', async (t) => {
  const log = captureLogger()
  const { conn, peer } = await pair(t, { logger: log.logger, limits: { maxSubneg: 8 } })
  const closed = next<string>(conn, 'close')
  peer.send(IAC, SB, 24, ...Buffer.alloc(20, 0x41), IAC, SE)
  const [reason] = await closed
  t.match(reason, /TELNET_SUBNEG_TOO_LONG/)
  t.ok(log.lines.some((l) => l.event === 'telnet_error' && /SUBNEG_TOO_LONG/.test(String(l.reason))))
  await peer.closed
  t.equal(conn.sendRecord(bytes(1)), false, 'writes after close are dropped')
  t.equal(conn.sendTimingMark(), false)
})

t.test('a throwing listener closes only this connection', async (t) => {
  const { conn, peer } = await pair(t)
  conn.on('nvt', () => { throw new Error('boom') })
  const closed = next<string>(conn, 'close')
  peer.send('x')
  t.match((await closed)[0], /internal error: boom/)
})

t.test('graceful close and peer close', async (t) => {
  const { conn, peer } = await pair(t, { closeGraceMs: 50 })
  const closed = next<string>(conn, 'close')
  conn.close('bye')
  conn.close('again')
  await peer.closed
  t.same(await closed, ['bye'])
  t.equal(conn.closeReason, 'bye')
  const b = await pair(t)
  const closed2 = next<string>(b.conn, 'close')
  b.peer.socket.end()
  t.same(await closed2, ['peer closed the connection'])
  const c = await pair(t)
  const closed3 = next<string>(c.conn, 'close')
  c.conn.reset('rst')
  t.same(await closed3, ['rst'])
})

t.test('hold: input after the event being handled is kept as sent; unhold reads it in order; release hands the socket over', async (t) => {
  const { conn, peer } = await pair(t)
  peer.socket.setNoDelay(true)
  const seen: string[] = []
  conn.on('subneg', (option, data) => {
    seen.push(`sb ${option} ${data.toString('latin1')}`)
    if (data.toString('latin1') === 'HOLD') conn.hold()
  })
  conn.on('command', (c) => seen.push(c))
  const firstSb = next(conn, 'subneg')
  // One segment: the subnegotiation that holds, then more the connection must not read yet.
  peer.send(IAC, SB, 24, 'HOLD', IAC, SE, IAC, NOP, IAC, SB, 24, 'NEXT', IAC, SE)
  await firstSb
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(seen, ['sb 24 HOLD'], 'nothing after the holding event was read')
  peer.send(IAC, IP)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(seen, ['sb 24 HOLD'], 'nor what came later')
  conn.unhold()
  t.same(seen, ['sb 24 HOLD', 'NOP', 'sb 24 NEXT', 'IP'], 'read in order once released')
  conn.unhold()
  t.pass('unhold without a hold does nothing')

  // Hold again, then hand the socket over: the held bytes come back exactly, IAC doubling and all.
  const again = next(conn, 'subneg')
  peer.send(IAC, SB, 24, 'HOLD', IAC, SE, 'a', IAC, IAC, 'b')
  await again
  await new Promise((resolve) => setTimeout(resolve, 20))
  const rest = conn.release()
  t.same(rest, bytes('a', IAC, IAC, 'b'))
  t.equal(conn.closed, true, 'the connection is done with the socket')
  t.equal(conn.sendNop(), false, 'and writes nothing more')
  t.equal(conn.socket.listenerCount('data'), 0)
  t.equal(conn.socket.isPaused(), true, 'left paused for the new owner')
  let closeEvents = 0
  conn.on('close', () => closeEvents++)
  const data = new Promise<Buffer>((resolve) => conn.socket.once('data', resolve))
  conn.socket.resume()
  peer.send(IAC, NOP)
  t.same(await data, bytes(IAC, NOP), 'the new owner reads raw bytes')
  conn.socket.destroy()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(closeEvents, 0, 'no close event from a released connection')
})

t.test('hold: a held chunk that holds again keeps the rest behind it', async (t) => {
  const { conn, peer } = await pair(t)
  peer.socket.setNoDelay(true)
  const seen: string[] = []
  conn.on('subneg', (_o, data) => { seen.push(data.toString('latin1')); conn.hold() })
  const first = next(conn, 'subneg')
  peer.send(IAC, SB, 24, 'A', IAC, SE)
  await first
  peer.send(IAC, SB, 24, 'B', IAC, SE, IAC, SB, 24, 'C', IAC, SE)
  await new Promise((resolve) => setTimeout(resolve, 20))
  peer.send(IAC, SB, 24, 'D', IAC, SE)
  await new Promise((resolve) => setTimeout(resolve, 20))
  conn.unhold()
  t.same(seen, ['A', 'B'], 'B held again')
  conn.unhold()
  t.same(seen, ['A', 'B', 'C'])
  conn.unhold()
  t.same(seen, ['A', 'B', 'C', 'D'])
  // The peer closing while input is held is still seen.
  const closed = next(conn, 'close')
  peer.socket.end()
  t.match(await closed, ['peer closed the connection'])
})
