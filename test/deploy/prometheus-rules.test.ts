// The shipped alert rules must load in Prometheus and fire as their unit tests say (real
// promtool), every alert has a unit test that makes it fire, and every alert tells the operator
// what happened and where the runbook is: a section of docs/operations.md that exists.
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import YAML from 'yaml'

const run = promisify(execFile)
const dir = new URL('../../deploy/prometheus/', import.meta.url).pathname
type Doc = Record<string, any>
const rules = (YAML.parse(readFileSync(`${dir}alerts.yml`, 'utf8')) as Doc).groups.flatMap((g: Doc) => g.rules as Doc[]) as Doc[]
const tests = (YAML.parse(readFileSync(`${dir}alerts.test.yml`, 'utf8')) as Doc).tests as Doc[]

/** GitHub's heading anchors: lower case, spaces to dashes, punctuation dropped. */
function anchors (markdown: string): Set<string> {
  return new Set(markdown.split('\n').filter(l => /^#{1,6} /.test(l)).map(l => l.replace(/^#+ /, '').trim().toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')))
}

t.test('promtool check rules', async t => {
  const { stdout } = await run('promtool', ['check', 'rules', 'alerts.yml'], { cwd: dir })
  t.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`))
})

t.test('promtool test rules', async t => {
  const { stdout } = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir })
  t.match(stdout, /SUCCESS/)
})

t.test('promtool check config', async t => {
  const { stdout } = await run('promtool', ['check', 'config', '--syntax-only', 'prometheus.yml'], { cwd: dir })
  t.match(stdout, /SUCCESS/)
})

t.test('every alert: a unit test that fires it and one that does not, a description, a runbook section', async t => {
  const ops = anchors(readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8'))
  const cases = tests.flatMap(x => (x.alert_rule_test ?? []) as Doc[])
  for (const r of rules.filter(x => x.alert !== undefined)) {
    const mine = cases.filter(c => c.alertname === r.alert)
    t.ok(mine.some(c => (c.exp_alerts ?? []).length > 0), `${r.alert}: a test expects it to fire`)
    t.ok(mine.some(c => (c.exp_alerts ?? []).length === 0), `${r.alert}: a test expects silence before`)
    t.ok(String(r.annotations?.description ?? '').length >= 40, `${r.alert}: description`)
    const url = r.annotations?.runbook_url as string
    t.equal(url, `docs/operations.md#${(r.alert as string).toLowerCase()}`, `${r.alert}: runbook_url`)
    t.ok(ops.has(url.split('#')[1]!), `${r.alert}: docs/operations.md has the section ${url}`)
  }
})
