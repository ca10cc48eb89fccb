// Host simulator: one simulated VTAM host (SSCP + PLU applications + LU 6.2 partner) that gateways
// reach over the `sna` host link (docs/hostlink.md). Public surface of lib/hostsim
// (docs/internals.md):
//
//   const sim = await startHostSim(config, { logger, registry })
//   sim.linkAddress / sim.adminAddress / sim.status() / await sim.restart() / await sim.close()
//
// Each gateway link that comes up (HELLO naming the PU and its LUs) gets a PuController (pu.ts):
// ACTPU, ACTLU per LU, USS, LU-LU sessions. PIUs with ODAI = 1 go to the Lu62Partner (appc/).
import type { AddressInfo } from 'node:net'
import type { HostSimConfig } from '../config/index.js'
import { systemClock, type Clock } from '../clock.js'
import { createRegistry, startAdminServer, type AdminServer, type Logger, type Registry } from '../observability/index.js'
import type { Lu62Partner } from '../appc/index.js'
import type { Faults, FaultsSnapshot } from './faults.js'
import { hostAdminRoutes } from './admin.js'
import type { PuStatus } from './pu.js'
import { PLU_ADDRESS } from './session.js'
import { HostSimulator, type BoundSession, type LinkOptions } from './simulator.js'

export { Faults, faultsUpdateSchema, type FaultsSnapshot, type FaultsUpdate } from './faults.js'
export { PuController, hostEnv, type PuStatus, type LuStatus, type LuState, type PuState, type HostEnv, type PuLink, type HelloLu, type AppcSink } from './pu.js'
export { HostLu } from './host-lu.js'
export { PluSession, PLU_ADDRESS, MAX_INBOUND_CHAIN, type SessionStatus, type SessionState, type SessionEnv } from './session.js'
export { PluOutput, type OutRu, type OutputPacingStatus } from './plu-output.js'
export { DemoApp, DemoAid, type DemoAction, type DemoInput } from './demo.js'
export { demoScreen, floodRecord, renderDemo, DemoLayout, DemoScreens } from './screens.js'
export { parseUssCommand, logonScreenLines, encodeSscpLuText, decodeSscpLuInput, USS_MESSAGES, type UssCommand } from './uss.js'
export { lu2BindImage, lu2BindRu, effectiveRuSize } from './bindimage.js'
export type { BoundSession } from './simulator.js'

export interface HostSimOptions {
  logger: Logger
  registry?: Registry
  clock?: Clock
  /** Link keepalive and timeouts, passed to SnaLinkServer (tests shorten them). */
  link?: LinkOptions
}

export interface HostSimStatus {
  role: 'host-sim'
  name: string
  ready: boolean
  /**
   * `gateways`: links up, one per gateway PU (a gateway with more than 254 LUs on this host has
   * several PUs, docs/hostlink.md "PUs"); `lus`: the LUs of all those PUs.
   */
  link: { address: string, listening: boolean, gateways: number, lus: number }
  restart: { restarting: boolean, restartDelayMs: number, resumesInMs: number, restarts: number }
  applications: string[]
  defaultApplication: string | null
  faults: FaultsSnapshot
  pus: PuStatus[]
  /** LU-LU sessions (not ended): what a churn test compares with the gateway's view. */
  sessions: { active: number, bound: BoundSession[] }
  /** Host-side pacing: sessions whose output waits for the gateway's IPR ("window withheld"). */
  pacing: { waitingSessions: number, maxWaitingForIprMs: number, queued: number }
  appc: { lu: string | null, sessions: number, list: ReturnType<Lu62Partner['sessionList']> }
}

export interface HostSim {
  readonly name: string
  readonly linkAddress: AddressInfo
  readonly adminAddress: AddressInfo
  readonly faults: Faults
  readonly partner: Lu62Partner | undefined
  status: () => HostSimStatus
  /** Drop sessions and links now; resolves when they are down (re-activation follows after restartDelay). */
  restart: () => Promise<void>
  /** `listening <role> <name> <address:port>` lines, as the CLI prints them (README.md). */
  listening: () => string[]
  close: () => Promise<void>
  /** Same as close(); the CLI's signal handling calls it. */
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
}

function hostSimStatus (sim: HostSimulator): HostSimStatus {
  const config = sim.config
  const appcList = sim.partner?.sessionList() ?? []
  const { pus, sessions, pacing } = sim.status()
  const address = sim.linkAddress
  return {
    role: 'host-sim',
    name: config.name,
    ready: sim.ready(),
    link: { address: `${address.address}:${address.port}`, listening: sim.listening, gateways: sim.gateways, lus: pus.reduce((n, p) => n + p.lus.length, 0) },
    restart: { restarting: sim.restarting, restartDelayMs: config.restartDelay, resumesInMs: sim.resumesInMs, restarts: sim.restarts },
    applications: [...config.applications],
    defaultApplication: config.defaultApplication,
    faults: sim.faults.snapshot(),
    pus,
    sessions,
    pacing,
    appc: { lu: config.appc.lu ?? null, sessions: appcList.length, list: appcList },
  }
}

function startAdmin (sim: HostSimulator, log: Logger, registry: Registry): Promise<AdminServer> {
  return startAdminServer({
    host: sim.config.admin.host,
    port: sim.config.admin.port,
    token: sim.config.admin.token,
    registry,
    logger: log,
    status: () => hostSimStatus(sim),
    ready: () => sim.ready(),
    route: hostAdminRoutes({
      faults: sim.faults,
      restart: () => sim.restart(),
      restartPartner: () => sim.restartPartner(),
      restartDelayMs: sim.config.restartDelay,
    }, log),
  })
}

export async function startHostSim (config: HostSimConfig, opts: HostSimOptions): Promise<HostSim> {
  const log = opts.logger
  const sim = new HostSimulator(config, opts.clock ?? systemClock, log, opts.link)
  let admin: AdminServer | undefined
  let closing: Promise<void> | undefined
  // The one cleanup path, for a failed start-up as for close() and shutdown().
  const close = (reason?: string): Promise<void> => {
    closing ??= Promise.all([sim.close(reason), admin?.close()]).then(() => undefined)
    return closing
  }
  try {
    await sim.listen(config.link.port)
    admin = await startAdmin(sim, log, opts.registry ?? createRegistry())
  } catch (err) {
    await close('host failed to start')
    throw err
  }
  const adminAddress = admin.address
  const link = sim.linkAddress
  log.info({ event: 'host_started', link: `${link.address}:${link.port}`, admin: `${adminAddress.address}:${adminAddress.port}`, plu: PLU_ADDRESS }, 'host simulator started')
  return {
    name: config.name,
    get linkAddress () { return sim.linkAddress },
    adminAddress,
    faults: sim.faults,
    partner: sim.partner,
    status: () => hostSimStatus(sim),
    restart: () => sim.restart(),
    listening: () => [
      `listening host-sim ${config.name} ${sim.linkAddress.address}:${sim.linkAddress.port}`,
      `listening host-sim-admin ${config.name} ${adminAddress.address}:${adminAddress.port}`,
    ],
    close: () => close(),
    shutdown: async () => { await close() },
  }
}
