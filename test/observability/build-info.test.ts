// Where the version comes from (lib/observability/build-info.ts, docs/metrics.md "Every role"):
// the nearest tn3270-lb package.json above the module, from lib/ and from dist/lib/ alike.
import t from 'tap'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildInfo } from '../../lib/observability/index.js'
import { packageVersion } from '../../lib/observability/build-info.js'

t.test('the nearest tn3270-lb package.json, skipping others', async t => {
  const root = mkdtempSync(join(tmpdir(), 'tn3270lb-version-'))
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'tn3270-lb', version: '9.8.7' }))
  mkdirSync(join(root, 'dist', 'lib', 'observability'), { recursive: true })
  writeFileSync(join(root, 'dist', 'package.json'), JSON.stringify({ name: 'something-else', version: '1.0.0' }))
  writeFileSync(join(root, 'dist', 'lib', 'package.json'), '{ not json')
  t.equal(packageVersion(pathToFileURL(join(root, 'dist', 'lib', 'observability') + '/')), '9.8.7')
  const lost = mkdtempSync(join(tmpdir(), 'tn3270lb-noversion-'))
  mkdirSync(join(lost, 'a', 'b', 'c', 'd', 'e'), { recursive: true })
  t.equal(packageVersion(pathToFileURL(join(lost, 'a', 'b', 'c', 'd', 'e') + '/')), 'unknown')
  t.same(buildInfo(), { version: '0.1.0', node: process.version })
  t.equal(buildInfo(), buildInfo(), 'read once')
})
