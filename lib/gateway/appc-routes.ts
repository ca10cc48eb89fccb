// The APPC part of the gateway's admin API (docs/operations.md), on top of AppcEngine's public
// methods only:
//   POST /v1/appc/{partner}/{mode}/{tp}            body sent; data received until deallocation returned
//   GET  /v1/appc/{partner}/{mode}/aping?size=&count=   APING round-trip times
//   GET  /v1/appc/sessions                           modes, limits and sessions
//   POST /v1/appc/{partner}/{mode}/cnos              operator CNOS, JSON body of limits
// Bad input → 4xx with a JSON error naming it. The admin server checks `admin.token` on every
// POST before a route runs (docs/operations.md "Admin token"); reads stay open like /status.
// Names follow "SNA LU 6.2 Reference: Peer Protocols", SC31-6808 (LU names up to 17 with the
// network qualifier, mode names up to 8).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AppcEngine } from '../appc/index.js'
import { errorMessage, ErrorCodes, isLbError, SenseError } from '../errors.js'
import { readBody, sendJson, type RouteHandler } from '../observability/index.js'

const PREFIX = '/v1/appc/'
const MAX_BODY = 1024 * 1024
const MAX_APING_SIZE = 32767
const MAX_APING_COUNT = 1000
const NAME = /^[A-Za-z0-9$#@.]{1,17}$/
const MODE = /^[A-Za-z0-9$#@]{1,8}$/
const TP = /^[A-Za-z0-9$#@.]{1,64}$/
const CNOS_FIELDS = ['sessionLimit', 'minWinners', 'minPartnerWinners'] as const

type CnosLimits = Partial<Record<(typeof CNOS_FIELDS)[number], number>>
/** One request under /v1/appc/{partner}/{mode}/{last}. */
interface Target { partner: string, mode: string, last: string }

export function appcRoutes (engine: AppcEngine): RouteHandler {
  return async (req, res, url) => {
    if (!url.pathname.startsWith(PREFIX)) return false
    try {
      await route(engine, req, res, url)
    } catch (err) {
      fail(res, err)
    }
    return true
  }
}

async function route (engine: AppcEngine, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const parts = pathParts(url.pathname.slice(PREFIX.length))
  if (typeof parts === 'string') { sendJson(res, 400, { error: parts }); return }
  if (parts.length === 1 && parts[0] === 'sessions') {
    if (req.method !== 'GET') { sendJson(res, 405, { error: `${req.method ?? ''} not allowed on /v1/appc/sessions; use GET` }); return }
    sendJson(res, 200, { modes: engine.sessions() })
    return
  }
  if (parts.length !== 3) {
    sendJson(res, 404, { error: `no APPC route ${url.pathname}; expected /v1/appc/sessions or /v1/appc/{partner}/{mode}/{tp|aping|cnos}` })
    return
  }
  const [partner, mode, last] = parts as [string, string, string]
  if (!NAME.test(partner)) { sendJson(res, 400, { error: `partner name '${partner}' is not a valid LU name (1-17 of A-Z 0-9 $#@.)` }); return }
  if (!MODE.test(mode)) { sendJson(res, 400, { error: `mode name '${mode}' is not valid (1-8 of A-Z 0-9 $#@)` }); return }
  const target = { partner, mode, last }
  if (last === 'aping' && req.method === 'GET') { await aping(engine, res, url, target); return }
  if (req.method !== 'POST') { sendJson(res, 405, { error: `${req.method ?? ''} not allowed on ${url.pathname}; use POST (or GET .../aping)` }); return }
  let body: Buffer
  try { body = await readBody(req, MAX_BODY) } catch (err) { sendJson(res, 413, { error: errorMessage(err) }); return }
  if (last === 'cnos') await cnos(engine, res, target, body)
  else await transact(engine, res, url, target, body)
}

/** Path segments, percent-decoded; a message when one is not valid percent-encoding (RFC 3986 §2.1). */
function pathParts (path: string): string[] | string {
  const out: string[] = []
  for (const raw of path.split('/')) {
    try {
      out.push(decodeURIComponent(raw))
    } catch {
      return `path segment '${raw}' is not valid percent-encoding (RFC 3986 §2.1)`
    }
  }
  return out
}

async function aping (engine: AppcEngine, res: ServerResponse, url: URL, { partner, mode }: Target): Promise<void> {
  const size = intParam(url, 'size', 100, 0, MAX_APING_SIZE)
  const count = intParam(url, 'count', 2, 1, MAX_APING_COUNT)
  if (typeof size === 'string' || typeof count === 'string') { sendJson(res, 400, { error: typeof size === 'string' ? size : count }); return }
  sendJson(res, 200, await engine.aping(partner, mode, { size, count }))
}

async function cnos (engine: AppcEngine, res: ServerResponse, { partner, mode }: Target, body: Buffer): Promise<void> {
  const limits = cnosLimits(body)
  if (typeof limits === 'string') { sendJson(res, 400, { error: limits }); return }
  try {
    sendJson(res, 200, await engine.cnos(partner, mode, limits))
  } catch (err) {
    // Limits the engine refuses are bad input; an unknown partner or mode is "not found" (fail()).
    if (isLbError(err, ErrorCodes.APPC_API) && !/unknown APPC partner|has no mode/.test(err.message)) { sendJson(res, 400, { error: err.message, code: err.code }); return }
    throw err
  }
}

/** The CNOS limits of a JSON body (empty = the configured ones), or what is wrong with it. */
function cnosLimits (body: Buffer): CnosLimits | string {
  if (body.length === 0) return {}
  let parsed: unknown
  try { parsed = JSON.parse(body.toString('utf8')) } catch { return 'CNOS body is not JSON; expected {"sessionLimit":n,"minWinners":n,"minPartnerWinners":n}' }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'CNOS body must be a JSON object'
  const picked: CnosLimits = {}
  for (const [k, v] of Object.entries(parsed)) {
    const field = CNOS_FIELDS.find(f => f === k)
    if (field === undefined) return `unknown CNOS field '${k}'; expected sessionLimit, minWinners, minPartnerWinners`
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 32767) return `CNOS field ${k} must be an integer 0-32767, got ${JSON.stringify(v)}`
    picked[field] = v
  }
  return picked
}

async function transact (engine: AppcEngine, res: ServerResponse, url: URL, { partner, mode, last }: Target, body: Buffer): Promise<void> {
  if (!TP.test(last)) { sendJson(res, 400, { error: `TP name '${last}' is not valid (1-64 of A-Z a-z 0-9 $#@.)` }); return }
  const type = url.searchParams.get('type') ?? 'mapped'
  if (type !== 'mapped' && type !== 'basic') { sendJson(res, 400, { error: `query parameter type='${type}' must be mapped or basic` }); return }
  const sync = url.searchParams.get('sync') ?? 'none'
  if (sync !== 'none' && sync !== 'confirm') { sendJson(res, 400, { error: `query parameter sync='${sync}' must be none or confirm` }); return }
  const data = await engine.transact(partner, mode, last, body, { type, syncLevel: sync })
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length })
  res.end(data)
}

