// Real vectors (x3270 traces, KB articles, the 3274 simulator i3274_cc.c) decoded field by field and
// re-encoded byte-exactly; V1..V9 number them in the order below.
import t from 'tap'
import {
  decodePiu, encodePiu, decodeBind, encodeBind, decodeBindResponse, positiveResponse, negativeResponse,
  decodeActpu, encodeActpu, decodeUnbind, encodeUnbind, decodeTermSelf, encodeTermSelf, decodeNotify, encodeNotify,
  decodeActlu, actluPositiveRu, decodeActluResponse, encodeActluResponse, decodeLustat, encodeLustat, encodeIpr, isIpr,
  decodeRh, encodeRh, responseMode, bindUserDataField, UserDataKey, ebcdicToName, requestName, encodeSdt, encodeClear,
  encodeDactlu, encodeDactpu, encodeActpuResponse, buildPositiveResponse, responseSense, senseName, unbindTypeName,
  type RequestRh, type Lu2Ps, type Lu62Ps,
} from '../../lib/sna/index.js'

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const hx = (b: Buffer): string => b.toString('hex').toUpperCase()

function req (rh: unknown): RequestRh {
  if (typeof rh !== 'object' || rh === null || (rh as RequestRh).rri !== false) throw new Error('not a request RH')
  return rh as RequestRh
}

t.test('V1 LU2 BIND-IMAGE body (IBMLINK)', async (t) => {
  const ru = h('31 01 03 03 B1 90 30 80 00 87 87 F8 87 00 02 80 00 00 00 00 18 50 00 00 7E 00 00 08 C9 C2 D4 F0 D4 D6 D5 F2 00 05 00 7E E5 1C 10 08 C9 C2 D4 F0 E3 C5 E2 D4')
  const b = decodeBind(ru)
  t.equal(b.negotiable, false)
  t.equal(b.fmProfile, 3); t.equal(b.tsProfile, 3)
  t.same(b.primary, { multiRuChains: true, delayedRequestMode: false, chainResponse: 'either', twoPhaseCommit: false, compression: false, mayEndBracket: true })
  t.same(b.secondary, { multiRuChains: true, delayedRequestMode: false, chainResponse: 'exception', twoPhaseCommit: false, compression: false, mayEndBracket: false })
  t.same(b.common, { wholeBiuRequired: false, fmHeaders: false, brackets: true, bracketTerminationRule1: true, alternateCodeSet: false, sequenceNumbersAvailable: false, bisSent: false, bindQueuing: false })
  t.equal(b.sendReceiveMode, 'HDX-FF'); t.equal(b.symmetricRecovery, false); t.equal(b.primaryContentionWinner, false)
  t.equal(b.primarySendsFirst, false); t.equal(b.alternateCodeProcessingId, 0)
  t.same(b.pacing, { secondarySendTwoStage: false, secondarySendWindow: 0, adaptive: true, secondaryReceiveWindow: 7, primarySendOneStage: true, primarySendWindow: 7, primaryReceiveWindow: 0 })
  t.equal(b.maxSecondarySendRu, 1024); t.equal(b.maxPrimarySendRu, 3840)
  t.equal(b.luType, 2); t.equal(b.psUsageNonBasic, false)
  const ps = b.ps as Lu2Ps
  t.equal(ps.kind, 'lu2'); t.equal(ps.flags, 0x80); t.equal(ps.rows, 24); t.equal(ps.cols, 80); t.equal(ps.altRows, 0); t.equal(ps.altCols, 0)
  t.equal(ps.screenSizeCode, 0x7e); t.equal(ps.compression, 0)
  t.equal(b.cryptography, 0)
  t.equal(ebcdicToName(b.pluName), 'IBM0MON2')
  t.same(b.userData, { kind: 'raw', bytes: Buffer.alloc(0) })
  t.equal(hx(b.urc!), '007EE51C10')
  t.equal(ebcdicToName(b.sluName!), 'IBM0TESM')
  t.equal(b.controlVectors, undefined)
  t.equal(hx(encodeBind(b)), hx(ru))
  // variant with alternate 43x80 (s3270 ibmlink.trc): bytes 22-24 = 2B 50 7F
  const alt = Buffer.from(ru); alt[22] = 0x2b; alt[23] = 0x50; alt[24] = 0x7f
  const b2 = decodeBind(alt)
  t.equal((b2.ps as Lu2Ps).altRows, 43); t.equal((b2.ps as Lu2Ps).altCols, 80); t.equal((b2.ps as Lu2Ps).screenSizeCode, 0x7f)
  t.equal(hx(encodeBind(b2)), hx(alt))
})

