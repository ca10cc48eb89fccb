// Pure parts of the sna host link: frame codec across arbitrary segmentation, HELLO rules, backoff.
import t from 'tap'
import fc from 'fast-check'
import {
  FrameDecoder, FrameType, encodeHello, encodePiu, encodePing, encodePong, encodeBye, makeHello, validateHello,
  backoffDelay, HEADER_LENGTH, MAX_HELLO, MAX_BYE, PROTOCOL, type Frame,
} from '../../lib/hostlink/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'

const gwHello = makeHello('gateway', 'gw1', [{ name: 'gw1a0001', locaddr: 2 }, { name: 'GW1A0002', locaddr: 3 }])

type Spec = { type: 'PIU', piu: Buffer } | { type: 'PING', id: number } | { type: 'PONG', id: number } | { type: 'BYE', reason: string } | { type: 'HELLO', hello: unknown }
const encode = (s: Spec): Buffer => s.type === 'PIU' ? encodePiu(s.piu) : s.type === 'PING' ? encodePing(s.id) : s.type === 'PONG' ? encodePong(s.id) : s.type === 'BYE' ? encodeBye(s.reason) : encodeHello(s.hello as object)

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map(a => ({ type: 'PIU', piu: Buffer.from(a) }) as Spec),
  fc.nat({ max: 0xffffffff }).map(id => ({ type: 'PING', id }) as Spec),
  fc.nat({ max: 0xffffffff }).map(id => ({ type: 'PONG', id }) as Spec),
  fc.string({ maxLength: 40 }).map(reason => ({ type: 'BYE', reason }) as Spec),
  fc.constant({ type: 'HELLO', hello: gwHello } as Spec),
)

function decodeAll (stream: Buffer, cuts: number[]): Frame[] {
  const d = new FrameDecoder()
  const out: Frame[] = []
  let prev = 0
  for (const c of [...cuts, stream.length]) {
    const r = d.push(stream.subarray(prev, c))
    if (r.error) throw r.error
    out.push(...r.frames)
    prev = c
  }
  return out
}

t.test('header layout: type byte, u32 big-endian payload length, payload', async t => {
  t.same([...encodePiu(Buffer.from([0x2c, 0x00, 0x01]))], [FrameType.PIU, 0, 0, 0, 3, 0x2c, 0x00, 0x01])
  t.same([...encodePing(0x01020304)], [FrameType.PING, 0, 0, 0, 4, 1, 2, 3, 4])
  t.same([...encodePong(0xffffffff)], [FrameType.PONG, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff])
  t.same([...encodeBye('x')], [FrameType.BYE, 0, 0, 0, 1, 0x78])
  t.equal(encodeBye('y'.repeat(5000)).length, HEADER_LENGTH + MAX_BYE, 'BYE reason truncated to the limit')
  const h = encodeHello(gwHello)
  t.equal(h[0], FrameType.HELLO)
  t.same(JSON.parse(h.subarray(HEADER_LENGTH).toString()), gwHello)
  t.equal(h.readUInt32BE(1), h.length - HEADER_LENGTH)
})

t.test('property: any frames, split anywhere, decode to the same frames', async t => {
  t.doesNotThrow(() => fc.assert(fc.property(
    fc.array(specArb, { minLength: 1, maxLength: 12 }),
    fc.array(fc.nat(), { maxLength: 20 }),
    (specs, rawCuts) => {
      const stream = Buffer.concat(specs.map(encode))
      const cuts = [...new Set(rawCuts.map(c => c % (stream.length + 1)))].sort((a, b) => a - b)
      const frames = decodeAll(stream, cuts)
      const want = specs.map(s => s.type === 'BYE' ? { type: 'BYE', reason: Buffer.from(s.reason).toString() } : s)
      return JSON.stringify(frames) === JSON.stringify(want)
    }), { numRuns: 300 }))
})

