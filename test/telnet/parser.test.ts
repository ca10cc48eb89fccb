import t from 'tap'
import fc from 'fast-check'
import { TelnetParser, type TelnetEvent, Cmd, Opt, doubleIac, encodeRecord, commandName, optionName, verbFromCode } from '../../lib/telnet/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'
import { bytes } from './fixtures/peer.js'

const { IAC, SB, SE, WILL, WONT, DO, DONT, EOR, NOP, IP, AO, BRK, AYT } = Cmd

/** Merge adjacent data events so results can be compared across segmentations. */
function normalise (events: TelnetEvent[]): TelnetEvent[] {
  const out: TelnetEvent[] = []
  for (const e of events) {
    const last = out[out.length - 1]
    if (e.type === 'data' && last?.type === 'data') out[out.length - 1] = { type: 'data', data: Buffer.concat([last.data, e.data]) }
    else out.push(e)
  }
  return out
}
function parseWhole (b: Uint8Array, limits = {}): TelnetEvent[] { return normalise(new TelnetParser(limits).feed(b)) }
function parseSplit (b: Uint8Array, cuts: number[], limits = {}): TelnetEvent[] {
  const p = new TelnetParser(limits)
  const ev: TelnetEvent[] = []
  let prev = 0
  for (const c of [...cuts, b.length]) { ev.push(...p.feed(b.subarray(prev, c))); prev = c }
  return normalise(ev)
}
function parseBytewise (b: Uint8Array): TelnetEvent[] { return parseSplit(b, [...Array(b.length).keys()].slice(1)) }

const SAMPLE = bytes(
  'ab', IAC, IAC, 'c', IAC, EOR, // record "ab\xffc"
  IAC, WILL, Opt.TN3270E, IAC, DONT, Opt.ECHO, IAC, DO, Opt.TTYPE, IAC, WONT, 6,
  IAC, SB, Opt.TN3270E, 2, 7, 'IBM-3278-2-E', 1, 'LU01', IAC, SE,
  IAC, SB, Opt.TTYPE, 0, 'X', IAC, IAC, 'Y', IAC, SE, // 255 inside SB is doubled (RFC 855)
  IAC, NOP, IAC, IP, IAC, AO, IAC, BRK, IAC, AYT, IAC, 249, IAC, 248, IAC, 247, IAC, 242,
  0, 1, IAC, EOR,
)

const EXPECTED: TelnetEvent[] = [
  { type: 'data', data: bytes('ab', 0xff, 'c') },
  { type: 'eor' },
  { type: 'negotiate', verb: 'WILL', option: 40 },
  { type: 'negotiate', verb: 'DONT', option: 1 },
  { type: 'negotiate', verb: 'DO', option: 24 },
  { type: 'negotiate', verb: 'WONT', option: 6 },
  { type: 'subneg', option: 40, data: bytes(2, 7, 'IBM-3278-2-E', 1, 'LU01') },
  { type: 'subneg', option: 24, data: bytes(0, 'X', 0xff, 'Y') },
  { type: 'command', command: 'NOP', code: NOP },
  { type: 'command', command: 'IP', code: IP },
  { type: 'command', command: 'AO', code: AO },
  { type: 'command', command: 'BRK', code: BRK },
  { type: 'command', command: 'AYT', code: AYT },
  { type: 'command', command: 'GA', code: 249 },
  { type: 'command', command: 'EL', code: 248 },
  { type: 'command', command: 'EC', code: 247 },
  { type: 'command', command: 'DM', code: 242 },
  { type: 'data', data: bytes(0, 1) },
  { type: 'eor' },
]

t.test('parses every construct', async (t) => {
  t.same(parseWhole(SAMPLE), EXPECTED)
})

t.test('identical events for every single split point and byte-by-byte', async (t) => {
  for (let i = 0; i <= SAMPLE.length; i++) t.same(parseSplit(SAMPLE, [i]), EXPECTED, `split at ${i}`)
  t.same(parseBytewise(SAMPLE), EXPECTED)
})

