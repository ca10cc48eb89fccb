// Waiting in tests for a state that no event announces (a metric, a log line, another process's
// view). Prefer awaiting an event; use this where there is none to await. The default wait is
// long because it only matters when the state never comes: on a loaded machine, other processes
// (a forked worker compiling TypeScript, a status poll) can take many seconds.

/** Resolves with the first value of `probe` other than undefined; a probe that throws counts as not yet. */
export async function untilValue<T> (what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 30_000, every = 20): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch { /* not there yet */ }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, every))
  }
}

/** Resolves once `cond` holds, with the milliseconds it took. */
export async function until (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000, every = 20): Promise<number> {
  const start = Date.now()
  await untilValue(what, async () => (await cond()) ? true : undefined, ms, every)
  return Date.now() - start
}
