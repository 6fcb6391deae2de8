import { type Command, InvalidArgumentError } from 'commander'
import { waiveFinding } from '../../app/history-actions.js'
import { FINDING_KINDS, type FindingKind } from '../../domain/finding.js'
import { FINDING_CATALOGUE } from '../../domain/finding-catalogue.js'
import { echoInput } from '../../domain/echo.js'
import { writeLine, type CommandContext } from '../context.js'
import { actorOf, addDbOption, withStore, type DbFlags } from '../with-store.js'

const WAIVABLE = FINDING_KINDS.filter((k) => FINDING_CATALOGUE[k].closedBy === 'waiver')

function parseKind(text: string): FindingKind {
  if ((WAIVABLE as readonly string[]).includes(text)) return text as FindingKind
  if ((FINDING_KINDS as readonly string[]).includes(text)) {
    const by = FINDING_CATALOGUE[text as FindingKind].closedBy
    throw new InvalidArgumentError(
      by === 'accept' ? `${text} is a trust decision: hostkeys accept closes it` : by === 'never' ? `${text} cannot be waived: replace the key on the host` : `${text} is a note: nothing to waive`,
    )
  }
  throw new InvalidArgumentError(`'${echoInput(text)}' is not a finding kind that can be waived: ${WAIVABLE.join(', ')}`)
}

function parseUntil(text: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/.test(text) ? new Date(text) : new Date(NaN)
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(`'${echoInput(text)}' is not a date: YYYY-MM-DD or an ISO 8601 time`)
  return date
}

export function registerWaive(program: Command, context: CommandContext): void {
  addDbOption(
    program
      .command('waive')
      .description(
        'a deliberate exception: findings of one kind on one host are recorded but not reported while the waiver lasts, and are ' +
          'reported again when it expires; listed in history, findings, the report and published pages. Never for trust findings (accept) ' +
          'nor for revoked or compromised keys',
      )
      .argument('<kind>', `the finding kind: ${WAIVABLE.join(', ')}`, parseKind)
      .argument('<host>', 'host: name, address, [name]:port or name:port')
      .requiredOption('--reason <text>', 'why, kept with the waiver')
      .option('--until <date>', 'when the waiver ends (YYYY-MM-DD, UTC); default: until withdrawn', parseUntil),
  ).action(async (kind: FindingKind, host: string, flags: DbFlags & { reason: string; until?: Date }) => {
    const actor = actorOf(context)
    const waiver = await withStore(flags, context, (store) => waiveFinding(store, kind, host, { actor, reason: flags.reason, until: flags.until ?? null, at: new Date() }))
    writeLine(
      context.stdout,
      `${waiver.host}: ${waiver.kind} waived by ${actor} until ${waiver.until ? waiver.until.toISOString().slice(0, 10) : 'withdrawn'} (${waiver.reason}); ` +
        `${waiver.findingsWaived ?? 0} open finding(s) waived`,
    )
  })
}
