import t from 'tap'
import fc from 'fast-check'
import { OptionTable, type QState, type QQueue, type Side, type Negotiation } from '../../lib/telnet/index.js'

// RFC 1143 §7 written out as a table, independently of the implementation. For side 'remote',
// on = WILL received / DO sent; for 'local', on = DO received / WILL sent.
type Input = 'recvOn' | 'recvOff' | 'askOn' | 'askOff'
type Row = [QState, QQueue, Input, QState, QQueue, 'on' | 'off' | null]
const TABLE: Row[] = [
  // receive "on" (WILL for him); NO case depends on policy and is tested separately
  ['YES', 'EMPTY', 'recvOn', 'YES', 'EMPTY', null],
  ['WANTNO', 'EMPTY', 'recvOn', 'NO', 'EMPTY', null], // error: DONT answered by WILL
  ['WANTNO', 'OPPOSITE', 'recvOn', 'YES', 'EMPTY', null], // error
  ['WANTYES', 'EMPTY', 'recvOn', 'YES', 'EMPTY', null],
  ['WANTYES', 'OPPOSITE', 'recvOn', 'WANTNO', 'EMPTY', 'off'],
  // receive "off"
  ['NO', 'EMPTY', 'recvOff', 'NO', 'EMPTY', null],
  ['YES', 'EMPTY', 'recvOff', 'NO', 'EMPTY', 'off'],
  ['WANTNO', 'EMPTY', 'recvOff', 'NO', 'EMPTY', null],
  ['WANTNO', 'OPPOSITE', 'recvOff', 'WANTYES', 'EMPTY', 'on'],
  ['WANTYES', 'EMPTY', 'recvOff', 'NO', 'EMPTY', null],
  ['WANTYES', 'OPPOSITE', 'recvOff', 'NO', 'EMPTY', null],
  // user asks to enable
  ['NO', 'EMPTY', 'askOn', 'WANTYES', 'EMPTY', 'on'],
  ['YES', 'EMPTY', 'askOn', 'YES', 'EMPTY', null], // error: already enabled
  ['WANTNO', 'EMPTY', 'askOn', 'WANTNO', 'OPPOSITE', null],
  ['WANTNO', 'OPPOSITE', 'askOn', 'WANTNO', 'OPPOSITE', null], // error: already queued
  ['WANTYES', 'EMPTY', 'askOn', 'WANTYES', 'EMPTY', null], // error: already negotiating
  ['WANTYES', 'OPPOSITE', 'askOn', 'WANTYES', 'EMPTY', null],
  // user asks to disable
  ['NO', 'EMPTY', 'askOff', 'NO', 'EMPTY', null], // error
  ['YES', 'EMPTY', 'askOff', 'WANTNO', 'EMPTY', 'off'],
  ['WANTNO', 'EMPTY', 'askOff', 'WANTNO', 'EMPTY', null], // error
  ['WANTNO', 'OPPOSITE', 'askOff', 'WANTNO', 'EMPTY', null],
  ['WANTYES', 'EMPTY', 'askOff', 'WANTYES', 'OPPOSITE', null],
  ['WANTYES', 'OPPOSITE', 'askOff', 'WANTYES', 'OPPOSITE', null], // error
]

const VERBS = { remote: { on: 'DO', off: 'DONT', recvOn: 'WILL', recvOff: 'WONT' }, local: { on: 'WILL', off: 'WONT', recvOn: 'DO', recvOff: 'DONT' } } as const

/** Drive a fresh table into (state, queue) using only legal operations. */
function reach (tbl: OptionTable, side: Side, opt: number, s: QState, q: QQueue): void {
  const v = VERBS[side]
  const steps: Record<string, Array<() => void>> = {
    'NO/EMPTY': [],
    'YES/EMPTY': [() => tbl.request(side, opt, true), () => tbl.received(v.recvOn, opt)],
    'WANTYES/EMPTY': [() => tbl.request(side, opt, true)],
    'WANTYES/OPPOSITE': [() => tbl.request(side, opt, true), () => tbl.request(side, opt, false)],
    'WANTNO/EMPTY': [() => tbl.request(side, opt, true), () => tbl.received(v.recvOn, opt), () => tbl.request(side, opt, false)],
    'WANTNO/OPPOSITE': [() => tbl.request(side, opt, true), () => tbl.received(v.recvOn, opt), () => tbl.request(side, opt, false), () => tbl.request(side, opt, true)],
  }
  for (const f of steps[`${s}/${q}`]!) f()
}

