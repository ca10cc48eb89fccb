// The example configs shipped in deploy/compose must load with the real schemas (with the admin
// token compose passes in the environment: their admin ports listen on 0.0.0.0).
import t from 'tap'
import { gatewayConfigSchema, hostSimSchema, loadConfig, proxySchema } from '../../lib/config/index.js'

const dir = new URL('../../deploy/compose/config/', import.meta.url).pathname
const env = { TN3270LB_ADMIN__TOKEN: 'compose-token' }

t.test('compose configs load', async t => {
  const gw = loadConfig(gatewayConfigSchema, { file: `${dir}gateway.yaml`, env, sets: ['name=gw1', 'pools.0.lus=[GW1A001..GW1A004]'] })
  t.equal(gw.listeners[0]!.proxyProtocol.mode, 'required')
  t.same(gw.pools[0]!.lus, ['GW1A001..GW1A004'])
  t.equal(gw.admin.token, 'compose-token')
  const proxy = loadConfig(proxySchema, { file: `${dir}proxy.yaml`, env })
  t.equal(proxy.listeners[0]!.backends.length, 2)
  t.equal(loadConfig(hostSimSchema, { file: `${dir}hosta.yaml`, env }).name, 'HOSTA')
  t.equal(loadConfig(hostSimSchema, { file: `${dir}hostb.yaml`, env }).name, 'HOSTB')
})

t.test('without the token they do not start', async t => {
  t.throws(() => loadConfig(proxySchema, { file: `${dir}proxy.yaml` }), { message: /admin\.token = nothing: required when admin\.host \(0\.0\.0\.0\)/ })
})
