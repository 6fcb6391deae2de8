import type { Pool, PoolClient } from 'pg'
import type PgBoss from 'pg-boss'
import { OperationalError, UserError } from '../domain/errors.js'
import type { Target } from '../domain/target.js'
import { createGuardedPool } from './postgres-pool.js'

/* The distributed run's side of the database (migration 0006) and its job queue, pg-boss 10 (schema
 * pgboss, which pg-boss makes and migrates itself). One pg-boss job per part (a shard as one vantage
 * scans it), in a queue per vantage asked, or the shared queue when the run asked for none:
 *   - a worker fetches a job, claims its part (attempts + 1), scans, and stages the observations and
 *     marks the part done in one transaction that holds the run's row lock: a part killed mid-way
 *     is not counted, a part scanned twice (its first worker was only slow) is stored once, and
 *     exactly one transaction sees the last part in and moves the run to judging;
 *   - a worker SIGKILLed mid-part leaves its job active: pg-boss's maintenance fails it once its
 *     expireInSeconds have passed and retries it, and the next claim counts the attempt;
 *   - a part that fails MAX_PART_ATTEMPTS times (an exception, or its worker lost each time) ends
 *     failed with its error, and so does its run;
 *   - judging holds a session advisory lock on the run, so one process judges it, and a judge that
 *     dies (its connection with it) leaves the run to the next process that looks. */

/** Shards of a run that asked for no vantage: any worker takes them. */
export const ANY_VANTAGE_QUEUE = 'hostkeys-shards'
/** Claims of a part before it is failed: 3 scans, then one claim that only records the failure. */
export const MAX_PART_ATTEMPTS = 3
/** Judging attempts before a run is failed (a judge that throws; one that dies is not counted). */
const MAX_JUDGE_ATTEMPTS = 3
/** Seconds before pg-boss retries a part whose scan threw. */
const RETRY_DELAY_SECONDS = 5
/** advisory lock class of a run being judged ('hkrj'); the run id is the second key. */
const JUDGE_LOCK_CLASS = 0x686b726a
/** advisory lock class taken while queues are made ('hkrq'). */
const QUEUE_LOCK_CLASS = 0x686b7271

/** A vantage name: it names a queue and appears in messages. */
const VANTAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

export function checkVantageName(name: string): string {
  if (!VANTAGE_NAME.test(name)) {
    throw new UserError(`vantage '${name.slice(0, 80)}' is not a vantage name: letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit`)
  }
  return name
}

/** The queue of the parts a run asked this vantage to scan ('' : any worker). */
export function vantageQueue(vantage: string): string {
  return vantage === '' ? ANY_VANTAGE_QUEUE : `${ANY_VANTAGE_QUEUE}-at-${vantage}`
}

