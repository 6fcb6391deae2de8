import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, Socket, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { runCli, startCli, waitFor, type RunningCli } from '../support/cli.js'
import { skipUnlessSshd, startSshd, type SshdServer } from '../support/sshd.js'
import { testBackends } from '../support/test-store.js'

/* Distributed scans end to end (issue 14): the real executable as `scan --distribute`, `worker` and
 * `run`, real sshd on 127.85.0.0/16, a fresh PostgreSQL database per scenario. */

const pgBackend = testBackends().find((b) => b.name === 'postgres')

async function query<Row>(db: string, text: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: db })
  await client.connect()
  try {
    return (await client.query(text, params)).rows as Row[]
  } finally {
    await client.end()
  }
}

/** What a history holds after one scan: hosts with their current keys, the scan's counts, finding kinds. */
async function historyOf(db: string) {
  const keys = await query<{ name: string; type: string; sha256: string }>(
    db,
    `SELECT h.name, k.type, encode(k.sha256, 'hex') AS sha256 FROM hosts h JOIN sightings s ON s.host_id = h.id AND s.current JOIN keys k ON k.id = s.key_id ORDER BY 1, 2, 3`,
  )
  const hosts = await query<{ name: string; last_status: string }>(db, `SELECT name, last_status FROM hosts ORDER BY name`)
  const scans = await query<{ hosts_asked: number; hosts_reached: number; keys_seen: number; findings: number }>(
    db,
    `SELECT hosts_asked, hosts_reached, keys_seen, findings FROM scans ORDER BY id`,
  )
  const findings = await query<{ kind: string; host: string; n: number }>(
    db,
    `SELECT f.kind, h.name AS host, count(*)::int AS n FROM findings f JOIN hosts h ON h.id = f.host_id GROUP BY 1, 2 ORDER BY 1, 2`,
  )
  return { keys, hosts, scans, findings }
}

function stopWorker(worker: RunningCli | undefined): void {
  if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL')
}

