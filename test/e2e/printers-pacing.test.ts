// A printer that stops reading during a long print job is the classic slow client (KB Q181737,
// application pacing): the gateway holds at most one pacing window for it, withholds the host's
// pacing response, and once the printer reads again the job completes in order, ended by one
// PRINT-EOJ (RFC 2355 §10.3). The printer is a raw TN3270E client (ASSOCIATE, RFC 2355 §7.1) so
// the test can stop its reads; the display is another; the demo binds the printer as LU type 1.
import t from 'tap'
import { E2eClient, DataType, Fn } from '../helpers/e2e-tn3270-client.js'
import { gatewayMetrics, hostStatus, metricValue, pollUntil, startTestDemo, getJson } from '../helpers/e2e-gateway.js'

// Enough that the job outgrows the kernel's socket buffers on loopback (megabytes), as FLOOD does.
const COPIES = 100_000
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test(`a printer that stops reading during PRINT ${COPIES}: at most one window held, the job completes in order after`, async t => {
  const d = await startTestDemo(t, { printers: true, sets: ['keepalive.method=none', 'pacing.stallAfter=200ms'] })
  const gw = d.gateways[0]!
  const port = gw.listenerPort('tn3270')
  const display = await E2eClient.open(port)
  t.teardown(() => { display.destroy() })
  const printer = await E2eClient.connect(port)
  t.teardown(() => { printer.destroy() })
  const n = await printer.negotiate({ deviceType: 'IBM-3287-1', associate: display.lu, functions: [Fn.BIND_IMAGE, Fn.RESPONSES, Fn.SCS_CTL_CODES] })
  t.match(n, { ok: true, deviceType: 'IBM-3287-1', functions: [Fn.BIND_IMAGE, Fn.RESPONSES, Fn.SCS_CTL_CODES] }, 'the SCS printer session gets what it asked for')
  const printerLu = n.ok ? n.lu : ''
  t.equal(printerLu, display.lu!.replace(/^GW/, 'PR'), 'the display\'s associated printer')
  await pollUntil(async () => (await hostStatus(d)).sessions.bound.some(b => b.lu === printerLu && b.state === 'active'), 'printer bound', 10_000)
  t.ok(printer.received.some(r => r.dataType === DataType.BIND_IMAGE), 'BIND-IMAGE on the printer session')

  printer.stopReading()
  display.sendInput(`PRINT ${COPIES}`)
  await display.waitForText(`${COPIES} COPIES PRINTED ON ${printerLu}`, 10_000)
  await pollUntil(async () => metricValue(await gatewayMetrics(d), 'tn3270_gateway_pacing_stalled_sessions') === 1, 'pacing stalled', 30_000)
  await sleep(500)
  const status = await getJson<any>(gw.adminAddress.port, '/status')
  const acct = status.hostLinks[0].lus.find((l: any) => l.name === printerLu).pacing
  const delivered = printer.received.length
  t.comment(`gateway accounting for ${printerLu}: ${JSON.stringify(acct)}`)
  t.ok(acct.window > 0 && acct.held <= acct.window, `the gateway holds at most one window (${acct.held} of ${acct.window})`)
  t.ok(acct.owed && acct.stalled, 'the pacing response is withheld: the host waits')
  await sleep(300)
  t.equal(printer.received.length, delivered, 'nothing more reaches the printer while it does not read')
  t.notOk(printer.received.some(r => r.dataType === DataType.PRINT_EOJ), 'the job has not ended')

  // The display stays served meanwhile.
  display.sendInput('still here')
  await display.waitForText('ECHO: still here')

  printer.resumeReading()
  await printer.waitForRecord(r => r.dataType === DataType.PRINT_EOJ, 120_000, 'PRINT-EOJ')
  const scs = printer.received.filter(r => r.dataType === DataType.SCS)
  const copies = scs.map(r => /COPY (\d+) OF/.exec(r.text)?.[1]).filter((x): x is string => x !== undefined).map(Number)
  t.equal(copies.length, COPIES, `all ${COPIES} copies arrived as SCS-DATA`)
  t.ok(copies.every((c, i) => c === i + 1), 'in order, none lost or duplicated')
  const eoj = printer.received.findIndex(r => r.dataType === DataType.PRINT_EOJ)
  t.equal(printer.received.filter(r => r.dataType === DataType.PRINT_EOJ).length, 1, 'one PRINT-EOJ')
  t.ok(eoj > printer.received.indexOf(scs[scs.length - 1]!), 'after the last copy')
  await pollUntil(async () => metricValue(await gatewayMetrics(d), 'tn3270_gateway_pacing_stalled_sessions') === 0, 'stall cleared', 5000)
})
