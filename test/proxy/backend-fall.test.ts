// A gateway whose /status stops answering is down after STATUS_FALL failed polls, not only once
// its last answer goes stale (HAProxy `fall`).
import t from 'tap'
import { Backend, STATUS_FALL } from '../../lib/proxy/backend.js'

t.test('consecutive failed polls take a backend down; one good poll brings it back', async t => {
  const b = new Backend({ id: 'gw1', host: '127.0.0.1', port: 1, adminUrl: 'http://127.0.0.1:2', weight: 1, source: 'static' })
  const capacity = { ready: true, draining: false, freeLus: 2, listenerOpen: true, pools: [] }
  const stale = 10_000
  b.polledStatus({ ok: true, at: 0, capacity })
  t.equal(b.isUp(100, stale), true)
  for (let i = 1; i < STATUS_FALL; i++) b.polledStatus({ ok: false, at: i * 2000, error: 'ECONNREFUSED' })
  t.equal(b.isUp(STATUS_FALL * 2000 - 1, stale), true, 'one failed poll is not enough')
  t.ok(b.view().status, 'its last status still counts for the balancer')
  b.polledStatus({ ok: false, at: STATUS_FALL * 2000, error: 'ECONNREFUSED' })
  t.equal(b.isUp(STATUS_FALL * 2000 + 1, stale), false, `down after ${STATUS_FALL} failed polls, well before staleness`)
  t.equal(b.view().status?.at, -Infinity, 'and its status reads as stale, so it is not chosen')
  t.equal(b.lastError?.message, 'ECONNREFUSED')
  b.polledStatus({ ok: true, at: 9000, capacity })
  t.equal(b.isUp(9001, stale), true, 'a good poll re-admits it')
})
