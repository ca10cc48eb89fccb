// Session-limit accounting, CNOS negotiation and SESTIMEOUT — pure, exhaustive over small ranges.
import t from 'tap'
import fc from 'fast-check'
import {
  canActivate, chooseActivation, bindAdmission, pickFreeSession, idleUnbindAfter, afterConversation, SESTIMEOUT_TICK_MS,
  negotiateCnos, acceptCnosReply, checkRequestedLimits, ReplyModifier, decodeCnos, encodeCnos, type ModeLimits,
} from '../../lib/appc/index.js'
import { mirror } from '../../lib/appc/limits.js'

t.test('activation never breaks the limit or the partner minimum (exhaustive 0..6)', async t => {
  let checked = 0
  for (let L = 0; L <= 6; L++) {
    for (let wl = 0; wl <= L; wl++) {
      for (let wp = 0; wp + wl <= L; wp++) {
        const l: ModeLimits = { sessionLimit: L, minWinners: wl, minPartnerWinners: wp }
        for (let w = 0; w <= L; w++) {
          for (let lo = 0; lo + w <= L; lo++) {
            if (w > L - wp || lo > L - wl) continue // unreachable: already breaks a minimum
            const c = { winners: w, losers: lo }
            const choice = chooseActivation(l, c)
            if (choice !== undefined) {
              const after = choice === 'winner' ? { winners: w + 1, losers: lo } : { winners: w, losers: lo + 1 }
              if (after.winners + after.losers > L) t.fail(`over limit ${JSON.stringify({ l, c })}`)
              if (after.winners > L - wp) t.fail(`partner minimum broken ${JSON.stringify({ l, c })}`)
              if (after.losers > L - wl) t.fail(`local minimum broken ${JSON.stringify({ l, c })}`)
              if (choice === 'loser' && canActivate(l, c, 'winner')) t.fail('a loser was chosen while a winner was possible')
            } else if (w + lo < L && (w < L - wp || lo < L - wl)) {
              t.fail(`refused although allowed ${JSON.stringify({ l, c })}`)
            }
            // the partner admits exactly what the gateway would activate (mirror view)
            const mine = canActivate(l, c, 'winner')
            const theirs = bindAdmission(mirror(l), { winners: lo, losers: w }, 'loser')
            if (mine !== (theirs === undefined)) t.fail(`gateway and partner disagree ${JSON.stringify({ l, c })}`)
            checked++
          }
        }
      }
    }
  }
  t.ok(checked > 500, `${checked} states checked`)
})

t.test('bindAdmission senses (GA27-3136 Sense Data 0805 0000 / 0805 0001)', async t => {
  t.equal(bindAdmission(undefined, { winners: 0, losers: 0 }, 'loser'), 0x08050000, 'limits never negotiated')
  t.equal(bindAdmission({ sessionLimit: 0, minWinners: 0, minPartnerWinners: 0 }, { winners: 0, losers: 0 }, 'loser'), 0x08050000, 'limits reset to zero')
  t.equal(bindAdmission({ sessionLimit: 2, minWinners: 0, minPartnerWinners: 0 }, { winners: 1, losers: 1 }, 'loser'), 0x08050000, 'limit reached')
  t.equal(bindAdmission({ sessionLimit: 4, minWinners: 2, minPartnerWinners: 0 }, { winners: 0, losers: 2 }, 'loser'), 0x08050001, 'would take a winner slot the receiver is owed')
  t.equal(bindAdmission({ sessionLimit: 4, minWinners: 2, minPartnerWinners: 0 }, { winners: 0, losers: 1 }, 'loser'), undefined)
  t.equal(chooseActivation({ sessionLimit: 2, minWinners: 0, minPartnerWinners: 2 }, { winners: 0, losers: 0 }), 'loser', 'all winners belong to the partner: bid on a loser')
  t.equal(chooseActivation({ sessionLimit: 0, minWinners: 0, minPartnerWinners: 0 }, { winners: 0, losers: 0 }), undefined)
})

t.test('pickFreeSession prefers winners, then the most recently used', async t => {
  t.equal(pickFreeSession([]), undefined)
  const a = { polarity: 'loser' as const, lastUsed: 9, n: 'a' }
  const b = { polarity: 'winner' as const, lastUsed: 1, n: 'b' }
  const c = { polarity: 'winner' as const, lastUsed: 5, n: 'c' }
  t.equal(pickFreeSession([a, b, c])!.n, 'c')
  t.equal(pickFreeSession([a])!.n, 'a')
  t.equal(pickFreeSession([b, a])!.n, 'b')
})

