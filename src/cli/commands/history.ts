import type { Command } from 'commander'
import { hostHistory } from '../../app/history-actions.js'
import { renderTimelineText } from '../../report/timeline-report.js'
import { statementsAbout } from '../../app/key-statements.js'
import { renderStatementsSummary } from '../../report/key-statement-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerHistory(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('history')
      .description("the timeline of a host's keys and findings")
      .argument('<host>', 'host: name, address, [name]:port or name:port (a bare name on one port is enough)'),
  ).action(async (host: string, flags: DbFlags) => {
    const { timeline, statements } = await withStore(flags, context, async (store) => {
      const timeline = await hostHistory(store, host)
      return { timeline, statements: await statementsAbout(store, timeline.host) }
    })
    const [heading, ...rest] = renderTimelineText(timeline)
    for (const line of [heading!, ...renderStatementsSummary(statements), ...rest]) writeLine(context.stdout, line)
  })
}
