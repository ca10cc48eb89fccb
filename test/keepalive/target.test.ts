// telnetKeepAliveTarget: what the KeepAlive engine (KB Q137309) does to a telnet session — TM or
// NOP probes with their write callbacks, the reply event, close, and RST (or the owner's own reset,
// as the tn3270 relay's host leg does: a TLS socket cannot resetAndDestroy).
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import t from 'tap'
import { telnetKeepAliveTarget, type TelnetKeepAliveSession } from '../../lib/keepalive/index.js'

function fakeSession (closed = false): TelnetKeepAliveSession & { calls: string[], socket: Socket & EventEmitter } {
  const calls: string[] = []
  const socket = Object.assign(new EventEmitter(), {
    closed,
    end: () => { calls.push('end') },
    resetAndDestroy: () => { calls.push('resetAndDestroy') },
    destroy: () => { calls.push('destroy') },
  }) as unknown as Socket & EventEmitter
  const events = new EventEmitter()
  return {
    calls,
    socket,
    sendTimingMark: done => { calls.push('tm'); done() },
    sendNop: done => { calls.push('nop'); done() },
    on: (event, listener) => events.on(event, listener),
    emitReply: () => events.emit('timingMarkReply'),
  } as TelnetKeepAliveSession & { calls: string[], socket: Socket & EventEmitter, emitReply: () => void }
}

t.test('probes, reply, close and end go to the session', async t => {
  const s = fakeSession()
  const target = telnetKeepAliveTarget(s)
  const done: string[] = []
  target.sendProbe('timingmark', () => done.push('tm done'))
  target.sendProbe('nop', () => done.push('nop done'))
  t.same(s.calls, ['tm', 'nop'])
  t.same(done, ['tm done', 'nop done'], 'write callbacks passed through')
  let replies = 0
  target.onReply(() => { replies++ })
  ;(s as unknown as { emitReply: () => void }).emitReply()
  t.equal(replies, 1)
  let closes = 0
  target.onClose(() => { closes++ })
  s.socket.emit('close')
  s.socket.emit('close')
  t.equal(closes, 1, 'once')
  target.end()
  t.same(s.calls.slice(2), ['end'])
})

t.test('onClose on a socket already closed still calls back (next microtask)', async t => {
  const target = telnetKeepAliveTarget(fakeSession(true))
  await new Promise<void>(resolve => { target.onClose(resolve) })
  t.pass('called')
})

t.test('reset: the owner\'s hook when given, else an abort of the socket', async t => {
  const hooked = fakeSession()
  let hookCalls = 0
  telnetKeepAliveTarget(hooked, () => { hookCalls++ }).reset()
  t.equal(hookCalls, 1)
  t.same(hooked.calls, [], 'the socket is left to the hook')
  const plain = fakeSession()
  telnetKeepAliveTarget(plain).reset()
  t.ok(plain.calls.length > 0, 'the socket is aborted')
})
