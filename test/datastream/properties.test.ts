import t from 'tap'
import fc from 'fast-check'
import {
  Aid, type AidName, buildInbound, decodeAddress, decodeFieldAttribute, encode, encodeAddress, encodeFieldAttribute,
  type FieldAttributeOptions, parseInbound, parseOutbound, Screen, ScreenWriter, SHORT_READ_AIDS, decode,
} from '../../lib/datastream/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'

const RUNS = { numRuns: 500 }

t.test('address encode/decode round trip for every address 0-16383', async t => {
  let bad = 0
  for (let a = 0; a <= 16383; a++) {
    const [b1, b2] = encodeAddress(a, 14)
    if (decodeAddress(b1, b2) !== a || (b1 & 0xc0) !== 0) bad++
    if (a <= 4095) {
      const [c1, c2] = encodeAddress(a, 12)
      if (decodeAddress(c1, c2) !== a || (c1 & 0xc0) === 0) bad++
    }
  }
  t.equal(bad, 0, 'all 16384 14-bit and 4096 12-bit addresses survive')
})

// Printable Latin-1: encodes in cp037/cp1047 to bytes X'40'-X'FE', never an order byte.
const printable = fc.constantFrom(...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)),
  ...Array.from({ length: 0x100 - 0xa0 }, (_, i) => String.fromCharCode(0xa0 + i)))
const text = fc.array(printable, { minLength: 1, maxLength: 30 }).map((a) => a.join(''))
const sizes = fc.constantFrom({ rows: 24, cols: 80 }, { rows: 43, cols: 80 }, { rows: 27, cols: 132 }, { rows: 62, cols: 160 })
const cps = fc.constantFrom('cp037' as const, 'cp1047' as const)

t.test('EBCDIC round trip on arbitrary Latin-1 text', async t => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), cps, (s, cp) => {
    const latin = [...s].filter((c) => (c.codePointAt(0) as number) < 256).join('')
    return decode(encode(latin, cp), cp) === latin
  }), RUNS)
  t.pass('property held')
})

t.test('inbound build/parse round trip', async t => {
  const longAids = (Object.keys(Aid) as AidName[]).filter((a) => !SHORT_READ_AIDS.has(a) && a !== 'STRUCTURED_FIELD')
  const arb = sizes.chain((size) => fc.record({
    size: fc.constant(size),
    cp: cps,
    aid: fc.constantFrom(...longAids),
    cursor: fc.integer({ min: 0, max: size.rows * size.cols - 1 }),
    fields: fc.array(fc.record({ address: fc.integer({ min: 0, max: size.rows * size.cols - 1 }), text: fc.option(text, { nil: '' }) }), { maxLength: 8 }),
  }))
  fc.assert(fc.property(arb, ({ size, cp, aid, cursor, fields }) => {
    const buf = buildInbound({ aid, cursor, fields, cp, ...size })
    const rec = parseInbound(buf, { ...size, cp })
    t.strictSame({ aid: rec.aid, cursor: rec.cursor, fields: rec.fields.map((f) => ({ address: f.address, text: f.text })) },
      { aid, cursor, fields }, 'round trip')
    return rec.aidCode === Aid[aid] && rec.shortRead === false
  }), { numRuns: 200 })
})

type Op =
  | { k: 'sba'; row: number; col: number }
  | { k: 'sf'; attr: FieldAttributeOptions }
  | { k: 'text'; s: string }
  | { k: 'ic' } | { k: 'pt' }
  | { k: 'ra'; row: number; col: number; ch: string }
  | { k: 'eua'; row: number; col: number }
  | { k: 'ge'; c: number }
  | { k: 'sa'; type: number; value: number }

