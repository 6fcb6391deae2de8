import type { Command } from 'commander'
import { exportKnownHosts } from '../../app/export-known-hosts.js'
import { writeLine, type CommandContext } from '../context.js'
import { addDbOption, withStore } from '../with-store.js'

export function registerKnownHosts(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('known-hosts')
      .description('a known_hosts file of the trusted keys, for /etc/ssh/ssh_known_hosts')
      .option('--hash', 'hash host names as ssh-keygen -H does'),
  ).action(async (flags: { hash?: boolean; db?: string; dbTimeout?: number }) => {
    const lines = await withStore(flags, context, (store) => exportKnownHosts(store, { hash: !!flags.hash }))
    for (const line of lines) writeLine(context.stdout, line)
  })
}
