import { SEVERITIES, type Severity } from '../domain/finding.js'
import type { FleetSummary } from '../domain/fleet.js'
import { actionFor } from './finding-actions.js'
import { htmlDocument } from './site/html-page.js'
import { escapeHtml as h, formatDay, formatTime } from './site/page-text.js'
import { horizontalBarChart, stackedColumnChart, type Bar, type Tone } from './svg-chart.js'

/* `hostkeys report`: the fleet's state on one page for a person: charts first (inline SVG, see
 * svg-chart.ts), then the table of what needs doing. Pure: a summary in, a document out. */

const SEVERITY_TONE: Record<Severity, Tone> = { critical: 'critical', warning: 'warning', info: 'info' }
/** Most severe first, for bars and legends. */
const SEVERITIES_DOWN: readonly Severity[] = [...SEVERITIES].reverse()

function figure(caption: string, svg: string, note = ''): string {
  return `<figure><figcaption>${h(caption)}</figcaption>${svg}${note === '' ? '' : `<p class="muted">${note}</p>`}</figure>`
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function actionRows(summary: FleetSummary): string {
  if (summary.needsAction.length === 0) return '<p class="note">No open critical or warning finding: nothing needs action.</p>'
  const rows = summary.needsAction.map((finding) => {
    const action = actionFor(finding)
    return [
      '<tr>',
      `<td class="sev-${finding.severity}">${h(finding.severity)}</td>`,
      `<td class="mono">${h(finding.host)}</td>`,
      `<td><strong>${h(finding.kind)}</strong><br>${h(finding.message)}</td>`,
      `<td>${h(formatTime(finding.firstSeen))}</td>`,
      `<td>${action === null ? '<span class="muted">no hostkeys command: see the finding</span>' : `<code>${h(action.command)}</code>${action.first === null ? '' : `<br><span class="muted">${h(action.first)}</span>`}`}</td>`,
      '</tr>',
    ].join('')
  })
  return [
    '<table class="actions">',
    '<colgroup><col class="severity"><col class="host"><col><col class="when"><col class="resolve"></colgroup>',
    '<thead><tr><th scope="col">Severity</th><th scope="col">Host</th><th scope="col">Finding</th><th scope="col">Since</th><th scope="col">Resolve with</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody>`,
    '</table>',
  ].join('\n')
}

/** The whole report page. */
export function renderFleetReportHtml(summary: FleetSummary): string {
  const days = summary.raisedByDay.length
  const horizon = summary.certificateHorizonDays
  const open = summary.openBySeverity
  const severityBars: Bar[] = SEVERITIES_DOWN.map((s) => ({ label: s, value: open[s], tone: SEVERITY_TONE[s] }))
  const keyBars: Bar[] = summary.keyTypes.map((t) => ({ label: t.label, value: t.count, tone: t.weak ? 'critical' : 'ok', text: `${t.count}${t.weak ? ' (weak)' : ''}` }))
  const oldBars: Bar[] = summary.oldestKeys.map((k) => ({ label: k.host, value: k.ageDays, tone: 'neutral', text: `${k.ageDays} d, ${k.label}` }))
  const certificateBars: Bar[] = summary.certificatesAhead.map((c) => ({
    label: c.host,
    value: Math.max(0, c.daysLeft),
    tone: c.daysLeft < 0 ? 'critical' : c.daysLeft <= 30 ? 'warning' : 'ok',
    text: `${c.family}: ${c.daysLeft < 0 ? `ended ${formatDay(c.validBefore)}` : `${c.daysLeft} d, ${formatDay(c.validBefore)}`}`,
  }))
  const columns = summary.raisedByDay.map((d) => ({ label: d.day.slice(5), values: SEVERITIES_DOWN.map((s) => d.counts[s]) }))
  const raised = summary.raisedByDay.reduce((n, d) => n + d.counts.critical + d.counts.warning + d.counts.info, 0)

  const body = [
    '<h1>SSH host keys: fleet report</h1>',
    `<p>${plural(summary.hosts, 'host')} in the history (${summary.reachedHosts} ever reached), serving ${plural(summary.servedKeys, 'key')}. ${
      summary.lastScan === null
        ? 'No scan is recorded.'
        : `Last scan finished ${h(formatTime(summary.lastScan.finishedAt))} from <span class="mono">${h(summary.lastScan.vantage)}</span>; ${plural(summary.scans, 'scan')} kept.`
    }</p>`,
    `<p><span class="sev-critical">${open.critical} critical</span>, <span class="sev-warning">${open.warning} warning</span> and <span class="sev-info">${open.info} info</span> findings are open.</p>`,
    '<section>',
    '<h2>At a glance</h2>',
    '<div class="charts">',
    figure('Open findings by severity', horizontalBarChart({ id: 'open-findings', title: 'Open findings by severity', bars: severityBars })),
    figure(
      'Key types and sizes served',
      horizontalBarChart({ id: 'key-types', title: 'Host keys served at the last scan, by type and size', bars: keyBars }),
      'Red: weak (RSA under 2048 bits, DSA).',
    ),
    figure(
      `Findings raised per day, last ${days} days`,
      stackedColumnChart({
        id: 'findings-per-day',
        title: `Findings raised per day over the last ${days} days, by severity`,
        series: SEVERITIES_DOWN.map((s) => ({ name: s, tone: SEVERITY_TONE[s] })),
        columns,
      }),
      `${plural(raised, 'finding')} raised in that time (UTC days).`,
    ),
    figure(
      'Hosts whose keys are oldest',
      horizontalBarChart({ id: 'oldest-keys', title: 'Hosts by the age of their oldest served key, in days', bars: oldBars }),
      'Age: since the history first saw the host serve the key.',
    ),
    figure(
      `Certificates ending within ${horizon} days`,
      horizontalBarChart({ id: 'certificate-expiry', title: `Host certificates that end within ${horizon} days, or have ended`, bars: certificateBars }),
      summary.certificatesWithoutExpiry === 0 ? '' : `${plural(summary.certificatesWithoutExpiry, 'certificate')} never end${summary.certificatesWithoutExpiry === 1 ? 's' : ''} (cert_no_expiry).`,
    ),
    '</div>',
    '</section>',
    '<section>',
    '<h2>What needs action</h2>',
    '<p>Open critical and warning findings, most severe first, with the hostkeys command that resolves each where there is one.</p>',
    actionRows(summary),
    '</section>',
    ...(summary.waived.length === 0
      ? []
      : [
          '<section>',
          '<h2>Waived</h2>',
          '<p>Findings a waiver keeps out of the nightly reports (<code>hostkeys waive</code>): the condition is still true; they are reported again when the waiver ends.</p>',
          `<table><thead><tr><th>severity</th><th>host</th><th>kind</th><th>waived</th></tr></thead><tbody>${summary.waived
            .map((f) => `<tr><td>${h(f.severity)}</td><td>${h(f.host)}</td><td>${h(f.kind)}</td><td>${h(`${f.acceptedBy ?? ''}${f.acceptReason ? `: ${f.acceptReason}` : ''}`)}</td></tr>`)
            .join('')}</tbody></table>`,
          '</section>',
        ]),
    `<footer>Generated by hostkeys at ${h(formatTime(summary.generatedAt))}.</footer>`,
  ]
  return htmlDocument('SSH host keys: fleet report', body.join('\n'))
}
