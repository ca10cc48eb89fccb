// One loader for every role: YAML file (with `${NAME}` references expanded), then environment,
// then `--set key=value`, validated once by the role's zod schema. A bad config becomes one line
// naming the key, the value and what was expected (docs/configuration.md), carried by a
// Tn3270LbError with code CONFIG_*.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import YAML from 'yaml'
import { ErrorCodes, errorMessage, lbError } from '../errors.js'
import { expandReferences } from './expand.js'

export const ENV_PREFIX = 'TN3270LB_'

export interface LoadOptions {
  /** YAML file path. */
  file?: string
  /** Raw object used when no file is given (demo, tests). */
  base?: unknown
  /** Environment for `TN3270LB_A__B=value` overrides and the file's `${NAME}` references; omitted = none. */
  env?: Record<string, string | undefined>
  /** `key.path=value` overrides, applied last. */
  sets?: string[]
}

type Path = Array<string | number>

/** Keys that were valid once: their error says what replaced them rather than "unknown key". */
const RETIRED_KEYS: Record<string, string> = {
  'appc.apiToken': 'retired: admin.token guards every state-changing admin request, /v1/appc included; remove the key',
}

export function loadConfig<S extends z.ZodTypeAny> (schema: S, opts: LoadOptions = {}): z.output<S> {
  let raw: unknown = opts.base === undefined ? {} : structuredClone(opts.base)
  if (opts.file !== undefined) raw = expandReferences(readConfigFile(opts.file), opts.env ?? {}, opts.file)
  if (raw === null || raw === undefined) raw = {}
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw lbError(ErrorCodes.CONFIG_INVALID, `config: top level must be a mapping of keys, got ${describe(raw)}`)
  }
  const empty = opts.file !== undefined && Object.keys(raw as object).length === 0
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue
    const parts = name.slice(ENV_PREFIX.length).split('__').filter(p => p !== '')
    setPath(raw, resolvePath(schema, parts, name), parseScalar(value))
  }
  for (const assignment of opts.sets ?? []) {
    const eq = assignment.indexOf('=')
    if (eq <= 0) {
      throw lbError(ErrorCodes.CONFIG_OVERRIDE, `config: --set ${JSON.stringify(assignment)}: expected key.path=value`)
    }
    const key = assignment.slice(0, eq).trim()
    setPath(raw, resolvePath(schema, key.split('.'), `--set ${key}`), parseScalar(assignment.slice(eq + 1)))
  }
  const result = schema.safeParse(raw)
  if (!result.success) {
    const line = formatIssue(result.error.issues[0], raw)
    // An empty file is usually the wrong file (or a mount that did not happen): say so first.
    throw lbError(ErrorCodes.CONFIG_INVALID, empty ? line.replace(/^config: /, `config: ${opts.file} is empty: `) : line)
  }
  return result.data
}

/** A config file as plain data, before references, overrides and validation; CONFIG_FILE errors name the line. */
export function readConfigFile (file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw lbError(ErrorCodes.CONFIG_FILE, `config: cannot read ${file}: ${errorMessage(err)}`, err)
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const line = e.linePos?.[0]?.line
    throw lbError(ErrorCodes.CONFIG_FILE, `config: ${file}${line === undefined ? '' : ` line ${line}`}: ${e.message.split(/ at line \d+|\n/)[0]}`)
  }
  return doc.toJS()
}

/** Values from env/--set are strings; YAML flow syntax lets lists and maps through (`[a, b]`). */
function parseScalar (text: string): unknown {
  const t = text.trim()
  if (t.startsWith('[') || t.startsWith('{')) {
    try { return YAML.parse(t) } catch { return text }
  }
  return text
}

/** Maps case-insensitive key parts onto the schema's real key names; numeric parts index arrays. */
function resolvePath (schema: z.ZodTypeAny, parts: string[], origin: string): Path {
  const path: Path = []
  let node: z.ZodTypeAny | undefined = schema
  for (const part of parts) {
    if (/^\d+$/.test(part)) {
      path.push(Number(part))
      node = node === undefined ? undefined : arrayElement(node)
      continue
    }
    const shape = node === undefined ? undefined : objectShape(node)
    if (shape === undefined) {
      throw lbError(ErrorCodes.CONFIG_OVERRIDE, `config: ${origin}: ${JSON.stringify(part)} is not a key that can be set here`)
    }
    const key = Object.keys(shape).find(k => k.toLowerCase() === part.toLowerCase())
    if (key === undefined) {
      throw lbError(ErrorCodes.CONFIG_OVERRIDE,
        `config: ${origin}: unknown key ${JSON.stringify(part)} (expected one of: ${Object.keys(shape).join(', ')})`)
    }
    path.push(key)
    node = shape[key]
  }
  return path
}

function unwrap (node: z.ZodTypeAny): z.ZodTypeAny {
  let n: z.ZodTypeAny = node
  for (;;) {
    if (n instanceof z.ZodDefault) n = n._def.innerType
    else if (n instanceof z.ZodOptional || n instanceof z.ZodNullable) n = n.unwrap()
    else if (n instanceof z.ZodEffects) n = n.innerType()
    else return n
  }
}

function objectShape (node: z.ZodTypeAny): Record<string, z.ZodTypeAny> | undefined {
  const n = unwrap(node)
  if (n instanceof z.ZodObject) return n.shape as Record<string, z.ZodTypeAny>
  if (n instanceof z.ZodDiscriminatedUnion) {
    const merged: Record<string, z.ZodTypeAny> = {}
    for (const option of n.options as Array<z.ZodObject<z.ZodRawShape>>) Object.assign(merged, option.shape)
    return merged
  }
  return undefined
}

function arrayElement (node: z.ZodTypeAny): z.ZodTypeAny | undefined {
  const n = unwrap(node)
  return n instanceof z.ZodArray ? n.element : undefined
}

function setPath (root: unknown, path: Path, value: unknown): void {
  let cur = root as Record<string | number, unknown>
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]
    const next = cur[key]
    if (next === null || typeof next !== 'object') cur[key] = typeof path[i + 1] === 'number' ? [] : {}
    cur = cur[key] as Record<string | number, unknown>
  }
  cur[path[path.length - 1]] = value
}

function getPath (root: unknown, path: Path): unknown {
  let cur = root
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string | number, unknown>)[key]
  }
  return cur
}

function describe (value: unknown): string {
  if (value === undefined) return 'nothing'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function formatIssue (issue: z.ZodIssue, raw: unknown): string {
  const key = issue.path.length === 0 ? '(top level)' : issue.path.join('.')
  if (issue.code === z.ZodIssueCode.unrecognized_keys) {
    const full = `${issue.path.length === 0 ? '' : `${key}.`}${issue.keys[0]}`
    return `config: ${full}: ${RETIRED_KEYS[full] ?? 'unknown key'}`
  }
  const value = getPath(raw, issue.path)
  let expected = issue.message
  if (issue.code === z.ZodIssueCode.invalid_type && (issue.message === 'Required' || issue.message.startsWith('Expected '))) {
    // zod's default wording; custom messages (fields.ts) already say what is expected.
    expected = issue.received === 'undefined' ? `required, expected ${issue.expected}` : `expected ${issue.expected}`
  } else if (issue.code === z.ZodIssueCode.invalid_enum_value) {
    expected = `expected one of ${issue.options.join(', ')}`
  } else if (issue.code === z.ZodIssueCode.invalid_union_discriminator) {
    expected = `expected one of ${issue.options.map(String).join(', ')}`
  }
  return `config: ${key} = ${describe(value)}: ${expected}`
}
