import t from 'tap'
import { Aid, aidName, buildInbound, buildQueryReply, CODE_PAGES, encode, parseInbound, pfAid, queryCodeName, SHORT_READ_AIDS } from '../../lib/datastream/index.js'
import { hex, malformedMessage } from './fixtures/util.js'
import { Q162147_INBOUND_HEX, V13_HEX } from './fixtures/vectors.js'

const M2 = { rows: 24, cols: 80 }

t.test('V13: IBMLINK PF3 inbound decodes exactly (x3270 s3270/Test/ibmlink.trc)', async t => {
  const rec = parseInbound(hex(V13_HEX), M2)
  t.equal(rec.aid, 'PF3')
  t.equal(rec.aidCode, 0xf3)
  t.equal(rec.shortRead, false)
  t.equal(rec.cursor, 1612)
  t.same(rec.fields.map((f) => ({ address: f.address, text: f.text, raw: f.raw.toString('hex') })), [
    { address: 1612, text: '________', raw: '6d'.repeat(8) },
    { address: 1631, text: '________', raw: '6d'.repeat(8) },
    { address: 1846, text: '', raw: '' },
    { address: 1910, text: '', raw: '' },
  ])
  t.equal(rec.unformatted, undefined)
  t.equal(buildInbound({ aid: 'PF3', cursor: 1612, ...M2, fields: rec.fields.map((f) => ({ address: f.address, text: f.text })) }).toString('hex'), V13_HEX, 'rebuilt byte for byte')
})

t.test('KB Q162147: PF8, cursor 254, no fields', async t => {
  const rec = parseInbound(hex(Q162147_INBOUND_HEX), M2)
  t.match(rec, { aid: 'PF8', cursor: 254, fields: [], shortRead: false })
  t.equal(buildInbound({ aid: 'PF8', cursor: 254, ...M2 }).toString('hex'), Q162147_INBOUND_HEX)
})

t.test('AID names (GA23-0059, x3270 3270ds.h)', async t => {
  const expect: Record<string, number> = { ENTER: 0x7d, PF1: 0xf1, PF9: 0xf9, PF10: 0x7a, PF12: 0x7c, PF13: 0xc1, PF21: 0xc9, PF22: 0x4a, PF24: 0x4c, PA1: 0x6c, PA2: 0x6e, PA3: 0x6b, CLEAR: 0x6d, SELECT: 0x7e, SYSREQ: 0xf0, STRUCTURED_FIELD: 0x88, NONE: 0x60, QUERY_REPLY: 0x61 }
  for (const [name, code] of Object.entries(expect)) {
    t.equal(Aid[name as keyof typeof Aid], code, name)
    t.equal(aidName(code), name)
  }
  for (let n = 1; n <= 24; n++) t.equal(pfAid(n), `PF${n}`)
  t.throws(() => pfAid(25), RangeError)
  t.same([...SHORT_READ_AIDS].sort(), ['CLEAR', 'PA1', 'PA2', 'PA3'])
})

t.test('short reads: PA/CLEAR are the AID alone', async t => {
  for (const aid of ['PA1', 'PA2', 'PA3', 'CLEAR'] as const) {
    const b = buildInbound({ aid, cursor: 100, fields: [{ address: 5, text: 'IGNORED' }], ...M2 })
    t.equal(b.length, 1, `${aid} short`)
    t.same(parseInbound(b, M2), { aid, aidCode: Aid[aid], shortRead: true, fields: [] })
  }
  t.equal(buildInbound({ aid: 'ENTER', shortRead: true, ...M2 }).toString('hex'), '7d', 'forced short read')
  t.equal(buildInbound({ aid: 'PA1', shortRead: false, cursor: 0, ...M2 }).toString('hex'), '6c4040', 'forced long read')
  t.match(parseInbound(hex('f0'), M2), { aid: 'SYSREQ', shortRead: true })
})

