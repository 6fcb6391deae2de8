import type { Command } from 'commander'
import { openStore } from '../store/open-store.js'
import type { Store } from '../store/store.js'
import type { CommandContext } from './context.js'

/** The `--db` option every history command takes. */
export function addDbOption(command: Command): Command {
  return command.option('--db <url-or-path>', 'PostgreSQL URL, or a directory for the embedded database (default: $HOSTKEYS_DB, else embedded)')
}

/** Opens the history named by --db, else $HOSTKEYS_DB, else the embedded default. */
export function openHistory(db: string | undefined, context: CommandContext): Promise<Store> {
  return openStore({ db: db ?? context.env['HOSTKEYS_DB'] ?? null, env: context.env })
}

/** openHistory, then fn, then close whatever happened. */
export async function withStore<T>(db: string | undefined, context: CommandContext, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openHistory(db, context)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** Who runs the command, for accept and allow-shared records: $SUDO_USER, $USER, else the uid. */
export function actorOf(context: CommandContext): string {
  return context.env['SUDO_USER'] || context.env['USER'] || context.env['LOGNAME'] || `uid ${process.getuid?.() ?? '?'}`
}
