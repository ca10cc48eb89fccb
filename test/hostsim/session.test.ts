// PluSession edge cases driven PIU by PIU: SDT refused, stray and negative responses, data before
// SDT, adaptive pacing with IPMs, pacing violations by the LU.
import t from 'tap'
import { PluSession, type SessionEnv } from '../../lib/hostsim/session.js'
import { lu2BindRu } from '../../lib/hostsim/bindimage.js'
import { loadConfig, hostSimSchema } from '../../lib/config/index.js'
import { silentLogger } from '../../lib/observability/index.js'
import { systemClock } from '../../lib/clock.js'
import {
  decodePiu, encodePiu, positiveResponse, negativeResponse, requestRh, encodeIpr, encodeIpm,
  decodeIpmRu, isIpm, decodeUnbind, type Piu,
} from '../../lib/sna/index.js'
import { buildInbound } from '../../lib/datastream/index.js'

function session (bind: Record<string, unknown> = {}) {
  const config = loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { port: 0 }, bind } })
  const sent: Piu[] = []
  const raws: Buffer[] = []
  const ended: Array<{ reason: string, byPlu: boolean, bindSense?: number }> = []
  const env: SessionEnv = {
    host: 'HOSTA',
    lu: 'LU1',
    address: 2,
    application: 'DEMO',
    bind: lu2BindRu({ bind: config.bind, application: 'DEMO', lu: 'LU1' }),
    rows: 24,
    cols: 80,
    maxRuPrimary: config.bind.maxRuPrimary,
    primarySendWindow: config.bind.primarySendWindow,
    secondarySendWindow: config.bind.secondarySendWindow,
    adaptive: config.bind.adaptivePacing,
    clock: systemClock,
    logger: silentLogger(),
    send: (b) => { raws.push(b); sent.push(decodePiu(b)) },
    onEnded: (info) => ended.push(info),
  }
  const s = new PluSession(env)
  const feed = (b: Buffer): void => s.receive(decodePiu(b))
  const last = (): Buffer => raws[raws.length - 1]
  return { s, sent, raws, ended, feed, last }
}

function lluData (snf: number, ru: Buffer, opts: { pi?: boolean, mode?: 'RQE1' | 'RQD1' } = {}): Buffer {
  return encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 1, oaf: 2, snf }, rh: requestRh({ category: 'FMD', mode: opts.mode ?? 'RQE1', pi: opts.pi ?? false }), ru })
}

t.test('SDT refused: UNBIND cleanup, then ended', async t => {
  const { s, sent, ended, feed, last } = session()
  s.start()
  s.start()
  t.equal(sent.length, 1, 'one BIND')
  feed(positiveResponse(last()))
  t.equal(s.state, 'pending-sdt')
  t.equal(sent[1].ru[0], 0xa0)
  // Data before SDT completes: no session yet (8005 0001)
  feed(lluData(1, Buffer.from([0x7d, 0x40, 0x40]), { mode: 'RQD1' }))
  t.equal(sent[2].ru.readUInt32BE(0), 0x80050001)
  feed(negativeResponse(Buffer.from(encodePiu({ th: sent[1].th, rh: sent[1].rh, ru: sent[1].ru })), 0x08020000))
  t.equal(s.state, 'pending-unbind')
  const unbind = sent[sent.length - 1]
  t.equal(decodeUnbind(unbind.ru).type, 0x0f)
  t.equal(s.status().state, 'pending-unbind')
  // A stray expedited response, then a -RSP(UNBIND): the session ends anyway.
  feed(encodePiu({ th: { mpf: 'whole', odai: false, efi: true, daf: 1, oaf: 2, snf: 999 }, rh: { rri: true, category: 'SC', fi: true, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: false }, ru: Buffer.from([0x31]) }))
  feed(negativeResponse(encodePiu({ th: unbind.th, rh: unbind.rh, ru: unbind.ru }), 0x08000000))
  t.equal(s.state, 'ended')
  t.equal(ended.length, 1)
  t.equal(ended[0].byPlu, true)
  // Requests after the end: -RSP no session; abort is a no-op.
  feed(lluData(2, Buffer.from([0x7d, 0x40, 0x40]), { mode: 'RQD1' }))
  t.equal(sent[sent.length - 1].ru.readUInt32BE(0), 0x80050001)
  s.abort('late')
  s.unbind()
  t.equal(ended.length, 1)
})

