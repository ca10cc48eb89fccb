// Property tests: decode(encode(x)) = x for TH, RH, PIU, BIND and the other RUs; decoders never make an
// unchecked read (random bytes either decode or raise SNA_MALFORMED).
import t from 'tap'
import fc from 'fast-check'
import { isLbError } from '../../lib/errors.js'
import {
  encodeTh, decodeTh, encodeRh, decodeRh, encodePiu, decodePiu, encodeBind, decodeBind, decodeRuSize, encodeRuSize,
  encodeActpu, decodeActpu, encodeActlu, decodeActlu, encodeActluResponse, decodeActluResponse, encodeDactlu, decodeDactlu,
  encodeDactpu, decodeDactpu, encodeNotify, decodeNotify, encodeInitSelf, decodeInitSelf, encodeTermSelf, decodeTermSelf,
  encodeUnbind, decodeUnbind, encodeLustat, decodeLustat, encodeSig, decodeSig, encodeIpmRu, decodeIpmRu, chainRu,
  ChainReassembler, formatSense, parseSense, decodeBindResponse, decodeActpuResponse, encodeActpuResponse,
  type Th, type Rh, type BindImage, type LuProtocols, type PsCharacteristics, type BindUserData, type ControlVector,
} from '../../lib/sna/index.js'

const byte = fc.integer({ min: 0, max: 255 })
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a))
const bytesN = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a))

const thArb: fc.Arbitrary<Th> = fc.record({
  mpf: fc.constantFrom('whole', 'first', 'middle', 'last'),
  odai: fc.boolean(), efi: fc.boolean(), daf: byte, oaf: byte, snf: fc.integer({ min: 0, max: 0xffff }),
})
const category = fc.constantFrom('FMD', 'NC', 'DFC', 'SC') as fc.Arbitrary<'FMD' | 'NC' | 'DFC' | 'SC'>
const common = { category, fi: fc.boolean(), sdi: fc.boolean(), bci: fc.boolean(), eci: fc.boolean(), dr1: fc.boolean(), dr2: fc.boolean(), qri: fc.boolean(), pi: fc.boolean() }
const rhArb: fc.Arbitrary<Rh> = fc.oneof(
  fc.record({ ...common, rri: fc.constant(false as const), lcci: fc.boolean(), eri: fc.boolean(), rlwi: fc.boolean(), bbi: fc.boolean(), ebi: fc.boolean(), cdi: fc.boolean(), csi: fc.boolean(), edi: fc.boolean(), pdi: fc.boolean(), cebi: fc.boolean() }),
  fc.record({ ...common, rri: fc.constant(true as const), rti: fc.boolean() }),
)

const protocols: fc.Arbitrary<LuProtocols> = fc.record({
  multiRuChains: fc.boolean(), delayedRequestMode: fc.boolean(), chainResponse: fc.constantFrom('none', 'exception', 'definite', 'either'),
  twoPhaseCommit: fc.boolean(), compression: fc.boolean(), mayEndBracket: fc.boolean(),
})
const ruSizeByte = fc.oneof(fc.constant(0), fc.integer({ min: 0x80, max: 0xff }))
const window = fc.integer({ min: 0, max: 63 })
const name = bytes(17)
const cvs: fc.Arbitrary<ControlVector[]> = fc.array(fc.record({ key: byte, data: bytes(20) }), { maxLength: 3 })

const lu2Ps = fc.record({ kind: fc.constant('lu2' as const), flags: byte, reserved: bytesN(4), rows: byte, cols: byte, altRows: byte, altCols: byte, screenSizeCode: byte, compression: fc.integer({ min: 0, max: 3 }) })
const lu62Ps = fc.record({
  kind: fc.constant('lu62' as const), reserved: bytesN(6), extendedSecurity: fc.boolean(), extendedSecuritySense: fc.boolean(),
  accessSecurityAccepted: fc.boolean(), luLuVerification: fc.boolean(), passwordSubstitution: fc.boolean(), alreadyVerifiedAccepted: fc.boolean(),
  persistentVerification: fc.boolean(), syncLevel: fc.integer({ min: 0, max: 3 }), reinitiation: fc.integer({ min: 0, max: 3 }),
  parallelSessions: fc.boolean(), cnosSupported: fc.boolean(), limitedResource: fc.boolean(), lccCompression: fc.integer({ min: 0, max: 3 }),
})

// LU type and PS kind must agree with the decoder's choice (2 → lu2; 6 with byte 15 = 02 → lu62; else raw)
const luTypeAndPs: fc.Arbitrary<[number, PsCharacteristics]> = fc.oneof(
  lu2Ps.map((ps) => [2, ps] as [number, PsCharacteristics]),
  lu62Ps.map((ps) => [6, ps] as [number, PsCharacteristics]),
  fc.tuple(fc.integer({ min: 0, max: 127 }).filter((x) => x !== 2), bytesN(11))
    .filter(([lt, b]) => !(lt === 6 && b[0] === 2)).map(([lt, b]) => [lt, { kind: 'raw', bytes: b }] as [number, PsCharacteristics]),
)

