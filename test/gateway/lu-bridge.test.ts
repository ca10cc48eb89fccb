// LuBridge's pacing on a scripted dependent LU and client session: fixed pacing grants with an IPR,
// adaptive pacing with a solicited IPM ("SNA Formats", GA27-3136); the host's IPMs open the
// gateway's own send windows; a request beyond the window gets -RSP with the 2011 sense the
// pacing rules name; pacing messages that break the rules are logged, never answered.
import t, { type Test } from 'tap'
import { EventEmitter } from 'node:events'
import pino from 'pino'
import { gatewaySchema, loadConfig } from '../../lib/config/index.js'
import type { ClientBinding } from '../../lib/gateway/index.js'
import { LuBridge } from '../../lib/gateway/lu-bridge.js'
import { createGatewayMetrics, Registry } from '../../lib/observability/index.js'
import type { BindImage, DependentLu, Ipm, SendDataOpts } from '../../lib/sna/index.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { buildInbound, decode } from '../../lib/datastream/index.js'

class FakeSocket extends EventEmitter {
  writableLength = 0
  destroyed = false
  closed = false
  write (_data: Buffer, cb?: () => void): boolean { if (cb !== undefined) queueMicrotask(cb); return true }
  corks = 0
  cork (): void { this.corks++ }
  uncork (): void {}
  pause (): this { return this }
  resume (): this { return this }
}

class FakeSession extends EventEmitter {
  readonly socket = new FakeSocket()
  readonly client = '192.0.2.1:1000'
  mode: 'tn3270e' | 'tn3270' = 'tn3270e'
  readonly functions = new Set(['RESPONSES'])
  readonly rows = 24
  readonly cols = 80
  closed = false
  closedWith: string | undefined
  readonly records: Buffer[] = []
  readonly sscp: Buffer[] = []
  private seq = 0
  corked = 0
  send3270 (data: Buffer, opts: { response?: boolean } = {}): number | undefined {
    this.records.push(data)
    return opts.response === true ? ++this.seq : undefined
  }
  sendSscpLuData (data: Buffer): void {
    // As Tn3270ServerSession: SSCP-LU-DATA only with BIND-IMAGE (RFC 2355 §10.1).
    if (!this.functions.has('BIND-IMAGE')) throw new Error('cannot send SSCP-LU-DATA: BIND-IMAGE was not negotiated with the client')
    this.sscp.push(data)
  }
  sendBindImage (): void {}
  sendUnbind (): void {}
  close (reason: string): void { this.closed = true; this.closedWith = reason; this.emit('close', reason) }
}

/**
 * A socket whose write queue empties only when the test says the client read it: each write's
 * callback runs once it and everything before it left (as net.Socket's do), and no 'drain' comes
 * unless the queue went over the socket's own high-water mark, which a window of records does not.
 */
class QueueSocket extends FakeSocket {
  private readonly queue: Array<{ bytes: number, cb: (() => void) | undefined }> = []
  override write (data: Buffer, cb?: () => void): boolean {
    this.queue.push({ bytes: data.length, cb })
    this.writableLength += data.length
    return true
  }
  /** The client read `bytes` (default: everything queued). */
  flush (bytes = Infinity): void {
    let left = bytes
    while (this.queue.length > 0 && this.queue[0]!.bytes <= left) {
      const w = this.queue.shift()!
      left -= w.bytes
      this.writableLength -= w.bytes
      w.cb?.()
    }
  }
}

class QueueSession extends FakeSession {
  override readonly socket = new QueueSocket()
  override send3270 (data: Buffer, opts: { response?: boolean } = {}): number | undefined {
    this.socket.write(data)
    return super.send3270(data, opts)
  }
}

