import { Command, Option } from 'commander'
import { expectKeys, readOwnerStatement } from '../../app/key-statements.js'
import { renderStatementJson, renderStatementText } from '../../report/key-statement-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { choice } from '../options.js'
import { readAll } from '../read-stdin.js'
import { actorOf, addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerExpect(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('expect')
      .description("record what a host's owner says its keys are; every scan compares (oob_mismatch)")
      .argument('<host>', 'host: name, address, [name]:port or name:port; a host of the history, or one a scan will name')
      .argument('<file>', 'ssh-keygen -l output (SHA256 or MD5), .pub lines or known_hosts lines; - for stdin')
      .option(
        '--complete',
        'the list is every key the host has: a served key of a family it lacks is oob_mismatch too (without it, the statement covers only the families it lists)',
      )
      .addOption(new Option('--format <format>', 'text or json').argParser(choice(['text', 'json'] as const)).default('text')),
  ).action(async (host: string, file: string, flags: DbFlags & { format: 'text' | 'json'; complete?: boolean }) => {
    const input = await readOwnerStatement(file, () => readAll(context.stdin)) // malformed: exit 2 before the database opens
    const actor = actorOf(context)
    const recorded = await withStore(flags, context, (store) => expectKeys(store, host, input, { actor, at: new Date(), complete: flags.complete === true }), { create: true })
    if (flags.format === 'json') writeLine(context.stdout, renderStatementJson(recorded))
    else for (const line of renderStatementText(recorded)) writeLine(context.stdout, line)
  })
}