t.test('V2 LU2 BIND from VTAM (KB Q195170) and its -RSP echoing the SNF', async (t) => {
  const piuBuf = h('2D 00 02 01 95 86 6B 80 00 31 01 03 03 B1 90 30 80 00 05 85 87 85 00 02 80 00 00 00 00 18 50 18 50 7F 00 00 07 C1 D5 F6 F3 D5 D4 E3 00 00 08 E3 E4 F6 F3 C7 F3 F0 F0')
  const piu = decodePiu(piuBuf)
  t.same(piu.th, { mpf: 'whole', odai: false, efi: true, daf: 2, oaf: 1, snf: 0x9586 })
  const rh = req(piu.rh)
  t.equal(rh.category, 'SC'); t.ok(rh.fi); t.ok(rh.bci); t.ok(rh.eci); t.ok(rh.dr1); t.notOk(rh.dr2); t.notOk(rh.eri); t.notOk(rh.sdi)
  t.equal(responseMode(rh), 'RQD1')
  t.equal(requestName(rh.category, rh.fi, piu.ru), 'BIND')
  const b = decodeBind(piu.ru)
  t.equal(b.pacing.secondaryReceiveWindow, 5); t.equal(b.pacing.adaptive, false); t.equal(b.pacing.primarySendWindow, 5); t.ok(b.pacing.primarySendOneStage)
  t.equal(b.maxSecondarySendRu, 256); t.equal(b.maxPrimarySendRu, 1024)
  const ps = b.ps as Lu2Ps
  t.same([ps.rows, ps.cols, ps.altRows, ps.altCols, ps.screenSizeCode], [24, 80, 24, 80, 0x7f])
  t.equal(ebcdicToName(b.pluName), 'AN63NMT')
  t.equal(b.userData?.kind, 'raw'); t.equal(b.urc?.length, 0)
  t.equal(ebcdicToName(b.sluName!), 'TU63G300')
  t.equal(hx(encodeBind(b)), hx(piu.ru))
  t.equal(hx(encodePiu(piu)), hx(piuBuf))
  // RU seen in the article with the TH it should have had (SNF echoed)
  t.equal(hx(negativeResponse(piuBuf, 0x08450000)), hx(h('2D 00 01 02 95 86 EF 90 00 08 45 00 00 31')))
  t.equal(hx(positiveResponse(piuBuf)), hx(h('2D 00 01 02 95 86 EB 80 00 31')))
})

t.test('V3 BIND ending after the PLU name, rejected with 0835 0001', async (t) => {
  const bind = h('2D 00 02 02 4C 48 6B 80 00 31 01 03 03 B1 90 30 80 00 00 87 C7 80 00 02 00 00 00 00 00 18 50 00 00 7E 00 00 03 E3 E2 D6')
  const piu = decodePiu(bind)
  const b = decodeBind(piu.ru)
  t.equal(b.maxSecondarySendRu, 1024); t.equal(b.maxPrimarySendRu, 1536)
  t.equal(b.pacing.primarySendWindow, 0); t.ok(b.pacing.primarySendOneStage)
  t.equal((b.ps as Lu2Ps).flags, 0)
  t.equal(ebcdicToName(b.pluName), 'TSO')
  t.equal(b.userData, undefined); t.equal(b.urc, undefined); t.equal(b.sluName, undefined)
  t.equal(hx(encodeBind(b)), hx(piu.ru))
  const rsp = negativeResponse(bind, 0x08350001)
  t.equal(hx(rsp), hx(h('2D 00 02 02 4C 48 EF 90 00 08 35 00 01 31')))
  const r = decodePiu(rsp)
  t.equal(responseSense(r), 0x08350001)
  t.equal(senseName(responseSense(r)!), 'Invalid parameter: BIND type (negotiable/non-negotiable)')
})