/** A dependent LU in session with the host; records what the bridge sends. */
class FakeLu extends EventEmitter {
  readonly name = 'LU1'
  state = 'in-session'
  attached = false
  bindImage = undefined
  readonly luLu = { isBound: false, state: 'reset' }
  readonly iprs: number[] = []
  readonly ipms: Ipm[] = []
  readonly responses: Array<[number, true | number]> = []
  readonly sent: Array<{ ru: Buffer, opts: SendDataOpts }> = []
  readonly sscpSent: Buffer[] = []
  unbindFails = false
  /** SNF detach() gives its NOTIFY(disabled); undefined = none sent (no SSCP-LU session). */
  notifySnf: number | undefined
  /** A NOTIFY(disabled) is unanswered (DependentLu.detaching). */
  detaching = false
  signals = 0
  sendSscpData (ru: Buffer): number { this.sscpSent.push(ru); return 1 }
  attach (): void { this.attached = true }
  detach (): number | undefined { this.attached = false; this.detaching = this.notifySnf !== undefined; return this.notifySnf }
  sendSignal (): number { return ++this.signals }
  sendUnbind (): void {
    if (this.unbindFails) throw new Error('link down')
    this.luLu.isBound = false
  }
  sendIpr (): void { this.iprs.push(1) }
  sendIpm (ipm: Ipm): void { this.ipms.push(ipm) }
  sendResponse (snf: number, r: true | number): void { this.responses.push([snf, r]) }
  sendData (ru: Buffer, opts: SendDataOpts): number { this.sent.push({ ru, opts }); return this.sent.length }
}

function bindImage (adaptive: boolean, window = 2, maxRu = 256): BindImage {
  return {
    pacing: { secondarySendWindow: window, secondaryReceiveWindow: window, primarySendWindow: window, primaryReceiveWindow: window, adaptive },
    maxPrimarySendRu: maxRu,
    maxSecondarySendRu: 256,
  } as unknown as BindImage
}

/** Lets nextTicks, microtasks and immediates run (the bridge's batch and credit checks). */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
}

function bridge (t: Test, raw: Record<string, unknown> = {}, opts: { queueSocket?: boolean, flushHost?: () => void } = {}) {
  const config = loadConfig(gatewaySchema, { base: { keepalive: { method: 'none' }, ...raw } })
  const clock = new FakeClock()
  const lines: Array<Record<string, any>> = []
  const session = opts.queueSocket === true ? new QueueSession() : new FakeSession()
  const lu = new FakeLu()
  const binding = {
    session,
    lease: { lu: 'LU1', pool: 'P', host: 'H' },
    lu: { name: 'LU1', pool: 'P', host: 'H' },
    logger: pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)) } }),
    onEnd: () => {},
  } as unknown as ClientBinding
  const b = new LuBridge(binding, lu as unknown as DependentLu, { config, metrics: createGatewayMetrics(new Registry()), clock, ...(opts.flushHost === undefined ? {} : { flushHost: opts.flushHost }) })
  const done = b.run()
  t.teardown(() => { b.end('test over') })
  const host = (snf: number, pi: boolean, text = `R${snf}`, more: Record<string, unknown> = {}): void => {
    lu.emit('data', { ru: Buffer.from([0xf1, 0xc3, ...Buffer.from(text)]), rh: { rlwi: false }, chain: 'only', definite: false, snf, pacing: pi, ...more })
  }
  return { b, lu, session, lines, host, clock, done }
}

t.test('fixed pacing: the next window is granted with an IPR once the client has credit', async t => {
  const { lu, session, host, b } = bridge(t)
  lu.emit('bind', bindImage(false))
  host(1, true)
  t.equal(session.records.length, 1, 'delivered at once (a drained client has credit)')
  t.equal(lu.iprs.length, 1, 'IPR sent')
  t.same(lu.ipms, [], 'no IPM under fixed pacing')
  t.match(b.pacingStatus(), { window: 2, adaptive: false, held: 0 })
})

t.test('the pacing response goes to the host before the window\'s records go to the client, flushed at once (KB Q181737)', async t => {
  const order: string[] = []
  const { lu, session, host } = bridge(t, {}, { flushHost: () => { order.push('flush') } })
  const sendIpr = lu.sendIpr.bind(lu)
  lu.sendIpr = () => { order.push('ipr'); sendIpr() }
  const send3270 = session.send3270.bind(session)
  session.send3270 = (data: Buffer, o?: { response?: boolean }) => { order.push('record'); return send3270(data, o) }
  lu.emit('bind', bindImage(false, 2))
  host(1, true)
  t.same(order, ['ipr', 'flush', 'record'], 'IPR, host link flushed, then the record')
  host(2, false)
  t.same(order, ['ipr', 'flush', 'record', 'record'], 'no flush without a pacing response')
})

