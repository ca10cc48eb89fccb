// The Hercules helper with the s3270 driver: a real TN3270 host (Hercules' console
// TN3270 server, Debian package hercules) and a real client (x3270's s3270).

import t from 'tap'
import { createServer } from 'node:net'
import { existsSync } from 'node:fs'
import { herculesConfig, startHercules } from '../helpers/hercules.js'
import { S3270, statusFields } from '../helpers/s3270.js'

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

t.test('config text', async t => {
  t.equal(herculesConfig(3270, ['0010', { address: '0020', group: 'TSOGRP' }, { address: '0030', type: '3287' }]).split('\n').slice(5).join('\n'),
    'CNSLPORT  127.0.0.1:3270\n0010 3270\n0020 3270 TSOGRP\n0030 3287\n')
  t.throws(() => herculesConfig(1, ['zz10']), /bad device number/)
  t.throws(() => herculesConfig(1, [{ address: '0010', group: 'WAY-TOO-LONG' }]), /bad group name/)
})

t.test('Hercules logo screen per device; a group request lands on its device; stop() kills the group', async t => {
  const h = await startHercules({ devices: ['0010', '0011', { address: '0020', group: 'TSOGRP' }] })
  t.teardown(h.stop)
  t.ok(alive(h.pid))

  const a = await S3270.start({ model: 2 })
  const b = await S3270.start({ model: 2 })
  t.teardown(async () => { await a.close(); await b.close() })

  const ra = await a.connect(`${h.host}:${h.port}`)
  t.ok(ra.ok, ra.data.join(' / '))
  await a.waitOutput(3)
  const screenA = (await a.ascii()).join('\n')
  t.match(screenA, /Hercules Version\s+: 3\.\d+/)
  t.match(screenA, /Device number\s+: 0010/)
  t.equal(await a.query('ConnectionState'), 'connected-3270')
  t.match(statusFields(a.lastStatus), { connected: true, formatted: true })

  const rb = await b.connect(`TSOGRP@${h.host}:${h.port}`)
  t.ok(rb.ok, rb.data.join(' / '))
  await b.waitOutput(3)
  t.match((await b.ascii()).join('\n'), /Device number\s+: 0020/)
  t.match(h.log(), /HHCTE009I Client 127\.0\.0\.1 connected to 3270 device 0:0010/)
  t.match(h.log(), /device 0:0020/)

  await a.disconnect()
  await b.disconnect()
  await h.stop()
  t.notOk(alive(h.pid), 'process group gone')
  t.notOk(existsSync(h.logPath), 'work directory removed')
  await h.stop() // idempotent
})

t.test('a port that is taken fails clearly instead of hanging', async t => {
  const blocker = createServer()
  await new Promise<void>((resolve) => { blocker.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { blocker.close() })
  const port = (blocker.address() as { port: number }).port
  await t.rejects(startHercules({ port, startTimeoutMs: 8000 }), /hercules: port \d+ is in use|no console listener|exited/)
})

t.test('a binary that is not Hercules is reported with its log', async t => {
  await t.rejects(startHercules({ bin: 'false', startTimeoutMs: 3000 }), /hercules exited during start-up/)
})
