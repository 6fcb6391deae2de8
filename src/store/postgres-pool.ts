import { Socket } from 'node:net'
import type { Pool, PoolClient, PoolConfig } from 'pg'

/* The pg Pool behind a PostgreSQL store, made so that no database fault can crash or hang a command:
 *   - an 'error' listener on the pool and on every client, checked out or idle: a connection lost
 *     mid-query (pg_terminate_backend, `pg_ctl stop -m fast|immediate`) rejects that query, and is
 *     never an unhandled 'error' event;
 *   - statement_timeout and lock_timeout on every session, so the server gives up on a statement or a
 *     lock wait after the deadline and rolls the transaction back;
 *   - a client-side deadline per statement (the server's deadline plus a grace), for a server that
 *     cannot answer at all (stopped with SIGSTOP, or a network that drops everything): the socket is
 *     destroyed, the statement rejects, and the server, if it ever wakes, rolls back;
 *   - every socket tracked from its creation, so a failed connection attempt (a wrong or empty
 *     password) does not keep the process alive until the server's authentication_timeout, and
 *     end() cannot wait forever on a server that never answers the goodbye. */

/** What the server's own deadline is given before the client stops waiting for it. */
const CLIENT_GRACE_MS = 5_000
/** How long end() waits for polite goodbyes before cutting the connections. */
const END_GRACE_MS = 2_000

export interface GuardedPoolOptions {
  readonly connectionString: string
  /** --db-timeout: statement and lock timeout on the server; the client waits this plus a grace. */
  readonly timeoutMs: number
  readonly max?: number
}

/** What a statement that outlived the client's deadline rejects with. */
export class DatabaseDeadlineError extends Error {
  override name = 'DatabaseDeadlineError'
}

type QueryFunction = (...args: unknown[]) => unknown

export async function createGuardedPool(options: GuardedPoolOptions): Promise<Pool> {
  const { default: pg } = await import('pg')
  const sockets = new Set<Socket>()
  const clientDeadlineMs = options.timeoutMs + CLIENT_GRACE_MS

  const config: PoolConfig & { stream: () => Socket } = {
    connectionString: options.connectionString,
    max: options.max ?? 4,
    connectionTimeoutMillis: Math.min(options.timeoutMs, 10_000),
    statement_timeout: options.timeoutMs,
    lock_timeout: options.timeoutMs,
    // A transaction left open by a client that vanished is rolled back by the server.
    idle_in_transaction_session_timeout: Math.max(options.timeoutMs * 2, 60_000),
    // Idle connections never keep the process alive once its work is done.
    allowExitOnIdle: true,
    stream: () => {
      const socket = new Socket()
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      return socket
    },
  }

  class GuardedPool extends pg.Pool {
    private closing: Promise<void> | null = null

    /** Idempotent (kysely ends the pool only if it ran a query; the store ends it again), and bounded. */
    override end(): Promise<void> {
      this.closing ??= new Promise<void>((resolve) => {
        const cut = setTimeout(() => sockets.forEach((s) => s.destroy()), END_GRACE_MS)
        super
          .end()
          .catch(() => {})
          .finally(() => {
            clearTimeout(cut)
            sockets.forEach((s) => s.destroy())
            resolve()
          })
      })
      return this.closing
    }
  }

  const pool = new GuardedPool(config)
  // An idle client losing its server: pg-pool drops it; the next checkout connects afresh.
  pool.on('error', () => {})
  pool.on('connect', (client: PoolClient) => {
    // A checked-out client has no pool listener: without this, a lost connection crashes the process.
    // The first error is kept: later statements on the dead client (kysely's ROLLBACK) fail with it,
    // rather than with pg's "Client has encountered a connection error and is not queryable",
    // which would replace the cause in the message.
    const failure: { error: Error | null } = { error: null }
    client.on('error', (error: Error) => {
      failure.error ??= error
    })
    withStatementDeadline(client, clientDeadlineMs, options.timeoutMs, failure)
  })
  return pool
}

/** Arms a deadline around each statement of one client; on expiry the connection is cut. */
function withStatementDeadline(client: PoolClient, deadlineMs: number, serverTimeoutMs: number, failure: { error: Error | null }): void {
  const query = client.query.bind(client) as QueryFunction
  const replacement: QueryFunction = (...args) => {
    if (failure.error && typeof args[args.length - 1] !== 'function') return Promise.reject(failure.error)
    const result = query(...args)
    if (!(result instanceof Promise)) return result // callback and submittable forms: pg's own business
    const text = typeof args[0] === 'string' ? args[0] : ''
    const timer = setTimeout(() => {
      const what = /^\s*commit\b/i.test(text) ? 'COMMIT (its outcome is unknown)' : 'a statement'
      const socket = (client as unknown as { connection?: { stream?: Socket } }).connection?.stream
      socket?.destroy(
        new DatabaseDeadlineError(
          `the server did not answer ${what} within ${Math.round(deadlineMs / 1000)} s ` +
            `(--db-timeout ${serverTimeoutMs / 1000} s and ${CLIENT_GRACE_MS / 1000} s of grace): is it stopped or unreachable?`,
        ),
      )
    }, deadlineMs)
    return result.finally(() => clearTimeout(timer))
  }
  ;(client as unknown as { query: QueryFunction }).query = replacement
}
