// Host simulator configuration: one simulated VTAM host (SSCP + applications + LU 6.2 partner).
import { z } from 'zod'
import { adminSection, bool, duration, int, logLevel, port, snaName } from './fields.js'

const tpName = z.string().min(1).max(64)

export const hostSimSchema = z.object({
  name: snaName(),
  link: z.object({ host: z.string().default('127.0.0.1'), port: port() }).strict(),
  admin: adminSection(),
  /** Like z/OS DEFAPPL: an LU goes straight to this application; null shows the USS logon screen. */
  defaultApplication: snaName().nullable().default(null),
  /**
   * Like DEFAPPL ... FIRSTONLY: the default application is used only when the terminal arrives
   * (NOTIFY enabled); after a logoff the USS logon screen shows. Default false: a logoff from the
   * default application starts a new session with it, as DEFAPPL without FIRSTONLY does.
   */
  defaultApplicationFirstOnly: bool(false),
  applications: z.array(snaName()).default(['DEMO']),
  bind: z.object({
    rows: int(24, 255).default(24),
    cols: int(80, 255).default(80),
    altRows: int(0, 255).default(0),
    altCols: int(0, 255).default(0),
    maxRuPrimary: int(64, 32768).default(3840),
    maxRuSecondary: int(64, 32768).default(1024),
    /** Session-level pacing windows (0 = no pacing), host to LU and LU to host. */
    primarySendWindow: int(0, 63).default(7),
    secondarySendWindow: int(0, 63).default(7),
    adaptivePacing: z.boolean().default(false),
  }).strict().refine(b => (b.altRows === 0 && b.altCols === 0) || (b.altRows >= b.rows && b.altCols >= b.cols), {
    message: 'expected altRows/altCols both 0 (no alternate size) or at least rows/cols (BIND byte 24 X\'7F\', sna-formats.md §3.6)',
    path: ['altRows'],
  }).default({}),
  /** How long POST /restart keeps the link down before re-activating the PU and LUs. */
  restartDelay: duration('1s'),
  appc: z.object({
    lu: snaName().optional(),
    modes: z.array(z.object({
      name: z.string().min(1).max(8),
      sessionLimit: int(0, 32767).default(8),
      minWinners: int(0, 32767).default(0),
    }).strict()).default([]),
    tps: z.array(tpName).default(['ECHO', 'APINGD', 'TXN']),
  }).strict().default({}),
  log: z.object({ level: logLevel() }).strict().default({}),
}).strict().refine(c => c.defaultApplication === null || c.applications.includes(c.defaultApplication), {
  message: 'expected one of the configured applications',
  path: ['defaultApplication'],
})

export type HostSimConfig = z.output<typeof hostSimSchema>
