// Field attributes and the Write Control Character (GA23-0059 "Field
// Attribute", "Write Control Character"). Both are 6-bit values sent through the code table, so
// the top two bits carry no meaning on input and are set from CODE_TABLE on output
// (protected → X'60', autoskip → X'F0', unprotected+MDT → X'C1', EW WCC restore+alarm+reset → X'C6').

import { ErrorCodes, lbError } from '../errors.js'
import { CODE_TABLE, FieldBit, WccBit } from './constants.js'

export type Intensity = 'normal' | 'detectable' | 'intensified' | 'hidden'

export interface FieldAttributeOptions {
  protected?: boolean
  numeric?: boolean
  /** protected + numeric: the cursor skips the field (X'F0'). */
  skip?: boolean
  /** intensified, selector-pen detectable (X'08'). */
  intensified?: boolean
  /** non-display (X'0C'), e.g. a password field. */
  hidden?: boolean
  /** normal intensity, selector-pen detectable (X'04'). */
  detectable?: boolean
  /** modified data tag (X'01'). */
  mdt?: boolean
}

export interface FieldAttribute {
  /** The byte as it appeared on the wire (or as encoded). */
  raw: number
  protected: boolean
  numeric: boolean
  skip: boolean
  intensity: Intensity
  intensified: boolean
  hidden: boolean
  mdt: boolean
}

const INTENSITY_BITS: Record<Intensity, number> = { normal: 0x00, detectable: 0x04, intensified: 0x08, hidden: 0x0c }
const INTENSITY_BY_BITS: readonly Intensity[] = ['normal', 'detectable', 'intensified', 'hidden']

/** Field attribute options → the 6-bit value (before the code table). */
export function fieldAttributeBits (o: FieldAttributeOptions = {}): number {
  if (o.hidden === true && o.intensified === true) {
    throw lbError(ErrorCodes.DATASTREAM_MALFORMED, 'field attribute cannot be both hidden and intensified')
  }
  let bits = 0
  if (o.protected === true || o.skip === true) bits |= FieldBit.PROTECTED
  if (o.numeric === true || o.skip === true) bits |= FieldBit.NUMERIC
  if (o.hidden === true) bits |= INTENSITY_BITS.hidden
  else if (o.intensified === true) bits |= INTENSITY_BITS.intensified
  else if (o.detectable === true) bits |= INTENSITY_BITS.detectable
  if (o.mdt === true) bits |= FieldBit.MDT
  return bits
}

/** Field attribute options (or a raw 6-bit value) → the wire byte, through the code table. */
export function encodeFieldAttribute (o: FieldAttributeOptions | number = {}): number {
  const bits = typeof o === 'number' ? o & 0x3f : fieldAttributeBits(o)
  return CODE_TABLE[bits] as number
}

/** Wire byte → field attribute. Total: the top two bits are ignored. */
export function decodeFieldAttribute (raw: number): FieldAttribute {
  const intensity = INTENSITY_BY_BITS[(raw & FieldBit.INTENSITY) >> 2] as Intensity
  const prot = (raw & FieldBit.PROTECTED) !== 0
  const numeric = (raw & FieldBit.NUMERIC) !== 0
  return {
    raw,
    protected: prot,
    numeric,
    skip: prot && numeric,
    intensity,
    intensified: intensity === 'intensified',
    hidden: intensity === 'hidden',
    mdt: (raw & FieldBit.MDT) !== 0,
  }
}

export interface WccOptions {
  /** WCC reset (X'40'). Default true: every code-table byte has it, as real hosts send (C3, C6). */
  reset?: boolean
  /** printout format bits X'30' (0-3). */
  printoutFormat?: number
  startPrinter?: boolean
  /** sound alarm (X'04'). */
  alarm?: boolean
  /** keyboard restore (X'02'): unlock the keyboard after the write. */
  restore?: boolean
  /** reset all MDT bits before the write (X'01'). */
  resetMdt?: boolean
}

export interface Wcc {
  raw: number
  reset: boolean
  printoutFormat: number
  startPrinter: boolean
  alarm: boolean
  restore: boolean
  resetMdt: boolean
}

export function encodeWcc (o: WccOptions | number = {}): number {
  if (typeof o === 'number') return o & 0xff
  const pf = o.printoutFormat ?? 0
  if (!Number.isInteger(pf) || pf < 0 || pf > 3) {
    throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `WCC printoutFormat ${pf} out of range 0-3`)
  }
  let bits = pf << 4
  if (o.startPrinter === true) bits |= WccBit.START_PRINTER
  if (o.alarm === true) bits |= WccBit.SOUND_ALARM
  if (o.restore === true) bits |= WccBit.KEYBOARD_RESTORE
  if (o.resetMdt === true) bits |= WccBit.RESET_MDT
  const byte = CODE_TABLE[bits] as number // always carries X'40'
  return o.reset === false ? byte & ~WccBit.RESET : byte
}

export function decodeWcc (raw: number): Wcc {
  return {
    raw,
    reset: (raw & WccBit.RESET) !== 0,
    printoutFormat: (raw & WccBit.PRINTOUT_FORMAT) >> 4,
    startPrinter: (raw & WccBit.START_PRINTER) !== 0,
    alarm: (raw & WccBit.SOUND_ALARM) !== 0,
    restore: (raw & WccBit.KEYBOARD_RESTORE) !== 0,
    resetMdt: (raw & WccBit.RESET_MDT) !== 0,
  }
}
