import { Command } from 'commander'
import { writeLine, type CommandContext } from '../context.js'
import { addDbOption, withStore } from '../with-store.js'

export function registerDb(program: Command, context: CommandContext): void {
  const db = program.command('db').description('the history database')
  addDbOption(db.command('migrate').description('apply pending migrations (opening the database does it too)')).action(
    async (flags: { db?: string; dbTimeout?: number }) => {
      await withStore(flags, context, async (store) => {
        const { applied, version } = store.migrations
        writeLine(
          context.stdout,
          applied.length > 0
            ? `${store.location}: applied ${applied.join(', ')}; schema version ${version}`
            : `${store.location}: up to date at schema version ${version}`,
        )
      }, { create: true })
    },
  )
}
