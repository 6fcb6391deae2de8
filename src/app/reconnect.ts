import { setTimeout as sleep } from 'node:timers/promises'
import { isConnectionLost } from '../store/connection-errors.js'

/* Waiting out a database restart: a long-lived process (a worker, `run wait`) that loses its
 * connection tries again, with a growing pause, until the server is back or RECONNECT_WINDOW_MS has
 * passed since the first failure; any other error is passed on at once. The pool reconnects by itself
 * on the next query (src/store/postgres-pool.ts). */

/** How long a server may stay away before the wait gives up: a restart, a failover, not an outage. */
export const RECONNECT_WINDOW_MS = 10 * 60_000
const FIRST_PAUSE_MS = 500
const LONGEST_PAUSE_MS = 10_000

export interface ReconnectOptions {
  /** Told of each failure that will be retried, with the pause before the next try. */
  readonly onRetry?: (error: Error, pauseMs: number) => void
  readonly signal?: AbortSignal
  readonly windowMs?: number
}

/** Runs work until it succeeds, retrying it while the database is unreachable. */
export async function retryWhileDisconnected<T>(work: () => Promise<T>, options: ReconnectOptions = {}): Promise<T> {
  let firstFailure: number | null = null
  let pause = FIRST_PAUSE_MS
  for (;;) {
    try {
      return await work()
    } catch (e) {
      const now = Date.now()
      firstFailure ??= now
      if (!isConnectionLost(e) || now - firstFailure > (options.windowMs ?? RECONNECT_WINDOW_MS) || options.signal?.aborted) throw e
      options.onRetry?.(e as Error, pause)
      await sleep(pause, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {})
      if (options.signal?.aborted) throw e
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS)
    }
  }
}
