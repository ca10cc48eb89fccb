// Renders a role's /status JSON as HTML tables: on the server for the first paint (the page
// works without JavaScript) and in the browser on every refresh. The browser gets these very
// functions' source (status-page.ts joins `RENDER_FUNCTIONS.map(String)`), so each is a plain
// function declaration that uses only its arguments, built-ins and the other functions listed
// here. Fields a role does not report are left out; every value goes through esc() because
// names and error texts come from configs and peers (OWASP XSS Prevention Cheat Sheet, rule #1:
// HTML-encode element content). What each section shows: docs/operations.md "Status page".

type Row = Record<string, unknown>
type Kind = 'open' | 'up' | 'use' | 'ms'
type Col = [key: string, label: string, kind?: Kind]

function esc (v: unknown): string {
  return String(v).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
}

function isObj (v: unknown): v is Row {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function rowsOf (v: unknown): Row[] {
  return Array.isArray(v) ? v.filter(isObj) : []
}

function badge (good: boolean, yes: string, no: string): string {
  return `<span class="${good ? 'ok' : 'bad'}">${good ? yes : no}</span>`
}

function cell (v: unknown, kind?: Kind): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'boolean') {
    if (kind === 'open') return badge(v, 'open', 'closed')
    if (kind === 'up') return badge(v, 'up', 'down')
    if (kind === 'use') return v ? '<span class="use">in use</span>' : 'free'
    return v ? 'yes' : 'no'
  }
  if (kind === 'ms' && typeof v === 'number') return esc(`${(v / 1000).toFixed(1)} s`)
  if (Array.isArray(v)) return esc(v.map(x => isObj(x) ? JSON.stringify(x) : String(x)).join(', '))
  if (isObj(v)) return esc(JSON.stringify(v))
  return esc(v)
}

/** A table of the columns at least one row has; `rowKey` marks each row (`data-key`) for tests and CSS. */
function table (title: string, id: string, rows: Row[], cols: Col[], rowKey?: string): string {
  if (rows.length === 0) return ''
  const shown = cols.filter(c => rows.some(r => r[c[0]] !== undefined))
  const head = shown.map(c => `<th>${esc(c[1])}</th>`).join('')
  const body = rows.map(r => {
    const key = rowKey === undefined || r[rowKey] === undefined ? '' : ` data-key="${esc(r[rowKey])}"`
    return `<tr${key}>${shown.map(c => `<td data-col="${esc(c[0])}">${cell(r[c[0]], c[2])}</td>`).join('')}</tr>`
  }).join('')
  return `<section id="${id}"><h2>${esc(title)}</h2><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></section>`
}

/** Anything this page does not know yet: a list of objects as a table, an object as a list. */
function generic (title: string, id: string, v: unknown): string {
  const rows = rowsOf(v)
  if (rows.length > 0) {
    const keys = [...new Set(rows.flatMap(r => Object.keys(r)))]
    return table(title, id, rows, keys.map(k => [k, k] as Col))
  }
  if (!isObj(v)) return ''
  const items = Object.entries(v).filter(([, x]) => x !== undefined && x !== null && !(Array.isArray(x) && x.some(isObj)))
  if (items.length === 0) return ''
  return `<section id="${id}"><h2>${esc(title)}</h2><dl class="kv">${items.map(([k, x]) => `<dt>${esc(k)}</dt><dd>${cell(x)}</dd>`).join('')}</dl></section>`
}

function uptime (sec: number): string {
  const d = Math.floor(sec / 86400)
  const h = Math.floor(sec % 86400 / 3600)
  const m = Math.floor(sec % 3600 / 60)
  const s = Math.floor(sec % 60)
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${s}s`
}

function header (s: Row): string {
  const facts: Array<[string, string]> = []
  if (typeof s.ready === 'boolean') facts.push(['ready', badge(s.ready, 'ready', 'not ready')])
  if (s.draining === true) facts.push(['draining', '<span class="bad">draining</span>'])
  if (s.version !== undefined) facts.push(['version', cell(s.version)])
  if (typeof s.uptimeSeconds === 'number') facts.push(['uptime', esc(uptime(s.uptimeSeconds))])
  if (s.startedAt !== undefined) facts.push(['started', cell(s.startedAt)])
  const sessions = isObj(s.sessions) ? s.sessions : {}
  for (const k of ['active', 'negotiating']) if (typeof sessions[k] === 'number') facts.push([`sessions ${k}`, cell(sessions[k])])
  const dl = facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd data-fact="${esc(k)}">${v}</dd>`).join('')
  return `<header><h1>${esc(s.role ?? 'tn3270-lb')} ${esc(s.name ?? '')}</h1><dl class="facts">${dl}</dl></header>`
}