t.test('data runs come out as single events within one chunk', async (t) => {
  const ev = new TelnetParser().feed(bytes('hello', IAC, EOR))
  t.same(ev, [{ type: 'data', data: bytes('hello') }, { type: 'eor' }])
})

t.test('record limit counts undoubled data since the last EOR', async (t) => {
  const p = new TelnetParser({ maxRecord: 4 })
  t.same(normalise(p.feed(bytes('ab', IAC, IAC, 'c', IAC, EOR))), [{ type: 'data', data: bytes('ab', 0xff, 'c') }, { type: 'eor' }])
  t.equal(p.pendingRecordLength, 0)
  p.feed(bytes('abcd'))
  t.equal(p.pendingRecordLength, 4)
  t.throws(() => p.feed(bytes('e')), { code: ErrorCodes.TELNET_RECORD_TOO_LONG })
  // split across chunks and across the doubled IAC
  const q = new TelnetParser({ maxRecord: 2 })
  q.feed(bytes('a', IAC))
  t.throws(() => q.feed(bytes(IAC, 'b')), { code: ErrorCodes.TELNET_RECORD_TOO_LONG })
})

t.test('subnegotiation limit', async (t) => {
  const p = new TelnetParser({ maxSubneg: 3 })
  t.same(p.feed(bytes(IAC, SB, 24, 1, 2, IAC, IAC, IAC, SE)), [{ type: 'subneg', option: 24, data: bytes(1, 2, 255) }])
  t.throws(() => p.feed(bytes(IAC, SB, 24, 1, 2, 3, 4)), { code: ErrorCodes.TELNET_SUBNEG_TOO_LONG, message: /option 24 exceeds 3 bytes/ })
  t.equal(new TelnetParser().feed(bytes(IAC, SB, 1, ...Buffer.alloc(1024), IAC, SE)).length, 1, 'default 1 KiB fits')
})

t.test('protocol errors', async (t) => {
  t.throws(() => new TelnetParser().feed(bytes(IAC, SE)), { code: ErrorCodes.TELNET_PROTOCOL })
  t.throws(() => new TelnetParser().feed(bytes(IAC, 1)), { code: ErrorCodes.TELNET_PROTOCOL })
  t.throws(() => new TelnetParser().feed(bytes(IAC, SB, 24, 0, IAC, NOP)), { code: ErrorCodes.TELNET_PROTOCOL, message: /inside subnegotiation/ })
})

t.test('codes helpers', async (t) => {
  t.same(doubleIac(bytes(1, 255, 2, 255)), bytes(1, 255, 255, 2, 255, 255))
  t.same(doubleIac(bytes(1, 2)), bytes(1, 2))
  t.equal(commandName(NOP), 'NOP')
  t.equal(commandName(SB), undefined)
  t.equal(optionName(Opt.TN3270E), 'TN3270E')
  t.equal(optionName(200), '200')
  t.equal(verbFromCode(DO), 'DO')
  t.equal(verbFromCode(NOP), undefined)
  t.same([Opt.BINARY, Opt.ECHO, Opt.SGA, Opt.TIMING_MARK, Opt.TTYPE, Opt.EOR, Opt.NAWS, Opt.NEW_ENVIRON, Opt.TN3270E, Opt.STARTTLS], [0, 1, 3, 6, 24, 25, 31, 39, 40, 46])
  t.same([IAC, DONT, DO, WONT, WILL, SB, SE, EOR], [255, 254, 253, 252, 251, 250, 240, 239])
})

// A well-formed stream generator: data (with 255 doubled), EORs, commands, negotiations, subnegs.
const item = fc.oneof(
  fc.uint8Array({ maxLength: 20 }).map((d) => ({ wire: doubleIac(d), ev: d.length > 0 ? [{ type: 'data', data: Buffer.from(d) }] : [] })),
  fc.constant({ wire: bytes(IAC, EOR), ev: [{ type: 'eor' }] }),
  fc.constantFrom(NOP, IP, AO, BRK, AYT).map((c) => ({ wire: bytes(IAC, c), ev: [{ type: 'command', command: commandName(c), code: c }] })),
  fc.tuple(fc.constantFrom(WILL, WONT, DO, DONT), fc.integer({ min: 0, max: 255 })).map(([v, o]) => ({ wire: bytes(IAC, v, o), ev: [{ type: 'negotiate', verb: verbFromCode(v), option: o }] })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 30 })).map(([o, d]) => ({ wire: bytes(IAC, SB, o, doubleIac(d), IAC, SE), ev: [{ type: 'subneg', option: o, data: Buffer.from(d) }] })),
)

