// The admin section (lib/config/fields.ts, docs/operations.md "Admin token"): a token is
// required to start when the admin address is not loopback; it may come from a file or the
// environment.
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gatewaySchema, hostSimSchema, isLoopbackHost, loadConfig, proxySchema } from '../../lib/config/index.js'
import { isLbError } from '../../lib/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'tn3270lb-admin-'))
const file = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p }
const host = (admin: Record<string, unknown>, env: Record<string, string> = {}) =>
  loadConfig(hostSimSchema, { base: { name: 'H', link: { port: 1 }, admin }, env }).admin

function errorOf (fn: () => unknown): string {
  try { fn() } catch (err) {
    if (isLbError(err)) return err.message
    throw err
  }
  throw new Error('expected a config error')
}

t.test('loopback needs no token', async t => {
  t.same(host({}), { host: '127.0.0.1', port: 0 })
  t.same(host({ host: '::1', port: 5 }), { host: '::1', port: 5 })
})

t.test('any other address needs a token, named in the error', async t => {
  t.equal(errorOf(() => host({ host: '0.0.0.0' })),
    'config: admin.token = nothing: required when admin.host (0.0.0.0) is not a loopback address: set admin.token or admin.tokenFile (TN3270LB_ADMIN__TOKEN)')
  t.same(host({ host: '0.0.0.0', token: 's3cret' }), { host: '0.0.0.0', port: 0, token: 's3cret' })
  t.same(host({ host: '0.0.0.0' }, { TN3270LB_ADMIN__TOKEN: 'from-env' }).token, 'from-env')
  t.match(errorOf(() => loadConfig(proxySchema, { base: { admin: { host: '10.1.2.3' }, listeners: [{ name: 'a', port: 1, backends: [{ name: 'b', host: 'h', port: 2 }] }] } })),
    /admin\.token = nothing: required when admin\.host \(10\.1\.2\.3\)/)
})

t.test('tokenFile: read and trimmed; token wins so the environment overrides a file', async t => {
  const f = file('token', '  t0ken\n')
  t.same(host({ host: '0.0.0.0', tokenFile: f }), { host: '0.0.0.0', port: 0, token: 't0ken', tokenFile: f })
  t.equal(host({ host: '0.0.0.0', tokenFile: f }, { TN3270LB_ADMIN__TOKEN: 'env' }).token, 'env')
  t.match(errorOf(() => host({ tokenFile: join(dir, 'missing') })), /^config: admin\.tokenFile = ".*missing": expected a readable file \(ENOENT/)
  t.equal(errorOf(() => host({ tokenFile: file('empty', '\n') })), `config: admin.tokenFile = "${join(dir, 'empty')}": expected a file holding a token, found an empty file`)
  t.match(errorOf(() => host({ token: '' })), /admin\.token = "": String must contain at least 1/)
  t.match(errorOf(() => host({ password: 'x' })), /admin\.password: unknown key/)
})

t.test('overrides reach keys inside a link (one of several link types)', async t => {
  const base = { hosts: [{ name: 'H', link: { type: 'sna', port: 1 } }] }
  t.equal(loadConfig(gatewaySchema, { base, sets: ['hosts.0.link.keepaliveLimit=5'] }).hosts[0]!.link.keepaliveLimit, 5)
})

t.test('what counts as loopback', async t => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1', 'LOCALHOST']) t.ok(isLoopbackHost(h), h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'gw1', '127.0.0.1.nip.io', '']) t.notOk(isLoopbackHost(h), h)
})
