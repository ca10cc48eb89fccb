// The s3270 driver against a tiny hand-written TN3270 server: proves (a) records built by
// ScreenWriter render in a real 3270 client, (b) what the client sends parses with parseInbound,
// (c) the driver's queue, quoting, status parsing, refused-connection handling and timeouts.

import t from 'tap'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseInbound, ScreenWriter, type InboundRecord } from '../../lib/datastream/index.js'
import { freePort } from '../helpers/ports.js'
import { quoteArg, S3270, statusFields } from '../helpers/s3270.js'

const IAC = 0xff
const SB = 0xfa
const SE = 0xf0
const WILL = 0xfb
const DO = 0xfd
const EOR = 0xef
const TTYPE = 24
const OPT_EOR = 25
const BINARY = 0

/** Plain TN3270 server (the order Hercules and go3270 use, RFC 1576): DO TTYPE, SB TTYPE SEND, DO/WILL EOR, DO/WILL BINARY, then a screen. */
interface TinyServer {
  server: Server
  port: number
  terminalTypes: string[]
  records: InboundRecord[]
  sockets: Socket[]
  nextRecord: () => Promise<InboundRecord>
  send: (record: Buffer) => void
}

function frame (record: Buffer): Buffer {
  const out: number[] = []
  for (const b of record) { out.push(b); if (b === IAC) out.push(IAC) } // RFC 854 IAC doubling
  return Buffer.from([...out, IAC, EOR]) // RFC 885 end of record
}

async function tinyServer (firstScreen: Buffer, opts: { negotiate?: boolean } = {}): Promise<TinyServer> {
  const waiters: Array<(r: InboundRecord) => void> = []
  const s: TinyServer = {
    server: createServer(),
    port: 0,
    terminalTypes: [],
    records: [],
    sockets: [],
    nextRecord: async () => await new Promise((resolve) => { waiters.push(resolve) }),
    send: (record) => { for (const sock of s.sockets) sock.write(frame(record)) },
  }
  s.server.on('connection', (sock) => {
    s.sockets.push(sock)
    sock.on('error', () => {})
    if (opts.negotiate === false) return // accept and say nothing
    sock.write(Buffer.of(IAC, DO, TTYPE))
    let buf = Buffer.alloc(0)
    let inRecord: number[] = []
    let in3270 = false
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      let i = 0
      while (i < buf.length) {
        const b = buf[i] as number
        if (b !== IAC) { if (in3270) inRecord.push(b); i++; continue }
        if (i + 1 >= buf.length) break
        const c = buf[i + 1] as number
        if (c === IAC) { inRecord.push(IAC); i += 2 } else if (c === EOR) {
          const rec = parseInbound(Buffer.from(inRecord), { rows: 24, cols: 80 })
          inRecord = []
          s.records.push(rec)
          waiters.shift()?.(rec)
          i += 2
        } else if (c === SB) {
          const end = buf.indexOf(Buffer.of(IAC, SE), i)
          if (end < 0) break
          const sub = buf.subarray(i + 2, end)
          if (sub[0] === TTYPE && sub[1] === 0) {
            s.terminalTypes.push(sub.subarray(2).toString('latin1'))
            // TTYPE learned: agree EOR and BINARY both ways, then the first screen.
            sock.write(Buffer.of(IAC, DO, OPT_EOR, IAC, WILL, OPT_EOR, IAC, DO, BINARY, IAC, WILL, BINARY))
            sock.write(frame(firstScreen))
            in3270 = true
          }
          i = end + 2
        } else if (c >= 0xfb && c <= 0xfe) {
          if (i + 2 >= buf.length) break
          if (c === WILL && buf[i + 2] === TTYPE) sock.write(Buffer.of(IAC, SB, TTYPE, 1, IAC, SE)) // SB TTYPE SEND
          i += 3
        } else {
          i += 2
        }
      }
      buf = buf.subarray(i)
    })
  })
  await new Promise<void>((resolve) => { s.server.listen(0, '127.0.0.1', resolve) })
  s.port = (s.server.address() as { port: number }).port
  return s
}

function stopServer (s: TinyServer): void {
  for (const sock of s.sockets) sock.destroy()
  s.server.close()
}

