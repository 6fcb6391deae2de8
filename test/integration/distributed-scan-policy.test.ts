import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { runCli, startCli, type RunningCli } from '../support/cli.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { testBackends } from '../support/test-store.js'

/* `scan --distribute --policy FILE` (issue 14): a run is judged with the policy as a single-process
 * scan is, policy_violation raised, kept and resolved alike. Real sshd on 127.87.0.0/16, the real
 * executable, a fresh PostgreSQL database per history. */

const pgBackend = testBackends().find((b) => b.name === 'postgres')

async function query<Row>(db: string, text: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: db })
  await client.connect()
  try {
    return (await client.query(text)).rows as Row[]
  } finally {
    await client.end()
  }
}

/** Findings by kind, host and status, and the scans' counts: what the two histories must share. */
async function findingsOf(db: string) {
  return {
    findings: await query<{ kind: string; host: string; status: string; message: string }>(
      db,
      `SELECT f.kind, h.name AS host, f.status, f.message FROM findings f JOIN hosts h ON h.id = f.host_id ORDER BY 1, 2, 3`,
    ),
    scans: await query(db, `SELECT hosts_asked, hosts_reached, keys_seen, findings FROM scans ORDER BY id`),
  }
}

describe('distributed scans with --policy (CLI, real sshd, PostgreSQL)', { skip: skipUnlessSshd() || (pgBackend ? false : 'HOSTKEYS_TEST_DATABASE_URL is not set') }, () => {
  let sshd: SshdServer
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-distributed-policy-'))
  const cleanups: (() => Promise<void>)[] = []
  let worker: RunningCli | undefined

  before(async () => {
    sshd = await startSshd({ addresses: ['127.87.1.1', '127.87.1.2'], keyTypes: ['ed25519', 'ecdsa-256'] })
  })
  after(async () => {
    if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL')
    await sshd?.stop()
    for (const cleanup of cleanups) await cleanup().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  it('policy_violation is raised, kept by a run without the policy, and resolved, as single-process scans do', async () => {
    const inventory = join(dir, 'fleet.txt')
    writeFileSync(inventory, sshd.addresses.map((a) => `[${a}]:${sshd.port}\n`).join(''))
    // Every host offers an ECDSA key: a violation. The second policy forbids nothing they offer.
    const strict = join(dir, 'strict.policy')
    writeFileSync(strict, '# no ECDSA host keys\nhostkey forbid ecdsa-sha2-*\n')
    const lenient = join(dir, 'lenient.policy')
    writeFileSync(lenient, 'ciphers forbid *-cbc\n')
    const single = await pgBackend!.fresh()
    const distributed = await pgBackend!.fresh()
    cleanups.push(single.cleanup, distributed.cleanup)
    worker = startCli(['worker', '--db', distributed.db, '--poll', '0.5'], { timeoutMs: 300_000 })

    const nights: { policy: string[]; violations: number; open: number }[] = [
      { policy: ['--policy', strict], violations: 2, open: 2 },
      // No policy applied: nothing said of policy, the open ones stay open.
      { policy: [], violations: 0, open: 2 },
      { policy: ['--policy', lenient], violations: 0, open: 0 },
    ]
    for (const [night, { policy, violations, open }] of nights.entries()) {
      const args = ['--no-dns', '-T', '5', '--format', 'json', ...policy, '-f', inventory]
      const alone = await runCli(['scan', '--db', single.db, ...args], { timeoutMs: 120_000 })
      assert.ok(alone.code === 0 || alone.code === 1, `night ${night}: ${alone.stderr}`)
      // The waiting form, as a user runs it by hand.
      const run = await runCli(['scan', '--distribute', '--shard-size', '1', '--db', distributed.db, ...args], { timeoutMs: 180_000 })
      assert.equal(run.code, alone.code, `night ${night}: ${run.stderr}`)
      // Its last progress line counts the report's findings.
      const reported = JSON.parse(alone.stdout).findings.length
      assert.match(run.stderr, new RegExp(`run \\d+ done: 2/2 shard\\(s\\) in, 2/2 host scan\\(s\\), 2 reached; ${reported} finding\\(s\\)\\n`), run.stderr)
      const openNow = await query<{ n: number }>(distributed.db, `SELECT count(*)::int AS n FROM findings WHERE kind = 'policy_violation' AND status = 'open'`)
      assert.equal(openNow[0]!.n, open, `night ${night}`)
      const [fromRun, fromScan] = [JSON.parse(run.stdout), JSON.parse(alone.stdout)]
      const kinds = (report: { findings: { kind: string; host: string; message: string }[] }) => report.findings.map((f) => `${f.kind} ${f.host} ${f.message}`).sort()
      assert.deepEqual(kinds(fromRun), kinds(fromScan), `night ${night}`)
      assert.equal(fromRun.findings.filter((f: { kind: string }) => f.kind === 'policy_violation').length, violations, `night ${night}`)
    }
    const [one, two] = [await findingsOf(single.db), await findingsOf(distributed.db)]
    assert.deepEqual(two, one)
    const policyFindings = two.findings.filter((f) => f.kind === 'policy_violation')
    assert.equal(policyFindings.length, 2)
    assert.ok(policyFindings.every((f) => f.status === 'resolved' && /ecdsa-sha2-nistp256/.test(f.message)), JSON.stringify(policyFindings))
  })

  it('a policy that does not parse stops scan --distribute before anything is enqueued (exit 2)', async () => {
    const bad = join(dir, 'bad.policy')
    writeFileSync(bad, 'hostkey permit ssh-ed25519\n')
    const inventory = join(dir, 'one.txt')
    writeFileSync(inventory, `[${sshd.addresses[0]}]:${sshd.port}\n`)
    const fresh = await pgBackend!.fresh()
    cleanups.push(fresh.cleanup)
    const run = await runCli(['scan', '--distribute', '--detach', '--db', fresh.db, '--policy', bad, '-f', inventory])
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, /bad\.policy:1/)
    // Nothing enqueued: the history may not even have its runs table yet.
    const runs = await query<{ n: number }>(fresh.db, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'runs'`)
    if (runs[0]!.n > 0) assert.deepEqual(await query(fresh.db, `SELECT id FROM runs`), [])

    // --blocklist is refused rather than left out of the run's judging.
    const blocklisted = await runCli(['scan', '--distribute', '--detach', '--db', fresh.db, '--blocklist', join(dir, 'blocklist.dat'), '-f', inventory])
    assert.equal(blocklisted.code, 2, blocklisted.stderr)
    assert.match(blocklisted.stderr, /--blocklist is not supported with --distribute/)
  })
})
