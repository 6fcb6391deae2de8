/** Rows per statement for array-parameter (unnest / ANY) batches: few round trips, bounded memory. */
export const BATCH_ROWS = 10_000

/** Rows per statement when each row carries a key blob: a 10,000-row statement of RSA blobs is a
 * ~6 MB parameter that pg builds as a string and then a buffer, and that PGlite copies into its
 * WebAssembly memory, which never shrinks. 2,000 keeps each under ~1.5 MB for a few more round trips. */
export const BLOB_BATCH_ROWS = 2_000

/** Splits a list into consecutive slices of at most `size`. */
export function* batches<T>(items: readonly T[], size: number = BATCH_ROWS): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size)
}
