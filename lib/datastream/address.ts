// 3270 buffer addresses (GA23-0059 "Buffer Addressing"; x3270 DECODE_BADDR/ENCODE_BADDR).
// 12-bit: two 6-bit halves, each through the 64-entry code table.
// 14-bit: first byte's top two bits are 00, addr = (b1 & 0x3F) << 8 | b2. x3270 emits 14-bit only
// when rows×cols > 4096; 16-bit addressing (needs a Usable Area flag) is not supported.

import { ErrorCodes, lbError } from '../errors.js'
import { CODE_TABLE } from './constants.js'

export type AddressMode = 12 | 14
export const MAX_12BIT_ADDRESS = 4095
export const MAX_14BIT_ADDRESS = 16383

/** The addressing mode a host uses for a buffer of `size` positions (x3270 rule). */
export function addressModeFor (size: number): AddressMode {
  return size > 4096 ? 14 : 12
}

/** Encode an address into two bytes. Throws (programmer error) when it does not fit the mode. */
export function encodeAddress (address: number, mode: AddressMode = 12): [number, number] {
  if (!Number.isInteger(address) || address < 0) {
    throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `buffer address ${address} is not a non-negative integer`)
  }
  if (mode === 12) {
    if (address > MAX_12BIT_ADDRESS) {
      throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `buffer address ${address} does not fit 12-bit addressing (max 4095)`)
    }
    return [CODE_TABLE[(address >> 6) & 0x3f] as number, CODE_TABLE[address & 0x3f] as number]
  }
  if (address > MAX_14BIT_ADDRESS) {
    throw lbError(ErrorCodes.DATASTREAM_MALFORMED, `buffer address ${address} does not fit 14-bit addressing (max 16383)`)
  }
  return [(address >> 8) & 0x3f, address & 0xff]
}

/** Decode two address bytes; the mode is implied by the first byte's top two bits. Total function. */
export function decodeAddress (b1: number, b2: number): number {
  if ((b1 & 0xc0) === 0) return ((b1 & 0x3f) << 8) | (b2 & 0xff)
  return ((b1 & 0x3f) << 6) | (b2 & 0x3f)
}

export function addressOf (row: number, col: number, cols: number): number {
  return row * cols + col
}

export function rowColOf (address: number, cols: number): { row: number; col: number } {
  return { row: Math.floor(address / cols), col: address % cols }
}
