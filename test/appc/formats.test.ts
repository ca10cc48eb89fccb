// Wire formats against real traces (KB Q185503, Q194324, Q308927, Q169575, Q156083); the V-numbers name them.
import t from 'tap'
import {
  decodeBind, encodeBind, bindMode, bindResponseImage, buildBind, maxRu,
  encodeCnos, decodeCnos, encodeFmh5, decodeFmh5, encodeFmh7, decodeFmh7, attach, decodeAccessSecurity,
  encodeGds, decodeGdsAll, GdsParser, encodeLogicalRecord, GDS_APPLICATION_DATA, CNOS_TP, isLu62Piu,
} from '../../lib/appc/index.js'
import { isLbError, ErrorCodes } from '../../lib/errors.js'
import { fromEbcdic, toEbcdic, modeNameBytes } from '../../lib/appc/ebcdic.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

// V4 — KB Q185503, RU bytes as in the article's DLC dump (a transcription of the dump drops two of the zero
// bytes 16-22; the dump has byte 23 = X'16', byte 24 = X'23' as the article's text says).
const V4_BIND = hex(`31001307B0B050B10707898987070602 00000000000000 1623 0000
  10 E4E2D4E4E3D3F0F14BD4E2E2D3E4F1F6
  32 00 0902C4E2C9D3F6D4D6C4 0903F000000000000005 1104E4E2D4E4E3D3F0F14BD4E2E2D3E4F1F6 0A1300 17145F7F7341E14B
  00
  11 E4E2D4E4E3D3F0F14BC3C9C3E2C3E5F3F1`)
const V4_RSP = hex(`31001307B0B050B10703898983070602 0000000000000000 23 0000
  00
  28 00 0902C4E2C9D3F6D4D6C4 0903F000000000000005 1205E4E2D4E4E3D3F0F14BC3C9C3E2C3E5F3F1
  00 00`)
// V5 — KB Q194324 extended BIND with CVs X'60' and X'66'
const V5_BIND = hex(`31001307B0B050B300008B8B80000602 00000000000000 1643 0000
  0F E2C7D7C8D3F14BD3F1F1F6F0F5F0F0
  31 00 0902D7C1F6F2E3D2D5E4 09030000000000000016 1004E2C7D7C8D3F14BD3F1F1F6F0F5F0F0 0A1300A06340062B37394B
  00
  0F E2C7D7C8D3F14BE6D5E6C3C9F5F1C4
  60 17 07CE08030D112D37 0E E2C7D7C8D3F14BD5C5E3C3D6D4F1
  66 05 0581C02222`)

t.test('V4 LU 6.2 BIND (KB Q185503) decodes and re-encodes byte for byte', async t => {
  const b = decodeBind(V4_BIND)
  t.equal(b.plu, 'USMUTL01.MSSLU16')
  t.equal(b.slu, 'USMUTL01.CICSCV31')
  t.equal(bindMode(b), 'DSIL6MOD')
  t.equal(b.primaryWinner, true, 'byte 7 X\'B1\' bit 3: primary is contention winner')
  t.match(b.image.ps, { kind: 'lu62', accessSecurityAccepted: true }, 'byte 23 = X\'16\': bit 3 access security accepted')
  t.equal(b.syncLevel, 'confirm', 'byte 24 X\'23\' bits 1-2 = 01')
  t.equal(b.parallelSessions, true)
  t.equal(b.cnosSupported, true)
  t.same(b.image.userData?.kind === 'structured' ? b.image.userData.subfields.map(u => u.key) : [], [0x02, 0x03, 0x04, 0x13])
  t.equal(maxRu(b, 'primary'), 4096, 'byte 11 X\'89\' = 4096')
  t.same(encodeBind(b), V4_BIND)
  const rsp = decodeBind(V4_RSP)
  t.equal(rsp.plu, '')
  t.match(rsp.image.ps, { accessSecurityAccepted: false }, 'CICS answered X\'00\'')
  t.equal(rsp.image.pacing.secondaryReceiveWindow, 3, 'negotiated window 7 → 3')
  const slu = rsp.image.userData?.kind === 'structured' ? rsp.image.userData.subfields.find(u => u.key === 5) : undefined
  t.equal(fromEbcdic(slu!.data), 'USMUTL01.CICSCV31')
  t.same(encodeBind(rsp), V4_RSP)
})

t.test('V5 extended BIND (KB Q194324) keeps its control vectors', async t => {
  const b = decodeBind(V5_BIND)
  t.equal(b.plu, 'SGPHL1.L1160500')
  t.equal(bindMode(b), 'PA62TKNU')
  t.equal(b.syncLevel, 'syncpt', 'byte 24 X\'43\'')
  t.same(b.image.controlVectors?.map(c => c.key), [0x60, 0x66])
  t.same(b.image.controlVectors?.[1]!.data, hex('0581C02222'))
  t.same(encodeBind(b), V5_BIND)
})

