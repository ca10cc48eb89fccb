// Host simulator configuration: one simulated VTAM host (SSCP + applications + LU 6.2 partner).
// Each key's `.describe()` text is its entry in docs/configuration.md (`npm run docs:config`).
import { z } from 'zod'
import { adminSection, bool, duration, int, logLevel, port, snaName } from './fields.js'

const tpName = z.string().min(1).max(64)

const bind = z.object({
  rows: int(24, 255).default(24).describe('default screen rows in the LU 2 BIND presentation space'),
  cols: int(80, 255).default(80).describe('default screen columns'),
  altRows: int(0, 255).default(0).describe('alternate screen rows; 0 with `altCols` 0 = no alternate size'),
  altCols: int(0, 255).default(0).describe('alternate screen columns'),
  maxRuPrimary: int(64, 32768).default(3840).describe('largest RU the host sends (BIND byte 11, rounded down to what the byte can encode)'),
  maxRuSecondary: int(64, 32768).default(1024).describe('largest RU the LU may send (BIND byte 10)'),
  primarySendWindow: int(0, 63).default(7).describe('session pacing window host → LU; 0 = no pacing'),
  secondarySendWindow: int(0, 63).default(7).describe('session pacing window LU → host; 0 = no pacing'),
  adaptivePacing: z.boolean().default(false).describe('announce adaptive session-level pacing in the BIND'),
  query: z.boolean().default(false).describe('screen size code X\'03\' (a query logmode such as D4C32XX3): default 24x80, the alternate size the terminal reports; DEMO sends a Read Partition Query after SDT and uses the reply\'s size and code page'),
}).strict().refine(b => (b.altRows === 0 && b.altCols === 0) || (b.altRows >= b.rows && b.altCols >= b.cols), {
  // BIND PS byte 24: X'7E' default size only, X'7F' an alternate size too ("SNA Formats", GA27-3136).
  message: 'expected altRows/altCols both 0 (no alternate size) or at least rows/cols',
  path: ['altRows'],
}).refine(b => !b.query || (b.rows === 24 && b.cols === 80 && b.altRows === 0 && b.altCols === 0), {
  // X'03': "the primary screen size is 24x80, and the alternate screen size is determined by the
  // device" (SNA Network Implementation Guide, SC27-3672, PSERVIC operand of MODEENT).
  message: 'with query: true the screen is 24x80 plus what the terminal reports; leave rows, cols, altRows and altCols at their defaults',
  path: ['query'],
}).default({}).describe('the LU 2 BIND the host sends ("SNA Formats", GA27-3136, BIND)')

export const hostSimSchema = z.object({
  name: snaName().describe('host name (SSCP and log name); the gateway\'s `hosts[].name`'),
  link: z.object({
    host: z.string().default('127.0.0.1').describe('address gateways connect their sna link to'),
    port: port().describe('link port'),
  }).strict().describe('where gateways connect (docs/hostlink.md)'),
  admin: adminSection(),
  defaultApplication: snaName().nullable().default(null)
    .describe('like z/OS DEFAPPL: an LU goes straight to this application; null shows the USS logon screen'),
  defaultApplicationFirstOnly: bool(false)
    .describe('like DEFAPPL with FIRSTONLY: the default application only when the terminal arrives; after a logoff the USS screen shows'),
  applications: z.array(snaName()).default(['DEMO']).describe('applications a terminal may log on to'),
  printerApplication: snaName().nullable().default(null)
    .describe('like LOGAPPL on a printer LU\'s VTAM definition: the application a printer LU (a gateway pool of `kind: printer`) is bound to as soon as its printer attaches; null = the first of `applications` (docs/printers.md)'),
  bind,
  restartDelay: duration('1s').describe('how long POST /restart keeps the link down before re-activating the PU and LUs'),
  appc: z.object({
    lu: snaName().optional().describe('the host\'s LU 6.2 partner LU; omitted = no APPC'),
    modes: z.array(z.object({
      name: z.string().min(1).max(8).describe('mode name'),
      sessionLimit: int(0, 32767).default(8).describe('the most sessions the host accepts in CNOS'),
      minWinners: int(0, 32767).default(0).describe('contention winners the host keeps for itself'),
    }).strict()).default([]).describe('modes the partner accepts'),
    tps: z.array(tpName).default(['ECHO', 'APINGD', 'TXN']).describe('transaction programs the partner runs'),
  }).strict().default({}).describe('LU 6.2 partner'),
  log: z.object({ level: logLevel() }).strict().default({}),
}).strict().refine(c => c.defaultApplication === null || c.applications.includes(c.defaultApplication), {
  message: 'expected one of the configured applications',
  path: ['defaultApplication'],
}).refine(c => c.printerApplication === null || c.applications.includes(c.printerApplication), {
  message: 'expected one of the configured applications',
  path: ['printerApplication'],
})

export type HostSimConfig = z.output<typeof hostSimSchema>