t.test('credit checks: none per record under fixed pacing, and never a busy loop while nothing is written', async t => {
  for (const adaptive of [false, true]) {
    const { lu, session, host } = bridge(t)
    let emptyWrites = 0
    const write = session.socket.write.bind(session.socket)
    session.socket.write = (data: Buffer, cb?: () => void) => { if (data.length === 0) emptyWrites++; return write(data, cb) }
    lu.emit('bind', bindImage(adaptive, 2))
    host(1, true)
    host(2, false)
    for (let i = 0; i < 20; i++) await settle()
    // Fixed pacing: the next pacing request reads the queue itself. Adaptive: one check after the
    // window's records (the reset rule), and it does not come back while nothing more is written.
    t.ok(emptyWrites <= (adaptive ? 2 : 0), `${adaptive ? 'adaptive' : 'fixed'}: ${emptyWrites} flush checks`)
    t.equal(session.records.length, 2)
  }
})

t.test('adaptive pacing: grants are solicited IPMs; a request beyond the window gets -RSP(2011 0000) and is not delivered', async t => {
  const { lu, session, host, lines, b } = bridge(t)
  lu.emit('bind', bindImage(true))
  t.match(b.pacingStatus(), { window: 2, adaptive: true })
  host(1, true)
  // Adaptive pacing lets the receiver size the next window (GA27-3136 IPM): byte credit pays for
  // 64 KiB / (256 + 7) = 249 requests of the BIND's max RU; one is delivered and one more of the
  // current window may still come, so the next window is 247.
  t.same(lu.ipms, [{ type: 'solicited', rwi: false, nws: 247 }], 'solicited IPM with the next window byte credit pays for')
  t.same(lu.iprs, [], 'no IPR on an adaptive session')
  host(2, false)
  host(3, false)
  t.same(lu.responses, [[3, 0x20110000]], 'negative response with the sense the decision names')
  t.equal(session.records.length, 2, 'the request beyond the window was not passed on')
  t.match(lines.find(l => l.level === 40), { sense: '20110000', code: 'TN3270LB_ERR_PACING_VIOLATION' })
})

t.test('adaptive pacing, gateway to host: the host\'s IPMs open windows; an unsolicited IPM is acknowledged; rule breaks are logged', async t => {
  const { lu, session, lines } = bridge(t)
  lu.emit('bind', bindImage(true))
  for (const seq of [1, 2, 3]) session.emit('data', { type: '3270-DATA', data: Buffer.from([0x7d, 0x40, 0x40, seq]), seq })
  t.equal(lu.sent.length, 2, 'one window of 2 sent')
  t.equal(lu.sent[0]!.opts.pacing, true, 'the first of the window carries PI')
  lu.emit('ipm', { type: 'solicited', rwi: false, nws: 3 })
  t.equal(lu.sent.length, 3, 'the host\'s solicited IPM opened the next window')
  t.equal(lu.sent[2]!.opts.pacing, true)
  lu.emit('ipm', { type: 'unsolicited', rwi: true, nws: 0 })
  t.same(lu.ipms.at(-1), { type: 'reset-ack', rwi: false, nws: 0 }, 'reset acknowledged')
  const before = lines.length
  lu.emit('ipr')
  lu.emit('ipm', { type: 'reset-ack', rwi: false, nws: 0 })
  const warned = lines.slice(before).filter(l => l.level === 40)
  t.match(warned, [{ sense: '20110003' }, { sense: '20110001' }], 'an IPR on an adaptive session and an unasked reset-ack are logged')
  t.equal(lu.responses.length, 0, 'a pacing response is never answered with a response')
})

t.test('pacing messages before any BIND are ignored; UNBIND drops the session\'s pacing', async t => {
  const { lu, b } = bridge(t)
  lu.emit('ipr')
  lu.emit('ipm', { type: 'solicited', rwi: false, nws: 3 })
  t.same(lu.ipms, [])
  lu.emit('bind', bindImage(true))
  lu.emit('unbind', 1)
  t.match(b.pacingStatus(), { window: 0, adaptive: false })
})

