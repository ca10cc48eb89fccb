// Front proxy configuration (docs/configuration.md). Every key can come from YAML, the environment
// (TN3270LB_CONNECTTIMEOUT=3s, TN3270LB_LISTENERS__0__PORT=3270) or `--set connectTimeout=3s`.
// Each key's `.describe()` text is its entry in the reference `npm run docs:config` writes.
import { z } from 'zod'
import { adminSection, bool, duration, int, logLevel, port, snaName } from './fields.js'
import { tlsClient, tlsListener } from './tls.js'

const weight = () => int(0, 256).default(1).describe('relative weight 0-256 (HAProxy `weight`); 0 = no new sessions')

const staticBackend = z.object({
  name: z.string().min(1).describe('unique backend name: the `backend` label on metrics and in logs'),
  host: z.string().min(1).describe('gateway address'),
  port: port().describe('gateway TN3270 port'),
  adminUrl: z.string().url('expected a URL like http://gw1:3371').optional()
    .describe('gateway admin base URL (`http://host:port`) whose /status is polled; omitted = no polling'),
  weight: weight(),
  tls: tlsClient().optional().describe('TLS toward this gateway, overriding the listener\'s `backendTls`'),
}).strict()

const dnsBackends = z.object({
  name: z.string().min(1).describe('DNS name to resolve: `gw.tn3270.svc.cluster.local` (A) or `_tn3270._tcp.gw.tn3270.svc.cluster.local` (SRV)'),
  type: z.enum(['A', 'SRV']).default('A').describe('record type'),
  port: port().optional().describe('TN3270 port of every address: required for A, overrides the SRV port if set'),
  adminPort: port().optional().describe('gateway admin port on the same addresses; omitted = no /status polling'),
  refresh: duration('10s').describe('re-resolve interval'),
  weight: weight(),
}).strict().refine(d => d.type !== 'A' || d.port !== undefined, { message: 'required for type A, expected a port', path: ['port'] })

const listener = z.object({
  name: z.string().min(1).describe('listener name (metric label)'),
  host: z.string().default('127.0.0.1').describe('address to listen on'),
  port: port().describe('TN3270 port clients connect to'),
  routing: z.enum(['tn3270e', 'tcp']).default('tn3270e')
    .describe('tn3270e: negotiate with the client up to its device request, choose a gateway that can serve that pool or LU and hand the negotiation over (docs/routing.md); tcp: choose by free LUs in total and relay bytes unread (TLS passthrough, anything not TN3270)'),
  closeListenSocket: bool(true).describe('stop listening while no backend can take a client (KB Q101235); false = accept and close'),
  maxConnections: z.union([z.literal('auto'), int(0, 10_000_000)]).default('auto')
    .describe('client connections this listener holds per proxy process (per worker); at the limit it stops accepting until one ends, like HAProxy `maxconn`, so a process never runs out of descriptors with clients already taken; auto = what the open-file limit allows at two descriptors per client (less 100 spare); 0 = no cap'),
  proxyProtocol: z.enum(['off', 'v2']).optional()
    .describe('PROXY protocol toward the backends: v2 carries the client address (HAProxy doc/proxy-protocol.txt §2.2), and the client\'s TLS facts when this listener terminates TLS (§2.2.6); default v2 with routing tn3270e, which hands the negotiation over inside it, off with routing tcp'),
  pools: z.array(snaName()).default([])
    .describe('tn3270e routing: the pools clients may ask for here; empty = every pool the gateways report. The listener is closed while no gateway can serve any of them'),
  defaultPool: snaName().optional()
    .describe('tn3270e routing: the pool for a request that names none; omitted = each gateway\'s own default (the first pool of its listener)'),
  tls: tlsListener().optional()
    .describe('terminate client TLS here (the gateway then sees plain telnet or `backendTls`); omitted = bytes are relayed as they come, a TLS client\'s handshake included (passthrough to a gateway listener with `tls`; needs routing tcp)'),
  backendTls: tlsClient().optional()
    .describe('TLS toward the gateways of this listener (mutual TLS with `cert` and `key`: the gateway listener runs `tls.mode: direct` with `clientAuth: require`); the PROXY v2 header goes first, in plaintext'),
  backends: z.array(staticBackend).default([]).describe('gateways by address'),
  dns: z.array(dnsBackends).default([]).describe('gateways found by DNS (a headless Service)'),
}).strict().superRefine((l, ctx) => {
  if (l.backends.length === 0 && l.dns.length === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected at least one backend or dns entry', path: ['backends'] })
  if (l.routing === 'tn3270e' && l.proxyProtocol === 'off') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected v2 with routing tn3270e (the negotiation is handed to the gateway in a PROXY v2 TLV), or routing tcp', path: ['proxyProtocol'] })
  }
  if (l.routing === 'tcp' && (l.pools.length > 0 || l.defaultPool !== undefined)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected routing tn3270e: a tcp listener never reads which pool a client asks for', path: [l.pools.length > 0 ? 'pools' : 'defaultPool'] })
  }
  if (l.defaultPool !== undefined && l.pools.length > 0 && !l.pools.includes(l.defaultPool)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected one of the listener\'s pools', path: ['defaultPool'] })
  }
}).transform(l => ({ ...l, proxyProtocol: l.proxyProtocol ?? (l.routing === 'tn3270e' ? 'v2' as const : 'off' as const) }))

