// Printer sessions end to end (docs/printers.md): the real pr3287 associated with the display LU
// the real s3270 holds, DEMO's PRINT on the display, the job in pr3287's output ended as one job
// (TN3270E ASSOCIATE and PRINT-EOJ, RFC 2355 §7.1 and §10.3); the same through the proxy.
import t, { type Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { S3270 } from '../helpers/s3270.js'
import { Pr3287 } from '../helpers/pr3287.js'
import { gatewayStatus, hostStatus, pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'

async function display (t: Test, target: string): Promise<{ s: S3270, lu: string }> {
  const s = await S3270.start({ model: 2 })
  t.teardown(() => s.close())
  const c = await s.connect(target)
  t.ok(c.ok, `s3270 connected: ${c.status}`)
  await s.wait(5, 'InputField')
  const lu = /LU (GW\d[A-Z]\d{3})/.exec((await s.ascii()).join('\n'))?.[1]
  if (lu === undefined) throw new Error('the DEMO screen names no LU')
  return { s, lu }
}

function printer (t: Test, o: { assoc?: string, target: string }): Pr3287 {
  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-pr3287-'))
  const p = Pr3287.start({ ...o, dir, trace: true })
  t.teardown(() => p.close())
  return p
}

for (const via of ['gateway', 'proxy'] as const) {
  t.test(`pr3287 -assoc the s3270 display's LU through the ${via}: PRINT prints the screen as one job`, async t => {
    // Through the proxy with two gateways, the display on the second: the proxy must send the
    // ASSOCIATE to the gateway that owns the display LU (docs/routing.md).
    const d = await startTestDemo(t, { printers: true, gateways: via === 'gateway' ? 1 : 2 })
    const port = via === 'gateway' ? d.gateways[0]!.listenerPort('tn3270') : d.proxy.listeners[0]!.port
    const { s, lu } = await display(t, via === 'gateway' ? `127.0.0.1:${port}` : `GW2A001@127.0.0.1:${port}`)
    const printerLu = lu.replace(/^GW/, 'PR')
    const p = printer(t, { assoc: lu, target: `127.0.0.1:${port}` })
    // The host binds the printer LU (LU type 1) once pr3287 is attached.
    await pollUntil(async () => (await hostStatus(d)).sessions.bound.some(b => b.lu === printerLu && b.state === 'active'), `host session with ${printerLu}`, 10_000)
    if (via === 'proxy') t.equal(printerLu, 'PR2A001', 'the printer of GW2A001, on the second gateway')
    const st = await gatewayStatus(d, via === 'gateway' ? 0 : 1)
    t.match(st.pools.find(pool => pool.name === 'HOSTAPRT'), { kind: 'printer', inUse: 1 }, 'the printer pool shows its LU in use')

    await s.string('hello printer')
    await s.enter()
    await pollUntil(async () => (await s.ascii()).join('\n').includes('ECHO: hello printer'), 'ECHO')
    await s.string('PRINT')
    await s.enter()
    await pollUntil(async () => (await s.ascii()).join('\n').includes(`PRINTED ON ${printerLu}`), 'PRINTED ON')
    const jobs = await pollUntil(() => { const j = p.jobs(); return j.length > 0 && j[0]!.includes('ENTER=SEND') ? j : undefined }, 'the job in pr3287\'s output', 10_000)
    t.equal(jobs.length, 1, 'one job')
    t.match(jobs[0], /tn3270-lb demo host HOSTA\n/, 'the screen title')
    t.match(jobs[0], new RegExp(`LU ${lu}\\n`), 'the display LU')
    t.match(jobs[0], /ECHO: hello printer\n/, 'the screen\'s message line')
    // The job was ended by the gateway's PRINT-EOJ (data type X'08', RFC 2355 §8.1.1), not a timeout.
    await pollUntil(() => /RCVD TN3270E\(PRINT-EOJ/.test(p.trace()), 'pr3287 saw PRINT-EOJ', 10_000)
    t.pass('pr3287 saw PRINT-EOJ')
    t.match(p.trace(), /SENT SB TN3270E FUNCTIONS IS BIND-IMAGE RESPONSES SCS-CTL-CODES SE/, 'the SCS session agreed SCS-CTL-CODES, not DATA-STREAM-CTL or SYSREQ (RFC 2355 §7.2)')
  })
}

t.test('an LU type 3 printer pool: pr3287 prints the screen from the 3270 data stream, ended by PRINT-EOJ', async t => {
  // pools.1 is the demo's printer pool HOSTAPRT (docs/printers.md).
  const d = await startTestDemo(t, { printers: true, sets: ['pools.1.luType=lu3'] })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const { s, lu } = await display(t, `127.0.0.1:${port}`)
  const p = printer(t, { assoc: lu, target: `127.0.0.1:${port}` })
  const printerLu = lu.replace(/^GW/, 'PR')
  await pollUntil(async () => (await hostStatus(d)).sessions.bound.some(b => b.lu === printerLu && b.state === 'active'), `host session with ${printerLu}`, 10_000)
  t.match((await gatewayStatus(d)).pools.find(pool => pool.name === 'HOSTAPRT'), { kind: 'printer', luType: 'lu3' })
  await s.string('PRINT')
  await s.enter()
  const jobs = await pollUntil(() => { const j = p.jobs(); return j.length > 0 && j[0]!.includes('PRINT [n]') ? j : undefined }, 'the job in pr3287\'s output', 10_000)
  t.equal(jobs.length, 1, 'one job')
  t.match(jobs[0], /tn3270-lb demo host HOSTA/, 'the screen title')
  t.match(jobs[0], new RegExp(`LU ${lu}`), 'the display LU')
  await pollUntil(() => /RCVD TN3270E\(PRINT-EOJ/.test(p.trace()), 'pr3287 saw PRINT-EOJ', 10_000)
  t.pass('pr3287 saw PRINT-EOJ')
  t.match(p.trace(), /SENT SB TN3270E FUNCTIONS IS BIND-IMAGE DATA-STREAM-CTL RESPONSES SE/, 'the LU type 3 session agreed DATA-STREAM-CTL, not SCS-CTL-CODES or SYSREQ (RFC 2355 §7.2)')
})

t.test('PRINT with no printer attached, and with no printer associated, says so on the screen', async t => {
  const d = await startTestDemo(t, { printers: true })
  const { s, lu } = await display(t, `127.0.0.1:${d.gateways[0]!.listenerPort('tn3270')}`)
  await s.string('PRINT')
  await s.enter()
  const printerLu = lu.replace(/^GW/, 'PR')
  await pollUntil(async () => (await s.ascii()).join('\n').includes(`PRINTER ${printerLu} IS NOT READY (NO PRINTER SESSION)`), 'not ready')
  t.pass('no printer session: PRINTER ... IS NOT READY')
  const d2 = await startTestDemo(t, { printers: false })
  const other = await display(t, `127.0.0.1:${d2.gateways[0]!.listenerPort('tn3270')}`)
  await other.s.string('PRINT')
  await other.s.enter()
  await pollUntil(async () => (await other.s.ascii()).join('\n').includes(`NO PRINTER IS ASSOCIATED WITH ${other.lu}`), 'no printer')
  t.pass('no associated printer: NO PRINTER IS ASSOCIATED WITH ...')
})

t.test('a printer that leaves and comes back is bound again and prints the next job', async t => {
  const d = await startTestDemo(t, { printers: true })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const { s, lu } = await display(t, `127.0.0.1:${port}`)
  const printerLu = lu.replace(/^GW/, 'PR')
  const bound = async (): Promise<boolean> => (await hostStatus(d)).sessions.bound.some(b => b.lu === printerLu && b.state === 'active')
  const first = printer(t, { assoc: lu, target: `127.0.0.1:${port}` })
  await pollUntil(bound, 'first printer bound', 10_000)
  await first.close()
  await pollUntil(async () => !(await bound()) && (await gatewayStatus(d)).pools.find(p => p.name === 'HOSTAPRT')?.inUse === 0, 'printer session ended, LU free', 10_000)
  const second = printer(t, { assoc: lu, target: `127.0.0.1:${port}` })
  await pollUntil(bound, 'second printer bound', 10_000)
  await s.string('PRINT')
  await s.enter()
  const jobs = await pollUntil(() => { const j = second.jobs(); return j.length > 0 && j[0]!.includes('PRINT [n]') ? j : undefined }, 'the job on the second printer', 10_000)
  t.equal(jobs.length, 1)
  t.match(jobs[0], new RegExp(`LU ${lu}`))
})