export const RUN_STATUSES = ['queued', 'scanning', 'judging', 'done', 'failed', 'cancelled'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

export function isFinished(status: RunStatus): boolean {
  return status === 'done' || status === 'failed' || status === 'cancelled'
}

/** A run as `run status` shows it. */
export interface RunRow {
  readonly id: number
  readonly status: RunStatus
  readonly createdAt: Date
  readonly startedAt: Date | null
  readonly scannedAt: Date | null
  readonly finishedAt: Date | null
  readonly request: Record<string, unknown>
  readonly vantages: readonly string[]
  readonly targets: number
  readonly shards: number
  readonly parts: number
  readonly partsDone: number
  readonly partsFailed: number
  readonly hostsScanned: number
  readonly hostsReached: number
  /** While judging: observations recorded so far, and the findings raised among them (migration 0007). */
  readonly hostsJudged: number | null
  readonly findingsSoFar: number | null
  readonly scanId: number | null
  readonly report: unknown
  readonly error: string | null
}

/** What a part's job carries. */
export interface PartJob {
  readonly run: number
  readonly shard: number
  /** The vantage asked, '' for any. */
  readonly vantage: string
}

/** A fetched job: which queue, and pg-boss's bookkeeping of it. */
export interface FetchedPart {
  readonly queue: string
  readonly jobId: string
  readonly part: PartJob
}

/** A claimed part: its targets and the run's request; `attempt` counts this claim. */
export interface ClaimedPart {
  readonly attempt: number
  /** The error the last attempt recorded, if it threw. */
  readonly lastError: string | null
  /** The shard's targets, read when the attempt starts (a bad row fails the attempt, not the claim). */
  readonly targets: () => Target[]
  readonly request: Record<string, unknown>
}

/** A new run's shape; its shards follow as a stream. */
export interface NewRun {
  readonly request: Record<string, unknown>
  /** Vantages asked, first judged; empty for any worker. */
  readonly vantages: readonly string[]
  /** Seconds a part may stay taken before pg-boss gives it to another worker. */
  readonly partExpirySeconds: number
}

/** A run being judged by this process; release() lets another process take it. */
export interface JudgingLock {
  readonly runId: number
  release(): Promise<void>
}

type TargetRow = [host: string, address: string | 0, port: number, aliases: readonly string[], source: string]

function targetRow(t: Target): TargetRow {
  return [t.host, t.address === t.host ? 0 : t.address, t.port, t.aliases, t.source]
}

function isTargetRow(row: unknown): row is TargetRow {
  if (!Array.isArray(row) || row.length !== 5) return false
  const [host, address, port, aliases, source] = row as unknown[]
  return (
    typeof host === 'string' && (address === 0 || typeof address === 'string') && Number.isInteger(port) &&
    Array.isArray(aliases) && aliases.every((a) => typeof a === 'string') && typeof source === 'string'
  )
}

/** A shard's targets as createRun wrote them; anything else is said with the part it belongs to. */
function readTargets(rows: unknown, part: PartJob): Target[] {
  if (!Array.isArray(rows)) throw new OperationalError(`run ${part.run} shard ${part.shard}: its targets are not a list`)
  return rows.map((row, i) => {
    if (!isTargetRow(row)) throw new OperationalError(`run ${part.run} shard ${part.shard}: target ${i} is not [host, address, port, aliases, source]`)
    const [host, address, port, aliases, source] = row
    return { host, address: address === 0 ? host : address, port, aliases, source }
  })
}

interface RunRecord {
  id: number
  status: RunStatus
  created_at: Date
  started_at: Date | null
  scanned_at: Date | null
  finished_at: Date | null
  request: Record<string, unknown>
  vantages: string[]
  targets: number
  shards: number
  parts: number
  parts_done: number
  parts_failed: number
  hosts_scanned: number
  hosts_reached: number
  hosts_judged: number | null
  findings_so_far: number | null
  scan_id: number | null
  report: unknown
  error: string | null
}

function toRunRow(r: RunRecord): RunRow {
  return {
    id: r.id,
    status: r.status,
    createdAt: r.created_at,
    startedAt: r.started_at,
    scannedAt: r.scanned_at,
    finishedAt: r.finished_at,
    request: r.request,
    vantages: r.vantages,
    targets: r.targets,
    shards: r.shards,
    parts: r.parts,
    partsDone: r.parts_done,
    partsFailed: r.parts_failed,
    hostsScanned: r.hosts_scanned,
    hostsReached: r.hosts_reached,
    hostsJudged: r.hosts_judged ?? null,
    findingsSoFar: r.findings_so_far ?? null,
    scanId: r.scan_id,
    report: r.report,
    error: r.error,
  }
}

/** Shards inserted per statement while a run is enqueued. */
const SHARDS_PER_INSERT = 20

export interface RunQueueOptions {
  readonly url: string
  /** --db-timeout: statement and lock deadline. */
  readonly timeoutMs: number
  /** Run pg-boss's maintenance (expiring parts whose worker is gone): workers do, the enqueuer need not. */
  readonly supervise: boolean
  /** How often maintenance looks for expired parts. */
  readonly maintenanceSeconds?: number
  /** pg-boss's errors that reach no caller (maintenance on a lost connection): to log. */
  readonly onError?: (error: Error) => void
}

export class RunQueue {
  private constructor(
    private readonly pool: Pool,
    private readonly boss: PgBoss,
  ) {}

  /** Connects, makes sure pg-boss's schema is there, and starts its maintenance when asked. The
   * history's own tables (runs, run_shards, run_parts) come from hostkeys' migrations, which the
   * caller applies by opening the store first. */
  static async open(options: RunQueueOptions): Promise<RunQueue> {
    const pool = await createGuardedPool({ connectionString: options.url, timeoutMs: options.timeoutMs, max: 4 })
    const { default: Boss } = await import('pg-boss')
    const boss = new Boss({
      db: { executeSql: async (text: string, values: unknown[]) => pool.query(text, values) },
      supervise: options.supervise,
      schedule: false,
      migrate: true,
      ...(options.maintenanceSeconds ? { maintenanceIntervalSeconds: options.maintenanceSeconds } : {}),
    })
    // Maintenance runs on timers: an error there (the database restarting) reaches no caller.
    boss.on('error', (e: Error) => options.onError?.(e))
    try {
      await boss.start()
    } catch (e) {
      await pool.end()
      throw new OperationalError(`cannot start the job queue (pg-boss): ${(e as Error).message}`, { cause: e })
    }
    return new RunQueue(pool, boss)
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true, close: false }).catch(() => {})
    await this.pool.end()
  }

  /** Creates the queues these vantages' parts go to, if missing (two processes may race: both fine). */
  async ensureQueues(vantages: readonly string[]): Promise<void> {
    const missing: string[] = []
    for (const vantage of vantages) if (!(await this.boss.getQueue(vantageQueue(vantage)))) missing.push(vantageQueue(vantage))
    if (missing.length === 0) return
    // pg-boss makes a queue a partition of its job table (ATTACH PARTITION): two processes making
    // queues at once deadlock. One session lock makes hostkeys' processes take turns.
    const client = await this.pool.connect()
    try {
      await client.query(`SELECT pg_advisory_lock($1, 0)`, [QUEUE_LOCK_CLASS])
      for (const name of missing) {
        if (!(await this.boss.getQueue(name))) await this.boss.createQueue(name, { name, retryLimit: MAX_PART_ATTEMPTS, retryDelay: RETRY_DELAY_SECONDS })
      }
      await client.query(`SELECT pg_advisory_unlock($1, 0)`, [QUEUE_LOCK_CLASS])
      client.release()
    } catch (e) {
      client.release(e as Error) // its lock ends with the connection
      throw e
    }
  }

  /** Enqueues a run: its row, its shards and parts, and one job per part, in one transaction. */
  async createRun(run: NewRun, shards: AsyncIterable<readonly Target[]>): Promise<number> {
    const vantages = run.vantages.length > 0 ? run.vantages : ['']
    await this.ensureQueues(vantages)
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO runs (request, vantages, targets, shards, parts) VALUES ($1, $2, 0, 0, 0) RETURNING id`,
        [JSON.stringify(run.request), run.vantages],
      )
      const runId = rows[0]!.id
      const db = { executeSql: async (text: string, values: unknown[]) => client.query(text, values) }
      let shardCount = 0
      let targetCount = 0
      let batch: { shard: number; targets: string }[] = []
      const flush = async () => {
        if (batch.length === 0) return
        await client.query(`INSERT INTO run_shards (run_id, shard, targets) SELECT $1, s, t::jsonb FROM unnest($2::int[], $3::text[]) AS x(s, t)`, [
          runId,
          batch.map((b) => b.shard),
          batch.map((b) => b.targets),
        ])
        const parts = batch.flatMap((b) => vantages.map((vantage) => ({ shard: b.shard, vantage })))
        await client.query(`INSERT INTO run_parts (run_id, shard, vantage) SELECT $1, s, v FROM unnest($2::int[], $3::text[]) AS x(s, v)`, [
          runId,
          parts.map((p) => p.shard),
          parts.map((p) => p.vantage),
        ])
        // pg-boss writes the jobs in this transaction: a run is enqueued whole or not at all.
        await this.boss.insert(
          parts.map((p) => ({
            name: vantageQueue(p.vantage),
            data: { run: runId, shard: p.shard, vantage: p.vantage } satisfies PartJob,
            // One more than our attempts: the last claim only records that the part failed.
            retryLimit: MAX_PART_ATTEMPTS,
            retryDelay: RETRY_DELAY_SECONDS,
            expireInSeconds: run.partExpirySeconds,
          })),
          { db },
        )
        batch = []
      }
      for await (const shard of shards) {
        batch.push({ shard: shardCount++, targets: JSON.stringify(shard.map(targetRow)) })
        targetCount += shard.length
        if (batch.length >= SHARDS_PER_INSERT) await flush()
      }
      await flush()
      await client.query(`UPDATE runs SET targets = $2, shards = $3, parts = $4 WHERE id = $1`, [runId, targetCount, shardCount, shardCount * vantages.length])
      return runId
    })
  }

  /** The next job of the first of these queues that has one, or null. */
  async fetchPart(queues: readonly string[]): Promise<FetchedPart | null> {
    for (const queue of queues) {
      const jobs = await this.boss.fetch<PartJob>(queue)
      const job = jobs?.[0]
      if (job) return { queue, jobId: job.id, part: job.data }
    }
    return null
  }

  async completeJob(job: FetchedPart): Promise<void> {
    await this.boss.complete(job.queue, job.jobId)
  }

  /** Hands the job back to pg-boss as failed: it retries it after its delay. */
  async failJob(job: FetchedPart, message: string): Promise<void> {
    await this.boss.fail(job.queue, job.jobId, { message })
  }

  /** Claims a queued part of a live run (counting the attempt), or null when there is nothing to do:
   * the part is in already, failed, or its run is finished or gone. */
  async claimPart(part: PartJob, worker: string): Promise<ClaimedPart | null> {
    const { rows } = await this.pool.query<{ attempts: number; error: string | null; targets: unknown; request: Record<string, unknown> }>(
      `WITH part AS (
         UPDATE run_parts p SET attempts = p.attempts + 1, worker = $4
         FROM runs r
         WHERE p.run_id = $1 AND p.shard = $2 AND p.vantage = $3 AND p.status = 'queued'
           AND r.id = p.run_id AND r.status IN ('queued', 'scanning')
         RETURNING p.attempts, p.error, r.request
       )
       SELECT part.attempts, part.error, part.request, s.targets FROM part JOIN run_shards s ON s.run_id = $1 AND s.shard = $2`,
      [part.run, part.shard, part.vantage, worker],
    )
    const row = rows[0]
    if (!row) return null
    await this.pool.query(`UPDATE runs SET status = 'scanning', started_at = now() WHERE id = $1 AND status = 'queued'`, [part.run])
    return { attempt: row.attempts, lastError: row.error, targets: () => readTargets(row.targets, part), request: row.request }
  }

  /**
   * Stages a part's observations and marks it done, under the run's row lock; says whether this was
   * the last part in (the run is now judging), whether it was in already, or its run is over.
   */
  async stagePart(
    part: PartJob,
    staged: { observations: Buffer; hosts: number; reached: number; scannedBy: string },
  ): Promise<'judging' | 'scanning' | 'already-in' | 'run-over'> {
    return this.transaction(async (client) => {
      const run = await client.query<{ status: RunStatus }>(`SELECT status FROM runs WHERE id = $1 FOR UPDATE`, [part.run])
      const status = run.rows[0]?.status
      if (status !== 'queued' && status !== 'scanning') return 'run-over'
      const done = await client.query(
        `UPDATE run_parts SET status = 'done', observations = $4, hosts = $5, reached = $6, scanned_by = $7, error = NULL
         WHERE run_id = $1 AND shard = $2 AND vantage = $3 AND status = 'queued'`,
        [part.run, part.shard, part.vantage, staged.observations, staged.hosts, staged.reached, staged.scannedBy],
      )
      if (done.rowCount !== 1) return 'already-in'
      const { rows } = await client.query<{ status: 'judging' | 'scanning' }>(
        `UPDATE runs SET parts_done = parts_done + 1, hosts_scanned = hosts_scanned + $2, hosts_reached = hosts_reached + $3,
           status = CASE WHEN parts_done + 1 = parts THEN 'judging' ELSE 'scanning' END,
           started_at = COALESCE(started_at, now()),
           scanned_at = CASE WHEN parts_done + 1 = parts THEN now() END
         WHERE id = $1 RETURNING status`,
        [part.run, staged.hosts, staged.reached],
      )
      return rows[0]!.status
    })
  }

  /** Keeps the error of an attempt that threw, for the part's last word if it keeps failing. */
  async notePartError(part: PartJob, error: string): Promise<void> {
    await this.pool.query(`UPDATE run_parts SET error = $4 WHERE run_id = $1 AND shard = $2 AND vantage = $3 AND status = 'queued'`, [
      part.run,
      part.shard,
      part.vantage,
      error,
    ])
  }

  /** Fails a part for good, and its run with it (a run missing a part cannot be judged as a whole). */
  async failPart(part: PartJob, error: string): Promise<void> {
    const where = `shard ${part.shard}${part.vantage ? ` (vantage ${part.vantage})` : ''}`
    await this.transaction(async (client) => {
      await client.query(`SELECT 1 FROM runs WHERE id = $1 FOR UPDATE`, [part.run])
      await client.query(`UPDATE run_parts SET status = 'failed', error = $4 WHERE run_id = $1 AND shard = $2 AND vantage = $3`, [
        part.run,
        part.shard,
        part.vantage,
        error,
      ])
      const failed = await client.query(
        `UPDATE runs SET status = 'failed', parts_failed = parts_failed + 1, error = $2, finished_at = now()
         WHERE id = $1 AND status IN ('queued', 'scanning')`,
        [part.run, `${where} failed: ${error}`],
      )
      // Its other parts will not be judged: drop what they staged, and what is left to scan.
      if (failed.rowCount === 1) await client.query(`DELETE FROM run_shards WHERE run_id = $1`, [part.run])
    })
  }

  async getRun(id: number): Promise<RunRow | null> {
    const { rows } = await this.pool.query<RunRecord>(`SELECT * FROM runs WHERE id = $1`, [id])
    return rows[0] ? toRunRow(rows[0]) : null
  }

  /** Cancels a run that is not being judged or finished; returns its status after. */
  async cancelRun(id: number): Promise<RunStatus | null> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ status: RunStatus }>(`SELECT status FROM runs WHERE id = $1 FOR UPDATE`, [id])
      const status = rows[0]?.status
      if (status === undefined) return null
      if (status !== 'queued' && status !== 'scanning') return status
      await client.query(`UPDATE runs SET status = 'cancelled', finished_at = now() WHERE id = $1`, [id])
      // Workers that fetch its jobs find no part to claim and complete them.
      await client.query(`DELETE FROM run_shards WHERE run_id = $1`, [id])
      return 'cancelled'
    })
  }

  /** Runs waiting for a judge (none may hold them: a judge that died released its lock with its connection). */
  async runsToJudge(): Promise<number[]> {
    const { rows } = await this.pool.query<{ id: number }>(`SELECT id FROM runs WHERE status = 'judging' ORDER BY id`)
    return rows.map((r) => r.id)
  }

  /** Takes the judging of a run, or null when another process has it or it is no longer judging. */
  async takeJudging(runId: number): Promise<JudgingLock | null> {
    const client = await this.pool.connect()
    let held = false
    try {
      const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock($1, $2) AS locked`, [JUDGE_LOCK_CLASS, runId])
      held = rows[0]!.locked
      if (held) {
        const run = await client.query<{ status: RunStatus }>(`SELECT status FROM runs WHERE id = $1`, [runId])
        if (run.rows[0]?.status === 'judging') {
          return {
            runId,
            release: async () => {
              try {
                await client.query(`SELECT pg_advisory_unlock($1, $2)`, [JUDGE_LOCK_CLASS, runId])
                client.release()
              } catch (e) {
                client.release(e as Error) // a broken connection: its lock went with it
              }
            },
          }
        }
        await client.query(`SELECT pg_advisory_unlock($1, $2)`, [JUDGE_LOCK_CLASS, runId])
      }
      client.release()
      return null
    } catch (e) {
      client.release(e as Error)
      throw e
    }
  }

  /** The scan a judge of this run already recorded (it died before marking the run done), if any. */
  async recordedScan(runId: number): Promise<number | null> {
    const { rows } = await this.pool.query<{ id: number }>(`SELECT id FROM scans WHERE request @> jsonb_build_object('run', $1::int) ORDER BY id LIMIT 1`, [runId])
    return rows[0]?.id ?? null
  }

  /** The vantages that scanned a run's parts, sorted. */
  async scannedBy(runId: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ v: string }>(`SELECT DISTINCT scanned_by AS v FROM run_parts WHERE run_id = $1 AND scanned_by IS NOT NULL ORDER BY 1`, [runId])
    return rows.map((r) => r.v)
  }

  /** One shard's staged observations, by vantage asked. */
  async stagedShard(runId: number, shard: number): Promise<{ vantage: string; scannedBy: string; observations: Buffer }[]> {
    const { rows } = await this.pool.query<{ vantage: string; scanned_by: string; observations: Buffer }>(
      `SELECT vantage, scanned_by, observations FROM run_parts WHERE run_id = $1 AND shard = $2 AND status = 'done'`,
      [runId, shard],
    )
    return rows.map((r) => ({ vantage: r.vantage, scannedBy: r.scanned_by, observations: r.observations }))
  }

  /** The run is judged: its scan and report kept, its staged observations and targets dropped. */
  async finishRun(runId: number, scanId: number, report: unknown): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(`UPDATE runs SET status = 'done', scan_id = $2, report = $3, finished_at = now() WHERE id = $1 AND status = 'judging'`, [
        runId,
        scanId,
        JSON.stringify(report),
      ])
      await client.query(`DELETE FROM run_shards WHERE run_id = $1`, [runId])
    })
  }

  /** How far the judging has got (on the pool, outside the judge's recording transaction). */
  async noteJudging(runId: number, progress: { hosts: number; findings: number }): Promise<void> {
    await this.pool.query(`UPDATE runs SET hosts_judged = $2, findings_so_far = $3 WHERE id = $1 AND status = 'judging'`, [runId, progress.hosts, progress.findings])
  }

  /** Fails a run whose judging cannot be completed (its lost judge's report cannot be rebuilt): the
   * scan it recorded, if any, stays with it, and the error says why. */
  async failJudging(runId: number, scanId: number | null, error: string): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(`UPDATE runs SET status = 'failed', scan_id = $2, error = $3, finished_at = now() WHERE id = $1 AND status = 'judging'`, [
        runId,
        scanId,
        error,
      ])
      await client.query(`DELETE FROM run_shards WHERE run_id = $1`, [runId])
    })
  }

  /** Counts a judging attempt that threw; after MAX_JUDGE_ATTEMPTS the run fails with the error. */
  async judgingFailed(runId: number, error: string): Promise<void> {
    await this.transaction(async (client) => {
      const { rows } = await client.query<{ attempts: number }>(
        `UPDATE runs SET judge_attempts = judge_attempts + 1 WHERE id = $1 AND status = 'judging' RETURNING judge_attempts AS attempts`,
        [runId],
      )
      if ((rows[0]?.attempts ?? 0) < MAX_JUDGE_ATTEMPTS) return
      await client.query(`UPDATE runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`, [runId, `judging failed: ${error}`])
      await client.query(`DELETE FROM run_shards WHERE run_id = $1`, [runId])
    })
  }

  private async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      client.release()
      return result
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      client.release(e as Error)
      throw e
    }
  }
}
