// Where session audit records go (docs/operations.md "Audit records"; the record itself is
// session-record.ts): one JSON line per ended session, to the log as `event: "session_audit"`
// or appended to `audit.file`. The file is reopened on SIGHUP, so logrotate can move it away and
// signal (its `postrotate` step), the way syslog daemons and pino's own destinations are rotated.
// Writes are asynchronous (pino's SonicBoom destination): a slow disk never holds a session up.
import { closeSync, openSync } from 'node:fs'
import { pino } from 'pino'
import type { AuditConfig } from '../config/index.js'
import { ErrorCodes, errorMessage, lbError } from '../errors.js'
import type { Logger } from '../observability/index.js'
import type { SessionAuditRecord } from './session-record.js'

type Destination = ReturnType<typeof pino.destination>

const EVENT = 'session_audit'

export class AuditLog {
  private config: AuditConfig
  private file: { path: string, dest: Destination } | undefined

  /** Opens `audit.file` now, so a path that cannot be written fails the start (or the reload). */
  constructor (config: AuditConfig, private readonly gateway: string, private readonly logger: Logger) {
    this.config = config
    this.file = config.enabled && config.file !== undefined ? this.open(config.file) : undefined
  }

  /** Where records go now: a file path, 'log', or 'off'. */
  get target (): string { return !this.config.enabled ? 'off' : this.file?.path ?? 'log' }

  write (record: SessionAuditRecord): void {
    if (!this.config.enabled) return
    if (this.file === undefined) {
      this.logger.info({ event: EVENT, ...record }, 'session audit record')
      return
    }
    this.file.dest.write(`${JSON.stringify({ time: new Date().toISOString(), event: EVENT, gateway: this.gateway, ...record })}\n`)
  }

  /**
   * A reload's audit section: a new path is opened before the old file is closed, so a path that
   * cannot be written throws and leaves the old one in use.
   */
  configure (config: AuditConfig): void {
    const path = config.enabled ? config.file : undefined
    if (path !== this.file?.path) {
      const next = path === undefined ? undefined : this.open(path)
      this.closeFile()
      this.file = next
    }
    this.config = config
  }

  /** SIGHUP: the file may have been moved away by log rotation; write to a fresh one at the path. */
  reopen (): void {
    this.file?.dest.reopen()
  }

  async close (): Promise<void> {
    const dest = this.file?.dest
    this.file = undefined
    if (dest === undefined) return
    await new Promise<void>(resolve => {
      dest.once('close', () => resolve())
      dest.end()
    })
  }

  private open (path: string): { path: string, dest: Destination } {
    try {
      closeSync(openSync(path, 'a'))
    } catch (err) {
      throw lbError(ErrorCodes.CONFIG_INVALID, `config: audit.file = ${JSON.stringify(path)}: expected a file the gateway can append to (${errorMessage(err)})`, err)
    }
    const dest = pino.destination({ dest: path, append: true, sync: false })
    dest.on('error', (err: unknown) => { this.logger.error({ event: 'audit_file_error', file: path, err: errorMessage(err) }, 'audit file write failed') })
    return { path, dest }
  }

  private closeFile (): void {
    this.file?.dest.end()
    this.file = undefined
  }
}
