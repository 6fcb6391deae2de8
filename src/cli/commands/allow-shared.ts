import type { Command } from 'commander'
import { resolveHostArgument } from '../../app/host-argument.js'
import { UserError } from '../../domain/errors.js'
import { writeLine, type CommandContext } from '../context.js'
import { actorOf, addDbOption, withStore } from '../with-store.js'

export function registerAllowShared(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('allow-shared')
      .description('declare hosts that legitimately share keys (an HA pair, names of one machine): no duplicate_key among them')
      .argument('<hosts...>', 'two or more host identities'),
  ).action(async (hosts: string[], flags: { db?: string }) => {
    const distinct = await withStore(flags.db, context, async (store) => {
      // Every host must be in the history: a typo recorded silently would never match anything.
      const identities = [...new Set(await Promise.all(hosts.map((h) => resolveHostArgument(store, h))))]
      if (identities.length < 2) throw new UserError('allow-shared needs at least two different hosts')
      await store.allowShared(identities, { actor: actorOf(context), at: new Date() })
      return identities
    })
    writeLine(context.stdout, `${distinct.join(', ')} may share keys; the next scan raises no duplicate_key among them`)
  })
}
