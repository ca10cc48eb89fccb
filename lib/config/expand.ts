// `${NAME}` references in the string values of a config file, expanded from the environment
// before validation, so one file serves every replica (docs/configuration.md "References").
//   ${NAME}            the environment variable NAME; unset is an error naming the key
//   ${NAME:-default}   NAME, or `default` when NAME is unset or empty (as in POSIX sh)
//   ${ORDINAL}         this replica's number: the environment variable ORDINAL if set, else the
//                      digits after the last `-` of the host name (a StatefulSet pod `gw-3` → 3)
//   $${                a literal `${`
// Only values are expanded, after YAML parsing, so a reference can never add keys or structure.
import { hostname } from 'node:os'
import { ErrorCodes, lbError } from '../errors.js'

export type Env = Record<string, string | undefined>

const REFERENCE = /\$(\$?)\{([^}]*)\}/g
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The replica ordinal: ORDINAL from the environment, else the `-N` suffix of the host name. */
export function replicaOrdinal (env: Env, host: string = env.HOSTNAME ?? hostname()): string | undefined {
  const explicit = env.ORDINAL
  if (explicit !== undefined && explicit !== '') return /^\d+$/.test(explicit) ? String(Number(explicit)) : undefined
  const m = /-(\d+)$/.exec(host)
  return m === null ? undefined : String(Number(m[1]))
}

/** Expands references in every string of a parsed YAML value; `where` names the file in errors. */
export function expandReferences (value: unknown, env: Env, where: string, path: Array<string | number> = []): unknown {
  if (typeof value === 'string') return expandString(value, env, where, path)
  if (Array.isArray(value)) return value.map((v, i) => expandReferences(v, env, where, [...path, i]))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = expandReferences(v, env, where, [...path, k])
    return out
  }
  return value
}

function expandString (text: string, env: Env, where: string, path: Array<string | number>): string {
  const key = path.length === 0 ? '(top level)' : path.join('.')
  const fail = (why: string) => lbError(ErrorCodes.CONFIG_REFERENCE, `config: ${where}: ${key} = ${JSON.stringify(text)}: ${why}`)
  return text.replace(REFERENCE, (whole, escape: string, body: string) => {
    if (escape === '$') return whole.slice(1)
    const sep = body.indexOf(':-')
    const name = sep < 0 ? body : body.slice(0, sep)
    if (!NAME.test(name)) throw fail(`\${${body}} is not a reference; expected \${NAME} or \${NAME:-default} (write $\${ for a literal \${)`)
    const value = name === 'ORDINAL' ? replicaOrdinal(env) : env[name]
    if (value !== undefined && value !== '') return value
    if (sep >= 0) return body.slice(sep + 2)
    if (name === 'ORDINAL') throw fail('${ORDINAL}: expected ORDINAL set to a whole number, or a host name ending in -N (a StatefulSet pod)')
    throw fail(`\${${name}} is not set in the environment`)
  })
}
