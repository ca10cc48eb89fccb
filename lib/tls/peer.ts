// Who a TLS client is, as the handshake showed it: protocol, cipher, and its certificate if it
// sent one (verified or not), with the subject as an RFC 4514 string, its CN and its subject
// alternative names (RFC 5280 §4.2.1.6). Identity rules and logs use these; the front proxy
// carries them to a gateway in PROXY v2 TLVs (HAProxy doc/proxy-protocol.txt §2.2.6).
import { X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'

export interface TlsClientIdentity {
  /** 'TLSv1.3', 'TLSv1.2'. */
  protocol: string
  /** OpenSSL cipher name, e.g. TLS_AES_256_GCM_SHA384. */
  cipher: string
  /** The client sent a certificate. */
  certificate: boolean
  /** It sent one and it chains to the listener's `ca`. */
  verified: boolean
  /** Why it did not verify (OpenSSL's code), when it sent one that did not. */
  verifyError?: string
  /** Subject distinguished name, RFC 4514 order (most specific first): `CN=teller-01,O=Example Bank,C=US`. */
  subject?: string
  cn?: string
  /** Subject alternative names as `DNS:host`, `IP:addr`, `email:x`, `URI:x`. */
  sans: string[]
}

/** Reads the identity off a server-side TLS socket once its handshake is done. */
export function tlsClientIdentity (socket: TLSSocket): TlsClientIdentity {
  const cert = socket.getPeerX509Certificate()
  const error = socket.authorizationError
  const id: TlsClientIdentity = {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    certificate: cert !== undefined,
    verified: cert !== undefined && socket.authorized,
    sans: [],
  }
  if (cert !== undefined && !socket.authorized && error !== undefined && error !== null) id.verifyError = String(error)
  return cert === undefined ? id : { ...id, ...certificateNames(cert) }
}

/** Subject, CN and SANs of a certificate. */
export function certificateNames (cert: X509Certificate): { subject: string, cn?: string, sans: string[] } {
  const cn = commonName(cert.subject)
  return { subject: formatDn(cert.subject), ...(cn === undefined ? {} : { cn }), sans: parseSans(cert.subjectAltName) }
}

/**
 * Node prints a name one RDN per line, most general first, values escaped, several values of
 * one RDN joined by " + " (Node.js doc/api/crypto.md x509.subject); RFC 4514 §2.1 writes the
 * RDNs in the reverse order separated by commas, multi-valued ones joined by "+".
 */
export function formatDn (nodeSubject: string): string {
  return nodeSubject.split('\n').filter(l => l !== '').reverse().map(rdn => rdn.replace(/ \+ /g, '+')).join(',')
}

/** The most specific CN of a subject, unescaped. */
export function commonName (nodeSubject: string): string | undefined {
  let cn: string | undefined
  for (const rdn of nodeSubject.split('\n')) {
    for (const ava of rdn.split(' + ')) if (ava.startsWith('CN=')) cn = ava.slice(3).replace(/\\(.)/g, '$1')
  }
  return cn
}

const SAN_ENTRY = /(DNS|IP Address|email|URI|DirName|othername|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g

/** Node's subjectAltName text (`DNS:a, IP Address:127.0.0.1`; values with commas JSON-quoted) as `DNS:a`, `IP:127.0.0.1`. */
export function parseSans (text: string | undefined): string[] {
  if (text === undefined || text === '') return []
  const out: string[] = []
  for (const m of text.matchAll(SAN_ENTRY)) {
    const kind = m[1] === 'IP Address' ? 'IP' : m[1]!
    const raw = m[2]!
    let value = raw
    if (raw.startsWith('"')) {
      try { value = String(JSON.parse(raw)) } catch { value = raw }
    }
    out.push(`${kind}:${value}`)
  }
  return out
}
