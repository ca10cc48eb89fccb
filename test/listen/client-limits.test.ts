// Per-client caps (lib/listen/client-limits.ts): the bookkeeping both front doors share — counted
// per address (Microsoft HIS caps sessions per client address, KB 814166), slots given back once.
import t from 'tap'
import { ClientLimits, type ClientCaps } from '../../lib/listen/index.js'

t.test('slots are counted per address and given back once', async t => {
  const limits = new ClientLimits(() => ({ pending: 1, sessions: 2 }))
  const a = limits.admit('x')
  t.ok(a.ok)
  t.match(limits.admit('x'), { ok: false, limit: 'pending', count: 1, max: 1 })
  t.ok(limits.admit('z').ok, 'another address counts on its own')
  if (!a.ok) return
  a.slot.settle(); a.slot.settle()
  t.equal(limits.count('x', 'pending'), 0, 'settle is idempotent')
  const b = limits.admit('x')
  t.ok(b.ok, 'settled: room for another pending connection')
  t.match(limits.admit('x'), { ok: false, limit: 'sessions', count: 2, max: 2 })
  a.slot.release(); a.slot.release()
  t.equal(limits.count('x', 'sessions'), 1, 'release is idempotent')
  if (b.ok) b.slot.release()
  t.equal(limits.count('x', 'sessions'), 0)
  t.equal(limits.count('x', 'pending'), 0, 'a pending slot released without settling')
  if (b.ok) b.slot.settle()
  t.equal(limits.count('x', 'pending'), 0, 'settling a released slot counts nothing')
})

t.test('0 = no cap; caps are read at each admission (a reload applies to the next client)', async t => {
  let caps: ClientCaps = { pending: 0, sessions: 0 }
  const limits = new ClientLimits(() => caps)
  for (let i = 0; i < 50; i++) t.ok(limits.admit('y').ok)
  caps = { pending: 0, sessions: 50 }
  t.match(limits.admit('y'), { ok: false, limit: 'sessions', count: 50, max: 50 })
  caps = { pending: 10, sessions: 0 }
  t.match(limits.admit('y'), { ok: false, limit: 'pending', count: 50, max: 10 })
})
