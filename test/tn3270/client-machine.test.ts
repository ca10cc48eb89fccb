// The client negotiation machine without sockets (lib/tn3270/client-machine.ts): every phase
// against every kind of input (no throw, a clear error for what is out of place), then its
// decisions one by one. Byte layouts per RFC 2355 §8 and RFC 1091.
import t from 'tap'
import { Opt } from '../../lib/telnet/index.js'
import {
  ClientNegotiation, clientFunctions, tn3270eDeviceType, encodeTn3270e, encodeTtype, encodeMessage,
  type ClientAction, type ClientInput, type ClientMachineConfig, type CommonAction,
} from '../../lib/tn3270/index.js'
import { ErrorCodes } from '../../lib/errors.js'
import { bytes } from '../telnet/fixtures/peer.js'

type Action = ClientAction | CommonAction

const opt = (side: 'local' | 'remote', option: number, enabled: boolean): ClientInput => ({ type: 'option', change: { side, option, enabled } })
const sbE = (body: Buffer): ClientInput => ({ type: 'subneg', option: Opt.TN3270E, data: body })
const sbT = (body: Buffer): ClientInput => ({ type: 'subneg', option: Opt.TTYPE, data: body })
const MODE_ON = [opt('remote', Opt.EOR, true), opt('local', Opt.EOR, true), opt('remote', Opt.BINARY, true), opt('local', Opt.BINARY, true)]
const screen = (text: string): Buffer => bytes(0xf5, 0xc2, text)

const BASE: ClientMachineConfig = {
  terminalType: 'IBM-3279-2-E',
  functions: clientFunctions(['RESPONSES', 'SYSREQ']),
  firstRecordTimeout: 0,
  peer: '192.0.2.9:23',
  screenCheck: (r) => r.toString('latin1').includes('REJECTED') ? 'REJECTED' : undefined,
}

function drive (inputs: ClientInput[], config: Partial<ClientMachineConfig> = {}): { m: ClientNegotiation, all: Action[], last: Action[] } {
  const m = new ClientNegotiation({ ...BASE, ...config })
  const all: Action[] = []
  let last: Action[] = []
  for (const i of inputs) { last = m.step(i); all.push(...last) }
  return { m, all, last }
}

const E = [opt('local', Opt.TN3270E, true), sbE(bytes(8, 2))]
const DEVICE_IS = sbE(bytes(2, 4, 'IBM-3278-2-E', 1, 'TCP00042'))
const TT = [opt('local', Opt.TTYPE, true), sbT(bytes(1))]
const wait = { firstRecordTimeout: 1000 }

function reach (phase: string): { m: ClientNegotiation } {
  switch (phase) {
    case 'telnet': return drive([])
    case 'device-type': return drive(E, { resource: 'LU01' })
    case 'functions': return drive([...E, DEVICE_IS])
    case 'terminal-type': return drive(TT, { resource: '0010' })
    case 'first-record': return drive([...TT, ...MODE_ON], wait)
    case 'first-record-e': return drive([...E, DEVICE_IS, sbE(bytes(3, 4, 2))], wait)
    case 'done': return drive([...TT, ...MODE_ON])
    case 'failed': return drive([{ type: 'closed', reason: 'x' }])
  }
  throw new Error(phase)
}

const PHASES = ['telnet', 'device-type', 'functions', 'terminal-type', 'first-record', 'first-record-e', 'done', 'failed']