t.test('before any BIND: chains become one record; definite responses answered by the client or by the gateway', async t => {
  const { lu, session } = bridge(t)
  lu.emit('data', { ru: Buffer.from([0xf5, 0xc3]), rh: { rlwi: false }, chain: 'first', definite: false, snf: 1, pacing: false })
  lu.emit('data', { ru: Buffer.from('AB'), rh: { rlwi: false }, chain: 'last', definite: true, snf: 2, pacing: false })
  t.same(session.records, [Buffer.from([0xf5, 0xc3, 0x41, 0x42])], 'one record for the chain')
  session.emit('response', { seq: 1, positive: false, code: 1 })
  t.same(lu.responses, [[2, 0x08020000]], 'TN3270E INTERVENTION-REQUIRED becomes sense 0802 (RFC 2355 §10.4)')
  session.emit('response', { seq: 99, positive: true, code: 0 })
  t.equal(lu.responses.length, 1, 'a response to nothing asked is ignored')
  session.functions.delete('RESPONSES')
  lu.emit('data', { ru: Buffer.from([0xf1, 0xc2]), rh: { rlwi: false }, chain: 'only', definite: true, snf: 3, pacing: false })
  t.same(lu.responses.at(-1), [3, true], 'the client cannot answer: the gateway does')
})

t.test('SSCP-LU session: SSCP data to the client (TN3270E data type or a USS screen), typed text back; SYSREQ switches sessions', async t => {
  const { lu, session, b } = bridge(t)
  lu.state = 'active'
  const ebcdicHello = Buffer.from([0xc8, 0xc5, 0xd3, 0xd3, 0xd6])
  session.functions.add('BIND-IMAGE')
  lu.emit('sscpData', ebcdicHello)
  t.same(session.sscp, [ebcdicHello], 'TN3270E with BIND-IMAGE: SSCP-LU-DATA')
  session.functions.delete('BIND-IMAGE')
  session.mode = 'tn3270'
  lu.emit('sscpData', ebcdicHello)
  t.equal(session.records.at(-1)![0], 0xf5, 'plain TN3270: an Erase/Write screen with the text')
  session.emit('data', { type: 'SSCP-LU-DATA', data: Buffer.from([0xd3, 0xd6]), seq: 0 })
  t.same(lu.sscpSent, [Buffer.from([0xd3, 0xd6])])
  session.emit('data', { type: '3270-DATA', data: buildInbound({ aid: 'ENTER', cursor: 405, fields: [{ address: 405, text: 'LOGON APPLID(DEMO)' }], rows: 24, cols: 80 }), seq: 0 })
  t.equal(decode(lu.sscpSent.at(-1)!), 'LOGON APPLID(DEMO)', 'typed text from the USS screen, as EBCDIC')
  session.emit('data', { type: '3270-DATA', data: Buffer.from([0x7d, 0x11]), seq: 0 })
  t.equal(lu.sscpSent.length, 2, 'an unreadable record sends nothing')
  lu.state = 'in-session'
  lu.emit('bind', bindImage(false))
  session.emit('sysreq')
  session.emit('data', { type: '3270-DATA', data: buildInbound({ aid: 'ENTER', cursor: 0, fields: [{ address: 0, text: 'LOGOFF' }], rows: 24, cols: 80 }), seq: 0 })
  t.equal(decode(lu.sscpSent.at(-1)!), 'LOGOFF', 'after SYSREQ, input goes to the SSCP')
  session.emit('sysreq')
  t.same(lu.sent[0], { ru: Buffer.from('04082b0000', 'hex'), opts: { beginChain: true, endChain: true, changeDirection: true, pacing: true, category: 'DFC' } },
    'back on the LU-LU session: LUSTAT X\'082B\' so the application repaints')
  session.emit('data', { type: '3270-DATA', data: Buffer.from([0x7d, 0x40, 0x40]), seq: 0 })
  t.equal(lu.sent.length, 2, 'after the second SYSREQ, back on the LU-LU session')
  session.emit('attn')
  t.equal(lu.signals, 1, 'ATTN in session: SIGNAL')
  lu.state = 'inactive'
  session.emit('attn')
  t.equal(lu.signals, 1, 'ATTN without an LU-LU session: nothing to signal')
  session.emit('data', { type: 'SSCP-LU-DATA', data: Buffer.from([0xd3]), seq: 0 })
  t.equal(lu.sscpSent.length, 3, 'nothing to an inactive LU')
  t.equal(b.luName, 'LU1')
})

