import type { Command } from 'commander'
import { importKnownHostsFile } from '../../app/import-known-hosts.js'
import { UserError } from '../../domain/errors.js'
import { writeLine, type CommandContext } from '../context.js'
import { addDbOption, withStore } from '../with-store.js'
import { echoInput } from '../../domain/echo.js'

export function registerImport(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('import')
      .description('seed the history: `import known_hosts FILE` trusts its keys as the baseline (hashed entries match when their host is scanned)')
      .argument('<what>', 'known_hosts')
      .argument('<file>', 'the file to import'),
  ).action(async (what: string, file: string, flags: { db?: string; dbTimeout?: number }) => {
    if (what !== 'known_hosts') throw new UserError(`cannot import '${echoInput(what)}': only 'known_hosts' is supported`)
    const report = await withStore(flags, context, (store) => importKnownHostsFile(store, file), { create: true, bulk: true })
    for (const line of report.skipped) writeLine(context.stderr, `hostkeys: skipped ${line}`)
    writeLine(
      context.stdout,
      `imported ${report.keys} key(s) for ${report.hosts} host(s); ${report.hashed} hashed entr${report.hashed === 1 ? 'y waits' : 'ies wait'} for a scan to name their host` +
        (report.revoked > 0 ? `; ${report.revoked} revoked key(s)` : '') +
        (report.authorities > 0 ? `; ${report.authorities} certificate authorit${report.authorities === 1 ? 'y' : 'ies'} kept` : ''),
    )
  })
}
