// Config reload of a running proxy, every open session kept (docs/operations.md "Reload"): the
// keys are checked against PROXY_RELOAD_RULES (lib/config: no listener address or port, admin
// address, name or log level changes), then each frontend takes its listener's new backends, DNS
// sources and session settings (frontend.ts), the pools their status timing and ejection policy,
// and the admin server the token. Backends that leave keep their sessions until those end, as
// when they leave DNS. Drain and close-spread times are read from the config at drain.
import { checkReloadRules, describeChanges, diffConfig, PROXY_RELOAD_RULES, type ProxyConfig, type ReloadReport } from '../config/index.js'
import type { AdminServer } from '../observability/index.js'
import type { Frontend } from './frontend.js'

export interface ProxyReloadTarget {
  /** The running config; its keys are replaced in place so later reads see the new values. */
  config: ProxyConfig
  frontends: readonly Frontend[]
  admin: AdminServer | undefined
}

/** Checks `next` against the running proxy and applies it; throws (nothing applied) if it cannot be. */
export function reloadProxy (target: ProxyReloadTarget, next: ProxyConfig): ReloadReport {
  const changes = diffConfig(target.config, next)
  if (changes.length === 0) return { result: 'unchanged', changes: [] }
  checkReloadRules(changes, PROXY_RELOAD_RULES)
  Object.assign(target.config, next)
  for (const f of target.frontends) f.reconfigure(next.listeners.find(l => l.name === f.name)!, next)
  target.admin?.setToken(next.admin.token)
  return { result: 'applied', changes: describeChanges(changes) }
}
