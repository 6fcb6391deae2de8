import { Command, InvalidArgumentError, Option } from 'commander'
import { checkSshfpRequest, planSshfpDiff, trustedSshfpRecords } from '../../app/sshfp-records.js'
import { UserError } from '../../domain/errors.js'
import { parseSshfpDigests, type SshfpDigestType } from '../../domain/fingerprint/sshfp-record.js'
import { renderSshfpNsupdate, renderSshfpNsupdateDiff, renderSshfpZone } from '../../report/sshfp-zone.js'
import { writeLine, type CommandContext } from '../context.js'
import { EXIT_FINDINGS, EXIT_OK } from '../exit-codes.js'
import { choice, collect } from '../options.js'
import { addDbOption, openHistory } from '../with-store.js'
import { echoInput } from '../../domain/echo.js'

/* `hostkeys sshfp [HOST...]`: SSHFP records for the trusted keys, as zone lines, an nsupdate script,
 * or (--diff) only the nsupdate commands that bring what DNS serves in line. Exit codes:
 *   0  records printed (with --diff: whether or not DNS needed changes)
 *   1  no host with a DNS name has trusted keys in the history: nothing to print
 *   2  an unknown or invalid HOST, bad flags, a database error */

const FORMATS = ['zone', 'nsupdate', 'generic'] as const
type SshfpFormat = (typeof FORMATS)[number]

interface SshfpFlags {
  format?: SshfpFormat
  origin?: string
  ttl?: number
  digest: SshfpDigestType[]
  diff?: boolean
  resolver?: string[]
  db?: string
  dbTimeout?: number
}

function parseTtl(text: string): number {
  // RFC 2181 §8: an unsigned 31-bit number of seconds.
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0x7fffffff) {
    throw new InvalidArgumentError(`'${echoInput(text)}' is not a TTL: a whole number of seconds from 0 to 2147483647`)
  }
  return Number(text)
}

function parseDigests(text: string): SshfpDigestType[] {
  try {
    return parseSshfpDigests(text)
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--digest: /, ''))
  }
}

async function runSshfp(hosts: string[], flags: SshfpFlags, context: CommandContext): Promise<void> {
  const format = flags.format ?? (flags.diff ? 'nsupdate' : 'zone')
  if (flags.diff && format !== 'nsupdate') {
    throw new UserError('--diff prints nsupdate commands; it cannot be combined with --format ' + format)
  }
  if (!flags.diff && flags.resolver?.length) throw new UserError('--resolver is only used with --diff')
  const origin = flags.origin ?? null
  const request = { hosts, digests: flags.digest, origin }
  checkSshfpRequest(request) // a bad name fails fast, before the database is opened
  const history = await openHistory(flags, context)
  let result
  try {
    result = await trustedSshfpRecords(history.store, request)
  } finally {
    await history.close()
  }
  for (const { name, identities } of result.conflicts) {
    // RFC 4255 has one RRset per name; OpenSSH fails the check when any record of the negotiated algorithm differs.
    writeLine(
      context.stderr,
      `hostkeys: warning: ${identities.join(', ')} share the name ${name} but trust different keys of one algorithm; ` +
        'SSHFP has no port, so ssh with VerifyHostKeyDNS will see a mismatch on each',
    )
  }
  if (result.hosts.length === 0) {
    writeLine(context.stderr, 'hostkeys: no host whose identity is a DNS name has trusted keys in the history; scan some first')
    context.exitCode = EXIT_FINDINGS
    return
  }

  if (!flags.diff) {
    const text =
      format === 'nsupdate'
        ? renderSshfpNsupdate(result.hosts, { ttl: flags.ttl ?? null, zone: origin })
        : renderSshfpZone(result.hosts, { origin, ttl: flags.ttl ?? null, generic: format === 'generic' })
    context.stdout.write(text)
    context.exitCode = EXIT_OK
    return
  }

  const { resolverFromSettings } = await import('../../app/sshfp-check.js') // the DNS client, for --diff only
  const plan = await planSshfpDiff(result.hosts, await resolverFromSettings(flags.resolver ?? []))
  // Rendered in full before anything is written: an invalid record or name fails with nothing on stdout.
  const text = renderSshfpNsupdateDiff(plan.states, { ttl: flags.ttl ?? null, zone: origin })
  for (const failure of plan.failures) {
    writeLine(context.stderr, `hostkeys: the SSHFP lookup for ${failure.name} failed (${failure.detail}); its whole RRset is replaced`)
  }
  context.stdout.write(text)
  const n = plan.hostsToChange
  writeLine(context.stderr, `hostkeys: ${n} of ${result.hosts.length} host${result.hosts.length === 1 ? '' : 's'} need${n === 1 ? 's' : ''} SSHFP changes`)
  context.exitCode = EXIT_OK
}

export function registerSshfp(program: Command, context: CommandContext): void {
  const command = program
    .command('sshfp')
    .description('print SSHFP records for the trusted keys of hosts (every host with a DNS name when none are named)')
    .argument('[hosts...]', 'host identity (web1.example.com, [web1.example.com]:2222) or bare name')
    .addOption(new Option('--format <format>', 'zone lines, an nsupdate script, or RFC 3597 generic zone lines (default: zone)').argParser(choice(FORMATS)))
    .option('--origin <zone>', 'write names relative to this zone (nsupdate: a zone line); hosts outside it are refused')
    .option('--ttl <seconds>', 'TTL on every record (nsupdate default 3600)', parseTtl)
    .addOption(new Option('--digest <list>', 'digest types: sha1, sha256 or both').argParser(parseDigests).default([1, 2], 'sha1,sha256'))
    .option('--diff', 'print only the nsupdate commands that bring what DNS serves now in line with the trusted keys')
    .option('--resolver <addr[:port]>', 'DNS resolver to read the current records from, with --diff (repeatable; default /etc/resolv.conf)', collect)
  addDbOption(command).action(async (hosts: string[], flags: SshfpFlags) => {
    await runSshfp(hosts, flags, context)
  })
}
