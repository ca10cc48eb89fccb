// The BIND images the simulated host's applications send, built from the `bind` config section
// with the sna BIND codec: the LU2 BIND for displays, LU1/LU3 BINDs for printers. LU2 values follow VTAM's LU2 BINDs in the IBMLINK trace (x3270 c3270/Test/ibmlink2.trc) and KB Q195170
// (VTAM → PU 2.0, KB Q195170): non-negotiable, FM/TS profile 3, primary protocols X'B1', secondary
// X'90', common X'30' (brackets, termination rule 1) and X'80' (HDX flip-flop, secondary is
// contention winner — MS LUA requires byte 7 = X'80', GA27-3136 BIND), LU type 2, byte 15 X'80',
// screen-size code X'7E' (default only), X'7F' (default and alternate), or with `bind.query` X'03'
// (default 24x80, alternate determined by the device: the application queries the terminal after
// SDT, like TSO with logmode D4C32XX3; SNA Network Implementation Guide, SC27-3672, PSERVIC).
import type { HostSimConfig } from '../config/index.js'
import { decodeRuSize, encodeBind, encodeRuSize, nameToEbcdic, type BindImage } from '../sna/index.js'

export type BindConfig = HostSimConfig['bind']

export interface Lu2BindParams {
  bind: BindConfig
  application: string
  lu: string
}

/** The RU size a BIND byte really announces: the encoder rounds down to a × 2^b (GA27-3136 BIND bytes 10/11). */
export function effectiveRuSize (size: number): number {
  return decodeRuSize(encodeRuSize(size))
}

/** BIND byte 24 X'03': default 24x80, alternate size from the terminal's Query Reply. */
export const SCREEN_SIZE_QUERY = 0x03

export function lu2BindImage (p: Lu2BindParams): BindImage {
  const b = p.bind
  const alternate = b.altRows > 0 && b.altCols > 0
  // X'03' leaves bytes 20-23 zero: the sizes come from the device, not the BIND (x3270 process_bind).
  const ps = b.query
    ? { rows: 0, cols: 0, altRows: 0, altCols: 0, screenSizeCode: SCREEN_SIZE_QUERY }
    : { rows: b.rows, cols: b.cols, altRows: alternate ? b.altRows : 0, altCols: alternate ? b.altCols : 0, screenSizeCode: alternate ? 0x7f : 0x7e }
  return {
    negotiable: false,
    fmProfile: 0x03,
    tsProfile: 0x03,
    primary: { multiRuChains: true, delayedRequestMode: false, chainResponse: 'either', twoPhaseCommit: false, compression: false, mayEndBracket: true },
    secondary: { multiRuChains: true, delayedRequestMode: false, chainResponse: 'exception', twoPhaseCommit: false, compression: false, mayEndBracket: false },
    common: {
      wholeBiuRequired: false,
      fmHeaders: false,
      brackets: true,
      bracketTerminationRule1: true,
      alternateCodeSet: false,
      sequenceNumbersAvailable: false,
      bisSent: false,
      bindQueuing: false,
    },
    sendReceiveMode: 'HDX-FF',
    symmetricRecovery: false,
    primaryContentionWinner: false,
    alternateCodeProcessingId: 0,
    primarySendsFirst: false,
    // One-stage pacing (GA27-3136 pacing): byte 9 = byte 12 (PLU→SLU), byte 8 = byte 13 (SLU→PLU).
    pacing: {
      secondarySendTwoStage: false,
      secondarySendWindow: b.secondarySendWindow,
      adaptive: b.adaptivePacing,
      secondaryReceiveWindow: b.primarySendWindow,
      primarySendOneStage: true,
      primarySendWindow: b.primarySendWindow,
      primaryReceiveWindow: b.secondarySendWindow,
    },
    maxSecondarySendRu: b.maxRuSecondary,
    maxPrimarySendRu: b.maxRuPrimary,
    psUsageNonBasic: false,
    luType: 2,
    ps: {
      kind: 'lu2',
      flags: 0x80,
      reserved: Buffer.alloc(4),
      ...ps,
      compression: 0,
    },
    cryptography: 0,
    pluName: nameToEbcdic(p.application),
    userData: { kind: 'raw', bytes: Buffer.alloc(0) },
    urc: Buffer.alloc(0),
    sluName: nameToEbcdic(p.lu),
  }
}

export function lu2BindRu (p: Lu2BindParams): Buffer {
  return encodeBind(lu2BindImage(p))
}

/** What a printer LU is bound as: LU type 1 (SCS) or LU type 3 (3270 data stream). */
export type PrinterLuType = 'lu1' | 'lu3'

/**
 * BIND bytes 15-25 of the printer logmodes in VTAM's sample logon mode table ISTINCLM ("z/OS
 * Communications Server: SNA Resource Definition Reference", SC27-3675, MODEENT PSERVIC, whose
 * first byte is the LU type): SCS is PSERVIC X'01000000E100000000000000' (LU1, SCS profile in
 * byte 18), D6328902 X'030000000000185018507F00' (LU3, a 24x80 buffer, code X'7F').
 */
const PRINTER_PS: Record<PrinterLuType, Buffer> = {
  lu1: Buffer.from('000000e100000000000000', 'hex'),
  lu3: Buffer.from('0000000000185018507f00', 'hex'),
}

/**
 * A printer BIND: the LU2 image's protocols (FM/TS profile 3, PRIPROT X'B1', SECPROT X'90',
 * COMPROT X'3080' — the same in the ISTINCLM printer entries), the `bind` section's RU sizes and
 * pacing windows, LU type 1 or 3 with the logmode's presentation bytes ("SNA Formats",
 * GA27-3136, BIND).
 */
export function printerBindImage (p: Lu2BindParams & { type: PrinterLuType }): BindImage {
  const base = lu2BindImage({ ...p, bind: { ...p.bind, query: false, altRows: 0, altCols: 0 } })
  return { ...base, luType: p.type === 'lu1' ? 1 : 3, ps: { kind: 'raw', bytes: Buffer.from(PRINTER_PS[p.type]) } }
}

export function printerBindRu (p: Lu2BindParams & { type: PrinterLuType }): Buffer {
  return encodeBind(printerBindImage(p))
}