for (const side of ['remote', 'local'] as const) {
  t.test(`RFC 1143 §7 table, ${side} side, every state x queue x input`, async (t) => {
    for (const [s, q, input, ns, nq, send] of TABLE) {
      const tbl = new OptionTable({ acceptLocal: () => true, acceptRemote: () => true })
      reach(tbl, side, 5, s, q)
      t.same([tbl.state(side, 5), tbl.queue(side, 5)], [s, q], `reached ${s}/${q}`)
      const v = VERBS[side]
      const r = input === 'recvOn' ? tbl.received(v.recvOn, 5)
        : input === 'recvOff' ? tbl.received(v.recvOff, 5)
          : tbl.request(side, 5, input === 'askOn')
      t.same([tbl.state(side, 5), tbl.queue(side, 5)], [ns, nq], `${s}/${q} + ${input}`)
      const expected: Negotiation[] = send === null ? [] : [{ verb: v[send], option: 5 }]
      t.same(r.send, expected, `${s}/${q} + ${input} sends ${send ?? 'nothing'}`)
    }
  })
  t.test(`NO + peer asks, ${side} side: policy decides, never re-acknowledged`, async (t) => {
    const v = VERBS[side]
    const yes = new OptionTable({ acceptLocal: () => true, acceptRemote: () => true })
    let r = yes.received(v.recvOn, 0)
    t.same(r.send, [{ verb: v.on, option: 0 }])
    t.same(r.changes, [{ side, option: 0, enabled: true }])
    r = yes.received(v.recvOn, 0)
    t.same(r.send, [], 'a state already in force is not acknowledged again')
    t.same(r.changes, [])
    const no = new OptionTable({ acceptLocal: () => false, acceptRemote: () => false })
    r = no.received(v.recvOn, 0)
    t.same(r.send, [{ verb: v.off, option: 0 }])
    t.equal(no.state(side, 0), 'NO')
    t.same(r.changes, [])
  })
}

t.test('change reporting: enable, refuse, disable', async (t) => {
  const tbl = new OptionTable({ acceptLocal: () => true, acceptRemote: () => true })
  tbl.request('remote', 24, true)
  t.same(tbl.received('WONT', 24).changes, [{ side: 'remote', option: 24, enabled: false, refused: true }])
  tbl.request('remote', 24, true)
  t.same(tbl.received('WILL', 24).changes, [{ side: 'remote', option: 24, enabled: true }])
  t.ok(tbl.isEnabled('remote', 24))
  t.same(tbl.received('WONT', 24).changes, [{ side: 'remote', option: 24, enabled: false }])
  t.throws(() => tbl.state('local', 256), RangeError)
  t.ok(tbl.request('local', 1, false).errors.length === 1, 'disabling a disabled option is refused, no bytes')
})

t.test('assume: an option agreed before this table existed (a handed-over stream) is YES, silently', async (t) => {
  const tbl = new OptionTable({ acceptLocal: () => false, acceptRemote: () => false })
  tbl.assume('remote', 40)
  t.ok(tbl.isEnabled('remote', 40))
  t.same(tbl.received('WILL', 40), { send: [], changes: [], errors: [] }, 'a repeated WILL is not acknowledged (RFC 1143 §7, YES)')
  t.same(tbl.received('WONT', 40).changes, [{ side: 'remote', option: 40, enabled: false }], 'and WONT turns it off with a reported change')
  t.notOk(tbl.isEnabled('local', 40), 'the other side is untouched')
})

