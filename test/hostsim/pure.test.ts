// Pure parts of the host simulator: USS parsing, DEMO state machine and screens, faults, BIND image.
import t from 'tap'
import { parseUssCommand, decodeSscpLuInput, encodeSscpLuText, logonScreenLines, USS_MESSAGES } from '../../lib/hostsim/uss.js'
import { DemoApp, DemoAid, MAX_FLOOD } from '../../lib/hostsim/demo.js'
import { demoScreen, floodRecord, renderDemo } from '../../lib/hostsim/screens.js'
import { Faults, faultsUpdateSchema, hex8 } from '../../lib/hostsim/faults.js'
import { lu2BindRu, effectiveRuSize } from '../../lib/hostsim/bindimage.js'
import { decodeBind, validateLu2Bind, ebcdicToName } from '../../lib/sna/index.js'
import { Screen, parseOutbound, encode } from '../../lib/datastream/index.js'
import { loadConfig, hostSimSchema } from '../../lib/config/index.js'

t.test('USS command parsing', async t => {
  const apps = ['DEMO', 'TSO']
  t.same(parseUssCommand('LOGON APPLID(DEMO)'), { kind: 'logon', applid: 'DEMO', data: undefined, logmode: undefined })
  t.same(parseUssCommand('  logon applid(demo) logmode(d4a32782) data(\'hello there\') '),
    { kind: 'logon', applid: 'DEMO', data: 'hello there', logmode: 'D4A32782' })
  t.same(parseUssCommand('LOGON APPLID=TSO,LOGMODE=SNX32702'), { kind: 'logon', applid: 'TSO', data: undefined, logmode: 'SNX32702' })
  t.same(parseUssCommand('LOGON'), { kind: 'logon', applid: undefined, data: undefined, logmode: undefined })
  t.same(parseUssCommand('TSO', apps), { kind: 'logon', applid: 'TSO', data: undefined, logmode: undefined }, 'USSCMD shorthand')
  t.same(parseUssCommand('TSO'), { kind: 'invalid', message: USS_MESSAGES.unrecognized('TSO') }, 'not an application here')
  t.same(parseUssCommand('LOGOFF'), { kind: 'logoff' })
  t.same(parseUssCommand('LOGOFF TYPE(UNCOND)'), { kind: 'logoff' })
  t.same(parseUssCommand('LOGOFF NOW'), { kind: 'invalid', message: USS_MESSAGES.syntax('LOGOFF') })
  t.same(parseUssCommand('   '), { kind: 'empty' })
  t.same(parseUssCommand('LOGON APPLID(1BAD)'), { kind: 'invalid', message: USS_MESSAGES.value('APPLID') })
  t.same(parseUssCommand('LOGON LOGMODE(TOOLONGNAME)'), { kind: 'invalid', message: USS_MESSAGES.value('LOGMODE') })
  t.same(parseUssCommand('LOGON APPLID(DEMO'), { kind: 'invalid', message: USS_MESSAGES.syntax('LOGON') })
  t.same(parseUssCommand('LOGON APPLID'), { kind: 'invalid', message: USS_MESSAGES.syntax('LOGON') })
  t.same(parseUssCommand('LOGON APPLID='), { kind: 'invalid', message: USS_MESSAGES.syntax('LOGON') })
  t.same(parseUssCommand('LOGON (X)'), { kind: 'invalid', message: USS_MESSAGES.syntax('LOGON') })
  t.same(parseUssCommand('LOGON USER(BOB)'), { kind: 'invalid', message: USS_MESSAGES.parameter('USER') })
  t.same(parseUssCommand('HELLO WORLD', apps), { kind: 'invalid', message: USS_MESSAGES.unrecognized('HELLO') })
})

t.test('SSCP-LU input decoding: plain text, Read Modified form, CLEAR', async t => {
  t.equal(decodeSscpLuInput(encode('LOGON APPLID(DEMO)')), 'LOGON APPLID(DEMO)')
  const rm = Buffer.concat([Buffer.from([0x7d, 0x40, 0x40, 0x11, 0x40, 0x40]), encode('LOGON')])
  t.equal(decodeSscpLuInput(rm), 'LOGON', 'AID + cursor + SBA stripped')
  const rmNoSba = Buffer.concat([Buffer.from([0x7d, 0x40, 0x40]), encode('DEMO')])
  t.equal(decodeSscpLuInput(rmNoSba), 'DEMO')
  t.same(decodeSscpLuInput(Buffer.from([0x6d])), { kind: 'clear' })
  t.equal(decodeSscpLuInput(Buffer.concat([encode('A'), Buffer.from([0x00, 0x15]), encode('B')])), 'A B', 'nulls dropped, controls blank')
})

