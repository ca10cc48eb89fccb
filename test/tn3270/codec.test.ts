import t from 'tap'
import fc from 'fast-check'
import {
  encodeHeader, decodeMessage, encodeMessage, encodeTn3270e, decodeTn3270e, answerFunctionsRequest, isAcceptableIs,
  supportedFunctions, parseDeviceType, splitTerminalType, validResourceName, parseUsableArea, READ_PARTITION_QUERY,
  REASON_CODE, REJECT_REASONS, reasonName, FUNCTION_CODE, functionName, DATA_TYPE_CODE, dataTypeName, type DataType,
} from '../../lib/tn3270/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import { bytes } from '../telnet/fixtures/peer.js'

t.test('header vectors (RFC 2355 §8.1; the s3270 trace in docs/tn3270.md)', async (t) => {
  t.same(encodeHeader({ dataType: '3270-DATA', requestFlag: 0, responseFlag: 0, seq: 0 }), bytes(0, 0, 0, 0, 0))
  t.same(encodeHeader({ dataType: 'RESPONSE', requestFlag: 0, responseFlag: 1, seq: 0x1234 }), bytes(2, 0, 1, 0x12, 0x34))
  t.same(encodeHeader({ dataType: 'SCS-DATA', requestFlag: 0, responseFlag: 2, seq: 0xffff }), bytes(1, 0, 2, 0xff, 0xff))
  // the s3270 inbound record from that trace: header + AID 7D, cursor, SBA, "HI"
  const m = decodeMessage(bytes(0, 0, 0, 0, 0, 0x7d, 0xc1, 0xd3, 0x11, 0xc1, 0xd1, 0xc8, 0xc9))
  t.same(m.header, { dataType: '3270-DATA', requestFlag: 0, responseFlag: 0, seq: 0 })
  t.same(m.data, bytes(0x7d, 0xc1, 0xd3, 0x11, 0xc1, 0xd1, 0xc8, 0xc9))
  t.same(encodeMessage({ dataType: 'PRINT-EOJ', requestFlag: 0, responseFlag: 0, seq: 7 }), bytes(8, 0, 0, 0, 7))
  t.throws(() => decodeMessage(bytes(0, 0, 0, 0)), { code: ErrorCodes.TN3270E_MALFORMED })
  t.throws(() => decodeMessage(bytes(0x42, 0, 0, 0, 0)), { code: ErrorCodes.TN3270E_MALFORMED, message: /DATA-TYPE 0x42/ })
  t.throws(() => encodeHeader({ dataType: '3270-DATA', requestFlag: 0, responseFlag: 0, seq: 70000 }), RangeError)
  t.same(Object.values(DATA_TYPE_CODE), [0, 1, 2, 3, 4, 5, 6, 7, 8])
  for (const d of Object.keys(DATA_TYPE_CODE) as DataType[]) t.equal(dataTypeName(DATA_TYPE_CODE[d]), d)
})

t.test('property: header round trip', async (t) => {
  fc.assert(fc.property(fc.constantFrom(...Object.keys(DATA_TYPE_CODE) as DataType[]), fc.nat(255), fc.nat(255), fc.nat(0xffff), fc.uint8Array({ maxLength: 20 }),
    (dataType, requestFlag, responseFlag, seq, data) => {
      const m = decodeMessage(encodeMessage({ dataType, requestFlag, responseFlag, seq }, data))
      t.same(m.header, { dataType, requestFlag, responseFlag, seq })
      t.same(m.data, Buffer.from(data))
    }), { numRuns: 200 })
})

