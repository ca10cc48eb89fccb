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

class FakeSocket extends EventEmitter {
  writableLength = 0
  destroyed = false
  closed = false
  write (_data: Buffer, cb?: () => void): boolean { if (cb !== undefined) queueMicrotask(cb); return true }
  cork (): void {}
  uncork (): void {}
  pause (): this { return this }
  resume (): this { return this }
}

class FakeSession extends EventEmitter {
  readonly socket = new FakeSocket()
  readonly client = '192.0.2.1:1000'
  readonly mode = 'tn3270e'
  readonly functions = new Set(['RESPONSES'])
  readonly rows = 24
  readonly cols = 80
  closed = false
  readonly records: Buffer[] = []
  send3270 (data: Buffer): number | undefined { this.records.push(data); return undefined }
  sendBindImage (): void {}
  sendUnbind (): void {}
  close (reason: string): void { this.closed = true; this.emit('close', reason) }
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
  attach (): void { this.attached = true }
  detach (): void { this.attached = false }
  sendUnbind (): void { this.luLu.isBound = false }
  sendIpr (): void { this.iprs.push(1) }
  sendIpm (ipm: Ipm): void { this.ipms.push(ipm) }
  sendResponse (snf: number, r: true | number): void { this.responses.push([snf, r]) }
  sendData (ru: Buffer, opts: SendDataOpts): number { this.sent.push({ ru, opts }); return this.sent.length }
}

function bindImage (adaptive: boolean, window = 2): BindImage {
  return {
    pacing: { secondarySendWindow: window, secondaryReceiveWindow: window, primarySendWindow: window, primaryReceiveWindow: window, adaptive },
    maxPrimarySendRu: 256,
    maxSecondarySendRu: 256,
  } as unknown as BindImage
}

function bridge (t: Test) {
  const config = loadConfig(gatewaySchema, { base: { keepalive: { method: 'none' } } })
  const lines: Array<Record<string, any>> = []
  const session = new FakeSession()
  const lu = new FakeLu()
  const binding = {
    session,
    lease: { lu: 'LU1', pool: 'P', host: 'H' },
    lu: { name: 'LU1', pool: 'P', host: 'H' },
    logger: pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)) } }),
    onEnd: () => {},
  } as unknown as ClientBinding
  const b = new LuBridge(binding, lu as unknown as DependentLu, { config, metrics: createGatewayMetrics(new Registry()), clock: new FakeClock() })
  void b.run()
  t.teardown(() => { b.end('test over') })
  const host = (snf: number, pi: boolean, text = `R${snf}`): void => {
    lu.emit('data', { ru: Buffer.from([0xf1, 0xc3, ...Buffer.from(text)]), rh: { rlwi: false }, chain: 'only', definite: false, snf, pacing: pi })
  }
  return { b, lu, session, lines, host }
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

t.test('adaptive pacing: grants are solicited IPMs; a request beyond the window gets -RSP(2011 0000) and is not delivered', async t => {
  const { lu, session, host, lines, b } = bridge(t)
  lu.emit('bind', bindImage(true))
  t.match(b.pacingStatus(), { window: 2, adaptive: true })
  host(1, true)
  t.same(lu.ipms, [{ type: 'solicited', rwi: false, nws: 2 }], 'solicited IPM with a next window no larger than the BIND\'s')
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
