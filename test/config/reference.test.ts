// docs/configuration.md's reference is what the schemas say (lib/config/reference.ts): every
// key with type, default and meaning. Fails when a key is added, renamed or re-described
// without `npm run docs:config`.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { configReference, gatewaySchema, hostSimSchema, proxySchema, referenceRows, replaceReference } from '../../lib/config/index.js'

const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')

t.test('docs/configuration.md carries the generated reference unchanged', async t => {
  const generated = configReference()
  t.ok(docs.includes(generated), 'the generated section matches the schemas (run npm run docs:config)')
  t.equal(replaceReference(docs, generated), docs, 'replacing it changes nothing')
  t.equal(replaceReference('no markers', generated), undefined)
})

t.test('every key has a type and a meaning', async t => {
  for (const [role, schema] of [['gateway', gatewaySchema], ['proxy', proxySchema], ['host-sim', hostSimSchema]] as const) {
    const rows = referenceRows(schema)
    for (const r of rows) {
      t.not(r.meaning, '', `${role} ${r.key}: meaning`)
      t.not(r.type, 'value', `${role} ${r.key}: type`)
    }
  }
})

t.test('a field of a kind the reference does not name is a "value"', async t => {
  t.same(referenceRows(z.object({ x: z.any().describe('anything') })), [{ key: 'x', type: 'value', default: '**required**', meaning: 'anything' }])
})

t.test('keys the old docs never mentioned are listed, with their defaults', async t => {
  const row = (schema: z.ZodTypeAny, key: string) => referenceRows(schema).find(r => r.key === key)
  t.match(row(proxySchema, 'listeners[].dns[].port'), { type: 'port', default: '' })
  t.match(row(gatewaySchema, 'appc.partners[].localLu'), { type: 'SNA name' })
  t.match(row(gatewaySchema, 'appc.partners[].modes[].autoActivate'), { type: 'integer 0–32767', default: '`0`' })
  t.match(row(hostSimSchema, 'bind.rows'), { type: 'integer 24–255', default: '`24`' })
  t.match(row(gatewaySchema, 'admin.tokenFile'), { type: 'string' })
  t.match(row(gatewaySchema, 'keepalive.watchdogTimeout'), { type: 'duration', default: '`60s`' })
  t.match(row(gatewaySchema, 'hosts[].link.tls.ca (type: tn3270)'), { type: 'string' })
  t.match(row(gatewaySchema, 'listeners[].port'), { default: '**required**' })
  t.match(row(hostSimSchema, 'defaultApplication'), { default: '`null`' })
  for (const key of ['listeners[].dns[].port', 'appc.partners[].localLu', 'modes[].autoActivate', 'bind.maxRuPrimary']) t.match(docs, key)
})
