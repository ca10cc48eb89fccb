// KB Q107866 as a table: (renegLimits, retryCnos) × failure × active sessions.
import t from 'tap'
import { decideRecovery, recoveryStep, retryCnosCovers, failureLabel, senseHex, type BindFailure, type RecoveryPhase, type RecoveryEvent } from '../../lib/appc/index.js'

const FAILURES: Record<string, BindFailure> = {
  'UNBIND': { kind: 'unbind', type: 0x01 },
  '08063426': { kind: 'negative', sense: 0x08063426 },
  '0805xxxx': { kind: 'negative', sense: 0x08050001 },
  '0801xxxx': { kind: 'negative', sense: 0x0801000a },
  'other': { kind: 'negative', sense: 0x08350018 },
}
// extra senses that must behave like 'other' or like their class
const MORE: Array<[BindFailure, 'covered' | 'not']> = [
  [{ kind: 'negative', sense: 0x08050000 }, 'covered'],
  [{ kind: 'negative', sense: 0x0805ffff }, 'covered'],
  [{ kind: 'negative', sense: 0x08010000 }, 'covered'],
  [{ kind: 'unbind', type: 0xfe }, 'covered'],
  [{ kind: 'negative', sense: 0x08060014 }, 'not'], // 0806 but not 3426: not in the seed's table
  [{ kind: 'negative', sense: 0x08063427 }, 'not'],
  [{ kind: 'negative', sense: 0x08213426 }, 'not'],
  [{ kind: 'negative', sense: 0x10086021 }, 'not'],
  [{ kind: 'negative', sense: 0x08090000 }, 'not'],
]

type Row = [renegLimits: boolean, retryCnos: boolean, failure: keyof typeof FAILURES, active: number, expected: 'renegotiate' | 'fail']
// Written out from the seed, not computed: with no active sessions RENEGLIMITS=YES renegotiates
// on anything, RETRYCNOS=YES on UNBIND/08063426/0805/0801, both NO never; with active sessions never.
const TABLE: Row[] = [
  [true, true, 'UNBIND', 0, 'renegotiate'], [true, true, '08063426', 0, 'renegotiate'], [true, true, '0805xxxx', 0, 'renegotiate'], [true, true, '0801xxxx', 0, 'renegotiate'], [true, true, 'other', 0, 'renegotiate'],
  [true, false, 'UNBIND', 0, 'renegotiate'], [true, false, '08063426', 0, 'renegotiate'], [true, false, '0805xxxx', 0, 'renegotiate'], [true, false, '0801xxxx', 0, 'renegotiate'], [true, false, 'other', 0, 'renegotiate'],
  [false, true, 'UNBIND', 0, 'renegotiate'], [false, true, '08063426', 0, 'renegotiate'], [false, true, '0805xxxx', 0, 'renegotiate'], [false, true, '0801xxxx', 0, 'renegotiate'], [false, true, 'other', 0, 'fail'],
  [false, false, 'UNBIND', 0, 'fail'], [false, false, '08063426', 0, 'fail'], [false, false, '0805xxxx', 0, 'fail'], [false, false, '0801xxxx', 0, 'fail'], [false, false, 'other', 0, 'fail'],
  [true, true, 'UNBIND', 1, 'fail'], [true, true, '08063426', 1, 'fail'], [true, true, '0805xxxx', 1, 'fail'], [true, true, '0801xxxx', 1, 'fail'], [true, true, 'other', 1, 'fail'],
  [true, false, 'UNBIND', 3, 'fail'], [true, false, '08063426', 3, 'fail'], [true, false, '0805xxxx', 3, 'fail'], [true, false, '0801xxxx', 3, 'fail'], [true, false, 'other', 3, 'fail'],
  [false, true, 'UNBIND', 1, 'fail'], [false, true, '08063426', 1, 'fail'], [false, true, '0805xxxx', 1, 'fail'], [false, true, '0801xxxx', 1, 'fail'], [false, true, 'other', 1, 'fail'],
  [false, false, 'UNBIND', 2, 'fail'], [false, false, '08063426', 2, 'fail'], [false, false, '0805xxxx', 2, 'fail'], [false, false, '0801xxxx', 2, 'fail'], [false, false, 'other', 2, 'fail'],
]

