// Type-length-value entries of a PROXY v2 header (HAProxy doc/proxy-protocol.txt §2.2, TLV
// layout; §2.2.7, reserved type ranges): finding one by type, and the application type this
// project uses. Types 0xE0-0xEF (PP2_TYPE_MIN_CUSTOM to PP2_TYPE_MAX_CUSTOM) are left to
// applications and never used by the protocol itself. Pure.
import { ErrorCodes, lbError } from '../errors.js'
import type { ProxyTlv } from './codec.js'

/** §2.2.7: the first type reserved for application-specific data. */
export const PP2_TYPE_MIN_CUSTOM = 0xe0
/** §2.2.7: the last type reserved for application-specific data. */
export const PP2_TYPE_MAX_CUSTOM = 0xef

/**
 * A TN3270 negotiation the front proxy hands over to a gateway: the value is a negotiation
 * snapshot (docs/tn3270.md, "Resume and the negotiation snapshot"; docs/routing.md).
 */
export const PP2_TYPE_TN3270_NEGOTIATION = 0xe0

/** The value of the first TLV of `type`, or undefined. A sender includes each type once. */
export function findTlv (tlvs: readonly ProxyTlv[], type: number): Buffer | undefined {
  return tlvs.find(t => t.type === type)?.value
}

/** An application TLV (§2.2.7); throws PROXY_HEADER for a type outside 0xE0-0xEF or a value over 65535 bytes. */
export function customTlv (type: number, value: Uint8Array): ProxyTlv {
  if (!Number.isInteger(type) || type < PP2_TYPE_MIN_CUSTOM || type > PP2_TYPE_MAX_CUSTOM) {
    throw lbError(ErrorCodes.PROXY_HEADER, `PROXY v2 TLV type 0x${type.toString(16)} is not an application type (0xe0-0xef)`)
  }
  if (value.length > 0xffff) throw lbError(ErrorCodes.PROXY_HEADER, `PROXY v2 TLV 0x${type.toString(16)}: value of ${value.length} bytes exceeds 65535`)
  return { type, value: Buffer.from(value) }
}
