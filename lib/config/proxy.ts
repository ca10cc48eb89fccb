// Front proxy configuration (ARCHITECTURE §5). Every key can come from YAML, the environment
// (TN3270LB_CONNECTTIMEOUT=3s, TN3270LB_LISTENERS__0__PORT=3270) or `--set connectTimeout=3s`.
import { z } from 'zod'
import { adminSection, bool, duration, int, logLevel, port } from './fields.js'

const weight = () => int(0, 256).default(1)

const staticBackend = z.object({
  /** Unique name: the `backend` label on metrics and in logs. */
  name: z.string().min(1),
  host: z.string().min(1),
  port: port(),
  /** Gateway admin base URL (http://host:port); its /status is polled. Omitted = no polling. */
  adminUrl: z.string().url('expected a URL like http://gw1:3371').optional(),
  /** Relative weight 0-256 (0 = no new sessions). */
  weight: weight(),
}).strict()

const dnsBackends = z.object({
  /** DNS name to resolve, e.g. gw.tn3270.svc.cluster.local or _tn3270._tcp.gw.tn3270.svc.cluster.local. */
  name: z.string().min(1),
  type: z.enum(['A', 'SRV']).default('A'),
  /** TN3270 port of every address (required for A; overrides the SRV port if set). */
  port: port().optional(),
  /** Gateway admin port on the same addresses; omitted = no /status polling. */
  adminPort: port().optional(),
  refresh: duration('10s'),
  weight: weight(),
}).strict().refine(d => d.type !== 'A' || d.port !== undefined, { message: 'required for type A, expected a port', path: ['port'] })

const listener = z.object({
  name: z.string().min(1),
  host: z.string().default('127.0.0.1'),
  port: port(),
  /** Stop listening while no backend can take a client (seed 000); false = accept and close. */
  closeListenSocket: bool(true),
  /** PROXY protocol toward the backends: v2 carries the client's address (proxy-protocol.txt §2.2). */
  proxyProtocol: z.enum(['off', 'v2']).default('off'),
  backends: z.array(staticBackend).default([]),
  dns: z.array(dnsBackends).default([]),
}).strict().refine(l => l.backends.length > 0 || l.dns.length > 0, { message: 'expected at least one backend or dns entry', path: ['backends'] })

export const proxySchema = z.object({
  name: z.string().min(1).default('proxy'),
  admin: adminSection(),
  listeners: z.array(listener).min(1, 'expected at least one listener'),
  /** Per backend connect attempt (our own timer), before failing over to the next backend. */
  connectTimeout: duration('3s'),
  /** A backend that closes within this time of the connect, having sent nothing, is failed over. */
  earlyCloseWindow: duration('1s'),
  statusInterval: duration('2s'),
  statusTimeout: duration('1s'),
  /** A /status answer older than this no longer counts: the backend is not chosen. */
  statusStaleAfter: duration('10s'),
  ejection: z.object({
    /** Consecutive connect failures that eject a backend. */
    failures: int(1, 1000).default(3),
    baseTime: duration('5s'),
    maxTime: duration('5m'),
  }).strict().default({}),
  /** No byte either way for this long closes a session; 0 = never. */
  idleTimeout: duration('0'),
  /** After one side closes its direction (FIN), the other must close within this time; 0 = never. */
  halfCloseTimeout: duration('30s'),
  /** TCP keepalive initial delay on both legs; 0 = off. */
  tcpKeepAlive: duration('60s'),
  /** SIGTERM: sessions may continue this long, then are closed. */
  drainTimeout: duration('30s'),
  /** Remaining sessions are closed spread over this time after drainTimeout. */
  closeSpreadTime: duration('5s'),
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
