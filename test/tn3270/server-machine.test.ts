// The server negotiation machine without sockets (lib/tn3270/server-machine.ts): every phase
// against every kind of input (no throw, no leaked lease, a clear error for what is out of
// place), then the flows a socket test cannot time exactly: decisions that arrive late, after a
// fallback or after the client left, and resumes from a snapshot. Byte layouts per RFC 2355 §8
// and RFC 1091; option codes per the IANA telnet registry (lib/telnet/codes.ts).
import t from 'tap'
import { Opt, type OptionChange } from '../../lib/telnet/index.js'
import {
  ServerNegotiation, encodeTn3270e, encodeTtype, encodeMessage, REASON_CODE,
  type DeviceDecision, type LuLease, type ServerAction, type ServerInput, type ServerPhase, type CommonAction, type NegotiationSnapshot,
} from '../../lib/tn3270/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import { bytes } from '../telnet/fixtures/peer.js'

type Action = ServerAction | CommonAction
type Phase = ServerPhase | 'done' | 'failed'

const opt = (side: 'local' | 'remote', option: number, enabled: boolean): ServerInput => ({ type: 'option', change: { side, option, enabled } satisfies OptionChange })
const sbE = (body: Buffer): ServerInput => ({ type: 'subneg', option: Opt.TN3270E, data: body })
const sbT = (body: Buffer): ServerInput => ({ type: 'subneg', option: Opt.TTYPE, data: body })

/** Leases handed to the machine, and which of them it gave back. */
class Leases {
  readonly out = new Set<LuLease>()
  grant (lu = 'LU01'): DeviceDecision {
    const lease: LuLease = { lu, pool: 'POOL', release: () => {} }
    this.out.add(lease)
    return { ok: true, lu, lease, bindImage: false }
  }

  see (actions: Action[]): void {
    for (const a of actions) if (a.type === 'release') t.ok(this.out.delete(a.lease), 'released a lease it was given, once')
  }
}

interface Driven { m: ServerNegotiation, leases: Leases, last: Action[], all: Action[] }

function drive (inputs: Array<ServerInput | ((all: Action[]) => ServerInput)>, tn3270e = true, leases = new Leases()): Driven {
  const m = new ServerNegotiation({ tn3270e, client: '192.0.2.1:1023' })
  let last: Action[] = []
  const all: Action[] = []
  for (const i of inputs) {
    last = m.step(typeof i === 'function' ? i(all) : i)
    leases.see(last)
    all.push(...last)
  }
  return { m, leases, last, all }
}

/** The decision for the latest allocate action. */
const decide = (leases: Leases, d?: DeviceDecision) => (all: Action[]): ServerInput => {
  const a = all.filter((x) => x.type === 'allocate').at(-1)
  if (a?.type !== 'allocate') throw new Error('no allocate action yet')
  return { type: 'decision', id: a.id, decision: d ?? leases.grant() }
}

