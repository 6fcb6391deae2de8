import { Command, Option } from 'commander'
import {
  listCertAuthorities,
  readCertAuthorityFingerprints,
  readCertAuthorityInput,
  removeCertAuthorities,
  trustCertAuthorities,
} from '../../app/cert-authorities.js'
import {
  renderCertAuthoritiesJson,
  renderCertAuthoritiesText,
  renderRemovedAuthority,
  renderTrustedAuthority,
} from '../../report/cert-authorities-report.js'
import { writeLine, type CommandContext } from '../context.js'
import { choice } from '../options.js'
import { actorOf, addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerCa(program: Command, context: CommandContext): void {
  const ca = program
    .command('ca')
    .description('certificate authorities trusted to sign host keys: written as @cert-authority lines by known-hosts')

  addDbOption(
    ca
      .command('trust')
      .description('trust a CA for the hosts PATTERNS name; trusting it again sets its patterns to exactly these')
      .argument('<key>', "the CA's public key: a file (.pub lines or @cert-authority known_hosts lines), or the key line quoted as one argument")
      .option('--names <patterns>', "comma-separated known_hosts patterns (*.example.com,!bad.example.com,[*.example.com]:2222); default the lines' own, else *"),
  ).action(async (key: string, flags: DbFlags & { names?: string }) => {
    const input = await readCertAuthorityInput(key, flags.names ?? null) // malformed: exit 2 before the database opens
    const actor = actorOf(context)
    const results = await withStore(flags, context, (store) => trustCertAuthorities(store, input, { actor, at: new Date() }), { create: true })
    for (const result of results) writeLine(context.stdout, renderTrustedAuthority(result))
  })

  addDbOption(
    ca
      .command('list')
      .description('the trusted CAs, one row per pattern list (imported @cert-authority lines included)')
      .addOption(new Option('--format <format>', 'text or json').argParser(choice(['text', 'json'] as const)).default('text')),
  ).action(async (flags: DbFlags & { format: 'text' | 'json' }) => {
    const authorities = await withStore(flags, context, (store) => listCertAuthorities(store))
    if (flags.format === 'json') writeLine(context.stdout, renderCertAuthoritiesJson(authorities))
    else for (const line of renderCertAuthoritiesText(authorities)) writeLine(context.stdout, line)
    if (authorities.length === 0 && flags.format === 'text') writeLine(context.stderr, 'hostkeys: no trusted certificate authorities')
  })

  addDbOption(
    ca
      .command('remove')
      .description('stop trusting a CA, for every pattern list it has')
      .argument('<ca>', "SHA256:<base64> as ssh-keygen -l prints it, the CA's public key file, or its key line"),
  ).action(async (given: string, flags: DbFlags) => {
    const fingerprints = await readCertAuthorityFingerprints(given)
    const removed = await withStore(flags, context, (store) => removeCertAuthorities(store, fingerprints))
    for (const authorities of removed) writeLine(context.stdout, renderRemovedAuthority(authorities))
  })
}
