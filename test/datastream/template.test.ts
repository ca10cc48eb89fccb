// RecordTemplate (ScreenWriter#slot / #toTemplate) and encodeInto: the fast encoders give exactly
// the bytes of ScreenWriter#text and encode() (IBM "3270 Data Stream Programmer's Reference",
// GA23-0059: text bytes that would be orders become X'3F' SUB; lib/datastream/ebcdic.ts for the
// code pages).
import t from 'tap'
import { CODE_PAGES, RecordTemplate, ScreenWriter, encode, encodeInto, latin1Table } from '../../lib/datastream/index.js'
import { malformedMessage } from './fixtures/util.js'

/** Texts that exercise every path: ASCII, Latin-1, order bytes, above U+00FF, surrogate pairs whole and broken. */
const TEXTS = [
  '', 'RECORD 17 OF 20000', 'Grüße, £5 ¬ ¦ ÿ', 'A\u0011B\u0000\u001c\u001e\u003f', '€ and \u{1F600}!',
  '\u{1F600}', 'lone high \ud83d at the end \ud83d', 'lone low \ude00 here', '\u00ff\u0100\uffff',
  Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join(''),
]

t.test('encodeInto writes what encode() returns, in every code page', async t => {
  for (const cp of CODE_PAGES) {
    for (const text of TEXTS) {
      const out = Buffer.alloc(text.length + 4, 0xee)
      const end = encodeInto(text, out, 2, latin1Table(cp))
      t.same(out.subarray(2, end), encode(text, cp), `${cp} ${JSON.stringify(text)}`)
      t.equal(out[0], 0xee, 'nothing before the offset')
    }
    t.same(encode('€', cp, 0x6f), Buffer.from([0x6f]), 'a chosen substitute')
  }
})

t.test('a template fills to the bytes ScreenWriter#text writes', async t => {
  for (const cp of CODE_PAGES) {
    const template = new ScreenWriter({ cp }).write({ restore: true }).sba(3, 0).sf({ protected: true }).slot()
      .sba(5, 4).sf({}).slot().sba(5, 6).ic().toTemplate()
    t.equal(template.slots, 2)
    t.equal(template.firstSlotOffset, 7, 'W, WCC, SBA + address, SF + attribute before the first slot')
    for (const a of TEXTS) {
      for (const b of ['', 'x', TEXTS[4]!]) {
        const expected = new ScreenWriter({ cp }).write({ restore: true }).sba(3, 0).sf({ protected: true }).text(a)
          .sba(5, 4).sf({}).text(b).sba(5, 6).ic().toBuffer()
        t.same(template.fill([a, b]), expected, `${cp} ${JSON.stringify(a)} / ${JSON.stringify(b)}`)
      }
    }
  }
  const none = new ScreenWriter().eraseWrite().sba(0, 0).ic().toTemplate()
  t.equal(none.slots, 0)
  t.equal(none.fill([]).toString('hex'), 'f540' + '114040' + '13', 'a template without slots is the record')
  t.equal(new ScreenWriter().write().slot().toTemplate().fill(['AB']).toString('hex'), 'f140c1c2', 'a slot at the end')
})

t.test('template misuse is a clear DATASTREAM_MALFORMED', async t => {
  const template = new ScreenWriter().write().slot().toTemplate()
  t.match(malformedMessage(() => template.fill([])), /0 texts for 1 slots/)
  t.match(malformedMessage(() => template.fill(['a', 'b'])), /2 texts for 1 slots/)
  t.match(malformedMessage(() => new ScreenWriter().slot()), /text slot before a command/)
  t.match(malformedMessage(() => new ScreenWriter().toTemplate()), /no command/)
  t.match(malformedMessage(() => new ScreenWriter().writeStructuredField().slot()), /not allowed after the WSF command/)
  t.match(malformedMessage(() => new ScreenWriter().write().slot().toBuffer()), /is a template/)
  t.type(template, RecordTemplate)
})
