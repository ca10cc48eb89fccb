// `tn3270-lb demo` (= npm start): host simulators, gateways and a proxy in one process, on the
// fixed port layout README "Quick start" lists (proxy P, admin P+100; gateway i P+i, admin P+100+i;
// host j link P+200+j, admin P+300+j). Each piece is started through the same entry point
// and config schema a real deployment uses; only the configs are generated here.
import { createServer, type AddressInfo } from 'node:net'
import { gatewayConfigSchema, hostSimSchema, loadConfig, proxySchema, type GatewayConfig, type HostSimConfig, type ProxyConfig } from './config/index.js'
import { createLogger, createRegistry, type Logger } from './observability/index.js'
import { startGateway, type Gateway } from './gateway/index.js'
import { startProxy, type Proxy } from './proxy/index.js'
import { startHostSim, type HostSim } from './hostsim/index.js'

export interface DemoOptions {
  /** 0 = every port ephemeral (tests); otherwise the fixed layout above. */
  basePort: number
  gateways: number
  hosts: number
  lus: number
  /**
   * One LU type 1 (SCS) printer LU per display LU, in a printer pool `<HOST>PRT` paired by
   * position (`PR<i><host letter>nnn` is the printer of `GW<i><host letter>nnn`), so that
   * `pr3287 -assoc GW1A001` gets GW1A001's printer (docs/printers.md). `tn3270-lb demo` has them.
   */
  printers?: boolean
  bind: string
  /** Gateway config overrides applied to every gateway (`--set key=value`). */
  sets: string[]
  env?: Record<string, string | undefined>
  /** Bearer token for state-changing admin requests on every role (needed when `bind` is not loopback). */
  adminToken?: string
  logger?: Logger
  print?: (line: string) => void
}

export interface Demo {
  hosts: HostSim[]
  gateways: Gateway[]
  proxy: Proxy
  /** `listening <role> <name> <address:port>` lines, as printed. */
  lines: string[]
  shutdown: (opts?: { immediate?: boolean }) => Promise<void>
}

export const hostName = (j: number): string => `HOST${String.fromCharCode(64 + j)}`
export const luPrefix = (i: number, j: number): string => `GW${i}${String.fromCharCode(64 + j)}`
/** The demo's printer LUs: `PR<i><host letter>nnn`, the printer of display `GW<i><host letter>nnn`. */
export const printerLuPrefix = (i: number, j: number): string => `PR${i}${String.fromCharCode(64 + j)}`
/** The demo's printer pool of host `h`. */
export const printerPoolName = (h: string): string => `${h}PRT`

export async function startDemo (opts: DemoOptions): Promise<Demo> {
  // No binding of its own: each piece's child names it (host, gateway, role: proxy) and a second
  // `role` would repeat the key in the proxy's and the host links' lines.
  const logger = opts.logger ?? createLogger()
  const port = async (offset: number): Promise<number> => opts.basePort === 0 ? await freePort(opts.bind) : opts.basePort + offset
  const lines: string[] = []
  const say = (line: string): void => { lines.push(line); opts.print?.(line) }

  const hosts: HostSim[] = []
  const gateways: Gateway[] = []
  let proxy: Proxy | undefined
  const shutdown = async (s: { immediate?: boolean } = {}): Promise<void> => {
    // Proxy and gateways drain together: each stops accepting at once and runs its own clock.
    await Promise.all([proxy?.shutdown(s), ...gateways.map(g => g.shutdown(s))])
    await Promise.all(hosts.map(h => h.close()))
  }
  const admin = async (offset: number): Promise<Record<string, unknown>> =>
    ({ host: opts.bind, port: await port(offset), ...(opts.adminToken === undefined ? {} : { token: opts.adminToken }) })
  try {
    for (let j = 1; j <= opts.hosts; j++) {
      const config: HostSimConfig = loadConfig(hostSimSchema, {
        base: {
          name: hostName(j),
          link: { host: opts.bind, port: await port(200 + j) },
          admin: await admin(300 + j),
          // LUs go straight to DEMO (z/OS DEFAPPL) with a query BIND (X'03'): DEMO asks the terminal its size (docs/tn3270.md).
          defaultApplication: 'DEMO', bind: { query: true },
          appc: { lu: hostName(j), modes: [{ name: '#INTER', sessionLimit: 8 }], tps: ['ECHO', 'APINGD', 'TXN'] },
        },
      })
      const sim = await startHostSim(config, { logger: logger.child({ host: config.name }), registry: createRegistry() })
      hosts.push(sim)
      for (const l of sim.listening()) say(l)
    }
    for (let i = 1; i <= opts.gateways; i++) {
      const config = demoGatewayConfig({
        index: i,
        hosts: opts.hosts,
        lus: opts.lus,
        ...(opts.printers === true ? { printers: true } : {}),
        bind: opts.bind,
        port: await port(i),
        adminPort: await port(100 + i),
        hostLinkPorts: hosts.map(h => h.linkAddress.port),
        sets: opts.sets,
        ...(opts.adminToken === undefined ? {} : { adminToken: opts.adminToken }),
        ...(opts.env === undefined ? {} : { env: opts.env }),
      })
      const gw = await startGateway(config, { logger: logger.child({ gateway: config.name }), registry: createRegistry() })
      gateways.push(gw)
      for (const l of gw.listening()) say(l)
    }
    const proxyConfig: ProxyConfig = loadConfig(proxySchema, {
      base: {
        admin: await admin(100),
        listeners: [{
          name: 'tn3270',
          host: opts.bind,
          port: await port(0),
          routing: 'tn3270e', proxyProtocol: 'v2', // by pool or LU: HOSTB@proxy gets a free HOSTB LU (docs/routing.md)
          backends: gateways.map(g => ({
            name: g.name,
            host: opts.bind,
            port: g.listenerPort('tn3270'),
            adminUrl: `http://${opts.bind}:${g.adminAddress.port}`,
          })),
        }],
      },
    })
    proxy = await startProxy(proxyConfig, { logger: logger.child({ role: 'proxy' }), registry: createRegistry() })
    for (const l of proxy.listening()) say(l)
  } catch (err) {
    await shutdown({ immediate: true }).catch(() => {})
    throw err
  }
  return { hosts, gateways, proxy, lines, shutdown }
}

