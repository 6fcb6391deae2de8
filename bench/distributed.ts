import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { runCli, startCli, type RunningCli } from '../test/support/cli.js'
import { adminQuery } from '../test/support/test-store.js'
import { median } from './measure.js'
import { FLEET_NET, fleetEndpoint, REFUSING_ENDPOINT } from './ssh-responder.js'

/* Distributed scans at scale (issue 14), a benchmark, not a test. A simulated fleet
 * (bench/ssh-responder.ts: Ed25519 keys served from a KEX_ECDH_REPLY on many loopback addresses and
 * ports of 127.86.0.0/16, or BENCH_FLEET_NET's /16) in processes of its own, so the workers' figures are their own; a fresh
 * PostgreSQL database per run on the local server (HOSTKEYS_BENCH_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/postgres; created and dropped); the real executable as
 * `scan --distribute --detach`, `worker` and `run wait`, as a user runs them. Measured:
 *   - 1, 2 and 4 worker processes on one inventory: targets/s per worker, the database's write rate
 *     while scanning (this database's tuples and commits, pg_stat_database), peak RSS per worker
 *     (VmHWM; the worker that judged is named: it also holds the recording);
 *   - queue overhead per shard: a run of one-target shards whose target refuses at once;
 *   - the growth curve: runs of increasing size end to end, a line fitted through them, and the
 *     1,000,000-target run it predicts;
 *   - an unchanged second night on the largest run's history: the rows it adds.
 * Sizes: BENCH_DIST_TARGETS (10000, the 1/2/4 comparison), BENCH_DIST_SIZES (10000,50000,100000),
 * BENCH_DIST_WORKERS (1,2,4), BENCH_DIST_GROWTH_WORKERS (2), BENCH_DIST_ROUNDS (1);
 * BENCH_DIST_WORKER_NODE_OPTIONS passes Node flags to the workers. */

const ROOT = path.resolve(import.meta.dirname, '..')
const RESPONDER = path.join(ROOT, 'bench/ssh-responder.ts')
/** Listeners per responder process: each is a descriptor, and RLIMIT_NOFILE here is 20,000 (hard),
 * less the connections in flight. 100,000 targets take 6 processes, idle but for their connections. */
const LISTENERS_PER_RESPONDER = 18_000
const SHARD_SIZE = 1_000
const CLOCK_TICKS = 100

export interface DistributedBenchOptions {
  /** Targets of the 1/2/4-worker comparison. */
  readonly targets: number
  readonly workerCounts: readonly number[]
  /** Run sizes for the growth curve; the largest also gets its second night. */
  readonly sizes: readonly number[]
  readonly growthWorkers: number
  readonly rounds: number
  readonly log: (line: string) => void
}

interface WorkerFigures {
  readonly peakRssMb: number
  readonly cpuSeconds: number
  readonly shards: number
  readonly judged: boolean
}

interface RunFigures {
  readonly targets: number
  readonly workers: number
  readonly enqueueSeconds: number
  /** First claim to the last part in. */
  readonly scanSeconds: number
  /** Last part in to the run done (recordScan of the whole run, by one worker). */
  readonly judgeSeconds: number
  /** `scan --distribute --detach` started to `run wait` returned. */
  readonly endToEndSeconds: number
  readonly reached: number
  readonly findings: Record<string, number>
  readonly tuplesPerSecond: number
  readonly commitsPerSecond: number
  readonly judgeTuplesPerSecond: number
  readonly stagedBytesPerTarget: number
  readonly workerFigures: readonly WorkerFigures[]
}