t.test('gateway BIND and the partner +RSP image', async t => {
  const b = buildBind({ plu: 'GWLU', slu: 'HOSTLU', mode: 'appcmode', primaryWinner: true })
  const ru = encodeBind(b)
  t.equal(ru[0], 0x31)
  t.equal(ru[1], 0x00, 'negotiable')
  t.equal(ru[2], 0x13, 'FM profile 19')
  t.equal(ru[3], 0x07, 'TS profile 7')
  t.same(ru.subarray(4, 7), hex('B0B050'), 'FM usage as SNA Server sends (V4)')
  t.equal(ru[7], 0xb1, 'HDX-FF, symmetric recovery, primary winner (V4 X\'B1\')')
  t.same(ru.subarray(8, 14), hex('000087878000'), 'no pacing, RU 1024 each way')
  t.same(ru.subarray(14, 16), hex('0602'), 'LU 6 level 2')
  t.equal(ru[24], 0x23, 'confirm + parallel + CNOS, as SNA Server sends')
  const back = decodeBind(ru)
  t.equal(bindMode(back), 'APPCMODE')
  t.equal(back.plu, 'GWLU')
  t.equal(back.slu, 'HOSTLU')
  const loser = decodeBind(encodeBind(buildBind({ plu: 'GWLU', slu: 'HOSTLU', mode: 'M', primaryWinner: false, syncLevel: 'none', sessionInstance: hex('0102'), ruSize: 256 })))
  t.equal(loser.primaryWinner, false)
  t.equal(loser.syncLevel, 'none')
  t.equal(maxRu(loser, 'secondary'), 256)
  const img = decodeBind(encodeBind(bindResponseImage(loser, 'HOSTLU')))
  t.equal(img.plu, '')
  t.equal(img.slu, '')
  t.same(img.image.userData?.kind === 'structured' ? img.image.userData.subfields.map(u => u.key) : [], [0x02, 0x03, 0x05])
  const noMax = decodeBind(encodeBind({ ...back, image: { ...back.image, maxPrimarySendRu: 0 } }))
  t.equal(maxRu(noMax, 'primary'), 256, 'no maximum → 256')
  const noUser = decodeBind(encodeBind({ ...back, image: { ...back.image, userData: undefined, urc: undefined, sluName: undefined } }))
  t.equal(noUser.mode, undefined)
  t.equal(noUser.slu, '')
})

t.test('BINDs an LU 6.2 cannot take are refused', async t => {
  t.throws(() => decodeBind(hex('3100')), { code: 'TN3270LB_ERR_SNA_MALFORMED' })
  const nonneg = Buffer.from(V4_BIND); nonneg[1] = 0x01
  t.throws(() => decodeBind(nonneg), { code: 'TN3270LB_ERR_APPC_MALFORMED', message: /negotiable/ })
  const lu2 = Buffer.from(V4_BIND); lu2[14] = 0x02
  t.throws(() => decodeBind(lu2), { message: /LU type 2 is not LU 6.2/ })
  t.throws(() => buildBind({ plu: 'bad lu!', slu: 'X', mode: 'M', primaryWinner: true }), /no cp037 mapping/)
})

// V10 — KB Q308927
const Q308927_ATTACH = hex('0D0502FF0003D000000206F100')
const Q308927_REQUEST_AS_SENT = hex('00191210020200000000340032000200 08D4F6F2D7F0F0F240')
const Q308927_REPLY = hex('00191210080200000000340032000200 08D4F6F2D7F0F0F240')

t.test('V10 CNOS X\'1210\' (KB Q308927): reply decodes; requests always zero the reply modifier', async t => {
  const reply = decodeCnos(Q308927_REPLY)
  t.equal(reply.kind, 'reply')
  t.equal(reply.replyModifier, 0x02, 'abnormal: mode name not recognized')
  t.equal(reply.sessionLimit, 52)
  t.equal(reply.sourceWinners, 50)
  t.equal(reply.targetWinners, 2)
  t.equal(reply.mode, 'M62P002')
  t.same(encodeCnos(reply), Q308927_REPLY, 'reply re-encodes byte for byte')
  const stale = decodeCnos(Q308927_REQUEST_AS_SENT)
  t.equal(stale.kind, 'request')
  t.equal(stale.replyModifier, 0x02, 'the bug the article shows: a stale X\'02\'')
  const fixed = encodeCnos(stale)
  t.equal(fixed[5], 0x00, 'our encoder zeroes byte 5 in a request')
  const expected = Buffer.from(Q308927_REQUEST_AS_SENT); expected[5] = 0
  t.same(fixed, expected, 'otherwise identical to the trace')
})