t.test('property: well-formed streams parse to the generated events under any segmentation', async (t) => {
  fc.assert(fc.property(fc.array(item, { maxLength: 15 }), fc.array(fc.nat(), { maxLength: 6 }), (items, rawCuts) => {
    const wire = Buffer.concat(items.map((i) => i.wire))
    const expected = normalise(items.flatMap((i) => i.ev) as TelnetEvent[])
    const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b)
    t.same(parseWhole(wire), expected)
    t.same(parseSplit(wire, cuts), expected)
    t.same(parseBytewise(wire), expected)
  }), { numRuns: 300 })
})

t.test('property: random bytes never throw anything but a Tn3270LbError, identically under splitting', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (b, cut) => {
    const run = (f: () => TelnetEvent[]): string => { try { f(); return 'ok' } catch (err) { if (!isLbError(err)) throw err; return err.code } }
    const whole = run(() => parseWhole(b, { maxSubneg: 16, maxRecord: 64 }))
    const split = run(() => parseSplit(b, [cut % (b.length + 1)], { maxSubneg: 16, maxRecord: 64 }))
    t.equal(split, whole)
  }), { numRuns: 500 })
})

t.test('feedEach stops right after the event the reader refuses more after, at an event boundary', async (t) => {
  // Stop after every kind of event in turn; the rest fed again must give the same events.
  const all = new TelnetParser().feed(SAMPLE)
  for (let k = 0; k < all.length; k++) {
    const p = new TelnetParser()
    const got: TelnetEvent[] = []
    const used = p.feedEach(SAMPLE, (ev) => { got.push(ev); return got.length <= k })
    t.ok(used <= SAMPLE.length)
    t.same(normalise([...got, ...p.feed(SAMPLE.subarray(used))]), EXPECTED, `stop after event ${k} (${all[k]!.type}) at byte ${used}`)
  }
  // Stopping after a data run leaves the IAC that ended it unread.
  const p = new TelnetParser()
  const used = p.feedEach(bytes('xy', IAC, NOP), () => false)
  t.equal(used, 2)
  t.same(p.feed(bytes(IAC, NOP)), [{ type: 'command', command: 'NOP', code: NOP }])
  t.equal(new TelnetParser().feedEach(bytes('plain'), () => false), 5, 'a run at the end of the chunk: all of it used')
})

// RFC 854: IAC doubled in data; RFC 885: IAC EOR ends a record; RFC 2355 §8.1: the 5-byte header
// goes before the data. encodeRecord builds it in one allocation; the parser reads it back.
t.test('encodeRecord: header and data with IAC doubled, then IAC EOR; the parser gives the same bytes back', async t => {
  const head = Buffer.from([0x00, 0x00, 0x02, 0x00, 0xff])
  const data = Buffer.from([0xff, 0xf1, 0xc2, 0xff, 0xff, 0x40])
  const rec = encodeRecord(data, head)
  t.same([...rec], [0x00, 0x00, 0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0xf1, 0xc2, 0xff, 0xff, 0xff, 0xff, 0x40, 0xff, 0xef])
  t.same([...encodeRecord(Buffer.from([0x7d]))], [0x7d, 0xff, 0xef], 'no header, no IAC')
  const p = new TelnetParser()
  const evs = p.feed(rec)
  t.same(Buffer.concat(evs.filter(e => e.type === 'data').map(e => (e as { data: Buffer }).data)), Buffer.concat([head, data]))
  t.equal(evs.at(-1)!.type, 'eor')
})
