import t from 'tap'
import {
  Command, decodeFieldAttribute, decodeWcc, encodeFieldAttribute, encodeWcc, LocalCommand, parseOutbound,
  ScreenWriter, type OutboundOrder,
} from '../../lib/datastream/index.js'
import { hex, malformedMessage } from './fixtures/util.js'
import { V12_HEX } from './fixtures/vectors.js'

const strip = (orders: OutboundOrder[]): unknown[] => orders.map((o) => {
  const { offset: _offset, ...rest } = o
  return rest
})

t.test('V12: the IBMLINK Erase/Write decodes exactly (x3270 s3270/Test/ibmlink.trc)', async t => {
  const rec = parseOutbound(hex(V12_HEX))
  t.equal(rec.command, 'EW')
  t.equal(rec.commandCode, 0xf5)
  t.same(rec.wcc, { raw: 0xc6, reset: true, printoutFormat: 0, startPrinter: false, alarm: true, restore: true, resetMdt: false })
  const [a, b, c, d, e, f, g, h] = rec.orders
  t.same(a, { order: 'SBA', offset: 2, address: 1612 }, 'SBA(20,12)')
  t.same(b, { order: 'IC', offset: 5 })
  t.same(c, { order: 'SBA', offset: 6, address: 0 })
  t.match(d, { order: 'SF', offset: 9, attribute: { raw: 0x60, protected: true, numeric: false, intensity: 'normal', mdt: false } })
  t.match(e, { order: 'TEXT', offset: 11, text: 'SVM0201P' })
  t.same(f, { order: 'SBA', offset: 19, address: 80 }, 'SBA(1,0)')
  t.match(g, { order: 'SF', attribute: { protected: true } })
  t.match(h, { order: 'TEXT', text: 'SYSTEM:' })
  // Attribute variety in the same record: autoskip F0, protected intensified E8, MDT C1, non-display 4C.
  const attrs = rec.orders.flatMap((o) => (o.order === 'SF' ? [o.attribute.raw] : []))
  for (const raw of [0x60, 0xf0, 0xe8, 0xc1, 0xf8, 0x4c, 0xc9]) t.ok(attrs.includes(raw), `has SF X'${raw.toString(16)}'`)
  t.match(rec.orders.find((o) => o.order === 'SF' && o.attribute.raw === 0x4c), { attribute: { hidden: true, protected: false } })
  t.match(rec.orders.find((o) => o.order === 'SF' && o.attribute.raw === 0xf0), { attribute: { skip: true, protected: true, numeric: true } })
  t.match(rec.orders.find((o) => o.order === 'SF' && o.attribute.raw === 0xc9), { attribute: { intensified: true, mdt: true } })
  const texts = rec.orders.flatMap((o) => (o.order === 'TEXT' ? [o.text] : []))
  t.ok(texts.includes('W E L C O M E   T O'))
  t.ok(texts.includes('Provided by AT&T Global Network Services'))
})

t.test('field attributes and WCC through the code table (GA23-0059)', async t => {
  t.equal(encodeFieldAttribute({}), 0x40, 'unprotected')
  t.equal(encodeFieldAttribute({ protected: true }), 0x60)
  t.equal(encodeFieldAttribute({ skip: true }), 0xf0, 'autoskip')
  t.equal(encodeFieldAttribute({ protected: true, intensified: true }), 0xe8)
  t.equal(encodeFieldAttribute({ hidden: true }), 0x4c)
  t.equal(encodeFieldAttribute({ mdt: true }), 0xc1)
  t.equal(encodeFieldAttribute({ detectable: true }), 0xc4)
  t.equal(encodeFieldAttribute({ numeric: true }), 0x50)
  t.equal(encodeFieldAttribute(0x20), 0x60, 'raw 6-bit value')
  t.match(malformedMessage(() => encodeFieldAttribute({ hidden: true, intensified: true })), /both hidden and intensified/)
  t.match(decodeFieldAttribute(0xc4), { intensity: 'detectable', mdt: false })
  t.equal(encodeWcc({ reset: true, alarm: true, restore: true }), 0xc6, 'IBMLINK first screen F5 C6')
  t.equal(encodeWcc({ restore: true, resetMdt: true }), 0xc3)
  t.equal(encodeWcc({ restore: true }), 0xc2, 'F1 C2 from the trace')
  t.equal(encodeWcc({}), 0x40)
  t.equal(encodeWcc({ reset: false, restore: true }), 0x82)
  t.equal(encodeWcc({ startPrinter: true, printoutFormat: 1 }), 0x50 | 0x08 | 0x80)
  t.equal(encodeWcc(0x1c2), 0xc2, 'raw byte')
  t.match(malformedMessage(() => encodeWcc({ printoutFormat: 4 })), /printoutFormat 4/)
  t.match(decodeWcc(0xc3), { reset: true, restore: true, resetMdt: true, alarm: false })
  t.match(decodeWcc(0xf8), { printoutFormat: 3, startPrinter: true })
})

