// The example configs shipped in deploy/ must load with the real schemas.
import t from 'tap'
import { gatewaySchema, hostSimSchema, loadConfig, proxySchema } from '../../lib/config/index.js'

const dir = new URL('../../deploy/compose/config/', import.meta.url).pathname

t.test('compose configs load', async t => {
  const gw = loadConfig(gatewaySchema, { file: `${dir}gateway.yaml`, sets: ['name=gw1', 'pools.0.lus=[GW1A001..GW1A004]'] })
  t.equal(gw.listeners[0]!.proxyProtocol.mode, 'required')
  t.same(gw.pools[0]!.lus, ['GW1A001..GW1A004'])
  const proxy = loadConfig(proxySchema, { file: `${dir}proxy.yaml` })
  t.equal(proxy.listeners[0]!.backends.length, 2)
  t.equal(loadConfig(hostSimSchema, { file: `${dir}hosta.yaml` }).name, 'HOSTA')
  t.equal(loadConfig(hostSimSchema, { file: `${dir}hostb.yaml` }).name, 'HOSTB')
})
