// The LU side of a gateway reload as a pure decision (lib/gateway/reload-plan.ts): LUs that stay
// keep pool, host, local address and resource; a new LU on a running sna link must be one its
// HELLO offered (docs/hostlink.md); refusals name the pool key.
import t from 'tap'
import { ErrorCodes } from '../../lib/errors.js'
import { planLus, type RunningHost } from '../../lib/gateway/reload-plan.js'
import { expandPools, type LuDefinition } from '../../lib/gateway/index.js'

const pool = (name: string, host: string, lus: Array<string | { name: string, locaddr?: number, resource?: string }>, generic = 0) => ({ name, host, lus, generic })
const start = [pool('PA', 'SNA', ['LA001..LA003']), pool('PT', 'TN', [{ name: 'T1', resource: 'D1' }], 1)]
const current: LuDefinition[] = expandPools(start)
const hosts = new Map<string, RunningHost>([
  ['SNA', { type: 'sna', offered: new Map(current.filter(d => d.host === 'SNA').map(d => [d.name, { pu: 1, locaddr: d.locaddr! }])) }],
  ['TN', { type: 'tn3270' }],
])

const refusal = (pools: ReturnType<typeof pool>[], extraHosts: Array<[string, RunningHost]> = []): unknown => {
  try {
    planLus({ pools, hosts: new Map([...hosts, ...extraHosts]), current })
  } catch (err) { return err }
  return undefined
}

t.test('shrink, regrow within what was offered, grow a tn3270 pool, add a pool on a new host', async t => {
  const shrunk = planLus({ pools: [pool('PA', 'SNA', ['LA001']), start[1]!], hosts, current })
  t.same(shrunk.map(d => [d.name, d.locaddr]), [['LA001', 2], ['T1', 2], ['PT001', 3]])
  // The registry still knows only LA001 now; LA003 comes back with the address its link offered.
  const regrown = planLus({ pools: [pool('PA', 'SNA', ['LA001', 'LA003'])], hosts, current: shrunk })
  t.same(regrown.map(d => [d.name, d.locaddr]), [['LA001', 2], ['LA003', 4]])
  const grown = planLus({ pools: [start[0]!, pool('PT', 'TN', [{ name: 'T1', resource: 'D1' }], 3), pool('NEW', 'FRESH', ['N1..N2'])], hosts, current })
  t.same(grown.map(d => d.name), ['LA001', 'LA002', 'LA003', 'T1', 'PT001', 'PT002', 'PT003', 'N1', 'N2'])
  t.same(grown.filter(d => d.host === 'FRESH').map(d => d.locaddr), [2, 3], 'a new host numbers its LUs from 2')
})

t.test('refusals name the key and say what to do', async t => {
  t.match(refusal([pool('PA', 'SNA', ['LA001..LA004'])]), {
    code: ErrorCodes.CONFIG_RELOAD, key: 'pools.PA.lus', message: /LU LA004 is new on host SNA, an sna link: its LUs are the ones offered when the link came up \(HELLO, docs\/hostlink\.md\)/,
  })
  t.match(refusal([pool('PA', 'SNA', ['LA001..LA002']), pool('PX', 'SNA', ['LA003'])]), { key: 'pools.PX.lus', message: /LU LA003 is in pool PA; an LU cannot move to another pool live/ })
  t.match(refusal([pool('PA', 'TN', ['LA001..LA003'])]), { key: 'pools.PA.host', message: /pool PA is on host SNA; a pool keeps its host live/ })
  t.match(refusal([pool('PA', 'SNA', ['LA001', { name: 'LA002', locaddr: 9 }, 'LA003'])]), { key: 'pools.PA.lus', message: /LU LA002 has local address 3 on its sna link; it cannot change live/ })
  t.match(refusal([start[0]!, pool('PT', 'TN', [{ name: 'T1', resource: 'D2' }], 1)]), { key: 'pools.PT.lus', message: /LU T1 asks the host for "D1"; its resource cannot change live/ })
  // An LU the link offered that has left the registry may come back only with its own address.
  const shrunk = current.filter(d => d.name !== 'LA003')
  t.throws(() => planLus({ pools: [pool('PA', 'SNA', ['LA001', 'LA002', { name: 'LA003', locaddr: 30 }])], hosts, current: shrunk }),
    { key: 'pools.PA.lus', message: /LU LA003 was offered with local address 4 on host SNA; it cannot come back with 30/ })
})
