// The status page renderer (lib/observability/status-render.ts): what each role's /status shows,
// escaping of every value (OWASP XSS Prevention Cheat Sheet rule #1), and the source shipped
// to the browser rendering exactly what the server renders (docs/operations.md "Status page").
import t from 'tap'
import { runInNewContext } from 'node:vm'
import { renderStatus, statusPage } from '../../lib/observability/index.js'
import { RENDER_SOURCE } from '../../lib/observability/status-render.js'

const gateway = {
  role: 'gateway',
  name: 'gw1',
  ready: true,
  draining: false,
  listeners: [{ name: 'tn3270', address: '127.0.0.1:3271', open: false, pools: ['HOSTA', 'HOSTB'] }],
  pools: [{ name: 'HOSTA', host: 'HOSTA', kind: 'display', state: 'disabled', total: 2, free: 1, inUse: 1, unavailable: 0 },
    { name: 'HOSTAPRT', host: 'HOSTA', kind: 'printer', luType: 'lu1', state: 'enabled', total: 2, free: 2, inUse: 0, unavailable: 0 }],
  hostLinks: [
    { pu: 'GW1', puActive: true, lus: [{ name: 'GW1A001', state: 'active', attached: true }, { name: 'GW1A002', state: 'active', attached: false }], host: 'HOSTA', type: 'sna', up: true },
    { address: 'zos:992', tls: true, sessions: 0, refused: [{ lu: 'TSO001', reason: 'no device', retryInMs: 2500 }], host: 'ZOS', type: 'tn3270', up: false },
    // Several PUs on one host (docs/hostlink.md "PUs"): the first one named, each listed.
    { pu: 'GW1B', puActive: false, pus: [{ name: 'GW1B', linkUp: true, puActive: true, lus: 254 }, { name: 'GW1B2', linkUp: false, puActive: false, lus: 46 }], lus: [], host: 'HOSTB', type: 'sna', up: false },
  ],
  sessions: { active: 1, negotiating: 0 },
  version: '1.2.3',
  startedAt: '2026-12-06T10:00:00.000Z',
  uptimeSeconds: 93_784,
}

const proxy = {
  role: 'proxy',
  name: 'proxy',
  ready: true,
  draining: true,
  listeners: [{ name: 'tn3270', address: '127.0.0.1:3270', open: true, closeListenSocket: true, proxyProtocol: 'v2', sessions: 3 }],
  backends: [{ listener: 'tn3270', name: 'gw1', address: '127.0.0.1:3271', source: 'static', weight: 1, admin: 'drain', up: false, eligibility: 'no_free_lu', sessions: 3, freeLus: 0, statusAgeMs: 1500, ejectedUntil: null, removed: false, lastError: 'ECONNREFUSED' }],
  sessions: { active: 3 },
}

// A proxy primary's merged status (docs/operations.md "Workers").
const primary = {
  ...proxy,
  draining: false,
  workers: [{ index: 0, pid: 4101, error: null, status: { ...proxy, sessions: { active: 2 } } }, { index: 1, pid: 4102, error: 'no answer within 5000 ms', status: null }],
}

const hostSim = {
  role: 'host-sim',
  name: 'HOSTA',
  ready: true,
  link: { address: '127.0.0.1:3471', listening: true, gateways: 1 },
  pus: [{ node: 'GW1', remote: '127.0.0.1:5', state: 'active', lus: [{ name: 'GW1A001', address: 2, state: 'active', enabled: true, application: 'DEMO', session: 'bound', lastSense: null }] }],
  sessions: { active: 1, bound: [{ lu: 'GW1A001', application: 'DEMO', state: 'active' }] },
  faults: { rejectBinds: null, delayResponsesMs: 0 },
  applications: ['DEMO', 'TSO'],
  defaultApplication: 'DEMO',
}

const row = (html: string, section: string, key: string): string => {
  const sec = new RegExp(`<section id="${section}">.*?</section>`).exec(html)?.[0] ?? ''
  return new RegExp(`<tr data-key="${key}">.*?</tr>`).exec(sec)?.[0] ?? ''
}

