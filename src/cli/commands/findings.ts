import { Command, InvalidArgumentError, Option } from 'commander'
import { renderFindingsJson, renderStoredFindingText } from '../../report/findings-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { choice } from '../options.js'
import { addDbOption, withStore } from '../with-store.js'
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
  ).action(async (flags: { open?: boolean; since?: Date; format: 'text' | 'json'; db?: string; dbTimeout?: number }) => {
    const findings = await withStore(flags, context, (store) =>
      store.listFindings({ openOnly: !!flags.open, since: flags.since ?? null }),
    )
    if (flags.format === 'json') writeLine(context.stdout, renderFindingsJson(findings))
    else for (const f of findings) writeLine(context.stdout, renderStoredFindingText(f))
  })
}