t.test('ScreenWriter builds exact bytes', async t => {
  const buf = new ScreenWriter({ rows: 24, cols: 80 })
    .eraseWrite({ alarm: true, restore: true })
    .sba(20, 12).ic()
    .sba(0, 0).sf({ protected: true }).text('SVM0201P')
    .sba(1, 0).sf({ protected: true }).text('SYSTEM:')
    .toBuffer()
  t.equal(buf.toString('hex'), V12_HEX.slice(0, buf.length * 2), 'same bytes as the first 34 of V12')

  const all = new ScreenWriter()
    .write({ restore: true })
    .sfe({ protected: true, highlighting: 0xf2, foreground: 0xf4, background: 0xf1, pairs: [{ type: 0x43, value: 0 }] })
    .sa(0x42, 0xf2).mf([{ type: 0xc0, value: 0x60 }])
    .pt().ra(0, 10, '*').raAddress(20, 0xd5, { ge: true }).eua(1, 0).euaAddress(0).ge(0xad).raw([0x40])
    .cursorAt(2, 0)
    .field(3, 0, 'X')
    .inputField(4, 0, 2, { initial: 'abc', hidden: true }) // truncated to 2
    .inputField(23, 74, 5) // ends exactly at the last position: no closing attribute
    .toBuffer()
  t.equal(all.toString('hex'),
    'f1c2' +
    '2905' + 'c060' + '41f2' + '42f4' + '45f1' + '4300' +
    '2842f2' + '2c01c060' +
    '05' + '3c404a5c' + '3c40d408d5' + '12c150' + '124040' + '08ad' + '40' +
    '11c260' + '13' +
    '11c3f0' + '1d60' + 'e7' +
    '11c5401d4c' + '8182' + '11c5c31df0' +
    '115d7a1d40')
  t.equal(new ScreenWriter().readBuffer().toBuffer().toString('hex'), 'f2')
  t.equal(new ScreenWriter().readModified().toBuffer().toString('hex'), 'f6')
  t.equal(new ScreenWriter().readModifiedAll().toBuffer().toString('hex'), '6e')
  t.equal(new ScreenWriter().eraseAllUnprotected().toBuffer().toString('hex'), '6f')
  t.equal(new ScreenWriter().eraseWriteAlternate({ restore: true }).toBuffer().toString('hex'), '7ec2')
  t.equal(new ScreenWriter().writeStructuredField().readPartitionQuery().toBuffer().toString('hex'), 'f3' + '000501ff02')
  t.equal(new ScreenWriter().writeStructuredField().structuredField(0x0f85, [1, 2]).toBuffer().toString('hex'), 'f3' + '00060f850102')
})

t.test('ScreenWriter: text can never inject an order; big screens use 14-bit addresses', async t => {
  const b = new ScreenWriter().write().text('A\u0011B\u0000\u20ac').toBuffer()
  t.equal(b.toString('hex'), 'f140' + 'c1' + '3f' + 'c2' + '00' + '3f', 'SBA byte → SUB, NUL kept, € → SUB')
  const big = new ScreenWriter({ rows: 62, cols: 160 })
  t.equal(big.addressMode, 14)
  t.equal(big.write().sba(31, 40).toBuffer().toString('hex'), 'f140' + '11' + '1388', 'address 5000 in 14-bit form')
  t.equal(new ScreenWriter({ rows: 62, cols: 160, addressMode: 14 }).size, 9920)
  t.equal(new ScreenWriter().write().ra(0, 1, '\u0011').toBuffer().toString('hex'), 'f140' + '3c40c1' + '3f')
})

t.test('ScreenWriter misuse is a clear DATASTREAM_MALFORMED', async t => {
  t.match(malformedMessage(() => new ScreenWriter().sba(0, 0)), /SBA before a command/)
  t.match(malformedMessage(() => new ScreenWriter().eraseAllUnprotected().text('x')), /not allowed after the EAU command/)
  t.match(malformedMessage(() => new ScreenWriter().write().eraseWrite()), /one command; EW after W/)
  t.match(malformedMessage(() => new ScreenWriter().write().sba(24, 0)), /position \(24,0\) outside the 24x80 screen/)
  t.match(malformedMessage(() => new ScreenWriter().write().sbaAddress(1920)), /address 1920 outside the 24x80 buffer/)
  t.match(malformedMessage(() => new ScreenWriter().toBuffer()), /no command/)
  t.match(malformedMessage(() => new ScreenWriter().raw([1])), /raw bytes before a command/)
  t.match(malformedMessage(() => new ScreenWriter().write().structuredField(1)), /needs the WSF command/)
  t.match(malformedMessage(() => new ScreenWriter().write().ra(0, 1, 'ab')), /expected one character/)
  t.match(malformedMessage(() => new ScreenWriter({ rows: 0, cols: 80 })), /bad screen size/)
  t.match(malformedMessage(() => new ScreenWriter({ rows: 62, cols: 160, addressMode: 12 })), /too large for 12-bit/)
  t.match(malformedMessage(() => new ScreenWriter().write().mf(Array.from({ length: 256 }, () => ({ type: 0xc0, value: 0x40 })))), /256 attribute pairs exceed 255/)
  t.match(malformedMessage(() => new ScreenWriter().writeStructuredField().structuredField(1, new Uint8Array(70000))), /exceeds 65535/)
})