// One script per phase, from a fresh machine (TN3270E offered unless said otherwise).
function reach (phase: Phase | 'await-allocation-tn3270' | 'await-query-reply-tn3270' | 'done-tn3270'): Driven {
  const L = new Leases()
  const e = [{ type: 'start' } as const, opt('remote', Opt.TN3270E, true)]
  const request = sbE(bytes(2, 7, 'IBM-3278-2'))
  const ttype = [{ type: 'start' } as const, opt('remote', Opt.TTYPE, true)]
  const modeOn = [opt('remote', Opt.EOR, true), opt('local', Opt.EOR, true), opt('remote', Opt.BINARY, true), opt('local', Opt.BINARY, true)]
  switch (phase) {
    case 'start': return drive([], true, L)
    case 'await-tn3270e': return drive([{ type: 'start' }], true, L)
    case 'await-device-type': return drive(e, true, L)
    case 'await-allocation': return drive([...e, request], true, L)
    case 'await-functions': return drive([...e, request, decide(L)], true, L)
    case 'await-functions-is': return drive([...e, request, decide(L), sbE(bytes(3, 7, 0, 2))], true, L)
    case 'await-query-reply': return drive([...e, sbE(bytes(2, 7, 'IBM-DYNAMIC')), decide(L), sbE(bytes(3, 7, 2))], true, L)
    case 'done': return drive([...e, request, decide(L), sbE(bytes(3, 7, 2))], true, L)
    case 'await-ttype': return drive([{ type: 'start' }], false, L)
    case 'await-ttype-is': return drive(ttype, false, L)
    case 'await-allocation-tn3270': return drive([...ttype, sbT(bytes(0, 'IBM-3278-2'))], false, L)
    case 'await-3270-options': return drive([...ttype, sbT(bytes(0, 'IBM-3278-2')), decide(L)], false, L)
    case 'await-query-reply-tn3270': return drive([...ttype, sbT(bytes(0, 'IBM-DYNAMIC')), decide(L), ...modeOn], false, L)
    case 'done-tn3270': return drive([...ttype, sbT(bytes(0, 'IBM-3278-2')), decide(L), ...modeOn], false, L)
    case 'failed': return drive([...e, request, decide(L), { type: 'closed', reason: 'test' }], true, L)
  }
}

const PHASES = ['start', 'await-tn3270e', 'await-device-type', 'await-allocation', 'await-functions', 'await-functions-is', 'await-query-reply', 'done',
  'await-ttype', 'await-ttype-is', 'await-allocation-tn3270', 'await-3270-options', 'await-query-reply-tn3270', 'done-tn3270', 'failed'] as const

const RESUME_E: NegotiationSnapshot = { mode: 'tn3270e', options: [{ option: Opt.TN3270E, local: false, remote: true }], request: { deviceType: 'IBM-3278-2' } }
const RESUME_T: NegotiationSnapshot = { mode: 'tn3270', options: [{ option: Opt.TTYPE, local: false, remote: true }], terminalType: 'IBM-3278-2' }

// Every kind of input a connection, a provider or a driver can produce (a lease is granted only
// when that input is the one fed).
function inputs (leases: Leases): Array<[string, ServerInput | (() => ServerInput)]> {
  const list: Array<[string, ServerInput | (() => ServerInput)]> = [
    ['start', { type: 'start' }],
    ['resume TN3270E', { type: 'resume', snapshot: RESUME_E }],
    ['resume TN3270', { type: 'resume', snapshot: RESUME_T }],
    ['SEND DEVICE-TYPE', sbE(encodeTn3270e({ kind: 'send-device-type' }))],
    ['DEVICE-TYPE REQUEST', sbE(encodeTn3270e({ kind: 'device-type-request', deviceType: 'IBM-3278-2', connect: 'LU02' }))],
    ['DEVICE-TYPE IS', sbE(encodeTn3270e({ kind: 'device-type-is', deviceType: 'IBM-3278-2', device: 'LU02' }))],
    ['DEVICE-TYPE REJECT', sbE(encodeTn3270e({ kind: 'device-type-reject', reason: 'INV-NAME' }))],
    ['FUNCTIONS REQUEST', sbE(encodeTn3270e({ kind: 'functions-request', functions: [2] }))],
    ['FUNCTIONS IS', sbE(encodeTn3270e({ kind: 'functions-is', functions: [2] }))],
    ['malformed TN3270E', sbE(bytes(9, 9))],
    ['TTYPE SEND', sbT(encodeTtype({ kind: 'send' }))],
    ['TTYPE IS', sbT(encodeTtype({ kind: 'is', name: 'IBM-3279-2-E@LU02' }))],
    ['malformed TTYPE', sbT(bytes(0))],
    ['NAWS subnegotiation', { type: 'subneg', option: Opt.NAWS, data: bytes(0, 80, 0, 24) }],
    ['TN3270E record', { type: 'record', data: encodeMessage({ dataType: '3270-DATA', requestFlag: 0, responseFlag: 0, seq: 0 }, bytes(0x88, 0, 10, 0x81, 0x81, 0, 0, 0, 80, 0, 24)) }],
    ['plain record', { type: 'record', data: bytes(0x88, 0, 10, 0x81, 0x81, 0, 0, 0, 132, 0, 27) }],
    ['short record', { type: 'record', data: bytes(0, 0) }],
    ['decision granted, id 1', () => ({ type: 'decision', id: 1, decision: leases.grant('LU07') })],
    ['decision refused, id 1', { type: 'decision', id: 1, decision: { ok: false, reason: 'DEVICE-IN-USE', message: 'busy' } }],
    ['decision granted, unknown id', () => ({ type: 'decision', id: 99, decision: leases.grant('LU08') })],
    ['timeout', { type: 'timeout', ms: 10_000 }],
    ['closed', { type: 'closed', reason: 'peer closed the connection' }],
    ['driver error', { type: 'error', message: 'onReject hook exploded' }],
  ]
  for (const o of [Opt.TN3270E, Opt.TTYPE, Opt.EOR, Opt.BINARY, Opt.NAWS]) {
    for (const side of ['local', 'remote'] as const) {
      for (const on of [true, false]) list.push([`${side} ${o} ${on ? 'on' : 'off'}`, opt(side, o, on)])
    }
  }
  return list
}

