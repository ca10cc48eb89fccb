// Fault injection for the host simulator (POST /faults). Pure state: the admin route validates a
// JSON body with `faultsUpdateSchema` and applies it; the SSCP/PLU/partner logic asks it.
//
//   { "rejectBinds": { "sense": "08063426", "count": 1, "lu": "GW1LU001" } }   reject BINDs
//   { "delayResponses": "250ms" }                                            (or a number of ms)
//   { "clear": true }                                                        back to no faults
//
// "Reject BINDs" means: a BIND the host *receives* (LU 6.2 partner, ODAI = 1) gets -RSP(BIND)
// with that sense ("SNA Formats", GA27-3136, responses: RU = 4 sense bytes + X'31'); a dependent-LU session the
// host would *start* (LU2 logon, DEFAPPL) is refused the way VTAM refuses a logon the application
// rejected (GA27-3136 Sense Data 0801: "also returned when an application rejects the CINIT/logon"): the BIND is
// never sent, INIT-SELF gets -RSP with the sense, a typed LOGON gets a USS message naming it.
import { z } from 'zod'
import { parseDuration } from '../config/index.js'

const senseHex = z.string().transform(s => s.trim().toUpperCase().replace(/^0X/, ''))
  .refine(s => /^[0-9A-F]{8}$/.test(s), 'expected 8 hex digits of SNA sense data, e.g. 08063426')

const delay = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v)
  if (ms === undefined || ms > 600_000) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a duration up to 10m like 250ms or a number of ms' })
    return z.NEVER
  }
  return ms
})

export const faultsUpdateSchema = z.object({
  clear: z.boolean().optional(),
  rejectBinds: z.object({
    sense: senseHex,
    /** Only BINDs for (or session starts on) this LU name; default every LU. */
    lu: z.string().min(1).max(17).transform(s => s.toUpperCase()).optional(),
    /** Reject this many BINDs, then stop; default until cleared. */
    count: z.number().int().min(1).optional(),
  }).strict().nullable().optional(),
  delayResponses: delay.optional(),
}).strict()

export type FaultsUpdate = z.output<typeof faultsUpdateSchema>

export interface FaultsSnapshot {
  rejectBinds: { sense: string, lu: string | null, remaining: number | null, rejected: number } | null
  delayResponsesMs: number
}

export class Faults {
  private reject: { sense: number, lu: string | null, remaining: number | null, rejected: number } | null = null
  private delayMs = 0

  /** Applies a validated update: `clear` first, then the keys present (null removes rejectBinds). */
  apply (update: FaultsUpdate): void {
    if (update.clear === true) this.clear()
    if (update.rejectBinds === null) this.reject = null
    else if (update.rejectBinds !== undefined) {
      this.reject = {
        sense: Number.parseInt(update.rejectBinds.sense, 16) >>> 0,
        lu: update.rejectBinds.lu ?? null,
        remaining: update.rejectBinds.count ?? null,
        rejected: 0,
      }
    }
    if (update.delayResponses !== undefined) this.delayMs = update.delayResponses
  }

  clear (): void {
    this.reject = null
    this.delayMs = 0
  }

  get responseDelayMs (): number { return this.delayMs }

  /**
   * The sense to reject a BIND (or session start) for `lu` with, consuming one of `count`;
   * undefined when no fault applies. Several names (PLU and SLU of an LU 6.2 BIND) match if any does.
   */
  takeBindReject (lu: string | readonly string[]): number | undefined {
    const r = this.reject
    if (r === null) return undefined
    const names = (typeof lu === 'string' ? [lu] : lu).map(n => n.toUpperCase())
    if (r.lu !== null && !names.includes(r.lu)) return undefined
    r.rejected++
    if (r.remaining !== null && --r.remaining === 0) this.reject = null
    return r.sense
  }

  snapshot (): FaultsSnapshot {
    const r = this.reject
    return {
      rejectBinds: r === null
        ? null
        : { sense: hex8(r.sense), lu: r.lu, remaining: r.remaining, rejected: r.rejected },
      delayResponsesMs: this.delayMs,
    }
  }
}

export function hex8 (sense: number): string {
  return (sense >>> 0).toString(16).toUpperCase().padStart(8, '0')
}
