import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import type { Client } from 'pg'
import { runCli, startCli, waitFor } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { assertOneLine } from '../support/faults.js'
import { skipUnlessPgCluster, startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* Issue 9, item 2: deadlines on every database operation. A scan whose recording waits on a lock for
 * longer than --db-timeout gives up (the server's lock_timeout); one whose server was frozen with
 * SIGSTOP while it recorded, and so cannot answer at all, gives up on the client's own deadline. It
 * used to wait forever (still waiting after 96 s). Either way: exit 2, one line, nothing written.
 * The test's own cluster, and one sshd on 127.60.2.1. No wall-time bound is asserted beyond the
 * generous test deadlines: only that the command ends. */

describe('database deadlines (--db-timeout)', { skip: skipUnlessPgCluster() || skipUnlessSshd() }, () => {
  let cluster: PgCluster
  let server: SshdServer
  before(async () => {
    ;[cluster, server] = await Promise.all([startPgCluster(), startSshd({ addresses: ['127.60.2.1'], keyTypes: ['ed25519'] })])
  })
  after(async () => {
    cluster?.thaw()
    await Promise.all([cluster?.destroy(), server?.stop()])
  })

  const scan = (database: string, timeout: string) => ['scan', '--no-dns', '-T', '5', '--db', cluster.url(database), '--db-timeout', timeout, `127.60.2.1:${server.port}`]

  /** A session of `database` that holds `scans` exclusively, so a scan's recording waits for it. */
  async function holdScans(database: string): Promise<Client> {
    const { default: pg } = await import('pg')
    const admin = new pg.Client({ connectionString: cluster.url(database) })
    admin.on('error', () => {})
    await admin.connect()
    await admin.query('BEGIN')
    await admin.query('LOCK TABLE scans IN ACCESS EXCLUSIVE MODE')
    return admin
  }

  async function waiting(database: string): Promise<boolean> {
    const rows = await cluster.query<{ n: number }>(
      'postgres',
      'SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.datname = $1',
      [database],
    )
    return rows[0]!.n > 0
  }

  const connectionsLogged = () =>
    server.logFiles.map((f) => readFileSync(f, 'utf8').split('Connection from').length - 1).reduce((a, b) => a + b, 0)

  async function scansIn(database: string): Promise<number> {
    return (await cluster.query<{ n: number }>(database, 'SELECT count(*)::int AS n FROM scans'))[0]!.n
  }

  it('a lock held longer than --db-timeout: the server gives up, exit 2, nothing written', async () => {
    const database = await cluster.createDatabase()
    assert.equal((await runInProcess(['db', 'migrate', '--db', cluster.url(database)])).code, 0) // setup: no process of its own
    const admin = await holdScans(database)
    try {
      const result = await runCli(scan(database, '2'), { timeoutMs: 120_000 })
      assert.equal(result.code, 2, result.stderr)
      assertOneLine(result.stderr, /recording the scan .*failed: canceling statement due to (lock|statement) timeout/)
    } finally {
      await admin.end()
    }
    assert.equal(await scansIn(database), 0)
  })

  it('a server frozen (SIGSTOP) while the scan records: the client gives up, exit 2, nothing written', async () => {
    const database = await cluster.createDatabase()
    assert.equal((await runInProcess(['db', 'migrate', '--db', cluster.url(database)])).code, 0) // setup: no process of its own
    const admin = await holdScans(database)
    try {
      // A server-side deadline long enough not to fire before the freeze: only the client's can end this.
      const run = startCli(scan(database, '10'), { timeoutMs: 180_000 })
      await waitFor(() => waiting(database), 90_000, 'the scan to wait inside its recording transaction')
      cluster.freeze()
      const result = await run.done
      assert.equal(result.code, 2, result.stderr)
      assertOneLine(result.stderr, /recording the scan .*failed: the server did not answer a statement within 15 s/)
    } finally {
      cluster.thaw()
      await admin.end().catch(() => {})
    }
    assert.equal(await scansIn(database), 0)
  })

  it('a server frozen before the scan opens the history: exit 2 before any host is probed', async () => {
    const database = await cluster.createDatabase()
    const probesBefore = connectionsLogged()
    cluster.freeze()
    try {
      const result = await runCli(scan(database, '3'), { timeoutMs: 120_000 })
      assert.equal(result.code, 2, result.stderr)
      assertOneLine(result.stderr, /cannot connect to PostgreSQL at postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/hk_\w+: .*timeout/i)
    } finally {
      cluster.thaw()
    }
    assert.equal(connectionsLogged(), probesBefore)
  })
})
