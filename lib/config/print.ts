// The effective config as `tn3270-lb check` prints it (docs/operations.md "Command line"): every default filled in, durations in
// milliseconds and sizes in bytes (the loader reads those back: a bare number is ms / bytes),
// secrets replaced so the output can go into a ticket.
import YAML from 'yaml'

export type ConfigFormat = 'yaml' | 'json'

export const REDACTED = '<redacted>'

/** Keys whose values are secrets wherever they appear; `key` only when it holds PEM text. */
const SECRET_KEYS = new Set(['token', 'apiToken'])

export function redactConfig (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactConfig)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    const pem = k === 'key' && typeof v === 'string' && v.includes('-----BEGIN')
    out[k] = (SECRET_KEYS.has(k) && typeof v === 'string') || pem ? REDACTED : redactConfig(v)
  }
  return out
}

export function formatConfig (config: unknown, format: ConfigFormat): string {
  const safe = redactConfig(config)
  return format === 'json' ? `${JSON.stringify(safe, null, 2)}\n` : YAML.stringify(safe)
}
