// The client side of a TLS link this process opens itself: the front proxy re-encrypting toward a
// gateway (mutual TLS between the tiers, docs/operations.md "TLS"). The material is PEM text or
// file paths, read when the proxy starts and again on SIGHUP. The handshake runs on a TCP socket
// that is already connected, so whatever was written on it first (a PROXY v2 header, HAProxy
// doc/proxy-protocol.txt §2.2) stays in plaintext ahead of the ClientHello.
import { isIP, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import type { Clock } from '../clock.js'
import { ErrorCodes, errorMessage, lbError } from '../errors.js'

/** A `backendTls` / backend `tls` section (docs/configuration.md). */
export interface TlsClientSettings {
  ca?: string | undefined
  servername?: string | undefined
  cert?: string | undefined
  key?: string | undefined
  rejectUnauthorized: boolean
}

export interface TlsClientMaterial {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  servername?: string
  rejectUnauthorized: boolean
}

/** Reads PEM text or files; throws TLS_CONFIG naming the key. */
export function loadClientTls (settings: TlsClientSettings, label: string): TlsClientMaterial {
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const v = settings[key]
    if (v === undefined) return undefined
    if (v.includes('-----BEGIN')) return Buffer.from(v)
    try {
      return readFileSync(v)
    } catch (err) {
      throw lbError(ErrorCodes.TLS_CONFIG, `${label}.${key} = ${JSON.stringify(v)}: expected PEM text or a readable PEM file (${errorMessage(err)})`, err)
    }
  }
  const ca = read('ca')
  const cert = read('cert')
  const key = read('key')
  if ((cert === undefined) !== (key === undefined)) throw lbError(ErrorCodes.TLS_CONFIG, `${label}: a client certificate needs both cert and key`)
  return {
    rejectUnauthorized: settings.rejectUnauthorized,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(settings.servername === undefined ? {} : { servername: settings.servername }),
  }
}

/**
 * Client handshake on a connected socket toward `host`; resolves once it is secure (and, with
 * rejectUnauthorized, the server's certificate verified for `servername` or `host`).
 */
export function startClientTls (socket: Socket, host: string, material: TlsClientMaterial, timeoutMs: number, clock: Clock): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    // SNI may not be an IP address (RFC 6066 §3); the certificate check still uses `host`.
    const sni = material.servername ?? (isIP(host) === 0 ? host : undefined)
    // From here on failures surface on the TLS socket; one the TCP socket still reports (a write
    // queued before the handshake) must not go unheard (Node.js doc/api/events.md, "Error events").
    socket.on('error', () => {})
    const tls = tlsConnect({
      socket,
      host: material.servername ?? host,
      ...(sni === undefined ? {} : { servername: sni }),
      ...(material.ca === undefined ? {} : { ca: material.ca }),
      ...(material.cert === undefined ? {} : { cert: material.cert, key: material.key }),
      rejectUnauthorized: material.rejectUnauthorized,
    })
    const timer = clock.setTimeout(() => {
      tls.destroy()
      reject(lbError(ErrorCodes.TLS_CONNECT, `TLS handshake with ${host} timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    tls.once('secureConnect', () => {
      clock.clearTimeout(timer)
      tls.removeAllListeners('error')
      resolve(tls)
    })
    tls.once('error', (err) => {
      clock.clearTimeout(timer)
      tls.destroy()
      reject(lbError(ErrorCodes.TLS_CONNECT, `TLS handshake with ${host} failed: ${errorMessage(err)}`, err))
    })
  })
}
