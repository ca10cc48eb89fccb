// Who may change state through an admin port. Reads (GET, HEAD) stay open; every other method
// needs `Authorization: Bearer <admin.token>` (RFC 6750 §2.1). Without a token configured, state
// changes are allowed only while the admin server listens on loopback, where only this machine
// reaches it; anywhere else a token is required to start at all (docs/operations.md "Admin
// token").
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export function isReadMethod (method: string | undefined): boolean {
  return method === undefined || method === 'GET' || method === 'HEAD'
}

/**
 * True if the request carries the token. Compared in constant time over equal-length digests so
 * neither the content nor the length of the token leaks through timing.
 */
export function bearerMatches (req: IncomingMessage, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  const given = Buffer.from(m?.[1] ?? '', 'utf8')
  const want = Buffer.from(token, 'utf8')
  const a = Buffer.alloc(Math.max(given.length, want.length, 1))
  const b = Buffer.alloc(a.length)
  given.copy(a)
  want.copy(b)
  return timingSafeEqual(a, b) && given.length === want.length && m !== null
}
