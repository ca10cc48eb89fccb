// deploy/compose agrees with itself and with Prometheus (docs/operations.md "Containers"): the
// file parses; Prometheus scrapes each gateway and proxy on the admin port its config really
// has; each healthcheck probes the service's own admin port; the links and adminUrls between
// services point at ports that are listened on; no `init: true` on top of the image's tini;
// Grafana is provisioned with the dashboard and the Prometheus data source.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import YAML from 'yaml'
import { gatewayConfigSchema, hostSimSchema, loadConfig, proxySchema } from '../../lib/config/index.js'

type Doc = Record<string, any>
const root = new URL('../../', import.meta.url)
const composeDir = new URL('deploy/compose/', root)
const compose = YAML.parse(readFileSync(new URL('docker-compose.yml', composeDir), 'utf8'), { merge: true }) as Doc
const prom = YAML.parse(readFileSync(new URL('deploy/prometheus/prometheus.yml', root), 'utf8')) as Doc
const env = { TN3270LB_ADMIN__TOKEN: 'compose' }

/** The config each tn3270-lb service runs with: its --config file (via the ./config volume) and --set flags. */
function serviceConfig (svc: Doc): { role: string, config: Doc } {
  const [role, ...args] = svc.command as string[]
  const file = args[args.indexOf('--config') + 1]!.replace('/etc/tn3270-lb/', new URL('config/', composeDir).pathname)
  const sets = args.flatMap((a, i) => a === '--set' ? [args[i + 1]!] : [])
  const schema = role === 'gateway' ? gatewayConfigSchema : role === 'proxy' ? proxySchema : hostSimSchema
  return { role: role!, config: loadConfig(schema, { file, env, sets }) as Doc }
}

const services = Object.entries(compose.services as Record<string, Doc>)
const ours = services.filter(([, s]) => s.build !== undefined).map(([name, s]) => ({ name, svc: s, ...serviceConfig(s) }))
const imageHealthPort = Number(/127\.0\.0\.1:(\d+)\/healthz/.exec(readFileSync(new URL('Dockerfile', root), 'utf8'))![1])

t.test('every tn3270-lb service: no init, the token, a healthcheck on its own admin port', async t => {
  t.same(ours.map(o => o.role).sort(), ['gateway', 'gateway', 'host-sim', 'host-sim', 'proxy'])
  for (const { name, svc, config } of ours) {
    t.equal(svc.init, undefined, `${name}: no init (the image runs tini)`)
    t.match(svc.environment?.TN3270LB_ADMIN__TOKEN, /^\$\{TN3270LB_ADMIN_TOKEN:\?/, `${name}: admin token from the environment, required`)
    const probe = svc.healthcheck === undefined ? imageHealthPort : Number(/127\.0\.0\.1:(\d+)\/healthz/.exec((svc.healthcheck.test as string[]).join(' '))?.[1])
    t.equal(probe, config.admin.port, `${name}: healthcheck on admin port ${config.admin.port}`)
  }
})

t.test('prometheus.yml scrapes each gateway and proxy on its admin port', async t => {
  const targets = (job: string): string[] => (prom.scrape_configs as Doc[]).find(s => s.job_name === job)!.static_configs.flatMap((c: Doc) => c.targets as string[]).sort()
  const want = (role: string): string[] => ours.filter(o => o.role === role).map(o => `${o.name}:${o.config.admin.port}`).sort()
  t.same(targets('tn3270-gateway'), want('gateway'))
  t.same(targets('tn3270-proxy'), want('proxy'))
  t.same(compose.services.prometheus.volumes, ['../prometheus:/etc/prometheus:ro'])
})

t.test('links between services point at ports that are listened on', async t => {
  const by = (name: string) => ours.find(o => o.name === name)!
  for (const gw of ours.filter(o => o.role === 'gateway')) {
    for (const h of gw.config.hosts as Doc[]) {
      t.equal(h.link.port, by(h.link.host).config.link.port, `${gw.name} → ${h.link.host} link port`)
    }
  }
  const proxy = ours.find(o => o.role === 'proxy')!
  for (const b of proxy.config.listeners[0].backends as Doc[]) {
    const gw = by(b.host)
    t.equal(b.port, gw.config.listeners[0].port, `proxy → ${b.host} TN3270 port`)
    t.equal(new URL(b.adminUrl as string).port, String(gw.config.admin.port), `proxy polls ${b.host} on its admin port`)
  }
  t.same(proxy.svc.ports, [`${proxy.config.listeners[0].port}:${proxy.config.listeners[0].port}`, `${proxy.config.admin.port}:${proxy.config.admin.port}`])
})

t.test('Grafana is provisioned with the data source and the dashboard', async t => {
  const g = compose.services.grafana as Doc
  for (const v of g.volumes as string[]) t.ok(existsSync(new URL(v.split(':')[0]!, composeDir)), `${v} exists`)
  const ds = YAML.parse(readFileSync(new URL('deploy/grafana/provisioning/datasources/prometheus.yml', root), 'utf8')) as Doc
  t.equal(ds.datasources[0].url, `http://prometheus:${(compose.services.prometheus.ports[0] as string).split(':')[1]}`)
  const dash = JSON.parse(readFileSync(new URL('deploy/grafana/dashboards/tn3270-lb.json', root), 'utf8')) as Doc
  const uids = new Set((dash.panels as Doc[]).flatMap(p => [p.datasource?.uid, ...(p.targets ?? []).map((x: Doc) => x.datasource?.uid)]).filter(u => u !== undefined))
  t.same([...uids], [ds.datasources[0].uid], 'every panel uses the provisioned data source')
})
