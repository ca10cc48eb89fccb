// A client for the runtime API on an admin port (docs/operations.md "Runtime API"): JSON in and
// out, an optional bearer token, one connection per request so no pooled socket outlives a test.
import { request } from 'undici'

export interface ApiAnswer { status: number, json: any, headers: Record<string, string | string[] | undefined> }

export async function api (port: number, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, token?: string): Promise<ApiAnswer> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      connection: 'close',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  const text = await res.body.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.statusCode, json, headers: res.headers }
}
