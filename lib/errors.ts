// Every error this project raises carries a stable `code` string from this one table, the way
// undici (UND_ERR_*) and fastify (FST_ERR_*) do it: operators grep for codes, tests match codes,
// messages may be reworded. Add a code here rather than inventing strings at the throw site.

export const ErrorCodes = {
  // config/
  CONFIG_INVALID: 'TN3270LB_ERR_CONFIG_INVALID',
  CONFIG_FILE: 'TN3270LB_ERR_CONFIG_FILE',
  CONFIG_OVERRIDE: 'TN3270LB_ERR_CONFIG_OVERRIDE',
  CONFIG_REFERENCE: 'TN3270LB_ERR_CONFIG_REFERENCE',
  /** A reload (SIGHUP, POST /v1/reload) changes a key that cannot change while the role runs. */
  CONFIG_RELOAD: 'TN3270LB_ERR_CONFIG_RELOAD',
  // cli
  CLI_USAGE: 'TN3270LB_ERR_CLI_USAGE',
  // observability/ (admin HTTP server)
  ADMIN_LISTEN: 'TN3270LB_ERR_ADMIN_LISTEN',
  ADMIN_TOKEN_REQUIRED: 'TN3270LB_ERR_ADMIN_TOKEN_REQUIRED',
  ADMIN_BODY_TOO_LARGE: 'TN3270LB_ERR_ADMIN_BODY_TOO_LARGE',
  /** A runtime API request that cannot be done (bad body, unknown name, wrong state): AdminRequestError. */
  ADMIN_REQUEST: 'TN3270LB_ERR_ADMIN_REQUEST',
  // telnet/
  TELNET_SUBNEG_TOO_LONG: 'TN3270LB_ERR_TELNET_SUBNEG_TOO_LONG',
  TELNET_RECORD_TOO_LONG: 'TN3270LB_ERR_TELNET_RECORD_TOO_LONG',
  TELNET_PROTOCOL: 'TN3270LB_ERR_TELNET_PROTOCOL',
  // tn3270/
  TN3270_NEGOTIATION_TIMEOUT: 'TN3270LB_ERR_TN3270_NEGOTIATION_TIMEOUT',
  TN3270_NEGOTIATION_FAILED: 'TN3270LB_ERR_TN3270_NEGOTIATION_FAILED',
  TN3270E_MALFORMED: 'TN3270LB_ERR_TN3270E_MALFORMED',
  TN3270_DEVICE_TYPE: 'TN3270LB_ERR_TN3270_DEVICE_TYPE',
  TN3270_SESSION_STATE: 'TN3270LB_ERR_TN3270_SESSION_STATE',
  TN3270_SNAPSHOT_MALFORMED: 'TN3270LB_ERR_TN3270_SNAPSHOT_MALFORMED',
  // datastream/
  DATASTREAM_MALFORMED: 'TN3270LB_ERR_DATASTREAM_MALFORMED',
  // sna/
  SNA_MALFORMED: 'TN3270LB_ERR_SNA_MALFORMED',
  SNA_STATE: 'TN3270LB_ERR_SNA_STATE',
  SNA_SENSE: 'TN3270LB_ERR_SNA_SENSE',
  PACING_VIOLATION: 'TN3270LB_ERR_PACING_VIOLATION',
  PACING_QUEUE_FULL: 'TN3270LB_ERR_PACING_QUEUE_FULL',
  // hostlink/
  HOSTLINK_FRAME: 'TN3270LB_ERR_HOSTLINK_FRAME',
  HOSTLINK_HELLO: 'TN3270LB_ERR_HOSTLINK_HELLO',
  HOSTLINK_DOWN: 'TN3270LB_ERR_HOSTLINK_DOWN',
  // hostlink/ tn3270 (upstream TN3270/TN3270E client)
  TN3270_HOST_UNREACHABLE: 'TN3270LB_ERR_TN3270_HOST_UNREACHABLE',
  TN3270_HOST_REJECTED: 'TN3270LB_ERR_TN3270_HOST_REJECTED',
  TN3270_HOST_NEGOTIATION: 'TN3270LB_ERR_TN3270_HOST_NEGOTIATION',
  // gateway/
  LU_UNAVAILABLE: 'TN3270LB_ERR_LU_UNAVAILABLE',
  /** A gateway listener's port cannot be bound at start (in use, not permitted). */
  LISTENER_LISTEN: 'TN3270LB_ERR_LISTENER_LISTEN',
  PROXY_HEADER: 'TN3270LB_ERR_PROXY_HEADER',
  PROXY_HEADER_UNTRUSTED: 'TN3270LB_ERR_PROXY_HEADER_UNTRUSTED',
  PROXY_HEADER_MISSING: 'TN3270LB_ERR_PROXY_HEADER_MISSING',
  KEEPALIVE_LIMIT: 'TN3270LB_ERR_KEEPALIVE_LIMIT',
  /** negotiation.maxPendingPerClient: this client already has that many connections negotiating. */
  CLIENT_PENDING_LIMIT: 'TN3270LB_ERR_CLIENT_PENDING_LIMIT',
  /** maxSessionsPerClient: this client already has that many connections (gateway or proxy). */
  CLIENT_SESSION_LIMIT: 'TN3270LB_ERR_CLIENT_SESSION_LIMIT',
  // proxy/
  NO_BACKEND: 'TN3270LB_ERR_NO_BACKEND',
  BACKEND_CONNECT: 'TN3270LB_ERR_BACKEND_CONNECT',
  BACKEND_STATUS: 'TN3270LB_ERR_BACKEND_STATUS',
  BACKEND_DISCOVERY: 'TN3270LB_ERR_BACKEND_DISCOVERY',
  /** A proxy worker process (`workers`) exited before it was ready: the proxy does not start. */
  PROXY_WORKER_START: 'TN3270LB_ERR_PROXY_WORKER_START',
  // tls/ (client legs of gateway and proxy listeners)
  /** A certificate, key or CA file that cannot be read or used (at start or on a reload). */
  TLS_CONFIG: 'TN3270LB_ERR_TLS_CONFIG',
  /** The TLS handshake with a client failed, timed out, or the client would not use TLS. */
  TLS_ACCEPT: 'TN3270LB_ERR_TLS_ACCEPT',
  /** A TLS handshake this process started (proxy → gateway) failed or timed out. */
  TLS_CONNECT: 'TN3270LB_ERR_TLS_CONNECT',
  // appc/
  APPC_MALFORMED: 'TN3270LB_ERR_APPC_MALFORMED',
  APPC_ALLOCATION: 'TN3270LB_ERR_APPC_ALLOCATION',
  APPC_CNOS: 'TN3270LB_ERR_APPC_CNOS',
  APPC_CONVERSATION: 'TN3270LB_ERR_APPC_CONVERSATION',
  APPC_API: 'TN3270LB_ERR_APPC_API',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export class Tn3270LbError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'Tn3270LbError'
    this.code = code
  }
}

