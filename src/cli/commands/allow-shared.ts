import type { Command } from 'commander'
import { allowShared } from '../../app/history-actions.js'
import { writeLine, type CommandContext } from '../context.js'
import { actorOf, addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerAllowShared(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('allow-shared')
      .description('declare hosts that legitimately share keys (an HA pair, names of one machine): no duplicate_key among them')
      .argument('<hosts...>', 'two or more hosts in the history (name, address, [name]:port or name:port)'),
  ).action(async (hosts: string[], flags: DbFlags) => {
    const identities = await withStore(flags, context, (store) => allowShared(store, hosts, { actor: actorOf(context), at: new Date() }))
    writeLine(context.stdout, `${identities.join(', ')} may share keys; the next scan raises no duplicate_key among them`)
  })
}
