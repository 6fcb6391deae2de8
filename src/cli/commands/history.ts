import type { Command } from 'commander'
import { resolveHostArgument } from '../../app/host-argument.js'
import { UserError } from '../../domain/errors.js'
import { renderTimelineText } from '../../report/timeline-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { addDbOption, withStore } from '../with-store.js'

export function registerHistory(program: Command, context: CommandContext): void {
  addDbOption(
    program.command('history').description("the timeline of a host's keys and findings").argument('<host>', 'host: name, address, [name]:port or name:port (a bare name on one port is enough)'),
  ).action(async (host: string, flags: { db?: string }) => {
    const timeline = await withStore(flags.db, context, async (store) => store.hostTimeline(await resolveHostArgument(store, host)))
    if (!timeline) throw new UserError(`${host} is not in the history`)
    for (const line of renderTimelineText(timeline)) writeLine(context.stdout, line)
  })
}