t.test('every single split point and byte-at-a-time feeding', async t => {
  const specs: Spec[] = [{ type: 'HELLO', hello: gwHello }, { type: 'PIU', piu: Buffer.from('2d0000010001', 'hex') }, { type: 'PING', id: 7 }, { type: 'PIU', piu: Buffer.alloc(1000, 0xaa) }, { type: 'BYE', reason: 'bye' }]
  const stream = Buffer.concat(specs.map(encode))
  let ok = 0
  for (let i = 0; i <= stream.length; i++) if (JSON.stringify(decodeAll(stream, [i])) === JSON.stringify(specs)) ok++
  t.equal(ok, stream.length + 1, `all ${stream.length + 1} two-piece splits decode identically`)
  const d = new FrameDecoder()
  const frames: Frame[] = []
  for (let i = 0; i < stream.length; i++) {
    frames.push(...d.push(stream.subarray(i, i + 1)).frames)
    if (i < stream.length - 1) t.ok(frames.length < specs.length)
  }
  t.same(frames, specs)
  t.equal(d.buffered, 0)
})

t.test('bad frames are rejected with HOSTLINK_FRAME, naming the problem, as soon as the header shows it', async t => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['unknown type', Buffer.from([0x7f, 0, 0, 0, 0]), /unknown frame type 0x7f/],
    ['empty PIU', Buffer.from([FrameType.PIU, 0, 0, 0, 0]), /PIU frame length 0 outside 1\.\.65536/],
    ['oversized PIU (header only)', Buffer.from([FrameType.PIU, 0, 1, 0, 1]), /PIU frame length 65537/],
    ['huge length', Buffer.from([FrameType.PIU, 0xff, 0xff, 0xff, 0xff]), /4294967295/],
    ['short PING', Buffer.from([FrameType.PING, 0, 0, 0, 3, 1, 2, 3]), /PING frame length 3, expected 4/],
    ['long PONG', Buffer.from([FrameType.PONG, 0, 0, 0, 5]), /PONG frame length 5, expected 4/],
    ['empty HELLO', Buffer.from([FrameType.HELLO, 0, 0, 0, 0]), /HELLO frame length 0/],
    ['oversized HELLO', Buffer.from([FrameType.HELLO, 0, 1, 0, 1]), new RegExp(`outside 1\\.\\.${MAX_HELLO}`)],
    ['oversized BYE', Buffer.from([FrameType.BYE, 0, 0, 4, 1]), /BYE frame length 1025/],
  ]
  for (const [name, bytes, re] of cases) {
    const d = new FrameDecoder()
    const good = encodePing(1)
    const r = d.push(Buffer.concat([good, bytes]))
    t.same(r.frames, [{ type: 'PING', id: 1 }], `${name}: frames before the bad one survive`)
    t.ok(isLbError(r.error, ErrorCodes.HOSTLINK_FRAME), `${name}: HOSTLINK_FRAME`)
    t.match(r.error?.message, re, name)
    const again = d.push(encodePing(2))
    t.equal(again.error, r.error, `${name}: the decoder stays failed`)
    t.same(again.frames, [])
  }
  const small = new FrameDecoder(100)
  t.match(small.push(Buffer.from([FrameType.PIU, 0, 0, 0, 101])).error?.message, /outside 1\.\.100 \(maxPiuSize\)/)
  const notJson = Buffer.concat([Buffer.from([FrameType.HELLO, 0, 0, 0, 3]), Buffer.from('{{{')])
  const r = new FrameDecoder().push(notJson)
  t.ok(isLbError(r.error, ErrorCodes.HOSTLINK_HELLO))
  t.match(r.error?.message, /not valid JSON/)
})

t.test('encodePiu refuses empty and oversized PIUs', async t => {
  t.throws(() => encodePiu(Buffer.alloc(0)), { code: ErrorCodes.HOSTLINK_FRAME, message: /empty PIU/ })
  t.throws(() => encodePiu(Buffer.alloc(11), 10), { code: ErrorCodes.HOSTLINK_FRAME, message: /11 bytes exceeds maxPiuSize 10/ })
  t.throws(() => encodeHello({ pad: 'x'.repeat(MAX_HELLO) }), { code: ErrorCodes.HOSTLINK_HELLO })
})