t.test('parseOutbound: every order and command form', async t => {
  const rec = parseOutbound(hex('01 c3 1d f0 29 02 c0 e8 41 f1 28 00 00 2c 01 c0 c1 13 05 3c 40 c5 5c 3c 40 c6 08 ad 12 40 40 08 ad 00 0c 0d 0e 0f 15 19 1c 1e 3f ff 41'))
  t.equal(rec.command, 'W', 'local (channel) Write code 01 accepted')
  t.same(strip(rec.orders), [
    { order: 'SF', attribute: decodeFieldAttribute(0xf0) },
    { order: 'SFE', attribute: decodeFieldAttribute(0xe8), pairs: [{ type: 0xc0, value: 0xe8 }, { type: 0x41, value: 0xf1 }] },
    { order: 'SA', type: 0, value: 0 },
    { order: 'MF', pairs: [{ type: 0xc0, value: 0xc1 }] },
    { order: 'IC' },
    { order: 'PT' },
    { order: 'RA', address: 5, char: 0x5c, ge: false },
    { order: 'RA', address: 6, char: 0xad, ge: true },
    { order: 'EUA', address: 0 },
    { order: 'GE', char: 0xad },
    { order: 'TEXT', bytes: hex('00 0c 0d 0e 0f 15 19 1c 1e 3f ff 41'), text: '\u0000\f\r\u000e\u000f\u0085\u0019\u001c\u001e\u001a\u009f\u00a0' },
  ])
  t.same(parseOutbound(hex('f5c2 2900')).orders[0], { order: 'SFE', offset: 2, attribute: decodeFieldAttribute(0), pairs: [] }, 'SFE without a C0 pair = unprotected')
  for (const [name, code] of Object.entries(Command)) t.equal(parseOutbound(Buffer.of(code, ...(['W', 'EW', 'EWA'].includes(name) ? [0xc2] : []))).command, name)
  for (const [name, code] of Object.entries(LocalCommand)) t.equal(parseOutbound(Buffer.of(code, ...(['W', 'EW', 'EWA'].includes(name) ? [0xc2] : []))).command, name)
  const wsf = parseOutbound(hex('f3 0005 01ff02 0000 40 00 f1 c2'))
  t.same(wsf.structuredFields?.map((s) => ({ id: s.id, data: s.data.toString('hex'), offset: s.offset })), [
    { id: 0x01, data: 'ff02', offset: 1 },
    { id: 0x40, data: '00f1c2', offset: 6 },
  ], 'length 0 runs to the end')
  t.same(parseOutbound(hex('f3 0006 1003 aabb')).structuredFields?.[0]?.id, 0x1003, '2-byte SF id')
  t.same(parseOutbound(hex('7ec2'), { cp: 'cp1047' }).orders, [])
})

t.test('parseOutbound: malformed input names the offset', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /offset 0: empty record/],
    ['00', /offset 0: unknown command X'00'/],
    ['f5', /offset 1: EW WCC needs 1 byte/],
    ['f5c2 11 40', /offset 3: SBA address needs 2 byte\(s\), record ends after 1/],
    ['f1c2 1d', /offset 3: SF attribute needs 1 byte/],
    ['f1c2 29', /offset 3: SFE pair count/],
    ['f1c2 29 02 c0 60', /offset 4: SFE with 2 attribute pair\(s\) needs 4 byte/],
    ['f1c2 2c 01 c0', /offset 4: MF with 1 attribute pair/],
    ['f1c2 28 41', /offset 3: SA type and value/],
    ['f1c2 3c 40 40', /offset 3: RA address and character needs 3/],
    ['f1c2 3c 40 40 08', /offset 6: RA graphic-escape character/],
    ['f1c2 12 40', /offset 3: EUA address/],
    ['f1c2 08', /offset 3: GE character/],
    ['f1c2 c1c2 01', /offset 4: unknown order X'01'/],
    ['6f 40', /offset 1: 1 unexpected byte\(s\) after EAU/],
    ['f3 00', /offset 1: structured field length needs 2/],
    ['f3 0002 01', /offset 1: structured field length 2 is below the minimum 3/],
    ['f3 0009 01ff02', /offset 1: structured field length 9 exceeds the 5 byte\(s\) left/],
    ['f3 0003 0f', /structured field X'0F'xx length 3 leaves no room/],
  ]
  for (const [input, re] of cases) t.match(malformedMessage(() => parseOutbound(hex(input))), re, input || '(empty)')
})