function inputs (): Array<[string, ClientInput]> {
  const list: Array<[string, ClientInput]> = [
    ['SEND DEVICE-TYPE', sbE(encodeTn3270e({ kind: 'send-device-type' }))],
    ['DEVICE-TYPE REQUEST', sbE(encodeTn3270e({ kind: 'device-type-request', deviceType: 'IBM-3278-2' }))],
    ['DEVICE-TYPE IS', DEVICE_IS],
    ['DEVICE-TYPE REJECT', sbE(encodeTn3270e({ kind: 'device-type-reject', reason: 'DEVICE-IN-USE' }))],
    ['FUNCTIONS REQUEST (less)', sbE(encodeTn3270e({ kind: 'functions-request', functions: [2] }))],
    ['FUNCTIONS REQUEST (more)', sbE(encodeTn3270e({ kind: 'functions-request', functions: [0, 2] }))],
    ['FUNCTIONS IS', sbE(encodeTn3270e({ kind: 'functions-is', functions: [2] }))],
    ['FUNCTIONS IS (adds)', sbE(encodeTn3270e({ kind: 'functions-is', functions: [0] }))],
    ['malformed TN3270E', sbE(bytes(9, 9))],
    ['TTYPE SEND', sbT(encodeTtype({ kind: 'send' }))],
    ['TTYPE IS', sbT(encodeTtype({ kind: 'is', name: 'IBM-3278-2' }))],
    ['malformed TTYPE', sbT(bytes(7))],
    ['NEW-ENVIRON subnegotiation', { type: 'subneg', option: Opt.NEW_ENVIRON, data: bytes(1) }],
    ['screen record', { type: 'record', data: screen('READY') }],
    ['refusal record', { type: 'record', data: screen('REJECTED') }],
    ['TN3270E record', { type: 'record', data: encodeMessage({ dataType: '3270-DATA', requestFlag: 0, responseFlag: 0, seq: 1 }, screen('HI')) }],
    ['TN3270E response', { type: 'record', data: encodeMessage({ dataType: 'RESPONSE', requestFlag: 0, responseFlag: 0, seq: 1 }, bytes(0)) }],
    ['short record', { type: 'record', data: bytes(0, 0) }],
    ['timeout', { type: 'timeout', ms: 2000 }],
    ['closed', { type: 'closed', reason: 'peer closed the connection' }],
    ['aborted', { type: 'aborted' }],
    ['driver error', { type: 'error', message: 'write failed' }],
  ]
  for (const o of [Opt.TN3270E, Opt.TTYPE, Opt.EOR, Opt.BINARY, Opt.NAWS]) {
    for (const side of ['local', 'remote'] as const) {
      for (const on of [true, false]) list.push([`${side} ${o} ${on ? 'on' : 'off'}`, opt(side, o, on)])
    }
  }
  return list
}

const KNOWN = new Set(['timer', 'done', 'send-tn3270e', 'send-ttype', 'record-mode', 'log', 'fail'])

t.test('every phase x every input: no throw, known actions, clear failures', async (t) => {
  let cases = 0
  for (const phase of PHASES) {
    for (const [name, input] of inputs()) {
      const { m } = reach(phase)
      const before = m.phase
      t.equal(before, phase.replace(/-e$/, ''), `reached ${phase}`)
      let out: Action[] = []
      t.doesNotThrow(() => { out = m.step(input) }, `${phase} x ${name}`)
      cases++
      for (const a of out) t.ok(KNOWN.has(a.type), `${phase} x ${name}: known action ${a.type}`)
      const fail = out.find((a) => a.type === 'fail')
      if (fail?.type === 'fail') {
        t.equal(m.phase, 'failed')
        t.equal(fail.phase, before)
        t.ok(fail.message.length > 10, `${phase} x ${name}: ${fail.message}`)
      }
      if (before === 'done' || before === 'failed') t.same(out, [], `${phase} x ${name}: a finished machine does nothing`)
      t.ok(out.filter((a) => a.type === 'done' || a.type === 'fail').length <= 1, 'at most one ending')
    }
  }
  t.ok(cases > 200, `${cases} cases`)
})