t.test('unformatted read, GE, SA and Read Buffer orders', async t => {
  const unf = buildInbound({ aid: 'ENTER', cursor: 5, unformatted: 'LOGON TSO\u0011', ...M2 })
  t.equal(unf.toString('hex'), '7d' + '40c5' + 'd3d6c7d6d540e3e2d6' + '3f', 'order byte in data → SUB')
  t.match(parseInbound(unf, M2), { cursor: 5, fields: [], unformatted: { text: 'LOGON TSO\u001a' } })
  const ge = parseInbound(hex('7d 4040 11 40c1 c1 08 ad c2 28 41 f2 c3'), M2)
  t.equal(ge.fields[0]?.text, 'AÝBC', 'GE char decoded, SA skipped')
  t.equal(ge.fields[0]?.raw.toString('hex'), 'c108adc2c3')
  // Read Buffer style: attributes via SF/SFE, field addresses follow them.
  const rb = parseInbound(hex('7d 4040 1d 60 c1c2 1d 40 c3 29 01 c0 4c c4'), { rows: 24, cols: 80 })
  t.same(rb.fields.map((f) => ({ address: f.address, text: f.text, prot: f.attribute?.protected, hidden: f.attribute?.hidden })), [
    { address: 1, text: 'AB', prot: true, hidden: false },
    { address: 4, text: 'C', prot: false, hidden: false },
    { address: 6, text: 'D', prot: false, hidden: true },
  ])
  t.equal(buildInbound({ aid: 0x7d, cursor: 0, fields: [{ address: 1, raw: Uint8Array.of(0xc1) }, { address: 3 }], ...M2 }).toString('hex'), '7d4040' + '1140c1c1' + '1140c3')
})

t.test('14-bit addresses on a large screen', async t => {
  const big = { rows: 62, cols: 160 }
  const b = buildInbound({ aid: 'ENTER', cursor: 5000, fields: [{ address: 9000, text: 'HI' }], ...big })
  t.equal(b.toString('hex'), '7d' + '1388' + '11' + '2328' + 'c8c9')
  t.match(parseInbound(b, big), { cursor: 5000, fields: [{ address: 9000, text: 'HI' }] })
})

t.test('a field longer than one text slice, in every code page, and an unformatted one', async t => {
  const big = { rows: 62, cols: 160 }
  // 9,000 characters, past the 4,096 per String.fromCharCode call: printable ASCII, then Latin-1.
  const ascii = Array.from({ length: 9000 }, (_, i) => String.fromCharCode(0x20 + i % 95)).join('')
  const latin1 = Array.from({ length: 9000 }, (_, i) => String.fromCharCode(0xa0 + i % 96)).join('')
  for (const cp of CODE_PAGES) {
    for (const text of [ascii, latin1]) {
      const field = parseInbound(buildInbound({ aid: 'ENTER', cursor: 0, fields: [{ address: 10, text }], ...big, cp }), { ...big, cp }).fields[0]!
      t.equal(field.raw.length, 9000)
      t.equal(field.text, text, `${cp}: the text back`)
    }
    const un = parseInbound(Buffer.concat([Buffer.from([0x7d, 0x40, 0x40]), encode('ABC äöü', cp)]), { ...M2, cp })
    t.equal(un.unformatted?.text, 'ABC äöü', `${cp}: unformatted data`)
  }
})

t.test('structured-field inbound: query replies and Usable Area', async t => {
  const b = buildQueryReply({ usableArea: { rows: 43, cols: 80 }, replies: [{ code: 0x80, data: Uint8Array.of(0x80, 0x81, 0x86) }, { code: 0x86 }, { code: 0x77 }] })
  t.equal(b.subarray(0, 11).toString('hex'), '88' + '0017' + '81' + '81' + '0100' + '0050' + '002b', 'x3270 layout')
  const rec = parseInbound(b, M2)
  t.equal(rec.aid, 'STRUCTURED_FIELD')
  t.same(rec.usableArea, { addressing: 1, cols: 80, rows: 43, bufferSize: 3440 })
  t.same(rec.queryReplies?.map((q) => [q.code, q.name]), [[0x81, 'USABLE_AREA'], [0x80, 'SUMMARY'], [0x86, 'COLOR'], [0x77, undefined]])
  t.equal(rec.queryReplies?.[1]?.data.toString('hex'), '808186')
  t.equal(queryCodeName(0xa6), 'IMPLICIT_PARTITION')
  // A minimal 6-byte Usable Area (no buffer size) and a non-query-reply SF are accepted.
  const min = parseInbound(hex('88 000a 81 81 03 00 0084 001b 0005 0f22 01'), M2)
  t.same(min.usableArea, { addressing: 3, cols: 132, rows: 27 })
  t.same(min.structuredFields?.map((s) => s.id), [0x81, 0x0f22])
})

