// Device-type checks for printers, byte-exact from the server's side (RFC 2355 §7.1: DEVICE-TYPE
// REQUEST with CONNECT or ASSOCIATE, answered DEVICE-TYPE IS or DEVICE-TYPE REJECT REASON; codes
// in RFC 2355 §8: DEVICE-TYPE 02, IS 04, REJECT 06, REASON 05, ASSOCIATE 00, CONNECT 01), against
// a real demo gateway with printer pools (docs/printers.md), and the real pr3287 and s3270.
import t, { type Test } from 'tap'
import { connect } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pr3287 } from '../helpers/pr3287.js'
import { S3270 } from '../helpers/s3270.js'
import { startTestDemo } from '../helpers/e2e-gateway.js'

const IAC = 0xff
const SB = 0xfa
const SE = 0xf0
const TN3270E = 0x28
const hex = (b: Buffer): string => b.toString('hex').replace(/(..)/g, '$1 ').trim()
const ascii = (s: string): number[] => [...Buffer.from(s, 'ascii')]
/** IAC SB TN3270E <bytes> IAC SE. */
const sb = (...parts: Array<number | string>): Buffer => Buffer.from([IAC, SB, TN3270E, ...parts.flatMap(p => typeof p === 'string' ? ascii(p) : [p]), IAC, SE])

/**
 * Negotiates up to the device-type answer with the exact request bytes given; resolves with the
 * server's answer (the whole SB ... SE). A granted connection stays open (it holds its LU) until
 * the test ends; a refused one is closed, since it holds capacity promised at accept.
 */
async function deviceTypeAnswer (t: Test, port: number, request: Buffer): Promise<Buffer> {
  const sock = connect(port, '127.0.0.1')
  t.teardown(() => { sock.destroy() })
  let got = Buffer.alloc(0)
  let sent = false
  const sendDeviceType = sb(0x08, 0x02)
  return await new Promise((resolve, reject) => {
    sock.on('error', reject)
    sock.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk])
      if (got.includes(Buffer.from([IAC, 0xfd, TN3270E])) && !got.includes(Buffer.from([IAC, 0xfb, TN3270E])) && !sent) {
        sock.write(Buffer.from([IAC, 0xfb, TN3270E]))
      }
      const at = got.indexOf(sendDeviceType)
      if (at >= 0 && !sent) {
        sent = true
        got = got.subarray(at + sendDeviceType.length)
        sock.write(request)
        return
      }
      if (!sent) return
      const start = got.indexOf(Buffer.from([IAC, SB, TN3270E, 0x02]))
      const end = got.indexOf(Buffer.from([IAC, SE]), start)
      if (start < 0 || end < start) return
      const answer = got.subarray(start, end + 2)
      if (answer[4] === 0x06) sock.destroy()
      resolve(answer)
    })
  })
}