t.test('HELLO validation', async t => {
  t.same(gwHello, { protocol: PROTOCOL, version: 1, role: 'gateway', node: 'GW1', lus: [{ name: 'GW1A0001', locaddr: 2 }, { name: 'GW1A0002', locaddr: 3 }] })
  const host = makeHello('host', 'hosta')
  t.same(host, { protocol: PROTOCOL, version: 1, role: 'host', node: 'HOSTA' })
  t.same(validateHello(host, 'host', 'HostA'), host)
  t.same(makeHello('gateway', 'GW2').lus, [])
  const bad: Array<[unknown, 'gateway' | 'host', RegExp, string?]> = [
    [null, 'host', /not a JSON object/],
    [[1], 'host', /not a JSON object/],
    [{ ...host, protocol: 'x' }, 'host', /protocol "x", expected "tn3270-lb\/sna"/],
    [{ ...host, version: '1' }, 'host', /version "1" is not a whole number/],
    [{ ...host, version: 2 }, 'host', /unsupported protocol version 2; this node speaks version 1/],
    [{ ...host, role: 'gateway' }, 'host', /role "gateway", expected "host"/],
    [{ ...host, node: '1BAD' }, 'host', /node "1BAD" is not an SNA name/],
    [host, 'host', /node HOSTA, expected HOSTB/, 'HOSTB'],
    [{ ...host, lus: [] }, 'host', /host HELLO must not carry "lus"/],
    [{ ...gwHello, lus: undefined }, 'gateway', /no "lus" array/],
    [{ ...gwHello, lus: [7] }, 'gateway', /lus\[0\]\.name undefined/],
    [{ ...gwHello, lus: [{ name: 'A', locaddr: 0 }] }, 'gateway', /lus\[0\]\.locaddr 0 is not 1-255/],
    [{ ...gwHello, lus: [{ name: 'A', locaddr: 2.5 }] }, 'gateway', /locaddr 2\.5/],
    [{ ...gwHello, lus: [{ name: 'A', locaddr: 2 }, { name: 'A', locaddr: 3 }] }, 'gateway', /lus\[1\]: LU A listed twice/],
    [{ ...gwHello, lus: [{ name: 'A', locaddr: 2 }, { name: 'B', locaddr: 2 }] }, 'gateway', /lus\[1\]: locaddr 2 used twice/],
  ]
  for (const [raw, role, re, node] of bad) {
    t.throws(() => validateHello(raw, role, node), { code: ErrorCodes.HOSTLINK_HELLO, message: re })
  }
  t.throws(() => makeHello('gateway', 'bad name'), { code: ErrorCodes.HOSTLINK_HELLO }, 'our own config is checked too')
})

t.test('backoff: capped exponential, jitter ±50 %, within [min, max]', async t => {
  const mid = () => 0.5
  t.same([0, 1, 2, 3, 4, 5, 6, 10, 100].map(n => backoffDelay(n, 250, 10_000, mid)), [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000])
  t.equal(backoffDelay(3, 250, 10_000, () => 0), 1000, 'low jitter: half the base')
  t.equal(backoffDelay(3, 250, 10_000, () => 1), 3000, 'high jitter: 1.5 × base')
  t.equal(backoffDelay(0, 250, 10_000, () => 0), 250, 'never below min')
  t.equal(backoffDelay(9, 250, 10_000, () => 1), 10_000, 'never above max')
  t.equal(backoffDelay(-3, 250, 10_000, mid), 250)
  t.doesNotThrow(() => fc.assert(fc.property(fc.nat({ max: 200 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }),
    (n, min, extra, r) => {
      const max = min + extra
      const d = backoffDelay(n, min, max, () => r)
      return d >= min && d <= max && d >= backoffDelay(n, min, max, () => 0) && d <= backoffDelay(n, min, max, () => 1)
    })))
  t.throws(() => backoffDelay(0, 0, 10, mid), RangeError)
  t.throws(() => backoffDelay(0, 20, 10, mid), /reconnectMin <= reconnectMax/)
})
