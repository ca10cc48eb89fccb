// What every client session of a proxy listener starts with, whatever its routing (session.ts for
// tcp, routed-session.ts for tn3270e, docs/routing.md): the client's TCP endpoints read once at
// accept, the `done` promise the listener and the drain wait for, and the run-then-end wiring.
// run() returns once the relay has started (the splice's end then finishes the session) or the
// session ended before one: nothing of the connect or negotiation phase stays alive for the
// session's lifetime (bench/README.md, "RSS per idle proxied session").
import type net from 'node:net'
import type { Clock } from '../clock.js'
import type { Logger } from '../observability/index.js'

/** The client as a log line names it: `a.b.c.d:port` or `[v6]:port`. */
export function hostPort (address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'unknown'
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`
}

/** The client's TCP endpoints (the stream relayed may be a TLS socket on top of them). */
export interface ClientPeer {
  address: string | undefined
  port: number
  local: string | undefined
  localPort: number
}

export interface SessionBaseContext {
  settings: { listener: string }
  clock: Clock
  logger: Logger
}

export abstract class SessionBase {
  readonly client: string
  readonly done: Promise<void>
  protected readonly started: number
  protected readonly peer: ClientPeer
  private finish!: () => void

  protected constructor (protected socket: net.Socket, ctx: SessionBaseContext) {
    this.client = hostPort(socket.remoteAddress, socket.remotePort)
    this.peer = { address: socket.remoteAddress, port: socket.remotePort ?? 0, local: socket.localAddress, localPort: socket.localPort ?? 0 }
    this.started = ctx.clock.now()
    this.done = new Promise<void>((resolve) => { this.finish = resolve })
  }

  /**
   * Runs the session; the subclass calls it last in its constructor (its own fields are set by
   * then). `run` resolves true when a relay started (the relay then calls end()).
   */
  protected start (ctx: SessionBaseContext, run: () => Promise<boolean>): void {
    run().then((relaying) => { if (!relaying) this.end() }, (err: unknown) => {
      this.socket.destroy()
      ctx.logger.error({ event: 'session_error', listener: ctx.settings.listener, client: this.client, err }, 'session failed')
      this.end()
    })
  }

  /** The session is over: its state says so, and `done` resolves. */
  protected end (): void {
    this.ended()
    this.finish()
  }

  /** The subclass's own state moves to ended. */
  protected abstract ended (): void
}
