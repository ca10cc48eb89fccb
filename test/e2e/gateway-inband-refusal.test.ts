// docs/operations.md (CloseListenSocket): with closeListenSocket false the gateway keeps listening and refuses in band —
// TN3270E gets DEVICE-TYPE REJECT, plain TN3270 a short message and a close.
import t from 'tap'
import { connect } from 'node:net'
import { request } from 'undici'
import { startDemo } from '../../lib/demo.js'
import { silentLogger } from '../../lib/observability/index.js'
import { E2eClient } from '../helpers/e2e-tn3270-client.js'

const IAC = 0xff; const SB = 0xfa; const SE = 0xf0; const WILL = 0xfb; const WONT = 0xfc; const DO = 0xfd; const TTYPE = 24

async function metrics (port: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/metrics`)
  return await res.body.text()
}

t.test('closeListenSocket false: the listener stays open and refuses in band', async t => {
  const d = await startDemo({ basePort: 0, gateways: 1, hosts: 1, lus: 1, bind: '127.0.0.1', sets: ['listeners.0.closeListenSocket=false'], logger: silentLogger() })
  t.teardown(() => d.shutdown({ immediate: true }))
  const gw = d.gateways[0]!
  const port = gw.listenerPort('tn3270')
  const holder = await E2eClient.open(port)
  t.teardown(() => holder.destroy())
  t.match(holder.lu, /^GW1A001$/, 'the only LU is taken')

  // TN3270E: DEVICE-TYPE REJECT REASON DEVICE-IN-USE (RFC 2355 §7.1: 02 06 05 01).
  const e = connect({ port, host: '127.0.0.1' })
  t.teardown(() => e.destroy())
  const got: number[] = []
  await new Promise<void>((resolve, reject) => {
    e.on('error', reject)
    e.on('data', chunk => {
      got.push(...chunk)
      const b = Buffer.from(got)
      if (b.includes(Buffer.from([IAC, DO, 40])) && !b.includes(Buffer.from([IAC, SB, 40, 0x08, 0x02]))) return e.write(Buffer.from([IAC, WILL, 40]))
      if (b.includes(Buffer.from([IAC, SB, 40, 0x08, 0x02, IAC, SE])) && !(e as any).asked) {
        (e as any).asked = true
        e.write(Buffer.from([IAC, SB, 40, 0x02, 0x07, ...Buffer.from('IBM-3278-2-E'), IAC, SE]))
      }
      if (b.includes(Buffer.from([IAC, SB, 40, 0x02, 0x06, 0x05, 0x01, IAC, SE]))) resolve()
    })
  })
  t.pass('TN3270E client got DEVICE-TYPE REJECT REASON DEVICE-IN-USE')
  e.destroy()

  // Plain TN3270: the name list runs out (the client repeats its type) → a text line, then close.
  const p = connect({ port, host: '127.0.0.1' })
  let text = ''
  let sends = 0
  await new Promise<void>((resolve, reject) => {
    p.on('error', reject)
    p.on('data', chunk => {
      text += chunk.toString('latin1')
      for (let i = 0; i + 2 < chunk.length; i++) {
        if (chunk[i] === IAC && chunk[i + 1] === DO && chunk[i + 2] === 40) p.write(Buffer.from([IAC, WONT, 40]))
        if (chunk[i] === IAC && chunk[i + 1] === DO && chunk[i + 2] === TTYPE) p.write(Buffer.from([IAC, WILL, TTYPE]))
        if (chunk[i] === IAC && chunk[i + 1] === SB && chunk[i + 2] === TTYPE) {
          sends++
          p.write(Buffer.from([IAC, SB, TTYPE, 0x00, ...Buffer.from('IBM-3278-2'), IAC, SE]))
        }
      }
    })
    p.on('close', () => resolve())
  })
  t.ok(sends >= 2, `the server asked for the next terminal type (${sends} SEND)`)
  t.match(text, /tn3270-lb: no free LU/, 'a short message before the close')

  const m = await metrics(gw.adminAddress.port)
  t.match(m, /tn3270_gateway_listener_open\{listener="tn3270"\} 1/, 'the listener never closed')
  t.match(m, /tn3270_gateway_connections_total\{listener="tn3270",result="rejected_resource"\} 2/, 'both counted as rejected for resources (RFC 2561 ConnResrceRejs)')
  t.match(m, /tn3270_gateway_device_type_rejects_total\{reason="DEVICE-IN-USE"\} [1-9]/)
})
