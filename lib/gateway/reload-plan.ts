// The LU side of a gateway reload, as a pure decision (docs/operations.md "Reload"): the LU set
// the new pools stand for, checked against what is running. An LU that stays keeps its pool, host,
// local address and resource (a running session holds them); a new LU on a running `sna` link
// must be one that link offered when it came up, since the host activates the LUs of the HELLO
// (docs/hostlink.md) and a dependent LU has no other way to appear on a running PU. A refusal
// names the pool key and says what to do instead.
import { ReloadRefusedError } from '../errors.js'
import type { LuAddress } from './host-side.js'
import { expandPools, type LuDefinition, type PoolInput } from './lu-pool.js'

export interface RunningHost {
  type: 'sna' | 'tn3270'
  /** sna links: the LUs offered in the HELLOs with their PU and local address. */
  offered?: ReadonlyMap<string, LuAddress>
}

export interface LuPlanInput {
  /** The pools of the new config. */
  pools: readonly PoolInput[]
  /** Host sides running now, by name (including ones an earlier reload removed, still finishing). */
  hosts: ReadonlyMap<string, RunningHost>
  /** Every LU in the registry now, retiring ones included. */
  current: readonly LuDefinition[]
}

/** The LU definitions of the new pools; throws ReloadRefusedError for one that cannot be had live. */
export function planLus (input: LuPlanInput): LuDefinition[] {
  const current = new Map(input.current.map(d => [d.name, d]))
  const known = new Map(current)
  for (const [host, side] of input.hosts) {
    for (const [name, { pu, locaddr }] of side.offered ?? []) if (!known.has(name)) known.set(name, { name, host, pool: '', locaddr, ...(pu === 1 ? {} : { pu }) })
  }
  const next = expandPools(input.pools, known)
  for (const d of next) {
    const was = current.get(d.name)
    const problem = was === undefined ? newLuProblem(d, input.hosts.get(d.host)) : keptLuProblem(was, d, input.hosts.get(d.host))
    if (problem !== undefined) {
      const key = `pools.${d.pool}.${was !== undefined && was.pool === d.pool && was.host !== d.host ? 'host' : 'lus'}`
      throw new ReloadRefusedError(key, `config reload refused, nothing applied: ${key}: ${problem}`)
    }
  }
  return next
}

function keptLuProblem (was: LuDefinition, d: LuDefinition, host: RunningHost | undefined): string | undefined {
  const after = 'remove it in one reload and add it in a later one, once no session holds it'
  if (was.pool !== d.pool) return `LU ${d.name} is in pool ${was.pool}; an LU cannot move to another pool live: ${after}`
  if (was.host !== d.host) return `pool ${d.pool} is on host ${was.host}; a pool keeps its host live: add a new pool for host ${d.host}`
  if (host?.type === 'sna' && (was.locaddr !== d.locaddr || (was.pu ?? 1) !== (d.pu ?? 1))) return `LU ${d.name} has local address ${address(was)} on its sna link; it cannot change live: ${after}`
  if (was.resource !== d.resource) return `LU ${d.name} asks the host for ${JSON.stringify(was.resource ?? 'any device')}; its resource cannot change live: ${after}`
  // The host binds the LU as what it is (LU type 2, 1 or 3) and the gateway checks its BINDs so.
  if (was.printer !== d.printer) return `LU ${d.name} is ${lu(was)}; it cannot become ${lu(d)} live: ${after}`
  return undefined
}

function lu (d: LuDefinition): string {
  return d.printer === undefined ? 'a display (LU type 2)' : `a printer (${d.printer === 'lu1' ? 'LU type 1' : 'LU type 3'})`
}

function newLuProblem (d: LuDefinition, host: RunningHost | undefined): string | undefined {
  const offered = host?.offered
  if (offered === undefined) return undefined
  const at = offered.get(d.name)
  if (at === undefined) {
    return `LU ${d.name} is new on host ${d.host}, an sna link: its LUs are the ones offered when the link came up (HELLO, docs/hostlink.md); restart the gateway to add LUs there, or add them on a new host`
  }
  if (at.locaddr !== d.locaddr || at.pu !== (d.pu ?? 1)) return `LU ${d.name} was offered with local address ${address(at)} on host ${d.host}; it cannot come back with ${address(d)}`
  return undefined
}

/** `4`, or `4 on PU 2` beyond the first PU (docs/hostlink.md "PUs"). */
function address (a: { pu?: number | undefined, locaddr?: number | undefined }): string {
  return (a.pu ?? 1) === 1 ? String(a.locaddr) : `${String(a.locaddr)} on PU ${a.pu!}`
}
