// Reads of a backend socket the proxy connects itself (tcp routing), through net.Socket's `onread`
// option (Node.js doc/api/net.md, socket.connect(options) "onread"): libuv reads into one buffer
// shared by every such socket and hands each read to a callback, with no Readable.push, 'data'
// event or per-read buffer allocation. Node calls the buffer function after each read and reads
// next into what it returns, so the shared buffer is replaced only when a read's bytes stay
// referenced: queued in the client socket's write queue (the kernel took less than all of them)
// or kept by the first-byte wait. A server-speaks-first backend (RFC 1576, RFC 2355 §7.1) sends
// most of a session's bytes, so this is half of every ECHO transaction and most of a new session's
// chunks (bench/README.md, front CPU per ECHO transaction). Accepted client sockets cannot use it
// (net.Server has no such option): they keep 'data' events (splice.ts).
import type net from 'node:net'

/** libuv reads at most this much at once into it (Node's own read buffer is 64 KiB too). */
const READ_BUFFER_SIZE = 64 * 1024
let readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE)

/** The bytes of the last read stay referenced: the next read goes into a fresh buffer. */
function retainReadBuffer (): void {
  readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE)
}

/** Node asks for the next read's buffer after each read (doc/api/net.md, onread.buffer as a function). */
function nextReadBuffer (): Buffer {
  return readBuffer
}

/**
 * What consumes a backend's reads: the first-byte wait, then the splice (a module function and its
 * session's object, not a closure per session: it lives as long as the session). False pauses reading.
 */
export type ReadConsumer<T> = (chunk: Buffer, target: T) => boolean

/**
 * One backend socket's reads. Before a consumer is set, or between two (the microtasks from the
 * first-byte wait to the splice), reads are copied and held, then given to the next consumer.
 */
export class BackendReads {
  private consumer: ReadConsumer<never> | undefined
  private target: unknown
  private held: Buffer[] | undefined

  /** The `onread` option for net.connect: one closure per socket, reading into the shared buffer. */
  option (): { buffer: () => Buffer, callback: (n: number, buf: Uint8Array) => boolean } {
    return { buffer: nextReadBuffer, callback: (n, buf) => this.read(Buffer.from(buf.buffer, buf.byteOffset, n)) }
  }

  /** The next reads go to `consumer(chunk, target)` (after what was held, in order); undefined holds them. */
  consume<T> (consumer: ReadConsumer<T> | undefined, target?: T): void {
    this.consumer = consumer
    this.target = target
    const held = this.held
    if (consumer === undefined || held === undefined) return
    this.held = undefined
    for (const chunk of held) consumer(chunk, target as T)
  }

  private read (view: Buffer): boolean {
    if (this.consumer === undefined) {
      (this.held ??= []).push(Buffer.from(view))
      return true
    }
    return this.consumer(view, this.target as never)
  }
}

/**
 * Writes a read's bytes to `peer`. When they stay queued (write() returned with bytes still in
 * the socket's buffer: the kernel did not take them all), the shared buffer they sit in is given
 * up to them and the next read gets a new one. Returns write()'s answer (false: pause the reads).
 */
export function relayRead (view: Buffer, peer: net.Socket): boolean {
  const ok = peer.write(view)
  if (peer.writableLength > 0) retainReadBuffer()
  return ok
}
