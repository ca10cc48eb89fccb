// Reads an optional PROXY protocol v2 header before TN3270 negotiation starts, so logs and
// events 700/701 name the real client behind the front proxy. A header is believed only from
// configured trusted networks (HAProxy doc/proxy-protocol.txt §2.2: accept it only from known
// sources); one from anywhere else is refused and logged. Its TLVs (§2.2) are passed on with it.
import type { Socket } from 'node:net'
import { ErrorCodes, Tn3270LbError, errorMessage, isLbError, lbError } from '../errors.js'
import { cidrMatch, parseIp, v4Mapped } from './address.js'
import { parseProxyHeader, type ProxyTlv } from './codec.js'

export interface ProxyHeaderPolicy {
  mode: 'off' | 'optional' | 'required'
  trustedSources: string[]
}

/**
 * How long `optional` mode waits for a header before treating the peer as a direct client.
 * TN3270 is server-speaks-first: a direct client sends nothing until we do, while the proxy
 * writes its header immediately after connecting.
 */
export const OPTIONAL_HEADER_WAIT_MS = 100

export interface ClientIdentity {
  /** address:port of the real client. */
  client: string
  /** Its address alone, IPv4-mapped IPv6 as IPv4: the key of per-client caps and identity rules. */
  address: string
  /** Whether it came from a PROXY header. */
  proxied: boolean
  /** The header's TLVs (HAProxy doc/proxy-protocol.txt §2.2), from a trusted source only; empty without a header. */
  tlvs: ProxyTlv[]
}

/** An address as per-client caps count it: `::ffff:10.1.2.3` (a dual-stack socket's IPv4 client) is 10.1.2.3. */
export function clientAddress (address: string | undefined): string {
  if (address === undefined) return 'unknown'
  // Only IPv6 text can be IPv4-mapped (RFC 4291 §2.5.5.2); anything else is returned as it is,
  // without parsing it (once per accepted connection).
  if (!address.includes(':')) return address
  const ip = parseIp(address)
  const v4 = ip?.family === 6 ? v4Mapped(ip.bytes) : undefined
  return v4 === undefined ? address : [...v4].join('.')
}

export function peerOf (socket: Socket): string {
  const a = socket.remoteAddress ?? 'unknown'
  return `${a.includes(':') ? `[${a}]` : a}:${socket.remotePort ?? 0}`
}

/**
 * Resolves the client identity; bytes read after the header are pushed back into the socket.
 * Rejects with PROXY_HEADER* errors whose message says what was wrong.
 */
export async function readProxyHeader (socket: Socket, policy: ProxyHeaderPolicy, timeoutMs: number): Promise<ClientIdentity> {
  const peer = peerOf(socket)
  const direct: ClientIdentity = { client: peer, address: clientAddress(socket.remoteAddress), proxied: false, tlvs: [] }
  if (policy.mode === 'off') return direct
  const trusted = cidrMatch(socket.remoteAddress ?? '', policy.trustedSources)
  if (policy.mode === 'required' && !trusted) {
    throw lbError(ErrorCodes.PROXY_HEADER_UNTRUSTED, `connection from ${peer}: PROXY header required, and only accepted from trusted networks`)
  }
  const wait = policy.mode === 'required' ? timeoutMs : OPTIONAL_HEADER_WAIT_MS
  return await new Promise<ClientIdentity>((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const finish = (err: Tn3270LbError | undefined, id?: ClientIdentity, rest?: Buffer): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
      socket.pause()
      if (rest !== undefined && rest.length > 0) socket.unshift(rest)
      if (err !== undefined) reject(err)
      else resolve(id!)
    }
    const onClose = (): void => finish(lbError(ErrorCodes.PROXY_HEADER, `connection from ${peer} closed before negotiation`))
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      let parsed
      try {
        parsed = parseProxyHeader(buf)
      } catch (err) {
        // Not a header at all: a direct client that spoke first. Fine in optional mode.
        if (isLbError(err, ErrorCodes.PROXY_HEADER_MISSING) && policy.mode === 'optional') {
          finish(undefined, direct, buf)
          return
        }
        finish(lbError(err instanceof Tn3270LbError ? err.code : ErrorCodes.PROXY_HEADER, `connection from ${peer}: ${errorMessage(err)}`, err))
        return
      }
      if (parsed.needMore === true) return
      if (!trusted) {
        finish(lbError(ErrorCodes.PROXY_HEADER_UNTRUSTED, `connection from ${peer}: PROXY header from an untrusted address refused`))
        return
      }
      const h = parsed.header
      const src = h.command === 'proxy' && h.family !== 'unspec' && h.family !== 'unix' ? h.src : undefined
      const client = src === undefined ? peer : `${src.address.includes(':') ? `[${src.address}]` : src.address}:${src.port}`
      const address = src === undefined ? direct.address : clientAddress(src.address)
      finish(undefined, { client, address, proxied: client !== peer, tlvs: h.tlvs }, buf.subarray(parsed.consumed))
    }
    const timer = setTimeout(() => {
      if (buf.length > 0) {
        finish(lbError(ErrorCodes.PROXY_HEADER, `connection from ${peer}: incomplete PROXY header after ${wait} ms`))
      } else if (policy.mode === 'required') {
        finish(lbError(ErrorCodes.PROXY_HEADER_MISSING, `connection from ${peer}: no PROXY header within ${wait} ms`))
      } else {
        finish(undefined, direct)
      }
    }, wait)
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}