const KNOWN = new Set(['enable', 'send-record', 'send-nvt', 'allocate', 'withdraw', 'release', 'rejected', 'done', 'hand-over', 'send-tn3270e', 'send-ttype', 'record-mode', 'log', 'fail'])

t.test('every phase x every input: no throw, known actions, no leaked lease, clear failures', async (t) => {
  let cases = 0
  for (const phase of PHASES) {
    const fresh = reach(phase)
    t.ok(fresh.m.phase.startsWith(phase.replace(/-tn3270$/, '')), `reached ${phase} (${fresh.m.phase})`)
    for (const [name, _] of inputs(new Leases())) {
      const d = reach(phase)
      const make = inputs(d.leases).find(([n]) => n === name)![1]
      const input = typeof make === 'function' ? make() : make
      const before = d.m.phase
      let out: Action[] = []
      t.doesNotThrow(() => { out = d.m.step(input) }, `${phase} x ${name}`)
      d.leases.see(out)
      cases++
      for (const a of out) t.ok(KNOWN.has(a.type), `${phase} x ${name}: known action ${a.type}`)
      const fail = out.find((a) => a.type === 'fail')
      if (fail?.type === 'fail') {
        t.equal(d.m.phase, 'failed', `${phase} x ${name}: failed after a fail action`)
        t.equal(fail.phase, before, 'the failure names the phase it happened in')
        t.ok(fail.message.length > 10, `${phase} x ${name}: a message (${fail.message})`)
        t.ok(Object.values(ErrorCodes).includes(fail.code), 'a stable error code')
      }
      if (d.m.phase === 'failed') t.equal(d.leases.out.size, 0, `${phase} x ${name}: every lease released after a failure`)
      if (d.m.phase === 'done' || before === 'done') {
        const done = [...d.all, ...out].find((a) => a.type === 'done')
        t.equal(d.leases.out.size, 1, `${phase} x ${name}: only the session's lease is out`)
        if (done?.type === 'done') t.ok(d.leases.out.has(done.result.lease))
      }
      if (before === 'done' || before === 'failed') {
        t.ok(out.every((a) => a.type === 'release' || a.type === 'log'), `${phase} x ${name}: a finished machine only gives back late leases`)
      }
    }
  }
  t.ok(cases > 500, `${cases} cases`)
})