// ---- loop freedom: two tables wired back to back -----------------------------------------------

type Policy = (opt: number) => boolean
function wire (pa: Policy, pb: Policy): { a: OptionTable, b: OptionTable, pump: (from: 'a' | 'b', sends: Negotiation[]) => number } {
  const a = new OptionTable({ acceptLocal: pa, acceptRemote: pa })
  const b = new OptionTable({ acceptLocal: pb, acceptRemote: pb })
  // Deliver messages until quiet; returns how many were exchanged (throws on a loop).
  const pump = (from: 'a' | 'b', sends: Negotiation[]): number => {
    const queue: Array<{ to: OptionTable, n: Negotiation }> = sends.map((n) => ({ to: from === 'a' ? b : a, n }))
    let count = 0
    while (queue.length > 0) {
      if (++count > 1000) throw new Error('negotiation loop')
      const { to, n } = queue.shift()!
      const r = to.received(n.verb, n.option)
      for (const s of r.send) queue.push({ to: to === a ? b : a, n: s })
    }
    return count
  }
  return { a, b, pump }
}

t.test('no loops: yes-to-everything, refuse-everything, and mind changes', async (t) => {
  for (const [name, pb] of [['yes', () => true], ['no', () => false]] as const) {
    const { a, b, pump } = wire(() => true, pb)
    const n = pump('a', [...a.request('remote', 0, true).send, ...a.request('local', 0, true).send])
    t.ok(n <= 4, `${name}: ${n} messages`)
    t.equal(a.isEnabled('remote', 0), name === 'yes')
    t.equal(b.isEnabled('local', 0), name === 'yes')
    t.equal(a.state('remote', 0), b.state('local', 0))
  }
  // change of mind while the request is in flight: enable then disable before the answer
  const { a, b, pump } = wire(() => true, () => true)
  const first = a.request('remote', 0, true).send
  t.same(a.request('remote', 0, false).send, [], 'queued, nothing sent yet')
  t.equal(a.queue('remote', 0), 'OPPOSITE')
  pump('a', first)
  t.equal(a.state('remote', 0), 'NO')
  t.equal(b.state('local', 0), 'NO')
})

t.test('property: random requests on both ends always settle in agreement without loops', async (t) => {
  const op = fc.record({ who: fc.constantFrom('a', 'b'), side: fc.constantFrom('local', 'remote'), opt: fc.integer({ min: 0, max: 2 }), on: fc.boolean(), deliver: fc.boolean() })
  fc.assert(fc.property(fc.array(op, { maxLength: 30 }), fc.func(fc.boolean()), fc.func(fc.boolean()), (ops, fa, fb) => {
    const a = new OptionTable({ acceptLocal: (o) => fa(o, 'l'), acceptRemote: (o) => fa(o, 'r') })
    const b = new OptionTable({ acceptLocal: (o) => fb(o, 'l'), acceptRemote: (o) => fb(o, 'r') })
    const inFlight: Array<{ to: OptionTable, n: Negotiation }> = []
    let delivered = 0
    const deliverOne = (): void => {
      const { to, n } = inFlight.shift()!
      if (++delivered > 10_000) throw new Error('loop')
      for (const s of to.received(n.verb, n.option).send) inFlight.push({ to: to === a ? b : a, n: s })
    }
    for (const o of ops) {
      const me = o.who === 'a' ? a : b
      for (const s of me.request(o.side as Side, o.opt, o.on).send) inFlight.push({ to: me === a ? b : a, n: s })
      if (o.deliver && inFlight.length > 0) deliverOne()
    }
    while (inFlight.length > 0) deliverOne()
    for (let opt = 0; opt <= 2; opt++) {
      t.equal(a.state('local', opt), b.state('remote', opt))
      t.equal(a.state('remote', opt), b.state('local', opt))
      t.ok(['YES', 'NO'].includes(a.state('local', opt)) && ['YES', 'NO'].includes(a.state('remote', opt)), 'settled')
    }
  }), { numRuns: 300 })
})
