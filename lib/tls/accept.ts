// Taking one accepted client into TLS, per the listener's mode (docs/configuration.md `tls.mode`):
//
//   direct    TLS from the first byte (the port 992 convention)
//   starttls  the server offers TELNET START_TLS (starttls.ts); a client that declines is closed,
//             or continues in plain telnet when `allowPlain`
//   optional  a ClientHello within `clientHelloWait` means direct TLS; otherwise START_TLS is
//             offered as above
//
// and the check a listener without TLS makes: a TLS client there is closed with one clear
// error instead of being parsed as telnet. Bytes an earlier stage or the START_TLS exchange
// already read are never lost: they reach the TLS layer through a ReplayStream, or go back
// into the socket (unshift) for a plain session.
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Clock, Timer } from '../clock.js'
import { TlsAcceptError, errorMessage } from '../errors.js'
import type { TlsAcceptor } from './handshake.js'
import { checkClientHello } from './hello.js'
import { tlsClientIdentity, type TlsClientIdentity } from './peer.js'
import { ReplayStream } from './replay.js'
import { StartTlsServer, type StartTlsOutcome } from './starttls.js'

export type TlsMode = 'direct' | 'starttls' | 'optional'

export interface TlsAcceptOptions {
  mode: TlsMode
  /** starttls / optional: a client that declines TLS continues in plain telnet. */
  allowPlain: boolean
  /** optional: how long to wait for a ClientHello before offering START_TLS, ms. */
  clientHelloWait: number
  /** From the start of this step to an established TLS session (START_TLS exchange included), ms. */
  timeout: number
  clock: Clock
}

export type TlsAccepted =
  | { tls: true, via: 'direct' | 'starttls', socket: TLSSocket, identity: TlsClientIdentity }
  /** The client stays in plain telnet; what it sent is back in the (paused) socket. */
  | { tls: false, socket: Socket, why: string }

/** Rejects with a TlsAcceptError whose `failure` says how it failed; the socket is destroyed then. */
export async function acceptTls (socket: Socket, acceptor: TlsAcceptor, opts: TlsAcceptOptions): Promise<TlsAccepted> {
  reportErrorsByClose(socket)
  let expired = false
  const timer: Timer = opts.clock.setTimeout(() => { expired = true; socket.destroy() }, opts.timeout)
  try {
    if (socket.destroyed) throw closedError()
    return await negotiate(socket, acceptor, opts)
  } catch (err) {
    socket.destroy()
    if (expired) throw new TlsAcceptError('timeout', `no TLS session within ${opts.timeout} ms (${opts.mode})`, { cause: err })
    throw err instanceof TlsAcceptError ? err : new TlsAcceptError('handshake', `TLS handshake failed: ${errorMessage(err)}`, { cause: err })
  } finally {
    opts.clock.clearTimeout(timer)
  }
}

async function negotiate (socket: Socket, acceptor: TlsAcceptor, opts: TlsAcceptOptions): Promise<TlsAccepted> {
  let head = takeBuffered(socket)
  if (opts.mode === 'direct') return await handshake(socket, head, acceptor, 'direct')
  if (opts.mode === 'optional') {
    head = await readFor(socket, head, opts.clientHelloWait, opts.clock)
    if (checkClientHello(head) === 'hello') return await handshake(socket, head, acceptor, 'direct')
  }
  const end = await startTls(socket, head)
  if (end.type === 'tls') return await handshake(socket, end.rest, acceptor, 'starttls')
  if (!opts.allowPlain) throw new TlsAcceptError('declined', `client declined TLS (${end.why}) and this listener does not allow plain sessions`)
  socket.pause()
  if (end.replay.length > 0) socket.unshift(end.replay)
  return { tls: false, socket, why: end.why }
}

/**
 * A listener without TLS: a TLS client sends its ClientHello right after connecting, before any
 * telnet byte, while a TN3270 client waits for the server (RFC 1576, RFC 2355 §7.1). So the first
 * telnet command waits up to `waitMs` for bytes (0 = one event-loop turn, one poll phase, Node.js
 * "The Node.js Event Loop" guide) and stops waiting at the first chunk. Throws
 * TlsAcceptError('tls-on-plain'); otherwise the bytes go back into the paused socket and telnet
 * negotiation starts as usual.
 */
