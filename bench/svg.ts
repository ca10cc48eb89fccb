// A small dependency-free SVG chart writer for the results: grouped bar charts and line charts
// with axis labels, ticks and a legend, several panels stacked in one file. Output is plain SVG
// 1.1 (W3C "Scalable Vector Graphics (SVG) 1.1"), viewable in any browser and on GitHub.

export interface Series {
  name: string
  /** One value per category (bars) or per x (lines); NaN = no value (nothing drawn). */
  values: number[]
}

export interface BarPanel {
  kind: 'bar'
  title: string
  yLabel: string
  xLabel?: string
  categories: string[]
  series: Series[]
  /** Digits for the value printed above each bar. */
  digits?: number
}

export interface LinePanel {
  kind: 'line'
  title: string
  yLabel: string
  xLabel: string
  x: number[]
  series: Series[]
  digits?: number
}

export type Panel = BarPanel | LinePanel

const W = 720
const H = 320
const M = { left: 78, right: 28, top: 44, bottom: 64 }
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b']
const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'

export function escapeXml (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** A round step (1, 2, 2.5 or 5 × 10^k) giving about `n` ticks up to max. */
export function niceStep (max: number, n = 5): number {
  if (!(max > 0)) return 1
  const raw = max / n
  const mag = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag
  return 10 * mag
}

function label (v: number, digits?: number): string {
  if (!Number.isFinite(v)) return ''
  if (digits !== undefined) return v.toFixed(digits)
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US')
  if (Math.abs(v) >= 10) return v.toFixed(0)
  if (Math.abs(v) >= 1) return v.toFixed(2)
  return v.toPrecision(2)
}

/** Tick labels share one number of decimals, enough for the step (0.05 → 2, 2.5 → 1, 500 → 0). */
function tickLabel (v: number, step: number): string {
  let digits = 0
  while (digits < 6 && Math.abs(Math.round(step * 10 ** digits) - step * 10 ** digits) > 1e-9) digits++
  return digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits)
}

function text (x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${attrs}>${escapeXml(s)}</text>`
}

/** Frame, y axis with ticks and grid, titles, legend; returns the y scale and the SVG parts. */
function axes (p: Panel, max: number, oy: number): { y: (v: number) => number, parts: string[] } {
  const step = niceStep(max)
  const top = Math.max(step, Math.ceil(max / step) * step)
  const plotH = H - M.top - M.bottom
  const y = (v: number): number => oy + M.top + plotH - (v / top) * plotH
  const parts: string[] = []
  parts.push(text(W / 2, oy + 20, p.title, 'font-size="15" font-weight="bold" text-anchor="middle"'))
  for (let v = 0; v <= top + step / 1000; v += step) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`)
    parts.push(text(M.left - 6, y(v) + 4, tickLabel(v, step), 'font-size="11" text-anchor="end"'))
  }
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${oy + M.top}" y2="${y(0)}" stroke="#333"/>`)
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`)
  const cy = oy + M.top + plotH / 2
  parts.push(text(18, cy, p.yLabel, `font-size="12" text-anchor="middle" transform="rotate(-90 18 ${cy.toFixed(1)})"`))
  if (p.xLabel !== undefined) parts.push(text((M.left + W - M.right) / 2, oy + H - 12, p.xLabel, 'font-size="12" text-anchor="middle"'))
  let lx = M.left + 8
  p.series.forEach((s, i) => {
    parts.push(`<rect x="${lx}" y="${oy + 28}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`)
    parts.push(text(lx + 14, oy + 37, s.name, 'font-size="11"'))
    lx += 24 + s.name.length * 6.5
  })
  return { y, parts }
}

function finiteMax (series: Series[]): number {
  return Math.max(0, ...series.flatMap(s => s.values.filter(Number.isFinite)))
}

function bars (p: BarPanel, oy: number): string[] {
  const { y, parts } = axes(p, finiteMax(p.series), oy)
  const plotW = W - M.left - M.right
  const groupW = plotW / Math.max(1, p.categories.length)
  const barW = Math.min(48, (groupW * 0.8) / Math.max(1, p.series.length))
  p.categories.forEach((c, ci) => {
    const gx = M.left + ci * groupW + (groupW - barW * p.series.length) / 2
    p.series.forEach((s, si) => {
      const v = s.values[ci]
      if (v === undefined || !Number.isFinite(v)) return
      const x = gx + si * barW
      parts.push(`<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"/>`)
      parts.push(text(x + barW / 2 - 1, y(v) - 3, label(v, p.digits), 'font-size="10" text-anchor="middle"'))
    })
    parts.push(text(M.left + ci * groupW + groupW / 2, y(0) + 16, c, 'font-size="11" text-anchor="middle"'))
  })
  return parts
}

function lines (p: LinePanel, oy: number): string[] {
  const { y, parts } = axes(p, finiteMax(p.series), oy)
  const plotW = W - M.left - M.right
  const xMax = Math.max(1, ...p.x)
  const xStep = niceStep(xMax)
  const xTop = Math.ceil(xMax / xStep) * xStep
  const x = (v: number): number => M.left + (v / xTop) * plotW
  for (let v = 0; v <= xTop + xStep / 1000; v += xStep) {
    parts.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${y(0)}" y2="${y(0) + 4}" stroke="#333"/>`)
    parts.push(text(x(v), y(0) + 16, tickLabel(v, xStep), 'font-size="11" text-anchor="middle"'))
  }
  p.series.forEach((s, si) => {
    const color = COLORS[si % COLORS.length]
    const pts = p.x.map((xv, i) => [xv, s.values[i]] as const).filter(([, v]) => v !== undefined && Number.isFinite(v)) as Array<readonly [number, number]>
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`)
    for (const [a, b] of pts) {
      parts.push(`<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="3.5" fill="${color}"/>`)
      // Labels near the right edge go to the left of their point, so they are not cut off.
      const nearEdge = x(a) > W - M.right - 40
      parts.push(text(nearEdge ? x(a) - 5 : x(a) + 5, y(b) - 6, label(b, p.digits), `font-size="10"${nearEdge ? ' text-anchor="end"' : ''}`))
    }
  })
  return parts
}

/** One SVG document with the panels stacked top to bottom. */
export function svgDocument (title: string, panels: Panel[]): string {
  const height = H * Math.max(1, panels.length)
  const body = panels.flatMap((p, i) => p.kind === 'bar' ? bars(p, i * H) : lines(p, i * H))
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}