t.test('subnegotiation vectors (RFC 2355 §8; the s3270 trace in docs/tn3270.md)', async (t) => {
  t.same(encodeTn3270e({ kind: 'send-device-type' }), bytes(8, 2))
  t.same(encodeTn3270e({ kind: 'device-type-is', deviceType: 'IBM-3278-2-E', device: 'LU01' }), bytes(2, 4, 'IBM-3278-2-E', 1, 'LU01'))
  t.same(encodeTn3270e({ kind: 'device-type-reject', reason: 'INV-NAME' }), bytes(2, 6, 5, 3))
  t.same(encodeTn3270e({ kind: 'functions-is', functions: [2, 4] }), bytes(3, 4, 2, 4))
  t.same(encodeTn3270e({ kind: 'functions-request', functions: [0, 2, 4] }), bytes(3, 7, 0, 2, 4))
  t.same(encodeTn3270e({ kind: 'device-type-request', deviceType: 'IBM-3287-1', associate: 'LU01' }), bytes(2, 7, 'IBM-3287-1', 0, 'LU01'))
  t.same(encodeTn3270e({ kind: 'device-type-request', deviceType: 'IBM-3278-2', connect: 'P' }), bytes(2, 7, 'IBM-3278-2', 1, 'P'))
  t.same(encodeTn3270e({ kind: 'device-type-request', deviceType: 'IBM-3278-2' }), bytes(2, 7, 'IBM-3278-2'))

  t.same(decodeTn3270e(bytes(2, 7, 'IBM-3278-2-E')), { kind: 'device-type-request', deviceType: 'IBM-3278-2-E' })
  t.same(decodeTn3270e(bytes(2, 7, 'IBM-3278-2-E', 1, 'LU01')), { kind: 'device-type-request', deviceType: 'IBM-3278-2-E', connect: 'LU01' })
  t.same(decodeTn3270e(bytes(2, 7, 'IBM-3287-1', 0, 'LU01')), { kind: 'device-type-request', deviceType: 'IBM-3287-1', associate: 'LU01' })
  t.same(decodeTn3270e(bytes(2, 4, 'IBM-3278-2', 1, 'LU9')), { kind: 'device-type-is', deviceType: 'IBM-3278-2', device: 'LU9' })
  t.same(decodeTn3270e(bytes(2, 6, 5, 1)), { kind: 'device-type-reject', reason: 'DEVICE-IN-USE' })
  t.same(decodeTn3270e(bytes(3, 7, 0, 2, 4)), { kind: 'functions-request', functions: [0, 2, 4] })
  t.same(decodeTn3270e(bytes(3, 4)), { kind: 'functions-is', functions: [] })
  t.same(decodeTn3270e(bytes(8, 2)), { kind: 'send-device-type' })
  for (const bad of [bytes(2), bytes(2, 7), bytes(2, 7, 'IBM', 1), bytes(2, 7, 'IB M'), bytes(2, 7, 1, 'LU'), bytes(2, 4, 'X'), bytes(2, 6, 5, 9), bytes(2, 6, 1), bytes(3, 7, 2, 2), bytes(9, 9), bytes(2, 2)]) {
    t.throws(() => decodeTn3270e(bad), { code: ErrorCodes.TN3270E_MALFORMED }, `rejects ${bad.toString('hex')}`)
  }
})

t.test('reason and function codes (RFC 2355 §8)', async (t) => {
  t.same(REJECT_REASONS.map((r) => REASON_CODE[r]), [0, 1, 2, 3, 4, 5, 6, 7])
  for (const r of REJECT_REASONS) t.equal(reasonName(REASON_CODE[r]), r)
  t.equal(reasonName(8), undefined)
  t.same([FUNCTION_CODE['BIND-IMAGE'], FUNCTION_CODE['DATA-STREAM-CTL'], FUNCTION_CODE.RESPONSES, FUNCTION_CODE['SCS-CTL-CODES'], FUNCTION_CODE.SYSREQ], [0, 1, 2, 3, 4])
  t.equal(functionName(4), 'SYSREQ')
  t.equal(functionName(99), undefined)
})

t.test('FUNCTIONS decision never grants what was not requested', async (t) => {
  // s3270: BIND-IMAGE RESPONSES SYSREQ, no BINDs -> counter-REQUEST RESPONSES SYSREQ
  t.same(answerFunctionsRequest([0, 2, 4], supportedFunctions(false)), { verb: 'REQUEST', functions: [2, 4] })
  t.same(answerFunctionsRequest([0, 2, 4], supportedFunctions(true)), { verb: 'IS', functions: [0, 2, 4] })
  t.same(answerFunctionsRequest([4, 2], supportedFunctions(false)), { verb: 'IS', functions: [2, 4] })
  t.same(answerFunctionsRequest([], supportedFunctions(false)), { verb: 'IS', functions: [] })
  // pr3287's list with bindImage: a display session never gets the printer functions; an SCS
  // printer gets SCS-CTL-CODES, an LU type 3 printer DATA-STREAM-CTL, neither SYSREQ (RFC 2355 §7.2, §10.3)
  t.same(answerFunctionsRequest([0, 1, 2, 3, 4], supportedFunctions(true)), { verb: 'REQUEST', functions: [0, 2, 4] })
  t.same(answerFunctionsRequest([0, 1, 2, 3, 4], supportedFunctions(true, 'lu1')), { verb: 'REQUEST', functions: [0, 2, 3] })
  t.same(answerFunctionsRequest([0, 1, 2, 3, 4], supportedFunctions(true, 'lu3')), { verb: 'REQUEST', functions: [0, 1, 2] })
  t.same(answerFunctionsRequest([5, 6, 2], supportedFunctions(true)), { verb: 'REQUEST', functions: [2] })
  fc.assert(fc.property(fc.uniqueArray(fc.nat(10), { maxLength: 8 }), fc.boolean(), (req, bind) => {
    const r = answerFunctionsRequest(req, supportedFunctions(bind))
    t.ok(r.functions.every((f) => req.includes(f)), 'subset of the request')
    t.equal(r.functions.includes(0), bind && req.includes(0))
    t.equal(r.verb === 'IS', r.functions.length === req.length)
  }), { numRuns: 200 })
  t.ok(isAcceptableIs([2, 4], [2]))
  t.notOk(isAcceptableIs([2, 4], [0, 2]))
})

