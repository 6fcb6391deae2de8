import { Option, type Command } from 'commander'
import path from 'node:path'
import type { SiteFormat } from '../../app/publish-site.js'
import { writeLine, type CommandContext } from '../context.js'
import { choice } from '../options.js'
import { checkSiteDirectory, writeSite } from '../page-writer.js'
import { addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerPublish(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('publish')
      .description('a static site of every host\'s key fingerprints, known_hosts and SSHFP lines, to hand out with access')
      .requiredOption('--out <dir>', 'directory to write (created; a site hostkeys published there before is replaced)')
      .addOption(new Option('--format <format>', 'html or markdown (for a wiki)').argParser(choice(['html', 'markdown'] as const)).default('html'))
      .option('--force', 'replace a non-empty directory hostkeys did not publish, and everything in it'),
  ).action(async (flags: DbFlags & { out: string; format: SiteFormat; force?: boolean }) => {
    const force = !!flags.force
    await checkSiteDirectory(flags.out, { force }) // before the database: a wrong --out costs nothing
    const at = new Date()
    const { publishSite } = await import('../../app/publish-site.js') // page rendering: only for this command
    const site = await withStore(flags, context, (store) => publishSite(store, { format: flags.format, generatedAt: at }))
    await writeSite(flags.out, site.files, {
      force,
      at,
      // Interrupted half way: the previous site stays (or comes back), and no staging directory is left.
      onStaging: (restore) => context.lifecycle?.onFailure(() => restore()),
    })
    const index = path.join(path.resolve(flags.out), flags.format === 'html' ? 'index.html' : 'index.md')
    writeLine(context.stdout, `published ${site.hosts} host(s), ${site.keys} trusted key(s) of ${site.verifiedHosts} verified host(s): ${index}`)
  })
}
