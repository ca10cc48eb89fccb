// Decoder/encoder errors name the field and the offset; sense catalogue; small helpers.
import t, { type Test } from 'tap'
import {
  decodePiu, encodePiu, decodeTh, decodeBind, encodeBind, decodeActpu, decodeNotify, decodeUnbind, encodeUnbind, decodeSdt,
  decodeClear, decodeRqr, decodeShutd, decodeShutc, decodeBid, decodeRtr, encodeSdt, encodeClear, encodeRqr, encodeShutd,
  encodeShutc, encodeBid, encodeRtr, encodeSig, decodeLustat, decodeIpmRu, encodeIpmRu, decodeDactlu, encodeDactlu,
  encodeActluResponse, decodeActluResponse, encodeActpuResponse, encodeActpu, encodeNotify, senseName, formatSense, parseSense,
  Sense, requestName, responseMode, requestRh, commandRh, responseModeBits, isDefinite, isException, positiveResponse,
  negativeResponse, responseSense, encodeIpm, isIpm, isIpr, encodeIpr, chainRu, ChainReassembler, chainPosition,
  nameToEbcdic, ebcdicToName, validateLu2Bind, bindPointerSense, bindDecodeSense, unbindTypeName, unbindAllowsEarlyRebind,
  SnaMalformedError, ByteReader, hex, decodeInitSelf, encodeTh, encodeRuSize, bindUserDataField, UserDataKey, decodeRh, encodeRh,
  type BindImage, type Lu2Ps, type ResponseMode,
} from '../../lib/sna/index.js'

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const V1 = h('31 01 03 03 B1 90 30 80 00 87 87 F8 87 00 02 80 00 00 00 00 18 50 00 00 7E 00 00 08 C9 C2 D4 F0 D4 D6 D5 F2 00 05 00 7E E5 1C 10 08 C9 C2 D4 F0 E3 C5 E2 D4')

function malformedAt (t: Test, fn: () => unknown, offset: number, text: RegExp): void {
  try {
    fn()
    t.fail(`expected SNA_MALFORMED at ${offset}`)
  } catch (err) {
    t.ok(err instanceof SnaMalformedError, 'is SnaMalformedError')
    t.equal((err as SnaMalformedError).code, 'TN3270LB_ERR_SNA_MALFORMED')
    t.equal((err as SnaMalformedError).offset, offset, `offset ${offset}`)
    t.match((err as Error).message, text)
  }
}