export async function refuseTlsOnPlain (socket: Socket, waitMs = 0, clock?: Clock): Promise<void> {
  reportErrorsByClose(socket)
  let head = takeBuffered(socket)
  if (head.length === 0 && !socket.destroyed) {
    head = waitMs > 0 && clock !== undefined ? await readFor(socket, head, waitMs, clock).catch(() => head) : await readForOneTurn(socket)
  }
  if (checkClientHello(head) === 'hello') {
    socket.destroy()
    throw new TlsAcceptError('tls-on-plain', 'TLS client on a plain listener')
  }
  socket.pause()
  if (head.length > 0) socket.unshift(head)
}

async function handshake (socket: Socket, head: Buffer, acceptor: TlsAcceptor, via: 'direct' | 'starttls'): Promise<TlsAccepted> {
  // Read again right before the TLS layer takes over: anything buffered since must be replayed.
  const bytes = Buffer.concat([head, takeBuffered(socket)])
  const tlsSocket = await acceptor.handshake(bytes.length === 0 ? socket : new ReplayStream(socket, bytes))
  return { tls: true, via, socket: tlsSocket, identity: tlsClientIdentity(tlsSocket) }
}

type StartTlsEnd = Extract<StartTlsOutcome, { type: 'tls' | 'declined' }>

async function startTls (socket: Socket, head: Buffer): Promise<StartTlsEnd> {
  const machine = new StartTlsServer()
  let end: StartTlsEnd | undefined
  const apply = (outcomes: StartTlsOutcome[]): boolean => {
    for (const o of outcomes) {
      if (o.type === 'send') socket.write(o.bytes)
      else if (o.type === 'error') throw new TlsAcceptError('protocol', `START_TLS: ${o.message}`)
      else end = o
    }
    return end !== undefined
  }
  apply(machine.start())
  if (head.length > 0) apply(machine.receive(head))
  if (end === undefined) await readWhile(socket, chunk => apply(machine.receive(chunk)))
  return end!
}

/**
 * A client that resets while we wait for it makes the socket emit 'error' (ECONNRESET) and then
 * 'close'; the close is what ends the wait. Without a listener the error would be thrown
 * (Node.js doc/api/events.md, "Error events") and take the whole process down.
 */
function reportErrorsByClose (socket: Socket): void {
  if (!socket.listeners('error').includes(ignore)) socket.on('error', ignore)
}

function ignore (): void { /* the 'close' that follows ends the wait */ }

/** Bytes an earlier stage pushed back into the (paused) socket, taken out. */
function takeBuffered (socket: Socket): Buffer {
  const parts: Buffer[] = []
  while (socket.readableLength > 0) {
    const chunk = socket.read() as Buffer | null
    if (chunk === null) break
    parts.push(chunk)
  }
  return Buffer.concat(parts)
}

function closedError (): TlsAcceptError {
  return new TlsAcceptError('closed', 'the client closed the connection during TLS negotiation')
}

/**
 * Feeds chunks to `consume` until it returns true (resolves true) or `wait` runs out (resolves
 * false); the socket is paused again and these listeners are gone either way.
 */
function readWhile (socket: Socket, consume: (chunk: Buffer) => boolean, wait?: { ms: number, clock: Clock }): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const timer = wait === undefined ? undefined : wait.clock.setTimeout(() => { done(false) }, wait.ms)
    const done = (finished: boolean, err?: unknown): void => {
      if (timer !== undefined) wait!.clock.clearTimeout(timer)
      socket.off('data', onData).off('close', onClose)
      socket.pause()
      if (err === undefined) resolve(finished)
      else reject(err)
    }
    const onData = (chunk: Buffer): void => {
      let finished: boolean
      try {
        finished = consume(chunk)
      } catch (err) {
        done(false, err)
        return
      }
      if (finished) done(true)
    }
    const onClose = (): void => { done(false, closedError()) }
    socket.on('data', onData).once('close', onClose)
    socket.resume()
  })
}

/** `head` plus what arrives within `ms`, or until a ClientHello can be told from telnet. */
async function readFor (socket: Socket, head: Buffer, ms: number, clock: Clock): Promise<Buffer> {
  let got = head
  if (checkClientHello(got) !== 'need-more') return got
  await readWhile(socket, chunk => {
    got = Buffer.concat([got, chunk])
    return checkClientHello(got) !== 'need-more'
  }, { ms, clock })
  return got
}

/** Whatever arrives within one event-loop turn. */
async function readForOneTurn (socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  const onData = (chunk: Buffer): void => { chunks.push(chunk) }
  socket.on('data', onData)
  socket.resume()
  await new Promise<void>(resolve => { setImmediate(() => { setImmediate(resolve) }) })
  socket.off('data', onData)
  socket.pause()
  return Buffer.concat(chunks)
}
