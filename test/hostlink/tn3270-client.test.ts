// The upstream TN3270/TN3270E client (lib/hostlink/tn3270-client.ts) against scripted hosts.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import { ErrorCodes } from '../../lib/errors.js'
import {
  connectTn3270Host, isHostConnectError, probeTn3270Host, screenRefusal,
  type HostData, type Tn3270ClientOptions, type Tn3270HostSession,
} from '../../lib/hostlink/tn3270-client.js'
import { Opt, BRK, IP, AO } from '../../lib/telnet/index.js'
import { DO, IAC, WONT, fakeHost, HostPeer, screenRecord, TTYPE_SEND } from './tn3270-fake-host.js'
import { until } from '../helpers/until.js'

const base = (port: number, extra: Partial<Tn3270ClientOptions> = {}): Tn3270ClientOptions => ({
  host: '127.0.0.1', port, connectTimeout: 2000, terminalType: 'IBM-3278-2-E', luRequest: 'ttype', ...extra,
})

async function failure (p: Promise<unknown>): Promise<{ kind: string, code: string, message: string }> {
  try { await p } catch (err) {
    if (!isHostConnectError(err)) throw err
    return { kind: err.kind, code: err.code, message: err.message }
  }
  throw new Error('expected the connect to fail')
}

function collect (s: Tn3270HostSession): HostData[] {
  const got: HostData[] = []
  s.on('data', d => got.push(d))
  return got
}


t.test('screenRefusal recognises the Hercules refusal texts and nothing else', async t => {
  t.equal(screenRefusal(screenRecord('Connection rejected, no available 3270 device')), 'Connection rejected, no available 3270 device')
  t.equal(screenRefusal(screenRecord('Connection rejected, device 0010 unavailable')), 'Connection rejected, device 0010 unavailable')
  t.equal(screenRefusal(screenRecord(' Hercules Version  : 3.13  Device number     : 0010')), undefined)
  t.equal(screenRefusal(Buffer.alloc(0)), undefined)
})

