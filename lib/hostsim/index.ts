// Host simulator: one simulated VTAM host (SSCP + PLU applications + LU 6.2 partner) that gateways
// reach over the `sna` host link. Public surface of lib/hostsim (docs/internals.md):
//
//   const sim = await startHostSim(config, { logger, registry })
//   sim.linkAddress / sim.adminAddress / sim.status() / await sim.restart() / await sim.close()
//
// Each gateway link that comes up (HELLO naming the PU and its LUs) gets a PuController (pu.ts):
// ACTPU, ACTLU per LU, USS, LU-LU sessions. PIUs with ODAI = 1 go to the Lu62Partner (appc/).
// POST /restart drops every session and link, resets the partner's session limits and listens
// again after `restartDelay`; gateways reconnect and are activated afresh (cold ACTPU).
import type { AddressInfo } from 'node:net'
import type { HostSimConfig } from '../config/index.js'
import { systemClock, type Clock, type Timer } from '../clock.js'
import { createRegistry, startAdminServer, type AdminServer, type Logger, type Registry } from '../observability/index.js'
import { SnaLinkServer, type SnaLink } from '../hostlink/index.js'
import { Lu62Partner } from '../appc/index.js'
import { Faults, type FaultsSnapshot } from './faults.js'
import { hostAdminRoutes } from './admin.js'
import { PuController, hostEnv, type HostEnv, type PuStatus } from './pu.js'
import { BindRejectingAppcSink } from './appc.js'
import { PLU_ADDRESS } from './session.js'

export { Faults, faultsUpdateSchema, type FaultsSnapshot, type FaultsUpdate } from './faults.js'
export { PuController, hostEnv, type PuStatus, type LuStatus, type LuState, type PuState, type HostEnv, type PuLink, type HelloLu, type AppcSink } from './pu.js'
export { HostLu } from './host-lu.js'
export { PluSession, PLU_ADDRESS, MAX_INBOUND_CHAIN, type SessionStatus, type SessionState, type SessionEnv } from './session.js'
export { PluOutput, type OutRu, type OutputPacingStatus } from './plu-output.js'
export { DemoApp, DemoAid, type DemoAction, type DemoInput } from './demo.js'
export { demoScreen, floodRecord, renderDemo, DemoLayout } from './screens.js'
export { parseUssCommand, logonScreenLines, encodeSscpLuText, decodeSscpLuInput, USS_MESSAGES, type UssCommand } from './uss.js'
export { lu2BindImage, lu2BindRu, effectiveRuSize } from './bindimage.js'

export interface HostSimOptions {
  logger: Logger
  registry?: Registry
  clock?: Clock
  /** Link keepalive and timeouts, passed to SnaLinkServer (tests shorten them). */
  link?: { keepaliveInterval?: number, keepaliveLimit?: number, helloTimeout?: number, closeTimeout?: number }
}

export interface BoundSession {
  lu: string
  gateway: string
  application: string
  state: string
}

export interface HostSimStatus {
  role: 'host-sim'
  name: string
  ready: boolean
  link: { address: string, listening: boolean, gateways: number }
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
  /** `listening <role> <name> <address:port>` lines (ARCHITECTURE §5 Commands). */
  listening: () => string[]
  close: () => Promise<void>
  /** Same as close(); the CLI's signal handling calls it. */
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
}

interface LinkEntry { id: string, link: SnaLink, pu: PuController }

