// Reusable zod field types shared by the gateway, proxy and host-simulator schemas.
import { z } from 'zod'
import { parseDuration, parseSize } from './units.js'

export const duration = (def?: string) => {
  const base = z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v)
    if (ms === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a duration like 500ms, 1s, 5m' })
      return z.NEVER
    }
    return ms
  })
  return def === undefined ? base : base.default(def)
}

export const size = (def?: string) => {
  const base = z.union([z.string(), z.number()]).transform((v, ctx) => {
    const bytes = parseSize(v)
    if (bytes === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a size like 512B, 64KiB, 1MiB' })
      return z.NEVER
    }
    return bytes
  })
  return def === undefined ? base : base.default(def)
}

/** Booleans also arrive as strings from the environment and from `--set`. */
export const bool = (def: boolean) => z.preprocess(v => {
  if (typeof v !== 'string') return v
  const t = v.trim().toLowerCase()
  if (['true', 'yes', 'on', '1'].includes(t)) return true
  if (['false', 'no', 'off', '0'].includes(t)) return false
  return v
}, z.boolean({ invalid_type_error: 'expected true or false' })).default(def)

export const int = (min: number, max: number) => z.preprocess(
  v => typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v,
  z.number({ invalid_type_error: `expected a whole number from ${min} to ${max}` }).int(`expected a whole number from ${min} to ${max}`)
    .min(min, `expected a whole number from ${min} to ${max}`).max(max, `expected a whole number from ${min} to ${max}`))

export const port = () => int(0, 65535)

/** SNA names (LU, pool, PU, application): 1-8 of A-Z 0-9 @ # $, first not a digit (z/OS rules). */
export const snaName = () => z.string().transform(s => s.toUpperCase())
  .refine(s => /^[A-Z@#$][A-Z0-9@#$]{0,7}$/.test(s), 'expected 1-8 characters A-Z 0-9 @ # $, not starting with a digit')

/** IPv4/IPv6 CIDR such as 10.0.0.0/8, 127.0.0.1/32, ::1/128. */
export const cidr = () => z.string().refine(s => {
  const [addr, bits, extra] = s.split('/')
  if (extra !== undefined || addr === undefined || bits === undefined || !/^\d+$/.test(bits)) return false
  const max = addr.includes(':') ? 128 : 32
  return Number(bits) <= max && (addr.includes(':') || /^(\d{1,3}\.){3}\d{1,3}$/.test(addr))
}, 'expected a network like 10.0.0.0/8 or ::1/128')

export const logLevel = () => z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info')

export const adminSection = () => z.object({
  host: z.string().default('127.0.0.1'),
  port: port().default(0),
}).strict().default({})