t.test('USS logon screen text is character-coded with NL line ends', async t => {
  const lines = logonScreenLines({ host: 'HOSTA', lu: 'LU1', applications: ['DEMO'], message: 'OOPS' })
  t.ok(lines.includes('OOPS'))
  t.ok(lines.some(l => l.includes('HOSTA')) && lines.some(l => l.includes('LU1')))
  const bytes = encodeSscpLuText(['AB', 'C'])
  t.same([...bytes], [0xc1, 0xc2, 0x15, 0xc3])
})

t.test('DEMO state machine', async t => {
  const app = new DemoApp()
  t.equal(app.state, 'new')
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['x'] }), [], 'no input before start')
  t.same(app.start(), [{ type: 'screen', message: undefined, alarm: false }])
  t.same(app.start(), [], 'start once')
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['hello world '] }), [{ type: 'screen', message: 'ECHO: hello world', alarm: false }])
  t.same(app.input({ aid: DemoAid.ENTER, fields: [] }), [{ type: 'screen', message: 'TYPE TEXT, FLOOD n, PRINT, OR PF3 TO LOG OFF', alarm: false }])
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['flood 20000'] }), [{ type: 'flood', count: 20000 }])
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['FLOOD'] })[0].type, 'screen')
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['FLOOD 0'] }), [{ type: 'screen', message: `FLOOD NEEDS A COUNT FROM 1 TO ${MAX_FLOOD}`, alarm: true }])
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['FLOOD 2.5'] })[0].type, 'screen')
  t.same(app.input({ aid: DemoAid.CLEAR, fields: [] }), [{ type: 'screen', message: undefined, alarm: false }])
  t.same(app.input({ aid: 0xf1, fields: [] }), [{ type: 'screen', message: 'KEY NOT ASSIGNED', alarm: true }])
  t.same(app.input({ aid: DemoAid.PF3, fields: [] }), [{ type: 'logoff' }])
  t.equal(app.state, 'ended')
  t.same(app.input({ aid: DemoAid.ENTER, fields: ['x'] }), [], 'nothing after logoff')
  const other = new DemoApp()
  other.start()
  other.end()
  t.equal(other.state, 'ended')
})

t.test('DEMO screens decode to the promised text', async t => {
  const ctx = { host: 'HOSTA', lu: 'GW1LU001', rows: 24, cols: 80 }
  const screen = new Screen({ rows: 24, cols: 80 })
  screen.apply(demoScreen(ctx, 'ECHO: hi'))
  const lines = screen.lines()
  t.match(lines[0], /tn3270-lb demo host HOSTA/)
  t.match(lines[1], /LU GW1LU001/)
  t.match(lines[3], /ECHO: hi/)
  t.match(lines[5], /==>/)
  t.notOk(screen.keyboardLocked, 'keyboard restored')
  const input = screen.fields().find(f => !f.attribute.protected)
  t.ok(input, 'an unprotected input field')
  t.equal(screen.cursor, input!.start, 'cursor in the input field')
  t.equal(parseOutbound(demoScreen(ctx, undefined)).command, 'EW')

  const rec = parseOutbound(floodRecord(ctx, 3, 10))
  t.equal(rec.command, 'W')
  t.equal(rec.wcc?.restore, false, 'only the last record unlocks')
  t.ok(rec.orders.some(o => o.order === 'TEXT' && o.text.startsWith('RECORD 3 OF 10')))
  t.equal(parseOutbound(floodRecord(ctx, 10, 10)).wcc?.restore, true)

  const all = [...renderDemo(ctx, { type: 'flood', count: 3 })]
  t.equal(all.length, 3)
  t.same([...renderDemo(ctx, { type: 'logoff' })], [])
  t.equal([...renderDemo(ctx, { type: 'screen', message: undefined, alarm: true })].length, 1)
})

