// The stack the front scenarios share (bench/README.md, "Method"): host simulators, one gateway, our proxy and HAProxy in
// front of it, and the load generator processes; stopped as a whole, also after a failure.
import { startLoad, type LoadProcess } from '../load.js'
import { getJson, hostNames, startFronts, startGateway, startHosts, stopAllOf, type RunContext, type RunningFront, type RunningGateway, type RunningHost } from '../topology.js'
import { waitUntil } from '../stats.js'

export interface FrontStack {
  hosts: RunningHost[]
  gateway: RunningGateway
  fronts: RunningFront[]
  load: LoadProcess[]
  stop: () => Promise<void>
}

export async function startFrontStack (ctx: RunContext, o: { hosts: number, lusPerHost: number, loadProcesses: number }): Promise<FrontStack> {
  let hosts: RunningHost[] = []
  let gateway: RunningGateway | undefined
  let fronts: RunningFront[] = []
  let load: LoadProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(load.map(async l => await l.stop()))
    await stopAllOf(fronts, [gateway], hosts)
  }
  try {
    hosts = await startHosts(ctx, hostNames(o.hosts).map(name => ({ name })))
    gateway = await startGateway(ctx, { index: 1, hosts, lusPerHost: o.lusPerHost })
    fronts = await startFronts(ctx, [gateway])
    load = await startLoad(ctx, o.loadProcesses)
  } catch (err) {
    await stop()
    throw err
  }
  return { hosts, gateway, fronts, load, stop }
}

/** Waits until every LU of the gateway is free again (sessions of the last phase have ended). */
export async function gatewayIdle (gw: RunningGateway, ms = 30_000): Promise<void> {
  let last: any
  const ok = await waitUntil(async () => {
    last = await getJson(`${gw.adminUrl}/status`).catch(() => undefined)
    return last !== undefined && last.sessions.active === 0 && (last.pools as Array<{ free: number, total: number }>).every(p => p.free === p.total)
  }, ms, 200)
  if (!ok) throw new Error(`${gw.name}: sessions did not end within ${ms} ms: ${JSON.stringify(last?.pools)}`)
}
