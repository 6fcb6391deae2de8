import { Command, Option } from 'commander'
import { resolveHistorySettings } from '../../app/open-history.js'
import { UserError } from '../../domain/errors.js'
import { writeLine, type CommandContext } from '../context.js'
import { EXIT_OK } from '../exit-codes.js'
import { choice, parseFailOn } from '../options.js'
import { renderRunProgress, renderRunStatus, reportRunOutcome, type RunOutputFlags } from '../run-output.js'
import { addDbOption, type DbFlags } from '../with-store.js'

/* `hostkeys run status|wait|cancel ID`: a distributed run (scan --distribute) seen from anywhere. */

function parseRunId(text: string): number {
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new UserError(`'${text.slice(0, 40)}' is not a run id (a positive whole number, as scan --distribute --detach prints)`)
  return Number(text)
}

async function runDb(flags: DbFlags, context: CommandContext, what: string): Promise<{ db: string; timeoutMs: number }> {
  const { runDatabase } = await import('../../app/distributed-runs.js')
  const history = resolveHistorySettings(flags, context.env)
  return { db: runDatabase(history.db, context.env, what), timeoutMs: history.timeoutMs }
}

/** Waits for a run, progress on stderr (a terminal only, unless --quiet), then reports it as scan would. */
export async function waitAndReport(db: string, timeoutMs: number, runId: number, flags: RunOutputFlags, context: CommandContext): Promise<void> {
  const { waitForRun, runOutcome } = await import('../../app/distributed-runs.js')
  const metrics = flags.metricsFile ? await import('../../app/run-scan.js') : null
  const metricsFile = flags.metricsFile
  // As scan's: whatever ends the wait early, or a run that failed, cron's metrics say so.
  if (metrics && metricsFile) context.lifecycle?.onFailure(() => metrics.writeFailedRunMetrics(metricsFile))
  const tty = !!context.stderr.isTTY && !flags.quiet
  let last = ''
  const run = await waitForRun(db, runId, {
    env: context.env,
    timeoutMs,
    ...(context.lifecycle ? { signal: context.lifecycle.signal } : {}),
    reconnecting: flags.quiet
      ? undefined
      : (message) => {
          if (tty && last) context.stderr.write('\r\x1b[2K')
          last = ''
          writeLine(context.stderr, `hostkeys: ${message}`)
        },
    progress: flags.quiet
      ? undefined
      : (run) => {
          const line = renderRunProgress(run)
          if (line === last) return
          last = line
          // A terminal gets one line redrawn; a log gets each change once.
          context.stderr.write(tty ? `\r\x1b[2K${line}` : `hostkeys: ${line}\n`)
        },
  })
  if (tty && last) context.stderr.write('\r\x1b[2K')
  const outcome = runOutcome(run)
  if (metrics && metricsFile) await metrics.writeScanMetrics(metricsFile, outcome, run.finishedAt ?? new Date())
  reportRunOutcome(outcome, flags, context)
}

export function registerRun(program: Command, context: CommandContext): void {
  const run = program.command('run').description('a distributed scan (scan --distribute): status, wait, cancel')
  addDbOption(run.command('status').description("show a run's progress, or its outcome").argument('<id>', 'run id', parseRunId)).action(
    async (id: number, flags: DbFlags) => {
      const { runStatus } = await import('../../app/distributed-runs.js')
      const { db, timeoutMs } = await runDb(flags, context, 'run status')
      writeLine(context.stdout, renderRunStatus(await runStatus(db, id, context.env, timeoutMs)))
      context.exitCode = EXIT_OK
    },
  )
  addDbOption(
    run
      .command('wait')
      .description('wait for a run to be judged, then print its findings as scan does (exit 0, 1 or 2)')
      .argument('<id>', 'run id', parseRunId)
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).argParser(choice(['text', 'json'] as const)).default('text'))
      .option('--fail-on <severity>', 'exit 1 when a finding is at or above: info, warning, critical, never', parseFailOn, 'warning')
      .option('-q, --quiet', 'print nothing unless a finding is at or above --fail-on (for cron)')
      .option('--metrics-file <path>', 'write Prometheus metrics for node_exporter textfile collector, as scan does'),
  ).action(async (id: number, flags: DbFlags & RunOutputFlags) => {
    const { db, timeoutMs } = await runDb(flags, context, 'run wait')
    await waitAndReport(db, timeoutMs, id, flags, context)
  })
  addDbOption(run.command('cancel').description('cancel a run that is not being judged yet').argument('<id>', 'run id', parseRunId)).action(
    async (id: number, flags: DbFlags) => {
      const { cancelRun } = await import('../../app/distributed-runs.js')
      const { db, timeoutMs } = await runDb(flags, context, 'run cancel')
      const after = await cancelRun(db, id, context.env, timeoutMs)
      writeLine(context.stdout, after.status === 'cancelled' ? `run ${id} cancelled` : `run ${id} is ${after.status}: nothing to cancel`)
      context.exitCode = EXIT_OK
    },
  )
}
