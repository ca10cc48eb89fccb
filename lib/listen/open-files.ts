// How many connections a front door can hold before the process runs out of descriptors. The
// soft RLIMIT_NOFILE (getrlimit(2)) is read from /proc/self/limits (proc(5)), as Node has no
// getrlimit. A proxy holds two descriptors per client (client and backend), so without a cap a
// process at the limit fails accept() or its backend connect with EMFILE and drops clients it
// already took; at the cap it stops accepting instead (HAProxy's maxconn does the same), and a
// sibling worker process or a hot-backup client's next address takes the connection.
import { readFileSync } from 'node:fs'

export const PROC_LIMITS_FILE = '/proc/self/limits'

/** The soft "Max open files" of a /proc/<pid>/limits text; undefined if absent or unlimited. */
export function parseOpenFileLimit (text: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(text)
  if (m === null || m[1] === 'unlimited') return undefined
  const n = Number(m[1])
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

/** This process's soft open-file limit, or undefined where it cannot be read (not Linux). */
export function openFileLimit (file = PROC_LIMITS_FILE): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync(file, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * Connections that fit under `limit` descriptors at `perConnection` each, keeping `spare` for
 * listeners, admin, host links and logs; 0 (no cap) when the limit is unknown.
 */
export function connectionsWithin (limit: number | undefined, perConnection: number, spare = 100): number {
  if (limit === undefined) return 0
  return Math.max(1, Math.floor((limit - spare) / perConnection))
}
