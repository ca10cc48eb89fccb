// Gateway configuration (docs/configuration.md). Every key can come from YAML, the environment
// (TN3270LB_KEEPALIVE__WATCHDOGTIMEOUT=1s) or `--set keepalive.watchdogTimeout=1s`. Each key's
// `.describe()` text is its entry in the reference that `npm run docs:config` writes.
import { z } from 'zod'
import { adminSection, bool, cidr, duration, int, logLevel, port, size, snaName } from './fields.js'
import { identitySection } from './identity.js'
import { expandLuEntry } from './lu-names.js'
import { gatewayReferences } from './references.js'
import { tlsClient, tlsListener } from './tls.js'

const snaLink = z.object({
  type: z.literal('sna').describe('`sna`: FID2 PIUs over TCP to an SNA host (the host simulator; docs/hostlink.md)'),
  host: z.string().default('127.0.0.1').describe('host link address'),
  port: port().describe('host link port'),
  keepaliveInterval: duration('5s').describe('link keepalive interval (KB Q137309 applied to the link)'),
  keepaliveLimit: int(1, 1000).default(3).describe('link keepalives that may go unanswered before the link is dropped and reconnected'),
  reconnectMin: duration('250ms').describe('first reconnect delay after the link drops; doubles per attempt'),
  reconnectMax: duration('10s').describe('longest reconnect delay'),
}).strict()

const tn3270Link = z.object({
  type: z.literal('tn3270').describe('`tn3270`: the gateway is a TN3270(E) client of a real host (z/OS, Hercules)'),
  host: z.string().default('127.0.0.1').describe('host address'),
  port: port().describe('host TN3270 port'),
  tls: tlsClient().optional().describe('TLS toward the host; omitted = plain TCP'),
  connectTimeout: duration('5s').describe('per host connect and negotiation'),
  luRequest: z.enum(['connect', 'ttype']).default('ttype')
    .describe('how a resource is asked for: TN3270E CONNECT (RFC 2355 §7.1) or the terminal type `IBM-3278-2-E@NAME`'),
  terminalType: z.string().default('IBM-3278-2-E').describe('terminal type sent to the host'),
  resourceRetryAfter: duration('30s').describe('a resource the host refused stays out of rotation this long'),
  probeInterval: duration('5s').describe('reachability probe while no session is up (drives the host link gauge)'),
  keepaliveMethod: z.enum(['timingmark', 'nop', 'none']).default('timingmark')
    .describe('keepalive toward the host on every session (KB Q137309 applied upstream); `nop` for hosts that never answer DO TIMING-MARK (Hercules 3.13)'),
  keepaliveInterval: duration('60s').describe('host keepalive interval'),
  keepaliveLimit: int(1, 1000).default(3).describe('host keepalives that may go unanswered before the session is ended'),
}).strict()

const host = z.object({
  name: snaName().describe('host name that pools and APPC partners refer to'),
  link: z.discriminatedUnion('type', [snaLink, tn3270Link]).describe('how the gateway reaches the host; `type` selects the keys'),
}).strict()

const luEntry = z.union([
  z.string().refine(s => expandLuEntry(s) !== undefined,
    'expected an LU name (1-8 of A-Z 0-9 @ # $, not starting with a digit) or a range like GW1A001..GW1A032'),
  z.object({
    name: snaName().describe('LU name'),
    locaddr: int(1, 255).optional().describe('sna links: local address of the LU on its PU; omitted = the next free one from 2, on the next PU once a PU\'s 254 are taken (docs/hostlink.md "PUs")'),
    pu: int(1, 255).optional().describe('sna links, with `locaddr`: which of the host\'s PUs (1 = the first, named after the gateway) the LU is on; omitted = 1'),
    resource: z.string().optional().describe('tn3270 links: the host resource to ask for (z/OS LU name, Hercules device number or group)'),
    printer: snaName().optional()
      .describe('display pools: the printer LU associated with this display LU, the one a TN3270E `ASSOCIATE` for it gets (RFC 2355 §7.1); wins over `printerPool`'),
  }).strict().refine(e => e.pu === undefined || e.locaddr !== undefined, { message: 'expected `locaddr` with `pu` (an LU without a local address takes the next free one on any PU)', path: ['pu'] }),
])

