// DEMO's template encoders (DemoScreens) against the field-by-field ScreenWriter path (demoScreen,
// floodRecord): the bytes on the wire must be the same for every screen and record. Byte layouts:
// IBM "3270 Data Stream Programmer's Reference", GA23-0059 (Write F1, Erase/Write F5, Erase/Write
// Alternate 7E, WCC through the code table, SBA X'11' with 12/14-bit addresses, SF X'1D', IC X'13').
import t from 'tap'
import { DemoScreens, demoScreen, floodRecord, renderDemo, type DemoScreenContext } from '../../lib/hostsim/screens.js'

const CTXS: DemoScreenContext[] = [
  { host: 'HOSTA', lu: 'GW1LU001', rows: 24, cols: 80 },
  { host: 'HOSTB', lu: 'GW1LU002', rows: 43, cols: 80, alternate: true, cp: 'cp273', terminal: 'SCREEN 43x80  CODE PAGE 273' },
  { host: 'H', lu: 'L', rows: 27, cols: 132, alternate: true, cp: 'cp1047', terminal: 'SCREEN 27x132' },
  // 62x160 needs 14-bit addresses (more than 4096 positions); a host name outside the code page.
  { host: 'HOSTÄ€', lu: 'GW1LU003', rows: 62, cols: 160, alternate: true, cp: 'cp285' },
]
const MESSAGES = [
  undefined, '', 'ECHO: hi', 'KEY NOT ASSIGNED', `ECHO: ${'X'.repeat(300)}`,
  // Characters that would be orders (SUB instead), outside Latin-1, a surrogate pair, and one cut in half by the message width.
  'ECHO: Ää€\u{1F600}\u0001\u001c end', `ECHO: ${'y'.repeat(71)}\u{1F600}`,
]

t.test('DemoScreens.screen is demoScreen, byte for byte', async t => {
  for (const ctx of CTXS) {
    const fast = new DemoScreens(ctx)
    for (const message of MESSAGES) {
      for (const alarm of [false, true]) {
        t.same(fast.screen(message, alarm), demoScreen(ctx, message, alarm), `${ctx.rows}x${ctx.cols} ${ctx.cp ?? 'cp037'} ${JSON.stringify(message)} alarm=${alarm}`)
      }
    }
    // The same templates serve the next screen: a second round gives the same bytes again.
    t.same(fast.screen('ECHO: again'), demoScreen(ctx, 'ECHO: again'))
  }
})

t.test('DemoScreens.floodRecord is floodRecord, byte for byte', async t => {
  const records: Array<[number, number]> = [[1, 1], [1, 20_000], [17, 20_000], [20_000, 20_000], [999_999, 1_000_000], [1_000_000, 1_000_000]]
  for (const ctx of CTXS) {
    const fast = new DemoScreens(ctx)
    for (const [i, n] of records) t.same(fast.floodRecord(i, n), floodRecord(ctx, i, n), `${ctx.rows}x${ctx.cols} record ${i} of ${n}`)
  }
})

t.test('a whole FLOOD, FLOODs of other sizes after it, and a screen too narrow for the record line', async t => {
  for (const ctx of [CTXS[0]!, CTXS[1]!]) {
    const fast = new DemoScreens(ctx)
    for (const n of [1200, 7, 1_000_000]) {
      let differ = 0
      const last = Math.min(n, 1200)
      for (let i = 1; i <= last; i++) if (!fast.floodRecord(i, n).equals(floodRecord(ctx, i, n))) differ++
      t.equal(differ, 0, `${ctx.cp ?? 'cp037'}: records 1-${last} of ${n} (the digits of i grow, the line stays ${ctx.cols - 2} wide)`)
    }
    t.same(fast.floodRecord(1_000_000, 1_000_000), floodRecord(ctx, 1_000_000, 1_000_000))
  }
  // 20 columns: `RECORD 123 OF 1000` fits 18, `RECORD 1234 OF 10000` does not and is cut.
  const narrow: DemoScreenContext = { host: 'N', lu: 'L', rows: 24, cols: 20 }
  const fast = new DemoScreens(narrow)
  for (const [i, n] of [[123, 1000], [1000, 1000], [1234, 10_000], [10_000, 10_000], [5, 999_999_999]] as const) {
    t.same(fast.floodRecord(i, n), floodRecord(narrow, i, n), `20 columns, record ${i} of ${n}`)
  }
})

t.test('wire bytes of DEMO records (24x80, cp037)', async t => {
  const ctx = CTXS[0]!
  const fast = new DemoScreens(ctx)
  // Write, WCC X'40'; SBA row 7 (address 560 = C8 F0); SF protected X'60'; the line padded to 78.
  const record17 = 'f1401' + '1c8f0' + '1d60' + 'd9c5c3d6d9c440f1f740d6c640f2f0f0f0f0' + '40'.repeat(78 - 18)
  t.equal(fast.floodRecord(17, 20_000).toString('hex'), record17)
  t.equal(floodRecord(ctx, 17, 20_000).toString('hex'), record17)
  // The last: WCC X'C2' (keyboard restore), then SBA to the input field (row 5 col 5 = C6 D5) and IC.
  const last = 'f1c2' + '11c8f0' + '1d60' + 'd9c5c3d6d9c440f2f0f0f0f040d6c640f2f0f0f0f0' + '40'.repeat(78 - 21) + '11c6d513'
  t.equal(fast.floodRecord(20_000, 20_000).toString('hex'), last)
  // Erase/Write, WCC X'C3' (restore + reset MDT); title (intensified X'E8', padded to 78), LU, message, prompt,
  // input field (unprotected X'40', ended by autoskip X'F0'), help line, cursor in the input field.
  const echo = 'f5c3' +
    '1140401de8' + 'a395f3f2f7f06093824084859496408896a2a340c8d6e2e3c1' + '40'.repeat(78 - 25) +
    '11c1501d60' + 'd3e440c7e6f1d3e4f0f0f1' +
    '11c3f01de8' + 'c5c3c8d67a40c8c5d3d3d6' +
    '11c6501d60' + '7e7e6e' + '11c6d41d40' + '11c75f1df0' +
    '115cf01d60' + 'c5d5e3c5d97ee2c5d5c44040c6d3d6d6c440954040d7d9c9d5e340ba95bb4040d7c6f37ed3d6c7d6c6c64040c3d3c5c1d97ed9c5c4c9e2d7d3c1e8' +
    '11c6d513'
  t.equal(fast.screen('ECHO: HELLO').toString('hex'), echo)
  t.equal(demoScreen(ctx, 'ECHO: HELLO').toString('hex'), echo)
})

t.test('renderDemo takes a context or a session\'s DemoScreens', async t => {
  const ctx = CTXS[0]!
  const fast = new DemoScreens(ctx)
  t.same([...renderDemo(fast, { type: 'flood', count: 3 })], [...renderDemo(ctx, { type: 'flood', count: 3 })])
  t.same([...renderDemo(fast, { type: 'screen', message: 'ECHO: X', alarm: true })], [demoScreen(ctx, 'ECHO: X', true)])
  t.same([...renderDemo(fast, { type: 'query' })], [...renderDemo(ctx, { type: 'query' })])
})