t.test('TH/RH/PIU errors', async (t) => {
  malformedAt(t, () => decodePiu(h('2C 00 01')), 0, /PIU TH at offset 0: needs 6 bytes, PIU has 3/)
  malformedAt(t, () => decodePiu(h('2C 00 01 02 00 01 03 90')), 6, /PIU RH at offset 6: needs 3 bytes, only 2/)
  malformedAt(t, () => decodeTh(h('1C 00 01 02 00 01')), 0, /FID 1 is not FID2/)
  malformedAt(t, () => encodePiu({ th: { mpf: 'middle', odai: false, efi: false, daf: 1, oaf: 2, snf: 1 }, rh: requestRh(), ru: h('00') }), 6, /carries no RH/)
  malformedAt(t, () => encodePiu({ th: { mpf: 'first', odai: false, efi: false, daf: 1, oaf: 2, snf: 1 }, ru: h('00') }), 6, /needs an RH/)
  t.throws(() => encodeTh({ mpf: 'whole', odai: false, efi: false, daf: 256, oaf: 0, snf: 0 }), /TH DAF'.*not a byte/)
  t.throws(() => encodeTh({ mpf: 'whole', odai: false, efi: false, daf: 0, oaf: 0, snf: 70000 }), /TH SNF.*not 16-bit/)
  malformedAt(t, () => decodeRh(h('03 90'), 6), 8, /RH byte 2 at offset 8/)
  // segments decode without RH and with the continuation data
  const seg = decodePiu(h('20 00 01 02 00 07 AA BB'))
  t.equal(seg.th.mpf, 'middle'); t.equal(seg.rh, undefined); t.equal(hex(seg.ru), 'AABB')
  t.equal(decodePiu(h('28 00 01 02 00 07 03 90 00')).th.mpf, 'first')
  t.equal(decodePiu(h('24 00 01 02 00 07')).ru.length, 0)
  t.equal(decodePiu(h('25 00 01 02 00 07 CC')).th.mpf, 'last')
})

t.test('response builders', async (t) => {
  const req = h('2C 00 02 01 00 05 03 91 20 F1')
  // PI is not echoed unless asked for; QRI is echoed; addresses swapped, SNF echoed, empty RU for data
  t.equal(hex(positiveResponse(req)), '2C0001020005838000')
  t.equal(hex(positiveResponse(req)).slice(12, 18), '838000')
  t.equal(hex(positiveResponse(req, undefined, { pacing: true })).slice(12, 18), '838100')
  t.equal(hex(positiveResponse(h('2C 00 02 01 00 05 03 92 00 F1'))).slice(12, 18), '838200')
  t.throws(() => positiveResponse(h('2C 00 02 01 00 05 83 80 00')), /is a response, not a request/)
  t.throws(() => positiveResponse(h('24 00 02 01 00 05 F1')), /segment without RH/)
  t.throws(() => positiveResponse(h('2C 00 02 01 00 05 0B 80 00 81')), /NS request header.*needs 3 bytes/)
  t.throws(() => positiveResponse(h('2D 00 02 01 00 05 6B 80 00')), /SC request code.*RU is empty/)
  t.equal(hex(decodePiu(negativeResponse(h('2D 00 02 01 00 05 6B 80 00'), 0x08010000)).ru), '08010000', '-RSP to an empty SC RU carries only the sense')
  t.throws(() => negativeResponse(h('2D 00 02 01 00 05 6B 80 00 31'), -1), /sense data.*not 32-bit/)
  const nsNeg = decodePiu(negativeResponse(h('2C 00 00 02 00 09 0B 80 00 81 06 81 00'), 0x08060014))
  t.equal(hex(nsNeg.ru), '08060014810681')
  t.equal(responseSense(nsNeg), 0x08060014)
  t.equal(responseSense(decodePiu(positiveResponse(req))), undefined)
  t.throws(() => responseSense(decodePiu(h('2C 00 01 02 00 05 87 90 00 08'))), /-RSP sense data.*needs 4 bytes/)
  // IPM
  const ipm = decodePiu(encodeIpm({ daf: 1, oaf: 2 }, { type: 'unsolicited', rwi: true, nws: 12 }))
  t.ok(isIpm(ipm)); t.notOk(isIpr(ipm))
  t.equal(hex(ipm.ru), '60000C')
  t.same(decodeIpmRu(h('80 00 03')), { type: 'reset-ack', rwi: false, nws: 3 })
  malformedAt(t, () => decodeIpmRu(h('C0 00 01')), 0, /type 11 is reserved/)
  malformedAt(t, () => decodeIpmRu(h('00 80 01')), 1, /format indicator/)
  malformedAt(t, () => decodeIpmRu(h('00 00 01 00')), 3, /expected 3/)
  t.throws(() => encodeIpmRu({ type: 'solicited', rwi: false, nws: 0x8000 }), /next-window size.*out of range/)
  t.notOk(isIpr(decodePiu(h('2C 00 01 02 00 05 83 00 00'))))
  t.ok(isIpr(decodePiu(encodeIpr({ daf: 1, oaf: 2, snf: 5 }))))
})

t.test('RH helpers and response modes', async (t) => {
  const modes: ResponseMode[] = ['none', 'RQD1', 'RQD2', 'RQD3', 'RQE1', 'RQE2', 'RQE3']
  for (const m of modes) {
    const rh = requestRh({ mode: m })
    t.equal(responseMode(rh), m)
    t.same(responseModeBits(m), { dr1: rh.dr1, dr2: rh.dr2, eri: rh.eri })
    t.equal(isDefinite(rh), m.startsWith('RQD'))
    t.equal(isException(rh), m.startsWith('RQE'))
  }
  // GA27-3136 RH response modes table: byte 1 values 00 80 20 A0 90 30 B0
  t.same(modes.map((m) => encodeRh(requestRh({ mode: m }))[1]), [0x00, 0x80, 0x20, 0xa0, 0x90, 0x30, 0xb0])
  t.throws(() => responseMode({ ...requestRh({ mode: 'none' }), eri: true }), /ERI set without DR1 or DR2/)
  const cmd = commandRh('DFC', { mode: 'RQE1' })
  t.equal(cmd.category, 'DFC'); t.ok(cmd.fi); t.ok(cmd.eri)
  t.equal(requestName('SC', true, h('A3')), 'RQR')
  t.equal(requestName('DFC', true, h('C0')), 'SHUTD')
  t.equal(requestName('SC', true, h('C0')), 'CRV')
  t.equal(requestName('NC', true, h('01')), 'NC-01')
  t.equal(requestName('SC', true, Buffer.alloc(0)), 'SC?')
  t.equal(requestName('FMD', true, h('81')), 'NS?')
  t.equal(requestName('FMD', true, h('41038D')), 'NS-41038D')
  t.equal(requestName('FMD', true, h('810620')), 'NOTIFY')
  t.equal(requestName('FMD', false, h('F1')), 'DATA')
})

t.test('RU decoder errors', async (t) => {
  malformedAt(t, () => decodeActpu(h('12 01')), 0, /ACTPU request code.*X'12', expected X'11'/)
  malformedAt(t, () => decodeActpu(h('11 12 01 05 00')), 3, /ACTPU SSCP ID at offset 3: needs 6/)
  malformedAt(t, () => decodeActpu(h('11 12 01 05 00 00 00 00 01 80 05 80')), 11, /ACTPU CV X'80' at offset 11: needs 5/)
  malformedAt(t, () => decodeNotify(h('81 06 21 0C 01 03')), 0, /NOTIFY NS header.*X'810621'/)
  malformedAt(t, () => decodeNotify(h('81 06 20 0D 01 03')), 3, /NOTIFY CV key/)
  malformedAt(t, () => decodeNotify(h('81 06 20 0C 01 02')), 5, /X'02', expected X'03'/)
  malformedAt(t, () => decodeNotify(h('81 06 20 0C 00')), 5, /vector body is empty/)
  malformedAt(t, () => decodeNotify(h('81 06 20 0C 01 03 FF')), 6, /1 unexpected trailing/)
  malformedAt(t, () => decodeUnbind(h('32 FE 08 01')), 4, /UNBIND sense at offset 4/)
  t.same(decodeUnbind(h('32 0F 00 01')), { type: 0x0f })
  t.throws(() => encodeUnbind({ type: 0xfe }), /type X'FE' needs sense/)
  t.throws(() => encodeUnbind({ type: 0x01, sense: 1 }), /only type X'FE'/)
  for (const [enc, dec, code] of [[encodeSdt, decodeSdt, 'A0'], [encodeClear, decodeClear, 'A1'], [encodeRqr, decodeRqr, 'A3'], [encodeShutd, decodeShutd, 'C0'], [encodeShutc, decodeShutc, 'C1'], [encodeBid, decodeBid, 'C8'], [encodeRtr, decodeRtr, '05']] as Array<[() => Buffer, (b: Buffer) => void, string]>) {
    t.equal(hex(enc()), code)
    t.doesNotThrow(() => dec(enc()))
    t.throws(() => dec(Buffer.concat([enc(), h('00')])), /unexpected trailing/)
    t.throws(() => dec(h('33')), /request code/)
  }
  t.equal(hex(encodeSig({ code: 0x0001, extension: 0 })), 'C900010000')
  malformedAt(t, () => decodeLustat(h('04 00 01 00')), 3, /LUSTAT extension at offset 3/)
  t.throws(() => encodeSig({ code: 0x10000, extension: 0 }), /SIG code.*out of range/)
  t.same(decodeDactlu(h('0E')), {})
  t.throws(() => encodeDactlu({ cause: 1 }), /needs a type/)
  t.throws(() => encodeDactlu({ type: 300 }), /DACTLU type.*not a byte/)
  t.same(decodeActluResponse(h('0D 01 01')), { typeByte: 1, fmProfile: 0, tsProfile: 1, controlVectors: [] })
  t.equal(hex(encodeActluResponse({ typeByte: 1, fmProfile: 0, tsProfile: 1, controlVectors: [] })), '0D0101')
  malformedAt(t, () => decodeActluResponse(h('0D 01 01 0C 01 03')), 3, /first vector must be X'00'/)
  t.throws(() => encodeActluResponse({ typeByte: 1, fmProfile: 0, tsProfile: 1, controlVectors: [{ key: 0x0c, data: h('03') }] }), /needed before other control vectors/)
  t.throws(() => encodeActluResponse({ typeByte: 1, fmProfile: 0, tsProfile: 1, sscpLuCapabilities: h('00'), controlVectors: [] }), /body must be 4 bytes/)
  t.throws(() => encodeActpuResponse({ data: h('00') }), /needs formatType/)
  t.throws(() => encodeActpu({ format: 0, activationType: 1, fmProfile: 0, tsProfile: 1, sscpId: h('00'), controlVectors: [] }), /must be 6 bytes/)
  t.throws(() => encodeActpu({ format: 16, activationType: 1, fmProfile: 0, tsProfile: 1, sscpId: Buffer.alloc(6), controlVectors: [] }), /ACTPU format.*out of range/)
  t.throws(() => encodeNotify({ enabled: true, detail: Buffer.alloc(255) }), /length 256 exceeds 255/)
  malformedAt(t, () => decodeInitSelf(h('81 06 81 00 F3 03 C1 C2')), 6, /INITSELF PLU name at offset 6: needs 3/)
})

t.test('BIND decoder errors carry the 0835 pointer offset', async (t) => {
  malformedAt(t, () => decodeBind(h('32 01')), 0, /BIND request code/)
  malformedAt(t, () => decodeBind(h('31 21')), 1, /not format 0 type 0\/1/)
  malformedAt(t, () => decodeBind(h('31 02')), 1, /not format 0 type 0\/1/)
  const bad7 = Buffer.from(V1); bad7[7] = 0xc0
  malformedAt(t, () => decodeBind(bad7), 7, /bits 0-1 = 11 is reserved/)
  const bad11 = Buffer.from(V1); bad11[11] = 0x78
  malformedAt(t, () => decodeBind(bad11), 11, /mantissa < 8/)
  malformedAt(t, () => decodeBind(V1.subarray(0, 30)), 28, /PLU name at offset 28: needs 8/)
  malformedAt(t, () => decodeBind(Buffer.concat([V1, h('AA')])), 52, /after the SLU name but byte 7 bit 6/)
  t.equal(bindDecodeSense(new SnaMalformedError('x', 22, 'y')), 0x08350016)
  t.equal(bindDecodeSense(new Error('x')), undefined)
  t.equal(bindPointerSense(1), 0x08350001)
  // LU 6.2 structured user data errors
  const lu62 = h('31 00 13 07 B0 B0 50 B1 07 07 89 89 87 07 06 02 00 00 00 00 00 00 00 16 23 00 00 00 03 00 00 02')
  malformedAt(t, () => decodeBind(lu62), 30, /subfield length.*is 0/)
  const lu62b = h('31 00 13 07 B0 B0 50 B1 07 07 89 89 87 07 06 02 00 00 00 00 00 00 00 16 23 00 00 00 03 00 05 02')
  malformedAt(t, () => decodeBind(lu62b), 32, /subfield X'02' at offset 32: needs 4/)
  // encoder checks
  const b = decodeBind(V1)
  t.throws(() => encodeBind({ ...b, pacing: { ...b.pacing, primarySendWindow: 64 } }), /primary send window.*out of range/)
  t.throws(() => encodeBind({ ...b, ps: { kind: 'raw', bytes: Buffer.alloc(3) } }), /must be 11 bytes/)
  t.throws(() => encodeBind({ ...b, ps: { ...(b.ps as Lu2Ps), reserved: Buffer.alloc(2) } }), /bytes 16-19.*4 bytes/)
  t.throws(() => encodeBind({ ...b, maxPrimarySendRu: 4 }), /below the smallest encodable size/)
  t.throws(() => encodeBind({ ...b, maxPrimarySendRu: -1 }), /not a non-negative integer/)
  t.throws(() => encodeBind({ ...b, luType: 6, ps: { kind: 'lu62', reserved: Buffer.alloc(1) } as never }), /bytes 16-21.*6 bytes/)
  t.throws(() => encodeBind({ ...b, userData: { kind: 'structured', subfields: [{ key: 2, data: Buffer.alloc(255) }] } }), /max 254/)
  t.equal(encodeRuSize(0), 0)
  // a BIND whose CV bit is on but that carries no later fields encodes empty user data/URC/SLU name
  const withCv = encodeBind({ ...b, userData: undefined, urc: undefined, sluName: undefined, controlVectors: [] } as BindImage)
  t.equal(hex(withCv.subarray(36)), '000000')
  t.equal(bindUserDataField(b, UserDataKey.MODE_NAME), undefined)
})

t.test('LU2 BIND validation', async (t) => {
  const b = decodeBind(V1)
  t.equal(validateLu2Bind(b), undefined)
  const ps = b.ps as Lu2Ps
  const cases: Array<[Partial<BindImage>, number]> = [
    [{ fmProfile: 4 }, 2], [{ tsProfile: 4 }, 3], [{ sendReceiveMode: 'FDX' }, 7], [{ luType: 1 }, 14],
    [{ ps: { ...ps, screenSizeCode: 0x05 } }, 24], [{ ps: { ...ps, rows: 12 } }, 20],
    [{ ps: { ...ps, screenSizeCode: 0x7f, altRows: 20, altCols: 80 } }, 22], [{ cryptography: 1 }, 26],
  ]
  for (const [change, offset] of cases) t.equal(validateLu2Bind({ ...b, ...change })?.offset, offset, JSON.stringify(change))
})

t.test('sense catalogue', async (t) => {
  t.equal(senseName(0x08050000), 'Session limit exceeded')
  t.equal(senseName(0x08050001), 'Session limit exceeded: BIND would violate CNOS contention-winner limits')
  t.equal(senseName(0x08063426), 'Resource unknown: BIND refused by CICS (bytes 2-3 = CICS message 3426)')
  t.equal(senseName(0x08060099), 'Resource unknown', 'a modifier without its own entry: the family meaning')
  t.equal(senseName(0x08350022), 'Invalid parameter at offset 34')
  t.equal(senseName(0x20020000), 'Chaining error')
  t.equal(senseName(0x081b0000), 'Receiver in transmit mode')
  t.equal(senseName(0x40070000), "RH usage error (modifier X'07')")
  t.equal(senseName(Sense.INVALID_RESPONSE_MODE), 'Incorrect DR1I/DR2I/ERI combination')
  t.equal(senseName(0x12345678), 'Unknown sense 12345678')
  t.equal(senseName(Sense.DATA_TRAFFIC_RESET), 'Data traffic reset')
  t.equal(formatSense(0x08350001), '08350001')
  t.equal(parseSense('08050001'), 0x08050001)
  t.equal(parseSense("X'0806003A'"), 0x0806003a)
  t.equal(parseSense('0x10086021'), 0x10086021)
  t.throws(() => parseSense('0805'), { code: 'TN3270LB_ERR_SNA_SENSE', message: /"0805" is not 8 hex digits/ })
})

t.test('chaining helpers', async (t) => {
  t.same(chainRu(h('010203'), 0).map((c) => [hex(c.ru), c.bci, c.eci]), [['010203', true, true]])
  t.same(chainRu(h('0102030405'), 2).map((c) => [hex(c.ru), c.bci, c.eci]), [['0102', true, false], ['0304', false, false], ['05', false, true]])
  t.same(chainRu(Buffer.alloc(0), 10).map((c) => c.ru.length), [0])
  t.throws(() => chainRu(h('01'), -1), { code: 'TN3270LB_ERR_SNA_STATE' })
  t.same([chainPosition(true, true), chainPosition(true, false), chainPosition(false, false), chainPosition(false, true)], ['only', 'first', 'middle', 'last'])
  const r = new ChainReassembler(4)
  t.match(r.push(h('01'), false, true), { kind: 'error', sense: Sense.CHAINING_ERROR })
  t.match(r.push(h('01'), true, false), { kind: 'partial' })
  t.match(r.push(h('02'), true, false), { kind: 'error', sense: Sense.CHAINING_ERROR })
  t.notOk(r.inProgress)
  t.match(r.push(h('0102'), true, false), { kind: 'partial' })
  t.match(r.push(h('030405'), false, true), { kind: 'error', sense: 0x08120000 })
  t.match(r.push(h('01'), true, true), { kind: 'complete', rus: 1 })
})

t.test('names, unbind types, reader', async (t) => {
  t.equal(hex(nameToEbcdic('ibm0mon2')), 'C9C2D4F0D4D6D5F2')
  t.equal(ebcdicToName(h('C9C2D4F04BD4D6D5F2 7B7C5B 40 FF')), 'IBM0.MON2#@$ ?')
  t.throws(() => nameToEbcdic('A-B'), /character '-' is not allowed/)
  t.equal(unbindTypeName(0x0f), 'cleanup')
  t.equal(unbindTypeName(0x33), "type X'33'")
  t.same([0x01, 0x02, 0x06, 0x07, 0x0f, 0x7f, 0x80, 0xfe].map(unbindAllowsEarlyRebind), [false, false, false, true, true, true, false, false])
  const r = new ByteReader(h('01 02 03'), 'X', 10)
  t.equal(r.u8('a'), 1); t.equal(r.offset, 11); t.equal(r.remaining, 2)
  t.throws(() => r.u16('b') && r.u8('c'), /X c at offset 13: needs 1 byte\(s\), only 0 left \(length 3\)/)
})
