import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createGuardedPool } from '../../src/store/postgres-pool.js'

/* The pool's deadlines on the shared server (HOSTKEYS_TEST_DATABASE_URL): --db-timeout is each
 * session's statement_timeout and lock_timeout, so the server itself gives up on a statement. */

const url = process.env['HOSTKEYS_TEST_DATABASE_URL']

describe('guarded PostgreSQL pool', { skip: url ? false : 'HOSTKEYS_TEST_DATABASE_URL is not set' }, () => {
  it('sets statement_timeout and lock_timeout from the deadline; a slow statement is cancelled', async () => {
    const pool = await createGuardedPool({ connectionString: url!, timeoutMs: 1500 })
    try {
      const settings = await pool.query<{ s: string; l: string }>('SELECT current_setting($1) AS s, current_setting($2) AS l', ['statement_timeout', 'lock_timeout'])
      assert.deepEqual(settings.rows[0], { s: '1500ms', l: '1500ms' })
      await assert.rejects(pool.query('SELECT pg_sleep(30)'), /canceling statement due to statement timeout/)
      // The connection is still good afterwards.
      assert.equal((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n, 1)
    } finally {
      await pool.end()
      await pool.end() // idempotent: kysely and the store may both end it
    }
  })
})
