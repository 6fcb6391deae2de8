import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startCli, waitFor } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { assertOneLine, metricSamples, silentPeer } from '../support/faults.js'
import { skipUnlessPgCluster, startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'

/* Issue 9, item 9: one rule for exit codes. A signal during a scan stops probing, records nothing
 * half-way and exits 130 (SIGINT) or 143 (SIGTERM); a signal during recording lets the transaction
 * end first, so the scan is recorded whole. An uncaught exception or an unhandled rejection is exit
 * 2 with one line (the stack only with HOSTKEYS_DEBUG). Each writes the metrics file with the run
 * failed and closes a JSON document. The test's own cluster; real sshd and a silent peer on
 * 127.60.4.0/24. The unexpected failures are planted by a --import module that throws on SIGUSR2. */

describe('exit codes of failed runs', { skip: skipUnlessPgCluster() || skipUnlessSshd() }, () => {
  let cluster: PgCluster
  let server: SshdServer
  const work = mkdtempSync(join(tmpdir(), 'hostkeys-exit-'))
  const saboteur = join(work, 'saboteur.mjs')
  before(async () => {
    ;[cluster, server] = await Promise.all([startPgCluster(), startSshd({ addresses: ['127.60.4.1'], keyTypes: ['ed25519'] })])
    writeFileSync(
      saboteur,
      `process.on('SIGUSR2', () => setImmediate(() => {
        if (process.env.SABOTAGE === 'reject') Promise.reject(new Error('planted rejection'))
        else throw new Error('planted exception')
      }))\n`,
    )
  })
  after(async () => {
    await Promise.all([cluster?.destroy(), server?.stop()])
    rmSync(work, { recursive: true, force: true })
  })

  const target = () => `127.60.4.1:${server.port}`
  const scansIn = async (database: string) => (await cluster.query<{ n: number }>(database, 'SELECT count(*)::int AS n FROM scans'))[0]!.n

  /** A database with one successful scan, and the metrics file it wrote (the scan run in this process:
   * only the failed runs need a process of their own). */
  async function baseline(): Promise<{ database: string; metrics: string; lastSuccess: string; args: string[] }> {
    const database = await cluster.createDatabase()
    const metrics = join(work, `${database}.prom`)
    const args = ['scan', '--no-dns', '-T', '60', '--db', cluster.url(database), '--format', 'json', '--metrics-file', metrics]
    const first = await runInProcess([...args, target()])
    assert.equal(first.code, 0, first.stderr)
    return { database, metrics, args, lastSuccess: metricSamples(readFileSync(metrics, 'utf8')).get('hostkeys_last_success_timestamp_seconds')! }
  }

  function assertFailedRun(metrics: string, lastSuccess: string, stdout: string): void {
    const samples = metricSamples(readFileSync(metrics, 'utf8'))
    assert.equal(samples.get('hostkeys_last_run_success'), '0')
    assert.equal(samples.get('hostkeys_last_success_timestamp_seconds'), lastSuccess)
    const document = JSON.parse(stdout) as { findings: unknown; error: string }
    assert.equal(document.findings, null)
    assert.ok(document.error)
  }

  /** Runs a scan that hangs on a silent peer; acts once it probes; returns the result. */
  async function whileProbing(args: string[], act: (pid: number) => void, env: NodeJS.ProcessEnv = {}) {
    const peer = await silentPeer('127.60.4.2')
    try {
      const run = startCli([...args, target(), `127.60.4.2:${peer.port}`], { env, timeoutMs: 120_000 })
      await waitFor(() => peer.connections() > 0, 60_000, 'the scan to probe the silent peer')
      act(run.child.pid!)
      return await run.done
    } finally {
      await peer.close()
    }
  }

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} while probing: exit ${code} at once, nothing recorded, metrics failed, JSON closed`, async () => {
      const { database, metrics, lastSuccess, args } = await baseline()
      const result = await whileProbing(args, (pid) => process.kill(pid, signal))
      assert.equal(result.code, code, result.stderr)
      assertOneLine(result.stderr, new RegExp(`^hostkeys: interrupted by ${signal}; the scan stopped; nothing was recorded$`))
      assertFailedRun(metrics, lastSuccess, result.stdout)
      assert.equal(await scansIn(database), 1)
    })
  }

  it('SIGTERM while recording: the transaction ends first, the scan is recorded whole, exit 143', async () => {
    const { database, metrics, lastSuccess, args } = await baseline()
    const { default: pg } = await import('pg')
    const admin = new pg.Client({ connectionString: cluster.url(database) })
    await admin.connect()
    await admin.query('BEGIN')
    await admin.query('LOCK TABLE scans IN ACCESS EXCLUSIVE MODE')
    const run = startCli([...args, target()], { timeoutMs: 120_000 })
    try {
      await waitFor(
        async () =>
          (await cluster.query<{ n: number }>('postgres', 'SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.datname = $1', [database]))[0]!.n > 0,
        90_000,
        'the scan to wait inside its recording transaction',
      )
      run.child.kill('SIGTERM')
      await new Promise((r) => setTimeout(r, 500))
      assert.equal(run.child.exitCode, null, 'still recording')
    } finally {
      await admin.end()
    }
    const result = await run.done
    assert.equal(result.code, 143, result.stderr)
    assertOneLine(result.stderr, /^hostkeys: interrupted by SIGTERM; the scan was recorded, but its report was cut short/)
    assertFailedRun(metrics, lastSuccess, result.stdout)
    assert.equal(await scansIn(database), 2)
  })

  for (const sabotage of ['exception', 'reject']) {
    it(`an unexpected ${sabotage === 'reject' ? 'unhandled rejection' : 'uncaught exception'}: exit 2, one line, a stack only with HOSTKEYS_DEBUG`, async () => {
      const { database, metrics, lastSuccess, args } = await baseline()
      const env = { NODE_OPTIONS: `--import=${saboteur}`, SABOTAGE: sabotage }
      const result = await whileProbing(args, (pid) => process.kill(pid, 'SIGUSR2'), env)
      assert.equal(result.code, 2, result.stderr)
      assertOneLine(result.stderr, /^hostkeys: internal error: planted (exception|rejection)$/)
      assertFailedRun(metrics, lastSuccess, result.stdout)
      assert.equal(await scansIn(database), 1)

      const debug = await whileProbing(args, (pid) => process.kill(pid, 'SIGUSR2'), { ...env, HOSTKEYS_DEBUG: '1' })
      assert.equal(debug.code, 2)
      assert.match(debug.stderr, /^hostkeys: internal error: planted (exception|rejection)\nError: planted .*\n\s+at /)
    })
  }
})
