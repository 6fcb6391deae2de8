import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startCli, waitFor } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { assertOneLine, metricSamples } from '../support/faults.js'
import { skipUnlessPgCluster, startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* Issue 9, item 1: the connection to PostgreSQL lost while a scan is being recorded. It used to crash
 * with an unhandled 'error' event and exit 1 (the code for findings, a success to README's systemd
 * unit), cut the JSON short and write no metrics. Now: exit 2, one line, a valid JSON document,
 * the metrics marked failed with the last success kept, and nothing written.
 *
 * The test's own cluster (so it can be stopped) and one sshd on 127.60.1.1. To act while the scan is
 * inside its recording transaction, another session holds an exclusive lock on `scans` and the fault
 * is injected once the scan's backend waits for it. */

interface Document {
  hosts: unknown[]
  findings: unknown[] | null
  error?: string
}

describe('PostgreSQL connection lost while recording', { skip: skipUnlessPgCluster() || skipUnlessSshd() }, () => {
  let cluster: PgCluster
  let server: SshdServer
  const work = mkdtempSync(join(tmpdir(), 'hostkeys-pg-lost-'))
  before(async () => {
    ;[cluster, server] = await Promise.all([startPgCluster(), startSshd({ addresses: ['127.60.1.1'], keyTypes: ['ed25519'] })])
  })
  after(async () => {
    await Promise.all([cluster?.destroy(), server?.stop()])
    rmSync(work, { recursive: true, force: true })
  })

  /** Backends of `database` waiting for a lock: the scan, blocked inside its transaction. */
  async function waiting(database: string): Promise<number> {
    const rows = await cluster.query<{ n: number }>(
      'postgres',
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.datname = $1`,
      [database],
    )
    return rows[0]!.n
  }

  const faults: [string, (database: string, holder: number) => Promise<void>][] = [
    [
      'pg_terminate_backend',
      async (database, holder) => {
        await cluster.query('postgres', 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2', [database, holder])
      },
    ],
    ['pg_ctl stop -m fast', async () => cluster.stop('fast')],
    ['pg_ctl stop -m immediate', async () => cluster.stop('immediate')],
  ]

  for (const [fault, inject] of faults) {
    it(`${fault}: exit 2, one line, well-formed JSON, metrics marked failed, nothing written`, async () => {
      const database = await cluster.createDatabase()
      const metrics = join(work, `${database}.prom`)
      const args = ['scan', '--no-dns', '-T', '5', '--db', cluster.url(database), '--format', 'json', '--metrics-file', metrics]
      const target = `127.60.1.1:${server.port}`

      const first = await runInProcess([...args, target]) // setup: only the failed run needs a process of its own
      assert.equal(first.code, 0, first.stderr)
      const lastSuccess = metricSamples(readFileSync(metrics, 'utf8')).get('hostkeys_last_success_timestamp_seconds')
      assert.match(lastSuccess ?? '', /^\d{10}$/)

      const { default: pg } = await import('pg')
      const admin = new pg.Client({ connectionString: cluster.url(database) })
      admin.on('error', () => {}) // the faults end this session too
      await admin.connect()
      const holder = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
      await admin.query('BEGIN')
      await admin.query('LOCK TABLE scans IN ACCESS EXCLUSIVE MODE')
      try {
        // --fail-on never: even so, a failed run must not exit 0 or 1.
        const run = startCli([...args, '--fail-on', 'never', target], { timeoutMs: 120_000 })
        await waitFor(async () => (await waiting(database)) > 0, 90_000, 'the scan to wait inside its recording transaction')
        await inject(database, holder)
        const result = await run.done

        assert.equal(result.code, 2, result.stderr)
        // The cause, not a later symptom such as pg's "not queryable".
        assertOneLine(result.stderr, /recording the scan .*failed: (terminating connection due to (administrator command|immediate shutdown)|Connection terminated unexpectedly)/)
        const document = JSON.parse(result.stdout) as Document
        assert.equal(document.hosts.length, 1)
        assert.equal(document.findings, null)
        assert.match(document.error ?? '', /recording the scan/)
        const samples = metricSamples(readFileSync(metrics, 'utf8'))
        assert.equal(samples.get('hostkeys_last_run_success'), '0')
        assert.equal(samples.get('hostkeys_last_success_timestamp_seconds'), lastSuccess)
      } finally {
        await admin.end().catch(() => {})
        if (fault.startsWith('pg_ctl')) await cluster.start()
      }
      const scans = await cluster.query<{ n: number }>(database, 'SELECT count(*)::int AS n FROM scans')
      assert.equal(scans[0]!.n, 1, 'the interrupted scan left no row')
    })
  }
})
