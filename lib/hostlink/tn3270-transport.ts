// The byte pipe of a `tn3270` host link: a TCP or TLS connection to the host (docs/internals.md
// §hostlink/), and the link probe. Nothing TN3270 happens here beyond waiting for the host to
// speak first (a TN3270 server opens with DO TERMINAL-TYPE or DO TN3270E, RFC 1576 §2 and
// RFC 2355 §7.1).
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { systemClock, type Clock } from '../clock.js'
import { ErrorCodes, HostConnectError } from '../errors.js'

export interface Tn3270TlsMaterial {
  ca?: string | Buffer
  cert?: string | Buffer
  key?: string | Buffer
  /** SNI and the name the certificate must carry (default: the host). */
  servername?: string
  rejectUnauthorized: boolean
}

export interface Tn3270Endpoint {
  host: string
  port: number
  tls?: Tn3270TlsMaterial
  /** Budget for TCP (+TLS) connect, ms (and, for a probe, for the host's first bytes). */
  connectTimeout: number
  clock?: Clock
  signal?: AbortSignal
}

const unreachable = (kind: 'unreachable' | 'aborted', message: string, cause?: unknown): HostConnectError =>
  new HostConnectError(ErrorCodes.TN3270_HOST_UNREACHABLE, kind, message, cause === undefined ? undefined : { cause })

/** Open TCP or TLS to the host; rejects with a HostConnectError (unreachable or aborted). */
export async function openTn3270Socket (opts: Tn3270Endpoint, clock: Clock = opts.clock ?? systemClock): Promise<Socket> {
  const where = `${opts.host}:${opts.port}`
  if (opts.signal?.aborted === true) throw unreachable('aborted', `connect to ${where} aborted`)
  return await new Promise<Socket>((resolve, reject) => {
    const t = opts.tls
    const socket: Socket = t === undefined
      ? netConnect({ host: opts.host, port: opts.port, noDelay: true })
      : tlsConnect({
        host: opts.host,
        port: opts.port,
        // Node's tls.connect does not accept an IP address as SNI; the name check still uses it.
        ...(t.servername !== undefined ? { servername: t.servername } : {}),
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        ...(t.cert !== undefined ? { cert: t.cert } : {}),
        ...(t.key !== undefined ? { key: t.key } : {}),
        rejectUnauthorized: t.rejectUnauthorized,
      })
    const ready = t === undefined ? 'connect' : 'secureConnect'
    let settled = false
    const finish = (err?: Error): void => {
      if (settled) return
      settled = true
      clock.clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      socket.off(ready, onReady)
      socket.off('error', onError)
      if (err === undefined) { resolve(socket); return }
      socket.destroy()
      reject(err)
    }
    const onReady = (): void => { socket.setNoDelay(true); finish() }
    const onError = (err: NodeJS.ErrnoException): void => {
      const tlsWord = t !== undefined && err.code !== 'ECONNREFUSED' ? ' (TLS)' : ''
      finish(unreachable('unreachable', `connect to ${where}${tlsWord} failed: ${err.code ?? ''} ${err.message}`.replace(/ {2,}/g, ' '), err))
    }
    const onAbort = (): void => { finish(unreachable('aborted', `connect to ${where} aborted`)) }
    const timer = clock.setTimeout(() => { finish(unreachable('unreachable', `connect to ${where} timed out after ${opts.connectTimeout} ms`)) }, opts.connectTimeout)
    socket.once(ready, onReady)
    socket.on('error', onError)
    opts.signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Link probe: TCP (and TLS) connect, then wait for the host's first bytes, then an orderly
 * close. Waiting for them also catches a TLS 1.3 host that rejects our client certificate only
 * after the handshake. Takes no device: a telnet server assigns one only after the terminal
 * type (measured on Hercules).
 */
export async function probeTn3270Host (opts: Tn3270Endpoint): Promise<void> {
  const clock = opts.clock ?? systemClock
  const socket = await openTn3270Socket(opts, clock)
  const where = `${opts.host}:${opts.port}`
  try {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clock.clearTimeout(timer)
        socket.off('data', onData); socket.off('error', onError); socket.off('close', onClose)
        opts.signal?.removeEventListener('abort', onAbort)
        if (err === undefined) resolve(); else reject(err)
      }
      const onData = (): void => done()
      const onError = (err: NodeJS.ErrnoException): void => done(unreachable('unreachable', `host ${where} failed before speaking telnet: ${err.code ?? ''} ${err.message}`.replace(/ {2,}/g, ' '), err))
      const onClose = (): void => done(unreachable('unreachable', `host ${where} closed the connection before speaking telnet`))
      const onAbort = (): void => done(unreachable('aborted', `probe of ${where} aborted`))
      const timer = clock.setTimeout(() => done(unreachable('unreachable', `host ${where} accepted but sent nothing within ${opts.connectTimeout} ms`)), opts.connectTimeout)
      socket.on('data', onData)
      socket.once('error', onError)
      socket.once('close', onClose)
      opts.signal?.addEventListener('abort', onAbort, { once: true })
    })
  } finally {
    socket.on('error', () => { /* closing anyway */ })
    socket.end()
    const t = setTimeout(() => socket.destroy(), 1000)
    t.unref()
    socket.once('close', () => clearTimeout(t))
  }
}
