import { Command, InvalidArgumentError, Option } from 'commander'
import { listFindings } from '../../app/history-actions.js'
import { renderFindingsJson, renderNoFindings, renderStoredFindingText } from '../../report/findings-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { choice } from '../options.js'
import { addDbOption, withStore, type DbFlags } from '../with-store.js'
import { echoInput } from '../../domain/echo.js'

function parseDate(text: string): Date {
  const date = new Date(text)
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(`'${echoInput(text)}' is not a date (YYYY-MM-DD or an ISO 8601 time)`)
  }
  return date
}

export function registerFindings(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('findings')
      .description('findings kept in the history, most recent first')
      .option('--open', 'only open findings (not accepted, not resolved)')
      .option('--since <date>', 'only findings seen since this date', parseDate)
      .addOption(new Option('--format <format>', 'text or json').argParser(choice(['text', 'json'] as const)).default('text')),
  ).action(async (flags: DbFlags & { open?: boolean; since?: Date; format: 'text' | 'json' }) => {
    const filter = { openOnly: !!flags.open, since: flags.since ?? null }
    const findings = await withStore(flags, context, (store) => listFindings(store, filter))
    if (flags.format === 'json') writeLine(context.stdout, renderFindingsJson(findings))
    else for (const f of findings) writeLine(context.stdout, renderStoredFindingText(f))
    // Said on stderr, as lookup's "no match": an empty stdout stays empty for scripts, and a person sees the filter was applied.
    if (findings.length === 0 && flags.format === 'text') writeLine(context.stderr, `hostkeys: ${renderNoFindings(filter)}`)
  })
}