// KB Q185503 hex dump (a transcription of the dump lost one X'00' in bytes 16-22; these are the dump's bytes).
const V4_BIND = h(`31 00 13 07 B0 B0 50 B1 07 07 89 89 87 07 06 02 00 00 00 00 00 00 00 16 23 00 00
  10 E4E2D4E4E3D3F0F14BD4E2E2D3E4F1F6
  32 00 09 02 C4E2C9D3F6D4D6C4 09 03 F000000000000005 11 04 E4E2D4E4E3D3F0F14BD4E2E2D3E4F1F6 0A 13 00 17145F7F7341E14B
  00 11 E4E2D4E4E3D3F0F14BC3C9C3E2C3E5F3F1`)
const V4_RSP = h(`31 00 13 07 B0 B0 50 B1 07 03 89 89 83 07 06 02 00 00 00 00 00 00 00 00 23 00 00
  00 28 00 09 02 C4E2C9D3F6D4D6C4 09 03 F000000000000005 12 05 E4E2D4E4E3D3F0F14BC3C9C3E2C3E5F3F1 00 00`)

t.test('V4 LU 6.2 BIND and negotiated +RSP (KB Q185503)', async (t) => {
  const piu = decodePiu(Buffer.concat([h('2F 00 04 02 00 00 6B 80 00'), V4_BIND]))
  t.same(piu.th, { mpf: 'whole', odai: true, efi: true, daf: 4, oaf: 2, snf: 0 })
  const b = decodeBind(piu.ru)
  t.equal(b.negotiable, true); t.equal(b.fmProfile, 0x13); t.equal(b.tsProfile, 7)
  t.equal(b.primary.chainResponse, 'either'); t.ok(b.primary.multiRuChains)
  t.ok(b.common.fmHeaders); t.ok(b.common.bracketTerminationRule1); t.notOk(b.common.brackets)
  t.equal(b.sendReceiveMode, 'HDX-FF'); t.ok(b.symmetricRecovery); t.ok(b.primaryContentionWinner); t.ok(b.primarySendsFirst)
  t.same(b.pacing, { secondarySendTwoStage: false, secondarySendWindow: 7, adaptive: false, secondaryReceiveWindow: 7, primarySendOneStage: true, primarySendWindow: 7, primaryReceiveWindow: 7 })
  t.equal(b.maxSecondarySendRu, 4096); t.equal(b.maxPrimarySendRu, 4096)
  t.equal(b.luType, 6)
  const ps = b.ps as Lu62Ps
  t.equal(ps.kind, 'lu62')
  t.ok(ps.accessSecurityAccepted); t.notOk(ps.luLuVerification); t.ok(ps.passwordSubstitution); t.ok(ps.alreadyVerifiedAccepted); t.notOk(ps.persistentVerification)
  t.equal(ps.syncLevel, 1); t.ok(ps.parallelSessions); t.ok(ps.cnosSupported); t.equal(ps.reinitiation, 0)
  t.equal(ebcdicToName(b.pluName), 'USMUTL01.MSSLU16')
  t.equal(ebcdicToName(bindUserDataField(b, UserDataKey.MODE_NAME)!), 'DSIL6MOD')
  t.equal(hx(bindUserDataField(b, UserDataKey.SESSION_INSTANCE_ID)!), 'F000000000000005')
  t.equal(ebcdicToName(bindUserDataField(b, UserDataKey.PLU_NETWORK_NAME)!), 'USMUTL01.MSSLU16')
  t.equal(hx(bindUserDataField(b, UserDataKey.NONCE)!), '0017145F7F7341E14B')
  t.equal(b.urc?.length, 0)
  t.equal(ebcdicToName(b.sluName!), 'USMUTL01.CICSCV31')
  t.equal(hx(encodeBind(b)), hx(V4_BIND))

  const r = decodeBindResponse(V4_RSP)!
  t.same([r.pacing.secondarySendWindow, r.pacing.secondaryReceiveWindow, r.pacing.primarySendWindow, r.pacing.primaryReceiveWindow], [7, 3, 3, 7])
  t.notOk((r.ps as Lu62Ps).accessSecurityAccepted)
  t.equal(r.pluName.length, 0)
  t.equal(ebcdicToName(bindUserDataField(r, UserDataKey.SLU_NETWORK_NAME)!), 'USMUTL01.CICSCV31')
  t.equal(bindUserDataField(r, UserDataKey.PLU_NETWORK_NAME), undefined)
  t.equal(r.sluName?.length, 0)
  t.equal(hx(encodeBind(r)), hx(V4_RSP))
  t.equal(decodeBindResponse(h('31')), undefined)

  // host ends the session (UNBIND type FE with sense)
  const unbind = decodePiu(h('2F 00 02 04 22 24 6B 80 00 32 FE 10 08 60 40'))
  t.same(decodeUnbind(unbind.ru), { type: 0xfe, sense: 0x10086040 })
  t.equal(hx(encodeUnbind({ type: 0xfe, sense: 0x10086040 })), '32FE10086040')
  t.equal(senseName(0x10086040), 'Invalid FM header: invalid attach parameter')
  t.equal(unbindTypeName(0xfe), 'session failure (sense follows)')
})

