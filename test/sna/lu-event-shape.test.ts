// restoreEventShape (lib/event-shape.ts): an emitter that outlives its sessions, as a dependent LU
// does, gets its fixed listener shape back with every listener it has; it still behaves as Node's
// EventEmitter (Node.js lib/events.js). Idle-session memory: bench/README.md.
import { EventEmitter, errorMonitor } from 'node:events'
import t from 'tap'
import { presetEventShape, restoreEventShape } from '../../lib/event-shape.js'

t.test('listeners, once-listeners, unknown names and symbol-keyed ones are kept', async t => {
  const e = new EventEmitter()
  presetEventShape(e, ['active', 'bind', 'data'])
  const got: string[] = []
  const onActive = (): void => { got.push('active') }
  const onBind1 = (): void => { got.push('bind 1') }
  e.on('active', onActive)
  e.on('bind', onBind1)
  e.on('bind', () => { got.push('bind 2') })
  e.once('data', () => { got.push('data once') })
  e.on('extra', () => { got.push('extra') })
  e.on(errorMonitor, () => { got.push('monitor') })
  e.on('error', () => { got.push('error') })
  e.off('bind', onBind1)
  restoreEventShape(e, ['active', 'bind', 'data', 'unbind'])
  // eventNames() lists every key once there are listeners (Node.js lib/events.js), as for Node's
  // own streams, whose storage is preset the same way.
  t.same(e.eventNames(), ['active', 'bind', 'data', 'unbind', 'extra', 'error', errorMonitor], 'preset names first, then the others')
  t.equal(e.listenerCount('unbind'), 0, 'a name preset now has no listener')
  e.emit('active'); e.emit('bind'); e.emit('data'); e.emit('data'); e.emit('extra'); e.emit('error', new Error('x'))
  t.same(got, ['active', 'bind 2', 'data once', 'extra', 'monitor', 'error'])
  e.off('active', onActive)
  t.notOk(e.emit('active'), 'removed as usual')
  const onUnbind = (): void => { got.push('unbind') }
  e.on('unbind', onUnbind)
  t.ok(e.emit('unbind'))
  e.removeAllListeners()
  t.same(e.eventNames(), [])
})

t.test('an emitter with no listeners gets the preset names only', async t => {
  const e = new EventEmitter()
  restoreEventShape(e, ['a', 'b'])
  t.same(e.eventNames(), [])
  let n = 0
  e.on('b', () => { n++ })
  e.emit('b')
  t.equal(n, 1)
})
