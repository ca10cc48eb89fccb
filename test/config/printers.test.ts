// Printer pools in the gateway config (lib/config/printers.ts, docs/printers.md): the pairs of
// display and printer LUs ASSOCIATE uses (RFC 2355 §7.1), by position (z/OS pairs terminal and
// printer LU groups of equal size) or by explicit `printer` entries (HIS "associated printer"),
// and the config errors for pairings that cannot work.
import t from 'tap'
import { gatewayConfigSchema, loadConfig, printerPairs } from '../../lib/config/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'

const base = (pools: unknown[], listenerPools = ['HOSTA', 'HOSTAPRT']) => ({
  listeners: [{ name: 'tn3270', port: 0, pools: listenerPools }],
  hosts: [{ name: 'HOSTA', link: { type: 'sna', port: 1 } }, { name: 'HOSTB', link: { type: 'sna', port: 2 } }],
  pools,
})

function errorOf (b: unknown): string {
  try { loadConfig(gatewayConfigSchema, { base: b }) } catch (err) {
    if (isLbError(err, ErrorCodes.CONFIG_INVALID)) return err.message
    throw err
  }
  throw new Error('expected a config error')
}

t.test('pairing by position, explicit pairs winning, defaults', async t => {
  const c = loadConfig(gatewayConfigSchema, {
    base: base([
      { name: 'HOSTA', host: 'HOSTA', lus: [{ name: 'GW1A001', printer: 'PR1A003' }, 'GW1A002..GW1A003'], printerPool: 'HOSTAPRT' },
      { name: 'HOSTAPRT', host: 'HOSTA', kind: 'printer', lus: ['PR1A001..PR1A003'] },
    ]),
  })
  t.equal(c.pools[0]!.kind, 'display', 'display by default')
  t.equal(c.pools[1]!.luType, undefined, 'luType left to its default (lu1) by the registry')
  // GW1A001 has PR1A003 explicitly; by position GW1A002 → PR1A002; GW1A003 would get PR1A003, taken.
  t.same([...printerPairs(c.pools)], [['GW1A001', 'PR1A003'], ['GW1A002', 'PR1A002']])
})

t.test('pairings that cannot work are config errors', async t => {
  const printers = { name: 'HOSTAPRT', host: 'HOSTA', kind: 'printer', lus: ['PR1A001..PR1A002'] }
  t.match(errorOf(base([{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001..GW1A003'], printerPool: 'HOSTAPRT' }, printers])),
    /pools.0.printerPool .*at least as many LUs as this pool \(3\); HOSTAPRT has 2/)
  t.match(errorOf(base([{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001'], printerPool: 'NOPE' }, printers])), /expected the name of a configured pool; NOPE is not one/)
  t.match(errorOf(base([{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001'], printerPool: 'OTHER' }, printers, { name: 'OTHER', host: 'HOSTA', lus: ['X1'] }], ['HOSTA'])),
    /expected a printer pool \(kind: printer\); OTHER is a display pool/)
  t.match(errorOf(base([{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001'], printerPool: 'HOSTAPRT' }, { ...printers, host: 'HOSTB' }])),
    /expected a printer pool on host HOSTA, like its displays; HOSTAPRT is on HOSTB/)
  t.match(errorOf(base([{ name: 'HOSTA', host: 'HOSTA', lus: [{ name: 'GW1A001', printer: 'GW1A002' }, 'GW1A002'] }, printers])),
    /pools.0.lus.0.printer .*expected an LU of a printer pool \(kind: printer\); GW1A002 is not one/)
  t.match(errorOf(base([{ name: 'HOSTA', host: 'HOSTA', lus: [{ name: 'GW1A001', printer: 'PR1A001' }, { name: 'GW1A002', printer: 'PR1A001' }] }, printers])),
    /pools.0.lus.1.printer .*PR1A001 is already the printer of GW1A001/)
  t.match(errorOf(base([{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001'], luType: 'lu3' }, printers])), /pools.0.luType .*only on a printer pool/)
  t.match(errorOf(base([{ name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001'] }, { ...printers, printerPool: 'HOSTA' }])), /pools.1.printerPool .*only on a display pool/)
  t.match(errorOf(base([
    { name: 'HOSTA', host: 'HOSTA', lus: ['GW1A001'], printerPool: 'HOSTAPRT' },
    { name: 'HOSTA2', host: 'HOSTA', lus: ['GW1A002'], printerPool: 'HOSTAPRT' },
    printers,
  ])), /pools.1.printerPool .*HOSTAPRT is already the printerPool of HOSTA/)
})