t.test('decideRecovery: the full KB Q107866 table (first failure)', async t => {
  t.equal(TABLE.length, 2 * 2 * 5 * 2)
  for (const [renegLimits, retryCnos, f, active, expected] of TABLE) {
    const d = decideRecovery({ renegLimits, retryCnos }, FAILURES[f]!, active, false)
    t.equal(d.action, expected, `renegLimits=${renegLimits} retryCnos=${retryCnos} ${f} active=${active}: ${d.reason}`)
    t.ok(d.reason.length > 10, 'the decision says why')
  }
})

t.test('only once: after one renegotiation every combination fails', async t => {
  for (const [renegLimits, retryCnos, f, active] of TABLE) {
    const d = decideRecovery({ renegLimits, retryCnos }, FAILURES[f]!, active, true)
    t.equal(d.action, 'fail', `renegLimits=${renegLimits} retryCnos=${retryCnos} ${f} active=${active}`)
  }
  t.match(decideRecovery({ renegLimits: true, retryCnos: true }, FAILURES['0805xxxx']!, 0, true).reason, /until the link restarts or the application retries/)
})

t.test('RETRYCNOS sense classes', async t => {
  for (const [f, c] of MORE) {
    t.equal(retryCnosCovers(f), c === 'covered', failureLabel(f))
    t.equal(decideRecovery({ renegLimits: false, retryCnos: true }, f, 0, false).action, c === 'covered' ? 'renegotiate' : 'fail')
    t.equal(decideRecovery({ renegLimits: true, retryCnos: false }, f, 0, false).action, 'renegotiate', 'renegLimits overrides retryCnos')
  }
  t.equal(senseHex(0x08050000), '08050000')
  t.equal(senseHex(0xffffffff), 'FFFFFFFF')
  t.equal(failureLabel({ kind: 'unbind', type: 1 }), 'UNBIND')
})

t.test('recovery state machine: one renegotiation, none until restart or retry', async t => {
  const run = (events: RecoveryEvent[], from: RecoveryPhase = 'normal'): RecoveryPhase => events.reduce(recoveryStep, from)
  t.equal(run(['renegotiate']), 'renegotiated')
  t.equal(run(['renegotiate', 'bind_ok']), 'normal', 'renegotiation worked')
  t.equal(run(['renegotiate', 'cnos_failed']), 'exhausted', 'CNOS failed')
  t.equal(run(['renegotiate', 'bind_failed_final']), 'exhausted', 'BIND failed again after the CNOS')
  t.equal(run(['bind_failed_final']), 'normal', 'a plain failure without renegotiation changes nothing')
  t.equal(run(['renegotiate', 'application_retry']), 'renegotiated', 'another allocation during recovery does not reset it')
  t.equal(run(['application_retry'], 'exhausted'), 'normal', 'the application retries')
  t.equal(run(['link_restart'], 'exhausted'), 'normal', 'the connection restarts')
  t.equal(run(['link_restart'], 'renegotiated'), 'normal')
  t.equal(run(['bind_failed_final', 'renegotiate'], 'exhausted'), 'renegotiated')
  // the sequence KB Q107866 describes, with the decision fed by the phase
  const settings = { renegLimits: false, retryCnos: true }
  let phase: RecoveryPhase = 'normal'
  const f = FAILURES['0805xxxx']!
  let d = decideRecovery(settings, f, 0, phase !== 'normal')
  t.equal(d.action, 'renegotiate')
  phase = recoveryStep(phase, 'renegotiate')
  phase = recoveryStep(phase, 'cnos_failed')
  d = decideRecovery(settings, f, 0, phase !== 'normal')
  t.equal(d.action, 'fail', 'no further attempt while exhausted')
  phase = recoveryStep(phase, 'application_retry')
  t.equal(decideRecovery(settings, f, 0, phase !== 'normal').action, 'renegotiate', 'after the application retries, one more')
})