function readProc(pid: number): { hwmMb: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
  // /proc/PID/stat: fields after the command's closing parenthesis; utime and stime are 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { hwmMb: hwm, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS }
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

interface DbCounters {
  readonly tuples: number
  readonly commits: number
}

async function dbCounters(client: pg.Client, name: string): Promise<DbCounters> {
  const { rows } = await client.query<{ tuples: string; commits: string }>(
    `SELECT tup_inserted + tup_updated + tup_deleted AS tuples, xact_commit AS commits FROM pg_stat_database WHERE datname = $1`,
    [name],
  )
  return { tuples: Number(rows[0]!.tuples), commits: Number(rows[0]!.commits) }
}

/** A scratch database on the local server, dropped by the returned function. */
async function scratchDatabase(adminUrl: string, tag: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `hostkeys_bench_dist_${process.pid}_${tag}`
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return { url: url.toString(), name, drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
}

/** The simulated fleet's first `count` targets, in responder processes of their own. */
async function startFleet(count: number): Promise<{ processes: number; stop: () => void }> {
  const children: ChildProcess[] = []
  // At least two, so both cores can answer.
  const processes = Math.max(2, Math.ceil(count / LISTENERS_PER_RESPONDER))
  const per = Math.ceil(count / processes)
  const ready: Promise<void>[] = []
  for (let first = 0; first < count; first += per) {
    const n = Math.min(per, count - first)
    const child = spawn(process.execPath, ['--import', 'tsx', RESPONDER, String(first), String(n)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    ready.push(
      new Promise((resolve, reject) => {
        let err = ''
        child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))
        child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve())
        child.on('exit', (code) => reject(new Error(`responder exited ${code}: ${err.slice(0, 1000)}`)))
      }),
    )
  }
  await Promise.all(ready)
  return { processes: children.length, stop: () => children.forEach((c) => c.kill('SIGTERM')) }
}

function writeInventory(dir: string, count: number, endpoint: (i: number) => { address: string; port: number } = fleetEndpoint): string {
  const file = path.join(dir, `fleet-${count}.txt`)
  const lines: string[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const { address, port } = endpoint(i)
    lines[i] = `[${address}]:${port}`
  }
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

interface StartedWorker {
  readonly cli: RunningCli
  readonly ready: Promise<void>
  /** Shards this worker reported scanned, and whether it judged a run. */
  readonly shards: () => number
  readonly judged: () => boolean
}

function startWorker(db: string): StartedWorker {
  // BENCH_DIST_WORKER_NODE_OPTIONS: Node flags for the workers only (a heap cap for the judge, say).
  const nodeOptions = process.env['BENCH_DIST_WORKER_NODE_OPTIONS']
  const cli = startCli(['worker', '--db', db, '--vantage', 'bench', '--poll', '0.5'], {
    timeoutMs: 3 * 3600_000,
    ...(nodeOptions ? { env: { NODE_OPTIONS: nodeOptions } } : {}),
  })
  let shards = 0
  let judged = false
  let resolveReady: () => void
  const ready = new Promise<void>((resolve) => (resolveReady = resolve))
  let partial = ''
  cli.child.stderr.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop()!
    for (const line of lines) {
      if (line.includes('waiting for shards')) resolveReady()
      if (/ shard \d+: \d+ host\(s\)/.test(line)) shards++
      if (/ judged: /.test(line)) judged = true
    }
  })
  return { cli, ready, shards: () => shards, judged: () => judged }
}

async function stopWorkers(workers: readonly StartedWorker[]): Promise<WorkerFigures[]> {
  const figures = workers.map((w) => {
    const proc = readProc(w.cli.child.pid!)
    return { peakRssMb: proc.hwmMb, cpuSeconds: proc.cpuSeconds, shards: w.shards(), judged: w.judged() }
  })
  for (const w of workers) w.cli.child.kill('SIGTERM')
  await Promise.all(workers.map((w) => w.cli.done))
  return figures
}

