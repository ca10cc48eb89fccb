// GET / on every admin port: the role's /status as a page an operator can leave open. Plain
// HTML rendered on the server (usable without JavaScript: a <noscript> meta refresh reloads
// it), plus one small inline script that fetches /status from the same origin every few seconds
// (with ?lus=1: the page lists every LU, which /status alone counts but does not list)
// and re-renders with the same functions (status-render.ts). Nothing is loaded from anywhere
// else, and a strict Content-Security-Policy (W3C CSP Level 3) allows exactly this script and
// style by hash, so injected markup could not run code even if escaping failed.
import { createHash } from 'node:crypto'
import { renderStatus, RENDER_SOURCE } from './status-render.js'

export const REFRESH_MS = 2000

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1rem 2rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #ccc;padding:.2rem .6rem;text-align:left}
th{background:#eee}dl.facts{display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;margin:.3rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0 0 0 .3rem}dl.facts dt::after{content:":"}
.ok{color:#116611;font-weight:600}.bad{color:#b00020;font-weight:600}.use{color:#8a4b00;font-weight:600}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem;margin:0}dl.kv dd{margin:0}
footer{color:#666;font-size:.85rem;margin-top:1rem}
`.trim()

const SCRIPT = `
${RENDER_SOURCE}
const root = document.getElementById('status')
const stamp = document.getElementById('updated')
async function refresh () {
  try {
    const res = await fetch('./status?lus=1', { cache: 'no-store', headers: { accept: 'application/json' } })
    if (!res.ok) throw new Error('HTTP ' + res.status)
    root.innerHTML = renderStatus(await res.json())
    stamp.textContent = 'updated ' + new Date().toLocaleTimeString()
    stamp.className = ''
  } catch (err) {
    stamp.textContent = 'refresh failed: ' + err.message
    stamp.className = 'bad'
  }
  setTimeout(refresh, ${REFRESH_MS})
}
setTimeout(refresh, ${REFRESH_MS})
`

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`

/** Only this page's own script and style; fetches to this origin; nothing else, not even framing. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export function statusPage (status: unknown): string {
  const title = typeof status === 'object' && status !== null && 'name' in status ? `tn3270-lb ${String(status.name)}` : 'tn3270-lb'
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)}</title>
<noscript><meta http-equiv="refresh" content="${REFRESH_MS / 1000 * 2}"></noscript>
<style>${STYLE}</style></head>
<body><main id="status">${renderStatus(status)}</main>
<footer><span id="updated">rendered by the server</span> · <a href="./status">/status</a> · <a href="./metrics">/metrics</a></footer>
<script>${SCRIPT}</script></body></html>
`
}
