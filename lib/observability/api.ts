// The runtime API's plumbing (docs/operations.md "Runtime API"), shared by gateway and proxy: a
// table of routes under /v1/..., each a method, a path pattern with `:name` segments and a
// handler that takes the decoded parameters and the JSON body and returns the JSON answer.
// Refusals are AdminRequestError (400 bad input, 404 unknown name, 409 wrong state) and config
// errors of a reload (409), answered as `{ "error": "...", "code": "..." }`; anything else is the
// admin server's 500. The token check for state changes happens before (admin.ts): a route here
// never sees an unauthorised POST. Like HAProxy's runtime API (doc/management.txt "Unix Socket
// commands") the answers say what changed; unlike it, every request and answer is JSON.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { AdminRequestError, ErrorCodes, errorMessage, isLbError, ReloadRefusedError } from '../errors.js'
import { readBody, sendJson, type RouteHandler } from './admin.js'

export type ApiMethod = 'GET' | 'POST'

export interface ApiRequest {
  /** The `:name` segments of the path, percent-decoded. */
  params: Record<string, string>
  query: URLSearchParams
  /** The JSON body of a POST (`{}` when empty); undefined for GET. */
  body: Record<string, unknown> | undefined
}

export interface ApiRoute {
  method: ApiMethod
  /** e.g. `/v1/pools/:pool/disable`. */
  path: string
  handle: (req: ApiRequest) => unknown
}

/** Largest JSON body a runtime request may carry. */
const MAX_BODY = 64 * 1024

/** A 400 naming what is wrong with the request. */
export const badRequest = (message: string): AdminRequestError => new AdminRequestError(400, message)
/** A 404 naming what was not found. */
export const notFound = (message: string): AdminRequestError => new AdminRequestError(404, message)
/** A 409: the request is understood but the current state does not allow it. */
export const conflict = (message: string): AdminRequestError => new AdminRequestError(409, message)

/** The routes as one admin RouteHandler; paths no route knows fall through (the server's 404). */
export function apiRoutes (routes: readonly ApiRoute[]): RouteHandler {
  const compiled = routes.map(r => ({ route: r, segments: r.path.split('/') }))
  return async (req, res, url) => {
    const path = url.pathname.split('/')
    const matches = compiled.filter(c => matchPath(c.segments, path))
    if (matches.length === 0) return false
    try {
      const hit = matches.find(c => c.route.method === (req.method ?? 'GET'))
      if (hit === undefined) {
        const allow = [...new Set(matches.map(c => c.route.method))].join(', ')
        res.setHeader('allow', allow)
        throw new AdminRequestError(405, `${req.method ?? 'GET'} is not allowed on ${url.pathname}; use ${allow}`)
      }
      const params = decodeParams(hit.segments, path)
      const body = hit.route.method === 'GET' ? undefined : await jsonBody(req)
      sendJson(res, 200, await hit.route.handle({ params, query: url.searchParams, body }))
    } catch (err) {
      if (!refuse(res, err)) throw err
    }
    return true
  }
}

/** Answers a refusal; false for anything that is not one (the server answers 500). */
function refuse (res: ServerResponse, err: unknown): boolean {
  if (err instanceof AdminRequestError) {
    sendJson(res, err.status, { error: err.message, code: err.code })
    return true
  }
  if (err instanceof ReloadRefusedError) {
    sendJson(res, 409, { error: err.message, code: err.code, key: err.key })
    return true
  }
  // A reload whose config file does not load or validate: the running config stays.
  if (isLbError(err) && err.code.startsWith('TN3270LB_ERR_CONFIG_')) {
    sendJson(res, 409, { error: err.message, code: err.code })
    return true
  }
  return false
}

function matchPath (pattern: string[], path: string[]): boolean {
  return pattern.length === path.length && pattern.every((p, i) => p.startsWith(':') ? path[i] !== '' : p === path[i])
}

function decodeParams (pattern: string[], path: string[]): Record<string, string> {
  const params: Record<string, string> = {}
  pattern.forEach((p, i) => {
    if (!p.startsWith(':')) return
    try {
      params[p.slice(1)] = decodeURIComponent(path[i]!)
    } catch {
      throw badRequest(`path segment ${JSON.stringify(path[i])} is not valid percent-encoding (RFC 3986 §2.1)`)
    }
  })
  return params
}

async function jsonBody (req: IncomingMessage): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = (await readBody(req, MAX_BODY)).toString('utf8')
  } catch (err) {
    if (isLbError(err, ErrorCodes.ADMIN_BODY_TOO_LARGE)) throw badRequest(errorMessage(err))
    throw err
  }
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw badRequest(`body is not JSON: ${errorMessage(err)}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('body must be a JSON object')
  return parsed as Record<string, unknown>
}

/**
 * Checks a body has only the keys a route takes: a misspelt key is refused, never ignored
 * (a `{"weigth": 0}` that did nothing would be worse than an error).
 */
export function onlyKeys (body: Record<string, unknown> | undefined, allowed: readonly string[]): Record<string, unknown> {
  const b = body ?? {}
  const extra = Object.keys(b).find(k => !allowed.includes(k))
  if (extra !== undefined) {
    throw badRequest(allowed.length === 0 ? `unexpected body key ${JSON.stringify(extra)}; this request takes no body` : `unknown body key ${JSON.stringify(extra)}; expected ${allowed.join(', ')}`)
  }
  return b
}