/** One distributed run of `inventory` over `workerCount` fresh workers, on a database given or made. */
async function measureRun(
  inventory: string,
  targets: number,
  workerCount: number,
  db: { url: string; name: string },
  log: (line: string) => void,
): Promise<RunFigures> {
  const workers = Array.from({ length: workerCount }, () => startWorker(db.url))
  try {
    await Promise.all(workers.map((w) => w.ready))
    return await withClient(db.url, async (client) => {
      const started = performance.now()
      const before = await dbCounters(client, db.name)
      const detached = await runCli(['scan', '--distribute', '--detach', '--shard-size', String(SHARD_SIZE), '--db', db.url, '-T', '10', '-f', inventory], {
        timeoutMs: 3600_000,
      })
      if (detached.code !== 0) throw new Error(`scan --distribute exited ${detached.code}: ${detached.stderr}`)
      const enqueueSeconds = (performance.now() - started) / 1000
      const runId = Number(detached.stdout.trim())
      // Sample while it runs: the staged bytes (dropped once judged) and the counters when scanning ends.
      let stagedMax = { bytes: 0, parts: 0 }
      let atJudging: DbCounters | null = null
      let sampling = true
      const sampler = (async () => {
        while (sampling) {
          const { rows } = await client.query<{ status: string; bytes: string | null; parts: string }>(
            `SELECT r.status, (SELECT sum(octet_length(observations)) FROM run_parts WHERE run_id = r.id) AS bytes, r.parts_done AS parts FROM runs r WHERE id = $1`,
            [runId],
          )
          const row = rows[0]!
          if (row.bytes !== null && Number(row.parts) > stagedMax.parts) stagedMax = { bytes: Number(row.bytes), parts: Number(row.parts) }
          if (atJudging === null && row.status !== 'queued' && row.status !== 'scanning') atJudging = await dbCounters(client, db.name)
          await new Promise((r) => setTimeout(r, 500))
        }
      })()
      const waited = await runCli(['run', 'wait', String(runId), '--db', db.url, '--format', 'json', '--fail-on', 'never'], { timeoutMs: 3 * 3600_000 })
      const endToEndSeconds = (performance.now() - started) / 1000
      sampling = false
      await sampler
      if (waited.code !== 0) throw new Error(`run wait exited ${waited.code}: ${waited.stderr}`)
      // pg_stat_database is flushed by each backend at most once a second.
      await new Promise((r) => setTimeout(r, 1_500))
      const after = await dbCounters(client, db.name)
      const { rows } = await client.query<{ started_at: Date; scanned_at: Date; finished_at: Date; hosts_reached: number; targets: number }>(
        `SELECT started_at, scanned_at, finished_at, hosts_reached, targets FROM runs WHERE id = $1`,
        [runId],
      )
      const run = rows[0]!
      if (run.targets !== targets) throw new Error(`run ${runId} has ${run.targets} targets, expected ${targets}`)
      const report = JSON.parse(waited.stdout) as { findings: { kind: string }[] }
      const findings: Record<string, number> = {}
      for (const f of report.findings) findings[f.kind] = (findings[f.kind] ?? 0) + 1
      const scanSeconds = (run.scanned_at.getTime() - run.started_at.getTime()) / 1000
      const judgeSeconds = (run.finished_at.getTime() - run.scanned_at.getTime()) / 1000
      const judging = atJudging ?? after
      const workerFigures = await stopWorkers(workers)
      const figures: RunFigures = {
        targets,
        workers: workerCount,
        enqueueSeconds,
        scanSeconds,
        judgeSeconds,
        endToEndSeconds,
        reached: run.hosts_reached,
        findings,
        tuplesPerSecond: (judging.tuples - before.tuples) / scanSeconds,
        commitsPerSecond: (judging.commits - before.commits) / scanSeconds,
        judgeTuplesPerSecond: (after.tuples - judging.tuples) / Math.max(judgeSeconds, 0.001),
        stagedBytesPerTarget: stagedMax.parts > 0 ? stagedMax.bytes / (stagedMax.parts * SHARD_SIZE) : 0,
        workerFigures,
      }
      log(describeRun(figures))
      return figures
    })
  } finally {
    for (const w of workers) if (w.cli.child.exitCode === null) w.cli.child.kill('SIGKILL')
  }
}

function describeRun(r: RunFigures): string {
  const perWorker = r.targets / r.scanSeconds / r.workers
  const rss = r.workerFigures.map((w) => `${w.peakRssMb.toFixed(0)}${w.judged ? ' (judged)' : ''}`).join(', ')
  const cpu = r.workerFigures.reduce((s, w) => s + w.cpuSeconds, 0)
  return (
    `${r.targets} targets, ${r.workers} worker(s): end to end ${r.endToEndSeconds.toFixed(1)} s ` +
    `(enqueue ${r.enqueueSeconds.toFixed(1)} s, scan ${r.scanSeconds.toFixed(1)} s, judge ${r.judgeSeconds.toFixed(1)} s); ` +
    `${(r.targets / r.scanSeconds).toFixed(0)} targets/s, ${perWorker.toFixed(0)} per worker; ` +
    `worker CPU ${((cpu / r.targets) * 1000).toFixed(2)} ms/target; reached ${r.reached}; ` +
    `database while scanning ${r.tuplesPerSecond.toFixed(0)} tuples/s, ${r.commitsPerSecond.toFixed(0)} commits/s, ` +
    `staged ${r.stagedBytesPerTarget.toFixed(0)} B/target; while judging ${r.judgeTuplesPerSecond.toFixed(0)} tuples/s; ` +
    `peak RSS per worker ${rss} MB; shards per worker ${r.workerFigures.map((w) => w.shards).join('/')}; ` +
    `findings ${JSON.stringify(r.findings)}`
  )
}

