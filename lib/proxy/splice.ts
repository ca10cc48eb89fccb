// Relays bytes both ways between a client and its backend. pipe() gives backpressure in each
// direction (write() false → source paused until 'drain', Node.js doc/api/stream.md) and forwards a FIN as
// end() on the other side (half-close: both sockets use allowHalfOpen, so the other direction keeps
// flowing until its own FIN). pipe() does not propagate errors (nodejs/node#19288), so an error on
// either side destroys both. The session ends when both sockets have closed.
import type net from 'node:net'

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

export function splice (client: net.Socket, backend: net.Socket, opts: SpliceOptions): Splice {
  let termination: Termination | undefined
  const set = (t: Termination) => { termination ??= t }
  let bytesIn = 0
  let bytesOut = opts.first?.length ?? 0
  client.on('data', (c: Buffer) => { bytesIn += c.length })
  backend.on('data', (c: Buffer) => { bytesOut += c.length })

  const done = new Promise<SpliceResult>((resolve) => {
    let open = 2
    const closed = () => {
      if (--open > 0) return
      if (graceTimer !== undefined) clearTimeout(graceTimer)
      if (halfCloseTimer !== undefined) clearTimeout(halfCloseTimer)
      resolve({ termination: termination ?? 'client_closed', bytesIn, bytesOut })
    }
    client.once('close', closed)
    backend.once('close', closed)
  })

  let halfCloseTimer: NodeJS.Timeout | undefined
  const halfClosed = (t: Termination) => {
    set(t)
    if (opts.halfCloseTimeout > 0 && halfCloseTimer === undefined) {
      halfCloseTimer = setTimeout(() => { client.destroy(); backend.destroy() }, opts.halfCloseTimeout)
      halfCloseTimer.unref()
    }
  }
  client.on('end', () => halfClosed('client_closed'))
  backend.on('end', () => halfClosed('backend_closed'))
  client.on('error', () => { set('client_error'); backend.destroy(); client.destroy() })
  backend.on('error', () => { set('backend_error'); client.destroy(); backend.destroy() })
  // A side that is fully closed while the other is still writing to it: finish the other too.
  client.on('close', () => { if (!backend.destroyed) backend.end() })
  backend.on('close', () => { if (!client.destroyed) client.end() })

  if (opts.idleTimeout > 0) {
    client.setTimeout(opts.idleTimeout, () => { set('idle_timeout'); client.destroy(); backend.destroy() })
  }
  if (opts.first !== undefined && opts.first.length > 0) client.write(opts.first)
  client.pipe(backend)
  backend.pipe(client)

  let graceTimer: NodeJS.Timeout | undefined
  const terminate = (why: Termination, graceMs: number) => {
    set(why)
    client.end()
    backend.end()
    // destroy(), not resetAndDestroy(): after end() libuv refuses the RST (uv_tcp_close_reset
    // gives EINVAL once shutdown was called) and Node then never emits 'close' for the socket.
    graceTimer ??= setTimeout(() => { client.destroy(); backend.destroy() }, graceMs)
    graceTimer.unref()
  }
  return { done, terminate }
}
