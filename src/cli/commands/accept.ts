import type { Command } from 'commander'
import { UserError } from '../../domain/errors.js'
import { writeLine, type CommandContext } from '../context.js'
import { actorOf, addDbOption, withStore } from '../with-store.js'

export function registerAccept(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('accept')
      .description('trust the keys a host serves now (after a legitimate rebuild); the history keeps who, when and why')
      .argument('<host>', 'host identity, alias or address')
      .option('--reason <text>', 'why, kept with the acceptance'),
  ).action(async (host: string, flags: { reason?: string; db?: string; dbTimeout?: number }) => {
    const actor = actorOf(context)
    const acceptance = await withStore(flags, context, (store) =>
      store.acceptHost(host, { actor, reason: flags.reason ?? null, at: new Date() }),
    )
    if (!acceptance) throw new UserError(`${host} is not in the history`)
    writeLine(
      context.stdout,
      `${acceptance.host}: trusted ${acceptance.fingerprints.join(', ')}; ${acceptance.findingsAccepted} finding(s) accepted by ${actor}`,
    )
  })
}
