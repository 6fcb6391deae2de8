import type { Command } from 'commander'
import { hostHistory } from '../../app/history-actions.js'
import { renderTimelineText } from '../../report/timeline-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerHistory(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('history')
      .description("the timeline of a host's keys and findings")
      .argument('<host>', 'host: name, address, [name]:port or name:port (a bare name on one port is enough)'),
  ).action(async (host: string, flags: DbFlags) => {
    const timeline = await withStore(flags, context, (store) => hostHistory(store, host))
    for (const line of renderTimelineText(timeline)) writeLine(context.stdout, line)
  })
}