/** Listeners, pools, host links and each LU (gateway; the proxy's listeners too). */
function gatewaySections (s: Row): string {
  const pools = rowsOf(s.pools)
  const links = rowsOf(s.hostLinks)
  const lus = [
    ...pools.flatMap(p => rowsOf(p.lus).map(l => ({ pool: p.name, ...l }))),
    ...links.flatMap(h => rowsOf(h.lus).map(l => ({ host: h.host, ...l }))),
  ]
  return [
    table('Listeners', 'listeners', rowsOf(s.listeners), [['name', 'listener'], ['address', 'address'], ['open', 'state', 'open'],
      ['pools', 'pools'], ['sessions', 'sessions'], ['closeListenSocket', 'CloseListenSocket'], ['proxyProtocol', 'PROXY protocol']], 'name'),
    // kind: display or printer, with the printer's LU type (docs/printers.md).
    table('Pools', 'pools', pools, [['name', 'pool'], ['host', 'host'], ['kind', 'kind'], ['luType', 'LU type'], ['state', 'state'], ['total', 'LUs'], ['free', 'free'], ['inUse', 'in use'],
      ['unavailable', 'unavailable']], 'name'),
    // A host with several PUs (one link each, docs/hostlink.md "PUs") names its first one here and
    // lists every PU in the table below.
    table('Host links', 'host-links', links.map(h => rowsOf(h.pus).length > 1 ? { ...h, pu: `${String(h.pu)} … (${rowsOf(h.pus).length} PUs)` } : h),
      [['host', 'host'], ['type', 'link'], ['up', 'state', 'up'], ['pu', 'PU'],
        ['puActive', 'PU active'], ['address', 'address'], ['tls', 'TLS'], ['sessions', 'sessions']], 'host'),
    table('PUs', 'host-pus', links.flatMap(h => rowsOf(h.pus).map(p => ({ host: h.host, ...p }))),
      [['name', 'PU'], ['host', 'host'], ['linkUp', 'link', 'up'], ['puActive', 'PU active'], ['lus', 'LUs']], 'name'),
    table('LUs', 'lus', lus, [['name', 'LU'], ['pool', 'pool'], ['host', 'host'], ['state', 'state'], ['attached', 'use', 'use'],
      ['inUse', 'use', 'use']], 'name'),
    table('Refused host resources', 'refused', links.flatMap(h => rowsOf(h.refused).map(r => ({ host: h.host, ...r }))),
      [['host', 'host'], ['lu', 'LU'], ['reason', 'reason'], ['retryInMs', 'retry in', 'ms']]),
  ].join('')
}

/** Backends and their eligibility, and a proxy primary's workers (docs/operations.md "Workers"). */
function proxySections (s: Row): string {
  const workers = rowsOf(s.workers).map(w => {
    const own = isObj(w.status) ? w.status : {}
    return { worker: w.index, pid: w.pid, ready: own.ready, sessions: isObj(own.sessions) ? own.sessions.active : undefined, error: w.error }
  })
  return table('Backends', 'backends', rowsOf(s.backends), [['name', 'backend'], ['listener', 'listener'], ['address', 'address'],
    ['source', 'source'], ['weight', 'weight'], ['admin', 'admin'], ['up', 'state', 'up'], ['eligibility', 'eligibility'], ['sessions', 'sessions'],
    ['freeLus', 'free LUs'], ['statusAgeMs', 'status age', 'ms'], ['ejectedUntil', 'ejected until'], ['lastError', 'last error']], 'name') +
    table('Workers', 'workers', workers, [['worker', 'worker'], ['pid', 'pid'], ['ready', 'ready'], ['sessions', 'sessions'], ['error', 'error']], 'worker')
}

/** The link, PUs and their LUs (host simulator). */
function hostSimSections (s: Row): string {
  const pus = rowsOf(s.pus)
  return [
    generic('Link', 'link', s.link),
    table('PUs', 'pus', pus, [['node', 'PU'], ['remote', 'gateway'], ['state', 'state']], 'node'),
    table('Host LUs', 'host-lus', pus.flatMap(p => rowsOf(p.lus).map(l => ({ pu: p.node, ...l }))), [['name', 'LU'], ['pu', 'PU'],
      ['address', 'locaddr'], ['state', 'state'], ['application', 'application'], ['session', 'session'], ['lastSense', 'last sense']], 'name'),
  ].join('')
}

const KNOWN = ['role', 'name', 'ready', 'draining', 'version', 'node', 'uptimeSeconds', 'startedAt', 'sessions', 'listeners',
  'pools', 'hostLinks', 'backends', 'link', 'pus', 'workers']

export function renderStatus (status: unknown): string {
  if (!isObj(status)) return '<p class="bad">/status did not return an object</p>'
  const sessions = status.sessions
  const list = Array.isArray(sessions) ? sessions : isObj(sessions) ? (sessions.list ?? sessions.bound) : undefined
  const known = new Set(KNOWN)
  const unknown = Object.entries(status).filter(([k]) => !known.has(k))
  const isSection = (v: unknown): boolean => isObj(v) || (Array.isArray(v) && v.some(isObj))
  const details = Object.fromEntries(unknown.filter(([, v]) => !isSection(v)))
  const rest = unknown.filter(([, v]) => isSection(v)).map(([k, v]) => generic(k, `x-${k.replace(/[^A-Za-z0-9-]/g, '')}`, v))
  return [header(status), gatewaySections(status), proxySections(status), hostSimSections(status),
    generic('Sessions', 'sessions', list), generic('Details', 'details', details), ...rest].join('')
}

/** Everything the browser needs, in dependency order; `KNOWN` travels as a literal. */
export const RENDER_SOURCE = [esc, isObj, rowsOf, badge, cell, table, generic, uptime, header, gatewaySections, proxySections,
  hostSimSections].map(String).join('\n') + `\nconst KNOWN = ${JSON.stringify(KNOWN)}\n${String(renderStatus)}`