t.test('gateway: listeners, pools, host links and each LU with its use', async t => {
  const html = renderStatus(gateway)
  t.match(html, '<h1>gateway gw1</h1>')
  t.match(html, '<dd data-fact="uptime">1d 2h 3m</dd>')
  t.match(html, '<dd data-fact="version">1.2.3</dd>')
  t.match(html, '<dd data-fact="sessions active">1</dd>')
  t.notMatch(html, 'data-fact="draining"', 'not draining: nothing said')
  t.match(row(html, 'listeners', 'tn3270'), '<span class="bad">closed</span>')
  t.match(row(html, 'listeners', 'tn3270'), 'HOSTA, HOSTB')
  t.match(row(html, 'pools', 'HOSTA'), '<td data-col="inUse">1</td>')
  t.match(row(html, 'pools', 'HOSTA'), '<td data-col="state">disabled</td>', 'a pool disabled through the runtime API says so')
  // Printer pools show their kind and LU type (docs/printers.md).
  t.match(row(html, 'pools', 'HOSTAPRT'), '<td data-col="kind">printer</td>')
  t.match(row(html, 'pools', 'HOSTAPRT'), '<td data-col="luType">lu1</td>')
  t.match(row(html, 'host-links', 'HOSTA'), '<span class="ok">up</span>')
  t.match(row(html, 'host-links', 'ZOS'), '<span class="bad">down</span>')
  t.match(row(html, 'lus', 'GW1A001'), '<span class="use">in use</span>')
  t.match(row(html, 'lus', 'GW1A002'), '<td data-col="attached">free</td>')
  t.match(html, /<section id="refused">.*TSO001.*no device.*2\.5 s/)
  t.match(row(html, 'host-links', 'HOSTB'), '<td data-col="pu">GW1B … (2 PUs)</td>', 'a host with several PUs: the count next to the first PU')
  t.match(row(html, 'host-pus', 'GW1B2'), /<td data-col="host">HOSTB<\/td><td data-col="linkUp"><span class="bad">down<\/span><\/td>.*<td data-col="lus">46<\/td>/)
  t.match(row(html, 'host-pus', 'GW1B'), '<span class="ok">up</span>')
  t.notMatch(row(html, 'host-links', 'HOSTA'), '(', 'one PU: just its name')
  t.notMatch(html, 'id="backends"', 'no backends on a gateway: no section')
})

t.test('proxy: backends and their eligibility', async t => {
  const html = renderStatus(proxy)
  t.match(html, '<dd data-fact="draining"><span class="bad">draining</span></dd>')
  const b = row(html, 'backends', 'gw1')
  for (const s of ['no_free_lu', '<span class="bad">down</span>', 'ECONNREFUSED', '1.5 s', '<td data-col="admin">drain</td>']) t.match(b, s)
  t.notMatch(b, 'data-col="removed"', 'columns the page does not know are left out')
  t.match(row(html, 'listeners', 'tn3270'), '<td data-col="proxyProtocol">v2</td>')
  t.notMatch(html, 'id="pools"')
  t.notMatch(html, 'id="workers"', 'no workers: no section')
})

t.test('proxy primary: each worker with its sessions, or why it did not answer', async t => {
  const html = renderStatus(primary)
  t.match(row(html, 'workers', '0'), /<td data-col="pid">4101<\/td><td data-col="ready">yes<\/td><td data-col="sessions">2<\/td>/)
  t.match(row(html, 'workers', '1'), 'no answer within 5000 ms')
  t.notMatch(html, 'id="x-workers"', 'not also rendered as an unknown section')
})

t.test('host simulator: link, PUs, LUs, bound sessions and unknown sections', async t => {
  const html = renderStatus(hostSim)
  t.match(html, /<section id="link">.*127\.0\.0\.1:3471/)
  t.match(row(html, 'host-lus', 'GW1A001'), 'DEMO')
  t.match(html, /<section id="sessions">.*GW1A001/)
  t.match(html, /<section id="details"><h2>Details<\/h2><dl class="kv"><dt>applications<\/dt><dd>DEMO, TSO<\/dd><dt>defaultApplication<\/dt><dd>DEMO<\/dd>/)
  t.match(html, /<section id="x-faults"><h2>faults<\/h2><dl class="kv"><dt>delayResponsesMs<\/dt><dd>0<\/dd><\/dl>/)
})

t.test('every value is escaped; odd input renders something sensible', async t => {
  const html = renderStatus({ role: '<script>', name: '"x"', listeners: [{ name: '<img src=x onerror=alert(1)>', open: true }], extra: { list: [1] }, more: [{ a: { b: 1 }, c: [1, { d: 2 }] }] })
  t.notMatch(html, /<script>|<img/)
  t.match(html, '&#60;img src=x onerror=alert(1)&#62;')
  t.match(html, '&#34;x&#34;')
  t.match(html, '{&#34;b&#34;:1}')
  t.equal(renderStatus('nope'), '<p class="bad">/status did not return an object</p>')
  t.match(renderStatus({ uptimeSeconds: 125 }), '2m 5s')
  t.match(renderStatus({ uptimeSeconds: 7260 }), '2h 1m')
  t.match(renderStatus({ sessions: [{ lu: 'A' }] }), /<section id="sessions">/)
})

t.test('the browser gets the same renderer', async t => {
  const render = runInNewContext(`${RENDER_SOURCE}\nrenderStatus`) as (s: unknown) => string
  for (const s of [gateway, proxy, primary, hostSim]) t.equal(render(s), renderStatus(s))
  t.match(statusPage('odd'), '<title>tn3270-lb</title>')
  const page = statusPage({ ...gateway, name: '<gw>' })
  t.match(page, '<title>tn3270-lb &#60;gw&#62;</title>')
  t.match(page, '<noscript><meta http-equiv="refresh"')
})