/** Row counts of the history's tables and pg-boss's job table. */
async function rowCounts(url: string): Promise<Record<string, number>> {
  return withClient(url, async (client) => {
    const { rows: tables } = await client.query<{ name: string }>(
      // pg-boss keeps a queue's jobs in a partition of pgboss.job: count the parent only.
      `SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ('public', 'pgboss') AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    )
    const counts: Record<string, number> = {}
    for (const { name } of tables) {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)
      if (Number(rows[0]!.n) > 0) counts[name] = Number(rows[0]!.n)
    }
    return counts
  })
}

/** Least squares a + b·n through the points. */
function fitLine(points: readonly { n: number; seconds: number }[]): { a: number; b: number } {
  const k = points.length
  const mn = points.reduce((s, p) => s + p.n, 0) / k
  const ms = points.reduce((s, p) => s + p.seconds, 0) / k
  const b = points.reduce((s, p) => s + (p.n - mn) * (p.seconds - ms), 0) / Math.max(points.reduce((s, p) => s + (p.n - mn) ** 2, 0), 1)
  return { a: ms - b * mn, b }
}

export async function runDistributedBench(options: DistributedBenchOptions): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist/bundle/run-process.js'))) throw new Error('the distributed benchmark runs the built CLI: npm run build first')
  const { log } = options
  const adminUrl = process.env['HOSTKEYS_BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const largest = Math.max(options.targets, ...options.sizes)
  if (options.sizes.length === 1) log('one run size: no growth curve (BENCH_DIST_SIZES needs two or more)')
  const dir = mkdtempSync(path.join(tmpdir(), 'hostkeys-bench-distributed-'))
  const fleetStarted = performance.now()
  const fleet = await startFleet(largest)
  log(`simulated fleet: ${largest} targets on ${FLEET_NET}.0.0/16 in ${fleet.processes} responder processes, up in ${((performance.now() - fleetStarted) / 1000).toFixed(1)} s; load ${loadAverage()}`)
  const drops: (() => Promise<void>)[] = []
  let tag = 0
  const fresh = async () => {
    const db = await scratchDatabase(adminUrl, String(tag++))
    drops.push(db.drop)
    return db
  }
  try {
    // A single-process scan of the same inventory, as the reference.
    const inventory = writeInventory(dir, options.targets)
    {
      const db = await fresh()
      const started = performance.now()
      const single = await runCli(['scan', '-q', '--no-dns', '--fail-on', 'never', '-T', '10', '--db', db.url, '-f', inventory], { timeoutMs: 3600_000 })
      if (single.code !== 0) throw new Error(`scan exited ${single.code}: ${single.stderr}`)
      const seconds = (performance.now() - started) / 1000
      log(`single-process scan (hostkeys scan, PostgreSQL) of ${options.targets} targets: ${seconds.toFixed(1)} s, ${(options.targets / seconds).toFixed(0)} targets/s end to end`)
      await db.drop()
    }

    // 1, 2, 4 workers on one inventory.
    const byWorkers = new Map<number, RunFigures[]>()
    for (let round = 0; round < options.rounds; round++) {
      for (const workers of options.workerCounts) {
        const db = await fresh()
        const figures = await measureRun(inventory, options.targets, workers, db, log)
        byWorkers.set(workers, [...(byWorkers.get(workers) ?? []), figures])
        await db.drop()
      }
    }
    // BENCH_DIST_WORKERS= skips the comparison (the growth curve alone).
    const base = byWorkers.size === 0 ? 0 : median(byWorkers.get(options.workerCounts[0]!)!.map((r) => r.targets / r.scanSeconds))
    for (const [workers, runs] of byWorkers) {
      const rate = median(runs.map((r) => r.targets / r.scanSeconds))
      const rss = Math.max(...runs.flatMap((r) => r.workerFigures.map((w) => w.peakRssMb)))
      log(
        `${workers} worker(s), median of ${runs.length}: ${rate.toFixed(0)} targets/s scanning (${(rate / workers).toFixed(0)} per worker, ` +
          `${(rate / base).toFixed(2)}x ${options.workerCounts[0]} worker(s)), end to end ${median(runs.map((r) => r.endToEndSeconds)).toFixed(1)} s, ` +
          `database ${median(runs.map((r) => r.tuplesPerSecond)).toFixed(0)} tuples/s while scanning, peak RSS ${rss.toFixed(0)} MB`,
      )
    }

    // Queue overhead: one-target shards whose target refuses at once, one worker.
    {
      const db = await fresh()
      const shards = 200
      const refusing = writeInventory(dir, shards, (i) => ({ address: REFUSING_ENDPOINT.address, port: REFUSING_ENDPOINT.port + i }))
      const worker = startWorker(db.url)
      await worker.ready
      const detached = await runCli(['scan', '--distribute', '--detach', '--shard-size', '1', '--db', db.url, '-f', refusing])
      if (detached.code !== 0) throw new Error(`scan --distribute exited ${detached.code}: ${detached.stderr}`)
      const runId = detached.stdout.trim()
      const waited = await runCli(['run', 'wait', runId, '--db', db.url, '--fail-on', 'never', '-q'], { timeoutMs: 3600_000 })
      if (waited.code !== 0) throw new Error(`run wait exited ${waited.code}: ${waited.stderr}`)
      const { rows } = await withClient(db.url, (c) => c.query<{ s: number }>(`SELECT extract(epoch FROM scanned_at - started_at)::float AS s FROM runs WHERE id = $1`, [Number(runId)]))
      await stopWorkers([worker])
      log(`queue overhead: ${shards} one-target shards (refused at once), 1 worker: ${((rows[0]!.s / shards) * 1000).toFixed(1)} ms per shard (fetch, claim, scan, stage, complete)`)
      await db.drop()
    }

    // The growth curve, end to end; the largest run then gets an unchanged second night.
    const points: { n: number; seconds: number }[] = []
    let largestDb: { url: string; name: string } | null = null
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      const db = await fresh()
      const figures = await measureRun(writeInventory(dir, size), size, options.growthWorkers, db, log)
      points.push({ n: size, seconds: figures.endToEndSeconds })
      if (size === Math.max(...options.sizes)) largestDb = db
      else await db.drop()
    }
    const line = fitLine(points)
    const perTarget = points.map((p) => `${p.n}: ${((p.seconds / p.n) * 1000).toFixed(2)} ms`).join(', ')
    const million = line.a + line.b * 1_000_000
    if (points.length >= 2) log(
      `growth, ${options.growthWorkers} worker(s), end to end: ${points.map((p) => `${p.n} in ${p.seconds.toFixed(1)} s`).join(', ')}; ` +
        `per target ${perTarget}; fitted ${line.a.toFixed(1)} s + ${(line.b * 1000).toFixed(3)} ms/target -> 1,000,000 targets in ~${(million / 60).toFixed(0)} min ` +
        `(${million < 3600 ? 'under' : 'over'} an hour)`,
    )
    if (largestDb) {
      const size = Math.max(...options.sizes)
      const before = await rowCounts(largestDb.url)
      const second = await measureRun(writeInventory(dir, size), size, options.growthWorkers, largestDb, log)
      const after = await rowCounts(largestDb.url)
      const grown = Object.keys({ ...before, ...after })
        .map((t) => [t, (after[t] ?? 0) - (before[t] ?? 0)] as const)
        .filter(([, d]) => d !== 0)
      log(
        `second night, unchanged, ${size} targets: ${second.endToEndSeconds.toFixed(1)} s end to end, findings ${JSON.stringify(second.findings)}; ` +
          `rows added: ${grown.map(([t, d]) => `${t} ${d > 0 ? '+' : ''}${d}`).join(', ') || 'none'}`,
      )
    }
  } finally {
    fleet.stop()
    for (const drop of drops) await drop().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
}

function numbersFromEnv(name: string, fallback: readonly number[]): number[] {
  const value = process.env[name]
  // Empty: none (BENCH_DIST_SIZES= skips the growth curve and the second night).
  return value === undefined ? [...fallback] : value.split(',').filter((v) => v.trim() !== '').map(Number)
}

export function distributedBenchOptions(log: (line: string) => void): DistributedBenchOptions {
  return {
    targets: numbersFromEnv('BENCH_DIST_TARGETS', [10_000])[0]!,
    workerCounts: numbersFromEnv('BENCH_DIST_WORKERS', [1, 2, 4]),
    sizes: numbersFromEnv('BENCH_DIST_SIZES', [10_000, 50_000, 100_000]),
    growthWorkers: numbersFromEnv('BENCH_DIST_GROWTH_WORKERS', [2])[0]!,
    rounds: numbersFromEnv('BENCH_DIST_ROUNDS', [1])[0]!,
    log,
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runDistributedBench(distributedBenchOptions((line) => console.log(`${line}  [load ${loadAverage()}]`)))
}
