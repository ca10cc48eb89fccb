// Admin HTTP server shared by proxy, gateway and host simulator: its own port, separate from
// TN3270 (docs/operations.md "Processes and ports"). Built-in routes: GET / (status page),
// /status (the role's JSON plus version and uptime), /metrics, /healthz, /readyz. Roles add
// routes through `route`, which answers true if it handled the request; anything else is a 404
// with a JSON error. Every state-changing request passes the admin token check first
// (admin-auth.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import { isLoopbackHost } from '../config/index.js'
import { ErrorCodes, errorCode, errorMessage, lbError } from '../errors.js'
import { bearerMatches, isReadMethod } from './admin-auth.js'
import { buildInfo } from './build-info.js'
import type { Logger } from './logger.js'
import { STATUS_PAGE_CSP, statusPage } from './status-page.js'

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>

export interface AdminOptions {
  host: string
  port: number
  registry: Registry
  logger: Logger
  /** JSON for GET /status (version and uptime are added here). */
  /** `query`: the request's query string (the gateway lists every LU with `?lus=1`). */
  /** A promise where the status is gathered from other processes (a proxy's workers). */
  status: (query: URLSearchParams) => unknown
  /** GET /metrics text; default `registry.metrics()` (a proxy primary aggregates its workers'). */
  metrics?: () => Promise<string>
  /** GET /readyz answers 200 while this is true, else 503. */
  ready: () => boolean
  route?: RouteHandler
  /**
   * Bearer token for every request but GET/HEAD (`admin.token`), passed by every role explicitly.
   * Undefined: state changes are allowed on loopback only, and a non-loopback `host` is refused
   * at start.
   */
  token: string | undefined
}

export interface AdminServer {
  server: Server
  address: AddressInfo
  /**
   * A config reload changed `admin.token` (a rotated Secret behind `admin.tokenFile`): later
   * requests need the new one. Removing the token is refused off loopback, as at start.
   */
  setToken: (token: string | undefined) => void
  close: () => Promise<void>
}

export function sendJson (res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Reads a request body up to `limit` bytes; rejects with ADMIN_BODY_TOO_LARGE naming the limit. */
export async function readBody (req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of req) {
    total += (chunk as Buffer).length
    if (total > limit) throw lbError(ErrorCodes.ADMIN_BODY_TOO_LARGE, `request body larger than ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** The role's status with what every role reports: package version, start time, uptime. */
export function withRunInfo (status: unknown, startedAt: number, now = Date.now()): unknown {
  if (status === null || typeof status !== 'object' || Array.isArray(status)) return status
  return { ...status, version: buildInfo().version, startedAt: new Date(startedAt).toISOString(), uptimeSeconds: Math.floor((now - startedAt) / 1000) }
}

async function builtIn (opts: AdminOptions, startedAt: number, res: ServerResponse, url: URL): Promise<boolean> {
  switch (url.pathname) {
    case '/': {
      // The page lists every LU (docs/operations.md, "Status page"), as its script's ?lus=1 fetch does.
      const html = statusPage(withRunInfo(await opts.status(new URLSearchParams('lus=1')), startedAt))
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(html),
        'content-security-policy': STATUS_PAGE_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      })
      res.end(html)
      return true
    }
    case '/metrics': {
      const text = await (opts.metrics?.() ?? opts.registry.metrics())
      res.writeHead(200, { 'content-type': opts.registry.contentType })
      res.end(text)
      return true
    }
    case '/healthz':
      sendJson(res, 200, { status: 'ok' })
      return true
    case '/readyz': {
      const ready = opts.ready()
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' })
      return true
    }
    case '/status':
      sendJson(res, 200, withRunInfo(await opts.status(url.searchParams), startedAt))
      return true
  }
  return false
}

function refuseUnauthorised (res: ServerResponse): void {
  res.setHeader('www-authenticate', 'Bearer realm="tn3270-lb admin"')
  sendJson(res, 401, { error: 'missing or wrong bearer token (admin.token): state-changing admin requests need Authorization: Bearer <token>' })
}

function failed (opts: AdminOptions, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  // A malformed percent-escape (decodeURIComponent in a route) is the client's mistake, not ours.
  if (err instanceof URIError) {
    if (!res.headersSent) sendJson(res, 400, { error: `malformed percent-encoding in ${JSON.stringify(req.url)}` })
    return
  }
  opts.logger.error({ err, url: req.url }, 'admin request failed')
  if (!res.headersSent) sendJson(res, 500, { error: 'internal error' })
  else res.destroy()
}

function checkToken (host: string, token: string | undefined): string | undefined {
  const t = token === '' ? undefined : token
  if (t === undefined && !isLoopbackHost(host)) {
    throw lbError(ErrorCodes.ADMIN_TOKEN_REQUIRED,
      `config: admin.token: required when admin.host (${host}) is not a loopback address: set admin.token or admin.tokenFile (TN3270LB_ADMIN__TOKEN)`)
  }
  return t
}

export async function startAdminServer (opts: AdminOptions): Promise<AdminServer> {
  let token = checkToken(opts.host, opts.token)
  const startedAt = Date.now()
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin')
    if (isReadMethod(req.method)) {
      if (await builtIn(opts, startedAt, res, url)) return
    } else if (token !== undefined && !bearerMatches(req, token)) {
      refuseUnauthorised(res)
      return
    }
    if (opts.route !== undefined && await opts.route(req, res, url)) return
    sendJson(res, 404, { error: `no route for ${req.method ?? 'GET'} ${url.pathname}` })
  }
  const server = createServer((req, res) => { handle(req, res).catch((err: unknown) => { failed(opts, req, res, err) }) })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: unknown) => {
      const why = errorCode(err) === 'EADDRINUSE' ? 'address already in use' : errorMessage(err)
      reject(lbError(ErrorCodes.ADMIN_LISTEN, `admin: cannot listen on ${opts.host}:${opts.port} (admin.host/admin.port): ${why}`, err))
    })
    // exclusive: in a proxy worker (node:cluster) the admin port is the worker's own, not shared.
    server.listen({ port: opts.port, host: opts.host, exclusive: true }, () => { server.removeAllListeners('error'); resolve() })
  })
  server.keepAliveTimeout = 5000
  return {
    server,
    address: server.address() as AddressInfo,
    setToken: next => { token = checkToken(opts.host, next) },
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