describe('distributed scans (CLI, real sshd, PostgreSQL)', { skip: skipUnlessSshd() || (pgBackend ? false : 'HOSTKEYS_TEST_DATABASE_URL is not set') }, () => {
  let web: SshdServer
  let clones: SshdServer
  let silent: Server
  let silentPort: number
  const dir = mkdtempSync(join(tmpdir(), 'hostkeys-distributed-'))
  const cleanups: (() => Promise<void>)[] = []
  const workers: RunningCli[] = []

  async function database(): Promise<string> {
    const fresh = await pgBackend!.fresh()
    cleanups.push(fresh.cleanup)
    return fresh.db
  }

  before(async () => {
    web = await startSshd({ addresses: ['127.85.1.1', '127.85.1.2', '127.85.1.3'], keyTypes: ['ed25519', 'ecdsa-256'] })
    // One sshd on two addresses: two hosts sharing keys (duplicate_key), a finding to compare.
    clones = await startSshd({ addresses: ['127.85.2.1', '127.85.2.2'], keyTypes: ['ed25519'] })
    silent = createServer((socket) => socket.on('error', () => {}))
    await new Promise<void>((resolve) => silent.listen(0, '127.85.3.1', resolve))
    silentPort = (silent.address() as { port: number }).port
  })
  after(async () => {
    for (const worker of workers) stopWorker(worker)
    await web?.stop()
    await clones?.stop()
    silent?.close()
    for (const cleanup of cleanups) await cleanup().catch(() => {})
  })

  function startWorker(db: string, vantage: string, extra: string[] = []): RunningCli {
    const worker = startCli(['worker', '--db', db, '--vantage', vantage, '--poll', '0.5', ...extra], { timeoutMs: 300_000 })
    workers.push(worker)
    return worker
  }

  it('a run split over two worker processes records what a single-process scan records', async () => {
    const inventory = join(dir, 'fleet.txt')
    const targets = [
      ...web.addresses.map((a) => `[${a}]:${web.port}`),
      ...clones.addresses.map((a) => `[${a}]:${clones.port}`),
      `[127.85.3.1]:${silentPort}`, // times out
      `[127.85.4.1]:${web.port}`, // refused: nothing listens there
    ]
    writeFileSync(inventory, `${targets.join('\n')}\n`)
    const single = await database()
    const distributed = await database()

    const scan = await runCli(['scan', '--db', single, '--no-dns', '-T', '3', '--format', 'json', '-f', inventory], { timeoutMs: 120_000 })
    assert.equal(scan.code, 1, scan.stderr) // duplicate_key is a warning
    const detached = await runCli(['scan', '--distribute', '--detach', '--shard-size', '2', '--db', distributed, '-T', '3', '-f', inventory])
    assert.equal(detached.code, 0, detached.stderr)
    const runId = detached.stdout.trim()
    assert.match(runId, /^\d+$/)

    // Two workers; each shard holds a host that times out or several, so both get work.
    const a = startWorker(distributed, 'dc1')
    const b = startWorker(distributed, 'dc1')
    const waited = await runCli(['run', 'wait', runId, '--db', distributed, '--format', 'json'], { timeoutMs: 180_000 })
    assert.equal(waited.code, 1, waited.stderr)
    const report = JSON.parse(waited.stdout)
    const singleReport = JSON.parse(scan.stdout)
    const kinds = (findings: { kind: string; host: string }[]) => findings.map((f) => `${f.kind} ${f.host}`).sort()
    assert.deepEqual(kinds(report.findings), kinds(singleReport.findings))
    assert.ok(report.findings.some((f: { kind: string }) => f.kind === 'duplicate_key'))

    const [one, two] = [await historyOf(single), await historyOf(distributed)]
    assert.deepEqual(two.keys, one.keys)
    assert.deepEqual(two.hosts, one.hosts)
    assert.deepEqual(two.scans, one.scans)
    assert.deepEqual(two.findings, one.findings)
    assert.equal(one.hosts.length, targets.length)

    // What stays of the run: its row (done, with its scan); no staged observations, no targets.
    const [run] = await query<{ status: string; scan_id: number; parts_done: number; parts: number }>(distributed, `SELECT * FROM runs WHERE id = $1`, [Number(runId)])
    assert.equal(run!.status, 'done')
    assert.equal(run!.parts_done, 4)
    assert.equal(run!.parts, 4)
    assert.deepEqual(await query(distributed, `SELECT * FROM run_shards`), [])
    assert.deepEqual(await query(distributed, `SELECT * FROM run_parts`), [])

    stopWorker(a)
    stopWorker(b)
    const logs = [a.output().stderr, b.output().stderr]
    const shardsBy = logs.map((log) => (log.match(/ shard \d+: /g) ?? []).length)
    assert.equal(shardsBy[0]! + shardsBy[1]!, 4, logs.join('\n---\n'))
    assert.ok(shardsBy[0]! > 0 && shardsBy[1]! > 0, `both workers scanned: ${shardsBy.join(' and ')} shard(s)`)
  })

  it('scan --distribute refuses the embedded store, and --vantage twice without --distribute', async () => {
    const embedded = await runCli(['scan', '--distribute', '--db', join(dir, 'embedded'), `[127.85.1.1]:${web.port}`])
    assert.equal(embedded.code, 2)
    assert.match(embedded.stderr, /needs a PostgreSQL history/)
    const twice = await runCli(['scan', '--no-store', '--vantage', 'a', '--vantage', 'b', `[127.85.1.1]:${web.port}`])
    assert.equal(twice.code, 2)
    assert.match(twice.stderr, /give it once/)
  })

  it('a shard that keeps failing ends failed with its error, and so does its run', async () => {
    const db = await database()
    const detached = await runCli(['scan', '--distribute', '--detach', '--db', db, `[127.85.1.1]:${web.port}`, `[127.85.1.2]:${web.port}`])
    assert.equal(detached.code, 0, detached.stderr)
    const runId = Number(detached.stdout.trim())
    // A row no worker can read: every attempt throws.
    await query(db, `UPDATE run_shards SET targets = '"not a list"' WHERE run_id = $1`, [runId])
    const worker = startWorker(db, 'dc1')
    const waited = await runCli(['run', 'wait', String(runId), '--db', db], { timeoutMs: 180_000 })
    assert.equal(waited.code, 2, waited.stdout + waited.stderr)
    assert.match(waited.stderr, new RegExp(`run ${runId} failed: shard 0 failed: run ${runId} shard 0: its targets are not a list`))
    const status = await runCli(['run', 'status', String(runId), '--db', db])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /run \d+ failed: 0\/1 shard\(s\) in, 1 failed/)
    assert.match(status.stdout, /error: shard 0 failed: .*not a list/)
    stopWorker(worker)
    assert.equal((worker.output().stderr.match(/attempt \d: run \d+ shard 0: its targets are not a list/g) ?? []).length, 3, worker.output().stderr)
    assert.deepEqual(await query(db, `SELECT id FROM scans`), [], 'nothing recorded')
  })

  it('a worker SIGKILLed mid-shard: the shard comes back to another worker and is counted once', async () => {
    const db = await database()
    const targets = [`[127.85.3.1]:${silentPort}`, `[127.85.1.1]:${web.port}`, `[127.85.1.2]:${web.port}`]
    // -T 6 keeps the shard slow (the silent host); the expiry gives it back soon after the kill.
    const detached = await runCli(['scan', '--distribute', '--detach', '--db', db, '-T', '6', '--shard-expiry', '15', ...targets])
    assert.equal(detached.code, 0, detached.stderr)
    const runId = Number(detached.stdout.trim())
    const first = startWorker(db, 'dc1')
    await waitFor(async () => (await query<{ attempts: number }>(db, `SELECT attempts FROM run_parts WHERE run_id = $1`, [runId]))[0]?.attempts === 1, 60_000, 'the first worker to take the shard')
    first.child.kill('SIGKILL')
    await first.done
    const second = startWorker(db, 'dc1')
    const waited = await runCli(['run', 'wait', String(runId), '--db', db, '--format', 'json'], { timeoutMs: 180_000 })
    assert.notEqual(waited.code, 2, waited.stderr + second.output().stderr)
    const report = JSON.parse(waited.stdout)
    assert.equal(report.findings.filter((f: { host: string; kind: string }) => f.host === targets[1] && f.kind === 'new_host').length, 1, 'new_host, once')
    const history = await historyOf(db)
    assert.equal(history.scans.length, 1)
    assert.equal(history.scans[0]!.hosts_asked, 3)
    assert.deepEqual(history.hosts.map((h) => h.name).sort(), targets.map((t) => t).sort())
    stopWorker(second)
    assert.match(second.output().stderr, new RegExp(`run ${runId} shard 0: 3 host\\(s\\), 2 reached`))
  })
})