const pool = z.object({
  name: snaName().describe('pool name: what a TN3270E CONNECT or `LU@` terminal type may ask for; disjoint from LU names'),
  host: snaName().describe('the host (`hosts[].name`) whose LUs these are'),
  lus: z.array(luEntry).default([])
    .describe('LU names, ranges `GW1A001..GW1A032`, or objects `{ name, locaddr, pu }` (sna) / `{ name, resource }` (tn3270); `${ORDINAL}` gives each replica its own names; an sna host with more than 254 LUs gets a PU per 254 (docs/hostlink.md "PUs")'),
  generic: int(0, 10000).default(0).describe('tn3270 links: this many extra sessions that ask the host for any device, named `<POOL>nnn`'),
  kind: z.enum(['display', 'printer']).default('display')
    .describe('`display`: terminals (LU type 2, device types IBM-3278-n, IBM-DYNAMIC); `printer`: printers (device type IBM-3287-1), LU type `luType` (docs/printers.md)'),
  luType: z.enum(['lu1', 'lu3']).optional()
    .describe('printer pools: `lu1` SCS printers (SCS-DATA, the SCS-CTL-CODES function) or `lu3` 3270 data stream printers (3270-DATA, DATA-STREAM-CTL); omitted = `lu1`'),
  printerPool: snaName().optional()
    .describe('display pools: the printer pool whose LU at the same position is each display LU\'s associated printer (ASSOCIATE, RFC 2355 §7.1), like z/OS pairing terminal and printer LU groups of equal size; it needs at least as many LUs'),
}).strict()

const listener = z.object({
  name: z.string().min(1).describe('listener name (metric label)'),
  host: z.string().default('127.0.0.1').describe('address to listen on'),
  port: port().describe('TN3270 port'),
  pools: z.array(snaName()).min(1, 'expected at least one pool name')
    .describe('pools served here, in order of preference; the first is the default for generic requests'),
  closeListenSocket: bool(true).describe('close the listening socket while no LU can be served (KB Q101235); false = listen always and refuse in band'),
  proxyProtocol: z.object({
    mode: z.enum(['off', 'optional', 'required']).default('off')
      .describe('PROXY protocol v2 header from the front proxy (HAProxy doc/proxy-protocol.txt): off, optional (direct clients too) or required'),
    trustedSources: z.array(cidr()).default([]).describe('networks a PROXY header is accepted from, e.g. `10.0.0.0/8`; its client address and TLS facts (TLVs) are believed only from these'),
  }).strict().default({}).describe('client address from a front proxy'),
  tls: tlsListener().optional().describe('TLS for clients on this listener (after the PROXY v2 header, which comes in plaintext); omitted = plain telnet, and a TLS client is closed with one log line'),
}).strict()

const keepalive = z.object({
  method: z.enum(['timingmark', 'nop', 'none']).default('timingmark').describe('keepalive sent to clients (KB Q137309): TIMING-MARK, NOP or none'),
  watchdogTimeout: duration('60s').describe('interval of the keepalive watchdog'),
  keepAliveLimit: int(1, 1_000_000).default(3).describe('watchdog ticks with a keepalive outstanding (event 700 each) before the connection is aborted (event 701)'),
  hardClose: bool(false).describe('abort with RST at the limit; false = graceful close'),
  gracefulCloseTimeout: duration('5s').describe('a graceful close after event 701 becomes a reset if the client has not closed by then'),
}).strict().default({})

const negotiation = z.object({
  timeout: duration('10s').describe('accept to negotiated TN3270(E) session; slower clients are closed'),
  tn3270e: bool(true).describe('offer TN3270E (RFC 2355); false = TN3270 only (RFC 1576)'),
  maxRecordSize: size('64KiB').describe('largest client record accepted'),
  maxSubnegotiation: size('1KiB').describe('largest telnet subnegotiation accepted'),
  clientHelloWait: duration('50ms')
    .describe('a listener without `tls` and with `proxyProtocol.mode: off`: how long the first telnet command waits for a TLS ClientHello, so a TLS client is closed with one clear line instead of failing as telnet; 0 = one event-loop turn'),
  maxPendingPerClient: int(0, 100_000).default(16)
    .describe('connections one client may have still negotiating (TLS included), counted by its real address (the PROXY v2 source behind a proxy); more are closed at once; 0 = no cap'),
}).strict().default({})

const pacing = z.object({
  highWaterMark: size('64KiB').describe('room below this many queued bytes toward a client counts as application credit (KB Q181737), priced at the size of the host\'s recent RUs (never above the BIND max RU); a frozen client costs at most this plus one window'),
  stallAfter: duration('5s').describe('a session waiting for client credit longer than this counts as stalled (metric)'),
  inboundQueueLimit: int(1, 100_000).default(64).describe('client records queued while the host withholds its window; beyond it the client is told and closed'),
}).strict().default({})

