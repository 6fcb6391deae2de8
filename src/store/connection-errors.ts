import { DatabaseDeadlineError } from './postgres-pool.js'

/* Which database errors mean "the server is away" (restarting, stopped, unreachable) rather than
 * "the statement is wrong": the first are worth waiting out for a long-lived process (a worker, a
 * `run wait`), the second are not. */

/** Socket errors of a connection that could not be made or was cut. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])
/** SQLSTATEs of a server going away or not yet back (PostgreSQL, Appendix A): class 08, connection
 * exception; 57P01 admin_shutdown (pg_ctl stop -m fast), 57P02 crash_shutdown, 57P03
 * cannot_connect_now (starting up or shutting down). */
const SERVER_GONE = /^(08...|57P0[123])$/
/** pg's own messages for a connection it lost or could not get, which carry no code. */
const PG_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
]

/** True when this error (or one it was caused by) says the database server is unreachable. */
export function isConnectionLost(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof DatabaseDeadlineError) return true
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || SERVER_GONE.test(code))) return true
    if (PG_MESSAGES.some((m) => e instanceof Error && e.message.includes(m))) return true
    // AggregateError: a connection attempt to every address of a name failed.
    if (e instanceof AggregateError && e.errors.some((inner) => isConnectionLost(inner))) return true
  }
  return false
}
