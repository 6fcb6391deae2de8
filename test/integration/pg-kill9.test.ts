import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCli, startCli, waitFor } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { silentPeer } from '../support/faults.js'
import { skipUnlessPgCluster, startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* kill -9 of hostkeys at each point of a scan on PostgreSQL (regression cases from issue 9's fault
 * testing, which held): while probing, inside the recording transaction after it wrote hosts and
 * keys, and right after COMMIT. The next scan sees the history exactly as before, or exactly with the
 * scan. The test's own cluster; real sshd on 127.60.5.1. */

const STRACE = '/usr/bin/strace'

describe('PostgreSQL: kill -9 at any point of a scan', { skip: skipUnlessPgCluster() || skipUnlessSshd() }, () => {
  let cluster: PgCluster
  let server: SshdServer
  const work = mkdtempSync(join(tmpdir(), 'hostkeys-pg-kill-'))
  before(async () => {
    ;[cluster, server] = await Promise.all([startPgCluster(), startSshd({ addresses: ['127.60.5.1'], keyTypes: ['ed25519', 'ecdsa-256'] })])
  })
  after(async () => {
    await Promise.all([cluster?.destroy(), server?.stop()])
    rmSync(work, { recursive: true, force: true })
  })

  const target = () => `127.60.5.1:${server.port}`
  const scan = (database: string, ...extra: string[]) => ['scan', '--no-dns', '-T', '10', '-q', '--fail-on', 'info', '--db', cluster.url(database), ...extra]

  /** The history as rows people care about: scans, sightings, findings. */
  async function history(database: string): Promise<string> {
    const count = async (table: string) => (await cluster.query<{ n: number }>(database, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n
    return `scans=${await count('scans')} sightings=${await count('sightings')} findings=${await count('findings')}`
  }

  /** A database holding one scan of the sshd (its new_host finding). The scans that are not killed run
   * in this process: only the killed ones need a process of their own. */
  async function baseline(): Promise<{ database: string; before: string }> {
    const database = await cluster.createDatabase()
    const first = await runInProcess(scan(database, target()))
    assert.equal(first.code, 1, first.stderr)
    return { database, before: await history(database) }
  }

  it('killed while probing: the history is exactly as before', async () => {
    const { database, before } = await baseline()
    const peer = await silentPeer('127.60.5.2')
    try {
      const run = startCli(scan(database, '-T', '60', target(), `127.60.5.2:${peer.port}`), { timeoutMs: 120_000 })
      await waitFor(() => peer.connections() > 0, 60_000, 'the scan to probe')
      run.child.kill('SIGKILL')
      await run.done
    } finally {
      await peer.close()
    }
    assert.equal(await history(database), before)
    assert.equal((await runInProcess(scan(database, target()))).code, 0, 'no new_host: the host is known')
  })

  it('killed inside the recording transaction, after it wrote: the history is exactly as before', async () => {
    const { database, before } = await baseline()
    const { default: pg } = await import('pg')
    // Hold `findings`: the scan writes its scan, hosts and sightings, then waits to read findings.
    const admin = new pg.Client({ connectionString: cluster.url(database) })
    await admin.connect()
    await admin.query('BEGIN')
    await admin.query('LOCK TABLE findings IN ACCESS EXCLUSIVE MODE')
    try {
      const run = startCli(scan(database, target()), { timeoutMs: 120_000 })
      await waitFor(
        async () =>
          (
            await cluster.query<{ n: number }>(
              'postgres',
              `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
               WHERE NOT l.granted AND a.datname = $1 AND a.backend_xid IS NOT NULL`,
              [database],
            )
          )[0]!.n > 0,
        90_000,
        'the scan to wait inside its transaction, having written',
      )
      run.child.kill('SIGKILL')
      await run.done
    } finally {
      await admin.end()
    }
    assert.equal(await history(database), before)
    assert.equal((await runInProcess(scan(database, target()))).code, 0, 'no new_host: the host is known')
  })

  it('killed right after COMMIT, as the output appears: the next scan sees the history with the scan', async () => {
    const database = await cluster.createDatabase()
    assert.equal((await runInProcess(['db', 'migrate', '--db', cluster.url(database)])).code, 0)
    const out = join(work, 'after-commit.out')
    const strace = [STRACE, '-f', '-qq', '-o', '/dev/null', '-P', out, '-e', 'trace=write,writev', '-e', 'inject=write,writev:signal=SIGKILL:when=1']
    assert.equal(spawnSync(STRACE, ['-V']).status, 0, 'strace is installed (.ci/run installs it)')
    const result = await runCli(scan(database, target()), { wrapper: ['/bin/sh', '-c', 'exec "$@" > "$OUT"', 'sh', ...strace], env: { OUT: out }, timeoutMs: 120_000 })
    assert.equal(result.signal, 'SIGKILL', result.stderr)
    assert.equal(readFileSync(out, 'utf8'), '')
    assert.match(await history(database), /^scans=1 sightings=2 findings=1$/)
    assert.equal((await runInProcess(scan(database, target()))).code, 0, 'no new_host: the killed scan was recorded')
  })
})