t.test('responses to outbound data, unsolicited pacing responses, BIND answered twice', async t => {
  const { s, sent, ended, feed, raws } = session({ primarySendWindow: 2 })
  s.start()
  const bind = raws[0]
  feed(positiveResponse(bind))
  feed(positiveResponse(bind)) // duplicate: no request pending any more → ignored
  feed(positiveResponse(raws[1]))
  t.equal(s.state, 'active')
  const screen = sent.find(p => p.rh?.category === 'FMD' && !p.rh.rri)!
  t.ok(screen.rh!.pi)
  // -RSP to outbound data (with and without sense bytes), +RSP with PI = the other pacing response form.
  feed(negativeResponse(raws[sent.indexOf(screen)], 0x08310000))
  const shortNeg = encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 1, oaf: 2, snf: 1 }, rh: { rri: true, category: 'FMD', fi: false, sdi: true, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: false, rti: true }, ru: Buffer.from([0x08]) })
  feed(shortNeg)
  feed(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 1, oaf: 2, snf: 1 }, rh: { rri: true, category: 'FMD', fi: false, sdi: false, bci: true, eci: true, dr1: true, dr2: false, qri: false, pi: true, rti: false }, ru: Buffer.alloc(0) }))
  t.equal(s.status().pacing.iprsReceived, 1, 'PI in a +RSP counts as the pacing response')
  feed(encodeIpr({ daf: 1, oaf: 2 }))
  t.equal(s.status().pacing.iprsReceived, 1, 'an IPR nobody asked for is a violation: logged, not counted')
  feed(encodeIpm({ daf: 1, oaf: 2 }, { type: 'solicited', rwi: false, nws: 3 }))
  t.equal(s.status().pacing.iprsReceived, 1, 'IPM on a fixed-paced session refused')
  t.equal(ended.length, 0)
})

t.test('adaptive pacing: the host sends by IPM windows and answers PI with an IPM', async t => {
  const { s, sent, feed, raws } = session({ primarySendWindow: 2, secondarySendWindow: 2, adaptivePacing: true })
  s.start()
  feed(positiveResponse(raws[0]))
  feed(positiveResponse(raws[1]))
  t.equal(s.state, 'active')
  const dataCount = (): number => sent.filter(p => p.rh?.category === 'FMD' && !p.rh.rri).length
  t.equal(dataCount(), 1)
  // FLOOD 5 → 1 left in the first window, then wait for an IPM
  const input = buildInbound({ aid: 0x7d, cursor: 0, fields: [{ address: 405, text: 'FLOOD 5' }], rows: 24, cols: 80 })
  feed(lluData(1, input, { pi: true }))
  const ipm = sent.find(p => p.rh?.rri === true && isIpm(p))
  t.ok(ipm, 'inbound PI answered with a solicited IPM')
  t.same(decodeIpmRu(ipm!.ru), { type: 'solicited', rwi: false, nws: 2 })
  t.equal(dataCount(), 2, 'one record left in the first window')
  t.ok(s.status().pacing.adaptive)
  feed(encodeIpr({ daf: 1, oaf: 2 }))
  t.equal(dataCount(), 2, 'an IPR does not open an adaptive window')
  feed(encodePiu({ th: { mpf: 'whole', odai: false, efi: false, daf: 1, oaf: 2, snf: 0 }, rh: { rri: true, category: 'FMD', fi: false, sdi: false, bci: true, eci: true, dr1: false, dr2: false, qri: false, pi: true, rti: false }, ru: Buffer.from([0xc0, 0x80, 0x00]) }))
  t.equal(dataCount(), 2, 'malformed IPM ignored')
  feed(encodeIpm({ daf: 1, oaf: 2 }, { type: 'solicited', rwi: false, nws: 3 }))
  t.equal(dataCount(), 5, 'a window of 3 (NWS) after the solicited IPM')
  const before = sent.length
  feed(encodeIpm({ daf: 1, oaf: 2 }, { type: 'unsolicited', rwi: true, nws: 1 }))
  const ack = sent.slice(before).find(p => isIpm(p))
  t.same(decodeIpmRu(ack!.ru), { type: 'reset-ack', rwi: false, nws: 1 }, 'reset acknowledged')
  t.equal(dataCount(), 6, 'the reset window of 1 used at once')
  t.equal(s.status().pacing.queued, 0)
  feed(encodeIpm({ daf: 1, oaf: 2 }, { type: 'reset-ack', rwi: false, nws: 0 }))
  t.equal(dataCount(), 6, 'a reset-ack to the sender is refused')
})
