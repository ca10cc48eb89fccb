// Is this the start of a TLS ClientHello? The first bytes of a TLS connection are a handshake
// record (RFC 8446 §5.1 TLSPlaintext: ContentType handshake(22), legacy_record_version 0x03xx;
// RFC 5246 §6.2.1 for TLS 1.2 and earlier). A TN3270 client sends nothing before the server's
// first telnet command (RFC 1576, RFC 2355 §7.1), and telnet commands start with IAC (255), so
// three bytes tell the two apart. Pure.

/** RFC 8446 §5.1: ContentType handshake. */
const HANDSHAKE_RECORD = 0x16
/** The major version byte of every SSL 3.0 / TLS record version (0x0300–0x0304). */
const TLS_MAJOR = 0x03
const MAX_MINOR = 0x04

export type HelloCheck = 'hello' | 'not-hello' | 'need-more'

/** 'hello' when `head` starts with a TLS handshake record, 'need-more' while too short to tell. */
export function checkClientHello (head: Uint8Array): HelloCheck {
  if (head.length === 0) return 'need-more'
  if (head[0] !== HANDSHAKE_RECORD) return 'not-hello'
  if (head.length === 1) return 'need-more'
  if (head[1] !== TLS_MAJOR) return 'not-hello'
  if (head.length === 2) return 'need-more'
  return head[2]! <= MAX_MINOR ? 'hello' : 'not-hello'
}
