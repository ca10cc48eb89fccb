// What the gateway says about one client session: the row of GET /v1/sessions while it runs and
// the audit record when it ends (docs/operations.md "Audit records"). The record carries what
// z/OS Communications Server writes for a TN3270 server session in SMF type 119 ("z/OS
// Communications Server: IP Programmer's Guide and Reference", SC27-3659, "TN3270E Telnet server
// SNA session termination record (subtype 21)"): who the client was (address, port, TLS identity),
// where it came in (listener), what it was given (pool, LU, host, application), what it was
// (device type, TN3270 or TN3270E), when and for how long, bytes and records each way, and why it
// ended. Never screen data: counts only.
import type { TlsClientIdentity } from '../tls/index.js'

/**
 * What the client leg counts while a session runs: records from the client (`in`) and 3270
 * records delivered to it (`out`), and the application the host bound the LU to. Bytes come from
 * the client socket's own counters, so counting costs two increments per record.
 */
export class SessionActivity {
  recordsIn = 0
  recordsOut = 0
  /** The PLU name of the last BIND (sna links, "SNA Formats", GA27-3136: BIND primary LU name). */
  application: string | undefined
}

/** The client's TLS as the tls stage learnt it: at this gateway, or reported by a TLS-terminating proxy. */
export type TlsIdentity = TlsClientIdentity & { terminatedBy: 'gateway' | 'proxy' }

export interface SessionFacts {
  clientAddress: string
  clientPort: number
  /** The client address came from a trusted PROXY v2 header (HAProxy doc/proxy-protocol.txt). */
  proxied: boolean
  /** The client's TLS identity; null for a plain TCP client. */
  tls: TlsIdentity | null
  listener: string
  pool: string
  lu: string
  host: string
  /** The host application, when the host told it (BIND); null otherwise. */
  application: string | null
  deviceType: string
  mode: 'tn3270' | 'tn3270e'
  /** When the session started (the LU was assigned), ISO 8601. */
  since: string
  /** Bytes read from the client, after any PROXY header and TLS. */
  bytesIn: number
  bytesOut: number
  recordsIn: number
  recordsOut: number
}

export interface SessionAuditRecord extends Omit<SessionFacts, 'since'> {
  start: string
  end: string
  durationMs: number
  endReason: string
}

export interface SessionSource {
  client: string
  proxied: boolean
  tls: TlsIdentity | undefined
  listener: string
  lease: { lu: string, pool: string, host: string }
  session: { deviceType: string, mode: 'tn3270' | 'tn3270e', socket: { bytesRead: number, bytesWritten: number } }
  activity: SessionActivity
  startedAt: number
}

/** The GET /v1/sessions row of a session. */
export function sessionFacts (s: SessionSource): SessionFacts {
  const { address, port } = splitHostPort(s.client)
  return {
    clientAddress: address,
    clientPort: port,
    proxied: s.proxied,
    tls: s.tls ?? null,
    listener: s.listener,
    pool: s.lease.pool,
    lu: s.lease.lu,
    host: s.lease.host,
    application: s.activity.application ?? null,
    deviceType: s.session.deviceType,
    mode: s.session.mode,
    since: new Date(s.startedAt).toISOString(),
    bytesIn: s.session.socket.bytesRead,
    bytesOut: s.session.socket.bytesWritten,
    recordsIn: s.activity.recordsIn,
    recordsOut: s.activity.recordsOut,
  }
}

/** The audit record of a session that ended at `now` for `reason`. */
export function sessionAuditRecord (s: SessionSource, now: number, reason: string): SessionAuditRecord {
  const { since, ...facts } = sessionFacts(s)
  return { ...facts, start: since, end: new Date(now).toISOString(), durationMs: Math.max(0, now - s.startedAt), endReason: reason }
}

/** `192.0.2.7:4000` or `[2001:db8::1]:4000` → address and port. */
export function splitHostPort (text: string): { address: string, port: number } {
  const i = text.lastIndexOf(':')
  if (i < 0) return { address: text, port: 0 }
  const port = Number(text.slice(i + 1))
  return { address: text.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number.isInteger(port) ? port : 0 }
}