const screen = new ScreenWriter({ rows: 24, cols: 80 })
  .eraseWrite({ restore: true, resetMdt: true })
  .field(0, 0, 'TN3270-LB DATASTREAM TEST', { protected: true, intensified: true })
  .field(2, 0, 'RECORD 17 OF 500', { protected: true })
  .sba(4, 0).sf({ protected: true }).text('NAME:')
  .inputField(4, 6, 10)
  .sba(5, 0).sf({ protected: true }).text('PASS:')
  .inputField(5, 6, 8, { hidden: true, initial: 'SECRET' })
  .sba(23, 0).sf({ skip: true }).text('PF3=END')
  .cursorAt(4, 7)
  .toBuffer()

t.test('statusFields and quoteArg', async t => {
  t.same(statusFields('U F P C(127.0.0.1) I 2 24 80 0 0 0x0 0.176'), {
    keyboard: 'U', formatted: true, protected: true, connection: 'C(127.0.0.1)', connected: true, host: '127.0.0.1',
    mode: 'I', model: 2, rows: 24, cols: 80, cursorRow: 0, cursorCol: 0, window: '0x0', time: 0.176,
  })
  t.match(statusFields('L U U N N 4 43 80 0 0 0x0 -'), { connected: false, connection: 'N', rows: 43, keyboard: 'L', formatted: false })
  t.throws(() => statusFields('garbage'), /not a status line/)
  t.equal(quoteArg('127.0.0.1:23'), '127.0.0.1:23')
  t.equal(quoteArg('BAD,LU01@127.0.0.1:23'), '"BAD,LU01@127.0.0.1:23"')
  t.equal(quoteArg('say "hi" \\'), '"say \\"hi\\" \\\\"')
})

t.test('ScreenWriter output renders in real s3270; its Enter parses with parseInbound', async t => {
  const srv = await tinyServer(screen)
  const s = await S3270.start({ model: 2 })
  t.teardown(async () => { await s.close(); stopServer(srv) })

  const c = await s.connect(`127.0.0.1:${srv.port}`)
  t.ok(c.ok, `connected: ${c.data.join(' / ')}`)
  t.match(statusFields(c.status), { connected: true, mode: 'I', formatted: true, rows: 24, cols: 80, keyboard: 'U' })
  t.match(srv.terminalTypes[0], /^IBM-327[89]-2/)
  t.equal(await s.query('ConnectionState'), 'connected-3270')
  const rows = await s.ascii()
  t.equal(rows.length, 24)
  t.equal(rows[0]?.trim(), 'TN3270-LB DATASTREAM TEST')
  t.equal(rows[2]?.trim(), 'RECORD 17 OF 500')
  t.equal(rows[4]?.trimEnd(), ' NAME:')
  t.notOk(rows.join('\n').includes('SECRET'), 'hidden field not displayed by the real client either')
  t.equal(rows[23]?.trim(), 'PF3=END')
  const st = statusFields(s.lastStatus)
  t.same([st.cursorRow, st.cursorCol], [4, 7], 'IC placed the cursor')

  t.ok((await s.string('ALICE')).ok)
  // An AID action completes in s3270 only when the host unlocks the keyboard: answer it.
  const got = srv.nextRecord()
  const entered = s.enter()
  const rec = await got
  t.equal(rec.aid, 'ENTER')
  t.equal(rec.cursor, 4 * 80 + 12, 'cursor after the typed text')
  t.same(rec.fields.map((f) => [f.address, f.text]), [[4 * 80 + 7, 'ALICE']], 'only the modified field')
  srv.send(new ScreenWriter().write({ restore: true }).field(2, 0, 'RECORD 18 OF 500').toBuffer())
  t.ok((await entered).ok)
  t.equal((await s.ascii())[2]?.trim(), 'RECORD 18 OF 500')

  const pf = srv.nextRecord()
  const pressed = s.pf(3)
  t.match(await pf, { aid: 'PF3', fields: [] })
  srv.send(new ScreenWriter().write({ restore: true }).toBuffer())
  t.ok((await pressed).ok)
  t.equal((await s.ascii())[2]?.trim(), 'RECORD 18 OF 500')
  // waitOutput blocks until a later, unsolicited write arrives.
  setTimeout(() => { srv.send(new ScreenWriter().write({ restore: true }).field(2, 0, 'RECORD 19 OF 500').toBuffer()) }, 700)
  const t0 = Date.now()
  t.ok((await s.waitOutput(5)).ok)
  t.ok(Date.now() - t0 >= 300, 'waited for the output')
  t.equal((await s.ascii())[2]?.trim(), 'RECORD 19 OF 500')
  const pa = srv.nextRecord()
  const pressedPa = s.pa(1)
  t.match(await pa, { aid: 'PA1', shortRead: true })
  srv.send(new ScreenWriter().write({ restore: true }).toBuffer())
  t.ok((await pressedPa).ok)
  const d = await s.disconnect()
  t.ok(d.ok)
  t.equal(statusFields(d.status).connected, false)
})

