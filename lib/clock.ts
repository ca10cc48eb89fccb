// Time as a dependency: pure engines (keepalive, pacing stall detection, SESTIMEOUT, backoff)
// take a Clock so tests drive them with a fake one instead of sleeping.

export type Timer = { readonly id: unknown }

export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => Timer
  clearTimeout: (timer: Timer) => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return { id: t }
  },
  clearTimeout: (timer) => clearTimeout(timer.id as NodeJS.Timeout),
}
