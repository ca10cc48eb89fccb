// A scriptable TN3270 host for unit tests of the `tn3270` host link: a loopback TCP server whose
// connections are driven byte by byte by the test (what a real host sends), with what the
// gateway sends parsed by the project's TelnetParser. Not a test file itself.
import { createServer, type Server, type Socket } from 'node:net'
import type { Test } from 'tap'
import { DO, DONT, IAC, Opt, SB, SE, TelnetParser, WILL, WONT, doubleIac, EOR_CMD, type TelnetEvent } from '../../lib/telnet/index.js'
import { encode } from '../../lib/datastream/index.js'

export const TTYPE_SEND = Buffer.from([IAC, SB, Opt.TTYPE, 1, IAC, SE])

export class HostPeer {
  readonly socket: Socket
  readonly events: TelnetEvent[] = []
  private readonly parser = new TelnetParser()
  private waiters: Array<() => void> = []
  private record: Buffer[] = []
  /** Complete records the gateway sent (data up to IAC EOR). */
  readonly records: Buffer[] = []
  closed = false
  /** The terminal type received by plainHandshake (set as soon as it arrives). */
  ttype: string | undefined

  constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', chunk => {
      for (const ev of this.parser.feed(chunk)) {
        this.events.push(ev)
        if (ev.type === 'data') this.record.push(ev.data)
        if (ev.type === 'eor') { this.records.push(Buffer.concat(this.record)); this.record = [] }
      }
      this.wake()
    })
    socket.on('error', () => {})
    socket.on('close', () => { this.closed = true; this.wake() })
  }

  private wake (): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Raw bytes to the gateway. */
  send (...bytes: Array<number | Buffer>): void {
    this.socket.write(Buffer.concat(bytes.map(b => typeof b === 'number' ? Buffer.from([b]) : b)))
  }

  /** One 3270 record (IAC doubled, IAC EOR). */
  sendRecord (data: Buffer): void { this.socket.write(Buffer.concat([doubleIac(data), Buffer.from([IAC, EOR_CMD])])) }
  subneg (option: number, body: Buffer | number[]): void {
    this.socket.write(Buffer.concat([Buffer.from([IAC, SB, option]), doubleIac(Buffer.from(body)), Buffer.from([IAC, SE])]))
  }

  /** Waits for an event matching `pred` (scanning from `from`), returns it and its index. */
  async waitFor (what: string, pred: (e: TelnetEvent) => boolean, ms = 3000): Promise<TelnetEvent> {
    const deadline = Date.now() + ms
    for (;;) {
      const hit = this.events.find(pred)
      if (hit !== undefined) return hit
      if (this.closed) throw new Error(`fake host: connection closed while waiting for ${what}; events: ${JSON.stringify(this.events)}`)
      if (Date.now() > deadline) throw new Error(`fake host: timed out waiting for ${what}; events: ${JSON.stringify(this.events)}`)
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
  }

  async negotiated (verb: 'WILL' | 'WONT' | 'DO' | 'DONT', option: number): Promise<void> {
    await this.waitFor(`${verb} ${option}`, e => e.type === 'negotiate' && e.verb === verb && e.option === option)
  }

  async subnegFrom (option: number, index = 0): Promise<Buffer> {
    await this.waitFor(`subneg ${option} #${index}`, () => this.events.filter(e => e.type === 'subneg' && e.option === option).length > index)
    return (this.events.filter(e => e.type === 'subneg' && e.option === option)[index] as { data: Buffer }).data
  }

  async recordAt (index: number, ms = 3000): Promise<Buffer> {
    await this.waitFor(`record #${index}`, () => this.records.length > index, ms)
    return this.records[index]!
  }

  async waitClosed (ms = 5000): Promise<void> {
    await this.waitFor('close', () => false, ms).catch((err: Error) => { if (!this.closed) throw err })
  }

  /**
   * The plain TN3270 handshake the way Hercules 3.13 does it (anchors §6): DO TTYPE, SB TTYPE
   * SEND, DO EOR + WILL EOR, DO BINARY + WILL BINARY. Returns the terminal type received.
   */
  async plainHandshake (): Promise<string> {
    this.send(IAC, DO, Opt.TTYPE)
    await this.negotiated('WILL', Opt.TTYPE)
    this.send(TTYPE_SEND)
    const tt = await this.subnegFrom(Opt.TTYPE)
    this.ttype = tt.subarray(1).toString('latin1')
    this.send(IAC, DO, Opt.EOR, IAC, WILL, Opt.EOR)
    await this.negotiated('WILL', Opt.EOR)
    await this.negotiated('DO', Opt.EOR)
    this.send(IAC, DO, Opt.BINARY, IAC, WILL, Opt.BINARY)
    await this.negotiated('WILL', Opt.BINARY)
    await this.negotiated('DO', Opt.BINARY)
    return tt.subarray(1).toString('latin1')
  }

  /** TN3270E (RFC 2355 §7.1/7.2) up to DEVICE-TYPE REQUEST; the test answers it. */
  async tn3270eStart (): Promise<Buffer> {
    this.send(IAC, DO, Opt.TN3270E)
    await this.negotiated('WILL', Opt.TN3270E)
    this.subneg(Opt.TN3270E, [8, 2]) // SEND DEVICE-TYPE
    return await this.subnegFrom(Opt.TN3270E, 0)
  }

  end (): void { this.socket.end() }
  destroy (): void { this.socket.destroy() }
}

export { DO, DONT, WILL, WONT, IAC }

/** A loopback server; each connection is handed to `script`. */
export interface FakeHost {
  port: number
  server: Server
  peers: HostPeer[]
  connections: () => number
  /** The index-th connection that spoke telnet (not a bare link probe). */
  session: (index?: number, ms?: number) => Promise<HostPeer>
}

export async function fakeHost (t: Test, script: (peer: HostPeer) => void | Promise<void>): Promise<FakeHost> {
  const peers: HostPeer[] = []
  const server = createServer(socket => {
    const peer = new HostPeer(socket)
    peers.push(peer)
    Promise.resolve(script(peer)).catch(() => { socket.destroy() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const p of peers) p.socket.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
  return {
    port: (server.address() as { port: number }).port,
    server,
    peers,
    connections: () => peers.length,
    session: async (index = 0, ms = 5000) => {
      // Link probes connect and close without a byte; sessions answer the host's first DO.
      const live = (): HostPeer[] => peers.filter(p => p.events.length > 0)
      const deadline = Date.now() + ms
      while (live().length <= index) {
        if (Date.now() > deadline) throw new Error(`fake host: no session #${index} after ${ms} ms (${peers.length} connections)`)
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      return live()[index]!
    },
  }
}

/** An Erase/Write record with text at row 1 col 1 (EBCDIC CP037), like a host's first screen. */
export function screenRecord (text: string, wcc = 0xc2): Buffer {
  return Buffer.concat([Buffer.from([0xf5, wcc, 0x11, 0x40, 0x40]), encode(text)])
}
