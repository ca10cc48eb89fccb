// The client negotiation and session (lib/tn3270/negotiate-client.ts, client-session.ts) against
// scripted hosts: TN3270 in the order Hercules uses (RFC 1576 §2, RFC 1091 with `@NAME`),
// TN3270E with CONNECT and FUNCTIONS (RFC 2355 §7), headers, SEQ and responses (RFC 2355 §8.1,
// §10.2), ATTN and SYSREQ (RFC 2355 §10.4, §10.5), TIMING-MARK (RFC 860), flow control.
import t from 'tap'
import { connect as netConnect, type Socket } from 'node:net'
import { ErrorCodes, NegotiationError } from '../../lib/errors.js'
import { negotiateClient, type ClientNegotiateOptions, type SessionData, type Tn3270ClientSession } from '../../lib/tn3270/index.js'
import { Opt, BRK, IP, AO } from '../../lib/telnet/index.js'
import { IAC, WONT, fakeHost, HostPeer, screenRecord } from './fixtures/fake-host.js'
import { until } from '../helpers/until.js'

async function connect (port: number, extra: Partial<ClientNegotiateOptions> = {}): Promise<Tn3270ClientSession> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
  return await negotiateClient(socket, { terminalType: 'IBM-3278-2-E', tn3270e: false, timeout: 2000, ...extra })
}

async function failure (p: Promise<unknown>): Promise<NegotiationError> {
  try { await p } catch (err) {
    if (!(err instanceof NegotiationError)) throw err
    return err
  }
  throw new Error('expected the negotiation to fail')
}

function collect (s: Tn3270ClientSession): SessionData[] {
  const got: SessionData[] = []
  s.on('data', d => got.push(d))
  return got
}

t.test('plain TN3270 host (Hercules order): TYPE@resource, EOR+BINARY both ways, records both ways', async t => {
  const h = await fakeHost(t, async p => {
    await p.plainHandshake()
    p.sendRecord(screenRecord('Device number : 0010'))
    p.sendRecord(Buffer.from([0xf1, 0xc2, 0xff, 0x01])) // a data byte 0xFF arrives doubled on the wire
  })
  const s = await connect(h.port, { resource: '0010', firstRecordTimeout: 1000 })
  t.teardown(() => s.reset('test over'))
  t.equal(h.peers[0]!.ttype, 'IBM-3278-2-E@0010', 'RFC 1646-era @NAME on the terminal type')
  t.equal(s.mode, 'tn3270')
  t.equal(s.device, undefined)
  t.equal(s.pending.length, 1, 'the first screen was awaited and checked')
  const got = collect(s)
  s.start()
  await until('two records', () => got.length === 2)
  t.match(got[0], { type: '3270-DATA', seq: 0, responseFlag: 0 })
  t.same([...got[1]!.data], [0xf1, 0xc2, 0xff, 0x01])

  const peer = h.peers[0] as HostPeer
  t.equal(s.send3270(Buffer.from([0x7d, 0x40, 0x40, 0xff])), undefined, 'no SEQ on a plain host')
  t.same([...await peer.recordAt(0)], [0x7d, 0x40, 0x40, 0xff], 'no header added toward a plain host; IAC undoubled by the peer')
  s.sendAttn()
  await peer.waitFor('IAC BRK', e => e.type === 'command' && e.code === BRK)
  s.sendSysreq()
  t.same([...await peer.recordAt(1)], [0x01, 0x6c, 0x61, 0x02], 'SysReq as a Test Request Read on a plain host')
  t.throws(() => s.sendResponse(0, true, 0), { code: ErrorCodes.TN3270_SESSION_STATE })

  // TIMING-MARK (RFC 860): the host's WONT is the reply.
  const replies: string[] = []
  s.on('timingMarkReply', v => replies.push(v))
  s.sendTimingMark()
  await peer.negotiated('DO', Opt.TIMING_MARK)
  peer.send(IAC, WONT, Opt.TIMING_MARK)
  await until('tm reply', () => replies.length === 1)
  t.same(replies, ['WONT'])
})

