// Sizes of a run. Quick (`npm run bench`) keeps the whole run under five minutes on a busy
// 2-core machine: small N, short windows, few rounds; its ratios are indicative only. Full
// (`npm run bench -- --full`) is what the README's table and any claim about a goal come from.

export interface Mode {
  name: 'quick' | 'full'
  echo: { clients: number[], rounds: number, windowMs: number, warmupMs: number }
  setup: { concurrency: number[], rounds: number, windowMs: number, warmupMs: number }
  /** Idle sessions held open at each step (cumulative); a step above a process's open-file room is skipped. */
  idle: { steps: number[], settleMs: number }
  /**
   * Idle sessions spread evenly over `gateways` gateway processes, straight to their direct
   * listeners, held open in cumulative steps (total over all gateways); `timeoutMs` per session
   * from connect to its first screen.
   */
  scale: { gateways: number, steps: number[], settleMs: number, timeoutMs: number }
  flood: { count: number, rounds: number, windows: number[] }
  /**
   * holdMs: how long the clients stay frozen before they read again: past the gateway's
   * pacing.stallAfter (5 s by default), and long enough that a window-63 session has been seen
   * not to resume after it (30 s; 16 s did not show it).
   */
  stalled: { sessions: number, count: number, pauseAfter: number, holdMs: number, verify: number, windows: number[] }
}

export const QUICK: Mode = {
  name: 'quick',
  echo: { clients: [1, 16, 128], rounds: 3, windowMs: 600, warmupMs: 300 },
  setup: { concurrency: [1, 8], rounds: 3, windowMs: 600, warmupMs: 300 },
  idle: { steps: [250, 1000], settleMs: 1500 },
  scale: { gateways: 2, steps: [1000, 2000], settleMs: 1500, timeoutMs: 60_000 },
  flood: { count: 20_000, rounds: 3, windows: [7, 63] },
  stalled: { sessions: 20, count: 100_000, pauseAfter: 100, holdMs: 30_000, verify: 1, windows: [7, 63] },
}

export const FULL: Mode = {
  name: 'full',
  echo: { clients: [1, 16, 128], rounds: 8, windowMs: 2000, warmupMs: 1000 },
  // A few seconds: a new front's first windows cost 2–3× its steady state (V8 still compiling).
  setup: { concurrency: [1, 8], rounds: 8, windowMs: 2000, warmupMs: 3000 },
  idle: { steps: [1000, 5000, 9900, 19_000], settleMs: 5000 },
  // 15,000 sessions per gateway at the top: under the 20,000 descriptors of one process here.
  scale: { gateways: 4, steps: [15_000, 30_000, 60_000], settleMs: 5000, timeoutMs: 180_000 },
  flood: { count: 100_000, rounds: 5, windows: [7, 63] },
  stalled: { sessions: 200, count: 100_000, pauseAfter: 100, holdMs: 60_000, verify: 4, windows: [7, 63] },
}
