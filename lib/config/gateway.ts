// Gateway configuration (ARCHITECTURE §5). Every key can come from YAML, the environment
// (TN3270LB_KEEPALIVE__WATCHDOGTIMEOUT=1s) or `--set keepalive.watchdogTimeout=1s`.
import { z } from 'zod'
import { adminSection, bool, cidr, duration, int, logLevel, port, size, snaName } from './fields.js'

const tlsClient = z.object({
  ca: z.string().optional(),
  servername: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  rejectUnauthorized: bool(true),
}).strict()

const snaLink = z.object({
  type: z.literal('sna'),
  host: z.string().default('127.0.0.1'),
  port: port(),
  /** Link-level keepalive interval and how many may go unanswered (seed 004 applied to the link). */
  keepaliveInterval: duration('5s'),
  keepaliveLimit: int(1, 1000).default(3),
  reconnectMin: duration('250ms'),
  reconnectMax: duration('10s'),
}).strict()

const tn3270Link = z.object({
  type: z.literal('tn3270'),
  host: z.string().default('127.0.0.1'),
  port: port(),
  tls: tlsClient.optional(),
  connectTimeout: duration('5s'),
  /** How the gateway asks the host for a resource: TN3270E CONNECT or terminal-type `@NAME`. */
  luRequest: z.enum(['connect', 'ttype']).default('ttype'),
  terminalType: z.string().default('IBM-3278-2-E'),
  /** A resource the host refused stays out of rotation this long. */
  resourceRetryAfter: duration('30s'),
  /** Link probe while no session is up (reconnect check for the host link gauge). */
  probeInterval: duration('5s'),
  /**
   * Keepalive toward the host on every session (seed 004 applied upstream): TIMING-MARK by
   * default; `nop` for hosts that never answer DO TIMING-MARK (Hercules 3.13, measured).
   */
  keepaliveMethod: z.enum(['timingmark', 'nop', 'none']).default('timingmark'),
  keepaliveInterval: duration('60s'),
  keepaliveLimit: int(1, 1000).default(3),
}).strict()

const host = z.object({
  name: snaName(),
  link: z.discriminatedUnion('type', [snaLink, tn3270Link]),
}).strict()

const luEntry = z.union([
  z.string(),
  z.object({ name: snaName(), locaddr: int(1, 255).optional(), resource: z.string().optional() }).strict(),
])

const pool = z.object({
  name: snaName(),
  host: snaName(),
  /** LU names, ranges `GW1A0001..GW1A0004`, or objects with locaddr (sna) / resource (tn3270). */
  lus: z.array(luEntry).default([]),
  /** tn3270 links: this many generic sessions, named `<POOL>nnn` unless named in `lus`. */
  generic: int(0, 10000).default(0),
}).strict()

const listener = z.object({
  name: z.string().min(1),
  host: z.string().default('127.0.0.1'),
  port: port(),
  /** Pools this listener serves; the first is the default pool for generic requests. */
  pools: z.array(snaName()).min(1, 'expected at least one pool name'),
  closeListenSocket: bool(true),
  proxyProtocol: z.object({
    mode: z.enum(['off', 'optional', 'required']).default('off'),
    trustedSources: z.array(cidr()).default([]),
  }).strict().default({}),
}).strict()

const keepalive = z.object({
  method: z.enum(['timingmark', 'nop', 'none']).default('timingmark'),
  watchdogTimeout: duration('60s'),
  keepAliveLimit: int(1, 1_000_000).default(3),
  hardClose: bool(false),
  /** Bound on a graceful close after event 701: reset if the client has not closed by then. */
  gracefulCloseTimeout: duration('5s'),
}).strict().default({})

const negotiation = z.object({
  timeout: duration('10s'),
  tn3270e: bool(true),
  maxRecordSize: size('64KiB'),
  maxSubnegotiation: size('1KiB'),
  /**
   * Connections one client address may have still negotiating; more are closed at once. Capacity
   * is reserved at accept (CloseListenSocket), so without a cap one client holding idle connects
   * could keep a listener closed. Trusted PROXY sources (a front proxy) are exempt. 0 = no cap.
   */
  maxPendingPerClient: int(0, 100_000).default(16),
}).strict().default({})

const pacing = z.object({
  /** Room below this many queued bytes toward a client counts as application credit. */
  highWaterMark: size('64KiB'),
  /** A session waiting for client credit longer than this counts as stalled. */
  stallAfter: duration('5s'),
  /** Inbound records queued while the host's window is closed; beyond it the client is told and closed. */
  inboundQueueLimit: int(1, 100_000).default(64),
}).strict().default({})

const appcMode = z.object({
  name: z.string().min(1).max(8),
  sessionLimit: int(0, 32767).default(8),
  /** Minimum contention winners for the gateway (source) and the partner (target) side. */
  minWinners: int(0, 32767).default(4),
  minPartnerWinners: int(0, 32767).default(0),
  autoActivate: int(0, 32767).default(0),
}).strict()

const appcPartner = z.object({
  name: snaName(),
  host: snaName(),
  localLu: snaName().optional(),
  modes: z.array(appcMode).default([]),
}).strict()

const appc = z.object({
  renegLimits: bool(false),
  retryCnos: bool(true),
  /** In 5-second ticks; 0 = never (seed 002). */
  sesTimeout: int(0, 1_000_000).default(4),
  allocateTimeout: duration('30s'),
  apiToken: z.string().optional(),
  partners: z.array(appcPartner).default([]),
}).strict().default({})

export const gatewaySchema = z.object({
  name: z.string().min(1).default('gateway'),
  admin: adminSection(),
  listeners: z.array(listener).default([]),
  hosts: z.array(host).default([]),
  pools: z.array(pool).default([]),
  negotiation,
  keepalive,
  pacing,
  appc,
  drainTimeout: duration('30s'),
  log: z.object({ level: logLevel() }).strict().default({}),
}).strict()

export type GatewayConfig = z.output<typeof gatewaySchema>
export type GatewayHostConfig = GatewayConfig['hosts'][number]
export type GatewayPoolConfig = GatewayConfig['pools'][number]
export type GatewayListenerConfig = GatewayConfig['listeners'][number]
export type KeepAliveConfig = GatewayConfig['keepalive']
export type PacingConfig = GatewayConfig['pacing']
export type AppcConfig = GatewayConfig['appc']
export type SnaLinkConfig = z.output<typeof snaLink>
export type Tn3270LinkConfig = z.output<typeof tn3270Link>
