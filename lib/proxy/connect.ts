// Connect with failover (HAProxy doc/configuration.txt, `option redispatch 1` with `retries`):
// one backend after another, never the same one twice for a client, until one answers. TN3270 is
// server-speaks-first (the server opens the negotiation, RFC 1576, RFC 2355 §7.1), so until the
// backend's first byte nothing has reached the client and every failure can be retried
// invisibly: refused, connect timeout (our own timer: the `timeout` option of net.connect is an
// idle timer, Node.js doc/api/net.md), reset, or a close with no byte within `earlyCloseWindow`
// (a gateway that accepted just as its last LU went; HAProxy's `retry-on` covers HTTP only,
// doc/configuration.txt, so HAProxy in TCP mode would hand that close to the client).
import net from 'node:net'
import type { Clock } from '../clock.js'
import { BackendConnectError, errorCode, errorMessage, type ConnectFailureReason } from '../errors.js'
import { encodeProxyV2, type ProxyTlv } from '../proxy-protocol/index.js'
import { startClientTls, type TlsClientMaterial } from '../tls/index.js'
import type { Backend } from './backend.js'
import { BackendReads } from './backend-reads.js'

export interface ConnectOptions {
  host: string
  port: number
  timeout: number
  /** TCP keepalive initial delay in ms; 0 = off. */
  keepAlive: number
  clock: Clock
  /** Read through `onread` into the shared buffer (backend-reads.ts) instead of 'data' events. */
  reads?: BackendReads
}

/**
 * Maps a socket error to the metric reason. With `autoSelectFamily` (on by default since Node 20,
 * doc/api/net.md) a name with several addresses fails with one AggregateError: its first error decides.
 */
export function classifyConnectError (err: unknown): ConnectFailureReason {
  const code = errorCode(err) ?? (err instanceof AggregateError ? errorCode(err.errors[0]) : undefined)
  switch (code) {
    case 'ECONNREFUSED': return 'refused'
    case 'ETIMEDOUT': return 'timeout'
    case 'ECONNRESET': case 'EPIPE': case 'ECONNABORTED': return 'reset'
    default: return 'other'
  }
}

/** How a socket error reads in a log line: its code (ECONNREFUSED) when it has one. */
function socketError (err: unknown): string {
  return errorCode(err) ?? errorMessage(err)
}

/** One TCP connect with its own timeout; resolves with a connected socket (noDelay, keepalive). */
export function connectOnce (opts: ConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // noDelay and keepalive as connect options: Node sets them once connected (doc/api/net.md,
    // socket.connect(options)), the same two socket options setNoDelay/setKeepAlive would set.
    const socket = net.connect({ host: opts.host, port: opts.port, allowHalfOpen: true, noDelay: true, keepAlive: opts.keepAlive > 0, keepAliveInitialDelay: opts.keepAlive, ...(opts.reads === undefined ? {} : { onread: opts.reads.option() }) })
    const timer = opts.clock.setTimeout(() => {
      socket.destroy()
      reject(new BackendConnectError(`connect to ${opts.host}:${opts.port} timed out after ${opts.timeout} ms`, 'timeout'))
    }, opts.timeout)
    socket.once('error', (err) => {
      opts.clock.clearTimeout(timer)
      socket.destroy()
      reject(new BackendConnectError(`connect to ${opts.host}:${opts.port} failed: ${socketError(err)}`, classifyConnectError(err), { cause: err }))
    })
    socket.once('connect', () => {
      opts.clock.clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(socket)
    })
  })
}

export type FirstByte =
  | { kind: 'data', chunk: Buffer }
  /** Nothing yet within the window: go on and splice (a client-speaks-first protocol such as TLS). */
  | { kind: 'silent' }
  | { kind: 'closed', error?: Error }

/**
 * Waits up to `window` ms for the backend's first bytes. With `reads` (backend-reads.ts) the socket
 * keeps reading: a read before the splice takes over is held (a copy) and relayed first, which
 * spares a readStop and a readStart per session and the resume on the next tick. Without it (a TLS
 * backend: 'data' events) the socket is paused again: a flowing Readable with no 'data' listener
 * would emit, and so lose, what it reads (doc/api/stream.md, "Two reading modes").
 */
