import { FINDING_KINDS, SEVERITIES, type Finding } from '../domain/finding.js'

/* Prometheus text exposition format 0.0.4, for node_exporter's textfile collector. Every kind and
 * severity is written, zeros included, so alerts on `> 0` see a series that exists. */

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
  gauge('hostkeys_last_success_timestamp_seconds', 'Unix time the last scan completed.', [
    ['', Math.floor(metrics.finishedAt.getTime() / 1000)],
  ])
  return `${lines.join('\n')}\n`
}
