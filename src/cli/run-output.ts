import type { RunRow } from '../store/run-queue.js'
import { isAtOrAbove, type FailOn } from '../domain/finding.js'
import { ScanJsonWriter } from '../report/scan-json.js'
import { renderTextFinding, renderTextSummary } from '../report/scan-text.js'
import type { ScanOutcome } from '../app/scan-fleet.js'
import type { RunReport } from '../app/judge-run.js'
import { writeLine, type CommandContext } from './context.js'
import { EXIT_FINDINGS, EXIT_OK } from './exit-codes.js'

/* How a distributed run is shown: its progress while it runs (stderr), and its findings once judged,
 * as `scan` shows a scan's, less the per-host rows (the hosts were scanned elsewhere). */

export interface RunOutputFlags {
  readonly format: 'text' | 'json'
  readonly failOn: FailOn
  readonly quiet?: boolean
  /** `--metrics-file`: Prometheus text, written as scan writes it, once the run is judged (or failed). */
  readonly metricsFile?: string
}

/** One line of progress: parts in, hosts scanned and reached (every vantage), and the status; while
 * the run is judged, the hosts recorded and the findings raised so far (findings exist only once its
 * judging starts: a run is judged when its last shard is in). */
export function renderRunProgress(run: RunRow): string {
  const failed = run.partsFailed > 0 ? `, ${run.partsFailed} failed` : ''
  const line = `run ${run.id} ${run.status}: ${run.partsDone}/${run.parts} shard(s) in${failed}, ${run.hostsScanned}/${run.targets * Math.max(1, run.vantages.length)} host scan(s), ${run.hostsReached} reached`
  if (run.status === 'judging') return `${line}; ${run.hostsJudged ?? 0}/${run.targets} judged, ${run.findingsSoFar ?? 0} finding(s) so far`
  const report = run.report as RunReport | null
  if (run.status === 'done' && report) return `${line}; ${report.findings.length + (report.newHostsInHistory ?? 0)} finding(s)`
  return line
}

/** `run status`: the run in a few lines. */
export function renderRunStatus(run: RunRow): string {
  const lines = [renderRunProgress(run)]
  lines.push(`vantages: ${run.vantages.length > 0 ? run.vantages.join(', ') : 'any worker'}; ${run.targets} target(s) in ${run.shards} shard(s)`)
  lines.push(`created ${run.createdAt.toISOString()}${run.finishedAt ? `, finished ${run.finishedAt.toISOString()}` : ''}`)
  const report = run.report as RunReport | null
  if (run.scanId !== null) lines.push(`recorded as scan ${run.scanId}; ${(report?.findings.length ?? 0) + (report?.newHostsInHistory ?? 0)} finding(s)`)
  if (run.error) lines.push(`error: ${run.error}`)
  return lines.join('\n')
}

/** Prints a judged run's findings and sets the exit code as scan does. */
export function reportRunOutcome(outcome: ScanOutcome, flags: RunOutputFlags, context: CommandContext): void {
  const failing = outcome.findings.filter((f) => isAtOrAbove(f.severity, flags.failOn))
  if (flags.quiet) {
    for (const finding of failing) writeLine(context.stdout, renderTextFinding(finding))
  } else if (flags.format === 'json') {
    const writer = new ScanJsonWriter()
    context.stdout.write(writer.open())
    context.stdout.write(writer.close(outcome.findings))
  } else {
    writeLine(context.stdout, renderTextSummary(outcome, outcome.findings).replace(/^\n/, ''))
  }
  context.exitCode = failing.length > 0 ? EXIT_FINDINGS : EXIT_OK
}