t.test('out-of-place messages fail with a message naming what and where', async (t) => {
  const cases: Array<[Phase, ServerInput, RegExp, string]> = [
    ['await-device-type', sbE(bytes(3, 7, 2)), /unexpected TN3270E functions-request in phase await-device-type/, ErrorCodes.TN3270E_MALFORMED],
    ['await-functions', sbE(bytes(2, 7, 'IBM-3278-2')), /unexpected TN3270E device-type-request in phase await-functions/, ErrorCodes.TN3270E_MALFORMED],
    ['await-allocation', sbE(bytes(2, 7, 'IBM-3278-2')), /unexpected TN3270E device-type-request in phase await-allocation/, ErrorCodes.TN3270E_MALFORMED],
    ['await-ttype', sbT(bytes(0, 'IBM-3278-2')), /unexpected TERMINAL-TYPE subnegotiation in phase await-ttype/, ErrorCodes.TELNET_PROTOCOL],
    ['await-ttype-is', sbT(bytes(1)), /unexpected TERMINAL-TYPE SEND from a client/, ErrorCodes.TELNET_PROTOCOL],
    ['await-tn3270e', { type: 'start' }, /start in phase await-tn3270e: a negotiation starts once/, ErrorCodes.TN3270_NEGOTIATION_FAILED],
    ['await-device-type', { type: 'resume', snapshot: RESUME_E }, /resume in phase await-device-type/, ErrorCodes.TN3270_NEGOTIATION_FAILED],
  ]
  for (const [phase, input, re, code] of cases) {
    const d = reach(phase)
    const fail = d.m.step(input).find((a) => a.type === 'fail')
    t.match(fail, { type: 'fail', code, failure: 'protocol', abort: true, phase, message: re }, `${phase}: ${re}`)
  }
})

t.test('a decision that arrives after the client left only releases its lease', async (t) => {
  for (const ending of [{ type: 'closed', reason: 'gone' }, { type: 'timeout', ms: 5000 }] as const) {
    const L = new Leases()
    const d = reach('await-allocation')
    const out = d.m.step(ending)
    t.match(out, [{ type: 'withdraw', id: 1 }, { type: 'fail', failure: ending.type === 'closed' ? 'closed' : 'timeout', phase: 'await-allocation' }])
    const granted = L.grant()
    const late = d.m.step({ type: 'decision', id: 1, decision: granted })
    t.match(late, [{ type: 'log', event: 'tn3270_late_lease_released' }, { type: 'release' }])
    L.see(late)
    t.equal(L.out.size, 0, 'the late lease went back')
    t.same(d.m.step({ type: 'decision', id: 1, decision: { ok: false, reason: 'DEVICE-IN-USE', message: 'x' } }), [], 'a late refusal needs nothing')
  }
})

t.test('WONT TN3270E while the provider decides: fall back to TN3270, release the late grant', async (t) => {
  const d = reach('await-allocation')
  const out = d.m.step(opt('remote', Opt.TN3270E, false))
  t.match(out, [{ type: 'log', event: 'tn3270e_declined' }, { type: 'withdraw', id: 1 }, { type: 'enable', side: 'remote', option: Opt.TTYPE }])
  t.equal(d.m.phase, 'await-ttype')
  const late = d.m.step({ type: 'decision', id: 1, decision: d.leases.grant() })
  d.leases.see(late)
  t.equal(d.leases.out.size, 0)
  // The client goes on in TN3270 mode; its next request gets id 2.
  d.m.step(opt('remote', Opt.TTYPE, true))
  const alloc = d.m.step(sbT(bytes(0, 'IBM-3278-2@LU01')))
  t.match(alloc, [{ type: 'allocate', id: 2, request: { mode: 'tn3270', deviceType: 'IBM-3278-2', resourceName: 'LU01', client: '192.0.2.1:1023' } }])
})

t.test('a hand-over decision stops the machine at the request: nothing sent, nothing held (docs/routing.md)', async (t) => {
  for (const phase of ['await-allocation', 'await-allocation-tn3270'] as const) {
    const d = reach(phase)
    const out = d.m.step({ type: 'decision', id: 1, decision: { handedOver: true } })
    t.same(out, [{ type: 'hand-over' }], `${phase}: one hand-over action, no bytes`)
    t.equal(d.m.phase, 'done')
    t.equal(d.m.finished, true)
    t.same(d.m.step({ type: 'closed', reason: 'x' }), [], 'a finished machine ignores the close that follows')
  }
  // A hand-over decided after the client left: nothing to give back, only a note.
  const d = reach('await-allocation')
  d.m.step({ type: 'closed', reason: 'gone' })
  t.match(d.m.step({ type: 'decision', id: 1, decision: { handedOver: true } }), [{ type: 'log', event: 'tn3270_late_handover' }])
  // A hand-over for a request already answered is stale too.
  const e = reach('await-functions')
  t.match(e.m.step({ type: 'decision', id: 1, decision: { handedOver: true } }), [{ type: 'log', event: 'tn3270_late_handover' }])
  t.equal(e.m.phase, 'await-functions')
})

