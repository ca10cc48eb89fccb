// The server handshake of one client, through a tls.Server that never listens. Node decides
// whether a client certificate verified (tlsSocket.authorized) and refuses an unverified one
// under rejectUnauthorized only for sockets a tls.Server accepted (Node.js lib/_tls_wrap.js,
// onServerSocketSecure): a standalone `new TLSSocket(socket, { isServer: true })` completes
// the handshake with any certificate. Feeding the connection to the server's own connection
// listener (Node.js doc/api/net.md: a 'connection' may be injected) keeps Node's checks; each
// handshake runs in a scope object whose prototype is the server, so its settings and current
// context are the server's while its 'secureConnection' / 'tlsClientError' events are this
// connection's alone. setSecureContext() on the server changes new handshakes only.
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { Server as TlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls'
import { ErrorCodes, TlsAcceptError, errorMessage, lbError } from '../errors.js'
import type { ClientAuth } from './credentials.js'

export class TlsAcceptor {
  private readonly server: TlsServer
  private readonly connectionListener: (raw: Duplex) => void

  constructor (context: SecureContextOptions, clientAuth: ClientAuth) {
    // require: the handshake fails without a certificate (OpenSSL SSL_VERIFY_FAIL_IF_NO_PEER_CERT)
    // and Node closes one that does not verify; request: a certificate is asked for, kept unverified.
    this.server = new TlsServer({ ...context, requestCert: clientAuth !== 'none', rejectUnauthorized: clientAuth === 'require' })
    const listener = this.server.listeners('connection')[0]
    if (typeof listener !== 'function') throw lbError(ErrorCodes.TLS_CONFIG, 'this Node.js tls.Server has no connection listener to hand a client to')
    this.connectionListener = listener as (raw: Duplex) => void
  }

  /** New handshakes use this material; sessions already established keep theirs. */
  useContext (context: SecureContextOptions): void {
    this.server.setSecureContext(context)
  }

  /** Server handshake on `raw` (the socket, or a stream replaying bytes already read from it). */
  handshake (raw: Socket | Duplex): Promise<TLSSocket> {
    return new Promise<TLSSocket>((resolve, reject) => {
      const scope = Object.create(this.server) as TlsServer
      Reflect.apply(EventEmitter, scope, []) // own listeners; the rest comes from the prototype
      scope.once('secureConnection', (socket: TLSSocket) => { resolve(socket) })
      scope.once('tlsClientError', (err: Error, socket: TLSSocket) => {
        const refused = socket.authorizationError === undefined || socket.authorizationError === null ? '' : `client certificate refused (${String(socket.authorizationError)}); `
        socket.destroy()
        reject(new TlsAcceptError('handshake', `TLS handshake failed: ${refused}${opensslReason(err)}`, { cause: err }))
      })
      this.connectionListener.call(scope, raw)
    })
  }
}

/** OpenSSL errors carry a short `reason` ("peer did not return a certificate"); the message adds file and line. */
function opensslReason (err: unknown): string {
  if (typeof err === 'object' && err !== null && 'reason' in err && typeof err.reason === 'string') return err.reason
  return errorMessage(err)
}
