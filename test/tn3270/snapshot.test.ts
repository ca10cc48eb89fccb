// The negotiation snapshot codec (lib/tn3270/snapshot.ts; layout in docs/tn3270.md): hex
// vectors built from the RFC 2355 device-type examples and an RFC 1646-era `@NAME` terminal
// type, round trips, and every malformed input a reader must refuse with a clear error.
import t from 'tap'
import fc from 'fast-check'
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_VERSION, type NegotiationSnapshot } from '../../lib/tn3270/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import { Opt } from '../../lib/telnet/index.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex')

// RFC 2355 device-type example: DEVICE-TYPE REQUEST IBM-3278-5-E CONNECT myterm, with the
// client's WILL TN3270E in force (option 40 = 0x28, remote side = flag 0x02).
const E_SNAPSHOT: NegotiationSnapshot = {
  mode: 'tn3270e',
  options: [{ option: Opt.TN3270E, local: false, remote: true }],
  request: { deviceType: 'IBM-3278-5-E', connect: 'myterm' },
}
const E_BYTES = hex(`01 01 01 28 02 0015 02 07 ${ascii('IBM-3278-5-E')} 01 ${ascii('myterm')} 0000 0000`)

// TN3270 after one refused name: TTYPE IS IBM-3279-2-E@LU02, BINARY both ways (flags 0x03).
const T_SNAPSHOT: NegotiationSnapshot = {
  mode: 'tn3270',
  options: [{ option: Opt.BINARY, local: true, remote: true }, { option: Opt.TTYPE, local: false, remote: true }],
  terminalType: 'IBM-3279-2-E@LU02',
  previousTerminalType: 'IBM-3279-2-E@LU01',
  lastRefusal: 'LU01 in use',
}
const T_BYTES = hex(`01 00 02 00 03 18 02 0012 00 ${ascii('IBM-3279-2-E@LU02')} 0011 ${ascii('IBM-3279-2-E@LU01')} 000b ${ascii('LU01 in use')}`)

t.test('hex vectors both ways', async (t) => {
  t.equal(SNAPSHOT_VERSION, 1)
  t.equal(encodeSnapshot(E_SNAPSHOT).toString('hex'), E_BYTES.toString('hex'))
  t.same(decodeSnapshot(E_BYTES), E_SNAPSHOT)
  t.equal(encodeSnapshot(T_SNAPSHOT).toString('hex'), T_BYTES.toString('hex'))
  t.same(decodeSnapshot(T_BYTES), T_SNAPSHOT)
  // A generic request (RFC 2355 example: DEVICE-TYPE REQUEST IBM-3278-2) and a printer ASSOCIATE.
  const generic = hex(`01 01 01 28 02 000c 02 07 ${ascii('IBM-3278-2')} 0000 0000`)
  t.same(decodeSnapshot(generic), { mode: 'tn3270e', options: [{ option: 40, local: false, remote: true }], request: { deviceType: 'IBM-3278-2' } })
  const assoc: NegotiationSnapshot = { mode: 'tn3270e', options: [{ option: 40, local: false, remote: true }], request: { deviceType: 'IBM-3287-1', associate: 'LU01' } }
  t.equal(encodeSnapshot(assoc).toString('hex'), `010101280200110207${ascii('IBM-3287-1')}00${ascii('LU01')}00000000`)
  const bare: NegotiationSnapshot = { mode: 'tn3270', options: [], terminalType: 'IBM-DYNAMIC' }
  t.same(decodeSnapshot(encodeSnapshot(bare)), bare, 'absent history fields stay absent')
})

