import { openStore } from '../store/open-store.js'
import { DEFAULT_DB_TIMEOUT_SECONDS } from '../store/store-opener.js'
import type { Store } from '../store/store.js'

/* Where a command's history is and how it may be opened, resolved once: `--db`, else HOSTKEYS_DB, else
 * the embedded default; `--db-timeout`; and whether the command may create a missing embedded store
 * (only scan, import, ca trust and db migrate do). */

export interface HistorySettings {
  readonly db: string | null
  readonly timeoutMs: number
  readonly create: boolean
  /** The command writes in bulk (scan, import): the embedded store gets its larger buffers. */
  readonly bulk: boolean
}


export function resolveHistorySettings(
  flags: { readonly db?: string; readonly dbTimeout?: number },
  env: NodeJS.ProcessEnv,
  use: { readonly create?: boolean; readonly bulk?: boolean } = {},
): HistorySettings {
  return Object.freeze({
    db: flags.db ?? (env['HOSTKEYS_DB'] || null),
    timeoutMs: (flags.dbTimeout ?? DEFAULT_DB_TIMEOUT_SECONDS) * 1000,
    create: use.create ?? false,
    bulk: use.bulk ?? false,
  })
}

export function openHistory(settings: HistorySettings, env: NodeJS.ProcessEnv): Promise<Store> {
  return openStore({ db: settings.db, env, timeoutMs: settings.timeoutMs, createIfMissing: settings.create, bulk: settings.bulk })
}

/** Opens the history, runs fn, and closes it whatever happened. */
export async function withHistory<T>(settings: HistorySettings, env: NodeJS.ProcessEnv, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openHistory(settings, env)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}
