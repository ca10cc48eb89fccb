// Client identity → pools and LUs on a gateway (docs/configuration.md `identity`), what z/OS
// Communications Server does with LUMAP and IPGROUP / certificate mapping statements and IBM CS
// Linux with its TN server client records: rules match the real client's address (CIDR) and/or
// its verified TLS certificate (subject, CN, SAN patterns) and name the pools and LUs it may
// get; the first rule that matches wins, and `default` covers everyone else.
import { z } from 'zod'
import { cidr, snaName } from './fields.js'
import { expandLuEntry } from './lu-names.js'

const pattern = (what: string) => z.string().min(1).optional()
  .describe(`pattern for ${what}; \`*\` matches any run of characters, \`?\` one, case-insensitive`)

const certificateMatch = z.object({
  subject: pattern('the subject DN in RFC 4514 order, most specific first (`CN=teller-*,OU=Tellers,O=Example Bank,C=US`)'),
  cn: pattern('the subject common name'),
  san: pattern('one subject alternative name, written `DNS:name`, `IP:address`, `email:address` or `URI:uri`'),
}).strict().refine(c => c.subject !== undefined || c.cn !== undefined || c.san !== undefined, 'expected at least one of subject, cn, san')

const luNameOrRange = z.string().refine(s => expandLuEntry(s) !== undefined,
  'expected an LU name (1-8 of A-Z 0-9 @ # $, not starting with a digit) or a range like GW1A001..GW1A032')

const grant = {
  pools: z.array(snaName()).default([]).describe('pools whose LUs this client may get, by a generic request or by pool name'),
  lus: z.array(luNameOrRange).default([]).describe('LUs (names or ranges `A001..A010`) this client may ask for by name; a generic request may get them too when its pools have none free'),
  defaultPool: snaName().optional().describe('pool tried first for a generic request; omitted = the first of `pools`'),
}

const identityRule = z.object({
  name: z.string().min(1).describe('rule name: in the session-start line and in refusal events'),
  addresses: z.array(cidr()).default([]).describe('client networks this rule matches (the real client: the PROXY v2 source behind a proxy); empty = any address'),
  certificate: certificateMatch.optional().describe('a verified client certificate that must match every pattern given (from this gateway\'s TLS, or the PROXY v2 TLVs of a TLS-terminating proxy)'),
  ...grant,
}).strict().refine(r => r.addresses.length > 0 || r.certificate !== undefined, { message: 'expected addresses or certificate (a rule for everyone is `identity.default`)', path: ['addresses'] })

export const identitySection = () => z.object({
  rules: z.array(identityRule).default([]).describe('rules in order; the first whose addresses and certificate match the client decides'),
  default: z.object(grant).strict().optional()
    .describe('what a client no rule matches may get; omitted = every pool of the listener (no restriction); `{}` = nothing'),
}).strict().default({}).describe('client identity → pools and LUs (z/OS LUMAP with IPGROUP, certificate mapping); a request outside its mapping is rejected (RFC 2355 §7.1.2 REJECT, docs/operations.md "Client identity")')

export type IdentityConfig = z.output<ReturnType<typeof identitySection>>
export type IdentityRuleConfig = IdentityConfig['rules'][number]
export type IdentityGrantConfig = NonNullable<IdentityConfig['default']>
