// A real gateway (startGateway) on port 0 for tests that drive one host side through it, with the
// views those tests read: how sessions ended (GatewayDeps.onConnectionEnd), how many are being
// served, listener state and gauges. Not a test file itself.
import { gatewaySchema, loadConfig, type GatewayConfig } from '../../lib/config/index.js'
import { startGateway, type ConnectionEndInfo, type Gateway, type HostSide, type LuRegistry } from '../../lib/gateway/index.js'
import { Registry, silentLogger, type GatewayMetrics, type Logger } from '../../lib/observability/index.js'
import type { Clock } from '../../lib/clock.js'

export interface TestGateway {
  gateway: Gateway
  config: GatewayConfig
  lus: LuRegistry
  metrics: GatewayMetrics
  registry: Registry
  /** The first configured host's side. */
  side: HostSide
  listeners: { isOpen: (name: string) => boolean }
  /** Port of a listener (stable across CloseListenSocket close/reopen). */
  port: (listener: string) => number
  /** Reasons sessions ended with, in order (connections that never had a session are left out). */
  ended: string[]
  /** Every connection end, sessions or not. */
  ends: ConnectionEndInfo[]
  /** Sessions being served right now (until their LU is clean). */
  serving: () => number
  gauge: (name: 'hostLinkUp' | 'sessionsActive' | 'lus', labels: Record<string, string>) => Promise<number | undefined>
  close: () => Promise<void>
}

export async function startTestGateway (raw: Record<string, unknown>, opts: { logger?: Logger, clock?: Clock } = {}): Promise<TestGateway> {
  const config = loadConfig(gatewaySchema, { base: { admin: { host: '127.0.0.1', port: 0 }, ...raw } })
  const registry = new Registry()
  const ends: ConnectionEndInfo[] = []
  const ended: string[] = []
  const gateway = await startGateway(config, {
    logger: opts.logger ?? silentLogger(),
    registry,
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
    onConnectionEnd: info => {
      ends.push(info)
      if (info.phase === 'serving') ended.push(info.reason)
    },
  })
  const { metrics } = gateway
  return {
    gateway,
    config,
    lus: gateway.lus,
    metrics,
    registry,
    side: gateway.hosts.get(config.hosts[0]!.name)!,
    listeners: { isOpen: name => gateway.status().listeners.some(l => l.name === name && l.open) },
    port: name => gateway.listenerPort(name),
    ended,
    ends,
    serving: () => gateway.status().sessions.active,
    gauge: async (name, labels) => {
      const m = await metrics[name].get()
      return m.values.find(v => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))?.value
    },
    close: async () => { await gateway.shutdown({ immediate: true }) },
  }
}
