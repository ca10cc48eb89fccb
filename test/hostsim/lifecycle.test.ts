// startHostSim's life cycle on real sockets with a fake clock for restartDelay: restart when the
// link port was taken meanwhile, close during the restart delay and while listening again, a
// start-up that fails half way (admin port taken) leaving nothing open. The restart behaviour
// follows a VTAM re-IPL: session limits back to zero until CNOS (IBM sense code 0805 page).
import t from 'tap'
import { createServer, type Server } from 'node:net'
import { PassThrough } from 'node:stream'
import { EventEmitter } from 'node:events'
import { startHostSim } from '../../lib/hostsim/index.js'
import { loadConfig, hostSimSchema } from '../../lib/config/index.js'
import { createLogger, silentLogger, type Logger } from '../../lib/observability/index.js'
import { senseCodeName, Sense } from '../../lib/sna/index.js'
import { FakeClock } from '../helpers/fake-clock.js'

function config (extra: Record<string, unknown> = {}) {
  return loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, restartDelay: '1s', ...extra } })
}

function occupy (port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(port, '127.0.0.1', () => resolve(s))
  })
}

const closeServer = (s: Server): Promise<void> => new Promise(resolve => s.close(() => resolve()))

/** A logger that keeps its lines; `logged(msg)` resolves once a line with that message was written. */
function capturingLogger (): { logger: Logger, logged: (msg: string) => Promise<void> } {
  const sink = new PassThrough()
  const seen = new EventEmitter()
  const msgs: string[] = []
  sink.on('data', (chunk: Buffer) => {
    for (const l of chunk.toString().split('\n')) {
      if (l === '') continue
      const msg = (JSON.parse(l) as { msg: string }).msg
      msgs.push(msg)
      seen.emit('line', msg)
    }
  })
  const logged = (msg: string): Promise<void> => msgs.includes(msg)
    ? Promise.resolve()
    : new Promise(resolve => { const on = (m: string): void => { if (m === msg) { seen.off('line', on); resolve() } }; seen.on('line', on) })
  return { logger: createLogger({ level: 'info', destination: sink }), logged }
}

t.test('restart with the link port taken meanwhile: stays down and says so; close leaves no timer', async t => {
  const clock = new FakeClock(1_000_000)
  const { logger, logged } = capturingLogger()
  const sim = await startHostSim(config(), { logger, clock })
  t.teardown(() => sim.close())
  const port = sim.linkAddress.port
  await sim.restart()
  t.same(sim.status().restart, { restarting: true, restartDelayMs: 1000, resumesInMs: 1000, restarts: 1 })
  t.equal(sim.status().link.listening, false)
  const squatter = await occupy(port)
  t.teardown(() => closeServer(squatter))
  const failed = logged('host could not listen again after restart')
  clock.advance(1000)
  await failed
  const st = sim.status()
  t.equal(st.restart.restarting, true, 'still down: the port is taken')
  t.equal(st.ready, false)
  t.equal(st.link.listening, false)
  await sim.close()
  await sim.close()
  t.equal(clock.pending, 0)
})

t.test('close during the restart delay cancels the resume', async t => {
  const clock = new FakeClock(1_000_000)
  const sim = await startHostSim(config(), { logger: silentLogger(), clock })
  t.teardown(() => sim.close())
  await sim.restart()
  await sim.restart()
  t.equal(sim.status().restart.restarts, 2)
  t.equal(clock.pending, 1, 'one resume timer, the second restart replaced the first')
  await sim.shutdown()
  t.equal(clock.pending, 0)
  await sim.restart()
  t.equal(sim.status().restart.restarts, 2, 'a closed simulator does not restart')
})

t.test('close while listening again after the delay: the new listener does not stay open', async t => {
  const clock = new FakeClock(1_000_000)
  const { logger, logged } = capturingLogger()
  const sim = await startHostSim(config(), { logger, clock })
  const port = sim.linkAddress.port
  await sim.restart()
  clock.advance(1000) // resume starts listening; close before that listen resolves
  const closed = logged('host simulator closed while listening again; listener closed')
  await sim.close()
  await closed
  t.equal(sim.status().link.listening, false)
  const probe = await occupy(port)
  await closeServer(probe)
  t.pass('the link port is free again')
})

t.test('a start-up that fails half way closes what it opened', async t => {
  const admin = await occupy(0)
  t.teardown(() => closeServer(admin))
  const adminPort = (admin.address() as { port: number }).port
  const linkProbe = await occupy(0)
  const linkPort = (linkProbe.address() as { port: number }).port
  await closeServer(linkProbe)
  await t.rejects(startHostSim(config({ link: { host: '127.0.0.1', port: linkPort }, admin: { host: '127.0.0.1', port: adminPort } }), { logger: silentLogger() }), { code: 'TN3270LB_ERR_ADMIN_LISTEN' })
  const again = await occupy(linkPort)
  await closeServer(again)
  t.pass('the link listener was closed')
})

t.test('sense table names', async t => {
  t.equal(senseCodeName(0x08310000), 'LU_COMPONENT_DISCONNECTED')
  t.equal(senseCodeName(Sense.RU_DATA_ERROR), 'RU_DATA_ERROR')
  t.equal(senseCodeName(0x12345678), undefined)
})