t.test('the allocate action carries the snapshot a hand-over needs', async (t) => {
  const d = reach('await-device-type')
  const [a] = d.m.step(sbE(bytes(2, 7, 'ibm-3278-5-e', 1, 'myterm')))
  t.same(a, {
    type: 'allocate',
    id: 1,
    request: { mode: 'tn3270e', deviceType: 'IBM-3278-5-E', resourceName: 'MYTERM', client: '192.0.2.1:1023' },
    snapshot: { mode: 'tn3270e', options: [{ option: Opt.TN3270E, local: false, remote: true }], request: { deviceType: 'ibm-3278-5-e', connect: 'myterm' } },
  }, 'upper-cased for the provider, exactly as received in the snapshot')

  const tt = reach('await-ttype-is')
  tt.m.step(sbT(bytes(0, 'IBM-3279-2-E@lu09')))
  tt.m.step({ type: 'decision', id: 1, decision: { ok: false, reason: 'INV-NAME', message: 'no LU09 here' } })
  const [b] = tt.m.step(sbT(bytes(0, 'IBM-3279-2-E@LU02')))
  t.same(b, {
    type: 'allocate',
    id: 2,
    request: { mode: 'tn3270', deviceType: 'IBM-3279-2-E', resourceName: 'LU02', client: '192.0.2.1:1023' },
    snapshot: { mode: 'tn3270', options: [{ option: Opt.TTYPE, local: false, remote: true }], terminalType: 'IBM-3279-2-E@LU02', previousTerminalType: 'IBM-3279-2-E@LU09', lastRefusal: 'no LU09 here' },
  })
})

t.test('resume: nothing sent first, the request handled as if it had just arrived', async (t) => {
  const e = new ServerNegotiation({ tn3270e: true, client: 'c' })
  t.match(e.step({ type: 'resume', snapshot: { ...RESUME_E, request: { deviceType: 'IBM-3278-2', connect: 'LU02' } } }),
    [{ type: 'allocate', id: 1, request: { mode: 'tn3270e', deviceType: 'IBM-3278-2', resourceName: 'LU02' } }])
  const L = new Leases()
  t.same(e.step({ type: 'decision', id: 1, decision: L.grant('LU02') }), [{ type: 'send-tn3270e', message: { kind: 'device-type-is', deviceType: 'IBM-3278-2', device: 'LU02' } }])
  t.equal(e.phase, 'await-functions')

  // TN3270: a granted name goes on with EOR and BINARY; options the snapshot says are on are not asked again.
  const p = new ServerNegotiation({ tn3270e: false, client: 'c' })
  p.step({ type: 'resume', snapshot: { ...RESUME_T, options: [...RESUME_T.options, { option: Opt.BINARY, local: true, remote: true }] } })
  t.same(p.step({ type: 'decision', id: 1, decision: L.grant() }), [
    { type: 'enable', side: 'remote', option: Opt.EOR }, { type: 'enable', side: 'local', option: Opt.EOR },
  ])
  // A repeat of the previous (refused) name ends the client's list, with the refusal told in NVT text.
  const r = new ServerNegotiation({ tn3270e: true, client: 'c' })
  const out = r.step({ type: 'resume', snapshot: { ...RESUME_T, terminalType: 'ibm-3278-2@x', previousTerminalType: 'IBM-3278-2@X', lastRefusal: 'no X' } })
  t.match(out, [{ type: 'send-nvt', data: Buffer.from('tn3270-lb: no X\r\n') }, { type: 'fail', code: ErrorCodes.TN3270_DEVICE_TYPE, failure: 'refused' }])
})

