// One config reload as operators see it (docs/operations.md "Reload"): whatever the outcome, one
// log line `event: "config_reload"` (applied with its changes, unchanged, or refused with the key
// and the reason) and one count in tn3270_config_reloads_total{role,result}. Gateway and proxy
// run their own checks and changes inside.
import type { Counter } from 'prom-client'
import type { ReloadReport } from '../config/index.js'
import { errorMessage, ReloadRefusedError } from '../errors.js'
import type { Logger } from './logger.js'

export function reportReload (role: 'gateway' | 'proxy', run: () => ReloadReport, counter: Counter<'role' | 'result'>, logger: Logger): ReloadReport {
  try {
    const report = run()
    counter.inc({ role, result: report.result })
    logger.info({ event: 'config_reload', result: report.result, changes: report.changes },
      report.result === 'applied' ? `config reloaded: ${report.changes.join(', ')}` : 'config reloaded: nothing changed')
    return report
  } catch (err) {
    counter.inc({ role, result: 'refused' })
    logger.warn({ event: 'config_reload', result: 'refused', ...(err instanceof ReloadRefusedError ? { key: err.key } : {}), reason: errorMessage(err) },
      'config reload refused; the running config stays')
    throw err
  }
}
