// The gateway's runtime API on its admin port (docs/operations.md "Runtime API"), the operator
// commands z/OS gives as VARY NET,INACT / VARY NET,ACT and DISPLAY NET,SESSIONS ("z/OS
// Communications Server: SNA Operation", SC27-3673):
//   GET  /v1/sessions                 client sessions with their LU, pool, host and counts
//   GET  /v1/pools                    pools with each LU's state and why it is unavailable
//   POST /v1/pools/{pool}/disable     no new sessions from the pool; open ones finish
//   POST /v1/pools/{pool}/enable
//   POST /v1/lus/{lu}/disable         the same for one LU
//   POST /v1/lus/{lu}/enable
//   POST /v1/reload                   re-read the config and apply what can change live
// A disabled LU or pool counts as unavailable for CloseListenSocket (KB Q101235), /status and
// tn3270_gateway_lus. POSTs need the admin token (the admin server checks it first).
import { apiRoutes, conflict, notFound, onlyKeys, type ApiRoute, type Logger, type RouteHandler } from '../observability/index.js'
import type { AdminState, LuRegistry } from './lu-pool.js'
import type { ReloadReport } from './reload.js'
import type { SessionFacts } from './session-record.js'

export interface GatewayRuntime {
  lus: LuRegistry
  sessions: () => SessionFacts[]
  reload: () => ReloadReport
  logger: Logger
}

export function runtimeRoutes (rt: GatewayRuntime): RouteHandler {
  const routes: ApiRoute[] = [
    { method: 'GET', path: '/v1/sessions', handle: () => ({ sessions: rt.sessions() }) },
    { method: 'GET', path: '/v1/pools', handle: () => ({ pools: pools(rt.lus) }) },
    ...(['disable', 'enable'] as const).flatMap((verb): ApiRoute[] => [
      { method: 'POST', path: `/v1/pools/:pool/${verb}`, handle: ({ params, body }) => { onlyKeys(body, []); return setPool(rt, params.pool!, verb) } },
      { method: 'POST', path: `/v1/lus/:lu/${verb}`, handle: ({ params, body }) => { onlyKeys(body, []); return setLu(rt, params.lu!, verb) } },
    ]),
    { method: 'POST', path: '/v1/reload', handle: ({ body }) => { onlyKeys(body, []); return rt.reload() } },
  ]
  return apiRoutes(routes)
}

function pools (lus: LuRegistry): unknown[] {
  return lus.counts().map(c => ({
    ...c,
    lus: lus.all().filter(l => l.def.pool === c.name).map(l => ({
      name: l.name,
      state: l.state,
      admin: l.admin,
      ...(l.reason === '' ? {} : { reason: l.reason }),
    })),
  }))
}

const stateOf = (verb: 'disable' | 'enable'): 'disabled' | 'enabled' => verb === 'disable' ? 'disabled' : 'enabled'

function setPool (rt: GatewayRuntime, name: string, verb: 'disable' | 'enable'): unknown {
  const pool = name.toUpperCase()
  const before = rt.lus.setAdmin({ pool }, stateOf(verb))
  if (before === undefined) throw notFound(`no pool ${JSON.stringify(name)}; pools are ${rt.lus.poolNames().join(', ') || 'none'}`)
  if (before === 'retiring') throw conflict(`pool ${pool} is being removed by a config reload; its sessions are finishing`)
  const { name: _name, ...counts } = rt.lus.counts().find(c => c.name === pool)!
  const changed = before !== stateOf(verb)
  if (changed) rt.logger.info({ event: `pool_${stateOf(verb)}`, pool, inUse: counts.inUse }, `pool ${stateOf(verb)} by the operator`)
  return { pool, changed, ...counts }
}

function setLu (rt: GatewayRuntime, name: string, verb: 'disable' | 'enable'): unknown {
  const lu = rt.lus.lu(name)
  if (lu === undefined) throw notFound(`no LU ${JSON.stringify(name)} in any pool`)
  const before: AdminState = rt.lus.setAdmin({ lu: lu.name }, stateOf(verb))!
  if (before === 'retiring') throw conflict(`LU ${lu.name} is being removed by a config reload; its session is finishing`)
  const changed = before !== stateOf(verb)
  if (changed) rt.logger.info({ event: `lu_${stateOf(verb)}`, lu: lu.name, pool: lu.def.pool, inUse: lu.holder !== undefined }, `LU ${stateOf(verb)} by the operator`)
  const poolState = rt.lus.poolState(lu.def.pool)
  return {
    lu: lu.name,
    pool: lu.def.pool,
    admin: stateOf(verb),
    changed,
    state: lu.state,
    ...(lu.reason === '' ? {} : { reason: lu.reason }),
    ...(poolState === 'enabled' ? {} : { poolState }),
  }
}
