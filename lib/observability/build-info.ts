// What is running: the package version (package.json, found by walking up from this module, so
// it works from lib/ under the test loader and from dist/lib/ in the image) and the Node.js
// version. Served in every role's /status and as the tn3270_build_info gauge (docs/metrics.md).
import { readFileSync } from 'node:fs'

export interface BuildInfo {
  version: string
  node: string
}

const PACKAGE_NAME = 'tn3270-lb'
let cached: BuildInfo | undefined

/** The version in the nearest tn3270-lb package.json at or above `from`; `unknown` if none. */
export function packageVersion (from: URL = new URL('./', import.meta.url)): string {
  let dir = from
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown, version?: unknown }
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not here (or not readable): look one level up
    }
    dir = new URL('../', dir)
  }
  return 'unknown'
}

export function buildInfo (): BuildInfo {
  cached ??= { version: packageVersion(), node: process.version }
  return cached
}