// Errors that carry more than a code and a message are subclasses with typed fields (the way
// undici's lib/core/errors.js does it), so callers test `instanceof` or `isLbError(err, code)`
// and read the field without casts. Add them here, grouped by module.

/** How a TN3270 negotiation ended without a session (either role, lib/tn3270). */
export type NegotiationFailure = 'timeout' | 'closed' | 'refused' | 'protocol' | 'aborted'

/** A TN3270 / TN3270E negotiation failed: `failure` says how, `phase` in which state (docs/tn3270.md). */
export class NegotiationError extends Tn3270LbError {
  readonly failure: NegotiationFailure
  readonly phase: string
  constructor (code: ErrorCode, failure: NegotiationFailure, phase: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'NegotiationError'
    this.failure = failure
    this.phase = phase
  }
}

export type HostFailureKind = 'unreachable' | 'rejected' | 'closed-early' | 'protocol' | 'aborted'

/** A connect to an upstream TN3270 host failed; `kind` tells link down from this resource refused. */
export class HostConnectError extends Tn3270LbError {
  readonly kind: HostFailureKind
  constructor (code: ErrorCode, kind: HostFailureKind, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'HostConnectError'
    this.kind = kind
  }
}

/** An SNA request refused with sense data (a negative response), by the partner or locally. */
export class SenseError extends Tn3270LbError {
  readonly sense: number
  constructor (code: ErrorCode, message: string, sense: number, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'SenseError'
    this.sense = sense
  }
}