t.test('V5 extended LU 6.2 BIND with control vectors (KB Q194324)', async (t) => {
  const ru = h(`31 00 13 07 B0 B0 50 B3 00 00 8B 8B 80 00 06 02 00 00 00 00 00 00 00 16 43 00 00 0F E2C7D7C8D3F14BD3F1F1F6F0F5F0F0
    31 00 09 02 D7C1F6F2E3D2D5E4 09 03 0000000000000016 10 04 E2C7D7C8D3F14BD3F1F1F6F0F5F0F0 0A 13 00 A06340062B37394B
    00 0F E2C7D7C8D3F14BE6D5E6C3C9F5F1C4 60 17 07CE08030D112D37 0E E2C7D7C8D3F14BD5C5E3C3D6D4F1 66 05 0581C02222`)
  const b = decodeBind(ru)
  t.ok(b.primaryContentionWinner); t.ok(b.symmetricRecovery); t.equal(b.sendReceiveMode, 'HDX-FF')
  t.equal(b.maxSecondarySendRu, 16384); t.equal(b.maxPrimarySendRu, 16384)
  t.same([b.pacing.secondarySendWindow, b.pacing.secondaryReceiveWindow, b.pacing.primarySendWindow, b.pacing.primaryReceiveWindow], [0, 0, 0, 0])
  const ps = b.ps as Lu62Ps
  t.equal(ps.syncLevel, 2); t.ok(ps.parallelSessions); t.ok(ps.cnosSupported)
  t.equal(ebcdicToName(b.pluName), 'SGPHL1.L1160500')
  t.equal(ebcdicToName(bindUserDataField(b, UserDataKey.MODE_NAME)!), 'PA62TKNU')
  t.equal(ebcdicToName(b.sluName!), 'SGPHL1.WNWCI51D')
  t.equal(b.controlVectors?.length, 2)
  t.equal(b.controlVectors![0]!.key, 0x60)
  t.equal(hx(b.controlVectors![0]!.data.subarray(0, 8)), '07CE08030D112D37')
  t.equal(ebcdicToName(b.controlVectors![0]!.data.subarray(9)), 'SGPHL1.NETCOM1')
  t.same(b.controlVectors![1], { key: 0x66, data: h('0581C02222') })
  t.equal(hx(encodeBind(b)), hx(ru))
})