export async function startHostSim (config: HostSimConfig, opts: HostSimOptions): Promise<HostSim> {
  const clock = opts.clock ?? systemClock
  const log = opts.logger
  const registry = opts.registry ?? createRegistry()
  const faults = new Faults()
  const links = new Map<string, LinkEntry>()
  let linkSeq = 0
  let server: SnaLinkServer | undefined
  let linkAddress: AddressInfo
  let restarting = false
  let restartTimer: Timer | undefined
  let resumeAt = 0
  let restarts = 0
  let closed = false

  const env: HostEnv = hostEnv(config, { faults, clock, logger: log })

  const partner = config.appc.lu === undefined
    ? undefined
    : new Lu62Partner({
      lu: config.appc.lu,
      modes: config.appc.modes,
      tps: config.appc.tps,
      transport: {
        send: (piu, id) => {
          const entry = links.get(id)
          if (entry !== undefined) sendOn(entry.link, piu)
        },
      },
      logger: log.child({ appc: config.appc.lu }),
      clock,
    })

  function sendOn (link: SnaLink, piu: Buffer): boolean {
    if (!link.up) return true
    try {
      return link.send(piu)
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'PIU not sent: host link not up')
      return true
    }
  }

  function onLink (link: SnaLink): void {
    const hello = link.peer!
    if (closed || restarting) {
      void link.close(restarting ? 'host restarting' : 'host shutting down')
      return
    }
    const id = `${hello.node}#${++linkSeq}`
    const pu = new PuController({
      node: hello.node,
      remote: link.remote,
      lus: (hello.lus ?? []).map(l => ({ name: l.name, address: l.locaddr })),
      send: piu => sendOn(link, piu),
    }, env, partner === undefined ? undefined : new BindRejectingAppcSink(faults, partner, id, piu => sendOn(link, piu), log))
    const entry: LinkEntry = { id, link, pu }
    links.set(id, entry)
    log.info({ event: 'gateway_link_up', gateway: hello.node, lus: hello.lus?.length ?? 0, remote: link.remote }, 'gateway link up')
    link.on('piu', piu => pu.receive(piu))
    link.on('drain', () => pu.drained())
    link.once('down', reason => {
      links.delete(id)
      pu.close(`link down: ${reason}`)
      partner?.linkDown(id)
      log.info({ event: 'gateway_link_down', gateway: hello.node, reason }, 'gateway link down')
    })
    partner?.linkUp(id)
    pu.start()
  }

  async function listen (port: number): Promise<AddressInfo> {
    const s = new SnaLinkServer({ node: config.name, host: config.link.host, port, logger: log, clock, ...opts.link })
    s.on('link', onLink)
    const address = await s.listen()
    server = s
    return address
  }

  linkAddress = await listen(config.link.port)

  async function restart (): Promise<void> {
    if (closed) return
    restarts++
    restarting = true
    resumeAt = clock.now() + config.restartDelay
    if (restartTimer !== undefined) clock.clearTimeout(restartTimer)
    // Session limits are forgotten as after a VTAM re-IPL (SENSE 0805: "all of its session limits
    // are set to zero, pending an Initialize CNOS", sna-formats.md §4.1).
    partner?.restart()
    for (const entry of links.values()) entry.pu.close('host restart')
    const old = server
    server = undefined
    await old?.close('host restarting')
    if (closed) return
    log.warn({ event: 'host_down', restartDelayMs: config.restartDelay }, 'host down for restart')
    restartTimer = clock.setTimeout(() => {
      restartTimer = undefined
      if (closed) return
      listen(linkAddress.port).then(address => {
        linkAddress = address
        restarting = false
        log.info({ event: 'host_up', address: `${address.address}:${address.port}` }, 'host back after restart; waiting for gateway links')
      }).catch((err: unknown) => {
        // The port may be taken meanwhile: stay down and say so (the admin status shows it).
        log.error({ err, port: linkAddress.port }, 'host could not listen again after restart')
      })
    }, config.restartDelay)
  }

  function status (): HostSimStatus {
    const pus = [...links.values()].map(e => e.pu.status())
    const bound: BoundSession[] = []
    let waitingSessions = 0
    let maxWaiting = 0
    let queued = 0
    for (const pu of pus) {
      for (const lu of pu.lus) {
        if (lu.session === null) continue
        bound.push({ lu: lu.name, gateway: pu.node, application: lu.session.application, state: lu.session.state })
        const p = lu.session.pacing
        queued += p.queued
        if (p.waitingForIprMs > 0) {
          waitingSessions++
          maxWaiting = Math.max(maxWaiting, p.waitingForIprMs)
        }
      }
    }
    const appcList = partner?.sessionList() ?? []
    return {
      role: 'host-sim',
      name: config.name,
      ready: ready(),
      link: { address: `${linkAddress.address}:${linkAddress.port}`, listening: server !== undefined, gateways: links.size },
      restart: { restarting, restartDelayMs: config.restartDelay, resumesInMs: restarting ? Math.max(0, resumeAt - clock.now()) : 0, restarts },
      applications: [...config.applications],
      defaultApplication: config.defaultApplication,
      faults: faults.snapshot(),
      pus,
      sessions: { active: bound.filter(s => s.state === 'active').length, bound },
      pacing: { waitingSessions, maxWaitingForIprMs: maxWaiting, queued },
      appc: { lu: config.appc.lu ?? null, sessions: appcList.length, list: appcList },
    }
  }

  function ready (): boolean { return !closed && !restarting && server !== undefined }

  let admin: AdminServer
  try {
    admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      registry,
      logger: log,
      status,
      ready,
      route: hostAdminRoutes({
        faults,
        restart,
        restartPartner: () => { if (partner === undefined) return false; partner.restart(); return true },
        restartDelayMs: config.restartDelay,
      }, log),
    })
  } catch (err) {
    await server?.close('host failed to start')
    throw err
  }

  async function close (): Promise<void> {
    if (closed) return
    closed = true
    if (restartTimer !== undefined) clock.clearTimeout(restartTimer)
    restartTimer = undefined
    for (const entry of links.values()) entry.pu.close('host shutting down')
    partner?.close()
    await Promise.all([server?.close('host shutting down'), admin.close()])
    server = undefined
  }

  log.info({ event: 'host_started', link: `${linkAddress.address}:${linkAddress.port}`, admin: `${admin.address.address}:${admin.address.port}`, plu: PLU_ADDRESS }, 'host simulator started')

  return {
    name: config.name,
    get linkAddress () { return linkAddress },
    adminAddress: admin.address,
    faults,
    partner,
    status,
    restart,
    listening: () => [
      `listening host-sim ${config.name} ${linkAddress.address}:${linkAddress.port}`,
      `listening host-sim-admin ${config.name} ${admin.address.address}:${admin.address.port}`,
    ],
    close,
    shutdown: async () => { await close() },
  }
}
