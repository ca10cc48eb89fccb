// `${NAME}` references and per-replica LU names (lib/config/expand.ts, docs/configuration.md
// "References"): one ConfigMap for every pod of a StatefulSet, each pod with its own LUs.
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import YAML from 'yaml'
import { expandLuEntry, expandReferences, gatewayConfigSchema, loadConfig, replicaOrdinal } from '../../lib/config/index.js'
import { ErrorCodes, isLbError } from '../../lib/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-expand-'))
const file = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p }

function errorOf (fn: () => unknown): string {
  try { fn() } catch (err) {
    if (isLbError(err, ErrorCodes.CONFIG_REFERENCE)) return err.message
    throw err
  }
  throw new Error('expected a reference error')
}

t.test('replica ordinal: ORDINAL wins, else the -N suffix of the host name', async t => {
  t.equal(replicaOrdinal({ ORDINAL: '07' }, 'gw-3'), '7')
  t.equal(replicaOrdinal({}, 'gw-3'), '3')
  t.equal(replicaOrdinal({ HOSTNAME: 'tn3270-gateway-12' }), '12')
  t.equal(replicaOrdinal({}, 'gateway'), undefined)
  t.equal(replicaOrdinal({ ORDINAL: 'x' }, 'gw-3'), undefined)
  t.equal(replicaOrdinal({ ORDINAL: '' }, 'gw-4'), '4')
})

t.test('references in values', async t => {
  const env = { POOL: 'HOSTA', EMPTY: '', HOSTNAME: 'gw-2' }
  t.same(expandReferences({ a: '${POOL}', b: ['x${ORDINAL}y', 3, true, null], c: { d: '${MISSING:-dflt}', e: '${EMPTY:-e}' } }, env, 'f.yaml'),
    { a: 'HOSTA', b: ['x2y', 3, true, null], c: { d: 'dflt', e: 'e' } })
  t.equal(expandReferences('cost $5 and $${NOT}', env, 'f.yaml'), 'cost $5 and ${NOT}', '$${ is a literal ${')
  t.equal(expandReferences('LU$001', env, 'f.yaml'), 'LU$001', 'a $ in an SNA name is not a reference')
  t.equal(errorOf(() => expandReferences({ admin: { token: '${TOKEN}' } }, env, 'f.yaml')),
    'config: f.yaml: admin.token = "${TOKEN}": ${TOKEN} is not set in the environment')
  t.match(errorOf(() => expandReferences(['${1BAD}'], env, 'f.yaml')), /0 = "\$\{1BAD\}": \$\{1BAD\} is not a reference; expected \$\{NAME\}/)
  t.match(errorOf(() => expandReferences('${ORDINAL}', { HOSTNAME: 'gateway' }, 'f.yaml')),
    /\(top level\) = "\$\{ORDINAL\}": \$\{ORDINAL\}: expected ORDINAL set to a whole number, or a host name ending in -N/)
})

// The shipped StatefulSet's gateway.yaml (deploy/k8s/gateway.yaml ConfigMap): each pod gets
// disjoint, valid LU names from the same file.
t.test('one gateway file, per-pod LU names that are valid and disjoint', async t => {
  const docs = YAML.parseAllDocuments(readFileSync(new URL('../../deploy/k8s/gateway.yaml', import.meta.url), 'utf8')).map(d => d.toJS() as Record<string, any>)
  const cm = docs.find(d => d.kind === 'ConfigMap') ?? { data: {} }
  t.type(cm.data['gateway.yaml'], 'string', 'deploy/k8s/gateway.yaml ships the ConfigMap the StatefulSet mounts')
  const path = file('gateway.yaml', cm.data['gateway.yaml'] as string)
  const seen = new Map<string, number>()
  for (const ordinal of [0, 1, 9, 99, 999]) {
    const env = { HOSTNAME: `gw-${ordinal}`, POD_NAME: `gw-${ordinal}`, POD_NAMESPACE: 'tn3270', TN3270LB_ADMIN__TOKEN: 't' }
    const cfg = loadConfig(gatewayConfigSchema, { file: path, env })
    const names = cfg.pools.flatMap(p => p.lus.flatMap(e => typeof e === 'string' ? expandLuEntry(e) ?? [] : [e.name]))
    t.ok(names.length > 0, `gw-${ordinal} has LUs`)
    for (const n of names) {
      t.match(n, /^[A-Z@#$][A-Z0-9@#$]{0,7}$/, `${n} is an SNA name`)
      t.notOk(seen.has(n), `${n} belongs to gw-${ordinal} only`)
      seen.set(n, ordinal)
    }
  }
  t.throws(() => loadConfig(gatewayConfigSchema, { file: path, env: { HOSTNAME: 'gw-1000', POD_NAME: 'gw-1000', POD_NAMESPACE: 'tn3270', TN3270LB_ADMIN__TOKEN: 't' } }),
    { code: ErrorCodes.CONFIG_INVALID, message: /expected an LU name/ }, 'an ordinal too large for 8-character names is refused, not truncated')
})

t.test('loadConfig expands the file but not env or --set values', async t => {
  const path = file('gw.yaml', 'name: gw-${ORDINAL}\nlisteners: [{ name: t, port: 0, pools: [P] }]\nhosts: [{ name: H, link: { type: sna, port: 1 } }]\npools: [{ name: P, host: H, lus: ["G${ORDINAL}A01..G${ORDINAL}A02"] }]\n')
  const cfg = loadConfig(gatewayConfigSchema, { file: path, env: { ORDINAL: '4' }, sets: ['drainTimeout=1s'] })
  t.equal(cfg.name, 'gw-4')
  t.same(cfg.pools[0]!.lus, ['G4A01..G4A02'])
  t.throws(() => loadConfig(gatewayConfigSchema, { file: path, env: { ORDINAL: '4', TN3270LB_LOG__LEVEL: '${X}' } }),
    { message: /log\.level = "\$\{X\}": expected one of/ }, 'an environment value is taken literally')
  t.equal(loadConfig(gatewayConfigSchema, { file: path, env: { ORDINAL: '4' }, sets: ['name=${X}'] }).name, '${X}', 'a --set value is taken literally')
})
