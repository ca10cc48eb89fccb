// Relays bytes both ways between a client and its backend, as HAProxy does in TCP mode. Each
// direction is a small pump: a 'data' chunk is written to the other side; write() returning false
// pauses the source until the other side's 'drain' (Node.js doc/api/stream.md, "Event: 'drain'").
// A FIN is forwarded as end() on the other side (half-close: both sockets use allowHalfOpen, so
// the other direction keeps flowing until its own FIN). An error on either side destroys both.
// The session ends when both sockets have closed.
//
// Why not pipe() plus byte-counting 'data' listeners (the earlier form): per chunk that emitted to
// two listeners, and per session it left about ten closures on each socket. Here the listeners
// are module functions shared by every session — they find their session through a symbol on the
// socket (EventEmitter calls a listener with `this` = the emitter, doc/api/events.md) — and the
// byte counts come from socket.bytesRead at the end (doc/api/net.md, "socket.bytesRead") instead
// of a count per chunk. The bench (bench/README.md) measures the front's CPU per transaction
// against HAProxy's.
import type net from 'node:net'
import { relayRead, type BackendReads } from './backend-reads.js'

export type Termination =
  | 'client_closed' | 'backend_closed' | 'client_error' | 'backend_error' | 'idle_timeout' | 'drain' | 'shutdown'

export interface SpliceOptions {
  /** No byte either way for this long ends the session; 0 = never. */
  idleTimeout: number
  /**
   * After one side's FIN, the other side must finish within this time, else both are closed
   * (HAProxy `timeout client-fin` / `server-fin`); 0 = wait forever.
   */
  halfCloseTimeout: number
  /** Bytes already read from the backend (its greeting), written to the client first. */
  first?: Buffer
  /** The backend socket reads through `onread` (backend-reads.ts): its bytes come from here, not 'data'. */
  backendReads?: BackendReads
}

export interface SpliceResult {
  termination: Termination
  /** Bytes from the client to the backend. */
  bytesIn: number
  /** Bytes from the backend to the client. */
  bytesOut: number
}

export interface Splice {
  done: Promise<SpliceResult>
  /** Ends the session from our side: FIN both ways, then destroy whatever is left after `graceMs`. */
  terminate: (why: Termination, graceMs: number) => void
}

/** The splice a socket belongs to, and which side it is. */
const SIDE = Symbol('splice side')

interface Side {
  readonly relay: Relay
  readonly socket: net.Socket
  /** The other side's socket: where this side's bytes go. */
  readonly peer: net.Socket
  /** socket.bytesRead when the relay took the socket, less what it held unread then. */
  readonly base: number
  readonly ended: Termination
  readonly failed: Termination
}

type SplicedSocket = net.Socket & { [SIDE]?: Side }

function sideOf (socket: net.Socket): Side {
  return (socket as SplicedSocket)[SIDE]!
}

/** Bytes this side has read since the relay took it (read and relayed, or read and dropped). */
function bytesSince (side: Side): number {
  return side.socket.bytesRead - side.base
}

class Relay {
  termination: Termination | undefined
  open = 2
  halfCloseTimer: NodeJS.Timeout | undefined
  graceTimer: NodeJS.Timeout | undefined
  readonly client: Side
  readonly backend: Side
  /** Of the options, only what the session needs later (not the first bytes themselves). */
  readonly halfCloseTimeout: number
  readonly firstLength: number

  constructor (client: net.Socket, backend: net.Socket, opts: SpliceOptions, readonly resolve: (r: SpliceResult) => void) {
    this.halfCloseTimeout = opts.halfCloseTimeout
    this.firstLength = opts.first?.length ?? 0
    this.client = { relay: this, socket: client, peer: backend, base: client.bytesRead - client.readableLength, ended: 'client_closed', failed: 'client_error' }
    this.backend = { relay: this, socket: backend, peer: client, base: backend.bytesRead - backend.readableLength, ended: 'backend_closed', failed: 'backend_error' }
  }

