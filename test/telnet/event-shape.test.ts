// lib/event-shape.ts: an emitter whose listener storage starts with its event names present
// behaves as Node's EventEmitter does (Node.js lib/events.js): on, once, off, emit, counts
// (docs/internals.md, idle-session memory).
import { EventEmitter } from 'node:events'
import t from 'tap'
import { presetEventShape } from '../../lib/event-shape.js'

t.test('listeners added, emitted and removed as usual', async t => {
  const e = new EventEmitter()
  presetEventShape(e, ['record', 'close', 'subneg'])
  t.equal(e.listenerCount('record'), 0, 'a preset name has no listener')
  const got: string[] = []
  const onRecord = (x: string): void => { got.push(`record ${x}`) }
  const onSubneg = (): void => { got.push('subneg') }
  e.on('record', onRecord)
  e.on('subneg', onSubneg)
  e.once('close', () => { got.push('close') })
  e.on('other', () => { got.push('other') })
  t.ok(e.emit('record', 'a'))
  e.emit('subneg')
  e.emit('close'); e.emit('close')
  e.emit('other')
  t.notOk(e.emit('nothing'), 'no listener, no call')
  e.off('subneg', onSubneg)
  t.equal(e.listenerCount('subneg'), 0)
  t.notOk(e.emit('subneg'))
  e.off('record', onRecord)
  t.notOk(e.emit('record', 'b'))
  t.same(got, ['record a', 'subneg', 'close', 'other'])
  t.throws(() => e.emit('error', new Error('unhandled')), /unhandled/, 'error without a listener still throws')
})

t.test('an emitter that already has listeners is left alone', async t => {
  const e = new EventEmitter()
  const f = (): void => {}
  e.on('record', f)
  presetEventShape(e, ['close'])
  t.equal(e.listenerCount('record'), 1, 'its listener kept')
  t.same(e.eventNames(), ['record'])
})
