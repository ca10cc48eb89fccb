// deploy/k8s validated offline: every manifest against the validators kubernetes-models compiles
// from the official Kubernetes OpenAPI schemas (and @kubernetes-models/prometheus-operator for
// the ServiceMonitor), plus a key the schema does not know (a typo such as `securityContex`),
// plus what matters to run it (docs/operations.md "Kubernetes"): ConfigMaps and Services that
// match, non-root read-only containers with resources, a PodDisruptionBudget per workload, the
// configs loading with the real schemas, and the ServiceMonitor giving the job labels the alerts
// match.
import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import YAML from 'yaml'
import { ConfigMap, Service } from 'kubernetes-models/v1'
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { gatewayConfigSchema, hostSimSchema, loadConfig, proxySchema } from '../../lib/config/index.js'

type Doc = Record<string, any>
const dir = new URL('../../deploy/k8s/', import.meta.url)
const files = readdirSync(dir).filter(f => f.endsWith('.yaml')).sort()
const docs: Array<Doc & { file: string }> = files.flatMap(f =>
  YAML.parseAllDocuments(readFileSync(new URL(f, dir), 'utf8')).map(d => ({ ...(d.toJS() as Doc), file: f })))

const MODELS: Record<string, { prototype: { validate: () => void } }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
}

/**
 * Runs a compiled validator over `doc` through proxies that record every key it reads; a key of
 * an object it never read is one the schema does not define (the validators skip unknown keys).
 */
function validateStrict (validate: () => void, doc: Doc): string[] {
  const reads = new Map<object, Set<string>>()
  const wrap = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v
    const read = reads.get(v) ?? new Set<string>()
    reads.set(v, read)
    return new Proxy(v, {
      get: (target, key) => { if (typeof key === 'string') read.add(key); return wrap(Reflect.get(target, key)) },
      ownKeys: target => { for (const k of Reflect.ownKeys(target)) if (typeof k === 'string') read.add(k); return Reflect.ownKeys(target) },
    })
  }
  const { file: _file, ...manifest } = doc
  validate.call(wrap(manifest))
  const unknown: string[] = []
  for (const [obj, read] of reads) {
    if (Array.isArray(obj)) continue
    for (const k of Object.keys(obj)) if (!read.has(k)) unknown.push(k)
  }
  return unknown
}

const kinds = (kind: string) => docs.filter(d => d.kind === kind)
const workloads = () => [...kinds('Deployment'), ...kinds('StatefulSet')]
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v)

t.test('every manifest validates against the Kubernetes schemas, with no unknown key', async t => {
  t.ok(docs.length >= 12, `${docs.length} manifests in ${files.join(', ')}`)
  for (const d of docs) {
    const model = MODELS[`${d.apiVersion}/${d.kind}`]
    if (model === undefined) { t.fail(`${d.file}: no schema for ${d.apiVersion} ${d.kind}`); continue }
    let unknown: string[] = []
    t.doesNotThrow(() => { unknown = validateStrict(model.prototype.validate, d) }, `${d.file}: ${d.kind} ${d.metadata?.name} is valid`)
    t.same(unknown, [], `${d.file}: ${d.kind} ${d.metadata?.name} has only keys the schema knows`)
  }
})

t.test('the strict check catches what the validators alone let through', async t => {
  const bad = structuredClone(kinds('StatefulSet')[0]!)
  bad.spec.template.spec.containers[0].securityContex = { runAsNonRoot: true }
  t.same(validateStrict(StatefulSet.prototype.validate, bad), ['securityContex'])
  bad.spec.replicas = 'two'
  t.throws(() => validateStrict(StatefulSet.prototype.validate, bad), /replicas/)
})