t.test('queue: concurrent commands run one at a time, in order', async t => {
  const s = await S3270.start()
  t.teardown(async () => { await s.close() })
  const results = await Promise.all([s.query('ConnectionState'), s.run('Ascii(0,0,1,5)'), s.query('Model')])
  t.equal(results[0], 'not-connected')
  t.same(results[1].data, ['     '])
  t.match(results[2], /3279-2/)
  t.ok(s.running)
})

t.test('a commas-containing LU list is quoted and reaches the server as TTYPE @LU', async t => {
  const srv = await tinyServer(screen)
  const s = await S3270.start()
  t.teardown(async () => { await s.close(); stopServer(srv) })
  const r = await s.connect(`LU01,LU02@127.0.0.1:${srv.port}`)
  t.ok(r.ok, r.data.join(' / '))
  t.match(srv.terminalTypes[0], /@LU01$/)
})

t.test('refused connection: a clean failure, garbage line ignored, no hang', async t => {
  const port = await freePort()
  const s = await S3270.start()
  t.teardown(async () => { await s.close() })
  const started = Date.now()
  const r = await s.connect(`127.0.0.1:${port}`)
  t.equal(r.ok, false)
  t.match(r.data.join(' '), /Connection failed/)
  t.match(statusFields(r.status), { connected: false, connection: 'N' }, 'status is the real status line, not the garbage line')
  t.ok(Date.now() - started < 10_000)
  t.equal(await s.query('ConnectionState'), 'not-connected', 'driver still usable')
})

t.test('a command that overruns its timeout kills s3270 and rejects with a message', async t => {
  const srv = await tinyServer(screen, { negotiate: false }) // accepts, never negotiates: Connect() blocks
  const s = await S3270.start({ commandTimeoutMs: 1500 })
  t.teardown(async () => { await s.close(); stopServer(srv) })
  const first = s.connect(`127.0.0.1:${srv.port}`)
  const queued = s.query('ConnectionState') // waits behind Connect
  await t.rejects(first, /Connect\(127\.0\.0\.1:\d+\) timed out after 1500 ms; killed s3270/)
  await t.rejects(queued, /s3270 killed by SIGKILL/, 'the queued command fails too')
  await t.rejects(s.run('Ascii'), /killed by SIGKILL; cannot run Ascii/)
  t.equal(s.running, false)
})

t.test('close() kills a client that ignores Quit; bad binaries and actions fail clearly', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-s3270-'))
  const fake = join(dir, 'stubborn.sh')
  writeFileSync(fake, '#!/bin/sh\ntrap "" TERM\nexec sleep 30\n')
  chmodSync(fake, 0o755)
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const stubborn = await S3270.start({ bin: fake })
  const t0 = Date.now()
  await stubborn.close(300)
  t.equal(stubborn.running, false)
  t.ok(Date.now() - t0 < 20_000, 'killed, not waited for (the stub sleeps 30 s)')
  await stubborn.close() // idempotent
  await t.rejects(S3270.start({ bin: join(dir, 'missing') }), /cannot start/)
  const s = await S3270.start()
  t.teardown(async () => { await s.close() })
  await t.rejects(s.run('two\nlines'), /one action per line/)
  const bad = await s.run('NoSuchAction()')
  t.equal(bad.ok, false)
  t.ok(bad.data.length > 0, `error text: ${bad.data.join(' / ')}`)
  t.equal(typeof s.pid, 'number')
})
