// The pure halves of lib/tls: telling a TLS ClientHello from telnet on the first bytes (RFC 8446
// §5.1 record header), and the server side of the TELNET START_TLS exchange
// (draft-altman-telnet-starttls-02) with the byte orders real clients use.
import t from 'tap'
import { checkClientHello, commandLength, FOLLOWS, StartTlsServer, START_TLS_FOLLOWS, START_TLS_OFFER, type StartTlsOutcome } from '../../lib/tls/index.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('ClientHello detection on the first three bytes', async t => {
  t.equal(checkClientHello(hex('16 03 01 02 00 01')), 'hello', 'TLS 1.2/1.3 ClientHello record (legacy version 0x0301)')
  t.equal(checkClientHello(hex('16 03 03')), 'hello')
  t.equal(checkClientHello(hex('16 03 00')), 'hello', 'SSL 3.0 record version')
  t.equal(checkClientHello(hex('16 03 05')), 'not-hello', 'no such minor version')
  t.equal(checkClientHello(hex('ff fb 28')), 'not-hello', 'IAC WILL TN3270E')
  t.equal(checkClientHello(hex('16 04')), 'not-hello')
  t.equal(checkClientHello(Buffer.alloc(0)), 'need-more')
  t.equal(checkClientHello(hex('16')), 'need-more')
  t.equal(checkClientHello(hex('16 03')), 'need-more')
})

t.test('START_TLS bytes (draft §2: option 46, FOLLOWS 1)', async t => {
  t.equal(START_TLS_OFFER.toString('hex'), 'fffd2e')
  t.equal(START_TLS_FOLLOWS.toString('hex'), 'fffa2e01fff0')
  t.equal(FOLLOWS, 1)
})

function run (chunks: string[]): { out: StartTlsOutcome[], machine: StartTlsServer } {
  const machine = new StartTlsServer()
  const out = [...machine.start()]
  for (const c of chunks) out.push(...machine.receive(hex(c)))
  return { out, machine }
}

t.test('x3270 order: WILL and FOLLOWS together, then the ClientHello after the server FOLLOWS', async t => {
  const { out, machine } = run(['fffb2e fffa2e01fff0'])
  t.same(out, [
    { type: 'send', bytes: START_TLS_OFFER },
    { type: 'send', bytes: START_TLS_FOLLOWS },
    { type: 'tls', rest: Buffer.alloc(0) },
  ])
  t.ok(machine.finished)
  t.same(machine.receive(hex('16')), [], 'nothing after the end')
})

t.test('draft order, split anywhere, with the ClientHello in the same chunk', async t => {
  const { out } = run(['ff', 'fb', '2e', 'fffa2e', '01ff', 'f0160301'])
  t.match(out.at(-1), { type: 'tls', rest: hex('160301') })
  t.equal(out.filter(o => o.type === 'send').length, 2)
})

t.test('WONT: declined, other telnet commands kept for a plain session', async t => {
  const { out } = run(['fffb18 fffc2e fffd19'])
  t.same(out.at(-1), { type: 'declined', replay: hex('fffb18 fffd19'), why: 'the client answered WONT START_TLS' })
})

t.test('a client that speaks first is not a START_TLS client', async t => {
  t.match(run(['4142']).out.at(-1), { type: 'declined', replay: hex('4142'), why: /sent data/ })
  t.match(run(['160301']).out.at(-1), { type: 'error', message: /ClientHello/ })
})

t.test('protocol errors', async t => {
  t.match(run(['fffa2e01fff0']).out.at(-1), { type: 'error', message: /before WILL/ })
  t.match(run(['fffb2e fffa2e02fff0']).out.at(-1), { type: 'error', message: /02 is not FOLLOWS/ })
  t.match(run(['fffb2e fffa2efff0']).out.at(-1), { type: 'error', message: /\(empty\) is not FOLLOWS/ })
  t.match(run(['fffb2e 41']).out.at(-1), { type: 'error', message: /where START_TLS FOLLOWS was expected/ })
  t.match(run([`fffb2e fffa18${'41'.repeat(1100)}`]).out.at(-1), { type: 'error', message: /first 1024 bytes/ }, 'an endless subnegotiation is cut off')
  const idle = new StartTlsServer()
  t.same(idle.receive(hex('fffb2e')), [], 'nothing before start()')
})

t.test('commandLength (RFC 854, RFC 855)', async t => {
  t.equal(commandLength(hex('41')), -1)
  t.equal(commandLength(hex('ff')), 0)
  t.equal(commandLength(hex('fffb')), 0)
  t.equal(commandLength(hex('fffb18')), 3)
  t.equal(commandLength(hex('fff1')), 2, 'IAC NOP')
  t.equal(commandLength(hex('fffa18fffff0')), 0, 'IAC IAC inside SB is data, SE still to come')
  t.equal(commandLength(hex('fffa18ffff01fff0')), 8)
})