t.test('faults: validate, apply, count down, clear', async t => {
  const f = new Faults()
  t.same(f.snapshot(), { rejectBinds: null, delayResponsesMs: 0 })
  t.equal(f.takeBindReject('LU1'), undefined)
  f.apply(faultsUpdateSchema.parse({ rejectBinds: { sense: '0x08063426', count: 2, lu: 'lu1' }, delayResponses: '250ms' }))
  t.same(f.snapshot(), { rejectBinds: { sense: '08063426', lu: 'LU1', remaining: 2, rejected: 0 }, delayResponsesMs: 250 })
  t.equal(f.takeBindReject('LU2'), undefined, 'other LU unaffected')
  t.equal(f.takeBindReject('lu1'), 0x08063426)
  t.equal(f.takeBindReject('LU1'), 0x08063426)
  t.equal(f.takeBindReject('LU1'), undefined, 'count used up')
  f.apply(faultsUpdateSchema.parse({ rejectBinds: { sense: '08010000' } }))
  t.equal(f.takeBindReject('ANY'), 0x08010000)
  t.equal(f.takeBindReject('ANY'), 0x08010000, 'no count: until cleared')
  f.apply(faultsUpdateSchema.parse({ rejectBinds: null }))
  t.equal(f.snapshot().rejectBinds, null)
  f.apply(faultsUpdateSchema.parse({ delayResponses: 40 }))
  t.equal(f.responseDelayMs, 40)
  f.apply(faultsUpdateSchema.parse({ clear: true }))
  t.same(f.snapshot(), { rejectBinds: null, delayResponsesMs: 0 })
  t.notOk(faultsUpdateSchema.safeParse({ rejectBinds: { sense: '0806' } }).success, 'sense needs 8 hex digits')
  t.notOk(faultsUpdateSchema.safeParse({ delayResponses: 'soon' }).success)
  t.notOk(faultsUpdateSchema.safeParse({ delayResponses: '11m' }).success)
  t.notOk(faultsUpdateSchema.safeParse({ bogus: 1 }).success, 'unknown keys refused')
  t.equal(hex8(0x8005), '00008005')
})

t.test('LU2 BIND image from config', async t => {
  const cfg = loadConfig(hostSimSchema, { base: { name: 'HOSTA', link: { port: 0 }, bind: { rows: 32, cols: 80, altRows: 43, altCols: 80, maxRuPrimary: 1000, maxRuSecondary: 256, primarySendWindow: 7, secondarySendWindow: 3 } } })
  const ru = lu2BindRu({ bind: cfg.bind, application: 'DEMO', lu: 'GW1LU001' })
  const b = decodeBind(ru)
  t.equal(validateLu2Bind(b), undefined, 'a valid LU2 BIND for the gateway side')
  // IBMLINK trace (x3270 c3270/Test/ibmlink2.trc) and KB Q195170: 31 01 03 03 B1 90 30 80
  t.same([...ru.subarray(0, 8)], [0x31, 0x01, 0x03, 0x03, 0xb1, 0x90, 0x30, 0x80])
  t.equal(ru[8], 0x03, 'byte 8: secondary send window 3')
  t.equal(ru[9], 0x07, 'byte 9: secondary receive window 7')
  t.equal(ru[12], 0x87, 'byte 12: one-stage, primary send window 7')
  t.equal(ru[13], 0x03, 'byte 13: primary receive window 3')
  t.equal(b.maxPrimarySendRu, 960, '1000 rounds down to 15 × 2^6')
  t.equal(effectiveRuSize(1000), 960)
  t.equal(b.maxSecondarySendRu, 256)
  t.equal(b.ps.kind, 'lu2')
  if (b.ps.kind === 'lu2') t.same([b.ps.rows, b.ps.cols, b.ps.altRows, b.ps.altCols, b.ps.screenSizeCode], [32, 80, 43, 80, 0x7f])
  t.equal(ebcdicToName(b.pluName), 'DEMO')
  t.equal(ebcdicToName(b.sluName!), 'GW1LU001')
  const plain = decodeBind(lu2BindRu({ bind: loadConfig(hostSimSchema, { base: { name: 'H', link: { port: 0 }, bind: { adaptivePacing: true } } }).bind, application: 'DEMO', lu: 'L' }))
  t.equal(plain.pacing.adaptive, true)
  if (plain.ps.kind === 'lu2') t.equal(plain.ps.screenSizeCode, 0x7e, 'no alternate size: X\'7E\'')
  t.throws(() => loadConfig(hostSimSchema, { base: { name: 'H', link: { port: 0 }, bind: { altRows: 12, altCols: 40 } } }), /altRows/)
  t.throws(() => loadConfig(hostSimSchema, { base: { name: 'H', link: { port: 0 }, defaultApplication: 'TSO' } }), /defaultApplication = "TSO": expected one of the configured applications/)
  t.equal(loadConfig(hostSimSchema, { base: { name: 'H', link: { port: 0 } }, sets: ['defaultApplication=demo', 'defaultApplicationFirstOnly=yes'] }).defaultApplicationFirstOnly, true, 'settable with --set')
})
