import type { Command } from 'commander'
import { acceptHost } from '../../app/history-actions.js'
import type { Acceptance } from '../../domain/history.js'
import { writeLine, type CommandContext } from '../context.js'
import { actorOf, addDbOption, withStore, type DbFlags } from '../with-store.js'

export function registerAccept(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('accept')
      .description(
        'trust the keys a host serves now (after a legitimate rebuild), retire those it no longer serves, and close its trust ' +
          'findings (key_changed, key_added, key_removed, ca_changed, interception, vantage_mismatch); findings about something still ' +
          'true (a weak key, DNS, the configuration) stay open: see waive. Refuses a revoked or compromised key. The history keeps who, when and why',
      )
      .argument('<host>', 'host: name, address, [name]:port or name:port (a bare name on one port is enough)')
      .option('--reason <text>', 'why, kept with the acceptance'),
  ).action(async (host: string, flags: DbFlags & { reason?: string }) => {
    const actor = actorOf(context)
    const acceptance = await withStore(flags, context, (store) => acceptHost(store, host, { actor, reason: flags.reason ?? null, at: new Date() }))
    for (const line of renderAcceptance(acceptance)) writeLine(context.stdout, line)
  })
}

/** What an accept did, as a person reads it: trusted, retired, closed, and what it left open. */
export function renderAcceptance(a: Acceptance): string[] {
  const lines = [`${a.host}: accepted by ${a.acceptedBy}${a.reason ? ` (${a.reason})` : ''}`]
  for (const sha of a.fingerprints) lines.push(`  trusted ${sha}`)
  for (const sha of a.retired ?? []) lines.push(`  retired ${sha} (no longer served)`)
  const closed = a.closed ?? []
  lines.push(`  closed ${closed.length} trust finding(s)${closed.length ? `: ${closed.map((c) => c.kind).join(', ')}` : ''}`)
  const open = a.stillOpen ?? []
  if (open.length > 0) {
    lines.push(`  still open, not a trust decision (they end when the condition does, or with hostkeys waive): ${[...new Set(open.map((o) => o.kind))].join(', ')}`)
  }
  return lines
}
