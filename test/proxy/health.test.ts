import t from 'tap'
import { INITIAL_HEALTH, ejectedUntil, ejectionTime, isAdmitted, onConnectFailure, onConnectSuccess, onGoodCheck, type HealthState } from '../../lib/proxy/health.js'

const policy = { failures: 3, baseTime: 1000, maxTime: 5000 }

t.test('consecutive failures eject; a success in between resets the count', async t => {
  let h: HealthState = INITIAL_HEALTH
  h = onConnectFailure(h, 10, policy)
  h = onConnectFailure(h, 11, policy)
  t.same(h, { state: 'admitted', consecutiveFailures: 2, ejections: 0 })
  t.ok(isAdmitted(h, 11))
  h = onConnectSuccess(h)
  t.same(h, INITIAL_HEALTH)
  h = onConnectFailure(onConnectFailure(onConnectFailure(h, 20, policy), 21, policy), 22, policy)
  t.same(h, { state: 'ejected', since: 22, until: 1022, ejections: 1 })
  t.notOk(isAdmitted(h, 1021))
  t.ok(isAdmitted(h, 1022), 'admitted again (probation) when the ejection time is over')
  t.equal(ejectedUntil(h), 1022)
  t.equal(ejectedUntil(INITIAL_HEALTH), 0)
})

t.test('failure while ejected changes nothing; on probation re-ejects with doubled backoff up to maxTime', async t => {
  let h = onConnectFailure(INITIAL_HEALTH, 0, { ...policy, failures: 1 })
  t.same(h, { state: 'ejected', since: 0, until: 1000, ejections: 1 })
  t.equal(onConnectFailure(h, 500, policy), h, 'late failure of a connect begun before the ejection')
  h = onConnectFailure(h, 1000, policy)
  t.same(h, { state: 'ejected', since: 1000, until: 3000, ejections: 2 })
  h = onConnectFailure(h, 3000, policy)
  t.same(h, { state: 'ejected', since: 3000, until: 7000, ejections: 3 })
  h = onConnectFailure(h, 7000, policy)
  t.same(h, { state: 'ejected', since: 7000, until: 12000, ejections: 4 }, 'capped at maxTime')
  t.same(onConnectSuccess(h), INITIAL_HEALTH, 'a successful connect forgets past ejections')
})

t.test('ejectionTime', async t => {
  t.equal(ejectionTime(0, policy), 1000)
  t.equal(ejectionTime(1, policy), 1000)
  t.equal(ejectionTime(2, policy), 2000)
  t.equal(ejectionTime(3, policy), 4000)
  t.equal(ejectionTime(4, policy), 5000)
  t.equal(ejectionTime(500, policy), 5000, 'no overflow for many ejections')
})

t.test('a good check re-admits only if taken after the ejection began', async t => {
  const h = onConnectFailure(INITIAL_HEALTH, 100, { ...policy, failures: 1 })
  t.equal(onGoodCheck(h, 99), h, 'an answer older than the ejection proves nothing')
  t.same(onGoodCheck(h, 100), { state: 'admitted', consecutiveFailures: 0, ejections: 1 })
  const admitted = { state: 'admitted', consecutiveFailures: 2, ejections: 0 } as const
  t.equal(onGoodCheck(admitted, 500), admitted, 'no effect on an admitted backend')
})
