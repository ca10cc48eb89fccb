// Which pools and LUs a client may get, from who it is (docs/configuration.md `identity`): the
// gateway's take on z/OS Communications Server LUMAP with IPGROUP and certificate-based client
// identifiers, and IBM CS Linux TN server client records. Rules are tried in order; the first
// whose address networks and certificate patterns all match decides; `identity.default` covers
// the rest, and without one a client is not restricted. Certificate patterns only ever match a
// verified certificate. Pure.
import type { IdentityConfig, IdentityGrantConfig } from '../config/index.js'
import { expandLuEntry } from '../config/index.js'
import { cidrMatch } from '../proxy-protocol/index.js'

/** What the allocator may hand this client; `rule` names the decision for logs. */
export interface AllowedResources {
  rule: string
  /** Pools in the order a generic request tries them: the default pool first. */
  pools: string[]
  /** LUs the client may name (beyond its pools' LUs). */
  lus: ReadonlySet<string>
}

/** The client as the rules see it. */
export interface IdentityFacts {
  address: string
  certificate?: { verified: boolean, subject?: string | undefined, cn?: string | undefined, sans: readonly string[] } | undefined
}

interface CompiledRule {
  name: string
  addresses: string[]
  subject?: RegExp
  cn?: RegExp
  san?: RegExp
  certificate: boolean
  allowed: AllowedResources
}

export class IdentityMap {
  private readonly rules: CompiledRule[]
  private readonly fallback: AllowedResources | undefined

  constructor (config: IdentityConfig) {
    this.rules = config.rules.map(r => ({
      name: r.name,
      addresses: r.addresses,
      certificate: r.certificate !== undefined,
      ...(r.certificate?.subject === undefined ? {} : { subject: globPattern(r.certificate.subject) }),
      ...(r.certificate?.cn === undefined ? {} : { cn: globPattern(r.certificate.cn) }),
      ...(r.certificate?.san === undefined ? {} : { san: globPattern(r.certificate.san) }),
      allowed: allowedOf(r.name, r),
    }))
    this.fallback = config.default === undefined ? undefined : allowedOf('default', config.default)
  }

  /** The first matching rule's grant, the default's, or undefined (no restriction). */
  resolve (facts: IdentityFacts): AllowedResources | undefined {
    for (const rule of this.rules) if (matches(rule, facts)) return rule.allowed
    return this.fallback
  }
}

function matches (rule: CompiledRule, facts: IdentityFacts): boolean {
  if (rule.addresses.length > 0 && !cidrMatch(facts.address, rule.addresses)) return false
  if (!rule.certificate) return true
  const cert = facts.certificate
  if (cert === undefined || !cert.verified) return false
  if (rule.subject !== undefined && !rule.subject.test(cert.subject ?? '')) return false
  if (rule.cn !== undefined && !rule.cn.test(cert.cn ?? '')) return false
  if (rule.san !== undefined && !cert.sans.some(s => rule.san!.test(s))) return false
  return true
}

function allowedOf (rule: string, grant: IdentityGrantConfig): AllowedResources {
  const pools = grant.defaultPool === undefined ? grant.pools : [grant.defaultPool, ...grant.pools.filter(p => p !== grant.defaultPool)]
  return { rule, pools, lus: new Set(grant.lus.flatMap(e => expandLuEntry(e) ?? [])) }
}

/** `*` any run, `?` one character, everything else literal; whole string, case-insensitive. */
export function globPattern (pattern: string): RegExp {
  const body = [...pattern].map(c => c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('')
  return new RegExp(`^${body}$`, 'is')
}
