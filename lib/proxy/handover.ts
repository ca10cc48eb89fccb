// One hand-over attempt (docs/routing.md): connect to the chosen gateway, send the PROXY v2
// header with the client's address and the negotiation snapshot in the application TLV 0xE0
// (HAProxy doc/proxy-protocol.txt §2.2, §2.2.7), and read the gateway's answer to the request
// (answer.ts) before anything reaches the client. Accepted: the socket comes back paused with
// the answer's bytes, which the caller forwards. Anything else is a refusal the caller retries
// elsewhere: the client has seen nothing of it.
import type net from 'node:net'
import type { Clock } from '../clock.js'
import { BackendConnectError, errorCode, errorMessage, type ConnectFailureReason } from '../errors.js'
import { customTlv, encodeProxyV2, PP2_TYPE_TN3270_NEGOTIATION, type ProxyEndpoint, type ProxyTlv } from '../proxy-protocol/index.js'
import { startClientTls, type TlsClientMaterial } from '../tls/index.js'
import { encodeSnapshot, type NegotiationSnapshot, type RejectReason } from '../tn3270/index.js'
import { AnswerReader, type AnswerRefusal } from './answer.js'
import { connectOnce } from './connect.js'

export interface HandoverTarget {
  host: string
  port: number
  /** The connect and the answer together, in ms. */
  timeout: number
  /** TCP keepalive initial delay in ms; 0 = off. */
  keepAlive: number
  clock: Clock
  client: ProxyEndpoint
  local: ProxyEndpoint
  snapshot: NegotiationSnapshot
  /** More TLVs for the header: the client's TLS facts when this proxy terminated it (doc/proxy-protocol.txt §2.2.6). */
  tlvs?: readonly ProxyTlv[]
  /** TLS toward this gateway after the header (re-encryption, mutual TLS between the tiers). */
  tls?: TlsClientMaterial
  /** The client left: give up at once. */
  signal: AbortSignal
}

export type HandoverResult =
  | { ok: true, socket: net.Socket, answer: Buffer, lu?: string, connectMs: number }
  | { ok: false, stage: 'connect', reason: ConnectFailureReason, message: string }
  | { ok: false, stage: 'answer', why: AnswerRefusal, reason?: RejectReason, message: string, connectMs: number }
  | { ok: false, stage: 'aborted' }

/** The PROXY v2 header that carries the client, its TLS facts and its negotiation to the gateway. */
export function handoverHeader (client: ProxyEndpoint, local: ProxyEndpoint, snapshot: NegotiationSnapshot, tlvs: readonly ProxyTlv[] = []): Buffer {
  return encodeProxyV2({ src: client, dst: local, tlvs: [...tlvs, customTlv(PP2_TYPE_TN3270_NEGOTIATION, encodeSnapshot(snapshot))] })
}

export async function handOver (t: HandoverTarget): Promise<HandoverResult> {
  if (t.signal.aborted) return { ok: false, stage: 'aborted' }
  const started = t.clock.now()
  let socket: net.Socket
  try {
    socket = await connectOnce({ host: t.host, port: t.port, timeout: t.timeout, keepAlive: t.keepAlive, clock: t.clock })
  } catch (err) {
    return { ok: false, stage: 'connect', reason: err instanceof BackendConnectError ? err.reason : 'other', message: errorMessage(err) }
  }
  const connectMs = t.clock.now() - started
  if (t.signal.aborted) { socket.destroy(); return { ok: false, stage: 'aborted' } }
  // The header goes first and in plaintext; a gateway listener with TLS reads it before its handshake.
  socket.write(handoverHeader(t.client, t.local, t.snapshot, t.tlvs))
  if (t.tls !== undefined) {
    try {
      socket = await startClientTls(socket, t.host, t.tls, Math.max(1, t.timeout - connectMs), t.clock)
    } catch (err) {
      socket.destroy()
      return { ok: false, stage: 'connect', reason: 'tls', message: errorMessage(err) }
    }
  }
  return await readAnswer(socket, t, Math.max(1, t.timeout - (t.clock.now() - started)), connectMs)
}

/** Waits for the gateway's answer; the socket is paused and left to the caller only when accepted. */
function readAnswer (socket: net.Socket, t: HandoverTarget, ms: number, connectMs: number): Promise<HandoverResult> {
  return new Promise((resolve) => {
    const reader = new AnswerReader()
    const chunks: Buffer[] = []
    const where = `${t.host}:${t.port}`
    const finish = (r: HandoverResult): void => {
      t.clock.clearTimeout(timer)
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError)
      t.signal.removeEventListener('abort', onAbort)
      socket.pause()
      // Accepted: errors are the new owner's, who attaches its handlers next; until then none may throw.
      if (r.ok) socket.on('error', () => {})
      else socket.destroy()
      resolve(r)
    }
    const refused = (why: AnswerRefusal, message: string, reason?: RejectReason): void =>
      finish({ ok: false, stage: 'answer', why, message: `${where}: ${message}`, connectMs, ...(reason === undefined ? {} : { reason }) })
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      const v = reader.feed(chunk)
      if (v === undefined) return
      if (v.kind === 'accepted') finish({ ok: true, socket, answer: Buffer.concat(chunks), connectMs, ...(v.lu === undefined ? {} : { lu: v.lu }) })
      else refused(v.why, v.message, v.why === 'reject' ? v.reason : undefined)
    }
    let error: Error | undefined
    const onError = (err: Error): void => { error = err }
    const onEnd = (): void => refused('closed', error === undefined ? 'closed the connection before answering' : `failed before answering: ${errorCode(error) ?? errorMessage(error)}`)
    const onAbort = (): void => finish({ ok: false, stage: 'aborted' })
    const timer = t.clock.setTimeout(() => refused('timeout', `no answer within ${ms} ms`), ms)
    socket.on('data', onData).once('end', onEnd).once('close', onEnd).on('error', onError)
    t.signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A failed answer as the passive-health failure it counts as: a gateway that closes (like an
 * early close, connect.ts), stalls or speaks out of turn is ill; a refusal is only capacity.
 */
export function healthReason (why: AnswerRefusal): ConnectFailureReason | undefined {
  switch (why) {
    case 'closed': return 'reset'
    case 'timeout': return 'timeout'
    case 'protocol': return 'other'
    default: return undefined
  }
}
