// Reusable zod field types shared by the gateway, proxy and host-simulator schemas. Each helper
// records how its values are written (`typeLabel`) for the generated reference,
// docs/configuration.md.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { errorMessage } from '../errors.js'
import { parseDuration, parseSize } from './units.js'

const labels = new WeakMap<z.ZodTypeAny, string>()

// `.describe()` and `.default()` copy a schema, but a ZodEffects copy keeps the same inner
// schema: labels are keyed by that, so they survive the copies.
const labelKey = (schema: z.ZodTypeAny): z.ZodTypeAny => schema instanceof z.ZodEffects ? schema._def.schema : schema

/** How a field's values are written ("duration", "integer 1-1000"), if a helper here made it. */
export function typeLabel (schema: z.ZodTypeAny): string | undefined {
  return labels.get(labelKey(schema))
}

function labelled<T extends z.ZodTypeAny> (schema: T, label: string): T {
  labels.set(labelKey(schema), label)
  return schema
}

export const duration = (def?: string) => {
  const base = labelled(z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v)
    if (ms === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a duration like 500ms, 1s, 5m' })
      return z.NEVER
    }
    return ms
  }), 'duration')
  return def === undefined ? base : base.default(def)
}

export const size = (def?: string) => {
  const base = labelled(z.union([z.string(), z.number()]).transform((v, ctx) => {
    const bytes = parseSize(v)
    if (bytes === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a size like 512B, 64KiB, 1MiB' })
      return z.NEVER
    }
    return bytes
  }), 'size')
  return def === undefined ? base : base.default(def)
}

/** Booleans also arrive as strings from the environment and from `--set`. */
export const bool = (def: boolean) => labelled(z.preprocess(v => {
  if (typeof v !== 'string') return v
  const t = v.trim().toLowerCase()
  if (['true', 'yes', 'on', '1'].includes(t)) return true
  if (['false', 'no', 'off', '0'].includes(t)) return false
  return v
}, z.boolean({ invalid_type_error: 'expected true or false' })), 'boolean').default(def)

export const int = (min: number, max: number) => labelled(z.preprocess(
  v => typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v,
  z.number({ invalid_type_error: `expected a whole number from ${min} to ${max}` }).int(`expected a whole number from ${min} to ${max}`)
    .min(min, `expected a whole number from ${min} to ${max}`).max(max, `expected a whole number from ${min} to ${max}`)),
`integer ${min}–${max}`)

export const port = () => labelled(int(0, 65535), 'port')

/** SNA names (LU, pool, PU, application): 1-8 of A-Z 0-9 @ # $, first not a digit (z/OS rules). */
export const snaName = () => labelled(z.string().transform(s => s.toUpperCase())
  .refine(s => /^[A-Z@#$][A-Z0-9@#$]{0,7}$/.test(s), 'expected 1-8 characters A-Z 0-9 @ # $, not starting with a digit'), 'SNA name')

/** IPv4/IPv6 CIDR such as 10.0.0.0/8, 127.0.0.1/32, ::1/128. */
export const cidr = () => labelled(z.string().refine(s => {
  const [addr, bits, extra] = s.split('/')
  if (extra !== undefined || addr === undefined || bits === undefined || !/^\d+$/.test(bits)) return false
  const max = addr.includes(':') ? 128 : 32
  return Number(bits) <= max && (addr.includes(':') || /^(\d{1,3}\.){3}\d{1,3}$/.test(addr))
}, 'expected a network like 10.0.0.0/8 or ::1/128'), 'CIDR')

export const logLevel = () => z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info')
  .describe('log level (pino); `LOG_LEVEL` in the environment is the fallback')

/** Loopback: 127.0.0.0/8, ::1 and `localhost` — only processes on this machine reach it. */
export function isLoopbackHost (host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)
}

const adminObject = z.object({
  host: z.string().default('127.0.0.1').describe('admin HTTP address; anything but loopback needs `token` or `tokenFile`'),
  port: port().default(0).describe('admin HTTP port; 0 = any free port (printed at start)'),
  token: z.string().min(1).optional()
    .describe('bearer token every state-changing admin request (any method but GET/HEAD) must carry; wins over `tokenFile`, so `TN3270LB_ADMIN__TOKEN` overrides a file'),
  tokenFile: z.string().min(1).optional().describe('file holding the token (a mounted Secret); surrounding whitespace is ignored'),
}).strict()

/** The admin section: `token` comes from `tokenFile` when only the file is named. */
export const adminSection = () => adminObject.transform((a, ctx) => {
  let token = a.token
  if (token === undefined && a.tokenFile !== undefined) {
    try {
      token = readFileSync(a.tokenFile, 'utf8').trim()
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tokenFile'], message: `expected a readable file (${errorMessage(err)})` })
      return z.NEVER
    }
    if (token === '') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['tokenFile'], message: 'expected a file holding a token, found an empty file' })
      return z.NEVER
    }
  }
  if (token === undefined && !isLoopbackHost(a.host)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['token'],
      message: `required when admin.host (${a.host}) is not a loopback address: set admin.token or admin.tokenFile (TN3270LB_ADMIN__TOKEN)`,
    })
    return z.NEVER
  }
  return { host: a.host, port: a.port, ...(token === undefined ? {} : { token }), ...(a.tokenFile === undefined ? {} : { tokenFile: a.tokenFile }) }
}).default({}).describe('admin HTTP server: /status, /metrics, /healthz, /readyz, the status page and the APIs')

export type AdminConfig = z.output<ReturnType<typeof adminSection>>
