// KeepAlive (KB Q137309, events 700/701) and fixed pacing with client credit (KB Q181737), end to
// end through a demo gateway on real sockets (docs/operations.md).
import t, { type Test } from 'tap'
import { PassThrough } from 'node:stream'
import { request } from 'undici'
import { startDemo, type Demo } from '../../lib/demo.js'
import { createLogger } from '../../lib/observability/index.js'
import { RawTn3270eClient } from '../helpers/raw-tn3270e.js'
import { S3270 } from '../helpers/s3270.js'
import { until } from '../helpers/until.js'

async function demo (t: Test, sets: string[], lines: Array<Record<string, any>>, level = 'info'): Promise<Demo> {
  const sink = new PassThrough()
  sink.on('data', (chunk: Buffer) => {
    // Debug runs log every PIU; keep only what the tests read, without parsing the rest.
    for (const line of chunk.toString().split('\n')) if (/"event":70[01]|pacing stalled|"level":"(warn|error)"/.test(line)) lines.push(JSON.parse(line))
  })
  const d = await startDemo({ basePort: 0, gateways: 1, hosts: 1, lus: 4, bind: '127.0.0.1', sets, logger: createLogger({ level, destination: sink }) })
  t.teardown(() => d.shutdown({ immediate: true }))
  return d
}

async function json (url: string): Promise<any> {
  const res = await request(url)
  return await res.body.json()
}

async function metric (d: Demo, name: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${d.gateways[0]!.adminAddress.port}/metrics`)
  const text = await res.body.text()
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)
  return m === null ? 0 : Number(m[1])
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))


for (const hardClose of [true, false]) {
  t.test(`a client that never reads: one keepalive at a time, events 700 then 701, ${hardClose ? 'RST' : 'orderly close'}`, async t => {
    const lines: Array<Record<string, any>> = []
    const d = await demo(t, ['keepalive.watchdogTimeout=150ms', 'keepalive.keepAliveLimit=4', `keepalive.hardClose=${hardClose}`, 'keepalive.gracefulCloseTimeout=1s'], lines)
    const gw = d.gateways[0]!
    const c = await RawTn3270eClient.connect({ port: gw.listenerPort('tn3270'), answerTimingMark: false })
    const address = `127.0.0.1:${c.socket.localPort}`
    // Fill the client's receive window: flood records, then stop reading.
    c.enter('FLOOD 20000')
    await c.until(() => c.records.length > 20, 10_000, 'records flowing')
    c.stopReading()
    const closed = new Promise(resolve => c.socket.once('close', resolve))
    await until('event 701', () => lines.some(l => l.event === 701), 10_000)
    const e700 = lines.filter(l => l.event === 700)
    const e701 = lines.filter(l => l.event === 701)
    t.ok(e700.length >= 3, `event 700 logged at each overdue tick (${e700.length})`)
    t.ok(e700.every(l => l.client === address), `event 700 names the client ${address}`)
    t.same(e700.slice(0, 3).map(l => l.ticks), [1, 2, 3], 'ticks counted while one keepalive stays outstanding')
    t.equal(e701.length, 1, 'event 701 once, at the limit')
    t.equal(e701[0]!.client, address)
    t.equal(e701[0]!.close, hardClose ? 'hard' : 'graceful')
    t.equal(e701[0]!.level, 'error')
    t.equal(await metric(d, 'tn3270_gateway_keepalive_sent_total'), 1, 'exactly one keepalive was ever queued for this client')
    t.ok(await metric(d, 'tn3270_gateway_keepalive_overdue_total') >= 3)
    if (hardClose) {
      // Linux hands a reader its buffered bytes and then EOF even after an RST (SOCK_DONE is
      // checked before sk_err), so the zero-window client sees the reset on its next write.
      await sleep(100)
      c.socket.write(Buffer.from([0xff, 0xf1])) // IAC NOP
      await closed
      t.equal(c.closedWith, 'reset', `client observed ECONNRESET (${c.error?.code ?? 'none'})`)
    } else {
      c.resumeReading()
      await closed
      t.equal(c.closedWith, 'end', `client observed an orderly close (${c.closedWith ?? 'closed'})`)
    }
    await until('LU free', async () => (await json(`http://127.0.0.1:${gw.adminAddress.port}/status`)).pools[0].free === 4)
    t.pass('its LU is free afterwards')
  })
}