t.test('TN3270E host: DEVICE-TYPE REQUEST CONNECT, functions, headers and responses both ways', async t => {
  let request: Buffer = Buffer.alloc(0)
  const checked: Buffer[] = []
  let functions: Buffer = Buffer.alloc(0)
  const h = await fakeHost(t, async p => {
    request = await p.tn3270eStart()
    p.subneg(Opt.TN3270E, [2, 4, ...Buffer.from('IBM-3278-2-E'), 1, ...Buffer.from('TCP00042')])
    functions = await p.subnegFrom(Opt.TN3270E, 1)
    p.subneg(Opt.TN3270E, [3, 4, 2, 4]) // FUNCTIONS IS RESPONSES SYSREQ
    // 3270-DATA, ALWAYS-RESPONSE, SEQ 7
    p.sendRecord(Buffer.concat([Buffer.from([0x00, 0x00, 0x02, 0x00, 0x07]), screenRecord('READY')]))
  })
  const s = await connect(h.port, { tn3270e: true, terminalType: 'IBM-3279-2-E', resource: 'TSOPOOL', functions: ['RESPONSES', 'SYSREQ', 'BIND-IMAGE'], firstRecordTimeout: 1000, screenCheck: r => { checked.push(r); return undefined } })
  t.teardown(() => s.reset('test over'))
  // RFC 2355 §7.1.1: DEVICE-TYPE REQUEST <type> CONNECT <name>; 3278 even for a 3279.
  t.same([...request], [2, 7, ...Buffer.from('IBM-3278-2-E'), 1, ...Buffer.from('TSOPOOL')])
  t.same([...functions], [3, 7, 2, 4], 'FUNCTIONS REQUEST RESPONSES SYSREQ (BIND-IMAGE never asked)')
  t.equal(s.mode, 'tn3270e')
  t.equal(s.device, 'TCP00042')
  t.same([...s.functions].sort(), ['RESPONSES', 'SYSREQ'])
  const got = collect(s)
  const responses: unknown[] = []
  s.on('response', r => responses.push(r))
  s.start()
  await until('record', () => got.length === 1)
  t.match(got[0], { type: '3270-DATA', seq: 7, responseFlag: 2 })
  t.same(checked, [got[0]!.data], 'the first screen was checked for a refusal, once')

  const peer = h.peers[0] as HostPeer
  s.sendResponse(7, true, 0)
  t.same([...await peer.recordAt(0)], [0x02, 0x00, 0x00, 0x00, 0x07, 0x00], 'RESPONSE, POSITIVE, SEQ 7, DEVICE-END')
  t.equal(s.send3270(Buffer.from([0x7d]), { responseFlag: 2 }), 0)
  t.equal(s.send3270(Buffer.from([0x7d])), undefined)
  t.same([...await peer.recordAt(1)], [0x00, 0x00, 0x02, 0x00, 0x00, 0x7d], '3270-DATA ALWAYS-RESPONSE SEQ 0')
  t.same([...await peer.recordAt(2)], [0x00, 0x00, 0x00, 0x00, 0x01, 0x7d], 'next SEQ, no response asked')
  peer.sendRecord(Buffer.from([0x02, 0x00, 0x01, 0x00, 0x00, 0x01]))
  await until('response', () => responses.length === 1)
  t.same(responses[0], { seq: 0, positive: false, code: 1 })
  s.sendAttn()
  await peer.waitFor('IAC IP', e => e.type === 'command' && e.code === IP)
  s.sendSysreq()
  await peer.waitFor('IAC AO', e => e.type === 'command' && e.code === AO)
  peer.sendRecord(Buffer.from([0x05, 0, 0, 0, 0, 0x41])) // NVT-DATA is passed up as such
  peer.sendRecord(Buffer.from([0x03, 0, 0, 0, 0, 0x31])) // BIND-IMAGE (never asked): ignored
  peer.sendRecord(Buffer.from([0xf1, 0, 0, 0, 0, 0xc2])) // unknown DATA-TYPE: the host broke RFC 2355 §8.1.1
  await until('closed on a malformed header', () => s.closed)
  t.match(got[1], { type: 'NVT-DATA' })
  t.equal(got.length, 2)
})

t.test('TN3270E FUNCTIONS counter-proposals (RFC 2355 §7.2)', async t => {
  const run = async (hostSays: number[], then?: number[]) => {
    const h = await fakeHost(t, async p => {
      await p.tn3270eStart()
      p.subneg(Opt.TN3270E, [2, 4, ...Buffer.from('IBM-3278-2-E'), 1, ...Buffer.from('LU1')])
      await p.subnegFrom(Opt.TN3270E, 1)
      p.subneg(Opt.TN3270E, [3, 7, ...hostSays])
      if (then !== undefined) {
        await p.subnegFrom(Opt.TN3270E, 2)
        p.subneg(Opt.TN3270E, [3, 4, ...then])
      }
    })
    const s = await connect(h.port, { tn3270e: true, functions: ['RESPONSES', 'SYSREQ'] })
    const peer = h.peers[0]!
    const sent = [await peer.subnegFrom(Opt.TN3270E, 1), await peer.subnegFrom(Opt.TN3270E, 2)]
    s.reset('test over')
    return { s, sent }
  }
  const less = await run([2])
  t.same([...less.sent[1]!], [3, 4, 2], 'host wants less: we say IS with its list')
  t.same([...less.s.functions], ['RESPONSES'])
  const more = await run([2, 0], [2])
  t.same([...more.sent[1]!], [3, 7, 2], 'host wants something we did not ask: REQUEST the common part')
  t.same([...more.s.functions], ['RESPONSES'])

  const h = await fakeHost(t, async p => {
    await p.tn3270eStart()
    p.subneg(Opt.TN3270E, [2, 4, ...Buffer.from('IBM-3278-2-E'), 1, ...Buffer.from('LU1')])
    await p.subnegFrom(Opt.TN3270E, 1)
    p.subneg(Opt.TN3270E, [3, 4, 2, 0]) // IS adds BIND-IMAGE: illegal
  })
  const f = await failure(connect(h.port, { tn3270e: true }))
  t.match(f, { failure: 'protocol', phase: 'functions', code: ErrorCodes.TN3270E_MALFORMED })
  t.match(f.message, /adds to our request/)
})

t.test('after negotiation: pause/resume reads, records held until start(), host leaving 3270 mode', async t => {
  const h = await fakeHost(t, async p => {
    await p.plainHandshake()
    p.sendRecord(screenRecord('ONE'))
    p.sendRecord(screenRecord('TWO'))
  })
  const s = await connect(h.port, { firstRecordTimeout: 1000 })
  t.teardown(() => s.reset('test over'))
  await new Promise(resolve => setTimeout(resolve, 50))
  const got = collect(s)
  t.equal(got.length, 0, 'nothing emitted before start()')
  s.start()
  t.equal(got.length, 2, 'both records replayed in order')
  s.pause()
  t.ok(s.isPaused)
  const peer = h.peers[0] as HostPeer
  peer.sendRecord(screenRecord('THREE'))
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(got.length, 2, 'not read while paused')
  s.resume()
  await until('third record', () => got.length === 3)
  const reasons: string[] = []
  s.on('close', r => reasons.push(r))
  peer.send(IAC, WONT, Opt.BINARY)
  await until('closed', () => reasons.length === 1)
  t.match(reasons[0], /host left 3270 mode/)
  t.ok(s.closed)
})