t.test('window held for a client without credit: delivered together (one corked write) when credit returns', async t => {
  const { lu, session, host, b } = bridge(t)
  session.socket.writableLength = 1_000_000
  lu.emit('bind', bindImage(false, 3))
  host(1, true)
  host(2, false)
  t.equal(session.records.length, 0, 'held: no credit')
  t.match(b.pacingStatus(), { held: 2, owed: true, clientQueuedBytes: 1_000_000 })
  t.equal(lu.iprs.length, 0, 'no IPR without credit')
  session.socket.writableLength = 0
  session.socket.emit('drain')
  t.equal(session.records.length, 2)
  t.equal(session.socket.corks, 1, 'both records in one write')
  t.equal(lu.iprs.length, 1, 'and the IPR once the client can take a whole window')
})

// The bench found it: window 63, max RU 3840, the default 64 KiB high-water mark. The whole window
// went to a client that read it slowly; the one credit check ran while part of it was still
// queued, found too little room for another window, and nothing looked again once the rest left
// (no 'drain' below the socket's own mark): the host waited for its pacing response for good.
t.test('window 63 of max-size RUs: once the client has read what it was sent, the host gets its pacing response', async t => {
  const { lu, session, host, b } = bridge(t, {}, { queueSocket: true })
  const socket = session.socket as QueueSocket
  lu.emit('bind', bindImage(false, 63, 3840))
  for (let snf = 1; snf <= 63; snf++) host(snf, snf === 1, `RECORD ${snf} OF 63`.padEnd(90, '.'))
  await settle()
  t.equal(session.records.length, 63, 'the whole window went to the client')
  t.equal(lu.iprs.length, 0, 'no pacing response while it is still queued')
  socket.flush(Math.floor(socket.writableLength / 2))
  await settle()
  t.equal(lu.iprs.length, 0, 'half read: still no room for another window of max-size RUs')
  t.match(b.pacingStatus(), { held: 0, owed: true })
  socket.flush()
  await settle()
  t.equal(socket.writableLength, 0)
  t.equal(lu.iprs.length, 1, 'all read: the pacing response goes')
  t.match(b.pacingStatus(), { held: 0, owed: false })
})

t.test('credit counts bytes: requests cost what the host has been sending, never more than the BIND\'s max RU', async t => {
  const { lu, session, host } = bridge(t, {}, { queueSocket: true })
  const socket = session.socket as QueueSocket
  lu.emit('bind', bindImage(false, 7, 3840))
  host(1, true, 'R1'.padEnd(90, '.'))
  t.equal(lu.iprs.length, 1, 'before any window is complete: 7 + 6 max-size requests fit below 64 KiB, granted at the pacing request')
  for (let snf = 2; snf <= 7; snf++) host(snf, false, `R${snf}`.padEnd(90, '.'))
  await settle()
  t.equal(session.records.length, 7)
  // 40 KiB queued: room for 24 KiB, too little for 13 max-size requests (50 KiB), plenty for 13
  // of the ~99-byte ones this host has been sending.
  socket.write(Buffer.alloc(40 * 1024))
  host(8, true, 'R8'.padEnd(90, '.'))
  t.equal(lu.iprs.length, 2, 'granted at the pacing request: the estimate is the last window\'s largest request')
  for (let snf = 9; snf <= 14; snf++) host(snf, false, `R${snf}`.padEnd(90, '.'))
  // The client stops reading with all but 600 bytes of the high-water mark queued.
  socket.write(Buffer.alloc(64 * 1024 - socket.writableLength - 600))
  host(15, true, 'R15'.padEnd(90, '.'))
  t.equal(lu.iprs.length, 2, 'not granted: 600 bytes do not pay for 13 more requests of ~99 bytes')
  socket.flush()
  await settle()
  t.equal(lu.iprs.length, 3, 'granted once the client read it')
})