t.test('a real s3270 session idle across many keepalive ticks is never dropped (it answers WONT TIMING-MARK)', async t => {
  const lines: Array<Record<string, any>> = []
  const d = await demo(t, ['keepalive.watchdogTimeout=100ms', 'keepalive.keepAliveLimit=2'], lines)
  const s = await S3270.start({ model: 2 })
  t.teardown(() => s.close())
  t.ok((await s.connect(`127.0.0.1:${d.gateways[0]!.listenerPort('tn3270')}`)).ok)
  await sleep(2000)
  t.equal(await s.query('ConnectionState'), 'connected-tn3270e', 'still connected after ~20 ticks')
  const sent = await metric(d, 'tn3270_gateway_keepalive_sent_total')
  t.ok(sent >= 10, `keepalives were sent (${sent})`)
  t.equal(lines.filter(l => l.event === 700 || l.event === 701).length, 0, 'no overdue keepalive, no abort')
  await s.string('alive')
  await s.enter()
  await until('echo', async () => (await s.ascii()).join('\n').includes('ECHO: alive'))
})

// On loopback the MSS is ~64 KiB, so the kernel grows the gateway's send buffer to over a megabyte
// and FLOOD 20000 (~1.8 MB) can vanish into kernel buffers without the gateway ever holding back.
// FLOOD 100000 (~9 MB) cannot, so this is the gateway's pacing at work, not the kernel's.
const FLOOD = 100_000

t.test(`a client that stops reading during FLOOD ${FLOOD}: the gateway holds at most one window; others stay responsive; all records arrive in order after`, async t => {
  const lines: Array<Record<string, any>> = []
  const d = await demo(t, ['keepalive.method=none', 'pacing.stallAfter=200ms'], lines, 'debug')
  const gw = d.gateways[0]!
  const port = gw.listenerPort('tn3270')
  const slow = await RawTn3270eClient.connect({ port })
  // Stop reading at once: the kernel does not grow the receive buffer of a socket nobody reads.
  slow.enter(`FLOOD ${FLOOD}`)
  slow.stopReading()
  const rssBefore = process.memoryUsage().rss
  // Give the host every chance to push: it must be held back by withheld pacing responses.
  await until('pacing stalled', async () => (await metric(d, 'tn3270_gateway_pacing_stalled_sessions')) === 1, 30_000)
  await sleep(1000)
  const host = await json(`http://127.0.0.1:${d.hosts[0]!.adminAddress.port}/status`)
  const rssHeld = process.memoryUsage().rss
  const gwStatus = await json(`http://127.0.0.1:${gw.adminAddress.port}/status`)
  const acct = gwStatus.hostLinks[0].lus.find((l: any) => l.name === slow.lu).pacing
  const delivered = slow.records.length
  await sleep(500)
  t.comment(`gateway accounting for ${slow.lu}: ${JSON.stringify(acct)}`)
  t.comment(`host pacing view: ${JSON.stringify(host.pacing)}`)
  t.comment(`process rss before ${(rssBefore / 1e6).toFixed(1)} MB, while held ${(rssHeld / 1e6).toFixed(1)} MB`)
  t.ok(acct.held <= acct.window, `the gateway holds at most one window (${acct.held} of ${acct.window})`)
  t.ok(acct.owed && acct.stalled, 'the pacing response is withheld and the session counts as stalled')
  t.ok(acct.clientQueuedBytes <= 64 * 1024 + 4096, `client write queue stays within the high-water mark plus one RU (${acct.clientQueuedBytes} bytes)`)
  t.equal(slow.records.length, delivered, 'nothing more reaches the client while it does not read')
  t.ok(host.pacing.waitingSessions >= 1 || host.pacing.maxWaitingForIprMs > 0 || host.sessions.bound.length === 1, 'the host simulator has its session waiting')
  t.ok(delivered < FLOOD, `the flood is held back (${delivered} records delivered so far)`)
  t.ok(lines.some(l => /pacing stalled/.test(String(l.msg)) && l.lu !== undefined && l.client !== undefined), 'a debug line names the stalled LU and client')

  const other = await RawTn3270eClient.connect({ port })
  const t0 = Date.now()
  other.enter('ping')
  await other.until(() => other.records.some(r => r.text.includes('ECHO: ping')), 5000, 'echo on another session')
  t.comment(`another session answered in ${Date.now() - t0} ms`)
  other.close()

  slow.resumeReading()
  await slow.until(() => slow.records.some(r => r.text.includes(`RECORD ${FLOOD} OF ${FLOOD}`)), 120_000, 'the last record')
  const pattern = new RegExp(`RECORD (\\d+) OF ${FLOOD}`)
  const seen = slow.records.map(r => pattern.exec(r.text)?.[1]).filter((x): x is string => x !== undefined).map(Number)
  t.equal(seen.length, FLOOD, `all ${FLOOD} records arrived`)
  let inOrder = true
  for (let i = 0; i < seen.length; i++) if (seen[i] !== i + 1) { inOrder = false; break }
  t.ok(inOrder, 'in order, none lost or duplicated')
  await until('stall cleared', async () => (await metric(d, 'tn3270_gateway_pacing_stalled_sessions')) === 0, 5000)
  t.pass('no session stalled once the client drained')
  slow.close()
})