export const proxySchema = z.object({
  name: z.string().min(1).default('proxy').describe('proxy name: logs and `/status`'),
  admin: adminSection(),
  listeners: z.array(listener).min(1, 'expected at least one listener').describe('client listeners and the gateways behind each'),
  connectTimeout: duration('3s').describe('per backend attempt (the connect, and with tn3270e routing the gateway\'s answer to the handed-over request), before failing over to the next backend'),
  negotiationTimeout: duration('10s').describe('tn3270e routing: accept to hand-over; a client that has not made its device request and been handed to a gateway by then is closed'),
  affinity: z.object({
    keepFor: duration('0').describe('tn3270e routing: a client address that reconnects within this time after its session ended is given the LU it had, if that LU is free (like z/OS KEEPLU, without holding the LU back from others); 0 = off'),
    maxEntries: int(1, 10_000_000).default(100_000).describe('client addresses remembered at most; the oldest is forgotten first'),
  }).strict().default({}).describe('LU affinity per client address (tn3270e routing, TN3270E clients: the LU name comes from DEVICE-TYPE IS)'),
  earlyCloseWindow: duration('1s').describe('a backend that closes this soon after the connect, having sent nothing, is failed over'),
  statusInterval: duration('2s').describe('gateway /status polling interval'),
  statusTimeout: duration('1s').describe('one /status request; must be below statusStaleAfter'),
  statusStaleAfter: duration('10s').describe('a /status answer older than this no longer counts: the backend is not chosen'),
  ejection: z.object({
    failures: int(1, 1000).default(3).describe('consecutive connect failures that eject a backend'),
    baseTime: duration('5s').describe('first ejection time; doubles per ejection'),
    maxTime: duration('5m').describe('longest ejection time'),
  }).strict().default({}).describe('passive health: backends that keep failing connects'),
  idleTimeout: duration('0').describe('no byte either way for this long closes a session; 0 = never'),
  halfCloseTimeout: duration('30s').describe('after one side closes its direction (FIN), the other must close within this time; 0 = never'),
  tcpKeepAlive: duration('60s').describe('TCP keepalive initial delay on both legs; 0 = off'),
  drainTimeout: duration('30s').describe('SIGTERM: sessions may continue this long, then are closed'),
  maxPendingPerClient: int(0, 100_000).default(8)
    .describe('connections one client address may have open before sending its first byte of telnet data (TLS handshake and START_TLS included); more are closed at accept; keep it well below the LUs behind a listener; 0 = no cap'),
  maxSessionsPerClient: int(0, 1_000_000).default(2000)
    .describe('connections one client address may have open through this proxy, all listeners together; more are closed at accept (Microsoft HIS: 2,000 per client address, KB 814166); 0 = no cap'),
  workers: z.union([z.literal('auto'), int(1, 256)]).default(1)
    .describe('processes that serve clients, sharing every listen socket (node:cluster, like HAProxy `nbthread`): a number, or `auto` = one per core; the primary\'s admin server (the whole proxy: merged /status, every worker\'s /metrics) listens on admin.port and worker i\'s on admin.port + 1 + i (0 stays 0: an ephemeral port each); 1 = no worker processes'),
  closeSpreadTime: duration('5s').describe('remaining sessions are closed spread over this time after drainTimeout (HAProxy `close-spread-time`)'),
  log: z.object({ level: logLevel() }).strict().default({}),
}).strict().superRefine((cfg, ctx) => {
  const seen = new Map<string, number>()
  cfg.listeners.forEach((l, i) => l.backends.forEach((b, j) => {
    if (seen.has(b.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['listeners', i, 'backends', j, 'name'], message: 'expected a backend name not used elsewhere (it labels metrics)' })
    seen.set(b.name, i)
  }))
  const names = new Set<string>()
  cfg.listeners.forEach((l, i) => {
    if (names.has(l.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['listeners', i, 'name'], message: 'expected a listener name not used elsewhere' })
    names.add(l.name)
  })
  if (cfg.statusTimeout >= cfg.statusStaleAfter) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['statusTimeout'], message: 'expected less than statusStaleAfter' })
  }
})

export type ProxyConfig = z.output<typeof proxySchema>
export type ProxyListenerConfig = ProxyConfig['listeners'][number]
export type ProxyStaticBackendConfig = ProxyListenerConfig['backends'][number]
export type ProxyDnsBackendConfig = ProxyListenerConfig['dns'][number]
export type ProxyBackendTlsConfig = NonNullable<ProxyListenerConfig['backendTls']>
