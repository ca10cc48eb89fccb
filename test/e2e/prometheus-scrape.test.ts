// Debian's Prometheus really scrapes the demo's proxy and gateways, with the shipped alert rules
// loaded, and sees the metrics docs/metrics.md lists; every query of the shipped Grafana
// dashboard (deploy/grafana) names metrics the live /metrics serve and runs in Prometheus.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { startDemo } from '../../lib/demo.js'
import { silentLogger } from '../../lib/observability/index.js'
import { freePort } from '../helpers/ports.js'
import { untilValue as until } from '../helpers/until.js'

async function query (port: number, q: string): Promise<Array<{ metric: Record<string, string>, value: [number, string] }>> {
  const res = await request(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`)
  const body = await res.body.json() as { status: string, data?: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }
  return body.status === 'success' ? body.data!.result : []
}


t.test('Prometheus scrapes the proxy and gateways and loads the alert rules', async t => {
  const d = await startDemo({ basePort: 0, gateways: 2, hosts: 1, lus: 2, bind: '127.0.0.1', sets: [], logger: silentLogger() })
  t.teardown(() => d.shutdown({ immediate: true }))
  const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-prom-'))
  copyFileSync(new URL('../../deploy/prometheus/alerts.yml', import.meta.url), join(dir, 'alerts.yml'))
  const targets = (list: number[]) => list.map(p => `'127.0.0.1:${p}'`).join(', ')
  writeFileSync(join(dir, 'prometheus.yml'), `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: tn3270-proxy
    static_configs: [{ targets: [${targets([d.proxy.admin.port])}] }]
  - job_name: tn3270-gateway
    static_configs: [{ targets: [${targets(d.gateways.map(g => g.adminAddress.port))}] }]
`)
  const port = await freePort()
  const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  const stderr: string[] = []
  prom.stderr.on('data', (c: Buffer) => stderr.push(c.toString()))
  t.teardown(() => { prom.kill('SIGKILL') })

  const up = await until('every target up', async () => {
    const r = await query(port, 'up')
    return r.length === 3 && r.every(x => x.value[1] === '1') ? r : undefined
  })
  t.same(up.map(r => r.metric.job).sort(), ['tn3270-gateway', 'tn3270-gateway', 'tn3270-proxy'], 'proxy and both gateways scraped')

  const lus = await until('gateway LU gauges', async () => {
    const r = await query(port, 'sum by (instance) (tn3270_gateway_lus{state="free"})')
    return r.length === 2 ? r : undefined
  })
  t.same(lus.map(r => r.value[1]), ['2', '2'], 'each gateway reports 2 free LUs')
  const backends = await until('proxy backend gauges', async () => {
    const r = await query(port, 'tn3270_proxy_backend_up')
    return r.length === 2 && r.every(x => x.value[1] === '1') ? r : undefined
  })
  t.equal(backends.length, 2, 'the proxy reports both gateways up')

  const res = await request(`http://127.0.0.1:${port}/api/v1/rules`)
  const rules = await res.body.json() as { data: { groups: Array<{ rules: Array<{ name: string, health: string }> }> } }
  const all = rules.data.groups.flatMap(g => g.rules)
  t.ok(all.length >= 10, `alert rules loaded (${all.length})`)
  await until('rules evaluated', async () => {
    const r = await request(`http://127.0.0.1:${port}/api/v1/rules`)
    const b = await r.body.json() as typeof rules
    const rs = b.data.groups.flatMap(g => g.rules)
    return rs.every(x => x.health === 'ok') ? true : undefined
  })
  t.pass('every rule evaluates without error against the real series')

  const build = await until('build info', async () => {
    const r = await query(port, 'tn3270_build_info')
    return r.length === 3 ? r : undefined
  })
  t.ok(build.every(r => r.metric.version !== undefined && r.metric.node === process.version), 'tn3270_build_info{version,node} from every role')

  await t.test('every dashboard query: metrics the live /metrics serve, valid PromQL', async t => {
    const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/dashboards/tn3270-lb.json', import.meta.url), 'utf8')) as { panels: Array<{ id: number, title: string, targets?: Array<{ expr: string }> }> }
    const live = new Set<string>()
    for (const p of [d.proxy.admin.port, ...d.gateways.map(g => g.adminAddress.port)]) {
      const text = await (await request(`http://127.0.0.1:${p}/metrics`)).body.text()
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        live.add(m[1]!)
        if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) live.add(m[1]! + suffix)
      }
    }
    const exprs = dashboard.panels.flatMap(p => (p.targets ?? []).map(x => ({ panel: p.title, expr: x.expr })))
    t.ok(exprs.length >= 25, `${exprs.length} queries`)
    t.equal(new Set(dashboard.panels.map(p => p.id)).size, dashboard.panels.length, 'panel ids are unique')
    const luQueries = exprs.filter(e => e.expr.includes('tn3270_gateway_lus'))
    t.ok(luQueries.length >= 3 && luQueries.every(e => e.expr.includes('by (instance, host, pool)')), 'LU panels group by gateway, host and pool')
    for (const { panel, expr } of exprs) {
      for (const name of expr.match(/\btn3270_[a-z0-9_]+/g) ?? []) t.ok(live.has(name), `${panel}: ${name} is served`)
      const q = expr.replace(/\$__rate_interval/g, '1m')
      const res = await request(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`)
      const body = await res.body.json() as { status: string, error?: string }
      t.equal(body.status, 'success', `${panel}: ${q}${body.error === undefined ? '' : ` (${body.error})`}`)
    }
  })
  t.equal(stderr.join('').includes('level=error'), false, 'Prometheus logged no errors')
})