export function awaitFirstByte (socket: net.Socket, window: number, clock: Clock, reads?: BackendReads): Promise<FirstByte> {
  return new Promise((resolve) => {
    const finish = (r: FirstByte) => {
      clock.clearTimeout(timer)
      socket.off('data', onData).off('end', onEnd).off('error', onError).off('close', onEnd)
      if (reads === undefined) socket.pause()
      else reads.consume(undefined)
      resolve(r)
    }
    const onData = (chunk: Buffer) => finish({ kind: 'data', chunk })
    const onEnd = () => finish({ kind: 'closed' })
    const onError = (error: Error) => finish({ kind: 'closed', error })
    const timer = clock.setTimeout(() => finish({ kind: 'silent' }), window)
    socket.once('end', onEnd).once('error', onError).once('close', onEnd)
    // The read sits in the shared buffer: the greeting the splice writes later is a copy.
    if (reads === undefined) socket.on('data', onData)
    else reads.consume((view) => { onData(Buffer.from(view)); return true })
  })
}

/** What the failover loop needs from a backend pool. */
export interface FailoverPool {
  choose: (tried: ReadonlySet<string>) => Backend | undefined
  connectFailed: (b: Backend, reason: ConnectFailureReason, message: string) => void
  connected: (b: Backend) => void
}

export interface FailoverOptions {
  connectTimeout: number
  earlyCloseWindow: number
  keepAlive: number
  clock: Clock
  /** Send a PROXY v2 header carrying the client's address first (HAProxy doc/proxy-protocol.txt §2.2). */
  proxyProtocol: boolean
  client: { address: string, port: number }
  local: { address: string, port: number }
  /** TLVs for the PROXY v2 header: the client's TLS facts when this proxy terminated it (doc/proxy-protocol.txt §2.2.6). */
  tlvs?: ProxyTlv[]
  /** TLS toward this backend (re-encryption, mutual TLS between the tiers), after the PROXY header. */
  tls?: (b: Backend) => TlsClientMaterial | undefined
  /** Called after each failed attempt (for logs and the failover metric). */
  onFailure?: (b: Backend, reason: ConnectFailureReason, message: string) => void
  /** True once the client has gone away: stop trying. */
  aborted?: () => boolean
}

export interface Connected {
  backend: Backend
  socket: net.Socket
  /** Bytes the backend sent first (already read), if any. */
  first: Buffer | undefined
  /** The socket's reads come through `onread` (backend-reads.ts), not 'data' events: for the splice. */
  reads: BackendReads | undefined
  connectMs: number
  retries: number
}

export type FailoverResult =
  | ({ ok: true } & Connected)
  | { ok: false, retries: number, reason: 'no_backend' | 'aborted' }

/** Tries backends in the balancer's order until one connects and does not close at once. */
export async function connectWithFailover (pool: FailoverPool, opts: FailoverOptions): Promise<FailoverResult> {
  const tried = new Set<string>()
  let retries = 0
  for (;;) {
    if (opts.aborted?.() === true) return { ok: false, retries, reason: 'aborted' }
    const backend = pool.choose(tried)
    if (backend === undefined) return { ok: false, retries, reason: 'no_backend' }
    tried.add(backend.id)
    const started = opts.clock.now()
    const fail = (reason: ConnectFailureReason, message: string) => {
      pool.connectFailed(backend, reason, message)
      opts.onFailure?.(backend, reason, message)
      retries++
    }
    let socket: net.Socket
    const material = opts.tls?.(backend)
    // A TLS socket reads through its own layer: onread only for a plain backend connection.
    const reads = material === undefined ? new BackendReads() : undefined
    try {
      socket = await connectOnce({ host: backend.target.host, port: backend.target.port, timeout: opts.connectTimeout, keepAlive: opts.keepAlive, clock: opts.clock, ...(reads === undefined ? {} : { reads }) })
    } catch (err) {
      fail(err instanceof BackendConnectError ? err.reason : 'other', errorMessage(err))
      continue
    }
    const connectMs = opts.clock.now() - started
    // The header goes first and in plaintext; a gateway listener with TLS reads it before its handshake.
    if (opts.proxyProtocol) socket.write(encodeProxyV2({ src: opts.client, dst: opts.local, tlvs: opts.tlvs ?? [] }))
    if (material !== undefined) {
      try {
        socket = await startClientTls(socket, backend.target.host, material, opts.connectTimeout, opts.clock)
      } catch (err) {
        socket.destroy()
        fail('tls', errorMessage(err))
        continue
      }
    }
    const first = await awaitFirstByte(socket, opts.earlyCloseWindow, opts.clock, reads)
    if (first.kind === 'closed') {
      socket.destroy()
      const why = first.error === undefined ? 'closed the connection before sending anything' : `failed before sending anything: ${socketError(first.error)}`
      fail(first.error === undefined ? 'reset' : classifyConnectError(first.error), `${backend.target.host}:${backend.target.port} ${why}`)
      continue
    }
    pool.connected(backend)
    return { ok: true, backend, socket, first: first.kind === 'data' ? first.chunk : undefined, reads, connectMs, retries }
  }
}