t.test('V6 TERMSELF/+RSP and UNBIND/+RSP (KB Q267902)', async (t) => {
  const ts = h('2C 00 00 02 7F FF 0B 80 00 01 06 83 00 F3 00')
  const p = decodePiu(ts)
  t.same(p.th, { mpf: 'whole', odai: false, efi: false, daf: 0, oaf: 2, snf: 0x7fff })
  const rh = req(p.rh)
  t.equal(rh.category, 'FMD'); t.ok(rh.fi); t.equal(responseMode(rh), 'RQD1')
  t.equal(requestName('FMD', true, p.ru), 'TERMSELF')
  const term = decodeTermSelf(p.ru)
  t.same(term, { format: 0, typeByte: 0, nameType: 0xf3, pluName: Buffer.alloc(0), trailing: Buffer.alloc(0) })
  t.equal(hx(encodeTermSelf(term)), hx(p.ru))
  t.equal(hx(positiveResponse(ts)), hx(h('2C 00 02 00 7F FF 8B 80 00 01 06 83')))
  const unbind = h('2D 00 02 01 45 D0 6B 80 00 32 01')
  t.same(decodeUnbind(decodePiu(unbind).ru), { type: 1 })
  t.equal(hx(encodeUnbind({ type: 1 })), '3201')
  t.equal(hx(positiveResponse(unbind)), hx(h('2D 00 01 02 45 D0 EB 80 00 32')))
})

t.test('V7 ACTPU with PU-capabilities CV (KB Q161492)', async (t) => {
  const buf = h('2D 00 00 00 00 FA 6B 80 00 11 12 01 05 00 00 00 00 01 80 01 80')
  const p = decodePiu(buf)
  t.same(p.th, { mpf: 'whole', odai: false, efi: true, daf: 0, oaf: 0, snf: 0xfa })
  const a = decodeActpu(p.ru)
  t.same(a, { format: 1, activationType: 2, fmProfile: 0, tsProfile: 1, sscpId: h('050000000001'), controlVectors: [{ key: 0x80, data: h('80') }] })
  t.equal(hx(encodeActpu(a)), hx(p.ru))
  t.equal(hx(encodePiu(p)), hx(buf))
  t.equal(hx(positiveResponse(buf, encodeActpuResponse({ formatType: 0x12, data: Buffer.alloc(0) }))), hx(h('2D 00 00 00 00 FA EB 80 00 11 12')))
})

t.test('V8 PU 2.0 responses (i3274_cc.c)', async (t) => {
  const actlu = decodeActlu(h('0D 01 01'))
  t.same(actlu, { enhancedAddressManagement: false, dynamicAddress: false, activationType: 1, fmProfile: 0, tsProfile: 1, controlVectors: [] })
  const rsp = actluPositiveRu(actlu, true)
  t.equal(hx(rsp), hx(h('0D 01 01 00 85 00 00 00 0C 0E 03 00 01 00 00 00 40 40 40 40 40 40 40 40')))
  const dr = decodeActluResponse(rsp)
  t.same(dr.sscpLuCapabilities, h('85000000')); t.equal(dr.controlVectors[0]!.key, 0x0c); t.equal(dr.controlVectors[0]!.data[0], 0x03)
  t.equal(hx(encodeActluResponse(dr)), hx(rsp))
  const notify = h('81 06 20 0C 0E 03 00 01 00 00 00 40 40 40 40 40 40 40 40')
  t.equal(hx(encodeNotify({ enabled: true })), hx(notify))
  t.same(decodeNotify(notify).enabled, true)
  const off = Buffer.from(notify); off[5] = 0x01
  t.equal(decodeNotify(off).enabled, false)
  t.equal(hx(encodeNotify({ enabled: false })), hx(off))
  const short = h('81 06 20 0C 06 03 00 01 00 00 00')
  const ds = decodeNotify(short)
  t.equal(hx(encodeNotify(ds)), hx(short))
  t.same(decodeLustat(h('04 00 01 00 00')), { status: 1, extension: 0 })
  t.equal(hx(encodeLustat({ status: 1, extension: 0 })), '0400010000')
  t.equal(hx(encodeUnbind({ type: 1 })), '3201')
  // Response RUs built from requests: +BIND 31, +SDT A0, +CLEAR A1, +DACTLU 0E, +DACTPU 12
  const th = '2D 00 02 01 00 01 6B 80 00'
  for (const [ru, echo] of [[h('31'), '31'], [encodeSdt(), 'A0'], [encodeClear(), 'A1'], [encodeDactlu(), '0E'], [encodeDactpu(), '12']] as Array<[Buffer, string]>) {
    const rsp = buildPositiveResponse(Buffer.concat([h(th), ru]))
    t.equal(hx(rsp.ru), echo)
    t.equal(hx(encodePiu(rsp)).slice(0, 18), '2D0001020001EB8000')
  }
})

