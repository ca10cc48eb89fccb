// Reconnect delay: capped exponential backoff with jitter. Pure (random injected).
//   base(n)  = min(max, min · 2^n)            n = failed attempts since the link was last up
//   delay(n) = clamp(base(n) · (0.5 + random()), min, max)
// so each delay is base ±50 %, never below reconnectMin nor above reconnectMax; the jitter
// spreads gateways that lost the same host so they do not reconnect in lockstep.
export function backoffDelay (attempt: number, min: number, max: number, random: () => number): number {
  if (!(min > 0) || !(max >= min)) throw new RangeError(`backoff needs 0 < reconnectMin <= reconnectMax, got ${min} and ${max}`)
  const base = Math.min(max, min * 2 ** Math.min(Math.max(0, attempt), 40))
  const r = Math.min(1, Math.max(0, random()))
  return Math.round(Math.min(max, Math.max(min, base * (0.5 + r))))
}
