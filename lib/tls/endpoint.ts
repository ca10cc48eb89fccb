// The TLS side of one client-facing listener, gateway or proxy: its credentials (reloaded on file
// change and on SIGHUP), the acceptor that runs handshakes with them, and the metrics
// tn3270_tls_handshakes_total{role,listener,result} and
// tn3270_tls_certificate_expiry_seconds{role,listener} (docs/metrics.md).
import type { Socket } from 'node:net'
import type { Clock } from '../clock.js'
import { TlsAcceptError, errorMessage, type TlsAcceptFailure } from '../errors.js'
import type { Logger, TlsMetrics } from '../observability/index.js'
import { acceptTls, refuseTlsOnPlain, type TlsAccepted, type TlsMode } from './accept.js'
import { ServerCredentials, type CertificateFacts, type ClientAuth, type TlsCredentialSettings } from './credentials.js'
import { TlsAcceptor } from './handshake.js'

/** A listener's `tls` section (docs/configuration.md), durations in ms. */
export interface TlsListenerSettings extends TlsCredentialSettings {
  mode: TlsMode
  allowPlain: boolean
  clientAuth: ClientAuth
  handshakeTimeout: number
  clientHelloWait: number
}

export interface TlsEndpointDeps {
  role: 'gateway' | 'proxy'
  listener: string
  metrics: TlsMetrics
  logger: Logger
  clock: Clock
}

/** The `result` label of tn3270_tls_handshakes_total. */
export type HandshakeResult = 'ok' | 'plain' | 'failed' | 'timeout' | 'declined' | 'closed' | 'plain_listener'

const RESULT: Record<TlsAcceptFailure, HandshakeResult> = {
  handshake: 'failed',
  protocol: 'failed',
  timeout: 'timeout',
  declined: 'declined',
  closed: 'closed',
  'tls-on-plain': 'plain_listener',
}

export class TlsEndpoint {
  readonly settings: TlsListenerSettings
  private readonly credentials: ServerCredentials
  private readonly acceptor: TlsAcceptor
  private readonly deps: TlsEndpointDeps

  private constructor (settings: TlsListenerSettings, deps: TlsEndpointDeps) {
    this.settings = settings
    this.deps = deps
    this.credentials = ServerCredentials.load(settings, `listeners.${deps.listener}.tls`)
    this.acceptor = new TlsAcceptor(this.credentials.contextOptions, settings.clientAuth)
    this.credentials.on('changed', facts => { this.use(facts, 'reloaded') })
    this.credentials.on('reload-failed', err => {
      deps.logger.warn({ event: 'tls_reload_failed', role: deps.role, listener: deps.listener, err: errorMessage(err) }, 'TLS certificate not reloaded; the current one stays in use')
    })
  }

  /** Reads and checks the certificate (throws TLS_CONFIG), sets the expiry gauge, watches the files. */
  static open (settings: TlsListenerSettings, deps: TlsEndpointDeps): TlsEndpoint {
    const endpoint = new TlsEndpoint(settings, deps)
    endpoint.setExpiry(endpoint.credentials.certificate)
    endpoint.credentials.watch(deps.clock)
    return endpoint
  }

  get certificate (): CertificateFacts { return this.credentials.certificate }

  /** Takes the client into TLS per the mode (or plain where allowed), counting the result. */
  async accept (socket: Socket): Promise<TlsAccepted> {
    const { clock } = this.deps
    const s = this.settings
    try {
      const accepted = await acceptTls(socket, this.acceptor, { mode: s.mode, allowPlain: s.allowPlain, clientHelloWait: s.clientHelloWait, timeout: s.handshakeTimeout, clock })
      this.count(accepted.tls ? 'ok' : 'plain')
      return accepted
    } catch (err) {
      this.count(err instanceof TlsAcceptError ? RESULT[err.failure] : 'failed')
      throw err
    }
  }

  /** SIGHUP: read the files again now; the outcome is logged. */
  reload (): void {
    try {
      if (this.credentials.reload() === 'unchanged') {
        this.deps.logger.info({ event: 'tls_reload', role: this.deps.role, listener: this.deps.listener, result: 'unchanged' }, 'TLS certificate unchanged')
      }
    } catch (err) {
      this.deps.logger.warn({ event: 'tls_reload_failed', role: this.deps.role, listener: this.deps.listener, err: errorMessage(err) }, 'TLS certificate not reloaded; the current one stays in use')
    }
  }

  close (): void {
    this.credentials.close()
  }

  private use (facts: CertificateFacts, how: string): void {
    this.acceptor.useContext(this.credentials.contextOptions)
    this.setExpiry(facts)
    this.deps.logger.info({ event: 'tls_reload', role: this.deps.role, listener: this.deps.listener, result: how, subject: facts.subject, serial: facts.serial, notAfter: new Date(facts.notAfter).toISOString() }, 'TLS certificate reloaded for new connections')
  }

  private setExpiry (facts: CertificateFacts): void {
    this.deps.metrics.certificateExpiry.set({ role: this.deps.role, listener: this.deps.listener }, Math.floor(facts.notAfter / 1000))
  }

  private count (result: HandshakeResult): void {
    this.deps.metrics.handshakes.inc({ role: this.deps.role, listener: this.deps.listener, result })
  }
}

/**
 * A listener without TLS: a TLS client is refused (counted as result `plain_listener`); `waitMs`
 * bounds the wait for its ClientHello (refuseTlsOnPlain).
 */
export async function screenPlainListener (socket: Socket, deps: Pick<TlsEndpointDeps, 'role' | 'listener' | 'metrics'> & { waitMs?: number, clock?: Clock }): Promise<void> {
  try {
    await refuseTlsOnPlain(socket, deps.waitMs ?? 0, deps.clock)
  } catch (err) {
    deps.metrics.handshakes.inc({ role: deps.role, listener: deps.listener, result: 'plain_listener' })
    throw err
  }
}
