import { Command, Option } from 'commander'
import { hostname } from 'node:os'
import { readOwnKeys, selfReport } from '../../app/key-statements.js'
import { renderStatementJson, renderStatementText } from '../../report/key-statement-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { choice } from '../options.js'
import { actorOf, addDbOption, withStore, type DbFlags } from '../with-store.js'

/** sshd's default key directory (sshd_config(5) HostKey: /etc/ssh/ssh_host_*_key). */
const DEFAULT_KEYS_DIR = '/etc/ssh'

export function registerSelfReport(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('self-report')
      .description(
        "run on a server: record its own host keys (/etc/ssh/ssh_host_*_key.pub) as its statement of every key it has; every scan compares, and a served key it lacks, of any family, is oob_mismatch",
      )
      .option('--keys-dir <dir>', "the directory of sshd's host key files", DEFAULT_KEYS_DIR)
      .option('--host <name>', "the host's name in the inventory: name, [name]:port off port 22 (default: this machine's host name)")
      .addOption(new Option('--format <format>', 'text or json').argParser(choice(['text', 'json'] as const)).default('text')),
  ).action(async (flags: DbFlags & { format: 'text' | 'json'; keysDir: string; host?: string }) => {
    const own = await readOwnKeys(flags.keysDir) // unreadable or malformed: exit 2 before the database opens
    const machine = hostname().toLowerCase()
    const actor = actorOf(context)
    const host = { name: flags.host ?? machine, given: flags.host !== undefined }
    const recorded = await withStore(
      flags,
      context,
      (store) => selfReport(store, { keys: own.keys, dir: flags.keysDir }, host, { actor, machine, at: new Date() }),
      { create: true },
    )
    if (flags.format === 'json') writeLine(context.stdout, renderStatementJson(recorded))
    else for (const line of renderStatementText(recorded)) writeLine(context.stdout, line)
  })
}
