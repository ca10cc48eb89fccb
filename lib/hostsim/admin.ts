// Host simulator admin routes, added to the shared admin server (GET /metrics /healthz /readyz
// /status come from startAdminServer):
//   POST /restart   drop all sessions and links, forget session limits, re-activate after restartDelay
//   GET  /faults    current faults
//   POST /faults    apply a fault update (faults.ts); `{"clear": true}` clears
//   DELETE /faults  clear
import type { IncomingMessage, ServerResponse } from 'node:http'
import { readBody, sendJson, type RouteHandler } from '../observability/index.js'
import type { Logger } from '../observability/index.js'
import { errorMessage } from '../errors.js'
import { faultsUpdateSchema, type Faults } from './faults.js'

export interface HostAdminTarget {
  faults: Faults
  /** Starts a restart; resolves when the links are down (re-activation follows after the delay). */
  restart: () => Promise<void>
  /** Restarts only the LU 6.2 partner (limits to zero, sessions unbound); the links stay up. */
  restartPartner: () => boolean
  restartDelayMs: number
}

export function hostAdminRoutes (target: HostAdminTarget, logger: Logger): RouteHandler {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname === '/restart') {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST')
      await readBody(req, 64 * 1024)
      logger.warn({ event: 'host_restart', restartDelayMs: target.restartDelayMs }, 'restart requested: dropping sessions and links')
      await target.restart()
      sendJson(res, 202, { restarting: true, restartDelayMs: target.restartDelayMs })
      return true
    }
    if (url.pathname === '/appc/restart') {
      // KB Q107866's case: the partner LU restarts while the connection stays up, so the gateway
      // only learns of it when its next BIND is refused (0805).
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST')
      await readBody(req, 64 * 1024)
      if (!target.restartPartner()) {
        sendJson(res, 409, { error: 'this host simulator has no LU 6.2 partner (appc.lu is not set)' })
        return true
      }
      logger.warn({ event: 'appc_partner_restart' }, 'LU 6.2 partner restarted: session limits reset to zero')
      sendJson(res, 202, { restarted: true })
      return true
    }
    if (url.pathname === '/faults') {
      if (req.method === 'GET') {
        sendJson(res, 200, target.faults.snapshot())
        return true
      }
      if (req.method === 'DELETE') {
        target.faults.clear()
        logger.info({ event: 'faults_cleared' }, 'faults cleared')
        sendJson(res, 200, target.faults.snapshot())
        return true
      }
      if (req.method !== 'POST') return methodNotAllowed(res, 'GET, POST, DELETE')
      let body: unknown
      try {
        const text = (await readBody(req, 64 * 1024)).toString('utf8')
        body = text.trim() === '' ? {} : JSON.parse(text)
      } catch (err) {
        sendJson(res, 400, { error: `body is not JSON: ${errorMessage(err)}` })
        return true
      }
      const parsed = faultsUpdateSchema.safeParse(body)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        const key = issue.path.length === 0 ? '(body)' : issue.path.join('.')
        sendJson(res, 400, { error: `${key}: ${issue.message}` })
        return true
      }
      target.faults.apply(parsed.data)
      const snapshot = target.faults.snapshot()
      logger.warn({ event: 'faults_set', faults: snapshot }, 'faults updated')
      sendJson(res, 200, snapshot)
      return true
    }
    return false
  }
}

function methodNotAllowed (res: ServerResponse, allow: string): true {
  res.setHeader('allow', allow)
  sendJson(res, 405, { error: `method not allowed; use ${allow}` })
  return true
}
