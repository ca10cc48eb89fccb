// RequestBook: what a half-session keeps of a received request until it answers it. Responses
// built from what the book kept must be the ones built from the request itself ("SNA Formats",
// GA27-3136, responses: TH addresses swapped, SNF and flow echoed, RH category/FI/DR1/DR2/QRI
// echoed, RU = request code, NS header or nothing; -RSP with 4 bytes of sense first), and the book
// must keep no view of the request's RU: a RU is a view of the link's read, and up to 256
// exception requests wait per session (bench/README.md, stalled sessions).
import t from 'tap'
import { buildNegativeResponse, buildPositiveResponse, encodePiu, requestRh, type Piu, type RequestRh, type ResponseMode } from '../../lib/sna/index.js'
import { RequestBook, respondTo } from '../../lib/sna/requests.js'

function request (over: { category?: RequestRh['category'], fi?: boolean, mode?: ResponseMode, qri?: boolean, efi?: boolean, odai?: boolean, snf?: number, ru?: Buffer }): Piu {
  const rh = requestRh({ category: over.category ?? 'FMD', fi: over.fi ?? false, mode: over.mode ?? 'RQE1', qri: over.qri ?? false })
  return { th: { mpf: 'whole', odai: over.odai ?? false, efi: over.efi ?? false, daf: 0x02, oaf: 0x01, snf: over.snf ?? 7 }, rh, ru: over.ru ?? Buffer.from([0xf5, 0xc3, 0x11, 0x40, 0x40]) }
}

t.test('responses from what the book kept equal responses built from the request', async t => {
  const cases: Array<Parameters<typeof request>[0]> = []
  for (const category of ['FMD', 'NC', 'DFC', 'SC'] as const) {
    for (const fi of [false, true]) {
      for (const mode of ['RQD1', 'RQD2', 'RQD3', 'RQE1', 'RQE3'] as const) {
        cases.push({ category, fi, mode, qri: fi, efi: category !== 'FMD' && mode === 'RQD1', odai: mode === 'RQE3', snf: 0xfffe })
      }
    }
  }
  for (const c of cases) {
    const piu = request(c)
    const exception = c.mode!.startsWith('RQE')
    const book = new RequestBook()
    book.trackReceived(piu, 'X')
    t.equal(book.owed(piu.th.snf, piu.th.efi), exception ? 'exception' : 'definite', `${JSON.stringify(c)}: owed`)
    const neg = respondTo(book, piu.th.snf, 0x08150000, { expedited: piu.th.efi })
    t.same(neg, encodePiu(buildNegativeResponse(piu, 0x08150000)), `${JSON.stringify(c)}: -RSP`)
    if (exception) continue
    book.trackReceived(piu, 'X')
    const pos = respondTo(book, piu.th.snf, true, { expedited: piu.th.efi, pacing: true })
    t.same(pos, encodePiu(buildPositiveResponse(piu, undefined, { pacing: true })), `${JSON.stringify(c)}: +RSP`)
  }
})

t.test('the book keeps no view of a request RU: later changes to the read do not reach the response', async t => {
  const read = Buffer.from([0x00, 0x81, 0x06, 0x20, 0x99, 0x99])
  const piu = request({ category: 'FMD', fi: true, mode: 'RQD1', ru: read.subarray(1, 5) })
  const expected = encodePiu(buildPositiveResponse(piu))
  const book = new RequestBook()
  book.trackReceived(piu, 'NS')
  for (const entry of book.received.values()) {
    for (const v of Object.values(entry)) t.not(typeof v, 'object', 'an entry holds no Buffer or object')
  }
  read.fill(0)
  t.same(respondTo(book, piu.th.snf, true, {}), expected, 'the NS header echoed is the one received')
})

t.test('a request RU shorter than its echo is still refused as before', async t => {
  const piu = request({ category: 'FMD', fi: true, mode: 'RQD1', ru: Buffer.from([0x81]) })
  const book = new RequestBook()
  book.trackReceived(piu, 'NS')
  t.throws(() => respondTo(book, piu.th.snf, true, {}), /NS request header/)
  book.trackReceived(piu, 'NS')
  t.same(respondTo(book, piu.th.snf, 0x10030000, {}), encodePiu(buildNegativeResponse(piu, 0x10030000)))
})

t.test('exception requests are remembered up to 256, oldest forgotten first, definite ones kept', async t => {
  const book = new RequestBook()
  book.trackReceived(request({ mode: 'RQD1', snf: 1 }), 'D')
  for (let snf = 2; snf < 302; snf++) book.trackReceived(request({ mode: 'RQE1', snf }), 'E')
  t.equal(book.received.size, 256)
  t.equal(book.owed(1, false), 'definite', 'the definite request is kept')
  t.equal(book.owed(2, false), undefined, 'the oldest exception requests are forgotten')
  t.equal(book.owed(46, false), undefined)
  t.equal(book.owed(47, false), 'exception')
  t.equal(book.owed(301, false), 'exception')
  t.equal(book.owed(301, true), undefined, 'flows are keyed apart')
  book.clearNormal()
  t.equal(book.received.size, 0)
})

t.test('with only definite requests waiting, a new exception request is not remembered', async t => {
  const book = new RequestBook()
  for (let snf = 1; snf <= 256; snf++) book.trackReceived(request({ mode: 'RQD1', snf }), 'D')
  book.trackReceived(request({ mode: 'RQE1', snf: 300 }), 'E')
  t.equal(book.owed(300, false), undefined)
  book.trackReceived(request({ mode: 'RQD1', snf: 301 }), 'D')
  t.equal(book.owed(301, false), 'definite', 'a definite request always is')
  t.equal(book.received.size, 257)
  book.trackReceived(request({ mode: 'RQE1', snf: 5, efi: true }), 'E')
  t.equal(book.owed(5, true), undefined)
  t.equal(book.owed(5, false), 'definite')
})

t.test('a book with a smaller exception limit (the gateway LU keeps one pacing window) forgets sooner, both ways', async t => {
  const book = new RequestBook(4)
  for (let snf = 1; snf <= 10; snf++) book.trackReceived(request({ mode: 'RQE1', snf }), 'E')
  t.equal(book.received.size, 4)
  t.equal(book.owed(6, false), undefined)
  t.equal(book.owed(7, false), 'exception')
  book.trackReceived(request({ mode: 'RQD1', snf: 11 }), 'D')
  t.equal(book.owed(11, false), 'definite')
  t.equal(book.owed(7, false), undefined, 'the oldest exception request made room')
  for (let snf = 1; snf <= 10; snf++) book.trackSent(request({ mode: 'RQE1', snf }), 'E', 'RQE1')
  t.equal(book.sent.size, 4)
  t.ok(book.sent.has(10) && !book.sent.has(6))
})
