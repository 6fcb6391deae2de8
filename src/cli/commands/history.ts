import type { Command } from 'commander'
import { UserError } from '../../domain/errors.js'
import { renderTimelineText } from '../../report/timeline-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { addDbOption, withStore } from '../with-store.js'

export function registerHistory(program: Command, context: CommandContext): void {
  addDbOption(
    program.command('history').description("the timeline of a host's keys and findings").argument('<host>', 'host identity, alias or address'),
  ).action(async (host: string, flags: { db?: string; dbTimeout?: number }) => {
    const timeline = await withStore(flags, context, (store) => store.hostTimeline(host))
    if (!timeline) throw new UserError(`${host} is not in the history`)
    for (const line of renderTimelineText(timeline)) writeLine(context.stdout, line)
  })
}
