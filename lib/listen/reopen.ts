// How soon a listener that could not reopen its port (EADDRINUSE: an outgoing connection took it as
// its source port, or it is in TIME-WAIT) tries again: soon, so it reopens as soon as the port is
// free, and less often while it stays taken (docs/operations.md "Listener ports"). Pure.
//   delay(n) = min(REOPEN_MAX_MS, REOPEN_MIN_MS · 2^(n-1))   n = failures in a row (1, 2, ...)

export const REOPEN_MIN_MS = 50
export const REOPEN_MAX_MS = 2000

export function reopenDelay (failures: number): number {
  const n = Math.max(1, Math.min(failures, 20))
  return Math.min(REOPEN_MAX_MS, REOPEN_MIN_MS * 2 ** (n - 1))
}