t.test('adaptive pacing: requests larger than the estimate overcommit the credit; a reset IPM stops the host', async t => {
  const { lu, session, host } = bridge(t, {}, { queueSocket: true })
  const socket = session.socket as QueueSocket
  lu.emit('bind', bindImage(true, 2, 3840))
  host(1, true, 'A'.repeat(90))
  host(2, false, 'B'.repeat(90))
  t.same(lu.ipms, [{ type: 'solicited', rwi: false, nws: 15 }], 'before any window is complete, priced at the max RU: 64 KiB / 3847 = 17, less the two of this window')
  host(3, true, 'C'.repeat(90))
  t.equal(lu.ipms.length, 2)
  const nws = lu.ipms[1]!.nws
  t.ok(nws > 600, `then sized by the ~97-byte requests the host sent (${nws})`)
  // The host now sends RUs of 3000 bytes in the window of 15: what is still guaranteed no longer fits.
  for (let snf = 4; snf <= 17; snf++) host(snf, false, 'D'.repeat(3000))
  socket.flush(300) // the first records leave: the credit check behind them runs
  await settle()
  t.same(lu.ipms.at(-1), { type: 'unsolicited', rwi: true, nws: 0 }, 'reset: the host stops sending (GA27-3136 IPM)')
  lu.emit('ipm', { type: 'reset-ack', rwi: false, nws: 0 })
  socket.flush()
  await settle()
  t.match(lu.ipms.at(-1), { type: 'solicited', rwi: false }, 'the acknowledgement is the next pacing request, granted once the client read what it had')
})

t.test('inbound queue limit: the session ends rather than dropping input; a low high-water mark is warned about', async t => {
  const { lu, session, lines } = bridge(t, { pacing: { inboundQueueLimit: 1, highWaterMark: '1KiB' } })
  lu.emit('bind', bindImage(false, 2))
  t.match(lines.find(l => l.level === 40), { msg: /pacing\.highWaterMark is below two pacing windows/, needed: 1052 })
  for (let i = 0; i < 4; i++) session.emit('data', { type: '3270-DATA', data: Buffer.from([0x7d, 0x40, 0x40, i]), seq: 0 })
  t.equal(lu.sent.length, 2, 'one window sent, one record queued')
  t.equal(session.closedWith, 'inbound queue limit reached while the host withheld its pacing window')
})

t.test('clean-up: UNBIND that cannot be sent is logged; a host that never answers UNBIND frees the LU after the wait', async t => {
  const { lu, b, lines, clock, done } = bridge(t)
  lu.luLu.isBound = true
  lu.unbindFails = true
  b.end('client left')
  await new Promise(resolve => setImmediate(resolve))
  t.match(lines.find(l => l.msg === 'UNBIND not sent'), { err: 'link down' })
  clock.advance(3000)
  await done
  t.match(lines.find(l => l.msg === 'host did not answer UNBIND in time'), { waitedMs: 3000 })
  t.equal(lu.attached, false, 'NOTIFY disabled (detached)')
})

// A TN3270E client without BIND-IMAGE has no SSCP-LU-DATA type (RFC 2355 §10.1). Before, the bridge
// tried to send one anyway, failed ("BIND-IMAGE was not negotiated") and ended the session with an
// error line — the stale USS screen of a previous holder of the LU was enough to kill a new client
// before its first screen. Now it is shown as a screen, or held while the application's screen is up.
t.test('SSCP-LU data for a TN3270E client without BIND-IMAGE: a screen, never an error or a lost session', async t => {
  const { lu, session, lines } = bridge(t)
  lu.state = 'active'
  lu.emit('sscpData', Buffer.from([0xc8, 0xc9]))
  t.equal(session.records.at(-1)![0], 0xf5, 'an Erase/Write screen with the text')
  t.same(session.sscp, [], 'no SSCP-LU-DATA record')
  t.equal(session.closed, false, 'the session goes on')
  t.same(lines.filter(l => l.level >= 50), [], 'no error line')
})

