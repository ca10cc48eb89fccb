// LU entries as a pool lists them (docs/configuration.md "Gateway"): one SNA name, or a range
// `GW1A001..GW1A032` whose ends share a prefix and a digit count. Names follow the z/OS rules
// for network names: 1-8 of A-Z 0-9 @ # $, first not a digit ("z/OS Communications Server: SNA
// Resource Definition Reference", SC27-3675, "Coding conventions").

export const SNA_NAME = /^[A-Z@#$][A-Z0-9@#$]{0,7}$/

/** Most LUs one range may name: a typo such as GW1A001..GW1A9999 fails instead of filling memory. */
export const MAX_RANGE = 10_000

/** The LU names an entry stands for, upper-cased; undefined if it is neither a name nor a range. */
export function expandLuEntry (entry: string): string[] | undefined {
  const parts = entry.toUpperCase().split('..')
  if (parts.length === 1) return SNA_NAME.test(parts[0]!) ? [parts[0]!] : undefined
  if (parts.length !== 2) return undefined
  const [a, b] = parts.map(p => /^([A-Z@#$][A-Z0-9@#$]*?)(\d+)$/.exec(p))
  if (a == null || b == null || a[1] !== b[1] || a[2]!.length !== b[2]!.length || a[0].length > 8) return undefined
  const from = Number(a[2])
  const to = Number(b[2])
  if (to < from || to - from >= MAX_RANGE) return undefined
  const names: string[] = []
  for (let n = from; n <= to; n++) names.push(`${a[1]}${String(n).padStart(a[2]!.length, '0')}`)
  return names
}

/** Names of a pool's generic sessions (tn3270 links): `<POOL>001`, cut so the name stays 8 long. */
export function genericLuNames (pool: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const suffix = String(i + 1).padStart(3, '0')
    return `${pool.slice(0, 8 - suffix.length)}${suffix}`
  })
}