function statusFor (err: unknown): number {
  if (isLbError(err, ErrorCodes.APPC_API)) return 404
  if (isLbError(err, ErrorCodes.APPC_ALLOCATION)) return /timeout/.test(err.message) ? 504 : 503
  if (isLbError(err, ErrorCodes.APPC_CNOS)) return 502
  if (isLbError(err, ErrorCodes.APPC_CONVERSATION) || isLbError(err, ErrorCodes.APPC_MALFORMED)) return 502
  return 500
}

function fail (res: ServerResponse, err: unknown): void {
  const status = statusFor(err)
  const body: Record<string, unknown> = { error: status === 500 ? 'internal error' : errorMessage(err) }
  if (isLbError(err)) body.code = err.code
  const sense = senseOf(err)
  if (sense !== undefined) body.sense = (sense >>> 0).toString(16).toUpperCase().padStart(8, '0')
  sendJson(res, status, body)
}

/** SNA sense data carried by an APPC error (a SenseError, or an error with a numeric `sense`). */
function senseOf (err: unknown): number | undefined {
  if (err instanceof SenseError) return err.sense
  if (typeof err !== 'object' || err === null || !('sense' in err)) return undefined
  return typeof err.sense === 'number' ? err.sense : undefined
}

function intParam (url: URL, name: string, dflt: number, min: number, max: number): number | string {
  const raw = url.searchParams.get(name)
  if (raw === null || raw === '') return dflt
  if (!/^\d+$/.test(raw)) return `query parameter ${name}='${raw}' is not a whole number`
  const v = Number(raw)
  if (v < min || v > max) return `query parameter ${name}=${v} is out of range ${min}-${max}`
  return v
}