t.test('SESTIMEOUT (KB 831976): which sessions, how long', async t => {
  const winner = { polarity: 'winner' as const, initiatedLocally: true, autoActivated: false }
  t.equal(SESTIMEOUT_TICK_MS, 5000)
  t.equal(idleUnbindAfter(4, winner), 20000, 'default 4 ticks = 20 s')
  t.equal(idleUnbindAfter(1, winner), 5000)
  t.equal(idleUnbindAfter(0, winner), undefined, '0 = never')
  t.equal(idleUnbindAfter(4, { ...winner, polarity: 'loser' }), undefined, 'contention losers are not timed out')
  t.equal(idleUnbindAfter(4, { ...winner, initiatedLocally: false }), undefined, 'only sessions the gateway initiated')
  t.equal(idleUnbindAfter(4, { ...winner, autoActivated: true }), undefined, 'autoactivated sessions stay')
  for (const ticks of [0, 4]) {
    for (const s of [winner, { ...winner, polarity: 'loser' as const }, { ...winner, autoActivated: true }]) {
      t.same(afterConversation('cancel', ticks, s), { action: 'unbind_cleanup' }, 'cancel → UNBIND cleanup, whatever SESTIMEOUT')
      t.same(afterConversation('tp_ended_hard', ticks, s), { action: 'unbind_cleanup' }, 'TP_ENDED(HARD) → UNBIND cleanup')
    }
  }
  t.same(afterConversation('normal', 4, winner), { action: 'keep', idleMs: 20000 })
  t.same(afterConversation('normal', 0, winner), { action: 'keep', idleMs: undefined })
})

t.test('CNOS negotiation (target) and acceptance (source)', async t => {
  const req = { sessionLimit: 8, sourceWinners: 4, targetWinners: 0 }
  t.same(negotiateCnos(req, { sessionLimit: 8, minWinners: 0 }), { ...req, replyModifier: ReplyModifier.ACCEPTED })
  t.same(negotiateCnos(req, { sessionLimit: 3, minWinners: 0 }), { sessionLimit: 3, sourceWinners: 3, targetWinners: 0, replyModifier: ReplyModifier.NEGOTIATED })
  t.same(negotiateCnos(req, { sessionLimit: 8, minWinners: 6 }), { sessionLimit: 8, sourceWinners: 2, targetWinners: 6, replyModifier: ReplyModifier.NEGOTIATED })
  t.same(negotiateCnos(req, { sessionLimit: 0, minWinners: 2 }), { sessionLimit: 0, sourceWinners: 0, targetWinners: 0, replyModifier: ReplyModifier.NEGOTIATED })
  t.same(negotiateCnos(req, undefined), { sessionLimit: 0, sourceWinners: 0, targetWinners: 0, replyModifier: ReplyModifier.MODE_NOT_RECOGNIZED })
  // property: the target never raises the limit and its reply is always acceptable to the source
  fc.assert(fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (L, ws, wt, dl, dw) => {
    const r = { sessionLimit: L, sourceWinners: Math.min(ws, L), targetWinners: Math.min(wt, L - Math.min(ws, L)) }
    const n = negotiateCnos(r, { sessionLimit: dl, minWinners: dw })
    const reply = decodeCnos(encodeCnos({ kind: 'reply', mode: 'M', ...n }))
    const acc = acceptCnosReply({ ...r, mode: 'M' }, reply)
    return n.sessionLimit <= L && acc.ok && n.sourceWinners + n.targetWinners <= n.sessionLimit
  }))
  const reply = (o: Partial<Parameters<typeof encodeCnos>[0]>) => decodeCnos(encodeCnos({ kind: 'reply', mode: 'M', sessionLimit: 4, sourceWinners: 2, targetWinners: 0, ...o }))
  const r4 = { sessionLimit: 4, sourceWinners: 2, targetWinners: 0, mode: 'M' }
  t.same(acceptCnosReply(r4, reply({})), { ok: true, limits: { sessionLimit: 4, sourceWinners: 2, targetWinners: 0 }, negotiated: false })
  t.match(acceptCnosReply(r4, reply({ sessionLimit: 2, replyModifier: 1 })), { ok: true, negotiated: true })
  t.match(acceptCnosReply(r4, reply({ kind: 'request' })), { ok: false, reason: /request where a reply/ })
  t.match(acceptCnosReply(r4, reply({ replyModifier: 2 })), { ok: false, reason: /does not recognise mode M/ })
  t.match(acceptCnosReply(r4, reply({ replyModifier: 7 })), { ok: false, reason: /reply modifier X'07'/ })
  t.match(acceptCnosReply(r4, reply({ mode: 'OTHER' })), { ok: false, reason: /names mode OTHER/ })
  t.match(acceptCnosReply(r4, reply({ modeSelect: 1 })), { ok: false, reason: /all modes/ })
  t.match(acceptCnosReply(r4, reply({ sessionLimit: 5 })), { ok: false, reason: /raised the session limit/ })
  t.match(acceptCnosReply(r4, reply({ sourceWinners: 3, targetWinners: 2 })), { ok: false, reason: /exceed/ })
  t.equal(checkRequestedLimits({ sessionLimit: 4, sourceWinners: 2, targetWinners: 2 }), undefined)
  t.match(checkRequestedLimits({ sessionLimit: 4, sourceWinners: 3, targetWinners: 2 }), /exceed sessionLimit 4/)
  t.match(checkRequestedLimits({ sessionLimit: -1, sourceWinners: 0, targetWinners: 0 }), /sessionLimit must be/)
})
