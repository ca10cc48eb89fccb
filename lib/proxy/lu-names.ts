// The LU names a gateway pool owns, read from the compact form its /status reports
// (docs/routing.md): single names and `FIRST..LAST` ranges whose ends share a prefix and a digit
// count (the pool notation of docs/configuration.md, like z/OS LUGROUP ranges). Ranges are kept
// as ranges, so a pool of 60,000 LUs costs a few entries; a lookup splits the asked name the way
// a range is split (prefix + its longest run of trailing digits) and checks only that prefix. Pure.

interface Range { from: number, to: number }

/** The split a range uses: prefix and its longest run of trailing digits (GW12009 = GW + 12009). */
function split (name: string): { prefix: string, digits: string } | undefined {
  let i = name.length
  while (i > 1 && name.charCodeAt(i - 1) >= 48 && name.charCodeAt(i - 1) <= 57) i--
  return i === name.length ? undefined : { prefix: name.slice(0, i), digits: name.slice(i) }
}

export class LuNameSet {
  private readonly names = new Set<string>()
  /** Ranges by `prefix/width`. */
  private readonly ranges = new Map<string, Range[]>()
  /** Entries that were neither a name nor a range (reported once, ignored). */
  readonly invalid: string[] = []

  constructor (entries: readonly unknown[]) {
    for (const e of entries) {
      if (typeof e !== 'string' || e.length === 0) { this.invalid.push(String(e)); continue }
      const text = e.toUpperCase()
      const dots = text.indexOf('..')
      if (dots === -1) { this.names.add(text); continue }
      const a = split(text.slice(0, dots))
      const b = split(text.slice(dots + 2))
      if (a === undefined || b === undefined || a.prefix !== b.prefix || a.digits.length !== b.digits.length || Number(b.digits) < Number(a.digits)) {
        this.invalid.push(e)
        continue
      }
      const key = `${a.prefix}/${a.digits.length}`
      const list = this.ranges.get(key) ?? []
      list.push({ from: Number(a.digits), to: Number(b.digits) })
      this.ranges.set(key, list)
    }
  }

  /** An empty set: a gateway that reports no LU names owns none as far as routing can tell. */
  static readonly EMPTY = new LuNameSet([])

  get empty (): boolean { return this.names.size === 0 && this.ranges.size === 0 }

  has (lu: string): boolean {
    const name = lu.toUpperCase()
    if (this.names.has(name)) return true
    const s = split(name)
    if (s === undefined) return false
    const n = Number(s.digits)
    return this.ranges.get(`${s.prefix}/${s.digits.length}`)?.some(r => n >= r.from && n <= r.to) ?? false
  }
}
