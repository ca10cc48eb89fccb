// The interop matrix in TN3270E mode (RFC 2355): every row of test/helpers/interop.ts with the real
// s3270, directly at a gateway and through the proxy, against one demo (query BINDs, DEFAPPL DEMO).
// Rows run in parallel (each s3270 takes its own LU; the demo has 16 LUs per gateway).
import t from 'tap'
import { interopRows, pooled, runRow, type InteropPath } from '../helpers/interop.js'
import { startTestDemo } from '../helpers/e2e-gateway.js'

const MODE = 'tn3270e'

t.test(`interop matrix, ${MODE}: s3270 rows direct and through the proxy`, async t => {
  const demo = await startTestDemo(t, { gateways: 2, hosts: 2, lus: 8 })
  const ports: Record<InteropPath, number> = { direct: demo.gateways[0]!.listenerPort('tn3270'), proxy: demo.proxy.listeners[0]!.port }
  const started = Date.now()
  const jobs = interopRows().flatMap(row => (['direct', 'proxy'] as const).map(path => async () => {
    const at = Date.now()
    try {
      const checked = await runRow(row, { mode: MODE, path, port: ports[path] })
      return { row: row.name, path, ok: true, detail: checked.join(', '), ms: Date.now() - at }
    } catch (err) {
      return { row: row.name, path, ok: false, detail: (err as Error).message, ms: Date.now() - at }
    }
  }))
  const results = await pooled(jobs, 6)
  for (const r of results) t.ok(r.ok, `${r.row} (${r.path}, ${r.ms} ms): ${r.detail}`)
  t.comment(`${results.length} rows in ${Date.now() - started} ms`)
})
