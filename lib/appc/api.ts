// Gateway API on the admin port (ARCHITECTURE §5 "POST /v1/appc/..."):
//   POST /v1/appc/{partner}/{mode}/{tp}            body sent; data received until deallocation returned
//   GET  /v1/appc/{partner}/{mode}/aping?size=&count=   APING round-trip times
//   GET  /v1/appc/sessions                           modes, limits and sessions
//   POST /v1/appc/{partner}/{mode}/cnos              operator CNOS, JSON body of limits
// Bad input → 4xx with a JSON error naming it; appc.apiToken → `Authorization: Bearer <token>`.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCodes, isLbError } from '../errors.js'
import { readBody, sendJson, type RouteHandler } from '../observability/index.js'
import type { AppcEngine } from './engine.js'

const PREFIX = '/v1/appc/'
const MAX_BODY = 1024 * 1024
const MAX_APING_SIZE = 32767
const MAX_APING_COUNT = 1000

function statusFor (err: unknown): number {
  if (isLbError(err, ErrorCodes.APPC_API)) return 404
  if (isLbError(err, ErrorCodes.APPC_ALLOCATION)) return /timeout/.test((err as Error).message) ? 504 : 503
  if (isLbError(err, ErrorCodes.APPC_CNOS)) return 502
  if (isLbError(err, ErrorCodes.APPC_CONVERSATION) || isLbError(err, ErrorCodes.APPC_MALFORMED)) return 502
  return 500
}

function fail (res: ServerResponse, err: unknown): void {
  const status = statusFor(err)
  const body: Record<string, unknown> = { error: status === 500 ? 'internal error' : (err as Error).message }
  if (isLbError(err)) body.code = err.code
  const sense = (err as { sense?: number }).sense
  if (sense !== undefined) body.sense = (sense >>> 0).toString(16).toUpperCase().padStart(8, '0')
  sendJson(res, status, body)
}

function authorised (req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined || token === '') return true
  const h = req.headers.authorization ?? ''
  const m = /^Bearer (.+)$/i.exec(h)
  if (m === null) return false
  const a = Buffer.from(m[1]!)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function intParam (url: URL, name: string, dflt: number, min: number, max: number): number | string {
  const raw = url.searchParams.get(name)
  if (raw === null || raw === '') return dflt
  if (!/^\d+$/.test(raw)) return `query parameter ${name}='${raw}' is not a whole number`
  const v = Number(raw)
  if (v < min || v > max) return `query parameter ${name}=${v} is out of range ${min}-${max}`
  return v
}

const NAME = /^[A-Za-z0-9$#@.]{1,17}$/
const TP = /^[A-Za-z0-9$#@.]{1,64}$/

export function appcRoutes (engine: AppcEngine, token: string | undefined): RouteHandler {
  return async (req, res, url) => {
    if (!url.pathname.startsWith(PREFIX)) return false
    if (!authorised(req, token)) {
      res.setHeader('www-authenticate', 'Bearer')
      sendJson(res, 401, { error: 'missing or wrong bearer token (appc.apiToken)' })
      return true
    }
    const parts = url.pathname.slice(PREFIX.length).split('/').map(decodeURIComponent)
    try {
      if (parts.length === 1 && parts[0] === 'sessions') {
        if (req.method !== 'GET') { sendJson(res, 405, { error: `${req.method ?? ''} not allowed on /v1/appc/sessions; use GET` }); return true }
        sendJson(res, 200, { modes: engine.sessions() })
        return true
      }
      if (parts.length !== 3) {
        sendJson(res, 404, { error: `no APPC route ${url.pathname}; expected /v1/appc/sessions or /v1/appc/{partner}/{mode}/{tp|aping|cnos}` })
        return true
      }
      const [partner, mode, last] = parts as [string, string, string]
      if (!NAME.test(partner)) { sendJson(res, 400, { error: `partner name '${partner}' is not a valid LU name (1-17 of A-Z 0-9 $#@.)` }); return true }
      if (!/^[A-Za-z0-9$#@]{1,8}$/.test(mode)) { sendJson(res, 400, { error: `mode name '${mode}' is not valid (1-8 of A-Z 0-9 $#@)` }); return true }
      if (last === 'aping' && req.method === 'GET') {
        const size = intParam(url, 'size', 100, 0, MAX_APING_SIZE)
        const count = intParam(url, 'count', 2, 1, MAX_APING_COUNT)
        if (typeof size === 'string' || typeof count === 'string') { sendJson(res, 400, { error: typeof size === 'string' ? size : count }); return true }
        sendJson(res, 200, await engine.aping(partner, mode, { size, count }))
        return true
      }
      if (req.method !== 'POST') { sendJson(res, 405, { error: `${req.method ?? ''} not allowed on ${url.pathname}; use POST (or GET .../aping)` }); return true }
      let body: Buffer
      try { body = await readBody(req, MAX_BODY) } catch (err) { sendJson(res, 413, { error: (err as Error).message }); return true }
      if (last === 'cnos') {
        let limits: Record<string, unknown> = {}
        if (body.length > 0) {
          try { limits = JSON.parse(body.toString('utf8')) as Record<string, unknown> } catch { sendJson(res, 400, { error: 'CNOS body is not JSON; expected {"sessionLimit":n,"minWinners":n,"minPartnerWinners":n}' }); return true }
          if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) { sendJson(res, 400, { error: 'CNOS body must be a JSON object' }); return true }
        }
        const picked: { sessionLimit?: number, minWinners?: number, minPartnerWinners?: number } = {}
        for (const [k, v] of Object.entries(limits)) {
          if (k !== 'sessionLimit' && k !== 'minWinners' && k !== 'minPartnerWinners') { sendJson(res, 400, { error: `unknown CNOS field '${k}'; expected sessionLimit, minWinners, minPartnerWinners` }); return true }
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 32767) { sendJson(res, 400, { error: `CNOS field ${k} must be an integer 0-32767, got ${JSON.stringify(v)}` }); return true }
          picked[k] = v
        }
        try {
          sendJson(res, 200, await engine.cnos(partner, mode, picked))
        } catch (err) {
          if (isLbError(err, ErrorCodes.APPC_API) && !/unknown APPC partner|has no mode/.test(err.message)) { sendJson(res, 400, { error: err.message, code: err.code }); return true }
          throw err
        }
        return true
      }
      if (!TP.test(last)) { sendJson(res, 400, { error: `TP name '${last}' is not valid (1-64 of A-Z a-z 0-9 $#@.)` }); return true }
      const type = url.searchParams.get('type') ?? 'mapped'
      if (type !== 'mapped' && type !== 'basic') { sendJson(res, 400, { error: `query parameter type='${type}' must be mapped or basic` }); return true }
      const sync = url.searchParams.get('sync') ?? 'none'
      if (sync !== 'none' && sync !== 'confirm') { sendJson(res, 400, { error: `query parameter sync='${sync}' must be none or confirm` }); return true }
      const data = await engine.transact(partner, mode, last, body, { type, syncLevel: sync })
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length })
      res.end(data)
      return true
    } catch (err) {
      fail(res, err)
      return true
    }
  }
}
