// lib/listen: the ephemeral port range check (Linux /proc/sys/net/ipv4/ip_local_port_range; kernel
// documentation, Documentation/networking/ip-sysctl.rst) and the reopen backoff (docs/operations.md
// "Listener ports").
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inEphemeralRange, parsePortRange, readEphemeralRange, reopenDelay, REOPEN_MAX_MS, REOPEN_MIN_MS } from '../../lib/listen/index.js'

t.test('the range file as Linux writes it, and what is not', async t => {
  t.same(parsePortRange('32768\t60999\n'), { low: 32768, high: 60999 })
  t.same(parsePortRange(' 1024 65535 '), { low: 1024, high: 65535 })
  for (const bad of ['', '32768', '60999 32768', '0 100', '1 70000', 'a b']) t.equal(parsePortRange(bad), undefined, JSON.stringify(bad))
  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-listen-'))
  const f = join(dir, 'range')
  writeFileSync(f, '20000\t30000\n')
  t.same(await readEphemeralRange(f), { low: 20000, high: 30000 })
  t.equal(await readEphemeralRange(join(dir, 'none')), undefined, 'no file (not Linux): nothing to check')
  const here = await readEphemeralRange()
  t.ok(here === undefined || here.low <= here.high, 'this machine\'s range reads')
})

t.test('which ports are at risk', async t => {
  const r = { low: 32768, high: 60999 }
  t.ok(inEphemeralRange(32768, r))
  t.ok(inEphemeralRange(60999, r))
  t.notOk(inEphemeralRange(3270, r), 'the usual TN3270 ports are below it')
  t.notOk(inEphemeralRange(61000, r))
  t.notOk(inEphemeralRange(0, r), 'port 0: the kernel picks; nothing configured to protect')
  t.notOk(inEphemeralRange(40000, undefined))
})

t.test('reopen backoff: soon at first, then less often, capped', async t => {
  t.equal(reopenDelay(1), REOPEN_MIN_MS)
  t.equal(reopenDelay(2), REOPEN_MIN_MS * 2)
  t.equal(reopenDelay(0), REOPEN_MIN_MS)
  t.equal(reopenDelay(100), REOPEN_MAX_MS)
  const ds = Array.from({ length: 10 }, (_, i) => reopenDelay(i + 1))
  t.ok(ds.every((d, i) => i === 0 || d >= ds[i - 1]!), 'never shorter')
})
