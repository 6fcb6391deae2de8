import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { runCli, startCli, waitFor, type RunningCli } from '../support/cli.js'
import { skipUnlessPgCluster, startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { keysSharingAPrime, rsaKeyDir } from '../support/rsa-from-primes.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { testBackends } from '../support/test-store.js'

/* A distributed run whose judge is lost after the run's scan is recorded and before the run is done
 * (issue 21, "a lost judge reports nothing"): the next judge rebuilds the report from the history, the
 * same findings, counts and exit code as an uninterrupted run. Real sshd on 127.89.0.0/16 (this file's
 * block): one host whose imported key differs from the one it serves (key_changed, critical) and two
 * whose RSA keys share a prime (compromised_key, found only by the shared-prime check that runs after
 * the scan's transaction). The judge is stopped at that exact step by holding the check's advisory lock
 * ('hkgc', src/store/kysely-store.ts), as another scan's check would: the scan is committed, the check
 * waits, and the test then SIGKILLs the judge or restarts PostgreSQL; no timing is assumed. */

/** The advisory lock one shared-prime check holds at a time (src/store/kysely-store.ts). */
const SHARED_PRIME_LOCK = 0x686b6763

const pgBackend = testBackends().find((b) => b.name === 'postgres')

interface Report {
  code: number
  json: { findings: { kind: string; severity: string; host: string; message: string }[] }
  text: string
}

/** `run wait` of a run, in JSON and in text (the duration, which differs from run to run, left out). */
async function waitReport(db: string, runId: number): Promise<Report> {
  const json = await runCli(['run', 'wait', String(runId), '--db', db, '--format', 'json'], { timeoutMs: 180_000 })
  assert.notEqual(json.code, 2, json.stderr)
  const text = await runCli(['run', 'wait', String(runId), '--db', db], { timeoutMs: 60_000 })
  assert.equal(text.code, json.code, text.stderr)
  return { code: json.code, json: JSON.parse(json.stdout), text: text.stdout.replace(/scanned in [\d.]+ s/, 'scanned in N s') }
}

describe('a distributed run whose judge is lost after recording its scan', { skip: skipUnlessSshd() || (pgBackend ? false : 'HOSTKEYS_TEST_DATABASE_URL is not set') }, () => {
  const work = mkdtempSync(join(tmpdir(), 'hostkeys-takeover-'))
  const servers: SshdServer[] = []
  const workers: RunningCli[] = []
  const cleanups: (() => Promise<void>)[] = []
  let knownHosts = ''
  let targets: string[] = []
  let uninterrupted: Report | null = null

  before(async () => {
    const shared = keysSharingAPrime(2048)
    servers.push(
      await startSshd({ addresses: ['127.89.1.1'], keyTypes: ['ed25519'] }),
      await startSshd({ addresses: ['127.89.1.2'], keyTypes: ['rsa'], keyDir: rsaKeyDir(work, 'a', shared[0]) }),
      await startSshd({ addresses: ['127.89.1.3'], keyTypes: ['rsa'], keyDir: rsaKeyDir(work, 'b', shared[1]) }),
    )
    targets = servers.map((s) => `[${s.addresses[0]}]:${s.port}`)
    // The first host's key as the history will know it: another Ed25519 key than the one it serves.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'old')])
    const old = readFileSync(join(work, 'old.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
    knownHosts = join(work, 'known_hosts')
    writeFileSync(knownHosts, `${targets[0]} ${old}\n`)
  })
  after(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
    await Promise.all(servers.map((s) => s.stop()))
    for (const cleanup of cleanups) await cleanup().catch(() => {})
    rmSync(work, { recursive: true, force: true })
  })

  function startWorker(db: string): RunningCli {
    const worker = startCli(['worker', '--db', db, '--vantage', 'dc1', '--poll', '0.5'], { timeoutMs: 300_000 })
    workers.push(worker)
    return worker
  }

  /** A history that knows the first host by its old key, and a run of the three hosts enqueued in it. */
  async function enqueue(db: string): Promise<number> {
    const imported = await runCli(['import', 'known_hosts', knownHosts, '--db', db])
    assert.equal(imported.code, 0, imported.stderr)
    const detached = await runCli(['scan', '--distribute', '--detach', '--db', db, '-T', '8', ...targets])
    assert.equal(detached.code, 0, detached.stderr)
    return Number(detached.stdout.trim())
  }

  async function query<Row>(db: string, text: string, params: unknown[] = []): Promise<Row[]> {
    const client = new pg.Client({ connectionString: db })
    await client.connect()
    try {
      return (await client.query(text, params)).rows as Row[]
    } finally {
      await client.end()
    }
  }

  /** What an uninterrupted run of the same scenario reports, once per file. */
  async function uninterruptedReport(): Promise<Report> {
    if (uninterrupted) return uninterrupted
    const fresh = await pgBackend!.fresh()
    cleanups.push(fresh.cleanup)
    const runId = await enqueue(fresh.db)
    const worker = startWorker(fresh.db)
    uninterrupted = await waitReport(fresh.db, runId)
    worker.child.kill('SIGTERM')
    await worker.done
    return uninterrupted
  }

  /** What every report of this scenario says, interrupted or not. */
  function assertScenario(report: Report): void {
    assert.equal(report.code, 1)
    const kinds = report.json.findings.map((f) => `${f.severity} ${f.kind} ${f.host}`)
    assert.ok(kinds.includes(`critical key_changed ${targets[0]}`), kinds.join('\n'))
    assert.ok(kinds.includes(`critical compromised_key ${targets[1]}`), kinds.join('\n'))
    assert.ok(kinds.includes(`critical compromised_key ${targets[2]}`), kinds.join('\n'))
    assert.match(report.text, /3 host\(s\) scanned in N s: 3 reached, 0 failed, 3 key\(s\), \d+ finding\(s\)/)
  }

  /** Holds the shared-prime check's lock in db until release(): a judge stops right after its scan's transaction. */
  async function holdSharedPrimeCheck(db: string): Promise<{ release(): Promise<void> }> {
    const client = new pg.Client({ connectionString: db })
    client.on('error', () => {})
    await client.connect()
    await client.query('SELECT pg_advisory_lock($1)', [SHARED_PRIME_LOCK])
    return { release: () => client.end().catch(() => {}) }
  }

  const runScan = (db: string, runId: number) =>
    query<{ id: number }>(db, `SELECT id FROM scans WHERE request @> jsonb_build_object('run', $1::int)`, [runId])
  const pendingRsaKeys = async (db: string) =>
    (await query<{ n: number }>(db, `SELECT count(*)::int AS n FROM keys WHERE type = 'ssh-rsa' AND NOT gcd_checked`))[0]!.n

  it('a judge SIGKILLed after the scan transaction commits: the next judge reports what the uninterrupted run reports', async () => {
    const expected = await uninterruptedReport()
    assertScenario(expected)

    const fresh = await pgBackend!.fresh()
    cleanups.push(fresh.cleanup)
    const db = fresh.db
    const runId = await enqueue(db)
    const check = await holdSharedPrimeCheck(db)
    const judge = startWorker(db)
    await waitFor(async () => (await runScan(db, runId)).length === 1, 120_000, "the run's scan to be recorded")
    judge.child.kill('SIGKILL')
    await judge.done
    // Lost between the two: the scan is in, the run still judging, its RSA keys not compared yet.
    const [run] = await query<{ status: string }>(db, `SELECT status FROM runs WHERE id = $1`, [runId])
    assert.equal(run!.status, 'judging')
    assert.equal(await pendingRsaKeys(db), 2)
    await check.release()

    // `run wait` is the next judge: it finds nobody judging the run and takes it over.
    const report = await waitReport(db, runId)
    assert.deepEqual(report, expected)
    assert.equal(await pendingRsaKeys(db), 0, 'the shared-prime check ran at the takeover')
    assert.equal((await runScan(db, runId)).length, 1, 'the run is recorded once')
  })

  it('a later scan moved the lost judge\'s findings on: the run fails, saying why, and run wait exits 2', async () => {
    const fresh = await pgBackend!.fresh()
    cleanups.push(fresh.cleanup)
    const db = fresh.db
    const runId = await enqueue(db)
    const check = await holdSharedPrimeCheck(db)
    const judge = startWorker(db)
    await waitFor(async () => (await runScan(db, runId)).length === 1, 120_000, "the run's scan to be recorded")
    judge.child.kill('SIGKILL')
    await judge.done
    await check.release()
    // Before anyone takes the run over, a scan of the first host raises its key_changed again as its own.
    const later = await runCli(['scan', '--db', db, '--no-dns', '-T', '8', targets[0]!])
    assert.equal(later.code, 1, later.stderr)

    const waited = await runCli(['run', 'wait', String(runId), '--db', db], { timeoutMs: 180_000 })
    assert.equal(waited.code, 2, waited.stdout + waited.stderr)
    assert.doesNotMatch(waited.stdout, /0 finding\(s\)/)
    assert.match(waited.stderr, new RegExp(`run ${runId} was recorded as scan \\d+ by a judge that was lost .*cannot be rebuilt: the scan reported \\d+ finding\\(s\\) and the history now holds \\d+`))
    const status = await runCli(['run', 'status', String(runId), '--db', db])
    assert.match(status.stdout, new RegExp(`run ${runId} failed`))
    assert.match(status.stdout, /recorded as scan \d+/)
  })

  it('PostgreSQL restarted after the scan transaction commits: the next judge reports what the uninterrupted run reports', { skip: skipUnlessPgCluster() }, async () => {
    const expected = await uninterruptedReport()
    const cluster: PgCluster = await startPgCluster()
    cleanups.push(() => cluster.destroy())
    const db = cluster.url(await cluster.createDatabase())
    const runId = await enqueue(db)
    const check = await holdSharedPrimeCheck(db)
    const worker = startWorker(db)
    await waitFor(async () => (await runScan(db, runId)).length === 1, 120_000, "the run's scan to be recorded")
    const before = worker.output().stderr.length
    cluster.stop('fast') // ends the lock's session too
    // The judge lost its database under the check: it says so, and judges again once it is back.
    await waitFor(() => worker.output().stderr.length > before, 60_000, 'the worker to notice the restart')
    await cluster.start()
    await check.release()

    const report = await waitReport(db, runId)
    assert.deepEqual(report, expected, worker.output().stderr)
    assert.equal(await pendingRsaKeys(db), 0, 'the shared-prime check ran at the takeover')
    assert.equal((await runScan(db, runId)).length, 1, 'the run is recorded once')
    worker.child.kill('SIGTERM')
    await worker.done
  })
})
