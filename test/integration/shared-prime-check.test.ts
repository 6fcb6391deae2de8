import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { recordScan, type RecordingStage } from '../../src/app/record-scan.js'
import type { Observation } from '../../src/domain/observation.js'
import { scanHost } from '../../src/ssh/scan-host.js'
import { keysSharingAPrime, rsaKeyDir, type RsaFromPrimes } from '../support/rsa-from-primes.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { runCli, startCli, waitFor, type RunningCli } from '../support/cli.js'
import { runInProcess } from '../support/cli-in-process.js'
import { testBackends } from '../support/test-store.js'

/* The shared-prime check runs after its scan is recorded, outside the scan's transaction (README
 * "Known-bad keys"): two hosts of real sshd on 127.88.0.0/16 (this file's block) serve RSA keys that
 * share a prime. On PostgreSQL this test holds the check's advisory lock itself, as another scan's
 * check would, to stop scans at the point between their recording and their check: what is then
 * committed, what another scan can do meanwhile, and what a failure there leaves, are read from the
 * database, with no timing assumed. */

/** The advisory lock one shared-prime check holds at a time ('hkgc', src/store/kysely-store.ts). */
const SHARED_PRIME_LOCK = 0x686b6763

const work = mkdtempSync(path.join(tmpdir(), 'hostkeys-shared-prime-'))

const keyDirWith = (name: string, key: RsaFromPrimes): string => rsaKeyDir(work, name, key)

interface CliFinding {
  kind: string
  host: string
  message: string
}

