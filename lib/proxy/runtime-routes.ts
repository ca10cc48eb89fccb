// The proxy's runtime API on its admin port (docs/operations.md "Runtime API"), HAProxy's runtime
// commands `set server <b>/<s> state ready|drain|maint` and `set server <b>/<s> weight`
// (doc/management.txt) as JSON over HTTP:
//   GET  /v1/backends                     every backend with its state, weight and eligibility
//   POST /v1/backends/{backend}/drain     no new clients; sessions continue; /status still polled
//   POST /v1/backends/{backend}/disable   maintenance: no new clients, no polling; sessions continue
//   POST /v1/backends/{backend}/enable    back in rotation (a polled one once its /status answers)
//   POST /v1/backends/{backend}/weight    {"weight": 0-256}, until a reload changes the configured one
//   POST /v1/reload                       re-read the config and apply what can change live
// {backend} is the backend's name, the `backend` metric label, percent-encoded (a DNS backend is
// `<dns name>/<ip>:<port>`); `?listener=NAME` picks one when two listeners have the same name.
import type { ReloadReport } from '../config/index.js'
import { apiRoutes, badRequest, conflict, notFound, onlyKeys, type ApiRequest, type ApiRoute, type RouteHandler } from '../observability/index.js'
import type { Backend, BackendAdmin } from './backend.js'
import type { Frontend } from './frontend.js'
import type { BackendStatus } from './pool.js'

export interface ProxyRuntime {
  frontends: readonly Frontend[]
  reload: () => ReloadReport
}

const VERBS: Record<'drain' | 'disable' | 'enable', BackendAdmin> = { drain: 'drain', disable: 'maint', enable: 'ready' }

export function proxyRuntimeRoutes (rt: ProxyRuntime): RouteHandler {
  const routes: ApiRoute[] = [
    { method: 'GET', path: '/v1/backends', handle: () => ({ backends: rt.frontends.flatMap(f => f.backendStatus()) }) },
    ...Object.entries(VERBS).map(([verb, admin]): ApiRoute => ({
      method: 'POST',
      path: `/v1/backends/:backend/${verb}`,
      handle: req => {
        onlyKeys(req.body, [])
        const { frontend, backend } = find(rt, req)
        const before = frontend.pool.setAdmin(backend, admin)
        return { ...answer(frontend, backend), changed: before !== admin }
      },
    })),
    {
      method: 'POST',
      path: '/v1/backends/:backend/weight',
      handle: req => {
        const { weight } = onlyKeys(req.body, ['weight'])
        if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 256) {
          throw badRequest(`weight must be a whole number from 0 to 256, got ${JSON.stringify(weight)}`)
        }
        const { frontend, backend } = find(rt, req)
        frontend.pool.setWeight(backend, weight)
        return answer(frontend, backend)
      },
    },
    { method: 'POST', path: '/v1/reload', handle: ({ body }) => { onlyKeys(body, []); return rt.reload() } },
  ]
  return apiRoutes(routes)
}

function answer (frontend: Frontend, backend: Backend): BackendStatus & { listener: string } {
  return frontend.backendStatus().find(b => b.name === backend.id)!
}

/** The backend a request names, in the listener `?listener=` names or the only one that has it. */
function find (rt: ProxyRuntime, req: ApiRequest): { frontend: Frontend, backend: Backend } {
  const id = req.params.backend!
  const listener = req.query.get('listener')
  const frontends = listener === null ? rt.frontends : rt.frontends.filter(f => f.name === listener)
  if (listener !== null && frontends.length === 0) throw notFound(`no listener ${JSON.stringify(listener)}; listeners are ${rt.frontends.map(f => f.name).join(', ')}`)
  const hits = frontends.flatMap(frontend => {
    const backend = frontend.backend(id)
    return backend === undefined ? [] : [{ frontend, backend }]
  })
  if (hits.length === 0) {
    const names = rt.frontends.flatMap(f => f.backendStatus().map(b => b.name))
    throw notFound(`no backend ${JSON.stringify(id)}${listener === null ? '' : ` in listener ${listener}`}; backends are ${names.join(', ') || 'none'}`)
  }
  if (hits.length > 1) throw conflict(`backend ${JSON.stringify(id)} is in listeners ${hits.map(h => h.frontend.name).join(', ')}; add ?listener=NAME`)
  const hit = hits[0]!
  if (hit.backend.removed) throw conflict(`backend ${JSON.stringify(id)} has left the configuration or DNS; it takes no new clients and its ${hit.backend.sessions} sessions are finishing`)
  return hit
}