const structured: fc.Arbitrary<BindUserData> = fc.record({ kind: fc.constant('structured' as const), subfields: fc.array(fc.record({ key: byte, data: bytes(20) }), { maxLength: 4 }) })
const rawUser = (luType: number): fc.Arbitrary<BindUserData> => bytes(30).filter((b) => !(luType === 6 && b.length > 0 && b[0] === 0)).map((b) => ({ kind: 'raw' as const, bytes: b }))

const bindArb: fc.Arbitrary<BindImage> = luTypeAndPs.chain(([luType, ps]) => fc.record({
  negotiable: fc.boolean(), fmProfile: byte, tsProfile: byte, primary: protocols, secondary: protocols,
  common: fc.record({ wholeBiuRequired: fc.boolean(), fmHeaders: fc.boolean(), brackets: fc.boolean(), bracketTerminationRule1: fc.boolean(), alternateCodeSet: fc.boolean(), sequenceNumbersAvailable: fc.boolean(), bisSent: fc.boolean(), bindQueuing: fc.boolean() }),
  sendReceiveMode: fc.constantFrom('FDX', 'HDX-contention', 'HDX-FF'),
  symmetricRecovery: fc.boolean(), primaryContentionWinner: fc.boolean(), alternateCodeProcessingId: fc.integer({ min: 0, max: 3 }), primarySendsFirst: fc.boolean(),
  pacing: fc.record({ secondarySendTwoStage: fc.boolean(), secondarySendWindow: window, adaptive: fc.boolean(), secondaryReceiveWindow: window, primarySendOneStage: fc.boolean(), primarySendWindow: window, primaryReceiveWindow: window }),
  maxSecondarySendRu: ruSizeByte.map((b) => decodeRuSize(b)), maxPrimarySendRu: ruSizeByte.map((b) => decodeRuSize(b)),
  psUsageNonBasic: fc.boolean(), luType: fc.constant(luType), ps: fc.constant(ps), cryptography: byte, pluName: name,
  depth: fc.integer({ min: 0, max: 4 }),
  userData: luType === 6 ? fc.oneof(structured, rawUser(6)) : rawUser(luType),
  urc: bytes(10), sluName: name, controlVectors: cvs,
}).map(({ depth, userData, urc, sluName, controlVectors, ...rest }) => {
  const b: BindImage = { ...rest } as BindImage
  if (depth >= 1) b.userData = userData
  if (depth >= 2) b.urc = urc
  if (depth >= 3) b.sluName = sluName
  if (depth >= 4) b.controlVectors = controlVectors
  return b
}))

t.test('TH, RH and PIU round trips', async (t) => {
  fc.assert(fc.property(thArb, (th) => { t.same(decodeTh(encodeTh(th)), th) ; return true }), { numRuns: 300 })
  fc.assert(fc.property(rhArb, (rh) => { const d = decodeRh(encodeRh(rh)); return JSON.stringify(d) === JSON.stringify({ ...d, ...rh }) && encodeRh(d).equals(encodeRh(rh)) }), { numRuns: 500 })
  fc.assert(fc.property(thArb, rhArb, bytes(40), (th, rh, ru) => {
    const seg = th.mpf === 'middle' || th.mpf === 'last'
    const buf = encodePiu(seg ? { th, ru } : { th, rh, ru })
    const p = decodePiu(buf)
    return encodePiu(p).equals(buf) && p.ru.equals(ru) && (seg ? p.rh === undefined : p.rh !== undefined)
  }), { numRuns: 300 })
})

t.test('BIND round trip (LU2, LU 6.2 and other LU types)', async (t) => {
  fc.assert(fc.property(bindArb, (b) => {
    const ru = encodeBind(b)
    const d = decodeBind(ru)
    t.same(d, b)
    return encodeBind(d).equals(ru)
  }), { numRuns: 400 })
})

t.test('max RU size encoding', async (t) => {
  for (let b = 0; b < 256; b++) {
    if (b !== 0 && b < 0x80) { t.throws(() => decodeRuSize(b, 10), { code: 'TN3270LB_ERR_SNA_MALFORMED' }); continue }
    t.equal(encodeRuSize(decodeRuSize(b)), b, `byte ${b.toString(16)}`)
  }
  fc.assert(fc.property(fc.integer({ min: 8, max: 15 * 2 ** 15 }), (n) => {
    const v = decodeRuSize(encodeRuSize(n))
    return v <= n && v > n / 2
  }))
  t.equal(encodeRuSize(15 * 2 ** 16), 0xff)
  t.same([encodeRuSize(256), encodeRuSize(1024), encodeRuSize(1536), encodeRuSize(3840), encodeRuSize(4000), encodeRuSize(16384)], [0x85, 0x87, 0xc7, 0xf8, 0xf8, 0x8b])
})

