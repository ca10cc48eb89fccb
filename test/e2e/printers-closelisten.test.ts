// CloseListenSocket (KB Q101235) with printer pools (docs/printers.md): a listener serving one
// display LU and one printer LU stays open while either is free, so a taken printer does not
// lock displays out nor a taken display printers; a client of the kind with nothing free is
// refused in band (DEVICE-IN-USE, RFC 2355 §7.1); the listener closes only when both are taken.
import t from 'tap'
import { E2eClient, Fn, probeConnect } from '../helpers/e2e-tn3270-client.js'
import { gatewayMetrics, metricValue, pollUntil, startTestDemo } from '../helpers/e2e-gateway.js'

t.test('one display LU, one printer LU: the listener closes only when both are taken', async t => {
  const d = await startTestDemo(t, { printers: true, lus: 1 })
  const port = d.gateways[0]!.listenerPort('tn3270')
  const open = async (): Promise<number | undefined> => metricValue(await gatewayMetrics(d), 'tn3270_gateway_listener_open', { listener: 'tn3270' })

  // The printer first: displays are still served.
  const printer = await E2eClient.connect(port)
  t.teardown(() => { printer.destroy() })
  t.match(await printer.negotiate({ deviceType: 'IBM-3287-1', connect: 'HOSTAPRT', functions: [Fn.RESPONSES, Fn.SCS_CTL_CODES] }), { ok: true, lu: 'PR1A001' })
  t.equal(await open(), 1, 'printer taken, display free: open')
  // Capacity is promised at accept, before the device type is known: until a refused client's
  // connection is gone, it holds the other kind's place (docs/printers.md "Capacity").
  const refusedInBand = async (deviceType: string, kind: string): Promise<void> => {
    const c = await E2eClient.connect(port)
    t.match(await c.negotiate({ deviceType }), { ok: false, kind: 'reject', reason: 'DEVICE-IN-USE' }, `a ${kind} is refused in band`)
    c.destroy()
    await pollUntil(async () => (await open()) === 1, `open once the refused ${kind} has left`)
  }
  await refusedInBand('IBM-3287-1', 'second printer')
  const display = await E2eClient.open(port)
  t.teardown(() => { display.destroy() })
  t.equal(display.lu, 'GW1A001')
  await pollUntil(async () => (await open()) === 0, 'closed with both taken')
  t.equal(await probeConnect(port), 'ECONNREFUSED', 'refused at TCP level')

  // The printer leaves: open again, for a printer only.
  printer.destroy()
  await pollUntil(async () => (await open()) === 1, 'open again')
  await refusedInBand('IBM-3278-2-E', 'display')
  const assoc = await E2eClient.connect(port)
  t.teardown(() => { assoc.destroy() })
  t.match(await assoc.negotiate({ deviceType: 'IBM-3287-1', associate: 'GW1A001', functions: [Fn.RESPONSES, Fn.SCS_CTL_CODES] }), { ok: true, lu: 'PR1A001' }, 'the display\'s printer by ASSOCIATE')
})