t.test('resume refuses snapshots this server cannot continue', async (t) => {
  const offE = new ServerNegotiation({ tn3270e: false, client: 'c' })
  t.match(offE.step({ type: 'resume', snapshot: RESUME_E }), [{ type: 'fail', message: /offers TN3270 only/ }])
  const noWill = new ServerNegotiation({ tn3270e: true, client: 'c' })
  t.match(noWill.step({ type: 'resume', snapshot: { ...RESUME_E, options: [] } }), [{ type: 'fail', code: ErrorCodes.TN3270_SNAPSHOT_MALFORMED, message: /WILL TN3270E/ }])
  const noTtype = new ServerNegotiation({ tn3270e: true, client: 'c' })
  t.match(noTtype.step({ type: 'resume', snapshot: { ...RESUME_T, options: [] } }), [{ type: 'fail', code: ErrorCodes.TN3270_SNAPSHOT_MALFORMED, message: /WILL TERMINAL-TYPE/ }])
})

t.test('a refused TN3270E request stays answerable on the same connection (RFC 2355 §7.1)', async (t) => {
  const d = reach('await-allocation')
  const out = d.m.step({ type: 'decision', id: 1, decision: { ok: false, reason: 'DEVICE-IN-USE', message: 'LU01 in use' } })
  t.same(out, [
    { type: 'rejected', info: { mode: 'tn3270e', deviceType: 'IBM-3278-2', reason: 'DEVICE-IN-USE', message: 'LU01 in use', client: '192.0.2.1:1023' } },
    { type: 'send-tn3270e', message: { kind: 'device-type-reject', reason: 'DEVICE-IN-USE' } },
  ])
  t.equal(REASON_CODE['DEVICE-IN-USE'], 1)
  t.equal(d.m.phase, 'await-device-type')
})

// x3270 discards 3270-DATA while BIND-IMAGE is agreed and no BIND has come (telnet.c process_eor):
// a Read Partition Query then hangs the client. With BIND-IMAGE the host sizes the screen (its BIND
// and its own query after it); without, the gateway still asks during negotiation.
t.test('IBM-DYNAMIC with BIND-IMAGE agreed: done at FUNCTIONS IS, no query before the BIND', async (t) => {
  const L = new Leases()
  const lease = (): DeviceDecision => ({ ...(L.grant() as Extract<DeviceDecision, { ok: true }>), bindImage: true })
  const start = [{ type: 'start' } as const, opt('remote', Opt.TN3270E, true), sbE(bytes(2, 7, 'IBM-DYNAMIC'))]
  // s3270's request: BIND-IMAGE RESPONSES SYSREQ (ff fa 28 03 07 00 02 04 ff f0).
  const bound = drive([...start, decide(L, lease()), sbE(bytes(3, 7, 0, 2, 4))], true, L)
  t.equal(bound.m.phase, 'done')
  t.notOk(bound.all.some((a) => a.type === 'send-record'), 'no Read Partition Query sent')
  t.match(bound.last.find((a) => a.type === 'done'), { result: { deviceType: 'IBM-DYNAMIC', functions: ['BIND-IMAGE', 'RESPONSES', 'SYSREQ'], alt: { rows: 24, cols: 80 } } })
  // The same client without BIND-IMAGE (a host side that sends no BINDs): the gateway queries.
  const L2 = new Leases()
  const unbound = drive([...start, decide(L2), sbE(bytes(3, 7, 0, 2, 4))], true, L2)
  t.equal(unbound.m.phase, 'await-functions-is', 'BIND-IMAGE refused by a counter-proposal first')
  const after = unbound.m.step(sbE(bytes(3, 4, 2, 4)))
  t.match(after, [{ type: 'record-mode' }, { type: 'send-record' }])
  t.equal(unbound.m.phase, 'await-query-reply')
})