t.test('device types and sizes (RFC 1576, RFC 2355 §7.1.1)', async (t) => {
  const sizes: Array<[string, number, number]> = [['IBM-3278-2', 24, 80], ['IBM-3278-3-E', 32, 80], ['IBM-3279-4', 43, 80], ['IBM-3279-5-E', 27, 132]]
  for (const [n, r, c] of sizes) {
    const d = parseDeviceType(n)!
    t.same([d.kind, d.alt.rows, d.alt.cols, d.extended], ['display', r, c, n.endsWith('-E')], n)
  }
  t.same(parseDeviceType('ibm-3278-2-e')?.name, 'IBM-3278-2-E')
  t.equal(parseDeviceType('IBM-DYNAMIC')?.dynamic, true)
  t.equal(parseDeviceType('IBM-3287-1')?.kind, 'printer')
  for (const bad of ['IBM-3278-1', 'IBM-3278-6', 'IBM-3277-2', 'VT100', 'IBM-3278-2-EX', 'IBM-3287-2']) t.equal(parseDeviceType(bad), undefined, bad)
  t.same(splitTerminalType('IBM-3279-2-E@LU02'), { deviceType: 'IBM-3279-2-E', resourceName: 'LU02' })
  t.same(splitTerminalType('IBM-3279-2-E@pool'), { deviceType: 'IBM-3279-2-E', resourceName: 'POOL' })
  t.same(splitTerminalType('IBM-3279-2-E@'), { deviceType: 'IBM-3279-2-E' })
  t.same(splitTerminalType('IBM-3279-2-E'), { deviceType: 'IBM-3279-2-E' })
  t.ok(validResourceName('LU01'))
  t.ok(validResourceName('$SYS#@1'))
  t.notOk(validResourceName('TOOLONGNAME'))
  t.notOk(validResourceName(''))
})

t.test('Read Partition Query and the Usable Area reply', async (t) => {
  t.same(READ_PARTITION_QUERY, bytes(0xf3, 0x00, 0x05, 0x01, 0xff, 0x02))
  // AID 88; a Summary reply (L=6: 81 80 80 81), then Usable Area (L=0x13: 81 81 flags w=132 h=27 ...)
  const ua = [0x00, 0x13, 0x81, 0x81, 0x01, 0x00, 0x00, 0x84, 0x00, 0x1b, 0x01, 0, 1, 0, 1, 0, 1, 0, 1, 0x0a, 0x0c, 0x0d]
  const reply = bytes(0x88, 0x00, 0x06, 0x81, 0x80, 0x80, 0x81, ...ua.slice(0, 19))
  t.same(parseUsableArea(reply), { rows: 27, cols: 132 })
  t.same(parseUsableArea(bytes(0x88, 0x00, 0x00, 0x81, 0x81, 0, 0, 0, 80, 0, 24)), { rows: 24, cols: 80 }, 'length 0 = rest of record')
  t.equal(parseUsableArea(bytes(0x7d, 0, 0)), undefined, 'not a structured field')
  t.equal(parseUsableArea(bytes(0x88, 0x00, 0x06, 0x81, 0x80, 0x80, 0x81)), undefined, 'no usable area')
  t.equal(parseUsableArea(bytes(0x88, 0x00, 0x30, 0x81, 0x81)), undefined, 'truncated')
  t.equal(parseUsableArea(bytes(0x88, 0x00, 0x02, 0x81, 0x81)), undefined, 'length too small')
  t.equal(parseUsableArea(bytes(0x88, 0x00, 0x0a, 0x81, 0x81, 0, 0, 0, 0, 0, 0)), undefined, 'zero size')
})
