// Printers in the host simulator and the pieces around them, pure: the LU1/LU3 BINDs the host
// sends and the gateway's checks of them ("SNA Formats", GA27-3136, BIND; the ISTINCLM logmodes
// SCS and D6328902 of "z/OS Communications Server: SNA Resource Definition Reference",
// SC27-3675), DEMO's PRINT command, print jobs as SCS and as 3270 data stream (GA23-0059), the
// functions a printer session is granted (RFC 2355 §7.2, §10.3), and the HELLO's LU types
// (docs/hostlink.md).
import t from 'tap'
import { printerBindRu, printerBindImage } from '../../lib/hostsim/bindimage.js'
import { DemoApp, DemoAid, MAX_COPIES } from '../../lib/hostsim/demo.js'
import { printJob, printRecord } from '../../lib/hostsim/print.js'
import { demoScreenLines } from '../../lib/hostsim/screens.js'
import { decodeBind, validateDependentLuBind, validateLu1Bind, validateLu2Bind, validateLu3Bind, encodeBind } from '../../lib/sna/index.js'
import { loadConfig, hostSimSchema } from '../../lib/config/index.js'
import { supportedFunctions, FUNCTION_CODE } from '../../lib/tn3270/index.js'
import { makeHello, validateHello } from '../../lib/hostlink/index.js'
import { planLus } from '../../lib/gateway/reload-plan.js'
import { expandPools } from '../../lib/gateway/index.js'

const cfg = loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { port: 0 } } })

t.test('LU1 and LU3 BINDs: the ISTINCLM presentation bytes, checked by LU type', async t => {
  const lu1 = printerBindRu({ bind: cfg.bind, application: 'DEMO', lu: 'PR1A001', type: 'lu1' })
  // BIND, format 0, FM profile 3, TS profile 3, PRIPROT B1, SECPROT 90, COMPROT 3080 (as the LU2 BIND).
  t.same([...lu1.subarray(0, 8)], [0x31, 0x01, 0x03, 0x03, 0xb1, 0x90, 0x30, 0x80])
  // Bytes 14-25: PSERVIC X'01000000E100000000000000' (SCS).
  t.equal(lu1.subarray(14, 26).toString('hex'), '01000000e100000000000000')
  const lu3 = printerBindRu({ bind: cfg.bind, application: 'DEMO', lu: 'PR1A001', type: 'lu3' })
  // PSERVIC X'030000000000185018507F00' (D6328902).
  t.equal(lu3.subarray(14, 26).toString('hex'), '030000000000185018507f00')
  const b1 = decodeBind(lu1)
  const b3 = decodeBind(lu3)
  t.equal(validateLu1Bind(b1), undefined)
  t.equal(validateLu3Bind(b3), undefined)
  t.equal(validateDependentLuBind(b1, 1), undefined)
  t.equal(validateDependentLuBind(b3, 3), undefined)
  t.match(validateDependentLuBind(b1, 3), { offset: 14, reason: /LU type 1 is not 3/ }, 'an LU1 BIND for an LU3 printer: sense at byte 14')
  t.match(validateLu1Bind(b3), { offset: 14 })
  t.ok(validateLu2Bind(b1) !== undefined, 'a display refuses a printer BIND')
  t.match(validateDependentLuBind(b1, 2), { offset: 14 })
  const img = printerBindImage({ bind: cfg.bind, application: 'DEMO', lu: 'PR1A001', type: 'lu1' })
  t.match(validateLu1Bind({ ...img, fmProfile: 4 }), { offset: 2 })
  t.match(validateLu1Bind({ ...img, tsProfile: 4 }), { offset: 3 })
  t.match(validateLu1Bind({ ...img, sendReceiveMode: 'FDX' }), { offset: 7 })
  t.match(validateLu1Bind({ ...img, cryptography: 1 }), { offset: 26 })
  t.same(encodeBind(img), lu1, 'the image encodes to the RU')
})

t.test('DEMO PRINT: copies, limits', async t => {
  const app = new DemoApp()
  app.start()
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['print'] }), [{ type: 'print', copies: 1 }])
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['PRINT 3'] }), [{ type: 'print', copies: 3 }])
  t.match(app.input({ aid: DemoAid.ENTER, fields: ['PRINT 0'] }), [{ type: 'screen', message: `PRINT TAKES A NUMBER OF COPIES FROM 1 TO ${MAX_COPIES}`, alarm: true }])
  t.match(app.input({ aid: DemoAid.ENTER, fields: ['PRINT x'] }), [{ type: 'screen', alarm: true }])
})

