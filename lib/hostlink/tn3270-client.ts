// The `tn3270` host link (docs/internals.md §hostlink/): the gateway as a TN3270 / TN3270E
// terminal of a real host (z/OS TN3270E server, Hercules console server, ...). The protocol is
// lib/tn3270's client negotiation and session; this file adds the transport (TCP or TLS,
// tn3270-transport.ts), the refusal a host paints on its first screen instead of refusing in
// the protocol, and the link-level verdict a failed connect gets: the host is unreachable, or
// refused this resource, or closed early, or broke the protocol, or the caller gave up.
//
// Nothing here knows about LU pools or clients: the gateway's host side (gateway/tn3270-host.ts)
// decides what a refusal means for its resources.
import { decode as ebcdicDecode } from '../datastream/index.js'
import { errorMessage, ErrorCodes, HostConnectError, NegotiationError, type HostFailureKind } from '../errors.js'
import { silentLogger, type Logger } from '../observability/index.js'
import {
  negotiateClient, Tn3270ClientSession,
  type SessionData, type SessionResponse, type Tn3270ClientSessionEvents, type Tn3270eFunction,
} from '../tn3270/index.js'
import { openTn3270Socket, type Tn3270Endpoint } from './tn3270-transport.js'

export type { HostFailureKind }

export interface Tn3270ClientOptions extends Tn3270Endpoint {
  /** Budget for TCP (+TLS) connect and, again, for the whole telnet negotiation, ms. */
  connectTimeout: number
  /** Terminal / device type, e.g. IBM-3278-2-E. */
  terminalType: string
  /** Host-side resource (z/OS LU or pool, Hercules device number or group); undefined = generic. */
  resource?: string
  /**
   * `connect`: accept TN3270E when the host offers it and name the resource in DEVICE-TYPE
   * REQUEST ... CONNECT (RFC 2355 §7.1.1); a host without TN3270E still gets `TYPE@NAME`.
   * `ttype`: refuse TN3270E (WONT) and always use `TYPE@NAME` (Hercules honours it, z/OS ignores it).
   */
  luRequest: 'connect' | 'ttype'
  /** Functions asked of a TN3270E host (RFC 2355 §7.2); default RESPONSES. BIND-IMAGE is never asked. */
  functions?: Tn3270eFunction[]
  /**
   * Wait this long (ms) after negotiation for the host's first record and check it for a refusal
   * painted on the screen; 0 = do not wait. The record is then handed over in `pending`.
   */
  firstRecordTimeout?: number
  logger?: Logger
  maxRecord?: number
  maxSubneg?: number
  closeGraceMs?: number
}

/** The upstream session: lib/tn3270's client session (the name the gateway has used since the link began). */
export { Tn3270ClientSession as Tn3270HostSession }
export type Tn3270HostSessionEvents = Tn3270ClientSessionEvents
/** A record from the host: the same shape as a client's (SEQ and RESPONSE-FLAG 0 on a plain host). */
export type HostData = SessionData
export type HostResponse = SessionResponse

export function isHostConnectError (err: unknown): err is HostConnectError {
  return err instanceof HostConnectError
}

/**
 * Text a host paints instead of a session: Hercules 3.13 "Connection rejected, no available 3270
 * device" / "Connection rejected, device 0010 unavailable" (measured; docs/tn3270.md). Returns
 * the message or undefined. The record is decoded as CP037 text (orders decode to junk, which
 * cannot match).
 */
export function screenRefusal (record: Uint8Array): string | undefined {
  const m = /Connection rejected[ ,A-Za-z0-9]{0,70}/i.exec(ebcdicDecode(record))
  return m === null ? undefined : m[0].replace(/\s+/g, ' ').trim()
}

/**
 * Connect to a TN3270 host and negotiate. Resolves with a session in 3270 mode; rejects with a
 * HostConnectError whose `kind` says whether the host was unreachable, refused the resource
 * (TN3270E REJECT, a re-sent TTYPE SEND, a refusal screen), closed before a screen, broke the
 * protocol, or the caller aborted.
 */
export async function connectTn3270Host (opts: Tn3270ClientOptions): Promise<Tn3270ClientSession> {
  const where = `${opts.host}:${opts.port}`
  const logger = (opts.logger ?? silentLogger()).child({ upstream: where, resource: opts.resource })
  const socket = await openTn3270Socket(opts)
  try {
    return await negotiateClient(socket, {
      terminalType: opts.terminalType,
      ...(opts.resource === undefined ? {} : { resource: opts.resource }),
      tn3270e: opts.luRequest === 'connect',
      ...(opts.functions === undefined ? {} : { functions: opts.functions }),
      timeout: opts.connectTimeout,
      firstRecordTimeout: opts.firstRecordTimeout ?? 0,
      screenCheck: screenRefusal,
      peer: where,
      logger,
      ...(opts.clock === undefined ? {} : { clock: opts.clock }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      ...(opts.maxRecord === undefined ? {} : { maxRecord: opts.maxRecord }),
      ...(opts.maxSubneg === undefined ? {} : { maxSubneg: opts.maxSubneg }),
      ...(opts.closeGraceMs === undefined ? {} : { closeGraceMs: opts.closeGraceMs }),
    })
  } catch (err) {
    throw hostFailure(err, where)
  }
}

/** The link-level verdict on a failed negotiation (what the gateway's host side acts on). */
function hostFailure (err: unknown, where: string): HostConnectError {
  const cause = { cause: err }
  if (!(err instanceof NegotiationError)) {
    return new HostConnectError(ErrorCodes.TN3270_HOST_NEGOTIATION, 'protocol', `host ${where} broke the protocol: ${errorMessage(err)}`, cause)
  }
  switch (err.failure) {
    case 'aborted': return new HostConnectError(ErrorCodes.TN3270_HOST_UNREACHABLE, 'aborted', err.message, cause)
    case 'refused': return new HostConnectError(ErrorCodes.TN3270_HOST_REJECTED, 'rejected', err.message, cause)
    case 'protocol': return new HostConnectError(ErrorCodes.TN3270_HOST_NEGOTIATION, 'protocol', `host ${where} broke the protocol: ${err.code}: ${err.message}`, cause)
    // A host that closes after negotiating but before any screen refused the session; earlier, it failed to negotiate.
    case 'closed': return new HostConnectError(err.phase === 'first-record' ? ErrorCodes.TN3270_HOST_REJECTED : ErrorCodes.TN3270_HOST_NEGOTIATION, 'closed-early', err.message, cause)
    case 'timeout': return new HostConnectError(ErrorCodes.TN3270_HOST_NEGOTIATION, 'unreachable', err.message, cause)
  }
}
