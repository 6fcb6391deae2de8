import type { Command } from 'commander'
import { DEFAULT_DB_TIMEOUT_SECONDS } from '../store/store-opener.js'
import { openHistory as openHistoryWith, resolveHistorySettings, withHistory } from '../app/open-history.js'
import type { Store } from '../store/store.js'
import type { CommandContext } from './context.js'
import { parseSeconds } from './options.js'

/** What `--db` and `--db-timeout` leave in a command's flags. */
export interface DbFlags {
  readonly db?: string
  /** Seconds; commander fills in the default. */
  readonly dbTimeout?: number
}

/** Whether a command may create a missing embedded database (only scan, import, ca trust and db
 * migrate do), and whether it writes in bulk (scan, import: the embedded store's larger buffers). */
export interface HistoryUse {
  readonly create?: boolean
  readonly bulk?: boolean
}

/** The `--db` and `--db-timeout` options every history command takes. */
export function addDbOption(command: Command): Command {
  return command
    .option('--db <url-or-path>', 'PostgreSQL URL, or a directory for the embedded database (default: $HOSTKEYS_DB, else embedded)')
    .option(
      '--db-timeout <seconds>',
      'deadline for each database statement and lock wait; a database that does not answer in time is exit 2',
      parseSeconds,
      DEFAULT_DB_TIMEOUT_SECONDS,
    )
}

/** Opens the history the flags name (app/open-history.ts resolves --db, HOSTKEYS_DB and --db-timeout),
 * or lends the context's open one; close() closes only what this opened. */
export async function openHistory(flags: DbFlags, context: CommandContext, use: HistoryUse = {}): Promise<{ store: Store; close(): Promise<void> }> {
  if (context.history) return { store: context.history, close: async () => {} }
  const store = await openHistoryWith(resolveHistorySettings(flags, context.env, use), context.env)
  return { store, close: () => store.close() }
}

/** openHistory, then fn, then close whatever happened (the context's open history stays open). */
export function withStore<T>(flags: DbFlags, context: CommandContext, fn: (store: Store) => Promise<T>, use: HistoryUse = {}): Promise<T> {
  if (context.history) return fn(context.history)
  return withHistory(resolveHistorySettings(flags, context.env, use), context.env, fn)
}

/** Who runs the command, for accept and allow-shared records: $SUDO_USER, $USER, else the uid. */
export function actorOf(context: CommandContext): string {
  return context.env['SUDO_USER'] || context.env['USER'] || context.env['LOGNAME'] || `uid ${process.getuid?.() ?? '?'}`
}
