import type { Command } from 'commander'
import { UserError } from '../../domain/errors.js'
import { writeLine, type CommandContext } from '../context.js'
import { actorOf, addDbOption, withStore } from '../with-store.js'

export function registerAllowShared(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('allow-shared')
      .description('declare hosts that legitimately share keys (an HA pair, names of one machine): no duplicate_key among them')
      .argument('<hosts...>', 'two or more host identities'),
  ).action(async (hosts: string[], flags: { db?: string; dbTimeout?: number }) => {
    const distinct = [...new Set(hosts)]
    if (distinct.length < 2) throw new UserError('allow-shared needs at least two different hosts')
    await withStore(flags, context, (store) => store.allowShared(distinct, { actor: actorOf(context), at: new Date() }))
    writeLine(context.stdout, `${distinct.join(', ')} may share keys; the next scan raises no duplicate_key among them`)
  })
}
