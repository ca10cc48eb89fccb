// Config reload of a running gateway, every open session kept (docs/operations.md "Reload"):
// SIGHUP and POST /v1/reload re-load the config the way the gateway was started, then this file
// checks and applies it, all or nothing.
//
// Checked first, nothing changed yet: the keys (lib/config GATEWAY_RELOAD_RULES: no listener
// address or port, host link, admin address, name, APPC or log level changes), the LU plan
// (reload-plan.ts), the TLS files of new tn3270 hosts, and a new audit file. Then applied:
//   pools     the registry takes the new LU set and printer pairs; removed LUs and pools retire
//             (a held LU when its session ends, a pool with its last LU)
//   hosts     new ones start their links; removed ones close once their last LU is gone
//   listeners pools, closeListenSocket and PROXY protocol, for connections accepted from now
//   sections  negotiation, keepalive, pacing, drainTimeout, audit, admin.token: the running parts
//             read these from the shared config when a connection or session starts, so a new
//             section object applies to new sessions while open ones keep the settings they
//             started with (pacing.highWaterMark also applies at an open session's next credit
//             decision, which is harmless: credit is re-evaluated every time)
import { checkReloadRules, describeChanges, diffConfig, GATEWAY_RELOAD_RULES, printerPairs, type GatewayConfig, type ReloadReport } from '../config/index.js'
import { ReloadRefusedError } from '../errors.js'
import type { AdminServer, GatewayMetrics, Logger } from '../observability/index.js'
import type { AuditLog } from './audit.js'
import type { HostSide, HostSideContext } from './host-side.js'
import { createHostSide } from './hosts.js'
import type { ListenerManager } from './listeners.js'
import { poolDefinitions, type LuRegistry } from './lu-pool.js'
import { planLus } from './reload-plan.js'
import { loadTlsMaterial } from './tn3270-host.js'

export type { ReloadReport }

export interface ReloadTarget {
  /** The running config; its sections are replaced in place (see above). */
  config: GatewayConfig
  lus: LuRegistry
  hosts: Map<string, HostSide>
  listeners: ListenerManager
  audit: AuditLog
  admin: AdminServer | undefined
  metrics: GatewayMetrics
  logger: Logger
  /** The context a host side is built with (the logger gets the host name). */
  hostContext: (host: string) => HostSideContext
}

/** Checks `next` against the running gateway and applies it; throws (nothing applied) if it cannot be. */
export function reloadGateway (target: ReloadTarget, next: GatewayConfig): ReloadReport {
  const { config, lus, hosts } = target
  const changes = diffConfig(config, next)
  if (changes.length === 0) return { result: 'unchanged', changes: [] }
  checkReloadRules(changes, GATEWAY_RELOAD_RULES)
  const added = next.hosts.filter(h => !config.hosts.some(c => c.name === h.name))
  for (const h of added) {
    if (hosts.has(h.name)) {
      throw new ReloadRefusedError(`hosts.${h.name}`, `config reload refused, nothing applied: hosts.${h.name} added: host ${h.name}, removed by an earlier reload, still has sessions finishing; add it back once they have ended`)
    }
    if (h.link.type === 'tn3270') loadTlsMaterial(h.name, h.link.tls)
  }
  const defs = planLus({ pools: next.pools, hosts, current: lus.all().map(l => l.def) })
  // The last step that may fail (a new audit file that cannot be opened) comes before any change.
  target.audit.configure(next.audit)
  lus.define(poolDefinitions(next.pools), defs, printerPairs(next.pools))
  for (const h of added) {
    const side = createHostSide(h, target.hostContext(h.name))
    hosts.set(h.name, side)
    side.start()
  }
  for (const side of hosts.values()) side.adoptLus()
  for (const gone of config.hosts.filter(c => !next.hosts.some(h => h.name === c.name))) retireHost(target, gone.name)
  Object.assign(config, {
    admin: next.admin,
    listeners: next.listeners,
    hosts: next.hosts,
    pools: next.pools,
    negotiation: next.negotiation,
    keepalive: next.keepalive,
    pacing: next.pacing,
    drainTimeout: next.drainTimeout,
    audit: next.audit,
  })
  target.listeners.update(next.listeners)
  target.admin?.setToken(next.admin.token)
  return { result: 'applied', changes: describeChanges(changes) }
}

/** A host the config no longer has: its link closes once no LU of it is left (their sessions ended). */
function retireHost (target: ReloadTarget, name: string): void {
  const { lus, hosts, metrics, logger } = target
  const side = hosts.get(name)
  if (side === undefined) return
  const check = (): void => {
    if (lus.luOfHost(name).length > 0) return
    lus.off('change', check)
    hosts.delete(name)
    side.close().then(() => {
      metrics.hostLinkUp.remove({ host: name })
      logger.info({ event: 'host_removed', host: name }, 'host removed by a config reload; its link is closed')
    }, (err: unknown) => { logger.error({ host: name, err }, 'closing a removed host failed') })
  }
  lus.on('change', check)
  check()
}
