// Checks across the sections of a gateway config (docs/configuration.md "Gateway"): what
// startGateway would otherwise find only at start, reported the same way as a bad key so
// `tn3270-lb check` finds it too.
import { z } from 'zod'
import { expandLuEntry, genericLuNames } from './lu-names.js'

interface GatewayShape {
  listeners: Array<{ name: string, pools: string[] }>
  hosts: Array<{ name: string, link: { type: string } }>
  pools: Array<{ name: string, host: string, lus: Array<string | { name: string }>, generic: number }>
  appc: { partners: Array<{ name: string, host: string }> }
  identity?: {
    rules: Array<{ name: string } & Grant>
    default?: Grant | undefined
  }
}

interface Grant { pools: string[], lus: string[], defaultPool?: string | undefined }

type Path = Array<string | number>

export function gatewayReferences (cfg: GatewayShape, ctx: z.RefinementCtx): void {
  const issue = (path: Path, message: string): void => { ctx.addIssue({ code: z.ZodIssueCode.custom, path, message }) }
  if (cfg.listeners.length === 0) issue(['listeners'], 'expected at least one listener (a gateway serves clients only on its listeners)')
  if (cfg.pools.length === 0) issue(['pools'], 'expected at least one pool of LUs for the listeners to serve')
  unique(cfg.listeners.map(l => l.name), i => issue(['listeners', i, 'name'], 'expected a listener name not used elsewhere'))
  unique(cfg.hosts.map(h => h.name), i => issue(['hosts', i, 'name'], 'expected a host name not used elsewhere'))
  unique(cfg.pools.map(p => p.name), i => issue(['pools', i, 'name'], 'expected a pool name not used elsewhere'))

  const hosts = new Map(cfg.hosts.map(h => [h.name, h.link.type]))
  const hostList = cfg.hosts.length === 0 ? 'none is configured' : `hosts are ${cfg.hosts.map(h => h.name).join(', ')}`
  cfg.pools.forEach((p, i) => {
    if (!hosts.has(p.host)) issue(['pools', i, 'host'], `expected the name of a configured host (${hostList})`)
  })
  const pools = new Set(cfg.pools.map(p => p.name))
  const poolList = cfg.pools.length === 0 ? 'none is configured' : `pools are ${[...pools].join(', ')}`
  cfg.listeners.forEach((l, i) => l.pools.forEach((p, j) => {
    if (!pools.has(p)) issue(['listeners', i, 'pools', j], `expected the name of a configured pool (${poolList})`)
  }))
  cfg.appc.partners.forEach((p, i) => {
    const type = hosts.get(p.host)
    if (type === undefined) issue(['appc', 'partners', i, 'host'], `expected the name of a configured host (${hostList})`)
    else if (type !== 'sna') issue(['appc', 'partners', i, 'host'], `expected a host with an sna link: LU 6.2 sessions need SNA, and ${p.host} is reached over ${type}`)
  })
  luNames(cfg, issue)
  identityNames(cfg, issue)
}

/** LU names are unique across pools and disjoint from pool names (RFC 2355 §7.1: CONNECT names either). */
function luNames (cfg: GatewayShape, issue: (path: Path, message: string) => void): void {
  const owner = new Map<string, string>()
  const pools = new Set(cfg.pools.map(p => p.name))
  cfg.pools.forEach((p, i) => {
    const names = [
      ...p.lus.flatMap(e => typeof e === 'string' ? expandLuEntry(e) ?? [] : [e.name]),
      ...genericLuNames(p.name, p.generic),
    ]
    for (const name of names) {
      const other = owner.get(name)
      if (other !== undefined) {
        issue(['pools', i, 'lus'], other === p.name ? `LU ${name} is listed twice` : `LU ${name} is also in pool ${other}`)
        return
      }
      if (pools.has(name)) {
        issue(['pools', i, 'lus'], `LU ${name} has the name of a pool; pool and LU names must differ (a CONNECT may name either)`)
        return
      }
      owner.set(name, p.name)
    }
  })
}

/** Identity rules name configured pools and LUs, and a default pool among their own pools. */
function identityNames (cfg: GatewayShape, issue: (path: Path, message: string) => void): void {
  if (cfg.identity === undefined) return
  const pools = new Set(cfg.pools.map(p => p.name))
  const lus = new Set(cfg.pools.flatMap(p => [...p.lus.flatMap(e => typeof e === 'string' ? expandLuEntry(e) ?? [] : [e.name]), ...genericLuNames(p.name, p.generic)]))
  const check = (g: Grant, path: Path): void => {
    g.pools.forEach((p, j) => { if (!pools.has(p)) issue([...path, 'pools', j], `expected the name of a configured pool (pools are ${[...pools].join(', ') || 'none'})`) })
    g.lus.forEach((entry, j) => {
      const missing = (expandLuEntry(entry) ?? []).find(n => !lus.has(n.toUpperCase()))
      if (missing !== undefined) issue([...path, 'lus', j], `LU ${missing} is not in any pool`)
    })
    if (g.defaultPool !== undefined && !g.pools.includes(g.defaultPool)) issue([...path, 'defaultPool'], 'expected one of this entry\'s pools')
  }
  unique(cfg.identity.rules.map(r => r.name), i => issue(['identity', 'rules', i, 'name'], 'expected a rule name not used elsewhere'))
  cfg.identity.rules.forEach((r, i) => check(r, ['identity', 'rules', i]))
  if (cfg.identity.default !== undefined) check(cfg.identity.default, ['identity', 'default'])
}

function unique (names: string[], duplicate: (index: number) => void): void {
  const seen = new Set<string>()
  names.forEach((n, i) => {
    if (seen.has(n)) duplicate(i)
    seen.add(n)
  })
}
