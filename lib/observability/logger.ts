// pino JSON logs, one line per event (docs/operations.md "Logs"). Screen contents never go out at
// info level: 3270 data carries passwords, so callers log sizes and AIDs, not bytes.
import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

export interface LoggerOptions {
  level?: string
  /** Bindings on every line, e.g. { gateway: 'gw1' } or { role: 'proxy' }. */
  base?: Record<string, unknown>
  /** Where lines go; default stdout. Tests pass a stream to read events back. */
  destination?: DestinationStream
}

export function createLogger (opts: LoggerOptions = {}): Logger {
  return pino({
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, opts.destination ?? pino.destination({ fd: 1, sync: false }))
}

/** A logger that drops everything; for unit tests of modules that take a logger. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
