// Which role a config file is for, when `tn3270-lb check` is not told (docs/configuration.md):
// a host simulator has a top-level `link`, a proxy's listeners name `backends` or `dns`, and
// anything else is checked as a gateway.

export type ConfigRole = 'gateway' | 'proxy' | 'host-sim'

export function roleOfConfig (raw: unknown): ConfigRole {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'gateway'
  const top = raw as Record<string, unknown>
  if (top.link !== undefined) return 'host-sim'
  const listeners = Array.isArray(top.listeners) ? top.listeners as unknown[] : []
  return listeners.some(l => l !== null && typeof l === 'object' && ('backends' in l || 'dns' in l)) ? 'proxy' : 'gateway'
}