t.test('out-of-place host messages fail with a message naming what and where', async (t) => {
  const cases: Array<[string, ClientInput, RegExp, string]> = [
    ['telnet', DEVICE_IS, /unexpected TN3270E device-type-is from host: TN3270E is not agreed/, ErrorCodes.TN3270E_MALFORMED],
    ['device-type', sbE(bytes(3, 4, 2)), /unexpected TN3270E functions-is from host in phase device-type/, ErrorCodes.TN3270E_MALFORMED],
    ['functions', sbE(bytes(8, 2)), /unexpected TN3270E send-device-type from host in phase functions/, ErrorCodes.TN3270E_MALFORMED],
    ['functions', sbE(bytes(3, 4, 0, 2)), /host FUNCTIONS IS \[0,2\] adds to our request \[2,4\]/, ErrorCodes.TN3270E_MALFORMED],
    ['telnet', sbT(bytes(0, 'X')), /unexpected TERMINAL-TYPE subnegotiation from host: 0058/, ErrorCodes.TELNET_PROTOCOL],
  ]
  for (const [phase, input, re, code] of cases) {
    const { m } = reach(phase)
    t.match(m.step(input), [{ type: 'fail', code, failure: 'protocol', abort: true, phase, message: re }], String(re))
  }
})

t.test('TN3270E: REQUEST with CONNECT as a 3278, functions agreed, counter-proposals', async (t) => {
  const d = drive(E, { resource: 'TSOPOOL' })
  // RFC 2355 §7.1.1: DEVICE-TYPE REQUEST <type> CONNECT <name>; 3278 even for a 3279.
  t.same(d.last, [{ type: 'send-tn3270e', message: { kind: 'device-type-request', deviceType: 'IBM-3278-2-E', connect: 'TSOPOOL' } }])
  t.same(d.m.step(DEVICE_IS), [{ type: 'send-tn3270e', message: { kind: 'functions-request', functions: [2, 4] } }])
  t.match(d.m.step(sbE(bytes(3, 7, 4, 0))), [{ type: 'send-tn3270e', message: { kind: 'functions-request', functions: [4] } }], 'the host wants more: REQUEST the common part')
  const end = d.m.step(sbE(bytes(3, 4, 4)))
  t.match(end, [{ type: 'record-mode' }, { type: 'log', event: 'tn3270_host_negotiated' }, { type: 'done', result: { mode: 'tn3270e', device: 'TCP00042', functions: ['SYSREQ'], terminalType: 'IBM-3278-2-E' } }])

  const less = drive([...E, DEVICE_IS, sbE(bytes(3, 7, 2))])
  t.match(less.last, [{ type: 'send-tn3270e', message: { kind: 'functions-is', functions: [2] } }, { type: 'record-mode' }, { type: 'log' }, { type: 'done' }], 'the host wants less: IS with its list')
  const rejected = drive([...E, sbE(bytes(2, 6, 5, 1))], { resource: 'LU9' })
  t.match(rejected.last, [{ type: 'fail', failure: 'refused', message: 'host 192.0.2.9:23 rejected DEVICE-TYPE REQUEST CONNECT LU9: DEVICE-IN-USE' }])
})

t.test('TN3270: TYPE@NAME, a second SEND refuses the name, 3270 mode on EOR+BINARY both ways', async (t) => {
  const d = drive(TT, { resource: '0010' })
  t.same(d.last, [{ type: 'send-ttype', message: { kind: 'is', name: 'IBM-3279-2-E@0010' } }])
  t.equal(d.m.phase, 'terminal-type')
  for (const o of MODE_ON.slice(0, 3)) t.same(d.m.step(o), [])
  t.match(d.m.step(MODE_ON[3]!), [{ type: 'record-mode' }, { type: 'log' }, { type: 'done', result: { mode: 'tn3270', terminalType: 'IBM-3279-2-E@0010', functions: [], pending: [] } }])
  const again = drive([...TT, sbT(bytes(1))], { resource: 'NOSUCH' })
  t.match(again.last, [{ type: 'fail', failure: 'refused', message: /refused terminal type IBM-3279-2-E@NOSUCH \(asked again: resource NOSUCH not available\)/ }])
  const generic = drive([...TT, sbT(bytes(1))])
  t.same(generic.last, [{ type: 'send-ttype', message: { kind: 'is', name: 'IBM-3279-2-E' } }], 'a generic type is simply sent again')
})

