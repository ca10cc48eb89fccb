// What `tn3270-lb check` prints (docs/operations.md "Command line"): the effective config, loadable
// again, with secrets redacted; the role told from the file when not named.
import t from 'tap'
import YAML from 'yaml'
import { formatConfig, gatewaySchema, loadConfig, redactConfig, roleOfConfig } from '../../lib/config/index.js'

t.test('secrets are redacted wherever they are', async t => {
  const pem = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----'
  t.same(redactConfig({ admin: { token: 'x', tokenFile: '/run/t' }, appc: { apiToken: 'y' }, hosts: [{ link: { tls: { key: pem, cert: '/etc/c.pem' } } }, { link: { tls: { key: '/etc/k.pem' } } }] }),
    { admin: { token: '<redacted>', tokenFile: '/run/t' }, appc: { apiToken: '<redacted>' }, hosts: [{ link: { tls: { key: '<redacted>', cert: '/etc/c.pem' } } }, { link: { tls: { key: '/etc/k.pem' } } }] })
})

t.test('YAML and JSON output load back to the same config', async t => {
  const c = loadConfig(gatewaySchema, { base: { keepalive: { watchdogTimeout: '2m' }, pacing: { highWaterMark: '1MiB' } } })
  const yaml = formatConfig(c, 'yaml')
  t.match(yaml, /watchdogTimeout: 120000/)
  t.same(loadConfig(gatewaySchema, { base: YAML.parse(yaml) }), c)
  t.same(loadConfig(gatewaySchema, { base: JSON.parse(formatConfig(c, 'json')) }), c)
})

t.test('role of a config file', async t => {
  t.equal(roleOfConfig({ name: 'HOSTA', link: { port: 1 } }), 'host-sim')
  t.equal(roleOfConfig({ listeners: [{ name: 'a', backends: [] }] }), 'proxy')
  t.equal(roleOfConfig({ listeners: [{ name: 'a', dns: [] }] }), 'proxy')
  t.equal(roleOfConfig({ listeners: [{ name: 'a', pools: ['X'] }, null] }), 'gateway')
  t.equal(roleOfConfig(null), 'gateway')
  t.equal(roleOfConfig([]), 'gateway')
})