// s3270 4.1 (-model 3279-4-E -codepage 273) answering a Read Partition Query, captured on a plain
// TN3270 connection (IAC doubling undone): Summary, Usable Area 80x43, Alphanumeric Partitions,
// Character Sets with CGCSGID 02B9 0111 (character set 697, code page 273), Color, Highlighting,
// Reply Modes, DDM, RPQ Names, Implicit Partition (GA23-0059 "Query Reply" structured fields).
const S3270_273_QUERY_REPLY = '88000e81808081848586878895a1a60017818101000050002b01000a02e50002006f090c0d7000088184000d7000001b81858200090c000000000700100002b901110100f103c3013600268186001000f4f1f1f2f2f3f3f4f4f5f5f6f6f7f7f8f8f9f9fafafbfbfcfcfdfdfefeffff000f81870500f0f1f1f2f2f4f4f8f800078188000102000c81950000400040000101001281a1000000000000000006a7f3f2f7f0001181a600000b0100005000180050002b'

t.test('a real s3270 query reply: Usable Area and the base character set\'s code page', async t => {
  const rec = parseInbound(Buffer.from(S3270_273_QUERY_REPLY, 'hex'), M2)
  t.same(rec.usableArea, { addressing: 1, cols: 80, rows: 43, bufferSize: 3440 })
  t.same(rec.characterSet, { characterSetId: 697, codePageId: 273 })
  t.same(rec.queryReplies?.map((q) => q.name), ['SUMMARY', 'USABLE_AREA', 'ALPHANUMERIC_PARTITIONS', 'CHARACTER_SETS', 'COLOR', 'HIGHLIGHTING', 'REPLY_MODES', 'DDM', 'RPQ_NAMES', 'IMPLICIT_PARTITION'])
  // buildQueryReply lays the Character Sets reply out the same way.
  const built = buildQueryReply({ usableArea: { rows: 50, cols: 100 }, codePageId: 285 })
  t.same(parseInbound(built, M2).characterSet, { characterSetId: 697, codePageId: 285 })
  t.equal(built.subarray(24).toString('hex'), '001481858200090c000000000700100002b9011d', 'x3270 layout, one descriptor')
  // No CGCSGID flag, a descriptor length too short, or no LCID 0 set: no code page, no error.
  t.equal(parseInbound(hex('88 000d 81 85 00 00 09 0c 00000000 07'), M2).characterSet, undefined)
  t.equal(parseInbound(hex('88 0014 81 85 82 00 09 0c 00000000 06 00 10 00 02b9 0111'), M2).characterSet, undefined)
  t.equal(parseInbound(hex('88 0014 81 85 82 00 09 0c 00000000 07 01 10 f1 03c3 0136'), M2).characterSet, undefined)
})

t.test('malformed inbound records name the offset', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /offset 0: empty record/],
    ['99', /offset 0: unknown AID X'99'/],
    ['7d40', /offset 1: cursor address needs 2 bytes/],
    ['7d 5d7f', /offset 1: cursor address 1919 ok/],
    ['7d 5e40', /offset 1: cursor address 1920 outside the 24x80 buffer/],
    ['7d 4040 11 40', /offset 3: SBA address needs 2 bytes/],
    ['7d 4040 11 5e40', /offset 4: SBA address 1920 outside/],
    ['7d 4040 1d', /offset 3: SF attribute needs 1 byte/],
    ['7d 4040 29', /offset 3: SFE pair count/],
    ['7d 4040 29 02 c0', /offset 3: SFE with 2 pair\(s\) runs past/],
    ['7d 4040 28 41', /offset 3: SA needs type and value/],
    ['7d 4040 08', /offset 3: GE needs a character/],
    ['88 0004 81', /structured field length 4 exceeds/],
    ['88 0003 81', /offset 1: query reply without a QCODE/],
    ['88 0007 81 81 01 00 00', /Usable Area query reply has 3 data byte\(s\), needs at least 6/],
  ]
  for (const [input, re] of cases) {
    if (re.source.endsWith(' ok')) { t.equal(parseInbound(hex(input), M2).cursor, 1919, 'last address is fine'); continue }
    t.match(malformedMessage(() => parseInbound(hex(input), M2)), re, input || '(empty)')
  }
  t.match(malformedMessage(() => buildInbound({ aid: 'ENTER', cursor: 1920, ...M2 })), /cursor address 1920 outside/)
  t.match(malformedMessage(() => buildInbound({ aid: 'NOPE' as 'ENTER', ...M2 })), /unknown AID NOPE/)
})
