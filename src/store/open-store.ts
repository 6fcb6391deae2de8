import type { Store } from './store.js'
import type { OpenStoreOptions } from './store-opener.js'

export type { OpenStoreOptions } from './store-opener.js'

/**
 * Opens the history (store-opener.ts does the work). Its modules (kysely, pg, PGlite: ~200 ms of CPU
 * to load, more than a whole 200-host scan's probes) are loaded here, on first use, so a command that
 * never opens a store (`scan --no-store`, `scan --list`, `--help`) does not pay for them.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { openStore: open } = await import('./store-opener.js')
  return open(options)
}
