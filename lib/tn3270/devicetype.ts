// Terminal/device types (RFC 1576 §2, RFC 1646, RFC 2355 §7.1.1) and screen sizes.
// The default screen is always 24x80; the model gives the alternate size, the one Erase/Write
// Alternate selects (3270 Data Stream Programmer's Reference, GA23-0059).

export interface ScreenSize { rows: number, cols: number }

/** 3278/3279 model -> alternate (Erase/Write Alternate) size. */
export const MODEL_SIZES: Record<2 | 3 | 4 | 5, ScreenSize> = {
  2: { rows: 24, cols: 80 },
  3: { rows: 32, cols: 80 },
  4: { rows: 43, cols: 80 },
  5: { rows: 27, cols: 132 },
}

export const DEFAULT_SIZE: ScreenSize = { rows: 24, cols: 80 }

export interface DeviceTypeInfo {
  /** Normalised (upper-case) name as the client sent it. */
  name: string
  kind: 'display' | 'printer'
  model?: 2 | 3 | 4 | 5
  /** `-E`: extended data stream (colour, highlighting) — not the same thing as TN3270E. */
  extended: boolean
  /** IBM-DYNAMIC: size learned from the Query Reply (Usable Area). */
  dynamic: boolean
  alt: ScreenSize
}

const DISPLAY = /^IBM-327[89]-([2-5])(-E)?$/

/** Recognise a supported device type, or undefined (INV-DEVICE-TYPE / close in TN3270). */
export function parseDeviceType (name: string): DeviceTypeInfo | undefined {
  const n = name.toUpperCase()
  const m = DISPLAY.exec(n)
  if (m !== null) {
    const model = Number(m[1]) as 2 | 3 | 4 | 5
    return { name: n, kind: 'display', model, extended: m[2] !== undefined, dynamic: false, alt: MODEL_SIZES[model] }
  }
  if (n === 'IBM-DYNAMIC') return { name: n, kind: 'display', extended: true, dynamic: true, alt: DEFAULT_SIZE }
  if (n === 'IBM-3287-1') return { name: n, kind: 'printer', extended: false, dynamic: false, alt: DEFAULT_SIZE }
  return undefined
}

/**
 * Split a TERMINAL-TYPE string into device type and `@NAME` resource (x3270/RFC 1646-era
 * convention, docs/tn3270.md): `IBM-3279-2-E@LU02` -> IBM-3279-2-E, LU02.
 */
export function splitTerminalType (ttype: string): { deviceType: string, resourceName?: string } {
  const at = ttype.indexOf('@')
  if (at === -1) return { deviceType: ttype }
  const name = ttype.slice(at + 1)
  return name.length === 0 ? { deviceType: ttype.slice(0, at) } : { deviceType: ttype.slice(0, at), resourceName: name.toUpperCase() }
}

/** TN3270E and RFC 1646 names: 1-8 characters (RFC 2355 §7.1.1). */
export function validResourceName (name: string): boolean {
  return /^[A-Z0-9@#$][A-Z0-9@#$.]{0,7}$/i.test(name)
}

/**
 * Read Partition Query: WSF (remote command code X'F3') + structured field
 * length X'0005', SFID X'01' Read Partition, PID X'FF', type X'02' Query (GA23-0059 §5).
 */
export const READ_PARTITION_QUERY = Buffer.from([0xf3, 0x00, 0x05, 0x01, 0xff, 0x02])

/** Inbound structured-field AID (GA23-0059 §3). */
export const AID_STRUCTURED_FIELD = 0x88

/**
 * Find the Usable Area query reply (SFID X'81', QCODE X'81') in an inbound record that starts
 * with AID X'88', and return its width/height: layout L(2) 81 81 FLAGS1 FLAGS2 W(2) H(2) ...
 * (GA23-0059 §6.44). Undefined if absent or malformed.
 */
export function parseUsableArea (record: Uint8Array): ScreenSize | undefined {
  if (record.length < 1 || record[0] !== AID_STRUCTURED_FIELD) return undefined
  let i = 1
  while (i + 4 <= record.length) {
    let len = (record[i]! << 8) | record[i + 1]!
    if (len === 0) len = record.length - i // length 0 = the rest of the record
    if (len < 4 || i + len > record.length) return undefined
    if (record[i + 2] === 0x81 && record[i + 3] === 0x81 && len >= 10) {
      const cols = (record[i + 6]! << 8) | record[i + 7]!
      const rows = (record[i + 8]! << 8) | record[i + 9]!
      return rows > 0 && cols > 0 ? { rows, cols } : undefined
    }
    i += len
  }
  return undefined
}