t.test('print jobs: the screen\'s text as SCS (LU type 1) and as a 3270 print buffer (LU type 3)', async t => {
  const lines = demoScreenLines({ host: 'HOSTA', lu: 'GW1A001', rows: 24, cols: 80 }, 'ECHO: HI')
  t.equal(lines.length, 24)
  t.same(lines.slice(0, 6), ['tn3270-lb demo host HOSTA', 'LU GW1A001', '', 'ECHO: HI', '', '==>'])
  t.match(lines[23], /^ENTER=SEND/)
  // "AB" then New Line X'15' (SCS); later copies start with Form Feed X'0C'.
  t.equal(printRecord('lu1', ['AB', ''], { firstCopy: true }).toString('hex'), 'c1c215' + '15')
  t.equal(printRecord('lu1', ['AB'], { firstCopy: false }).toString('hex'), '0c' + 'c1c215')
  // Erase/Write F5, WCC C8 (start printer), text, NL order 15 between lines, EM order 19 at the end.
  t.equal(printRecord('lu3', ['AB', 'C'], { firstCopy: true }).toString('hex'), 'f5c8' + 'c1c215' + 'c319')
  t.equal(printRecord('lu3', [], { firstCopy: true }).toString('hex'), 'f5c819')
  const job = [...printJob('lu1', ['AB'], 3)]
  t.same(job.map(r => r.endBracket), [false, false, true], 'the last copy ends the bracket')
  t.equal(job[1]!.data.toString('hex'), '0c' + 'c3d6d7e840f240d6c640f3' + '15' + 'c1c215', 'COPY 2 OF 3, then the text')
  t.same([...printJob('lu3', ['AB'], 1)].map(r => r.data.toString('hex')), ['f5c8c1c219'], 'one copy: no COPY line')
})

t.test('functions granted exactly when the session uses them (RFC 2355 §7.2, §10.3)', async t => {
  const names = (s: Set<number>): number[] => [...s].sort()
  t.same(names(supportedFunctions(true)), [FUNCTION_CODE['BIND-IMAGE'], FUNCTION_CODE.RESPONSES, FUNCTION_CODE.SYSREQ].sort(), 'a display: no printer functions')
  t.same(names(supportedFunctions(true, 'lu1')), [FUNCTION_CODE['BIND-IMAGE'], FUNCTION_CODE.RESPONSES, FUNCTION_CODE['SCS-CTL-CODES']].sort())
  t.same(names(supportedFunctions(false, 'lu3')), [FUNCTION_CODE['DATA-STREAM-CTL'], FUNCTION_CODE.RESPONSES].sort())
})

t.test('HELLO: LU types and associated printers are optional fields (docs/hostlink.md)', async t => {
  const h = makeHello('gateway', 'GW1', [{ name: 'gw1a001', locaddr: 2, printer: 'pr1a001' }, { name: 'PR1A001', locaddr: 3, luType: 1 }, { name: 'X', locaddr: 4 }])
  t.same(h.lus, [{ name: 'GW1A001', locaddr: 2, printer: 'PR1A001' }, { name: 'PR1A001', locaddr: 3, luType: 1 }, { name: 'X', locaddr: 4 }])
  t.same(validateHello(JSON.parse(JSON.stringify(h)), 'gateway').lus, h.lus, 'round trip')
  const bad = (lu: Record<string, unknown>): unknown => { try { validateHello({ ...h, lus: [lu] }, 'gateway') } catch (err) { return err } }
  t.match(bad({ name: 'A', locaddr: 2, luType: 2 }), { message: 'HELLO lus[0].luType 2 is not 1 or 3 (omit it for a display, LU type 2)' })
  t.match(bad({ name: 'A', locaddr: 2, printer: 'bad name' }), { message: /HELLO lus\[0\]\.printer "bad name" is not an SNA name/ })
})

t.test('a reload cannot turn a display LU into a printer live', async t => {
  const display = [{ name: 'P', host: 'H', lus: ['L1'], generic: 0 }]
  const current = expandPools(display)
  t.throws(() => planLus({ pools: [{ ...display[0]!, kind: 'printer' as const }], hosts: new Map([['H', { type: 'sna' as const, offered: new Map([['L1', { pu: 1, locaddr: 2 }]]) }]]), current }),
    { message: /LU L1 is a display \(LU type 2\); it cannot become a printer \(LU type 1\) live/ })
})