t.test('SSCP data while the application is on the screen is held until SYSREQ; a Test Request Read is SYSREQ', async t => {
  const { lu, session } = bridge(t)
  lu.emit('bind', bindImage(false))
  lu.emit('sscpData', Buffer.from([0xc8, 0xc9]))
  t.equal(session.records.length, 0, 'held: the terminal shows the LU-LU session')
  // s3270 in TN3270 mode: SysReq sends SOH % / STX (x3270 ctlr.c, GA23-0059 Test Request Read).
  session.emit('data', { type: '3270-DATA', data: Buffer.from([0x01, 0x6c, 0x61, 0x02]), seq: 0 })
  t.equal(session.records.length, 1, 'the SSCP screen, keyboard restored')
  t.ok(session.records[0]!.includes(Buffer.from([0xc8, 0xc9])), 'with the held message')
  t.equal(lu.sent.length, 0, 'the Test Request Read is not application data')
  session.emit('data', { type: '3270-DATA', data: Buffer.from([0x01, 0x6c, 0x61, 0x02]), seq: 0 })
  t.equal(lu.sent[0]!.opts.category, 'DFC', 'second SYSREQ: LUSTAT to the application')
  // With no LU-LU session a SYSREQ repaints the SSCP screen (empty here) so the keyboard comes back.
  lu.state = 'active'
  session.emit('sysreq')
  t.equal(session.records.length, 2)
})

// The next client of an LU attaches only once the host has answered the previous client's
// NOTIFY(disabled), so a USS screen or a BIND the host sent for the old terminal cannot reach it.
// Before, run() attached at once.
t.test('a client attaches only after the host answered the previous NOTIFY(disabled); input meanwhile goes nowhere', async t => {
  const clock = new FakeClock()
  const lu = new FakeLu()
  lu.detaching = true
  const session = new FakeSession()
  const lines: Array<Record<string, any>> = []
  const config = loadConfig(gatewaySchema, { base: { keepalive: { method: 'none' } } })
  const binding = { session, lease: { lu: 'LU1', pool: 'P', host: 'H' }, lu: { name: 'LU1', pool: 'P', host: 'H' }, logger: pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)) } }), onEnd: () => {} } as unknown as ClientBinding
  const b = new LuBridge(binding, lu as unknown as DependentLu, { config, metrics: createGatewayMetrics(new Registry()), clock })
  void b.run()
  t.teardown(() => { b.end('test over') })
  await new Promise(resolve => setImmediate(resolve))
  t.equal(lu.attached, false, 'not attached while the old NOTIFY is unanswered')
  lu.emit('sscpData', Buffer.from([0xc8, 0xc9]))
  session.emit('data', { type: '3270-DATA', data: Buffer.from([0x7d, 0x40, 0x40]), seq: 0 })
  t.same([session.records.length, lu.sent.length, lu.sscpSent.length], [0, 0, 0], 'nothing crosses before the LU is this client\'s')
  lu.detaching = false
  lu.emit('detached')
  await new Promise(resolve => setImmediate(resolve))
  t.equal(lu.attached, true, 'attached (NOTIFY enabled) after the answer')
  t.same(lines.filter(l => l.level >= 40), [], 'no warning')
})

t.test('a host that never answers NOTIFY(disabled): the next client attaches after the wait, with a warning', async t => {
  const { lu, b, lines, clock, done } = bridge(t)
  lu.notifySnf = 3
  b.end('client left')
  await done
  t.equal(lu.detaching, true, 'the first client\'s LU went back with its NOTIFY out')
  const session = new FakeSession()
  const config = loadConfig(gatewaySchema, { base: { keepalive: { method: 'none' } } })
  const binding = { session, lease: { lu: 'LU1', pool: 'P', host: 'H' }, lu: { name: 'LU1', pool: 'P', host: 'H' }, logger: pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)) } }), onEnd: () => {} } as unknown as ClientBinding
  const next = new LuBridge(binding, lu as unknown as DependentLu, { config, metrics: createGatewayMetrics(new Registry()), clock })
  void next.run()
  t.teardown(() => { next.end('test over') })
  await new Promise(resolve => setImmediate(resolve))
  t.equal(lu.attached, false)
  clock.advance(3000)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(lu.attached, true)
  t.match(lines.find(l => l.msg === 'host did not answer NOTIFY in time'), { level: 40, waitedMs: 3000 })
})
