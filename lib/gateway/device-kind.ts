// Device-type checks of a device request against the kind of LU it would get, RFC 2355 §7.1: a
// printer type (IBM-3287-1) gets printer LUs only and a display type never does; ASSOCIATE gives
// a printer the printer associated with a display LU (docs/printers.md). Pure
// decisions over the LuRegistry; ListenerAllocator (allocator.ts) calls them and hands out.
//
// Reasons (RFC 2355 §7.1.2):
//   TYPE-NAME-ERROR  CONNECT names an LU or pool of the other kind (terminal/printer mismatch)
//   INV-ASSOCIATE    ASSOCIATE names an LU that is not a display (a printer LU, a pool)
//   UNSUPPORTED-REQ  the display has no associated printer, or none served on this listener;
//                    a generic request of a kind this listener serves no pool of
//   INV-NAME         ASSOCIATE names no LU this gateway has
import type { DeviceDecision, DeviceRequest } from '../tn3270/index.js'
import { parseDeviceType } from '../tn3270/index.js'
import type { DeviceKind, Lu, LuRegistry, PrinterLuType } from './lu-pool.js'

type Refused = Extract<DeviceDecision, { ok: false }>

/** The kind of device a request is for: its device type says (IBM-3287-1 is a printer). */
export function requestedKind (req: DeviceRequest): DeviceKind {
  return parseDeviceType(req.deviceType)?.kind ?? 'display'
}

/**
 * Whether a request may get an LU of this kind. In TN3270 (RFC 1576) records carry no data type,
 * so only 3270 data stream printers (LU type 3) can be served; SCS needs TN3270E (SCS-DATA,
 * RFC 2355 §10.3).
 */
function fits (req: DeviceRequest, kind: DeviceKind, luType: PrinterLuType | undefined): boolean {
  if (requestedKind(req) !== kind) return false
  return kind === 'display' || req.mode === 'tn3270e' || luType === 'lu3'
}

/** Whether a request may have this LU as far as kinds go (displays for displays, printers for printers). */
export function fitsRequest (req: DeviceRequest, lu: Lu): boolean {
  return fits(req, lu.def.printer === undefined ? 'display' : 'printer', lu.def.printer)
}

/** TYPE-NAME-ERROR when `name` (an LU or a pool) is not of the kind the request is for. */
export function kindMismatch (req: DeviceRequest, name: string, what: 'LU' | 'pool', kind: DeviceKind, luType?: PrinterLuType): Refused | undefined {
  if (fits(req, kind, luType)) return undefined
  const is = kind === 'display' ? `a display ${what}` : `an LU type ${luType === 'lu3' ? 3 : 1} printer ${what}`
  const why = requestedKind(req) === kind
    ? `; an SCS printer needs TN3270E (SCS-DATA, RFC 2355 §10.3) and this client negotiated TN3270`
    : `, and device type ${req.deviceType} is a ${requestedKind(req)}`
  return { ok: false, reason: 'TYPE-NAME-ERROR', message: `${name} is ${is}${why}` }
}

/**
 * The pools of this listener a request that names nothing may be served from, in the listener's
 * order: those of the kind it asks for (displays: the default pool first, as before).
 */
export function poolsForRequest (req: DeviceRequest, registry: LuRegistry, pools: readonly string[]): string[] {
  return pools.filter(p => {
    const k = registry.poolKind(p)
    return k !== undefined && fits(req, k.kind, k.luType)
  })
}

/** A generic request of a kind this listener serves no pool of: UNSUPPORTED-REQ (RFC 2355 §7.1.2). */
export function noPoolOfKind (req: DeviceRequest, pools: readonly string[]): Refused {
  const kind = requestedKind(req)
  const what = kind === 'display' ? 'display pool' : req.mode === 'tn3270e' ? 'printer pool' : 'LU type 3 printer pool (TN3270 cannot carry SCS)'
  return { ok: false, reason: 'UNSUPPORTED-REQ', message: `device type ${req.deviceType} needs a ${what}; this listener serves ${pools.join(', ')}` }
}

/**
 * ASSOCIATE `display` (RFC 2355 §7.1): the printer LU associated with that display LU, or why
 * there is none. Any display LU of this gateway may be named (a printer client may use another
 * listener than its display); its printer must be in a pool this listener serves. Whether that
 * printer is free is the allocator's to check.
 */
export function associatedPrinter (display: string, registry: LuRegistry, pools: readonly string[]): { lu: Lu } | Refused {
  const name = display.toUpperCase()
  const lu = registry.lu(name)
  if (lu === undefined) {
    if (registry.hasPool(name)) return { ok: false, reason: 'INV-ASSOCIATE', message: `${name} is a pool; ASSOCIATE names a display LU` }
    return { ok: false, reason: 'INV-NAME', message: `no LU named ${name} to associate with` }
  }
  if (lu.def.printer !== undefined) return { ok: false, reason: 'INV-ASSOCIATE', message: `${name} is a printer LU; ASSOCIATE names a display LU` }
  const printerName = registry.printerOf(name)
  if (printerName === undefined) return { ok: false, reason: 'UNSUPPORTED-REQ', message: `display LU ${name} has no associated printer` }
  const printer = registry.lu(printerName)
  if (printer === undefined || !pools.includes(printer.def.pool)) {
    return { ok: false, reason: 'UNSUPPORTED-REQ', message: `the printer of display LU ${name}, ${printerName}, is not in a pool served on this listener` }
  }
  return { lu: printer }
}