// config/

/**
 * A reload refused because `key` cannot change while the role runs (a listener's port, a host
 * link's address ...): nothing of the new config was applied (docs/operations.md "Reload").
 */
export class ReloadRefusedError extends Tn3270LbError {
  readonly key: string
  constructor (key: string, message: string) {
    super(ErrorCodes.CONFIG_RELOAD, message)
    this.name = 'ReloadRefusedError'
    this.key = key
  }
}

// observability/ (admin runtime API)

/** HTTP statuses a runtime API request may be refused with (docs/operations.md "Runtime API"). */
export type AdminRequestStatus = 400 | 404 | 405 | 409

/** A runtime API request refused with `status` and a message that says what was wrong. */
export class AdminRequestError extends Tn3270LbError {
  readonly status: AdminRequestStatus
  constructor (status: AdminRequestStatus, message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.ADMIN_REQUEST, message, options)
    this.name = 'AdminRequestError'
    this.status = status
  }
}

// proxy/

/** Why a connect to a backend gateway failed, as counted in the connect-error metric. */
export type ConnectFailureReason = 'refused' | 'timeout' | 'reset' | 'tls' | 'other'

/** A connect to a backend gateway failed (BACKEND_CONNECT); `reason` picks the next step and the metric label. */
export class BackendConnectError extends Tn3270LbError {
  readonly reason: ConnectFailureReason
  constructor (message: string, reason: ConnectFailureReason, options?: { cause?: unknown }) {
    super(ErrorCodes.BACKEND_CONNECT, message, options)
    this.name = 'BackendConnectError'
    this.reason = reason
  }
}

// tls/

/**
 * How taking a client into TLS failed: the handshake itself (`handshake`, a client certificate
 * refused included), `timeout`, the client declined TELNET START_TLS (the expired IETF draft
 * draft-altman-telnet-starttls-02) and plain is not allowed (`declined`), a broken START_TLS exchange (`protocol`), the client left (`closed`), or a TLS
 * ClientHello on a listener without TLS (`tls-on-plain`).
 */
export type TlsAcceptFailure = 'handshake' | 'timeout' | 'declined' | 'protocol' | 'closed' | 'tls-on-plain'

/** A client could not be taken into TLS (TLS_ACCEPT); `failure` picks the metric result and log line. */
export class TlsAcceptError extends Tn3270LbError {
  readonly failure: TlsAcceptFailure
  constructor (failure: TlsAcceptFailure, message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.TLS_ACCEPT, message, options)
    this.name = 'TlsAcceptError'
    this.failure = failure
  }
}

export function lbError (code: ErrorCode, message: string, cause?: unknown): Tn3270LbError {
  return new Tn3270LbError(code, message, cause === undefined ? undefined : { cause })
}

export function isLbError (err: unknown, code?: ErrorCode): err is Tn3270LbError {
  return err instanceof Tn3270LbError && (code === undefined || err.code === code)
}

/** The message of anything thrown, for logs and wrapped errors (no `as Error` casts). */
export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The stable code of anything thrown, when it has one. */
export function errorCode (err: unknown): string | undefined {
  if (err instanceof Tn3270LbError) return err.code
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}
