// BackendReads (lib/proxy/backend-reads.ts): a backend socket's reads through net.Socket's onread
// option (Node.js doc/api/net.md), into one shared buffer. Held while no consumer is set, relayed
// without a copy, and the shared buffer given up whenever a read's bytes stay queued.
import t from 'tap'
import net from 'node:net'
import { BackendReads, relayRead } from '../../lib/proxy/backend-reads.js'

t.test('reads with no consumer are copied and held, then given to the next consumer in order', async t => {
  const reads = new BackendReads()
  const { buffer, callback } = reads.option()
  const shared = buffer()
  shared.write('abc', 0, 'latin1')
  t.equal(callback(3, shared), true)
  shared.write('de', 0, 'latin1') // the next read into the same buffer
  t.equal(callback(2, shared), true)
  const got: string[] = []
  reads.consume((view, into: string[]) => { into.push(view.toString('latin1')); return true }, got)
  t.same(got, ['abc', 'de'], 'held reads kept their own bytes')
  shared.write('f', 0, 'latin1')
  t.equal(callback(1, shared), true)
  t.same(got, ['abc', 'de', 'f'])
})

t.test('a consumer answering false pauses; its answer goes back to Node', async t => {
  const reads = new BackendReads()
  const { buffer, callback } = reads.option()
  reads.consume(() => false)
  t.equal(callback(1, buffer()), false)
})

t.test('relayRead: bytes queued at a slow peer keep the buffer they were read into', async t => {
  // A peer that does not read: its socket's write queue fills, so relayed views stay queued.
  const server = net.createServer((s) => { s.pause() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const peer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  t.teardown(() => peer.destroy())
  await new Promise(resolve => peer.once('connect', resolve))
  const reads = new BackendReads()
  const { buffer } = reads.option()
  let queued = 0
  let changed = 0
  for (let i = 0; i < 200 && changed === 0; i++) {
    const before = buffer()
    before.fill(i, 0, 65536)
    relayRead(before.subarray(0, 65536), peer)
    if (peer.writableLength > 0) queued++
    if (buffer() !== before) changed++
  }
  t.ok(queued > 0, 'the peer socket queued some bytes')
  t.equal(changed, 1, 'the shared buffer was replaced as soon as a read stayed queued')
})
