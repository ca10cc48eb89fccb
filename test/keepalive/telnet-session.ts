// A minimal telnet-ish server session over a real net.Socket, enough for the keepalive engine:
// DO TIMING-MARK / NOP with write callbacks, and WILL/WONT TIMING-MARK replies spotted in the
// inbound bytes (RFC 860; x3270 answers IAC WONT TIMING-MARK at once, telnet.c).
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import type { TelnetKeepAliveSession } from '../../lib/keepalive/index.js'

export const IAC = 0xff
export const DO_TM = Buffer.from([0xff, 0xfd, 0x06])
export const WILL_TM = Buffer.from([0xff, 0xfb, 0x06])
export const WONT_TM = Buffer.from([0xff, 0xfc, 0x06])
export const NOP = Buffer.from([0xff, 0xf1])

export class MiniTelnetSession extends EventEmitter implements TelnetKeepAliveSession {
  private carry = Buffer.alloc(0)
  inboundBytes = 0

  constructor (readonly socket: Socket) {
    super()
    socket.on('data', (chunk: Buffer) => {
      this.inboundBytes += chunk.length
      const buf = Buffer.concat([this.carry, chunk])
      let i = 0
      for (; i + 2 < buf.length; i++) {
        if (buf[i] === IAC && (buf[i + 1] === 0xfb || buf[i + 1] === 0xfc) && buf[i + 2] === 0x06) { this.emit('timingMarkReply'); i += 2 }
      }
      this.carry = buf.subarray(i)
    })
    socket.on('error', () => {})
  }

  get client (): string { return `${this.socket.remoteAddress}:${this.socket.remotePort}` }

  sendTimingMark (done: () => void): void { this.socket.write(DO_TM, err => { if (err == null) done() }) }
  sendNop (done: () => void): void { this.socket.write(NOP, err => { if (err == null) done() }) }
}
