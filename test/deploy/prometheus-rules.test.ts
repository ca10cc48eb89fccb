// The shipped alert rules must load in Prometheus and fire as their unit tests say (real promtool).
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const dir = new URL('../../deploy/prometheus/', import.meta.url).pathname

t.test('promtool check rules', async t => {
  const { stdout } = await run('promtool', ['check', 'rules', 'alerts.yml'], { cwd: dir })
  t.match(stdout, /SUCCESS: \d+ rules found/)
})

t.test('promtool test rules', async t => {
  const { stdout } = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir })
  t.match(stdout, /SUCCESS/)
})

t.test('promtool check config', async t => {
  const { stdout } = await run('promtool', ['check', 'config', '--syntax-only', 'prometheus.yml'], { cwd: dir })
  t.match(stdout, /SUCCESS/)
})
