import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isConnectionLost } from '../../src/store/connection-errors.js'
import { DatabaseDeadlineError } from '../../src/store/postgres-pool.js'

/* Which database errors a worker or `run wait` waits out (the server away) and which it reports at once. */

function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code })
}

describe('isConnectionLost', () => {
  const cases: [string, unknown, boolean][] = [
    ['connection refused (server down)', coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), true],
    ['connection reset', coded('read ECONNRESET', 'ECONNRESET'), true],
    ['pg_ctl stop -m fast (57P01 admin_shutdown)', coded('terminating connection due to administrator command', '57P01'), true],
    ['starting up (57P03 cannot_connect_now)', coded('the database system is starting up', '57P03'), true],
    ['class 08 connection exception', coded('connection failure', '08006'), true],
    ['pg: terminated unexpectedly', new Error('Connection terminated unexpectedly'), true],
    ['pg-pool: no connection in time', new Error('timeout exceeded when trying to connect'), true],
    ['server frozen: the client deadline', new DatabaseDeadlineError('the server did not answer a statement within 35 s'), true],
    ['wrapped, as queueWork wraps it', new Error('waiting for run 3: read ECONNRESET', { cause: coded('read ECONNRESET', 'ECONNRESET') }), true],
    ['every address of a name refused', new AggregateError([coded('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'connect failed'), true],
    ['a unique violation', coded('duplicate key value violates unique constraint', '23505'), false],
    ['a wrong password (28P01)', coded('password authentication failed for user "x"', '28P01'), false],
    ['a missing table (42P01)', coded('relation "runs" does not exist', '42P01'), false],
    ['statement_timeout (57014): the server answered', coded('canceling statement due to statement timeout', '57014'), false],
    ['not an error', 'ECONNREFUSED', false],
  ]
  for (const [name, error, expected] of cases) {
    it(`${name}: ${expected ? 'waited out' : 'reported'}`, () => assert.equal(isConnectionLost(error), expected))
  }
})
