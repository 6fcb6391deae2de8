import { FINDING_KINDS, SEVERITIES, type Finding } from '../domain/finding.js'

/* Prometheus text exposition format 0.0.4, for node_exporter's textfile collector. Every kind and
 * severity is written, zeros included, so alerts on `> 0` see a series that exists.
 *
 * A run that fails (database down or lost, interrupted, bad inventory) rewrites the file too:
 * hostkeys_last_run_success becomes 0 and everything else stays as the last successful run left it,
 * its timestamp included, so `time() - hostkeys_last_success_timestamp_seconds` keeps growing. */

const RUN_SUCCESS = 'hostkeys_last_run_success'
const LAST_SUCCESS = 'hostkeys_last_success_timestamp_seconds'

function runSuccessLines(success: boolean): string[] {
  return [
    `# HELP ${RUN_SUCCESS} 1 if the last hostkeys scan completed, 0 if it failed (database, signal, input).`,
    `# TYPE ${RUN_SUCCESS} gauge`,
    `${RUN_SUCCESS} ${success ? 1 : 0}`,
  ]
}

export interface ScanMetrics {
  readonly targets: number
  readonly reached: number
  readonly failed: number
  readonly keys: number
  readonly durationMs: number
  readonly finishedAt: Date
  readonly findings: readonly Finding[]
}

export function renderMetrics(metrics: ScanMetrics): string {
  const lines: string[] = []
  const gauge = (name: string, help: string, samples: [labels: string, value: number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`)
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`)
  }
  gauge('hostkeys_hosts_scanned', 'Targets scanned by the last hostkeys scan.', [['', metrics.targets]])
  gauge('hostkeys_hosts_reached', 'Targets that answered SSH in the last scan.', [['', metrics.reached]])
  gauge('hostkeys_hosts_failed', 'Targets that failed (refused, timeout, unreachable, protocol or DNS error).', [
    ['', metrics.failed],
  ])
  gauge('hostkeys_keys_collected', 'Host keys collected by the last scan.', [['', metrics.keys]])
  const byKind = new Map<string, number>()
  const bySeverity = new Map<string, number>()
  for (const finding of metrics.findings) {
    byKind.set(finding.kind, (byKind.get(finding.kind) ?? 0) + 1)
    bySeverity.set(finding.severity, (bySeverity.get(finding.severity) ?? 0) + 1)
  }
  gauge(
    'hostkeys_findings',
    'Findings of the last scan, by kind.',
    FINDING_KINDS.map((kind) => [`{kind="${kind}"}`, byKind.get(kind) ?? 0]),
  )
  gauge(
    'hostkeys_findings_by_severity',
    'Findings of the last scan, by severity.',
    SEVERITIES.map((severity) => [`{severity="${severity}"}`, bySeverity.get(severity) ?? 0]),
  )
  gauge('hostkeys_scan_duration_seconds', 'Wall time of the last scan.', [['', metrics.durationMs / 1000]])
  gauge(LAST_SUCCESS, 'Unix time the last scan completed.', [['', Math.floor(metrics.finishedAt.getTime() / 1000)]])
  lines.push(...runSuccessLines(true))
  return `${lines.join('\n')}\n`
}

/**
 * The metrics after a failed run: `previous` (the file as it was, or null) with the run marked failed.
 * A file that never saw a success gets a last-success time of 0, so an age alert fires.
 */
export function renderFailedRunMetrics(previous: string | null): string {
  const kept = (previous ?? '')
    .split('\n')
    .filter((line) => /^(# (HELP|TYPE) )?hostkeys_/.test(line) && !line.replace(/^# (HELP|TYPE) /, '').startsWith(RUN_SUCCESS))
  if (!kept.some((line) => line.startsWith(`${LAST_SUCCESS} `))) {
    kept.push(`# HELP ${LAST_SUCCESS} Unix time the last scan completed.`, `# TYPE ${LAST_SUCCESS} gauge`, `${LAST_SUCCESS} 0`)
  }
  return `${[...kept, ...runSuccessLines(false)].join('\n')}\n`
}
