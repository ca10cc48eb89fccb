// A stream that yields bytes already read from a socket, then the socket's own bytes; writes go
// to the socket. Node's TLSSocket on a net.Socket takes over the socket's handle (Node.js
// doc/api/tls.md, new tls.TLSSocket(socket)), so bytes already read out of it — after a PROXY v2
// header, with a ClientHello that was sniffed, after the START_TLS FOLLOWS — would be lost;
// on a Duplex it reads through JavaScript, and this one replays them first. No byte is lost.
import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'

export class ReplayStream extends Duplex {
  private readonly socket: Socket

  constructor (socket: Socket, head: Buffer) {
    super({ allowHalfOpen: true })
    this.socket = socket
    if (head.length > 0) this.push(head)
    socket.on('data', (chunk: Buffer) => { if (!this.push(chunk)) socket.pause() })
    socket.on('end', () => { this.push(null) })
    socket.on('error', (err) => { this.destroy(err) })
    socket.on('close', () => { this.destroy() })
  }

  override _read (): void {
    this.socket.resume()
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    // Done when the socket took it: the TLS layer above sees the socket's backpressure.
    this.socket.write(chunk, done)
  }

  override _final (done: (err?: Error | null) => void): void {
    this.socket.end(done)
  }

  override _destroy (err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy()
    done(err)
  }
}
