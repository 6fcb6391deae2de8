import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parseRevokeArgument, revokeKeys } from '../../app/history-actions.js'
import { writeLine, type CommandContext } from '../context.js'
import { actorOf, addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerRevoke(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('revoke')
      .description(
        'refuse keys for good, whoever serves them: never vouched for again, exported as @revoked lines, and no accept can trust them ' +
          '(a revoked CA vouches for no certificate)',
      )
      .argument('<key>', 'SHA256:<fingerprint> of a key in the history, or a file of public key or known_hosts lines')
      .requiredOption('--reason <text>', 'why, kept with the revocation'),
  ).action(async (key: string, flags: DbFlags & { reason: string }) => {
    // The whole input is read and checked before the store opens.
    const entries = parseRevokeArgument(key, (file) => readFileSync(file, 'utf8'))
    const revoked = await withStore(flags, context, (store) => revokeKeys(store, entries, { actor: actorOf(context), reason: flags.reason, at: new Date() }))
    for (const sha of revoked) writeLine(context.stdout, `revoked ${sha}`)
    writeLine(context.stdout, `${revoked.length} key(s) revoked, ${entries.length - revoked.length} already revoked`)
  })
}
