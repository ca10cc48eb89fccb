// `npm run docs:config`: rewrites the generated section of docs/configuration.md from the
// schemas (lib/config/reference.ts). Run from the repository root.
import { readFileSync, writeFileSync } from 'node:fs'
import { configReference, replaceReference } from './reference.js'

const file = process.argv[2] ?? 'docs/configuration.md'
const updated = replaceReference(readFileSync(file, 'utf8'), configReference())
if (updated === undefined) {
  process.stderr.write(`${file}: the generated-section markers are missing (see lib/config/reference.ts)\n`)
  process.exit(1)
}
writeFileSync(file, updated)
process.stdout.write(`${file}: configuration reference written\n`)