t.test('the host gives up TN3270E and goes on with TERMINAL-TYPE (RFC 2355 §7)', async (t) => {
  const d = drive([...E], { resource: 'LU01' })
  t.equal(d.m.phase, 'device-type')
  t.same(d.m.step(opt('local', Opt.TN3270E, false)), [])
  t.equal(d.m.phase, 'telnet')
  t.same(d.m.step(sbT(bytes(1))), [{ type: 'send-ttype', message: { kind: 'is', name: 'IBM-3279-2-E@LU01' } }], '@NAME now that the mode is TN3270')
})

t.test('first record: awaited, checked, handed over; a quiet host goes ahead after the wait', async (t) => {
  const d = drive([...TT, ...MODE_ON], { ...wait, resource: 'DEV1' })
  t.match(d.last.at(-1), { type: 'timer', ms: 1000 })
  t.same(d.m.step({ type: 'record', data: bytes(0x7d) }).map((a) => a.type), ['done'])
  const refused = drive([...TT, ...MODE_ON, { type: 'record', data: screen('REJECTED') }], { ...wait, resource: 'DEV1' })
  t.match(refused.last, [{ type: 'fail', failure: 'refused', phase: 'first-record', message: 'host 192.0.2.9:23 refused resource DEV1 on screen: "REJECTED"' }])
  const quiet = drive([...TT, ...MODE_ON, { type: 'timeout', ms: 1000 }], wait)
  t.match(quiet.last, [{ type: 'log', event: 'tn3270_host_no_first_record' }, { type: 'done' }])
  const closed = drive([...TT, ...MODE_ON, { type: 'closed', reason: 'eof' }], wait)
  t.match(closed.last, [{ type: 'fail', failure: 'closed', phase: 'first-record', message: /closed the connection before sending a screen \(eof\)/ }])
  // In TN3270E, NVT data waits with the screen; a response is not a screen.
  const e = drive([...E, DEVICE_IS, sbE(bytes(3, 4, 2))], wait)
  e.m.step({ type: 'record', data: encodeMessage({ dataType: 'RESPONSE', requestFlag: 0, responseFlag: 0, seq: 0 }, bytes(0)) })
  e.m.step({ type: 'record', data: encodeMessage({ dataType: 'NVT-DATA', requestFlag: 0, responseFlag: 0, seq: 0 }, bytes('hi')) })
  const done = e.m.step({ type: 'record', data: encodeMessage({ dataType: '3270-DATA', requestFlag: 0, responseFlag: 2, seq: 7 }, screen('OK')) })
  t.match(done, [{ type: 'done', result: { pending: [{ type: 'NVT-DATA' }, { type: '3270-DATA', seq: 7, responseFlag: 2 }] } }])
})

t.test('timeouts, closes and aborts say what was sent', async (t) => {
  t.match(drive([...TT, { type: 'timeout', ms: 150 }]).last, [{ type: 'fail', failure: 'timeout', code: ErrorCodes.TN3270_NEGOTIATION_TIMEOUT, message: /within 150 ms \(sent terminal type: IBM-3279-2-E, mode tn3270\)/ }])
  t.match(drive([{ type: 'timeout', ms: 150 }]).last, [{ type: 'fail', message: /sent terminal type: none/ }])
  t.match(drive([{ type: 'closed', reason: 'eof' }]).last, [{ type: 'fail', failure: 'closed', message: /during negotiation \(eof\)/ }])
  t.match(drive([{ type: 'aborted' }]).last, [{ type: 'fail', failure: 'aborted', message: 'connect to 192.0.2.9:23 aborted' }])
})

t.test('helpers: the function proposal and the TN3270E device type', async (t) => {
  t.same(clientFunctions(), [2])
  t.same(clientFunctions(['SYSREQ', 'BIND-IMAGE', 'RESPONSES', 'SYSREQ']), [2, 4], 'BIND-IMAGE never asked, no duplicates, in code order')
  t.equal(tn3270eDeviceType('ibm-3279-5-e'), 'IBM-3278-5-E')
  t.equal(tn3270eDeviceType('IBM-DYNAMIC'), 'IBM-DYNAMIC')
})
