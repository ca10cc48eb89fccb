// TLS with the client at the top of a proxy session (docs/operations.md "TLS"). A listener with
// `tls` terminates it here — direct, TELNET START_TLS (draft-altman-telnet-starttls-02) or both —
// before a gateway is chosen, and the client's TLS facts travel on in the PROXY v2 header
// (PP2_TYPE_SSL and its sub-TLVs, HAProxy doc/proxy-protocol.txt §2.2.6, plus the subject and SAN
// TLVs of lib/proxy-protocol). A listener without `tls` leaves the bytes alone: a TLS client's
// handshake goes through to a gateway listener with `tls` (passthrough).
import type net from 'node:net'
import { TlsAcceptError, errorMessage } from '../errors.js'
import type { Logger } from '../observability/index.js'
import { encodeClientTls, type ClientTlsFacts, type ProxyTlv } from '../proxy-protocol/index.js'
import type { TlsClientIdentity, TlsEndpoint } from '../tls/index.js'

export interface ClientTlsSettings {
  /** The listener's TLS, when it terminates client TLS. */
  endpoint?: TlsEndpoint | undefined
  /** Whether the gateways should hear about the client's TLS (PROXY v2 on, and this proxy knows it). */
  report: boolean
}

export interface AcceptedClient {
  /** The stream to relay: the TLS socket, or the client socket as it came. */
  socket: net.Socket
  /** TLVs for the PROXY v2 header toward the gateway. */
  tlvs: ProxyTlv[]
  identity?: TlsClientIdentity
}

/**
 * Takes the client into TLS when the listener terminates it. Undefined when the client could not
 * be taken (handshake failed, declined START_TLS, timed out): the socket is closed, one warn line.
 */
export async function acceptClientTls (socket: net.Socket, settings: ClientTlsSettings, log: { logger: Logger, listener: string, client: string }): Promise<AcceptedClient | undefined> {
  if (settings.endpoint === undefined) return { socket, tlvs: settings.report ? encodeClientTls(factsOf(undefined)) : [] }
  try {
    const accepted = await settings.endpoint.accept(socket)
    const identity = accepted.tls ? accepted.identity : undefined
    const tlvs = settings.report ? encodeClientTls(factsOf(identity)) : []
    return { socket: accepted.socket, tlvs, ...(identity === undefined ? {} : { identity }) }
  } catch (err) {
    const failure = err instanceof TlsAcceptError ? err.failure : 'handshake'
    log.logger.warn({ event: 'tls_refused', listener: log.listener, client: log.client, failure, reason: errorMessage(err) }, 'client not taken into TLS; closed')
    socket.destroy()
    return undefined
  }
}

/** PP2_TYPE_SSL facts: a client that stayed in plain telnet is reported as such (PP2_CLIENT_SSL clear). */
function factsOf (id: TlsClientIdentity | undefined): ClientTlsFacts {
  if (id === undefined) return { tls: false, certificate: false, verified: false }
  return {
    tls: true,
    certificate: id.certificate,
    verified: id.verified,
    protocol: id.protocol,
    cipher: id.cipher,
    ...(id.cn === undefined ? {} : { cn: id.cn }),
    ...(id.subject === undefined ? {} : { subject: id.subject }),
    sans: id.sans,
  }
}