t.test('CNOS Attach to TP X\'06F1\' is the Q308927 FMH-5', async t => {
  t.same(encodeFmh5(attach(CNOS_TP, 'basic', 'none')), Q308927_ATTACH)
  const d = decodeFmh5(Q308927_ATTACH)
  t.same(d.fmh.tpName, CNOS_TP)
  t.equal(d.fmh.conversationType, 'basic')
  t.equal(d.fmh.syncLevel, 'none')
  t.equal(d.rest.length, 0)
})

t.test('CNOS codec errors', async t => {
  t.throws(() => decodeCnos(hex('00051211 00')), /not X'1210'/)
  t.throws(() => decodeCnos(hex('0008121002000000')), /shorter than 13/)
  const badType = Buffer.from(Q308927_REPLY); badType[4] = 0x05
  t.throws(() => decodeCnos(badType), /neither request/)
  const badLen = Buffer.from(Q308927_REPLY); badLen[16] = 0x07
  t.throws(() => decodeCnos(badLen), /mode name length/)
  t.throws(() => decodeCnos(Buffer.concat([Q308927_REPLY, Q308927_REPLY])), /one GDS variable, got 2/)
  t.throws(() => encodeCnos({ kind: 'request', mode: 'M', sessionLimit: 40000, sourceWinners: 0, targetWinners: 0 }), /session limit 40000/)
  t.throws(() => encodeCnos({ kind: 'request', mode: 'M', sessionLimit: 1, sourceWinners: -1, targetWinners: 0 }), /source contention winners/)
  t.throws(() => encodeCnos({ kind: 'request', mode: 'M', sessionLimit: 1, sourceWinners: 0, targetWinners: 1.5 }), /target contention winners/)
  t.throws(() => encodeCnos({ kind: 'request', mode: 'TOOLONGMODE', sessionLimit: 1, sourceWinners: 0, targetWinners: 0 }), /longer than 8/)
})

// V11 — KB Q169575 FMH-5 with security, LUW and attach sequence number
const Q169575 = hex(`43 05 02FF 18 03 D0 00 40 04 30F0F0F5 0F 04 02 C1D4C9 09 01 7B3009E5398381E7
  1A 11 C2C9D6D5C5E3C6D94BE2D5C1C4E5F0F2F1 24280E0D1E05 0001 00 08 00000000000002FF`)

t.test('V11 FMH-5 Attach (KB Q169575) and FMH-7s (Q156083, Q181011, Q180415)', async t => {
  const { fmh, rest } = decodeFmh5(Q169575)
  t.same(fmh.tpName, hex('30F0F0F5'))
  t.equal(fmh.securityIndicators, 0x18)
  t.equal(fmh.conversationType, 'basic')
  t.equal(fmh.syncLevel, 'confirm')
  const sec = decodeAccessSecurity(fmh.accessSecurity)
  t.equal(sec[0]!.type, 0x02)
  t.equal(fromEbcdic(sec[0]!.data), 'AMI')
  t.equal(sec[1]!.type, 0x01)
  t.equal(fromEbcdic(fmh.luwId.subarray(1, 18)), 'BIONETFR.SNADV021')
  t.same(fmh.attachSequence, hex('00000000000002FF'))
  t.equal(rest.length, 0)
  t.same(encodeFmh5(fmh), Q169575, 're-encodes byte for byte')
  t.throws(() => decodeAccessSecurity(hex('0502')), /bad length/)

  t.same(encodeFmh7({ sense: 0x08890100, errorLogFollows: false }), hex('07070889010000'))
  t.same(encodeFmh7({ sense: 0x08640000, errorLogFollows: true }), hex('07070864000080'))
  const f7 = decodeFmh7(hex('070708 09097A 80 0010 12E1'))
  t.same(f7.fmh, { sense: 0x0809097a, errorLogFollows: true })
  t.same(f7.rest, hex('001012E1'))
  t.throws(() => decodeFmh7(hex('0707')), /needs 7 bytes/)
  t.throws(() => decodeFmh7(hex('07050864000000')), /not 7/)
})

