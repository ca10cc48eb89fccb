// LU 6.2 view of a BIND ("SNA Formats", GA27-3136, BIND "LU type 6.2 fields"; traces in KB Q185503 and
// KB Q194324) on top of sna/'s generic BIND codec: what the APPC engine and partner need — the
// mode name (user data key X'02'), the contention-winner bit (byte 7 bit 3), sync level, parallel
// sessions and CNOS support (byte 24) — plus the gateway's own BIND and the SLU's +RSP image.
import { ErrorCodes, lbError } from '../errors.js'
import { fromEbcdic, modeNameBytes, modeNameFrom, toEbcdic } from './ebcdic.js'
import { decodeBindImage, encodeBindImage, Sense, UserDataKey, type BindImage, type Lu62Ps } from './sna.js'

export interface Lu62Bind {
  /** The complete image (authoritative: `encodeBind` writes exactly this). */
  image: BindImage
  plu: string
  slu: string
  /** User data key X'02' (blank padding removed). */
  mode: string | undefined
  /** Byte 7 bit 3: the primary (BIND sender) is the contention winner (GA27-3136 BIND, SC31-6808 contention). */
  primaryWinner: boolean
  /** Byte 24 bits 1-2: 01 confirm; 10/11 read as syncpt [UNCONFIRMED, GA27-3136 BIND]. */
  syncLevel: 'none' | 'confirm' | 'syncpt'
  parallelSessions: boolean
  cnosSupported: boolean
}

function malformed (offset: number, what: string): Error {
  return lbError(ErrorCodes.APPC_MALFORMED, `LU 6.2 BIND at offset ${offset}: ${what}`)
}

function view (image: BindImage): Lu62Bind {
  const ps = image.ps as Lu62Ps
  const sub = image.userData?.kind === 'structured' ? image.userData.subfields : []
  const mode = sub.find(s => s.key === UserDataKey.MODE_NAME)
  return {
    image,
    plu: fromEbcdic(image.pluName),
    slu: image.sluName === undefined ? '' : fromEbcdic(image.sluName),
    mode: mode === undefined ? undefined : modeNameFrom(mode.data),
    primaryWinner: image.primaryContentionWinner,
    syncLevel: ps.syncLevel === 0 ? 'none' : ps.syncLevel === 1 ? 'confirm' : 'syncpt',
    parallelSessions: ps.parallelSessions,
    cnosSupported: ps.cnosSupported,
  }
}

/**
 * Decodes a BIND and checks it is one an LU 6.2 can take: negotiable (KB Q157441, sense 0835 0001),
 * LU type 6 level 2. Codec errors from sna/ keep their offset (→ 0835 pointer sense).
 */
export function decodeBind (ru: Buffer): Lu62Bind { return lu62Bind(decodeBindImage(ru)) }

/** The LU 6.2 view of a decoded BIND image; throws (APPC_MALFORMED) for one an LU 6.2 cannot take. */
export function lu62Bind (image: BindImage): Lu62Bind {
  if (!image.negotiable) throw malformed(1, 'LU 6.2 BINDs must be negotiable (type 0000, KB Q157441)')
  if (image.luType !== 6 || image.ps.kind !== 'lu62') throw malformed(14, `LU type ${image.luType} is not LU 6.2 (X'06' level X'02')`)
  return view(image)
}

/** Sense for a decoded BIND image an LU 6.2 cannot take: 0835 0001 non-negotiable (KB Q157441), 0835 0000 not LU 6.2. */
export function lu62BindSense (image: BindImage): number | undefined {
  if (!image.negotiable) return Sense.BIND_TYPE_INVALID
  if (image.luType !== 6 || image.ps.kind !== 'lu62') return Sense.INVALID_PARAMETER
  return undefined
}

export function encodeBind (b: Lu62Bind): Buffer { return encodeBindImage(b.image) }

export function bindMode (b: Lu62Bind): string | undefined { return b.mode }

/** Bound RU size a side sends with (bytes 10/11; no maximum → a safe 256). */
export function maxRu (b: Lu62Bind, sender: 'primary' | 'secondary'): number {
  const n = sender === 'primary' ? b.image.maxPrimarySendRu : b.image.maxSecondarySendRu
  return n === 0 ? 256 : n
}