t.test('workloads: non-root, read-only, no escalation, no capabilities, resources, probes', async t => {
  for (const w of workloads()) {
    const pod = w.spec.template.spec
    const name = `${w.kind} ${w.metadata.name}`
    t.equal(pod.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`)
    t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${name}: seccomp`)
    t.equal(pod.automountServiceAccountToken, false, `${name}: no API token mounted`)
    for (const c of pod.containers as Doc[]) {
      t.same(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, `${name}/${c.name}: securityContext`)
      t.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, `${name}/${c.name}: resources`)
      t.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${name}/${c.name}: liveness on /healthz`)
      t.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${name}/${c.name}: readiness on /readyz`)
      for (const m of c.volumeMounts as Doc[]) t.ok((pod.volumes as Doc[]).some(v => v.name === m.name), `${name}: volume ${m.name} exists`)
    }
    for (const v of pod.volumes as Doc[]) {
      if (v.configMap !== undefined) t.ok(kinds('ConfigMap').some(cm => cm.metadata.name === v.configMap.name), `${name}: ConfigMap ${v.configMap.name} is shipped`)
      if (v.secret !== undefined) t.equal(v.secret.secretName, 'tn3270-admin', `${name}: the admin token Secret (created by the operator)`)
    }
    const labels = w.spec.template.metadata.labels
    t.ok(matches(w.spec.selector.matchLabels, labels), `${name}: selector matches its pods`)
    t.ok(kinds('Service').some(s => matches(s.spec.selector, labels)), `${name}: a Service selects it`)
    if (w.metadata.name !== 'tn3270-hosta') {
      t.ok(kinds('PodDisruptionBudget').some(p => matches(p.spec.selector.matchLabels, labels)), `${name}: a PodDisruptionBudget covers it`)
    }
  }
})

t.test('the configs in the ConfigMaps load with the real schemas, per pod', async t => {
  const env = { TN3270LB_ADMIN__TOKEN: 'x', POD_NAME: 'gw-1', HOSTNAME: 'gw-1', POD_NAMESPACE: 'tn3270' }
  const tmp = mkdtempSync(join(tmpdir(), 'tn3270lb-k8s-'))
  const load = (cm: string, key: string, schema: Parameters<typeof loadConfig>[0]) => {
    const data = kinds('ConfigMap').find(c => c.metadata.name === cm)!.data[key] as string
    const file = join(tmp, key)
    writeFileSync(file, data)
    return loadConfig(schema, { file, env }) as Doc
  }
  const gw = load('tn3270-gateway', 'gateway.yaml', gatewayConfigSchema)
  t.equal(gw.name, 'gw-1')
  t.same(gw.pools[0].lus, ['G1A001..G1A032'])
  t.equal(gw.hosts[0].link.host, 'tn3270-hosta.tn3270.svc.cluster.local')
  t.equal(gw.admin.port, 3370)
  const px = load('tn3270-proxy', 'proxy.yaml', proxySchema)
  t.equal(px.listeners[0].dns[0].name, 'tn3270-gateway.tn3270.svc.cluster.local')
  t.equal(px.listeners[0].dns[0].adminPort, gw.admin.port, 'the proxy polls the gateways\' admin port')
  const hs = load('tn3270-hosta', 'hosta.yaml', hostSimSchema)
  t.equal(hs.link.port, gw.hosts[0].link.port, 'the gateway links to the host simulator\'s link port')
  const gwSts = kinds('StatefulSet')[0]!
  t.equal(gwSts.spec.template.spec.containers[0].ports.find((p: Doc) => p.name === 'admin').containerPort, gw.admin.port)
  t.ok(gwSts.spec.template.spec.terminationGracePeriodSeconds > gw.drainTimeout / 1000 + 5, 'grace period above drainTimeout + preStop')
  const pxDep = kinds('Deployment').find(d => d.metadata.name === 'tn3270-proxy')!
  t.ok(pxDep.spec.template.spec.terminationGracePeriodSeconds > px.drainTimeout / 1000 + 5, 'proxy grace period above drainTimeout + preStop')
})

t.test('the ServiceMonitor: job labels the alerts match, a label the operator selects', async t => {
  const sm = kinds('ServiceMonitor')[0]!
  t.equal(sm.metadata.labels.release, 'prometheus')
  t.equal(sm.spec.jobLabel, 'app')
  const selected = kinds('Service').filter(s => sm.spec.selector.matchExpressions[0].values.includes(s.metadata.labels?.app))
  const jobs = selected.map(s => s.metadata.labels[sm.spec.jobLabel] as string).sort()
  t.same(jobs, ['tn3270-gateway', 'tn3270-proxy'], 'one Service per job, no LoadBalancer among them')
  for (const s of selected) t.ok((s.spec.ports as Doc[]).some(p => p.name === sm.spec.endpoints[0].port), `${s.metadata.name} has the admin port`)
  const alerts = readFileSync(new URL('../../deploy/prometheus/alerts.yml', import.meta.url), 'utf8')
  const regex = /up\{job=~"([^"]+)"\}/.exec(alerts)![1]!
  for (const job of jobs) t.match(job, new RegExp(`^(${regex})$`), `Tn3270ProcessDown covers job ${job}`)
})
