// Config reload, the part every role shares (docs/operations.md "Reload"): what changed between
// the running config and the one just loaded, key by key, and whether each change may be
// applied while the role runs. A role reloads all or nothing: one key that cannot change live
// refuses the whole reload with a reason naming it, and the running config stays.
//
// Keys are dotted paths; lists of named objects (listeners, hosts, pools, backends, dns, APPC
// partners and modes) are keyed by name, so `pools.HOSTC` is a pool added or removed and
// `listeners.tn3270.port` a changed port, whatever the order in the file.
import { isDeepStrictEqual } from 'node:util'
import { ReloadRefusedError } from '../errors.js'

export interface KeyChange {
  /** The dotted key, for people: `pools.HOSTC`, `listeners.tn3270.port`. */
  key: string
  /** The same key as segments (a name may itself contain dots: a DNS name). */
  path: readonly string[]
  change: 'added' | 'removed' | 'changed'
}

/** Every key whose value differs, innermost first where both sides have it. */
export function diffConfig (before: unknown, after: unknown, path: readonly string[] = []): KeyChange[] {
  if (isDeepStrictEqual(before, after)) return []
  const change = (p: string[], kind: KeyChange['change']): KeyChange => ({ key: p.join('.'), path: p, change: kind })
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    return keys.flatMap(k => {
      const p = [...path, k]
      if (after[k] === undefined) return before[k] === undefined ? [] : [change(p, 'removed')]
      if (before[k] === undefined) return [change(p, 'added')]
      return diffConfig(before[k], after[k], p)
    })
  }
  const a = named(before)
  const b = named(after)
  if (a !== undefined && b !== undefined) return diffConfig(a, b, path)
  return [change([...path], 'changed')]
}

/** What a reload that went through did (the answer of POST /v1/reload and the log line's fields). */
export interface ReloadReport {
  result: 'applied' | 'unchanged'
  /** `pools.HOSTC added`, `keepalive.watchdogTimeout changed` ... */
  changes: string[]
}

/** What a reload may do with the keys matching `pattern` (`*` is one key segment). */
export interface ReloadRule {
  pattern: string
  /** Matches only a key of exactly this depth (an element added or removed), not keys inside it. */
  exact?: boolean
  /** Absent: the change is applied live. Present: the change is refused with this reason. */
  refuse?: string
}

/**
 * Throws ReloadRefusedError for the first change no rule lets through (the first rule matching
 * a key decides; a key no rule matches is refused).
 */
export function checkReloadRules (changes: readonly KeyChange[], rules: readonly ReloadRule[]): void {
  for (const c of changes) {
    const rule = rules.find(r => matches(r, c.path))
    if (rule !== undefined && rule.refuse === undefined) continue
    const why = rule?.refuse ?? 'this key cannot change while the process runs; restart to apply it'
    throw new ReloadRefusedError(c.key, `config reload refused, nothing applied: ${c.key} ${c.change}: ${why}`)
  }
}

/** `pools.HOSTC added`, `keepalive.watchdogTimeout changed`: for the reload's log line and answer. */
export function describeChanges (changes: readonly KeyChange[]): string[] {
  return changes.map(c => `${c.key} ${c.change}`)
}

const RESTART = 'restart the process to change it'

/** Gateway and proxy alike: the admin server and the listeners keep their sockets. */
const FRONT_DOOR_RULES: readonly ReloadRule[] = [
  { pattern: 'admin.host', refuse: `the admin server keeps its address; ${RESTART}` },
  { pattern: 'admin.port', refuse: `the admin server keeps its port; ${RESTART}` },
  { pattern: 'admin' },
  { pattern: 'listeners.*.host', refuse: `a listener keeps its address; ${RESTART}` },
  { pattern: 'listeners.*.port', refuse: `a listener keeps its port; ${RESTART}` },
  { pattern: 'listeners.*', exact: true, refuse: `listeners cannot be added or removed live; ${RESTART}` },
  { pattern: 'listeners.*' },
]

/** The gateway's keys (docs/operations.md "Reload" lists the same). */
export const GATEWAY_RELOAD_RULES: readonly ReloadRule[] = [
  { pattern: 'name', refuse: `the gateway's name is its PU name on sna links and labels its logs; ${RESTART}` },
  ...FRONT_DOOR_RULES,
  { pattern: 'hosts.*.link', refuse: `a host link keeps its address and settings while it runs; ${RESTART}` },
  { pattern: 'hosts.*', exact: true },
  { pattern: 'pools' },
  { pattern: 'negotiation' },
  { pattern: 'keepalive' },
  { pattern: 'pacing' },
  { pattern: 'drainTimeout' },
  { pattern: 'audit' },
  {
    pattern: 'appc',
    refuse: `LU 6.2 partners, modes and session limits are agreed with the partners by CNOS (KB Q107866); change limits with POST /v1/appc/{partner}/{mode}/cnos, anything else: ${RESTART}`,
  },
  { pattern: 'log', refuse: `loggers made for open sessions keep their level; ${RESTART}` },
]

/** The proxy's keys (docs/operations.md "Reload"). */
export const PROXY_RELOAD_RULES: readonly ReloadRule[] = [
  { pattern: 'name', refuse: `the proxy's name labels its logs and /status; ${RESTART}` },
  ...FRONT_DOOR_RULES,
  ...['connectTimeout', 'negotiationTimeout', 'earlyCloseWindow', 'idleTimeout', 'halfCloseTimeout', 'tcpKeepAlive', 'statusInterval', 'statusTimeout',
    'statusStaleAfter', 'ejection', 'drainTimeout', 'closeSpreadTime'].map(pattern => ({ pattern })),
  { pattern: 'log', refuse: `loggers keep their level; ${RESTART}` },
  { pattern: 'workers', refuse: `the worker processes were forked at start; ${RESTART}` },
]

function matches (rule: ReloadRule, have: readonly string[]): boolean {
  const want = rule.pattern.split('.')
  if (have.length < want.length || (rule.exact === true && have.length !== want.length)) return false
  return want.every((w, i) => w === '*' || w === have[i])
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** A list of objects with unique string names, as a record keyed by name; else undefined. */
function named (v: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(v)) return undefined
  const out: Record<string, unknown> = {}
  for (const item of v) {
    if (!isRecord(item) || typeof item.name !== 'string' || item.name in out) return undefined
    out[item.name] = item
  }
  return out
}
