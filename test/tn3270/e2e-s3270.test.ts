// End-to-end: the real s3270 client (x3270 4.1ga10) against negotiateServer + a tiny application.
import t, { type Test } from 'tap'
import { startAppServer, S3270, type AppServer } from './fixtures/support.js'

async function setup (tt: Test, ...args: Parameters<typeof startAppServer>): Promise<AppServer> {
  const srv = await startAppServer(...args)
  tt.teardown(() => srv.close())
  return srv
}
async function client (tt: Test): Promise<S3270> {
  const c = await S3270.start({ model: 2 })
  tt.teardown(() => c.close())
  return c
}
const rejects = (srv: AppServer): unknown[] => srv.log.lines.filter((l) => l.event === 'tn3270_device_reject').map((l) => l.reason)

t.test('s3270 end to end', async (t) => {
  t.test('TN3270E: screen, typing, answer, LU and functions', async (t) => {
    const srv = await setup(t)
    const c = await client(t)
    const conn = await c.run(`Connect(127.0.0.1:${srv.port})`)
    t.ok(conn.ok, `connected: ${conn.status}`)
    t.ok((await c.run('Wait(5,InputField)')).ok)
    const screen = await c.ascii()
    t.match(screen[0], /TN3270-LB TEST APPLICATION/)
    t.match(screen[4], /INPUT:/)
    t.equal(await c.query('ConnectionState'), 'connected-tn3270e')
    t.equal(await c.query('LuName'), 'LU01')
    // s3270 asked for BIND-IMAGE RESPONSES SYSREQ; BIND-IMAGE is withheld (no BINDs here).
    t.equal(await c.query('Tn3270eOptions'), 'RESPONSES SYSREQ')
    t.ok((await c.run('String("HELLO E")')).ok)
    t.ok((await c.run('Enter')).ok)
    t.ok((await c.run('Wait(5,Unlock)')).ok)
    t.match((await c.ascii())[2], /ANSWER: HELLO E/)
    t.equal(srv.sessions[0]?.mode, 'tn3270e')
    t.equal(srv.sessions[0]?.deviceType, 'IBM-3278-2-E')
    t.same([srv.sessions[0]?.altRows, srv.sessions[0]?.altCols], [24, 80])
  })

  t.test('TN3270 (N: prefix): screen, typing, answer', async (t) => {
    const srv = await setup(t)
    const c = await client(t)
    t.ok((await c.run(`Connect(N:127.0.0.1:${srv.port})`)).ok)
    t.ok((await c.run('Wait(5,InputField)')).ok)
    t.match((await c.ascii())[0], /TN3270-LB TEST APPLICATION/)
    t.equal(await c.query('ConnectionState'), 'connected-3270')
    await c.run('String("plain 3270")')
    await c.run('Enter')
    t.ok((await c.run('Wait(5,Unlock)')).ok)
    t.match((await c.ascii())[2], /ANSWER: plain 3270/)
    t.equal(srv.sessions[0]?.mode, 'tn3270')
    t.equal(srv.sessions[0]?.deviceType, 'IBM-3279-2-E')
  })

  t.test('TN3270E: pool name and LU name selection', async (t) => {
    const srv = await setup(t)
    const a = await client(t)
    t.ok((await a.run(`Connect(POOLNAME@127.0.0.1:${srv.port})`)).ok)
    t.equal(await a.query('LuName'), 'LU01')
    const b = await client(t)
    t.ok((await b.run(`Connect(LU02@127.0.0.1:${srv.port})`)).ok)
    t.equal(await b.query('LuName'), 'LU02')
    t.same(srv.provider.requests.map((r) => r.resourceName), ['POOLNAME', 'LU02'])
  })

  t.test('TN3270E: BAD,LU01,LU02 walks INV-NAME, DEVICE-IN-USE, IS LU02 on one connection', async (t) => {
    const srv = await setup(t)
    const holder = await client(t)
    t.ok((await holder.run(`Connect(LU01@127.0.0.1:${srv.port})`)).ok)
    t.equal(srv.accepted(), 1)
    const c = await client(t)
    t.ok((await c.run(`Connect("BAD,LU01,LU02@127.0.0.1:${srv.port}")`)).ok)
    t.equal(await c.query('LuName'), 'LU02')
    t.equal(await c.query('ConnectionState'), 'connected-tn3270e')
    t.equal(srv.accepted(), 2, 'the whole walk happened on one TCP connection')
    t.same(srv.provider.requests.slice(1).map((r) => [r.mode, r.resourceName]), [['tn3270e', 'BAD'], ['tn3270e', 'LU01'], ['tn3270e', 'LU02']])
    t.same(rejects(srv), ['INV-NAME', 'DEVICE-IN-USE'])
  })

  t.test('TN3270 (N:): @NAME cycling via repeated TTYPE SEND', async (t) => {
    const srv = await setup(t)
    const holder = await client(t)
    t.ok((await holder.run(`Connect(N:LU01@127.0.0.1:${srv.port})`)).ok)
    const c = await client(t)
    t.ok((await c.run(`Connect("N:BAD,LU01,LU02@127.0.0.1:${srv.port}")`)).ok)
    t.ok((await c.run('Wait(5,InputField)')).ok)
    t.equal(srv.sessions[1]?.lu, 'LU02')
    t.same(srv.provider.requests.slice(1).map((r) => [r.mode, r.deviceType, r.resourceName]),
      [['tn3270', 'IBM-3279-2-E', 'BAD'], ['tn3270', 'IBM-3279-2-E', 'LU01'], ['tn3270', 'IBM-3279-2-E', 'LU02']])
    t.equal(srv.accepted(), 2)
  })

  t.test('TN3270E list exhausted falls back to TN3270, then the client gives up', async (t) => {
    const srv = await setup(t)
    const c = await client(t)
    const r = await c.run(`Connect(NOSUCH@127.0.0.1:${srv.port})`)
    t.notOk(r.ok, 'Connect fails')
    // TN3270E REJECT INV-NAME -> WONT TN3270E -> TTYPE IBM-3279-2-E@NOSUCH rejected -> client quits.
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.same(rejects(srv), ['INV-NAME', 'INV-NAME'])
    t.ok(srv.log.lines.some((l) => l.event === 'tn3270e_declined'), 'fell back from TN3270E')
    t.equal(srv.failures.length, 1)
    // s3270 drops the connection itself once its list is exhausted in TN3270 mode too
    t.match(srv.failures[0]?.message, /closed during negotiation \(await-ttype-is\)/)
    t.equal(srv.provider.held.size, 0, 'no LU held')
  })
})