const appcMode = z.object({
  name: z.string().min(1).max(8).describe('mode name, e.g. `#INTER`'),
  sessionLimit: int(0, 32767).default(8).describe('session limit proposed by CNOS'),
  minWinners: int(0, 32767).default(4).describe('minimum contention winners for the gateway (source)'),
  minPartnerWinners: int(0, 32767).default(0).describe('minimum contention winners for the partner (target)'),
  autoActivate: int(0, 32767).default(0).describe('contention-winner sessions bound as soon as CNOS completes and kept bound (SESTIMEOUT does not unbind them)'),
}).strict()

const appcPartner = z.object({
  name: snaName().describe('partner LU name'),
  host: snaName().describe('the host (`hosts[].name`, an sna link) the partner is reached over'),
  localLu: snaName().optional().describe('the gateway\'s LU name toward this partner; omitted = the gateway\'s PU name (its `name` upper-cased)'),
  modes: z.array(appcMode).default([]).describe('modes and their session limits'),
}).strict()

const appc = z.object({
  renegLimits: bool(false).describe('renegotiate session limits (CNOS) after the partner reset them (KB Q107866 RENEGLIMITS)'),
  retryCnos: bool(true).describe('retry a CNOS the partner refused or never answered (KB Q107866 RETRYCNOS)'),
  sesTimeout: int(0, 1_000_000).default(4).describe('idle contention-winner sessions are unbound after this many 5-second ticks; 0 = never (KB 831976)'),
  allocateTimeout: duration('30s').describe('how long an allocate waits for a session'),
  partners: z.array(appcPartner).default([]).describe('LU 6.2 partners'),
}).strict().default({})

const audit = z.object({
  enabled: bool(true).describe('write one audit record per ended client session (client, LU, host, application, bytes and records each way, end reason; never screen data)'),
  file: z.string().min(1).optional()
    .describe('append the records to this file, one JSON line each, reopened on SIGHUP (log rotation); omitted = the log, as `event: "session_audit"` lines'),
}).strict().default({}).describe('session audit records, like the TN3270 session records of z/OS SMF type 119 (docs/operations.md "Audit records")')

/**
 * Each section of a gateway config with its types and defaults, nothing across sections: for
 * code that builds part of a config (unit tests). `tn3270-lb gateway` loads gatewayConfigSchema.
 */
export const gatewaySchema = z.object({
  name: z.string().min(1).default('gateway').describe('gateway name: logs, `/status`, and the PU name (upper-cased, cut to 8 characters) on sna links; a host\'s further PUs end in `P2`, `P3` ...; gateways sharing a host need PU names that differ (docs/hostlink.md "PU names")'),
  admin: adminSection(),
  listeners: z.array(listener).default([]).describe('TN3270 listeners'),
  hosts: z.array(host).default([]).describe('hosts and how they are reached'),
  pools: z.array(pool).default([]).describe('LU pools, one host each'),
  negotiation,
  keepalive,
  pacing,
  appc,
  audit,
  identity: identitySection(),
  maxSessionsPerClient: int(0, 1_000_000).default(2000)
    .describe('connections (negotiating or in session) one client may hold, by its real address; more are closed at once (Microsoft HIS allows 2,000 per client address, KB 814166); 0 = no cap'),
  drainTimeout: duration('30s').describe('SIGTERM: sessions may continue this long, then clients are told and LUs unbound'),
  log: z.object({ level: logLevel() }).strict().default({}),
}).strict()

/**
 * A whole gateway as `tn3270-lb gateway` and `tn3270-lb check` load it: gatewaySchema plus the
 * checks across sections (at least one listener and pool, pools on known hosts, listeners on
 * known pools, APPC partners on sna hosts, LU names unique), so a bad file fails before start.
 */
export const gatewayConfigSchema = gatewaySchema.superRefine(gatewayReferences)

export type GatewayConfig = z.output<typeof gatewaySchema>
export type GatewayHostConfig = GatewayConfig['hosts'][number]
export type GatewayPoolConfig = GatewayConfig['pools'][number]
export type GatewayListenerConfig = GatewayConfig['listeners'][number]
export type KeepAliveConfig = GatewayConfig['keepalive']
export type PacingConfig = GatewayConfig['pacing']
export type AppcConfig = GatewayConfig['appc']
export type AuditConfig = GatewayConfig['audit']
export type SnaLinkConfig = z.output<typeof snaLink>
export type Tn3270LinkConfig = z.output<typeof tn3270Link>
export type { IdentityConfig, IdentityRuleConfig, IdentityGrantConfig } from './identity.js'
export type { TlsListenerConfig, TlsClientConfig } from './tls.js'