t.test('printer device types on a gateway with printer pools', async t => {
  const d = await startTestDemo(t, { printers: true })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const cases: Array<[string, Buffer, Buffer]> = [
    // pr3287 PR1A001@host: CONNECT a printer LU → IS IBM-3287-1 CONNECT PR1A001.
    ['printer type naming a printer LU',
      sb(0x02, 0x07, 'IBM-3287-1', 0x01, 'PR1A001'), sb(0x02, 0x04, 'IBM-3287-1', 0x01, 'PR1A001')],
    // A printer pool by name: the first free LU of it (PR1A001 is taken above).
    ['printer type naming the printer pool',
      sb(0x02, 0x07, 'IBM-3287-1', 0x01, 'HOSTAPRT'), sb(0x02, 0x04, 'IBM-3287-1', 0x01, 'PR1A002')],
    // s3270 naming a printer LU: TYPE-NAME-ERROR (05).
    ['display type naming a printer LU',
      sb(0x02, 0x07, 'IBM-3278-2-E', 0x01, 'PR1A001'), sb(0x02, 0x06, 0x05, 0x05)],
    ['display type naming the printer pool',
      sb(0x02, 0x07, 'IBM-3278-2-E', 0x01, 'HOSTAPRT'), sb(0x02, 0x06, 0x05, 0x05)],
    // pr3287 naming a display LU or a display pool: TYPE-NAME-ERROR.
    ['printer type naming a display LU',
      sb(0x02, 0x07, 'IBM-3287-1', 0x01, 'GW1A001'), sb(0x02, 0x06, 0x05, 0x05)],
    ['printer type naming a display pool',
      sb(0x02, 0x07, 'IBM-3287-1', 0x01, 'HOSTA'), sb(0x02, 0x06, 0x05, 0x05)],
    // ASSOCIATE (00) a printer LU: INV-ASSOCIATE (02); an unknown name: INV-NAME (03).
    ['ASSOCIATE naming a printer LU',
      sb(0x02, 0x07, 'IBM-3287-1', 0x00, 'PR1A002'), sb(0x02, 0x06, 0x05, 0x02)],
    ['ASSOCIATE naming no LU',
      sb(0x02, 0x07, 'IBM-3287-1', 0x00, 'NOSUCH'), sb(0x02, 0x06, 0x05, 0x03)],
    // ASSOCIATE a display whose printer (PR1A001, held by the first case) is taken: DEVICE-IN-USE (01).
    ['ASSOCIATE a display whose printer is in use',
      sb(0x02, 0x07, 'IBM-3287-1', 0x00, 'GW1A001'), sb(0x02, 0x06, 0x05, 0x01)],
  ]
  for (const [what, request, answer] of cases) {
    t.equal(hex(await deviceTypeAnswer(t, port, request)), hex(answer), what)
  }
})

t.test('ASSOCIATE a display with no associated printer: UNSUPPORTED-REQ', async t => {
  const d = await startTestDemo(t, { printers: false })
  const port = d.gateways[0]!.listenerPort('tn3270')
  t.equal(hex(await deviceTypeAnswer(t, port, sb(0x02, 0x07, 'IBM-3287-1', 0x00, 'GW1A001'))), hex(sb(0x02, 0x06, 0x05, 0x07)))
  // A generic printer request where the listener serves no printer pool: UNSUPPORTED-REQ as well.
  t.equal(hex(await deviceTypeAnswer(t, port, sb(0x02, 0x07, 'IBM-3287-1'))), hex(sb(0x02, 0x06, 0x05, 0x07)))
})

t.test('the real clients: pr3287 gets a printer LU by name and is refused a display LU; s3270 is refused a printer LU', async t => {
  const d = await startTestDemo(t, { printers: true })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-pr3287-'))
  const ok = Pr3287.start({ target: `PR1A002@127.0.0.1:${port}`, dir, trace: true })
  t.teardown(() => ok.close())
  await waitFor(() => ok.trace().includes('IS IBM-3287-1 CONNECT PR1A002'), 'pr3287 CONNECT PR1A002 granted')
  t.pass('pr3287 PR1A002@gateway: DEVICE-TYPE IS IBM-3287-1 CONNECT PR1A002')

  const dir2 = mkdtempSync(join(tmpdir(), 'tn3270lb-pr3287-'))
  const refused = Pr3287.start({ target: `GW1A001@127.0.0.1:${port}`, dir: dir2, trace: true })
  t.teardown(() => refused.close())
  await waitFor(() => /REJECT REASON TYPE-NAME-ERROR/.test(refused.trace()), 'pr3287 refused a display LU')
  t.pass('pr3287 GW1A001@gateway: DEVICE-TYPE REJECT REASON TYPE-NAME-ERROR')

  const trace = join(dir, 's3270.trc')
  const s = await S3270.start({ model: 2, extraArgs: ['-trace', '-tracefile', trace] })
  t.teardown(() => s.close())
  await s.connect(`PR1A001@127.0.0.1:${port}`).catch(() => undefined)
  const { readFileSync } = await import('node:fs')
  await waitFor(() => /REJECT REASON TYPE-NAME-ERROR/.test(readFileSync(trace, 'latin1')), 's3270 refused a printer LU')
  t.pass('s3270 PR1A001@gateway: DEVICE-TYPE REJECT REASON TYPE-NAME-ERROR')
})

async function waitFor (cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
