import { escapeHtml as x } from './site/page-text.js'

/* Charts as inline SVG, drawn here: no library, no script, no CDN. Each function returns one <svg>
 * element for an HTML page (SVG 2 in HTML, HTML Living Standard §4.8.16): sized by viewBox so it
 * scales, with a <title> and role="img" for screen readers, the numbers also written as text so a
 * printed page on a black-and-white printer still reads. Labels are data (host names, key types) and
 * are escaped as any other text. Colours are attributes, not style, so print CSS need not know them. */

export type Tone = 'critical' | 'warning' | 'info' | 'ok' | 'neutral'

export const TONE_COLOURS: Record<Tone, string> = {
  critical: '#b42318',
  warning: '#d4a72c',
  info: '#0969da',
  ok: '#1a7f37',
  neutral: '#6e7781',
}

export interface Bar {
  readonly label: string
  readonly value: number
  readonly tone?: Tone
  /** Text after the bar; default the value. */
  readonly text?: string
}

export interface Series {
  readonly name: string
  readonly tone: Tone
}

export interface Column {
  /** Shown under the column, or every few columns when there are many. */
  readonly label: string
  /** One value per series, in the order of the chart's series. */
  readonly values: readonly number[]
}

const FONT = 'font-family="system-ui, sans-serif" font-size="13"'

/** Round numbers: 1 2 5 10 20 50… */
function niceStep(max: number, ticks: number): number {
  const raw = Math.max(max, 1) / ticks
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!
  return Math.max(1, step)
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1))

function open(id: string, title: string, width: number, height: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${x(id)}-title"><title id="${x(id)}-title">${x(title)}</title>`
}

/** Cuts a label to `max` characters with an ellipsis: a 253-character host name must not push the bars off the chart. */
function clip(label: string, max: number): string {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`
}

/** Horizontal bars, one per row, labels on the left, values at the end of each bar. */
export function horizontalBarChart(options: { readonly id: string; readonly title: string; readonly bars: readonly Bar[]; readonly width?: number }): string {
  const width = options.width ?? 520
  const labelWidth = 230
  // Room after the longest bar for its text (about 7.5 user units a character at font-size 13).
  const valueWidth = Math.min(260, Math.max(60, ...options.bars.map((b) => Math.ceil((b.text ?? fmt(b.value)).length * 7.5) + 12)))
  const rowHeight = 24
  const top = 8
  const plot = width - labelWidth - valueWidth
  const max = Math.max(0, ...options.bars.map((b) => b.value))
  const scale = max > 0 ? plot / max : 0
  const height = top * 2 + Math.max(1, options.bars.length) * rowHeight
  const parts = [open(options.id, options.title, width, height)]
  options.bars.forEach((bar, i) => {
    const y = top + i * rowHeight
    const length = Math.max(bar.value > 0 ? 2 : 0, Math.round(bar.value * scale))
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end" ${FONT} fill="#1b1f24">${x(clip(bar.label, 31))}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${length}" height="${rowHeight - 8}" rx="2" fill="${TONE_COLOURS[bar.tone ?? 'info']}"/>`,
      `<text x="${labelWidth + length + 6}" y="${y + 16}" ${FONT} fill="#1b1f24">${x(bar.text ?? fmt(bar.value))}</text>`,
    )
  })
  if (options.bars.length === 0) parts.push(`<text x="${width / 2}" y="${top + 16}" text-anchor="middle" ${FONT} fill="#57606a">nothing to show</text>`)
  parts.push('</svg>')
  return parts.join('')
}

/** Columns stacked by series (one column per day, say), with a y axis, grid lines and a legend. */
export function stackedColumnChart(options: {
  readonly id: string
  readonly title: string
  readonly series: readonly Series[]
  readonly columns: readonly Column[]
  readonly width?: number
}): string {
  const width = options.width ?? 520
  const left = 40
  const right = 10
  const top = 28
  const bottom = 34
  const plotHeight = 160
  const height = top + plotHeight + bottom
  const plotWidth = width - left - right
  const totals = options.columns.map((c) => c.values.reduce((a, b) => a + b, 0))
  const step = niceStep(Math.max(0, ...totals), 4)
  const max = Math.max(step, Math.ceil(Math.max(0, ...totals) / step) * step)
  const yOf = (value: number) => top + plotHeight - (value / max) * plotHeight
  const slot = options.columns.length > 0 ? plotWidth / options.columns.length : plotWidth
  const barWidth = Math.max(1, Math.min(28, slot * 0.7))
  const parts = [open(options.id, options.title, width, height)]

  // Legend across the top.
  let legendX = left
  for (const s of options.series) {
    parts.push(
      `<rect x="${legendX}" y="6" width="12" height="12" fill="${TONE_COLOURS[s.tone]}"/>`,
      `<text x="${legendX + 16}" y="16" ${FONT} fill="#1b1f24">${x(s.name)}</text>`,
    )
    legendX += 24 + s.name.length * 7
  }
  // Grid and y axis.
  for (let value = 0; value <= max; value += step) {
    const y = yOf(value).toFixed(1)
    parts.push(
      `<line x1="${left}" y1="${y}" x2="${width - right}" y2="${y}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text x="${left - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end" ${FONT} fill="#57606a">${value}</text>`,
    )
  }
  // At most ~8 x labels, whatever the number of columns.
  const labelEvery = Math.max(1, Math.ceil(options.columns.length / 8))
  options.columns.forEach((column, i) => {
    const cx = left + slot * i + slot / 2
    let base = 0
    column.values.forEach((value, s) => {
      if (value <= 0) return
      const y0 = yOf(base)
      const y1 = yOf(base + value)
      base += value
      parts.push(
        `<rect x="${(cx - barWidth / 2).toFixed(1)}" y="${y1.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(y0 - y1).toFixed(1)}" fill="${TONE_COLOURS[options.series[s]?.tone ?? 'neutral']}"><title>${x(`${column.label}: ${value} ${options.series[s]?.name ?? ''}`)}</title></rect>`,
      )
    })
    if (i % labelEvery === 0) {
      parts.push(`<text x="${cx.toFixed(1)}" y="${top + plotHeight + 16}" text-anchor="middle" ${FONT} fill="#57606a">${x(clip(column.label, 12))}</text>`)
    }
  })
  if (options.columns.length === 0) parts.push(`<text x="${width / 2}" y="${top + plotHeight / 2}" text-anchor="middle" ${FONT} fill="#57606a">nothing to show</text>`)
  parts.push('</svg>')
  return parts.join('')
}