t.test('FMH-5 errors and round trips', async t => {
  const mapped = encodeFmh5(attach('TXN', 'mapped', 'confirm'))
  const d = decodeFmh5(Buffer.concat([mapped, hex('000512FF41')]))
  t.equal(d.fmh.conversationType, 'mapped')
  t.equal(d.fmh.syncLevel, 'confirm')
  t.equal(fromEbcdic(d.fmh.tpName), 'TXN')
  t.same(d.rest, hex('000512FF41'), 'bytes after the header are returned')
  t.same(decodeFmh5(encodeFmh5({ ...attach('X', 'basic', 'syncpt'), luwId: hex('01'), conversationCorrelator: hex('02') })).fmh.luwId, hex('01'))
  t.throws(() => decodeFmh5(hex('05')), /length byte/)
  t.throws(() => decodeFmh5(hex('0D0702FF0003D000000206F100')), /type 7 is not 5/)
  t.throws(() => decodeFmh5(hex('0D0502FE0003D000000206F100')), /not ATTACH/)
  t.throws(() => decodeFmh5(hex('0D0502FF0003D500000206F100')), /neither basic/)
  t.throws(() => decodeFmh5(hex('0D0502FF0003D000C00206F100')), /reserved/)
  t.throws(() => decodeFmh5(hex('0D0502FF0003D00000090006F1')), /runs past/)
  t.throws(() => decodeFmh5(hex('0A0502FF0003D0000000')), /TP name missing/)
  t.throws(() => encodeFmh5({ ...attach('X', 'basic'), tpName: Buffer.alloc(0) }), /TP name is empty/)
  t.throws(() => encodeFmh5({ ...attach('X', 'basic'), accessSecurity: Buffer.alloc(300) }), /exceeds 255/)
  t.throws(() => encodeFmh5({ ...attach('X', 'basic'), accessSecurity: Buffer.alloc(250) }), /length \d+ exceeds 255/)
  t.throws(() => attach('bad name!', 'basic'), /no cp037 mapping/)
})

t.test('GDS LL framing with the continuation bit (SC31-6808 GDS)', async t => {
  t.same(encodeGds(GDS_APPLICATION_DATA, hex('C1C2')), hex('000612FFC1C2'))
  const big = Buffer.alloc(70000, 7)
  const enc = encodeGds(GDS_APPLICATION_DATA, big)
  t.equal(enc.readUInt16BE(0), 0x8000 | 0x7fff, 'first segment full, continued')
  const vars = decodeGdsAll(enc)
  t.equal(vars.length, 1)
  t.same(vars[0]!.data, big)
  const small = encodeGds(0x1234, Buffer.from('abcdefghij'), 6)
  t.equal(small.readUInt16BE(0), 0x8006)
  t.same(decodeGdsAll(small)[0]!.data.toString(), 'abcdefghij')
  // any split of the input gives the same variables
  const p = new GdsParser()
  const two = Buffer.concat([small, encodeGds(0x12f1, Buffer.alloc(0))])
  const got = []
  for (const b of two) got.push(...p.feed(Buffer.from([b])))
  t.same(got.map(v => v.id), [0x1234, 0x12f1])
  t.ok(p.idle)
  t.throws(() => decodeGdsAll(hex('0003')), /shorter than its 4-byte header/)
  t.throws(() => decodeGdsAll(hex('000612FF')), /end inside a variable/)
  t.throws(() => encodeGds(0x10000, Buffer.alloc(0)), /not 16-bit/)
  t.throws(() => encodeGds(1, Buffer.alloc(0), 4), /segment size/)
  t.same(encodeGds(0x12f1, Buffer.alloc(0)), hex('000412F1'), 'empty variable')
  const lr = encodeLogicalRecord(Buffer.from('abcdef'), 5)
  t.same(lr, Buffer.concat([hex('8005'), Buffer.from('abc'), hex('0005'), Buffer.from('def')]))
  t.same(encodeLogicalRecord(Buffer.alloc(0)), hex('0002'))
})

t.test('EBCDIC names and the ODAI test', async t => {
  t.same(toEbcdic('AZaz09 .$#@'), hex('C1E981A9F0F9404B5B7B7C'))
  t.equal(fromEbcdic(hex('06C1')), '\\x06A')
  t.same(modeNameBytes('m62p002'), hex('D4F6F2D7F0F0F240'))
  try { toEbcdic('é'); t.fail('expected a throw') } catch (e) { t.ok(isLbError(e, ErrorCodes.APPC_MALFORMED)) }
  t.equal(isLu62Piu(hex('2E0001020001 0B9000')), true, 'X\'2E\': ODAI=1')
  t.equal(isLu62Piu(hex('2C0001020001 0B9000')), false, 'X\'2C\': ODAI=0 dependent LU')
  t.equal(isLu62Piu(hex('2E00')), false, 'too short')
  t.equal(isLu62Piu(hex('1E0001020001')), false, 'not FID2')
})
