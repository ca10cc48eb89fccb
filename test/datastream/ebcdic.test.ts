import t from 'tap'
import { execFileSync } from 'node:child_process'
import { CODE_PAGES, decode, decodeByte, encode, encodeChar, isCodePage, EBCDIC_SUBSTITUTE, type CodePage } from '../../lib/datastream/index.js'
import { malformedMessage } from './fixtures/util.js'

// Independent references on this machine: Python's cp037 and cp273 codecs (cp037 equal to x3270's
// table, x3270 Common/unicode.c) and glibc iconv for every CCSID (Python has no cp1047 or cp285).
// The overline of cp273 (X'BC') and cp285 (X'A1') is U+00AF in our tables, as in x3270 and iconv
// IBM273; iconv IBM285 and Python's cp273 give U+203E for the same character, so those two
// references are compared with that one code point mapped (lib/datastream/ebcdic.ts).
const ALL = Buffer.from(Array.from({ length: 256 }, (_, i) => i))

function pythonTable (codec: string): number[] {
  const out = execFileSync('python3', ['-c',
    `import sys; sys.stdout.write(','.join(str(ord(c)) for c in bytes(range(256)).decode('${codec}')))`]).toString()
  return out.split(',').map(Number)
}

function iconvTable (ccsid: string): number[] {
  const out = execFileSync('iconv', ['-f', ccsid, '-t', 'UTF-32BE'], { input: ALL })
  const cps: number[] = []
  for (let i = 0; i < out.length; i += 4) cps.push(out.readUInt32BE(i))
  return cps
}

/** U+203E OVERLINE read as U+00AF MACRON (the Latin-1 form x3270 uses for the same EBCDIC character). */
const overlineAsMacron = (cps: number[]): number[] => cps.map((cp) => cp === 0x203e ? 0x00af : cp)

const references: Array<{ cp: CodePage; source: string; table: () => number[] }> = [
  { cp: 'cp037', source: 'python3 cp037', table: () => pythonTable('cp037') },
  { cp: 'cp037', source: 'iconv IBM037', table: () => iconvTable('IBM037') },
  { cp: 'cp1047', source: 'iconv IBM1047', table: () => iconvTable('IBM1047') },
  { cp: 'cp273', source: 'iconv IBM273', table: () => iconvTable('IBM273') },
  { cp: 'cp273', source: 'python3 cp273 (overline as U+00AF)', table: () => overlineAsMacron(pythonTable('cp273')) },
  { cp: 'cp285', source: 'iconv IBM285 (overline as U+00AF)', table: () => overlineAsMacron(iconvTable('IBM285')) },
]

for (const ref of references) {
  t.test(`${ref.cp} equals ${ref.source} for all 256 entries, both ways`, async t => {
    const expected = ref.table()
    t.equal(expected.length, 256)
    const decoded = decode(ALL, ref.cp)
    let bad = 0
    for (let b = 0; b < 256; b++) {
      const cp = expected[b] as number
      if (decoded.codePointAt(b) !== cp) { bad++; t.fail(`decode X'${b.toString(16)}' → U+${decoded.codePointAt(b)?.toString(16)} expected U+${cp.toString(16)}`) }
      const back = encode(String.fromCodePoint(cp), ref.cp)
      if (back.length !== 1 || back[0] !== b) { bad++; t.fail(`encode U+${cp.toString(16)} → ${back.toString('hex')} expected ${b.toString(16)}`) }
    }
    t.equal(bad, 0, 'no mismatches')
    t.same(encode(decoded, ref.cp), ALL, 'whole-table round trip')
  })
}

t.test('key values of IBM CCSID 37 (x3270 cp037 table)', async t => {
  t.equal(encode('HELLO').toString('hex'), 'c8c5d3d3d6')
  const pairs: Array<[string, number]> = [[' ', 0x40], ['.', 0x4b], ['<', 0x4c], ['(', 0x4d], ['+', 0x4e], ['|', 0x4f],
    ['&', 0x50], ['!', 0x5a], ['$', 0x5b], ['*', 0x5c], [')', 0x5d], [';', 0x5e], ['¬', 0x5f], ['-', 0x60], ['/', 0x61],
    [',', 0x6b], ['%', 0x6c], ['_', 0x6d], ['>', 0x6e], ['?', 0x6f], ['`', 0x79], [':', 0x7a], ['#', 0x7b], ['@', 0x7c],
    ["'", 0x7d], ['=', 0x7e], ['"', 0x7f], ['¢', 0x4a], ['~', 0xa1], ['^', 0xb0], ['[', 0xba], [']', 0xbb], ['{', 0xc0],
    ['}', 0xd0], ['\\', 0xe0], ['A', 0xc1], ['I', 0xc9], ['J', 0xd1], ['R', 0xd9], ['S', 0xe2], ['Z', 0xe9],
    ['a', 0x81], ['i', 0x89], ['j', 0x91], ['r', 0x99], ['s', 0xa2], ['z', 0xa9], ['0', 0xf0], ['9', 0xf9]]
  for (const [ch, b] of pairs) {
    t.equal(encodeChar(ch), b, `cp037 '${ch}'`)
    t.equal(decodeByte(b), ch)
  }
  // cp1047 differs exactly where IBM says: ^ [ ] ¬ Ý ¨
  t.equal(encode('^[]', 'cp1047').toString('hex'), '5fadbd')
  t.equal(decode(Buffer.from('b0babb', 'hex'), 'cp1047'), '¬Ý¨')
  // cp273: the German letters; cp285: pound and dollar
  t.equal(encode('ÄÖÜäöüß§', 'cp273').toString('hex'), '4ae05ac06ad0a17c')
  t.equal(encode('£$', 'cp285').toString('hex'), '5b4a')
  t.equal(decode(Buffer.from('4a5b', 'hex'), 'cp037'), '¢$')
})

t.test('every code page is a bijection on U+0000-U+00FF: bytes survive decode then encode in any of them', async t => {
  for (const cp of CODE_PAGES) t.same(encode(decode(ALL, cp), cp), ALL, cp)
  // Read with the wrong page and written back with that same page, bytes are unchanged too.
  t.same(encode(decode(Buffer.from('4ae05ac0', 'hex'), 'cp037'), 'cp037').toString('hex'), '4ae05ac0')
})

t.test('unmappable characters become the documented substitute, never a throw', async t => {
  t.equal(EBCDIC_SUBSTITUTE, 0x3f)
  t.equal(encode('A€B😀C').toString('hex'), 'c13fc23fc3', 'astral char counts as one character')
  t.equal(encode('€', 'cp037', 0x6f).toString('hex'), '6f', 'caller-chosen substitute')
  t.equal(encodeChar('€'), undefined)
  t.equal(decode(Buffer.alloc(0)), '')
})

t.test('code page names', async t => {
  t.same(CODE_PAGES, ['cp037', 'cp1047', 'cp273', 'cp285'])
  t.ok(isCodePage('cp1047'))
  t.notOk(isCodePage('cp500'))
  t.match(malformedMessage(() => decode(ALL, 'cp500' as CodePage)), /unknown code page 'cp500'/)
})
