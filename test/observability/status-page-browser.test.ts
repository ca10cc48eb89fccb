// The status page (GET / on every admin port, docs/operations.md "Status page") in a real
// browser: Debian's chromium, headless, driven by playwright-core. A real s3270 opens a session
// through the demo's proxy; the gateway's page, already open, shows that session's LU as in use
// by itself (it refreshes from /status), with the CSP letting its own script run and nothing
// loaded from anywhere but the admin port.
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { startTestDemo } from '../helpers/e2e-gateway.js'
import { connectLu, proxyPort, s3270 } from '../helpers/e2e-proxy.js'

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

async function browser (t: Test): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'tn3270lb-chromium-'))
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS })
  t.teardown(async () => {
    await ctx.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return ctx
}

/** Opens an admin page, recording console errors and every request's origin. */
async function open (ctx: BrowserContext, port: number): Promise<{ page: Page, problems: string[], origins: Set<string> }> {
  const page = await ctx.newPage()
  const problems: string[] = []
  const origins = new Set<string>()
  page.on('console', m => { if (m.type() === 'error') problems.push(m.text()) })
  page.on('pageerror', e => { problems.push(e.message) })
  page.on('request', r => { origins.add(new URL(r.url()).origin) })
  const res = await page.goto(`http://127.0.0.1:${port}/`)
  if (res?.status() !== 200) throw new Error(`GET / answered ${res?.status()}`)
  return { page, problems, origins }
}

const cell = (page: Page, section: string, key: string, col: string) =>
  page.locator(`#${section} tr[data-key="${key}"] td[data-col="${col}"]`)

t.test('the gateway page shows the LU of a session s3270 opened, live', async t => {
  const demo = await startTestDemo(t, { gateways: 1, hosts: 1, lus: 2 })
  const ctx = await browser(t)
  const gwPort = demo.gateways[0]!.adminAddress.port
  const gw = await open(ctx, gwPort)
  await gw.page.locator('#lus').waitFor()
  t.equal(await cell(gw.page, 'lus', 'GW1A001', 'attached').textContent(), 'free', 'before: every LU free')
  t.equal(await cell(gw.page, 'listeners', 'tn3270', 'open').textContent(), 'open')

  const client = await s3270(t)
  const lu = await connectLu(client, proxyPort(demo))
  t.match(lu, /^GW1A00[12]$/, `s3270 got ${lu}`)
  // No reload: the page's own script fetches /status and re-renders.
  await cell(gw.page, 'lus', lu, 'attached').filter({ hasText: 'in use' }).waitFor({ timeout: 15_000 })
  t.pass(`the page shows ${lu} in use`)
  t.equal(await cell(gw.page, 'pools', 'HOSTA', 'inUse').textContent(), '1')
  t.equal(await gw.page.locator('[data-fact="sessions active"]').textContent(), '1')
  t.match(await gw.page.locator('#updated').textContent(), /^updated /, 'the refresh ran under the CSP')

  const px = await open(ctx, demo.proxy.admin.port)
  await cell(px.page, 'backends', 'gw1', 'sessions').filter({ hasText: '1' }).waitFor({ timeout: 15_000 })
  t.equal(await cell(px.page, 'backends', 'gw1', 'eligibility').textContent(), 'ok')
  const host = await open(ctx, demo.hosts[0]!.adminAddress.port)
  t.ok(await host.page.locator(`#host-lus tr[data-key="${lu}"]`).count(), 'the host simulator page lists the LU')

  await client.disconnect()
  await cell(gw.page, 'lus', lu, 'attached').filter({ hasText: 'free' }).waitFor({ timeout: 15_000 })
  t.pass(`${lu} shows free again after the client left`)
  for (const p of [gw, px, host]) {
    t.same(p.problems, [], 'no script error, no CSP violation')
    t.same([...p.origins], [new URL(p.page.url()).origin], 'nothing fetched from elsewhere')
  }
})
