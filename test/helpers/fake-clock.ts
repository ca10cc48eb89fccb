// Deterministic clock for tests of engines that take a Clock (lib/clock.ts).
import type { Clock, Timer } from '../../lib/clock.js'

/** `advance(ms)` runs due timers in time order. */
export class FakeClock implements Clock {
  private current: number
  private seq = 0
  private readonly timers = new Map<number, { at: number, fn: () => void }>()

  constructor (start = 0) { this.current = start }

  now (): number { return this.current }

  setTimeout (fn: () => void, ms: number): Timer {
    const id = ++this.seq
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn })
    return { id }
  }

  clearTimeout (timer: Timer): void { this.timers.delete(timer.id as number) }

  get pending (): number { return this.timers.size }

  advance (ms: number): void {
    const end = this.current + ms
    for (;;) {
      let nextId = -1
      let nextAt = Infinity
      for (const [id, t] of this.timers) {
        if (t.at <= end && (t.at < nextAt || (t.at === nextAt && id < nextId))) { nextAt = t.at; nextId = id }
      }
      if (nextId === -1) break
      const t = this.timers.get(nextId)!
      this.timers.delete(nextId)
      this.current = t.at
      t.fn()
    }
    this.current = end
  }
}