export interface DemoGatewayOptions {
  /** Gateway number i: name gw<i>, LU names GW<i><host letter>nnn. */
  index: number
  hosts: number
  lus: number
  /** A printer pool per host paired with its display pool (DemoOptions.printers). */
  printers?: boolean
  bind?: string
  port: number
  adminPort: number
  /** The host simulators' link ports, in host order. */
  hostLinkPorts: number[]
  sets?: string[]
  env?: Record<string, string | undefined>
  name?: string
  /** LU names as if this were gateway n (a restarted gateway keeps its LU names). */
  lusPrefixIndex?: number
  proxyProtocol?: { mode: 'off' | 'optional' | 'required', trustedSources: string[] }
  adminToken?: string
}

/**
 * The config the demo gives gateway i, through the same schema a deployment uses. Exported so
 * tests can restart a demo gateway, or start one like it, without a copy of these keys.
 */
export function demoGatewayConfig (o: DemoGatewayOptions): GatewayConfig {
  const bind = o.bind ?? '127.0.0.1'
  const names = Array.from({ length: o.hosts }, (_, j) => hostName(j + 1))
  const lp = o.lusPrefixIndex ?? o.index
  const base = {
    name: o.name ?? `gw${o.index}`,
    admin: { host: bind, port: o.adminPort, ...(o.adminToken === undefined ? {} : { token: o.adminToken }) },
    listeners: [{
      name: 'tn3270',
      host: bind,
      port: o.port,
      pools: o.printers === true ? [...names, ...names.map(printerPoolName)] : names,
      // The demo proxy sends PROXY v2 so gateway logs name the real client; direct clients
      // on loopback are still served (optional mode waits briefly for a header).
      proxyProtocol: o.proxyProtocol ?? { mode: 'optional', trustedSources: ['127.0.0.0/8', '::1/128'] },
    }],
    hosts: names.map((h, j) => ({ name: h, link: { type: 'sna', host: bind, port: o.hostLinkPorts[j]! } })),
    pools: [
      ...names.map((h, j) => ({
        name: h, host: h, lus: [`${luPrefix(lp, j + 1)}${pad(1, o.lus)}..${luPrefix(lp, j + 1)}${pad(o.lus, o.lus)}`],
        ...(o.printers === true ? { printerPool: printerPoolName(h) } : {}),
      })),
      ...(o.printers === true
        ? names.map((h, j) => ({ name: printerPoolName(h), host: h, kind: 'printer', luType: 'lu1', lus: [`${printerLuPrefix(lp, j + 1)}${pad(1, o.lus)}..${printerLuPrefix(lp, j + 1)}${pad(o.lus, o.lus)}`] }))
        : []),
    ],
    appc: {
      partners: names.map(h => ({ name: h, host: h, modes: [{ name: '#INTER', sessionLimit: 8, minWinners: 4 }] })),
    },
  }
  return loadConfig(gatewayConfigSchema, { base, sets: o.sets ?? [], ...(o.env === undefined ? {} : { env: o.env }) })
}

function pad (n: number, max: number): string {
  return String(n).padStart(Math.max(3, String(max).length), '0')
}

async function freePort (host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}
