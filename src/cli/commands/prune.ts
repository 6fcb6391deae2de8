import { Command } from 'commander'
import { pruneHistory } from '../../app/history-actions.js'
import { writeLine, type CommandContext } from '../context.js'
import { parseDuration } from '../options.js'
import { addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerPrune(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('prune')
      .description('drop scan details older than DURATION; sightings and findings (the history) are kept')
      .requiredOption('--older-than <duration>', 'e.g. 90d, 12w', parseDuration),
  ).action(async (flags: DbFlags & { olderThan: number }) => {
    const report = await withStore(flags, context, (store) => pruneHistory(store, flags.olderThan, new Date()))
    writeLine(context.stdout, `pruned ${report.scans} scan(s) and ${report.failures} per-host failure record(s) from before ${report.before.toISOString()}`)
  })
}
