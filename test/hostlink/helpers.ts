// Test helpers for host link tests (not a test file).
import net from 'node:net'
import { once } from 'node:events'
import type { Clock, Timer } from '../../lib/clock.js'
import { createLogger, type Logger } from '../../lib/observability/index.js'
import { FrameDecoder, type Frame } from '../../lib/hostlink/index.js'

/** A real-time clock that knows which of its timers are still pending (leak checks). */
export class TrackingClock implements Clock {
  readonly live = new Set<Timer>()
  now = (): number => Date.now()
  setTimeout = (fn: () => void, ms: number): Timer => {
    const timer: { id: unknown } = { id: undefined }
    timer.id = setTimeout(() => { this.live.delete(timer); fn() }, ms)
    this.live.add(timer)
    return timer
  }

  clearTimeout = (timer: Timer): void => { clearTimeout(timer.id as NodeJS.Timeout); this.live.delete(timer) }
  get pending (): number { return this.live.size }
}

export type Line = Record<string, unknown> & { level: string, msg: string }

export function captureLogger (): { logger: Logger, lines: Line[] } {
  const lines: Line[] = []
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => { lines.push(JSON.parse(s) as Line) } } })
  return { logger, lines }
}

/** TCP handles of this process (sockets and servers); compare before and after a test. */
export function tcpHandles (): number {
  return process.getActiveResourcesInfo().filter(r => r.startsWith('TCP')).length
}

/** A raw peer speaking frames by hand, for misbehaving-peer tests. */
export class RawPeer {
  readonly frames: Frame[] = []
  private readonly decoder = new FrameDecoder()
  private waiters: Array<() => void> = []
  constructor (readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      const r = this.decoder.push(c)
      this.frames.push(...r.frames)
      for (const w of this.waiters.splice(0)) w()
    })
    socket.on('error', () => {})
  }

  async next (type: Frame['type']): Promise<Frame> {
    for (;;) {
      const i = this.frames.findIndex(f => f.type === type)
      if (i >= 0) return this.frames.splice(i, 1)[0]!
      if (this.socket.readableEnded || this.socket.destroyed) throw new Error(`socket closed while waiting for ${type}`)
      await new Promise<void>(resolve => {
        this.waiters.push(resolve)
        this.socket.once('close', resolve)
      })
    }
  }

  async closed (): Promise<void> {
    if (!this.socket.closed) await new Promise(resolve => this.socket.once('close', resolve))
  }
}

export async function rawConnect (port: number): Promise<RawPeer> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true })
  await once(s, 'connect')
  return new RawPeer(s)
}

/** A raw listening peer (plays a host by hand). */
export async function rawServer (): Promise<{ server: net.Server, port: number, accept: () => Promise<RawPeer> }> {
  const server = net.createServer({ noDelay: true })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const queue: net.Socket[] = []
  const waiting: Array<(s: net.Socket) => void> = []
  server.on('connection', s => { const w = waiting.shift(); if (w) w(s); else queue.push(s) })
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    accept: async () => new RawPeer(queue.shift() ?? await new Promise<net.Socket>(resolve => waiting.push(resolve))),
  }
}

/** Polls until `cond` holds or `ms` pass; returns whether it held (assert on the result). */
export async function waitFor (cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) return false
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return true
}