t.test('plain TN3270 host (Hercules order): TYPE@resource, EOR+BINARY both ways, records both ways', async t => {
  const h = await fakeHost(t, async p => {
    await p.plainHandshake()
    p.sendRecord(screenRecord('Device number : 0010'))
    p.sendRecord(Buffer.from([0xf1, 0xc2, 0xff, 0x01])) // a data byte 0xFF arrives doubled on the wire
  })
  const s = await connectTn3270Host(base(h.port, { resource: '0010', firstRecordTimeout: 1000 }))
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
  t.same([...await peer.recordAt(1)], [0xf0], 'SysReq as AID X\'F0\' on a plain host')
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

t.test('luRequest ttype refuses TN3270E; generic sessions send the bare terminal type', async t => {
  const h = await fakeHost(t, async p => {
    p.send(IAC, DO, Opt.TN3270E)
    await p.negotiated('WONT', Opt.TN3270E)
    await p.plainHandshake()
    p.sendRecord(screenRecord('HELLO'))
  })
  const s = await connectTn3270Host(base(h.port, { terminalType: 'IBM-3279-2-E' }))
  t.teardown(() => s.reset('test over'))
  t.equal(s.mode, 'tn3270')
  t.equal(h.peers[0]!.ttype, 'IBM-3279-2-E')
  t.equal(s.pending.length, 0, 'not awaited: firstRecordTimeout 0')
  const got = collect(s)
  s.start()
  await until('record', () => got.length === 1)
})

t.test('luRequest connect against a host without TN3270E falls back to TYPE@NAME', async t => {
  const h = await fakeHost(t, async p => { await p.plainHandshake() })
  const s = await connectTn3270Host(base(h.port, { luRequest: 'connect', resource: 'TSOGRP' }))
  t.teardown(() => s.reset('test over'))
  t.equal(s.mode, 'tn3270')
  t.equal(h.peers[0]!.ttype, 'IBM-3278-2-E@TSOGRP')
})

t.test('TN3270E host: DEVICE-TYPE REQUEST CONNECT, functions, headers and responses both ways', async t => {
  let request: Buffer = Buffer.alloc(0)
  let functions: Buffer = Buffer.alloc(0)
  const h = await fakeHost(t, async p => {
    request = await p.tn3270eStart()
    p.subneg(Opt.TN3270E, [2, 4, ...Buffer.from('IBM-3278-2-E'), 1, ...Buffer.from('TCP00042')])
    functions = await p.subnegFrom(Opt.TN3270E, 1)
    p.subneg(Opt.TN3270E, [3, 4, 2, 4]) // FUNCTIONS IS RESPONSES SYSREQ
    // 3270-DATA, ALWAYS-RESPONSE, SEQ 7
    p.sendRecord(Buffer.concat([Buffer.from([0x00, 0x00, 0x02, 0x00, 0x07]), screenRecord('READY')]))
  })
  const s = await connectTn3270Host(base(h.port, { luRequest: 'connect', terminalType: 'IBM-3279-2-E', resource: 'TSOPOOL', functions: ['RESPONSES', 'SYSREQ', 'BIND-IMAGE'], firstRecordTimeout: 1000 }))
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
  t.equal(screenRefusal(got[0]!.data), undefined)

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
    const s = await connectTn3270Host(base(h.port, { luRequest: 'connect', functions: ['RESPONSES', 'SYSREQ'] }))
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
  const f = await failure(connectTn3270Host(base(h.port, { luRequest: 'connect' })))
  t.equal(f.kind, 'protocol')
  t.match(f.message, /adds to our request/)
})

t.test('refusals: TN3270E REJECT, TTYPE asked again, a refusal screen, a close before any screen', async t => {
  const reject = await fakeHost(t, async p => {
    await p.tn3270eStart()
    p.subneg(Opt.TN3270E, [2, 6, 5, 1]) // REJECT REASON DEVICE-IN-USE
  })
  let f = await failure(connectTn3270Host(base(reject.port, { luRequest: 'connect', resource: 'LU9' })))
  t.same([f.kind, f.code], ['rejected', ErrorCodes.TN3270_HOST_REJECTED])
  t.match(f.message, /rejected DEVICE-TYPE REQUEST CONNECT LU9: DEVICE-IN-USE/)

  const again = await fakeHost(t, async p => {
    p.send(IAC, DO, Opt.TTYPE)
    await p.negotiated('WILL', Opt.TTYPE)
    p.send(TTYPE_SEND)
    await p.subnegFrom(Opt.TTYPE, 0)
    p.send(TTYPE_SEND)
  })
  f = await failure(connectTn3270Host(base(again.port, { resource: 'NOSUCH' })))
  t.equal(f.kind, 'rejected')
  t.match(f.message, /refused terminal type IBM-3278-2-E@NOSUCH/)

  const screen = await fakeHost(t, async p => {
    await p.plainHandshake()
    p.sendRecord(screenRecord('Connection rejected, device 0010 unavailable'))
  })
  f = await failure(connectTn3270Host(base(screen.port, { resource: '0010', firstRecordTimeout: 1000 })))
  t.equal(f.kind, 'rejected')
  t.match(f.message, /refused resource 0010 on screen: "Connection rejected, device 0010 unavailable"/)
  await (screen.peers[0] as HostPeer).waitClosed()
  t.pass('the gateway closed the refused connection itself (Hercules would wait 5 s)')

  const early = await fakeHost(t, async p => {
    await p.plainHandshake()
    p.end()
  })
  f = await failure(connectTn3270Host(base(early.port, { firstRecordTimeout: 1000 })))
  t.same([f.kind, f.code], ['closed-early', ErrorCodes.TN3270_HOST_REJECTED])
  t.match(f.message, /closed the connection before sending a screen/)

  const midway = await fakeHost(t, async p => {
    p.send(IAC, DO, Opt.TTYPE)
    await p.negotiated('WILL', Opt.TTYPE)
    p.end()
  })
  f = await failure(connectTn3270Host(base(midway.port)))
  t.same([f.kind, f.code], ['closed-early', ErrorCodes.TN3270_HOST_NEGOTIATION])

  const silent = await fakeHost(t, async p => { await p.plainHandshake() })
  const s = await connectTn3270Host(base(silent.port, { firstRecordTimeout: 100 }))
  t.equal(s.pending.length, 0, 'a host that waits for input is not a refusal: the session goes ahead after firstRecordTimeout')
  s.reset('test over')
})

t.test('unreachable, negotiation timeout, abort, bad subnegotiation', async t => {
  const closed = createServer()
  await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
  const deadPort = (closed.address() as { port: number }).port
  await new Promise<void>(resolve => closed.close(() => resolve()))
  let f = await failure(connectTn3270Host(base(deadPort)))
  t.same([f.kind, f.code], ['unreachable', ErrorCodes.TN3270_HOST_UNREACHABLE])
  t.match(f.message, new RegExp(`connect to 127.0.0.1:${deadPort} failed: ECONNREFUSED`))
  await t.rejects(probeTn3270Host(base(deadPort)), { code: ErrorCodes.TN3270_HOST_UNREACHABLE })

  const mute = await fakeHost(t, () => {})
  f = await failure(connectTn3270Host(base(mute.port, { connectTimeout: 150 })))
  t.same([f.kind, f.code], ['unreachable', ErrorCodes.TN3270_HOST_NEGOTIATION])
  t.match(f.message, /did not complete TN3270 negotiation within 150 ms \(sent terminal type: none/)
  await t.rejects(probeTn3270Host(base(mute.port, { connectTimeout: 150 })), { code: ErrorCodes.TN3270_HOST_UNREACHABLE, message: /accepted but sent nothing within 150 ms/ },
    'a probe wants the host to speak first (DO TTYPE / DO TN3270E)')
  const probeAbort = new AbortController()
  const pp = probeTn3270Host(base(mute.port, { signal: probeAbort.signal }))
  setTimeout(() => probeAbort.abort(), 30)
  await t.rejects(pp, { message: /probe of .* aborted/ })
  const speaker = await fakeHost(t, p => { p.send(IAC, DO, Opt.TTYPE) })
  await probeTn3270Host(base(speaker.port))
  t.equal(speaker.connections(), 1, 'one probe connection, no telnet spoken by the gateway')
  await until('probe closed', () => speaker.peers[0]!.closed)
  t.equal(speaker.peers[0]!.events.length, 0)
  const closer = await fakeHost(t, p => { p.end() })
  await t.rejects(probeTn3270Host(base(closer.port)), { message: /closed the connection before speaking telnet/ })

  const ac = new AbortController()
  const p = connectTn3270Host(base(mute.port, { signal: ac.signal }))
  setTimeout(() => ac.abort(), 50)
  f = await failure(p)
  t.equal(f.kind, 'aborted')
  const pre = new AbortController()
  pre.abort()
  t.equal((await failure(connectTn3270Host(base(mute.port, { signal: pre.signal })))).kind, 'aborted')

  const bad = await fakeHost(t, async p => {
    p.send(IAC, DO, Opt.TN3270E)
    await p.negotiated('WILL', Opt.TN3270E)
    p.subneg(Opt.TN3270E, [9, 9, 9])
  })
  f = await failure(connectTn3270Host(base(bad.port, { luRequest: 'connect' })))
  t.equal(f.kind, 'protocol')
  t.match(f.message, /broke the protocol: .*TN3270E/)
})

t.test('after negotiation: pause/resume reads, records held until start(), host leaving 3270 mode', async t => {
  const h = await fakeHost(t, async p => {
    await p.plainHandshake()
    p.sendRecord(screenRecord('ONE'))
    p.sendRecord(screenRecord('TWO'))
  })
  const s = await connectTn3270Host(base(h.port, { firstRecordTimeout: 1000 }))
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

t.test('TLS to the host: CA and server name verified; an unknown CA is refused', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tn3270-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=mainframe.test',
    '-addext', 'subjectAltName=DNS:mainframe.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  const cert = readFileSync(join(dir, 'cert.pem'))
  const key = readFileSync(join(dir, 'key.pem'))
  let ttype: string | undefined
  const server = createTlsServer({ cert, key }, socket => {
    socket.on('error', () => {})
    // The fake host script, on the TLS socket.
    const p = new HostPeer(socket)
    p.plainHandshake().then(() => { p.sendRecord(screenRecord('SECURE')) }).catch(() => socket.destroy())
    p.waitFor('ttype', () => p.ttype !== undefined).then(() => { ttype = p.ttype }, () => {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const s = await connectTn3270Host(base(port, { tls: { ca: cert, servername: 'mainframe.test', rejectUnauthorized: true }, firstRecordTimeout: 1000 }))
  t.equal(ttype, 'IBM-3278-2-E')
  t.equal(s.pending.length, 1)
  s.reset('test over')
  await probeTn3270Host(base(port, { tls: { ca: cert, servername: 'mainframe.test', rejectUnauthorized: true } }))

  const f = await failure(connectTn3270Host(base(port, { tls: { rejectUnauthorized: true } })))
  t.equal(f.kind, 'unreachable')
  t.match(f.message, /\(TLS\) failed/)
  const wrongName = await failure(connectTn3270Host(base(port, { tls: { ca: cert, servername: 'other.test', rejectUnauthorized: true } })))
  t.match(wrongName.message, /ERR_TLS_CERT_ALTNAME_INVALID|does not match|altnames/i)
})
