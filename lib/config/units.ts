// Durations and sizes as operators write them (docs/configuration.md): `500ms`, `1s`, `5m`, `64KiB`.
// Plain numbers are taken as milliseconds / bytes so that env overrides stay easy to type.

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/
const DURATION_FACTOR: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parses `500ms`, `1s`, `1.5s`, `5m`, `2h` or a number of milliseconds; undefined if invalid. */
export function parseDuration (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text)
  const m = DURATION.exec(text)
  if (m === null) return undefined
  return Math.round(Number(m[1]) * DURATION_FACTOR[m[2]])
}

const SIZE = /^(\d+)(B|KiB|MiB|GiB)?$/
const SIZE_FACTOR: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }

/** Parses `64KiB`, `1MiB`, `512B`, `4096` or a number of bytes; undefined if invalid. */
export function parseSize (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string') return undefined
  const m = SIZE.exec(value.trim())
  if (m === null) return undefined
  return Number(m[1]) * SIZE_FACTOR[m[2] ?? 'B']
}

export function formatDuration (ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`
  return `${ms}ms`
}