t.test('V9 pacing request and isolated pacing responses', async (t) => {
  const p = decodePiu(h('2C 00 0E 01 A9 04 4B 91 20 04 00 06 00 00'))
  t.same(p.th, { mpf: 'whole', odai: false, efi: false, daf: 0x0e, oaf: 0x01, snf: 0xa904 })
  const rh = req(p.rh)
  t.equal(rh.category, 'DFC'); t.ok(rh.pi); t.ok(rh.cdi); t.equal(responseMode(rh), 'RQE1')
  t.same(decodeLustat(p.ru), { status: 6, extension: 0 })
  const ipr = encodeIpr({ daf: 0x01, oaf: 0x0e })
  t.equal(hx(ipr), hx(h('2C 00 01 0E 00 00 83 01 00')))
  t.ok(isIpr(decodePiu(ipr)))
  const ipr2 = encodeIpr({ daf: 0x02, oaf: 0x03, odai: true })
  t.equal(hx(ipr2), hx(h('2E 00 02 03 00 00 83 01 00')))
})

t.test('CNOS / FMH / data traffic TH and RH (KB Q308927, Q185503, Q181011, Q162147)', async (t) => {
  const cases: Array<[string, object, object]> = [
    ['2E 00 7D 04 00 02 08 90 00 0D 05 02 FF 00 03 D0 00 00 02 06 F1 00', { odai: true, efi: false, daf: 0x7d, oaf: 0x04, snf: 2 }, { category: 'FMD', fi: true, bci: false, eci: false, mode: 'RQE1', cdi: false }],
    ['2E 00 7D 04 00 03 01 90 20 00 19 12 10', { odai: true, efi: false, daf: 0x7d, oaf: 0x04, snf: 3 }, { category: 'FMD', fi: false, bci: false, eci: true, mode: 'RQE1', cdi: true }],
    ['2E 00 04 7D 00 01 03 91 01 00 19 12 10', { odai: true, efi: false, daf: 0x04, oaf: 0x7d, snf: 1 }, { category: 'FMD', fi: false, bci: true, eci: true, mode: 'RQE1', cebi: true, pi: true }],
    ['2E 00 04 02 00 02 0B 90 A0 2E 05 02 FF', { odai: true, efi: false, daf: 0x04, oaf: 0x02, snf: 2 }, { category: 'FMD', fi: true, bci: true, eci: true, mode: 'RQE1', bbi: true, cdi: true }],
    ['2C 00 05 01 00 18 03 80 20', { odai: false, efi: false, daf: 5, oaf: 1, snf: 0x18 }, { category: 'FMD', fi: false, bci: true, eci: true, mode: 'RQD1', cdi: true }],
    ['2C 00 01 05 00 19 03 90 20 F8 C3 7E', { odai: false, efi: false, daf: 1, oaf: 5, snf: 0x19 }, { category: 'FMD', bci: true, eci: true, mode: 'RQE1', cdi: true }],
  ]
  for (const [hexs, th, rhExp] of cases) {
    const buf = h(hexs)
    const p = decodePiu(buf)
    t.match(p.th, { mpf: 'whole', ...th }, hexs)
    const rh = req(p.rh)
    const { mode, ...flags } = rhExp as { mode: string }
    t.equal(responseMode(rh), mode, hexs)
    t.match(rh, flags, hexs)
    t.equal(hx(encodePiu(p)), hx(buf), `${hexs} re-encodes`)
  }
  // FMH-7 carrier (Q181011): RH 0B 80 01 = FMD FI BC EC DR1 CEB
  const rh = req(decodeRh(h('0B 80 01')))
  t.ok(rh.fi); t.ok(rh.cebi); t.equal(responseMode(rh), 'RQD1')
  t.equal(hx(encodeRh(rh)), '0B8001')
  // -RSP to FMD data (Q156083): RH 87 90 00 RU 08 46 00 00
  const data = h('2C 00 01 05 00 30 03 90 20 7D')
  const neg = decodePiu(negativeResponse(data, 0x08460000))
  t.equal(hx(encodeRh(neg.rh!)), '879000'); t.equal(hx(neg.ru), '08460000')
})