  set (t: Termination): void { this.termination ??= t }

  destroyBoth (): void {
    this.client.socket.destroy()
    this.backend.socket.destroy()
  }

  closed (): void {
    if (--this.open > 0) return
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer)
    if (this.halfCloseTimer !== undefined) clearTimeout(this.halfCloseTimer)
    const c = this.client.socket as SplicedSocket
    const b = this.backend.socket as SplicedSocket
    const result = {
      termination: this.termination ?? 'client_closed',
      bytesIn: bytesSince(this.client),
      bytesOut: this.firstLength + bytesSince(this.backend),
    }
    // Nothing of the session stays reachable from the sockets once it is over.
    c[SIDE] = undefined
    b[SIDE] = undefined
    this.resolve(result)
  }
}

// The listeners, one function each for every session.
function onData (this: net.Socket, chunk: Buffer): void {
  const { peer } = sideOf(this)
  // A peer already closed: the bytes are read and dropped (counted in bytesRead) so this side drains.
  if (peer.destroyed) return
  if (!peer.write(chunk)) this.pause()
}
function onDrain (this: net.Socket): void {
  sideOf(this).peer.resume()
}
function onEnd (this: net.Socket): void {
  const side = sideOf(this)
  const { relay } = side
  relay.set(side.ended)
  side.peer.end()
  if (relay.halfCloseTimeout > 0 && relay.halfCloseTimer === undefined) {
    relay.halfCloseTimer = setTimeout(() => relay.destroyBoth(), relay.halfCloseTimeout)
    relay.halfCloseTimer.unref()
  }
}
function onError (this: net.Socket): void {
  const side = sideOf(this)
  side.relay.set(side.failed)
  side.relay.destroyBoth()
}
function onClose (this: net.Socket): void {
  const side = sideOf(this)
  // A side fully closed while the other still writes to it: finish the other too, and let it
  // flow so what it still sends is read and dropped rather than left in the kernel.
  if (!side.peer.destroyed) {
    side.peer.end()
    side.peer.resume()
  }
  side.relay.closed()
}
function onIdle (this: net.Socket): void {
  const { relay } = sideOf(this)
  relay.set('idle_timeout')
  relay.destroyBoth()
}

/** A backend read through `onread`, as onData: dropped once the client is gone; false pauses the reads. */
function onBackendRead (view: Buffer, side: Side): boolean {
  if (side.peer.destroyed) return true
  return relayRead(view, side.peer)
}

function attach (side: Side, reads?: BackendReads): void {
  const s = side.socket as SplicedSocket
  s[SIDE] = side
  if (reads === undefined) s.on('data', onData)
  else reads.consume(onBackendRead, side)
  s.on('drain', onDrain).on('end', onEnd).on('error', onError).on('close', onClose)
}

export function splice (client: net.Socket, backend: net.Socket, opts: SpliceOptions): Splice {
  let relay!: Relay
  const done = new Promise<SpliceResult>((resolve) => { relay = new Relay(client, backend, opts, resolve) })
  attach(relay.client)
  // The greeting first, then the backend's later reads (held ones are relayed at attach).
  if (opts.first !== undefined && opts.first.length > 0) client.write(opts.first)
  attach(relay.backend, opts.backendReads)
  if (opts.idleTimeout > 0) client.setTimeout(opts.idleTimeout, onIdle)
  // Both arrive paused (pauseOnConnect, the first-byte wait): flowing from here.
  client.resume()
  backend.resume()

  const terminate = (why: Termination, graceMs: number): void => {
    relay.set(why)
    client.end()
    backend.end()
    // destroy(), not resetAndDestroy(): after end() libuv refuses the RST (uv_tcp_close_reset
    // gives EINVAL once shutdown was called) and Node then never emits 'close' for the socket.
    relay.graceTimer ??= setTimeout(() => relay.destroyBoth(), graceMs)
    relay.graceTimer.unref()
  }
  return { done, terminate }
}