t.test('property: any valid snapshot survives the round trip', async (t) => {
  const name = fc.stringMatching(/^[A-Z0-9@#$.-]{1,16}$/)
  const options = fc.uniqueArray(fc.record({ option: fc.nat(255), local: fc.boolean(), remote: fc.boolean() }).filter((o) => o.local || o.remote), { selector: (o) => o.option, maxLength: 8 })
  const e = fc.record({
    mode: fc.constant('tn3270e' as const),
    options,
    request: fc.oneof(
      fc.record({ deviceType: name }),
      fc.record({ deviceType: name, connect: name }),
      fc.record({ deviceType: name, associate: name }),
    ),
  })
  const tt = fc.record({
    mode: fc.constant('tn3270' as const),
    options,
    terminalType: name,
    previousTerminalType: fc.option(name, { nil: undefined }),
    lastRefusal: fc.option(fc.stringMatching(/^[ -~]{1,40}$/), { nil: undefined }),
  }).map((s) => JSON.parse(JSON.stringify(s)) as NegotiationSnapshot)
  fc.assert(fc.property(fc.oneof(e, tt), (s: NegotiationSnapshot) => {
    t.same(decodeSnapshot(encodeSnapshot(s)), s)
  }), { numRuns: 300 })
})

t.test('malformed input is refused with what is wrong', async (t) => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['empty', hex(''), /truncated at offset 0 \(version\)/],
    ['version 2', hex('02 01 00 0000 0000 0000'), /unsupported version 2 \(this build reads 1\)/],
    ['unknown mode', hex('01 07 00 0000 0000 0000'), /unknown mode 0x7/],
    ['options cut short', hex('01 01 02 28 02 18'), /truncated at offset 6 \(option flags\)/],
    ['option with no side', hex('01 01 01 28 00 0000 0000 0000'), /option 40 has flags 0x0/],
    ['option with unknown flag', hex('01 01 01 28 06 0000 0000 0000'), /option 40 has flags 0x6/],
    ['option twice', hex('01 01 02 28 02 28 01 0000 0000 0000'), /option 40 listed twice/],
    ['request longer than the rest', hex('01 01 01 28 02 00ff 0207'), /request of 255 bytes but only 2 left/],
    ['no history fields', E_BYTES.subarray(0, E_BYTES.length - 4), /truncated at offset 28 \(previous terminal type length\)/],
    ['trailing bytes', Buffer.concat([E_BYTES, hex('00')]), /1 bytes after the last field/],
    ['TN3270E with history', hex(`01 01 01 28 02 000c 02 07 ${ascii('IBM-3278-2')} 0001 41 0000`), /a TN3270E snapshot carries no terminal-type history/],
    ['TN3270E body is not a request', hex('01 01 01 28 02 0002 08 02 0000 0000'), /request is send-device-type, not a DEVICE-TYPE REQUEST/],
    ['TN3270E body malformed', hex('01 01 01 28 02 0002 02 07 0000 0000'), /request body: malformed TN3270E subnegotiation \(empty device-type\)/],
    ['TN3270 body is SEND', hex('01 00 01 18 02 0001 01 0000 0000'), /request is TERMINAL-TYPE SEND, not IS/],
    ['TN3270 name with a space', hex(`01 00 01 18 02 0004 00 ${ascii('A B')} 0000 0000`), /request body: terminal type contains byte 0x20/],
    ['history with a control byte', hex(`01 00 01 18 02 0002 00 41 0001 07 0000`), /previous terminal type contains byte 0x7/],
  ]
  for (const [name, buf, re] of cases) {
    t.throws(() => decodeSnapshot(buf), { code: ErrorCodes.TN3270_SNAPSHOT_MALFORMED, message: re }, name)
  }
})

t.test('the encoder refuses what no client could have sent', async (t) => {
  const bad: Array<[string, NegotiationSnapshot, RegExp]> = [
    ['CONNECT and ASSOCIATE', { ...E_SNAPSHOT, request: { deviceType: 'IBM-3287-1', connect: 'A', associate: 'B' } }, /CONNECT or ASSOCIATE, not both/],
    ['empty device type', { ...E_SNAPSHOT, request: { deviceType: '' } }, /empty device-type/],
    ['a separator inside the type', { ...E_SNAPSHOT, request: { deviceType: 'IBM\x01X' } }, /fields must be printable ASCII/],
    ['option out of range', { ...E_SNAPSHOT, options: [{ option: 256, local: true, remote: false }] }, /option 256 out of range/],
    ['option twice', { ...E_SNAPSHOT, options: [{ option: 40, local: false, remote: true }, { option: 40, local: true, remote: false }] }, /option 40 listed twice/],
    ['option with no side', { ...E_SNAPSHOT, options: [{ option: 40, local: false, remote: false }] }, /neither side/],
    ['name with a space', { ...T_SNAPSHOT, terminalType: 'IBM 3278' }, /terminal type contains byte 0x20/],
    ['refusal with a newline', { ...T_SNAPSHOT, lastRefusal: 'a\nb' }, /last refusal must be 1 or more printable ASCII/],
    ['empty previous', { ...T_SNAPSHOT, previousTerminalType: '' }, /previous terminal type must be 1 or more/],
  ]
  for (const [name, s, re] of bad) t.throws(() => encodeSnapshot(s), { code: ErrorCodes.TN3270_SNAPSHOT_MALFORMED, message: re }, name)
  const many = Array.from({ length: 256 }, (_, option) => ({ option, local: true, remote: true }))
  t.throws(() => encodeSnapshot({ ...E_SNAPSHOT, options: many }), { message: /256 options \(at most 255\)/ })
})
