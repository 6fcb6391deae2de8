/** Rows per statement for array-parameter (unnest / ANY) batches: few round trips, bounded memory. */
export const BATCH_ROWS = 10_000

/** Splits a list into consecutive slices of at most `size`. */
export function* batches<T>(items: readonly T[], size: number = BATCH_ROWS): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size)
}
