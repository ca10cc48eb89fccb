// Taking a client into TLS on real sockets (lib/tls/accept.ts, handshake.ts, replay.ts): direct,
// START_TLS (draft-altman-telnet-starttls-02) in the order x3270 uses, optional with and without
// a ClientHello, plain fallback with the client's bytes kept, every failure with its `failure`,
// client certificates (request / require; a self-signed one never verifies), bytes already read
// replayed into the TLS layer, and a TLS client on a plain listener.
import t, { type Test } from 'tap'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { systemClock } from '../../lib/clock.js'
import { TlsAcceptError } from '../../lib/errors.js'
import { acceptTls, refuseTlsOnPlain, ReplayStream, ServerCredentials, TlsAcceptor, type ClientAuth, type TlsAccepted, type TlsAcceptOptions } from '../../lib/tls/index.js'
import { makePki, serverCert, type CertFiles, type Pki } from '../helpers/certs.js'

interface Rig {
  port: number
  pki: Pki
  /** Settles once per accepted connection, in order. */
  next: () => Promise<TlsAccepted | TlsAcceptError>
}

async function rig (t: Test, opts: Partial<TlsAcceptOptions> & { clientAuth?: ClientAuth, prepare?: (s: Socket) => Promise<void> } = {}): Promise<Rig> {
  const pki = await makePki(t)
  const srv = await serverCert(pki)
  const creds = ServerCredentials.load({ cert: srv.cert, key: srv.key, ca: pki.ca, minVersion: 'TLSv1.2' }, 'test')
  const acceptor = new TlsAcceptor(creds.contextOptions, opts.clientAuth ?? 'none')
  const results: Array<Promise<TlsAccepted | TlsAcceptError>> = []
  const server = createServer(socket => {
    results.push((async () => {
      await opts.prepare?.(socket)
      const accepted = await acceptTls(socket, acceptor, { mode: 'direct', allowPlain: false, clientHelloWait: 150, timeout: 3000, clock: systemClock, ...opts })
      t.teardown(() => { accepted.socket.destroy() })
      return accepted
    })().catch((err: unknown) => {
      if (err instanceof TlsAcceptError) return err
      throw err
    }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  let taken = 0
  const next = async (): Promise<TlsAccepted | TlsAcceptError> => {
    while (results.length <= taken) await new Promise(resolve => setTimeout(resolve, 5))
    return await results[taken++]!
  }
  return { port: (server.address() as AddressInfo).port, pki, next }
}

function tlsClient (t: Test, r: Rig, opts: { cert?: CertFiles, socket?: Socket } = {}): { socket: TLSSocket, secure: Promise<void>, closed: Promise<void> } {
  const socket = tlsConnect({
    ...(opts.socket === undefined ? { host: '127.0.0.1', port: r.port } : { socket: opts.socket }),
    ca: readFileSync(r.pki.ca),
    servername: 'localhost',
    ...(opts.cert === undefined ? {} : { cert: readFileSync(opts.cert.cert), key: readFileSync(opts.cert.key) }),
  })
  socket.on('error', () => { /* asserted through the server side */ })
  t.teardown(() => { socket.destroy() })
  return {
    socket,
    secure: new Promise(resolve => socket.once('secureConnect', () => resolve())),
    closed: new Promise(resolve => socket.once('close', () => resolve())),
  }
}

async function rawClient (t: Test, port: number): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1' })
  t.teardown(() => { s.destroy() })
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  return s
}

/** Reads until `want` bytes arrived. */
async function bytes (s: Socket, want: number): Promise<Buffer> {
  let got = Buffer.alloc(0)
  return await new Promise(resolve => {
    const on = (c: Buffer): void => {
      got = Buffer.concat([got, c])
      if (got.length >= want) { s.off('data', on); s.pause(); resolve(got) }
    }
    s.on('data', on)
    s.resume()
  })
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** What the two ends of a session see of each other: the server says hello, the client echoes. */
async function roundTrip (t: Test, server: Socket, client: Socket): Promise<void> {
  server.write('from-server')
  t.equal((await bytes(client, 11)).toString(), 'from-server')
  client.write('from-client')
  t.equal((await bytes(server, 11)).toString(), 'from-client')
}

t.test('direct: the handshake, the client identity, data both ways', async t => {
  const r = await rig(t)
  const c = tlsClient(t, r)
  const a = await r.next()
  if (!('tls' in a) || !a.tls) throw new Error(`expected TLS, got ${String(a)}`)
  await c.secure
  t.equal(a.via, 'direct')
  t.match(a.identity, { protocol: 'TLSv1.3', certificate: false, verified: false, sans: [] })
  await roundTrip(t, a.socket, c.socket)
})

t.test('starttls: x3270 byte order on the wire, then TLS on the same connection', async t => {
  const r = await rig(t, { mode: 'starttls' })
  const raw = await rawClient(t, r.port)
  t.equal((await bytes(raw, 3)).toString('hex'), 'fffd2e', 'IAC DO START_TLS')
  raw.write(hex('fffb2e fffa2e01fff0'))
  t.equal((await bytes(raw, 6)).toString('hex'), 'fffa2e01fff0', 'IAC SB START_TLS FOLLOWS IAC SE')
  const c = tlsClient(t, r, { socket: raw })
  const a = await r.next()
  if (!('tls' in a) || !a.tls) throw new Error('expected TLS')
  await c.secure
  t.equal(a.via, 'starttls')
  await roundTrip(t, a.socket, c.socket)
})

t.test('starttls: a client that declines continues in plain telnet with its bytes kept, if allowed', async t => {
  const r = await rig(t, { mode: 'starttls', allowPlain: true })
  const raw = await rawClient(t, r.port)
  await bytes(raw, 3)
  raw.write(hex('fffb18 fffc2e 41'))
  const a = await r.next()
  if (!('tls' in a) || a.tls) throw new Error('expected plain')
  t.equal(a.why, 'the client answered WONT START_TLS')
  t.equal((await bytes(a.socket, 4)).toString('hex'), 'fffb1841', 'what the client sent besides its WONT reaches the telnet layer')
})

t.test('starttls: declined and plain not allowed, a broken exchange, a client that leaves', async t => {
  const r = await rig(t, { mode: 'starttls' })
  const declined = await rawClient(t, r.port)
  await bytes(declined, 3)
  declined.write(hex('fffc2e'))
  t.match(await r.next(), { failure: 'declined', message: /declined TLS \(the client answered WONT START_TLS\) and this listener does not allow plain/ })
  const broken = await rawClient(t, r.port)
  await bytes(broken, 3)
  broken.write(hex('fffb2e fffa2e05fff0'))
  t.match(await r.next(), { failure: 'protocol', message: /START_TLS: START_TLS subnegotiation 05 is not FOLLOWS/ })
  const leaving = await rawClient(t, r.port)
  await bytes(leaving, 3)
  leaving.destroy()
  t.match(await r.next(), { failure: 'closed' })
})

t.test('a client that resets the connection mid-exchange is one closed failure, never an uncaught error', async t => {
  const r = await rig(t, { mode: 'starttls' })
  const raw = await rawClient(t, r.port)
  await bytes(raw, 3)
  raw.resetAndDestroy()
  t.match(await r.next(), { failure: 'closed' })
  const r2 = await rig(t, { mode: 'optional', clientHelloWait: 2000 })
  const early = await rawClient(t, r2.port)
  early.resetAndDestroy()
  t.match(await r2.next(), { failure: 'closed' })
})

t.test('optional: a ClientHello means direct TLS; silence means START_TLS; plain if allowed', async t => {
  const r = await rig(t, { mode: 'optional', allowPlain: true })
  const c = tlsClient(t, r)
  const a = await r.next()
  await c.secure
  t.match(a, { tls: true, via: 'direct' })
  const raw = await rawClient(t, r.port)
  const started = Date.now()
  t.equal((await bytes(raw, 3)).toString('hex'), 'fffd2e', 'START_TLS offered after the ClientHello wait')
  t.ok(Date.now() - started >= 100, 'not before clientHelloWait')
  raw.write(hex('fffc2e'))
  t.match(await r.next(), { tls: false })
})

t.test('timeout covers the whole negotiation', async t => {
  const r = await rig(t, { mode: 'direct', timeout: 200 })
  const silent = await rawClient(t, r.port)
  t.match(await r.next(), { failure: 'timeout', message: /no TLS session within 200 ms \(direct\)/ })
  await new Promise<void>(resolve => { if (silent.destroyed) resolve(); else silent.once('close', () => resolve()) })
  t.pass('the client was closed')
  const r2 = await rig(t, { mode: 'starttls', timeout: 200 })
  await rawClient(t, r2.port)
  t.match(await r2.next(), { failure: 'timeout' })
})

t.test('not TLS at all on a direct listener: the handshake fails', async t => {
  const r = await rig(t)
  const raw = await rawClient(t, r.port)
  raw.write('GET / HTTP/1.0\r\n\r\n')
  t.match(await r.next(), { failure: 'handshake', message: /^TLS handshake failed: / })
})

t.test('client certificates: require refuses none and a self-signed one; request keeps the facts', async t => {
  const req = await rig(t, { clientAuth: 'require' })
  const good = await req.pki.issue('teller', '/C=US/O=Example Bank/CN=teller-01', { san: 'DNS:teller-01.branch.example' })
  const rogue = await req.pki.selfSigned('rogue', '/CN=teller-01')
  const ok = tlsClient(t, req, { cert: good })
  const a = await req.next()
  await ok.secure
  t.match(a, { tls: true, identity: { certificate: true, verified: true, cn: 'teller-01', subject: 'CN=teller-01,O=Example Bank,C=US', sans: ['DNS:teller-01.branch.example'] } })
  tlsClient(t, req)
  t.match(await req.next(), { failure: 'handshake', message: /peer did not return a certificate/ }, 'no certificate: refused in the handshake')
  const bad = tlsClient(t, req, { cert: rogue })
  t.match(await req.next(), { failure: 'handshake', message: /client certificate refused \(DEPTH_ZERO_SELF_SIGNED_CERT\)/ }, 'self-signed: refused, never verified')
  await bad.closed

  const asked = await rig(t, { clientAuth: 'request' })
  const rogue2 = await asked.pki.selfSigned('rogue', '/CN=teller-01')
  tlsClient(t, asked, { cert: rogue2 })
  t.match(await asked.next(), { tls: true, identity: { certificate: true, verified: false, verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT', cn: 'teller-01' } })
  tlsClient(t, asked)
  t.match(await asked.next(), { tls: true, identity: { certificate: false, verified: false } })
})

t.test('bytes an earlier stage read are replayed into the TLS layer, none lost', async t => {
  // As after a PROXY v2 header: the first chunk is read, then pushed back into the paused socket.
  const r = await rig(t, {
    prepare: async s => {
      const first = await new Promise<Buffer>(resolve => s.once('data', resolve))
      s.pause()
      s.unshift(first)
    },
  })
  const c = tlsClient(t, r)
  const a = await r.next()
  await c.secure
  t.match(a, { tls: true })
  if ('tls' in a) await roundTrip(t, a.socket, c.socket)
})

t.test('ReplayStream: head first, then the socket; writes, end and destroy go through', async t => {
  const pair = await new Promise<[Socket, Socket]>(resolve => {
    const server = createServer(s => { resolve([s, client]) })
    t.teardown(() => { server.close() })
    let client: Socket
    server.listen(0, '127.0.0.1', () => { client = connect((server.address() as AddressInfo).port, '127.0.0.1') })
  })
  const [inner, peer] = pair
  inner.pause()
  const replay = new ReplayStream(inner, Buffer.from('head-'))
  peer.write('tail')
  t.equal((await new Promise<Buffer>(resolve => {
    let got = Buffer.alloc(0)
    replay.on('data', (c: Buffer) => { got = Buffer.concat([got, c]); if (got.length >= 9) resolve(got) })
  })).toString(), 'head-tail')
  replay.write('back')
  t.equal((await bytes(peer, 4)).toString(), 'back')
  const ended = new Promise<void>(resolve => replay.once('end', () => resolve()))
  peer.end()
  await ended
  t.pass('end passed through')
  replay.end()
  replay.destroy()
  await new Promise<void>(resolve => { if (inner.destroyed) resolve(); else inner.once('close', () => resolve()) })
  t.ok(inner.destroyed, 'destroy closes the socket')
})

t.test('a TLS client on a plain listener is told apart from telnet within one loop turn', async t => {
  const seen: Array<Promise<string>> = []
  const server = createServer(s => {
    seen.push(refuseTlsOnPlain(s).then(async () => {
      s.resume()
      return `plain:${(await bytes(s, 2)).toString('hex')}`
    }, (err: unknown) => err instanceof TlsAcceptError ? `${err.failure}:${err.message}` : 'other'))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as AddressInfo).port
  const c = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
  c.on('error', () => {})
  t.teardown(() => { c.destroy() })
  while (seen.length < 1) await new Promise(resolve => setTimeout(resolve, 5))
  t.equal(await seen[0], 'tls-on-plain:TLS client on a plain listener')
  const telnet = await rawClient(t, port)
  while (seen.length < 2) await new Promise(resolve => setTimeout(resolve, 5))
  telnet.write(hex('fffb'))
  t.equal(await seen[1], 'plain:fffb', 'a telnet client that answers later loses nothing')
})
