// Admin HTTP server shared by proxy, gateway and host simulator: its own port, separate from
// TN3270 (ARCHITECTURE §5). Roles add routes through `route`, which answers true if it handled
// the request; anything else is a 404 with a JSON error.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { Logger } from './logger.js'

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>

export interface AdminOptions {
  host: string
  port: number
  registry: Registry
  logger: Logger
  /** JSON for GET /status. */
  status: () => unknown
  /** GET /readyz answers 200 while this is true, else 503. */
  ready: () => boolean
  route?: RouteHandler
}

export interface AdminServer {
  server: Server
  address: AddressInfo
  close: () => Promise<void>
}

export function sendJson (res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Reads a request body up to `limit` bytes; rejects with a message naming the limit. */
export async function readBody (req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of req) {
    total += (chunk as Buffer).length
    if (total > limit) throw new Error(`request body larger than ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

export async function startAdminServer (opts: AdminOptions): Promise<AdminServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.logger.error({ err, url: req.url }, 'admin request failed')
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' })
      else res.destroy()
    })
  })
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin')
    if (req.method === 'GET' || req.method === 'HEAD') {
      switch (url.pathname) {
        case '/metrics': {
          const text = await opts.registry.metrics()
          res.writeHead(200, { 'content-type': opts.registry.contentType })
          res.end(text)
          return
        }
        case '/healthz':
          sendJson(res, 200, { status: 'ok' })
          return
        case '/readyz': {
          const ready = opts.ready()
          sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' })
          return
        }
        case '/status':
          sendJson(res, 200, opts.status())
          return
      }
    }
    if (opts.route !== undefined && await opts.route(req, res, url)) return
    sendJson(res, 404, { error: `no route for ${req.method ?? 'GET'} ${url.pathname}` })
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve() })
  })
  server.keepAliveTimeout = 5000
  return {
    server,
    address: server.address() as AddressInfo,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
