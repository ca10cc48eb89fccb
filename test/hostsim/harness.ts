// In-memory link between a PuController (the host's SSCP for one gateway) and a TestPu, with
// asynchronous delivery like a socket, for tests that need no network.
import { loadConfig, hostSimSchema, type HostSimConfig } from '../../lib/config/index.js'
import { silentLogger } from '../../lib/observability/index.js'
import { systemClock, type Clock } from '../../lib/clock.js'
import { Faults } from '../../lib/hostsim/faults.js'
import { PuController, hostEnv, type AppcSink } from '../../lib/hostsim/pu.js'
import { TestPu, type TestPuOptions } from './test-pu.js'

export interface Harness {
  pu: TestPu
  host: PuController
  faults: Faults
  config: HostSimConfig
  /** PIUs host → PU, raw. */
  sent: Buffer[]
}

export function harness (opts: { config?: Record<string, unknown>, pu?: Partial<TestPuOptions>, clock?: Clock, appc?: AppcSink, sendResult?: () => boolean } = {}): Harness {
  const config = loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { port: 0 }, ...opts.config } })
  const lus = opts.pu?.lus ?? [{ name: 'GW1LU001', address: 2 }, { name: 'GW1LU002', address: 3 }]
  const pu = new TestPu({ ...opts.pu, lus })
  const faults = new Faults()
  const sent: Buffer[] = []
  const env = hostEnv(config, { faults, clock: opts.clock ?? systemClock, logger: silentLogger() })
  const host = new PuController({
    node: 'GW1',
    remote: 'memory',
    lus,
    send: (b) => { sent.push(b); setImmediate(() => pu.receive(b)); return opts.sendResult?.() ?? true },
  }, env, opts.appc)
  pu.send = (b) => setImmediate(() => host.receive(b))
  return { pu, host, faults, config, sent }
}

/** Lets queued setImmediate deliveries run until nothing moves. */
export async function settle (rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise(resolve => setImmediate(resolve))
}
