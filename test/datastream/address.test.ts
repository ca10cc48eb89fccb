import t from 'tap'
import { addressModeFor, addressOf, CODE_TABLE, decodeAddress, encodeAddress, rowColOf } from '../../lib/datastream/index.js'
import { malformedMessage } from './fixtures/util.js'

// Address vectors from x3270 DECODE_BADDR and real traces (GA23-0059 "Buffer Addressing").
const vectors: Array<[string, number, 12 | 14]> = [
  ['4040', 0, 12],
  ['d94c', 1612, 12],
  ['c37e', 254, 12],
  ['5cf6', 1846, 12],
  ['1388', 5000, 14],
]

t.test('reference vectors decode and encode exactly', async t => {
  for (const [hexBytes, addr, mode] of vectors) {
    const b = Buffer.from(hexBytes, 'hex')
    t.equal(decodeAddress(b[0] as number, b[1] as number), addr, `${hexBytes} → ${addr}`)
    t.equal(Buffer.from(encodeAddress(addr, mode)).toString('hex'), hexBytes, `${addr} → ${hexBytes} (${mode}-bit)`)
  }
  t.same(rowColOf(1612, 80), { row: 20, col: 12 })
  t.same(rowColOf(254, 80), { row: 3, col: 14 })
  t.equal(addressOf(20, 12, 80), 1612)
})

t.test('code table is the 64 entries of GA23-0059 (x3270 code_table)', async t => {
  t.equal(CODE_TABLE.length, 64)
  t.equal(new Set(CODE_TABLE).size, 64, 'no duplicates')
  t.equal(CODE_TABLE[0], 0x40)
  t.equal(CODE_TABLE[63], 0x7f)
  for (const b of CODE_TABLE) t.not(b & 0xc0, 0, 'never looks like a 14-bit first byte')
})

t.test('mode selection and limits', async t => {
  t.equal(addressModeFor(24 * 80), 12)
  t.equal(addressModeFor(4096), 12)
  t.equal(addressModeFor(62 * 160), 14)
  t.equal(encodeAddress(1612).length, 2, 'default 12-bit')
  t.match(malformedMessage(() => encodeAddress(4096, 12)), /4096 does not fit 12-bit/)
  t.match(malformedMessage(() => encodeAddress(16384, 14)), /16384 does not fit 14-bit/)
  t.match(malformedMessage(() => encodeAddress(-1)), /not a non-negative integer/)
  t.match(malformedMessage(() => encodeAddress(1.5)), /not a non-negative integer/)
  t.same(encodeAddress(16383, 14), [0x3f, 0xff])
})
