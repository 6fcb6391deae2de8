import type { Command } from 'commander'
import { acceptHost } from '../../app/history-actions.js'
import { writeLine, type CommandContext } from '../context.js'
import { actorOf, addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerAccept(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('accept')
      .description('trust the keys a host serves now (after a legitimate rebuild); the history keeps who, when and why')
      .argument('<host>', 'host: name, address, [name]:port or name:port (a bare name on one port is enough)')
      .option('--reason <text>', 'why, kept with the acceptance'),
  ).action(async (host: string, flags: DbFlags & { reason?: string }) => {
    const actor = actorOf(context)
    const acceptance = await withStore(flags, context, (store) => acceptHost(store, host, { actor, reason: flags.reason ?? null, at: new Date() }))
    writeLine(
      context.stdout,
      `${acceptance.host}: trusted ${acceptance.fingerprints.join(', ')}; ${acceptance.findingsAccepted} finding(s) accepted by ${actor}`,
    )
  })
}