/** A TCP relay standing for a network path: connections from one process (a worker) go to one sshd,
 * everyone else's to another. It tells them apart by the connecting socket's owner, as `ss -p` shows. */
type Endpoint = { host: string; port: number }

async function interceptingRelay(address: string, real: Endpoint, intercepted: Endpoint, interceptPid: () => number | null): Promise<Server> {
  const relay = createServer((inbound) => {
    inbound.on('error', () => {})
    const sport = inbound.remotePort
    let owner: number | null = null
    try {
      const line = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${sport} )`], { encoding: 'utf8' })
      owner = Number(/pid=(\d+)/.exec(line)?.[1] ?? NaN)
    } catch {}
    const outbound = new Socket()
    outbound.on('error', () => inbound.destroy())
    outbound.connect(owner !== null && owner === interceptPid() ? intercepted : real)
    inbound.pipe(outbound).pipe(inbound)
    inbound.on('close', () => outbound.destroy())
  })
  await new Promise<void>((resolve) => relay.listen(0, address, resolve))
  return relay
}

describe('vantages (CLI, real sshd, PostgreSQL)', { skip: skipUnlessSshd() || (pgBackend ? false : 'HOSTKEYS_TEST_DATABASE_URL is not set') }, () => {
  let real: SshdServer
  let interceptor: SshdServer
  let relay: Server
  // An interceptor that has only an RSA key of its own, where the host has only Ed25519 (a family swap).
  let rsaInterceptor: SshdServer
  let swapRelay: Server
  const workers: RunningCli[] = []
  const cleanups: (() => Promise<void>)[] = []
  let interceptedWorker: RunningCli | null = null

  before(async () => {
    real = await startSshd({ addresses: ['127.85.5.1'], keyTypes: ['ed25519'] })
    interceptor = await startSshd({ addresses: ['127.85.5.2'], keyTypes: ['ed25519'] })
    relay = await interceptingRelay(
      '127.85.5.1',
      { host: '127.85.5.1', port: real.port },
      { host: '127.85.5.2', port: interceptor.port },
      () => interceptedWorker?.child.pid ?? null,
    )
    rsaInterceptor = await startSshd({ addresses: ['127.85.5.3'], keyTypes: ['rsa'] })
    swapRelay = await interceptingRelay(
      '127.85.5.1',
      { host: '127.85.5.1', port: real.port },
      { host: '127.85.5.3', port: rsaInterceptor.port },
      () => interceptedWorker?.child.pid ?? null,
    )
  })
  after(async () => {
    for (const worker of workers) stopWorker(worker)
    relay?.close()
    swapRelay?.close()
    await real?.stop()
    await interceptor?.stop()
    await rsaInterceptor?.stop()
    for (const cleanup of cleanups) await cleanup().catch(() => {})
  })

  it('a host that serves other keys to one vantage is vantage_mismatch, naming both vantages and keys', async () => {
    const fresh = await pgBackend!.fresh()
    cleanups.push(fresh.cleanup)
    const db = fresh.db
    const relayPort = (relay.address() as { port: number }).port
    const target = `[127.85.5.1]:${relayPort}`
    const direct = `[127.85.5.1]:${real.port}` // not through the relay: both vantages agree on it
    const scan = startCli(['scan', '--distribute', '--db', db, '--vantage', 'inside', '--vantage', 'outside', '--format', 'json', target, direct], { timeoutMs: 180_000 })
    const inside = startCli(['worker', '--db', db, '--vantage', 'inside', '--poll', '0.5'], { timeoutMs: 180_000 })
    const outside = startCli(['worker', '--db', db, '--vantage', 'outside', '--poll', '0.5'], { timeoutMs: 180_000 })
    workers.push(inside, outside)
    interceptedWorker = inside
    const result = await scan.done
    assert.equal(result.code, 1, result.stderr + inside.output().stderr + outside.output().stderr)
    // Without --no-dns, the run says once that it checks no SSHFP records.
    assert.match(result.stderr, /a distributed run does not check SSHFP records/)
    const findings = JSON.parse(result.stdout).findings as { kind: string; host: string; severity: string; message: string; fingerprint: string }[]
    const mismatches = findings.filter((f) => f.kind === 'vantage_mismatch')
    assert.equal(mismatches.length, 1, JSON.stringify(findings))
    const [mismatch] = mismatches
    assert.equal(mismatch!.host, target)
    assert.equal(mismatch!.severity, 'critical')
    const fingerprint = (file: string) => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).split(' ')[1]!
    // The judged vantage (the first asked) is the intercepted one: it recorded the interceptor's key.
    assert.match(mismatch!.message, /vantage inside/)
    assert.match(mismatch!.message, /vantage outside/)
    assert.ok(mismatch!.message.includes(fingerprint(interceptor.publicKeyFiles.ed25519!)), mismatch!.message)
    assert.ok(mismatch!.message.includes(fingerprint(real.publicKeyFiles.ed25519!)), mismatch!.message)
    assert.equal(mismatch!.fingerprint, fingerprint(real.publicKeyFiles.ed25519!))
    const [scanRow] = await query<{ vantage: string; hosts_asked: number }>(db, `SELECT vantage, hosts_asked FROM scans`)
    assert.deepEqual(scanRow, { vantage: 'inside', hosts_asked: 2 })
    for (const worker of [inside, outside]) stopWorker(worker)
  })

  it('a host whose key families differ between vantages (a family swap) is vantage_mismatch, saying which vantage saw which family', async () => {
    const fresh = await pgBackend!.fresh()
    cleanups.push(fresh.cleanup)
    const db = fresh.db
    const target = `[127.85.5.1]:${(swapRelay.address() as { port: number }).port}`
    const scan = startCli(['scan', '--distribute', '--db', db, '--no-dns', '--vantage', 'inside', '--vantage', 'outside', '--format', 'json', target], { timeoutMs: 180_000 })
    const inside = startCli(['worker', '--db', db, '--vantage', 'inside', '--poll', '0.5'], { timeoutMs: 180_000 })
    const outside = startCli(['worker', '--db', db, '--vantage', 'outside', '--poll', '0.5'], { timeoutMs: 180_000 })
    workers.push(inside, outside)
    interceptedWorker = inside
    const result = await scan.done
    assert.equal(result.code, 1, result.stderr + inside.output().stderr + outside.output().stderr)
    const findings = JSON.parse(result.stdout).findings as { kind: string; host: string; severity: string; message: string; fingerprint: string; keyType: string }[]
    const fingerprint = (file: string) => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).split(' ')[1]!
    const mismatches = findings.filter((f) => f.kind === 'vantage_mismatch').sort((a, b) => a.keyType.localeCompare(b.keyType))
    // Inside (judged) was served only the interceptor's RSA key; outside only the host's Ed25519 key.
    assert.deepEqual(
      mismatches.map((f) => [f.host, f.severity, f.keyType, f.fingerprint]),
      [
        [target, 'critical', 'ssh-ed25519', fingerprint(real.publicKeyFiles.ed25519!)],
        [target, 'critical', 'ssh-rsa', fingerprint(rsaInterceptor.publicKeyFiles.rsa!)],
      ],
      JSON.stringify(findings),
    )
    assert.match(mismatches[0]!.message, /served ssh-ed25519 \S+ to vantage outside .*but no ed25519 key to vantage inside.*which reached it in the same run and was served ssh-rsa/)
    assert.match(mismatches[1]!.message, /served ssh-rsa \S+ to vantage inside .*but no rsa key to vantage outside.*which reached it in the same run and was served ssh-ed25519/)
    for (const worker of [inside, outside]) stopWorker(worker)
  })
})
