// Engine ↔ partner over the in-memory link, for the appc tests (not a test file itself).
import { type Clock } from '../../lib/clock.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { createGatewayMetrics, silentLogger, Registry, type GatewayMetrics, type Logger } from '../../lib/observability/index.js'
import { gatewaySchema, type AppcConfig } from '../../lib/config/gateway.js'
import { AppcEngine, Lu62Partner, decodeBind } from '../../lib/appc/index.js'
import { MemoryLink } from '../helpers/memory-link.js'
import { decodePiu } from '../../lib/sna/piu.js'

export interface FixtureOptions {
  appc?: Partial<Omit<AppcConfig, 'partners'>>
  mode?: { sessionLimit?: number, minWinners?: number, minPartnerWinners?: number, autoActivate?: number }
  partnerMode?: { sessionLimit?: number, minWinners?: number }
  partnerModes?: Array<{ name: string, sessionLimit: number, minWinners: number }>
  tps?: ConstructorParameters<typeof Lu62Partner>[0]['tps']
  clock?: Clock | 'fake'
  connect?: boolean
  logger?: Logger
}

export interface Fixture {
  engine: AppcEngine
  partner: Lu62Partner
  link: MemoryLink
  registry: Registry
  metrics: GatewayMetrics
  clock: Clock
  fake: FakeClock | undefined
  config: AppcConfig
  /** Application BINDs (mode ≠ SNASVCMG) the gateway sent. */
  binds: () => number
  /** Every BIND/UNBIND the gateway sent, with the mode for BINDs. */
  log: Array<{ dir: 'to_host' | 'to_gateway', kind: string, mode?: string }>
  metric: (name: string, labels?: Record<string, string>) => Promise<number>
  /** Return true to swallow a PIU on its way (the test answers it itself). */
  hooks: { toHost?: (buf: Buffer) => boolean, toGateway?: (buf: Buffer) => boolean }
  settle: () => Promise<void>
}

export function appcConfig (opts: FixtureOptions = {}): AppcConfig {
  const cfg = gatewaySchema.parse({
    appc: {
      ...opts.appc,
      partners: [{ name: 'HOSTLU', host: 'HOSTA', localLu: 'GWLU', modes: [{ name: 'APPCMODE', sessionLimit: 4, minWinners: 2, minPartnerWinners: 0, ...opts.mode }] }],
    },
  })
  return cfg.appc
}

export async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>(resolve => { setImmediate(resolve) })
}

export async function fixture (opts: FixtureOptions = {}): Promise<Fixture> {
  const registry = new Registry()
  const metrics = createGatewayMetrics(registry)
  const fake = opts.clock === 'fake' ? new FakeClock(1_000_000) : undefined
  const clock: Clock = fake ?? (opts.clock === undefined || opts.clock === 'fake' ? undefined : opts.clock) ?? (await import('../../lib/clock.js')).systemClock
  const config = appcConfig(opts)
  const link = new MemoryLink('HOSTA', 'gw1')
  const engine = new AppcEngine({ config, localLu: 'GWLU', transport: link.gatewaySide, logger: opts.logger ?? silentLogger(), metrics, clock })
  const partner = new Lu62Partner({
    lu: 'HOSTLU',
    modes: opts.partnerModes ?? [{ name: 'APPCMODE', sessionLimit: 8, minWinners: 0, ...opts.partnerMode }],
    tps: opts.tps ?? ['ECHO', 'APINGD', 'TXN'],
    transport: link.hostSide,
    logger: silentLogger(),
    clock,
  })
  const hooks: Fixture['hooks'] = {}
  link.attach({
    receive: (b, h) => { if (hooks.toGateway?.(b) !== true) engine.receive(b, h) },
    linkUp: (h) => { engine.linkUp(h) },
    linkDown: (h) => { engine.linkDown(h) },
  }, {
    receive: (b, l) => { if (hooks.toHost?.(b) !== true) partner.receive(b, l) },
    linkUp: (l) => { partner.linkUp(l) },
    linkDown: (l) => { partner.linkDown(l) },
  })
  const log: Fixture['log'] = []
  link.trace.push((dir, buf) => {
    const piu = decodePiu(buf)
    if (piu.rh === undefined || piu.rh.rri || piu.rh.category !== 'SC') return
    if (piu.ru[0] === 0x31) log.push({ dir, kind: 'BIND', mode: decodeBind(piu.ru).mode })
    else if (piu.ru[0] === 0x32) log.push({ dir, kind: 'UNBIND' })
  })
  if (opts.connect !== false) {
    link.connect()
    await settle()
  }
  return {
    engine,
    partner,
    link,
    registry,
    metrics,
    clock,
    fake,
    config,
    binds: () => log.filter(e => e.kind === 'BIND' && e.dir === 'to_host' && e.mode !== 'SNASVCMG').length,
    log,
    metric: async (name, labels = {}) => {
      const m = await registry.getSingleMetric(name)?.get()
      if (m === undefined) return 0
      return m.values.filter(v => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0)
    },
    settle,
    hooks,
  }
}
