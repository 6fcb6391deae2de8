import { Command, Option } from 'commander'
import { lookup } from '../../app/lookup.js'
import { parseLookupQuery } from '../../domain/fingerprint/query.js'
import { renderLookupJson, renderLookupText } from '../../report/lookup-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { EXIT_FINDINGS, EXIT_OK } from '../exit-codes.js'
import { choice } from '../options.js'
import { addDbOption, withStore } from '../with-store.js'

export function registerLookup(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('lookup')
      .description('every host that ever served a key (any fingerprint form, key line or known_hosts line), or a host\'s keys')
      .argument('<query...>', 'SHA256:..., MD5:..., hex digest, public key line, known_hosts line, or host name/address')
      .addOption(new Option('--format <format>', 'text or json').argParser(choice(['text', 'json'] as const)).default('text')),
  ).action(async (words: string[], flags: { format: 'text' | 'json'; db?: string; dbTimeout?: number }) => {
    const query = parseLookupQuery(words.join(' ')) // malformed: UserError, exit 2, before the database opens
    const matches = await withStore(flags, context, (store) => lookup(store, query))
    if (flags.format === 'json') writeLine(context.stdout, renderLookupJson(matches))
    else for (const line of renderLookupText(matches)) writeLine(context.stdout, line)
    if (matches.length === 0 && flags.format === 'text') writeLine(context.stderr, 'hostkeys: no match in the history')
    context.exitCode = matches.length === 0 ? EXIT_FINDINGS : EXIT_OK
  })
}