describe('the shared-prime check after the scan is recorded', { skip: skipUnlessSshd() }, () => {
  const shared = keysSharingAPrime(2048)
  const servers: Record<'a' | 'b', SshdServer> = {} as Record<'a' | 'b', SshdServer>

  before(async () => {
    servers.a = await startSshd({ addresses: ['127.88.0.1'], keyTypes: ['rsa'], keyDir: keyDirWith('a', shared[0]) })
    servers.b = await startSshd({ addresses: ['127.88.0.2'], keyTypes: ['rsa'], keyDir: keyDirWith('b', shared[1]) })
  })
  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop()))
    rmSync(work, { recursive: true, force: true })
  })

  const target = (name: 'a' | 'b') => `${servers[name].addresses[0]}:${servers[name].port}`
  const id = (name: 'a' | 'b') => `[${servers[name].addresses[0]}]:${servers[name].port}`
  const scanFlags = (...targets: string[]) => ['scan', '--no-dns', '-T', '8', '-t', 'rsa', '--format', 'json', ...targets]
  const scanArgs = (db: string, ...targets: string[]) => [...scanFlags(...targets), '--db', db]
  const compromisedHosts = (stdout: string) =>
    ((JSON.parse(stdout) as { findings: CliFinding[] }).findings ?? [])
      .filter((f) => f.kind === 'compromised_key')
      .map((f) => f.host)
      .sort()

  /* The CLI in this process (main(): the same wiring, renderers and exit codes) on an open store. */
  for (const backend of testBackends()) {
    it(`${backend.name}: a first scan of both hosts reports the shared prime, exits 1, and records each finding once`, async () => {
      const { store, cleanup } = await backend.open()
      const cli = (args: string[]) => runInProcess(args, { history: store })
      try {
        const result = await cli(scanFlags(target('a'), target('b')))
        assert.equal(result.code, 1, result.stderr)
        assert.deepEqual(compromisedHosts(result.stdout), [id('a'), id('b')].sort())
        const listed = await cli(['findings', '--format', 'json'])
        assert.equal(listed.code, 0, listed.stderr)
        const open = (JSON.parse(listed.stdout) as { findings: CliFinding[] }).findings.filter((f) => f.kind === 'compromised_key')
        assert.deepEqual(open.map((f) => f.host).sort(), [id('a'), id('b')].sort())
        const again = await cli(scanFlags(target('a'), target('b')))
        assert.equal(again.code, 1, again.stderr)
        assert.deepEqual(compromisedHosts(again.stdout), [id('a'), id('b')].sort(), 'the stored verdicts raise it again')
      } finally {
        await cleanup()
      }
    })
  }

  /* In process, on every store: the production recordScan with a `write` that refuses the check's
   * transaction, as the CLI's critical section does once a signal has come. */
  for (const backend of testBackends()) {
    it(`${backend.name}: a check cut short leaves the scan recorded and its keys pending; the next scan finds the prime`, async () => {
      const { store, cleanup } = await backend.open()
      try {
        const observations: Observation[] = []
        for (const name of ['a', 'b'] as const) {
          const address = servers[name].addresses[0]!
          const observation = await scanHost({ host: address, address, port: servers[name].port, aliases: [], source: 'test' }, { families: ['rsa'], timeoutMs: 10_000 })
          assert.equal(observation.status, 'ok', observation.error ?? '')
          observations.push(observation)
        }
        const meta = () => ({ startedAt: new Date(), finishedAt: new Date(), vantage: 'test', request: { keyFamilies: ['rsa' as const] } })
        const stages: RecordingStage[] = []
        const interrupted = new Error('interrupted by SIGTERM')
        await assert.rejects(
          recordScan(store, meta(), observations, {
            write: (stage, fn) => {
              stages.push(stage)
              return stage === 'scan' ? fn() : Promise.reject(interrupted)
            },
          }),
          (e) => e === interrupted,
        )
        assert.deepEqual(stages, ['scan', 'shared-primes'])
        assert.equal((await store.stats()).scans, 1, 'the scan is recorded')
        assert.equal((await store.rsaModuli()).pending.length, 2, 'both keys wait for the next check')
        assert.deepEqual(await store.listFindings({ kinds: ['compromised_key'] }), [])

        const next = await recordScan(store, meta(), observations)
        assert.deepEqual(next.findings.filter((f) => f.kind === 'compromised_key').map((f) => f.host).sort(), observations.map((o) => o.target.host).sort())
        assert.equal((await store.rsaModuli()).pending.length, 0)
        assert.equal((await store.listFindings({ kinds: ['compromised_key'], openOnly: true })).length, 2)
      } finally {
        await cleanup()
      }
    })
  }

  const pgBackend = testBackends().find((b) => b.name === 'postgres')
  describe('PostgreSQL: scans held between their recording and their check', { skip: pgBackend ? false : 'HOSTKEYS_TEST_DATABASE_URL is not set' }, () => {
    /** A session of the test's own on the scans' database, holding the check's lock as another scan's check would. */
    async function lockHolder(db: string) {
      const client = new pg.Client({ connectionString: db })
      await client.connect()
      await client.query('SELECT pg_advisory_lock($1)', [SHARED_PRIME_LOCK])
      const count = async (query: string) => {
        try {
          return Number((await client.query<{ n: string }>(query)).rows[0]!.n)
        } catch {
          return -1 // not migrated yet
        }
      }
      return {
        count,
        pid: async () => Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid),
        release: () => client.query('SELECT pg_advisory_unlock($1)', [SHARED_PRIME_LOCK]),
        close: () => client.end(),
        query: (text: string, values: unknown[] = []) => client.query(text, values),
      }
    }
    const running = (scan: RunningCli) => scan.child.exitCode === null && scan.child.signalCode === null

    it('the recording lock is free while a check waits: a second scan records meanwhile, and each scan reports its host once', async () => {
      const { db, cleanup } = await pgBackend!.fresh()
      const holder = await lockHolder(db)
      try {
        const scanA = startCli(scanArgs(db, target('a')), { timeoutMs: 120_000 })
        await waitFor(async () => (await holder.count('SELECT count(*) AS n FROM scans')) === 1, 60_000, 'scan A recorded')
        assert.ok(running(scanA), `scan A waits for the check: ${scanA.output().stderr}`)
        const scanB = startCli(scanArgs(db, target('b')), { timeoutMs: 120_000 })
        // B takes the recording lock and commits while A has still to check its key.
        await waitFor(async () => (await holder.count('SELECT count(*) AS n FROM scans')) === 2, 60_000, 'scan B recorded while A waits')
        assert.ok(running(scanA), 'scan A is still waiting')
        assert.equal(await holder.count(`SELECT count(*) AS n FROM keys WHERE type = 'ssh-rsa' AND NOT gcd_checked`), 2, 'both keys are recorded, not yet compared')
        assert.equal(await holder.count(`SELECT count(*) AS n FROM findings WHERE kind = 'compromised_key'`), 0)
        await holder.release()
        const [a, b] = await Promise.all([scanA.done, scanB.done])
        assert.equal(a.code, 1, a.stderr)
        assert.equal(b.code, 1, b.stderr)
        // Whichever checked first compared both keys; the other tells its own host what that one found.
        assert.ok(compromisedHosts(a.stdout).includes(id('a')), a.stdout)
        assert.ok(compromisedHosts(b.stdout).includes(id('b')), b.stdout)
        assert.equal(await holder.count(`SELECT count(*) AS n FROM findings WHERE kind = 'compromised_key'`), 2, 'one finding per host')
        assert.equal(await holder.count(`SELECT count(*) AS n FROM keys WHERE NOT gcd_checked AND type = 'ssh-rsa'`), 0)
      } finally {
        await holder.close()
        await cleanup()
      }
    })

    it('a check that fails (database lost, or a signal) leaves the scan recorded and the keys pending; the next scan finds the prime', async () => {
      const { db, cleanup } = await pgBackend!.fresh()
      const holder = await lockHolder(db)
      const pending = `SELECT count(*) AS n FROM keys WHERE type = 'ssh-rsa' AND NOT gcd_checked`
      try {
        // Its connections are cut while it waits to check: exit 2, saying what was recorded.
        const lost = startCli(scanArgs(db, target('a'), target('b')), { timeoutMs: 120_000 })
        await waitFor(async () => (await holder.count('SELECT count(*) AS n FROM scans')) === 1, 60_000, 'the scan recorded')
        const own = await holder.pid()
        await holder.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1', [own])
        const failed = await lost.done
        assert.equal(failed.code, 2, failed.stderr)
        assert.match(failed.stderr, /^hostkeys: the scan was recorded \(scan \d+\), but not its shared-prime check: .*stay pending, and the next scan compares them/m)
        assert.equal(JSON.parse(failed.stdout).findings, null, 'the JSON document is closed with the error')
        assert.equal(await holder.count('SELECT count(*) AS n FROM scans'), 1, 'the scan stands')
        assert.equal(await holder.count(pending), 2)

        // A signal while it waits: 143, and the same account of what was recorded.
        const stopped = startCli(scanArgs(db, target('a'), target('b')), { timeoutMs: 120_000 })
        await waitFor(async () => (await holder.count('SELECT count(*) AS n FROM scans')) === 2, 60_000, 'the second scan recorded')
        stopped.child.kill('SIGTERM')
        const interrupted = await stopped.done
        assert.equal(interrupted.code, 143, interrupted.stderr)
        assert.match(interrupted.stderr, /interrupted by SIGTERM; the scan was recorded, but not its shared-prime check/)
        assert.equal(await holder.count(pending), 2)
        assert.equal(await holder.count(`SELECT count(*) AS n FROM findings WHERE kind = 'compromised_key'`), 0)

        await holder.release()
        const next = await runCli(scanArgs(db, target('b')))
        assert.equal(next.code, 1, next.stderr)
        assert.deepEqual(compromisedHosts(next.stdout), [id('a'), id('b')].sort())
        assert.equal(await holder.count(pending), 0)
      } finally {
        await holder.close()
        await cleanup()
      }
    })
  })
})