export interface BindInit {
  plu: string
  slu: string
  mode: string
  primaryWinner: boolean
  syncLevel?: 'none' | 'confirm'
  sessionInstance?: Buffer
  /** Max RU size each way (default 1024). */
  ruSize?: number
}

/**
 * The gateway's BIND, shaped like SNA Server's (KB Q185503): negotiable, FM profile 19, TS profile 7,
 * FM usage B0/B0/50, HDX-FF with symmetric recovery, byte 7 bit 3 from `primaryWinner`, no
 * session-level pacing (windows 0), sync level confirm, parallel sessions and CNOS supported,
 * user data: mode name (X'02'), session instance (X'03'), PLU network name (X'04').
 */
export function buildBind (init: BindInit): Lu62Bind {
  const protocols = { multiRuChains: true, delayedRequestMode: false, chainResponse: 'either' as const, twoPhaseCommit: false, compression: false, mayEndBracket: false }
  const image: BindImage = {
    negotiable: true,
    fmProfile: 0x13,
    tsProfile: 0x07,
    primary: protocols,
    secondary: protocols,
    common: { wholeBiuRequired: false, fmHeaders: true, brackets: false, bracketTerminationRule1: true, alternateCodeSet: false, sequenceNumbersAvailable: false, bisSent: false, bindQueuing: false },
    sendReceiveMode: 'HDX-FF',
    symmetricRecovery: true,
    primaryContentionWinner: init.primaryWinner,
    alternateCodeProcessingId: 0,
    primarySendsFirst: true,
    pacing: { secondarySendTwoStage: false, secondarySendWindow: 0, adaptive: false, secondaryReceiveWindow: 0, primarySendOneStage: true, primarySendWindow: 0, primaryReceiveWindow: 0 },
    maxSecondarySendRu: init.ruSize ?? 1024,
    maxPrimarySendRu: init.ruSize ?? 1024,
    psUsageNonBasic: false,
    luType: 6,
    ps: {
      kind: 'lu62',
      reserved: Buffer.alloc(6),
      extendedSecurity: false,
      extendedSecuritySense: false,
      accessSecurityAccepted: false,
      luLuVerification: false,
      passwordSubstitution: false,
      alreadyVerifiedAccepted: false,
      persistentVerification: false,
      syncLevel: init.syncLevel === 'none' ? 0 : 1,
      reinitiation: 0,
      parallelSessions: true,
      cnosSupported: true,
      limitedResource: false,
      lccCompression: 0,
    },
    cryptography: 0,
    pluName: toEbcdic(init.plu, 'PLU name'),
    userData: {
      kind: 'structured',
      subfields: [
        { key: UserDataKey.MODE_NAME, data: modeNameBytes(init.mode) },
        ...(init.sessionInstance !== undefined ? [{ key: UserDataKey.SESSION_INSTANCE_ID, data: init.sessionInstance }] : []),
        { key: UserDataKey.PLU_NETWORK_NAME, data: toEbcdic(init.plu, 'PLU name') },
      ],
    },
    urc: Buffer.alloc(0),
    sluName: toEbcdic(init.slu, 'SLU name'),
  }
  return view(image)
}

/**
 * The SLU's +RSP image (GA27-3136 BIND "BIND response and negotiation", KB Q185503): the BIND echoed with the PLU
 * name emptied, the mode and session instance kept, the SLU network name in user data key X'05'
 * in place of the PLU's X'04', URC and SLU name empty.
 */
export function bindResponseImage (b: Lu62Bind, sluNetName: string): Lu62Bind {
  const sub = b.image.userData?.kind === 'structured' ? b.image.userData.subfields : []
  return view({
    ...b.image,
    pluName: Buffer.alloc(0),
    userData: {
      kind: 'structured',
      subfields: [
        ...sub.filter(u => u.key === UserDataKey.MODE_NAME || u.key === UserDataKey.SESSION_INSTANCE_ID),
        { key: UserDataKey.SLU_NETWORK_NAME, data: toEbcdic(sluNetName, 'SLU name') },
      ],
    },
    urc: Buffer.alloc(0),
    sluName: Buffer.alloc(0),
  })
}
