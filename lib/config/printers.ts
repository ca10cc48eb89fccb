// Printer pools and the printer associated with each display LU (docs/printers.md).
// A TN3270E printer client may ASSOCIATE with a display LU and is then given that display's
// printer (RFC 2355 §7.1). The association is configured like the products this replaces do it:
// z/OS Telnet pairs a terminal LU group with a printer LU group of equal size, position by
// position (LUMAP ... printer-group, "z/OS Communications Server: IP Configuration Reference",
// SC27-3651); Microsoft HIS names an "associated printer" per display LU. Here a display pool's
// `printerPool` is the position rule and an LU entry's `printer` an explicit pair, which wins.
import { expandLuEntry, genericLuNames } from './lu-names.js'

/** What this file reads of a pool (the gateway schema's pool, before or after defaults). */
export interface PrinterPoolShape {
  name: string
  host: string
  kind?: 'display' | 'printer'
  luType?: 'lu1' | 'lu3'
  printerPool?: string
  lus: Array<string | { name: string, printer?: string }>
  generic: number
}

/** Every LU name of a pool in order: its entries expanded, then its generic sessions. */
export function poolLuNames (pool: PrinterPoolShape): string[] {
  return [
    ...pool.lus.flatMap(e => typeof e === 'string' ? expandLuEntry(e) ?? [] : [e.name.toUpperCase()]),
    ...genericLuNames(pool.name, pool.generic),
  ]
}

/**
 * The printer LU associated with each display LU that has one. Explicit `printer` entries first;
 * then a display pool's `printerPool` pairs its LUs with that pool's by position, skipping
 * display LUs that already have a printer and printer LUs already taken. Names are not checked
 * here (printerProblems does): a pair naming an unknown LU is simply kept.
 */
export function printerPairs (pools: readonly PrinterPoolShape[]): Map<string, string> {
  const pairs = new Map<string, string>()
  const taken = new Set<string>()
  for (const p of pools) {
    if (p.kind === 'printer') continue
    for (const e of p.lus) {
      if (typeof e === 'string' || e.printer === undefined) continue
      pairs.set(e.name.toUpperCase(), e.printer.toUpperCase())
      taken.add(e.printer.toUpperCase())
    }
  }
  const byName = new Map(pools.map(p => [p.name.toUpperCase(), p]))
  for (const p of pools) {
    const printers = p.printerPool === undefined ? undefined : byName.get(p.printerPool.toUpperCase())
    if (p.kind === 'printer' || printers === undefined) continue
    const printerNames = poolLuNames(printers)
    poolLuNames(p).forEach((display, i) => {
      const printer = printerNames[i]
      if (pairs.has(display) || printer === undefined || taken.has(printer)) return
      pairs.set(display, printer)
      taken.add(printer)
    })
  }
  return pairs
}

export interface PrinterProblem {
  /** Config path of the key at fault, under `pools`. */
  path: Array<string | number>
  message: string
}

/**
 * What is wrong with the printer keys of a gateway's pools, for the config checks (lib/config
 * references.ts): a key on the wrong kind of pool, a printer pool that is unknown, not a printer
 * pool, on another host or too small, an explicit printer that is not a printer LU of the same
 * host, a printer associated with two display LUs.
 */
export function printerProblems (pools: readonly PrinterPoolShape[]): PrinterProblem[] {
  const out: PrinterProblem[] = []
  const byName = new Map(pools.map(p => [p.name.toUpperCase(), p]))
  const printerLuPool = new Map<string, PrinterPoolShape>()
  for (const p of pools) if (p.kind === 'printer') for (const n of poolLuNames(p)) printerLuPool.set(n, p)
  pools.forEach((p, i) => {
    if (p.kind === 'printer') {
      if (p.printerPool !== undefined) out.push({ path: [i, 'printerPool'], message: 'expected printerPool only on a display pool: it names the printers of display LUs' })
      p.lus.forEach((e, j) => {
        if (typeof e !== 'string' && e.printer !== undefined) out.push({ path: [i, 'lus', j, 'printer'], message: 'expected printer only on LUs of a display pool: a printer LU has no printer of its own' })
      })
      return
    }
    if (p.luType !== undefined) out.push({ path: [i, 'luType'], message: 'expected luType only on a printer pool (kind: printer); a display pool is LU type 2' })
    if (p.printerPool !== undefined) out.push(...printerPoolProblems(p, i, byName.get(p.printerPool.toUpperCase())))
    p.lus.forEach((e, j) => {
      if (typeof e === 'string' || e.printer === undefined) return
      const owner = printerLuPool.get(e.printer.toUpperCase())
      const at = [i, 'lus', j, 'printer']
      if (owner === undefined) out.push({ path: at, message: `expected an LU of a printer pool (kind: printer); ${e.printer} is not one` })
      else if (owner.host.toUpperCase() !== p.host.toUpperCase()) out.push({ path: at, message: `expected a printer on host ${p.host}, like its display; ${e.printer} is on ${owner.host}` })
    })
  })
  out.push(...sharedPrinters(pools))
  return out
}

function printerPoolProblems (p: PrinterPoolShape, i: number, printers: PrinterPoolShape | undefined): PrinterProblem[] {
  const at = [i, 'printerPool']
  if (printers === undefined) return [{ path: at, message: `expected the name of a configured pool; ${String(p.printerPool)} is not one` }]
  if (printers.kind !== 'printer') return [{ path: at, message: `expected a printer pool (kind: printer); ${printers.name} is a display pool` }]
  if (printers.host.toUpperCase() !== p.host.toUpperCase()) return [{ path: at, message: `expected a printer pool on host ${p.host}, like its displays; ${printers.name} is on ${printers.host}` }]
  const need = poolLuNames(p).length
  const have = poolLuNames(printers).length
  if (have < need) return [{ path: at, message: `expected a printer pool with at least as many LUs as this pool (${need}); ${printers.name} has ${have}` }]
  return []
}

/** A printer LU may be the associated printer of one display LU only, a printer pool pair with one display pool. */
function sharedPrinters (pools: readonly PrinterPoolShape[]): PrinterProblem[] {
  const out: PrinterProblem[] = []
  const explicit = new Map<string, string>()
  const pairedWith = new Map<string, string>()
  pools.forEach((p, i) => {
    if (p.kind === 'printer') return
    if (p.printerPool !== undefined) {
      const other = pairedWith.get(p.printerPool.toUpperCase())
      if (other !== undefined) out.push({ path: [i, 'printerPool'], message: `expected a printer pool no other display pool pairs with; ${p.printerPool} is already the printerPool of ${other}` })
      else pairedWith.set(p.printerPool.toUpperCase(), p.name)
    }
    p.lus.forEach((e, j) => {
      if (typeof e === 'string' || e.printer === undefined) return
      const printer = e.printer.toUpperCase()
      const other = explicit.get(printer)
      if (other !== undefined) out.push({ path: [i, 'lus', j, 'printer'], message: `expected a printer no other display LU has; ${printer} is already the printer of ${other}` })
      else explicit.set(printer, e.name.toUpperCase())
    })
  })
  return out
}
