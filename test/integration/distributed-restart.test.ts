import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCli, startCli, waitFor, type RunningCli } from '../support/cli.js'
import { metricSamples } from '../support/faults.js'
import { skipUnlessPgCluster, startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* Issue 14: PostgreSQL restarted in the middle of a distributed run. The workers finish the shards in
 * hand and stage them once the server is back (rather than leaving them to be scanned again after
 * their --shard-expiry), take the rest, and judge the run; a `run wait` started before the restart
 * waits it out and reports the run. The test's own cluster (test/support/pg-cluster.ts), so it may be
 * stopped while the workers are inside shards, and started again once each has run into the outage
 * (no outage length assumed); real sshd and hosts that never answer on 127.86.252.0/24.
 * `run wait --metrics-file` writes what `scan --metrics-file` writes, on success and on failure. */

const SILENT = 6

describe('a distributed run across a PostgreSQL restart', { skip: skipUnlessPgCluster() || skipUnlessSshd() }, () => {
  let cluster: PgCluster
  let server: SshdServer
  const silent: Server[] = []
  const workers: RunningCli[] = []
  const work = mkdtempSync(join(tmpdir(), 'hostkeys-distributed-restart-'))

  before(async () => {
    ;[cluster, server] = await Promise.all([startPgCluster(), startSshd({ addresses: ['127.86.252.1', '127.86.252.2', '127.86.252.3'], keyTypes: ['ed25519'] })])
    for (let i = 0; i < SILENT; i++) {
      const s = createServer((socket) => socket.on('error', () => {}))
      await new Promise<void>((resolve) => s.listen(0, '127.86.252.10', resolve))
      silent.push(s)
    }
  })
  after(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
    for (const s of silent) s.close()
    await Promise.all([cluster?.destroy(), server?.stop()])
    rmSync(work, { recursive: true, force: true })
  })

  it('workers reconnect and stage what they scanned, run wait retries, and the run completes, each shard scanned once', async () => {
    const database = await cluster.createDatabase()
    const db = cluster.url(database)
    const targets = [
      ...server.addresses.map((a) => `[${a}]:${server.port}`),
      ...silent.map((s) => `[127.86.252.10]:${(s.address() as { port: number }).port}`), // -T 3 each
    ]
    // A long expiry: a shard lost in the restart would come back only after it, retried by pg-boss.
    const detached = await runCli(['scan', '--distribute', '--detach', '--shard-size', '1', '-T', '3', '--shard-expiry', '600', '--db', db, ...targets])
    assert.equal(detached.code, 0, detached.stderr)
    const runId = Number(detached.stdout.trim())
    for (let i = 0; i < 2; i++) workers.push(startCli(['worker', '--db', db, '--vantage', 'dc1', '--poll', '0.5'], { timeoutMs: 600_000 }))
    const metrics = join(work, 'restart.prom')
    const wait = startCli(['run', 'wait', String(runId), '--db', db, '--format', 'json', '--metrics-file', metrics], { timeoutMs: 600_000 })

    // The sshd shards come first and are quick; then both workers are inside a silent host's 3 s.
    await waitFor(
      async () => (await cluster.query<{ n: number }>(database, `SELECT parts_done AS n FROM runs WHERE id = $1`, [runId]))[0]!.n >= server.addresses.length,
      120_000,
      'the first shards in',
    )
    const before = workers.map((w) => w.output().stderr.length)
    cluster.stop('fast')
    // Down until each worker has run into the outage: one that was scanning a shard says so once the
    // shard is scanned and cannot be staged, one that was between shards when it looked for work. No
    // outage length is assumed; pg-boss maintenance's own complaints do not count (they come on a timer,
    // mid-shard).
    const noticed = (worker: RunningCli, i: number) =>
      worker
        .output()
        .stderr.slice(before[i])
        .split('\n')
        .some((line) => line.startsWith('hostkeys worker: ') && !line.includes('job queue maintenance'))
    // A worker idle on its poll when the stop came may say nothing for a while (its poll fails
    // quietly until its backoff reports it): after a generous wait the outage has lasted long enough
    // either way, and what the test checks below (run wait retried, one scan per shard, the run done)
    // holds whenever it ends.
    await waitFor(() => workers.every(noticed), 60_000, 'each worker to run into the outage').catch(() => {})
    await cluster.start()

    const waited = await wait.done
    const logs = workers.map((w) => w.output().stderr).join('\n---\n')
    assert.notEqual(waited.code, 2, `${waited.stderr}\n${logs}`)
    assert.match(waited.stderr, /the database is unreachable .*trying again/)
    const report = JSON.parse(waited.stdout) as { findings: { kind: string; host: string }[] }
    assert.deepEqual(
      report.findings.filter((f) => f.kind === 'new_host').map((f) => f.host).sort(),
      targets.slice(0, server.addresses.length).sort(),
    )

    const [run] = await cluster.query<{ status: string; parts_done: number; hosts_scanned: number; hosts_reached: number }>(
      database,
      `SELECT status, parts_done, hosts_scanned, hosts_reached FROM runs WHERE id = $1`,
      [runId],
    )
    assert.deepEqual(run, { status: 'done', parts_done: targets.length, hosts_scanned: targets.length, hosts_reached: server.addresses.length })
    const scans = await cluster.query<{ hosts_asked: number; hosts_reached: number }>(database, `SELECT hosts_asked, hosts_reached FROM scans`)
    assert.deepEqual(scans, [{ hosts_asked: targets.length, hosts_reached: server.addresses.length }])
    // Every shard's job completed on its first delivery: none was given up and scanned again.
    const jobs = await cluster.query<{ state: string; retry_count: number }>(database, `SELECT state, retry_count FROM pgboss.job WHERE (data->>'run')::int = $1`, [runId])
    assert.equal(jobs.length, targets.length)
    assert.deepEqual(
      jobs.filter((j) => j.state !== 'completed' || j.retry_count !== 0),
      [],
      logs,
    )
    const samples = metricSamples(readFileSync(metrics, 'utf8'))
    assert.equal(samples.get('hostkeys_hosts_scanned'), String(targets.length))
    assert.equal(samples.get('hostkeys_hosts_reached'), String(server.addresses.length))
    assert.equal(samples.get('hostkeys_hosts_failed'), String(SILENT))
    assert.equal(samples.get('hostkeys_findings{kind="new_host"}'), String(server.addresses.length))
    assert.equal(samples.get('hostkeys_last_run_success'), '1')
    for (const worker of workers) worker.child.kill('SIGTERM')
  })

  it('run wait --metrics-file marks a run that did not complete as failed, keeping the last success', async () => {
    const database = await cluster.createDatabase()
    const db = cluster.url(database)
    const metrics = join(work, 'cancelled.prom')
    const target = `[${server.addresses[0]}]:${server.port}`
    const detached = await runCli(['scan', '--distribute', '--detach', '--db', db, target])
    assert.equal(detached.code, 0, detached.stderr)
    const refused = await runCli(['scan', '--distribute', '--detach', '--db', db, '--metrics-file', metrics, target])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /--metrics-file .*run wait/)
    const cancelled = await runCli(['run', 'cancel', detached.stdout.trim(), '--db', db])
    assert.equal(cancelled.code, 0, cancelled.stderr)
    const waited = await runCli(['run', 'wait', detached.stdout.trim(), '--db', db, '--metrics-file', metrics])
    assert.equal(waited.code, 2, waited.stderr)
    assert.match(waited.stderr, /was cancelled/)
    const samples = metricSamples(readFileSync(metrics, 'utf8'))
    assert.equal(samples.get('hostkeys_last_run_success'), '0')
    assert.equal(samples.get('hostkeys_last_success_timestamp_seconds'), '0')
  })
})
