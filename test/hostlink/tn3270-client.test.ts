// The `tn3270` host link (lib/hostlink/tn3270-client.ts, tn3270-transport.ts) against scripted
// hosts: how a connect is asked for (CONNECT per RFC 2355 §7.1.1, or TYPE@NAME), how a failure
// is classified, the refusal screen, probes and TLS. The protocol itself is tested in
// test/tn3270/client.test.ts.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import { ErrorCodes, HostConnectError, lbError, NegotiationError } from '../../lib/errors.js'
import {
  connectTn3270Host, isHostConnectError, probeTn3270Host, screenRefusal,
  type HostData, type Tn3270ClientOptions, type Tn3270HostSession,
} from '../../lib/hostlink/index.js'
import { Opt } from '../../lib/telnet/index.js'
import { DO, IAC, fakeHost, HostPeer, screenRecord, TTYPE_SEND } from './tn3270-fake-host.js'
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
  t.equal(screenRefusal(screenRecord('READY')), undefined)
  t.equal(screenRefusal(Buffer.alloc(0)), undefined)
})

t.test('isHostConnectError is an instanceof check; a failed negotiation is the cause', async t => {
  t.ok(isHostConnectError(new HostConnectError(ErrorCodes.TN3270_HOST_REJECTED, 'rejected', 'x')))
  t.notOk(isHostConnectError(lbError(ErrorCodes.TN3270_HOST_REJECTED, 'no kind')))
  t.notOk(isHostConnectError(Object.assign(new Error('look-alike'), { code: ErrorCodes.TN3270_HOST_REJECTED, kind: 'rejected' })))
  const h = await fakeHost(t, async p => {
    await p.tn3270eStart()
    p.subneg(Opt.TN3270E, [2, 6, 5, 1])
  })
  const err = await connectTn3270Host(base(h.port, { luRequest: 'connect' })).catch((e: unknown) => e)
  t.ok(err instanceof HostConnectError)
  t.ok(err instanceof HostConnectError && err.cause instanceof NegotiationError, 'the negotiation error is kept as the cause')
  t.match(err, { kind: 'rejected', cause: { failure: 'refused', phase: 'device-type' } })
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