t.test('other RU round trips', async (t) => {
  const rt = <T>(arb: fc.Arbitrary<T>, enc: (x: T) => Buffer, dec: (b: Buffer) => T) =>
    fc.assert(fc.property(arb, (x) => { const b = enc(x); t.same(dec(b), x); return enc(dec(b)).equals(b) }), { numRuns: 150 })
  rt(fc.record({ format: fc.integer({ min: 0, max: 15 }), activationType: fc.integer({ min: 0, max: 15 }), fmProfile: fc.integer({ min: 0, max: 15 }), tsProfile: fc.integer({ min: 0, max: 15 }), sscpId: bytesN(6), controlVectors: cvs }), encodeActpu, decodeActpu)
  rt(fc.record({ enhancedAddressManagement: fc.boolean(), dynamicAddress: fc.boolean(), activationType: fc.integer({ min: 0, max: 3 }), fmProfile: fc.integer({ min: 0, max: 15 }), tsProfile: fc.integer({ min: 0, max: 15 }), controlVectors: cvs }), encodeActlu, decodeActlu)
  rt(fc.record({ typeByte: byte, fmProfile: fc.integer({ min: 0, max: 15 }), tsProfile: fc.integer({ min: 0, max: 15 }), sscpLuCapabilities: bytesN(4), controlVectors: cvs }), encodeActluResponse, decodeActluResponse)
  const deact = fc.oneof(fc.constant({}), fc.record({ type: byte }), fc.record({ type: byte, cause: byte }))
  rt(deact, encodeDactlu, decodeDactlu)
  rt(deact, encodeDactpu, decodeDactpu)
  rt(fc.record({ enabled: fc.boolean(), detail: bytes(20) }), encodeNotify, decodeNotify)
  rt(fc.record({ format: fc.constantFrom(0 as const, 1 as const), typeByte: byte, nameType: byte, pluName: name, modeName: bytes(8), requesterId: bytes(8), password: bytes(8), userField: bytes(30) }), encodeInitSelf, decodeInitSelf)
  rt(fc.record({ format: fc.constantFrom(0 as const, 1 as const), typeByte: byte, nameType: byte, pluName: name, trailing: bytes(10) }), encodeTermSelf, decodeTermSelf)
  rt(fc.oneof(byte.filter((x) => x !== 0xfe).map((type) => ({ type })), fc.integer({ min: 0, max: 0xffffffff }).map((sense) => ({ type: 0xfe, sense }))), encodeUnbind, decodeUnbind)
  rt(fc.record({ status: fc.integer({ min: 0, max: 0xffff }), extension: fc.integer({ min: 0, max: 0xffff }) }), encodeLustat, decodeLustat)
  rt(fc.record({ code: fc.integer({ min: 0, max: 0xffff }), extension: fc.integer({ min: 0, max: 0xffff }) }), encodeSig, decodeSig)
  rt(fc.record({ type: fc.constantFrom('solicited' as const, 'unsolicited' as const, 'reset-ack' as const), rwi: fc.boolean(), nws: fc.integer({ min: 0, max: 0x7fff }) }), encodeIpmRu, decodeIpmRu)
  rt(fc.oneof(fc.constant({ data: Buffer.alloc(0) }), fc.record({ formatType: byte, data: bytes(10) })), encodeActpuResponse, decodeActpuResponse)
})

t.test('chaining round trip', async (t) => {
  fc.assert(fc.property(bytes(2000), fc.integer({ min: 0, max: 300 }), (data, max) => {
    const parts = chainRu(data, max)
    const r = new ChainReassembler()
    let out: Buffer | undefined
    for (const [i, p] of parts.entries()) {
      if (max > 0 && p.ru.length > max) return false
      const res = r.push(p.ru, p.bci, p.eci)
      if (i < parts.length - 1 && res.kind !== 'partial') return false
      if (res.kind === 'complete') out = res.data
    }
    return out !== undefined && out.equals(data) && parts[0]!.bci && parts.at(-1)!.eci && !r.inProgress
  }), { numRuns: 300 })
  t.pass('chains reassemble')
})

t.test('sense format/parse round trip', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (s) => parseSense(formatSense(s)) === s))
  t.pass('round trip')
})

t.test('random bytes: decoders return or throw SNA_MALFORMED, never anything else', async (t) => {
  const decoders: Array<(b: Buffer) => unknown> = [decodePiu, decodeBind, decodeBindResponse, decodeActpu, decodeActlu, decodeActluResponse,
    decodeDactlu, decodeNotify, decodeInitSelf, decodeTermSelf, decodeUnbind, decodeLustat, decodeSig, decodeIpmRu, decodeTh,
    (b) => decodeRh(b)]
  const prefixes = [[], [0x31, 0x01], [0x31, 0x00], [0x81, 0x06, 0x20], [0x0d], [0x11], [0x32], [0x2c, 0x00]]
  fc.assert(fc.property(fc.constantFrom(...prefixes), bytes(80), (prefix, tail) => {
    const buf = Buffer.concat([Buffer.from(prefix), tail])
    for (const d of decoders) {
      try { d(buf) } catch (err) { if (!isLbError(err, 'TN3270LB_ERR_SNA_MALFORMED')) throw err }
    }
    return true
  }), { numRuns: 1000 })
  t.pass('no unchecked reads')
})