t.test('outbound builder/parser round trip', async t => {
  const attr = fc.record({ protected: fc.boolean(), numeric: fc.boolean(), intensified: fc.boolean(), mdt: fc.boolean(), detectable: fc.boolean() })
  const arb = sizes.chain((size) => {
    const row = fc.integer({ min: 0, max: size.rows - 1 })
    const col = fc.integer({ min: 0, max: size.cols - 1 })
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ k: fc.constant('sba' as const), row, col }),
      fc.record({ k: fc.constant('sf' as const), attr }),
      fc.record({ k: fc.constant('text' as const), s: text }),
      fc.record({ k: fc.constant('ic' as const) }),
      fc.record({ k: fc.constant('pt' as const) }),
      fc.record({ k: fc.constant('ra' as const), row, col, ch: printable }),
      fc.record({ k: fc.constant('eua' as const), row, col }),
      fc.record({ k: fc.constant('ge' as const), c: fc.integer({ min: 0x40, max: 0xfe }) }),
      fc.record({ k: fc.constant('sa' as const), type: fc.integer({ min: 0, max: 255 }), value: fc.integer({ min: 0, max: 255 }) }),
    )
    return fc.record({ size: fc.constant(size), cmd: fc.constantFrom('write', 'eraseWrite', 'eraseWriteAlternate') as fc.Arbitrary<'write' | 'eraseWrite' | 'eraseWriteAlternate'>, restore: fc.boolean(), ops: fc.array(op, { maxLength: 25 }) })
  })
  fc.assert(fc.property(arb, ({ size, cmd, restore, ops }) => {
    const w = new ScreenWriter(size)[cmd]({ restore })
    const expected: unknown[] = []
    const addr = (row: number, col: number): number => row * size.cols + col
    for (const o of ops) {
      switch (o.k) {
        case 'sba': w.sba(o.row, o.col); expected.push({ order: 'SBA', address: addr(o.row, o.col) }); break
        case 'sf': w.sf(o.attr); expected.push({ order: 'SF', attribute: decodeFieldAttribute(encodeFieldAttribute(o.attr)) }); break
        case 'text': {
          w.text(o.s)
          const last = expected[expected.length - 1] as { order: string; text: string } | undefined
          if (last?.order === 'TEXT') last.text += o.s // adjacent data is one run on the wire
          else expected.push({ order: 'TEXT', text: o.s })
          break
        }
        case 'ic': w.ic(); expected.push({ order: 'IC' }); break
        case 'pt': w.pt(); expected.push({ order: 'PT' }); break
        case 'ra': w.ra(o.row, o.col, o.ch); expected.push({ order: 'RA', address: addr(o.row, o.col), char: encode(o.ch)[0], ge: false }); break
        case 'eua': w.eua(o.row, o.col); expected.push({ order: 'EUA', address: addr(o.row, o.col) }); break
        case 'ge': w.ge(o.c); expected.push({ order: 'GE', char: o.c }); break
        case 'sa': w.sa(o.type, o.value); expected.push({ order: 'SA', type: o.type, value: o.value }); break
      }
    }
    const buf = w.toBuffer()
    const rec = parseOutbound(buf)
    const got = rec.orders.map((o) => {
      const { offset: _offset, ...rest } = o
      if (rest.order === 'TEXT') return { order: 'TEXT', text: rest.text }
      return rest
    })
    t.strictSame(got, expected)
    // The screen model accepts whatever the builder produces and keeps its geometry.
    const screen = new Screen({ ...size, altRows: size.rows, altCols: size.cols }).apply(buf)
    const lines = screen.lines()
    if (lines.length !== size.rows || lines.some((l) => l.length !== size.cols)) return false
    return rec.command === { write: 'W', eraseWrite: 'EW', eraseWriteAlternate: 'EWA' }[cmd] && rec.wcc?.restore === restore
  }), { numRuns: 200 })
})

t.test('parsers and the screen never throw anything but DATASTREAM_MALFORMED', async t => {
  const only = (fn: () => unknown): boolean => {
    try { fn(); return true } catch (err) {
      if (isLbError(err, ErrorCodes.DATASTREAM_MALFORMED)) return true
      throw err
    }
  }
  const bytes = fc.uint8Array({ maxLength: 200 })
  // Random bytes, and random bytes behind each valid command/AID so the parsers get past byte 0.
  const prefixed = fc.tuple(fc.constantFrom(0xf1, 0xf5, 0x7e, 0xf3, 0x6f, 0x01, 0x05, 0x11), fc.constantFrom(0xc2, 0xc3, 0x00), bytes)
    .map(([c, w, rest]) => Uint8Array.of(c, w, ...rest))
  const inbound = fc.tuple(fc.constantFrom(...Object.values(Aid)), bytes).map(([a, rest]) => Uint8Array.of(a, ...rest))
  fc.assert(fc.property(fc.oneof(bytes, prefixed), (b) => {
    return only(() => parseOutbound(b)) &&
      only(() => new Screen({ rows: 24, cols: 80, altRows: 27, altCols: 132 }).apply(b)) &&
      only(() => new Screen({ rows: 62, cols: 160 }).apply(b))
  }), { numRuns: 3000 })
  fc.assert(fc.property(fc.oneof(bytes, inbound), (b) => only(() => parseInbound(b, { rows: 24, cols: 80 }))), { numRuns: 3000 })
  t.pass('no foreign exceptions')
})
