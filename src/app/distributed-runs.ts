import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { OperationalError, UserError } from '../domain/errors.js'
import type { Target } from '../domain/target.js'
import { openStore } from '../store/open-store.js'
import { resolveDatabaseLocation } from '../store/database-location.js'
import { checkVantageName, isFinished, RunQueue, type RunRow } from '../store/run-queue.js'
import type { Store } from '../store/store.js'
import { compareFindings } from '../domain/finding.js'
import { judgeRun, type RunReport } from './judge-run.js'
import { retryWhileDisconnected } from './reconnect.js'
import { readPolicySource } from './read-policy.js'
import { scanInventory } from './run-scan.js'
import type { ScanOutcome } from './scan-fleet.js'
import type { ScanSettings } from './scan-settings.js'

/* Distributed runs (issue 14): `scan --distribute` enqueues a run, `run status|wait|cancel` look at
 * one, and the waiting side takes over a judging that its worker abandoned. Workers are
 * app/scan-worker.ts. PostgreSQL only: the queue lives in the history's own database. */

export const DEFAULT_SHARD_SIZE = 1_000

/** What `--distribute` adds to a scan's settings. */
export interface DistributeSettings {
  /** `--shard-size`: targets per shard. */
  readonly shardSize: number
  /** `--vantage`, repeated: vantages every host is scanned from; the first is judged. Empty: any worker. */
  readonly vantages: readonly string[]
  /** `--shard-expiry` in seconds; null to derive it from the shard's worst case. */
  readonly partExpirySeconds: number | null
}

/** Where the queue is: the history's PostgreSQL URL, or a UserError on the embedded store. */
export function runDatabase(db: string | null, env: NodeJS.ProcessEnv, what: string): string {
  const location = resolveDatabaseLocation(db, env)
  if (location.kind !== 'postgres') {
    throw new UserError(`${what} needs a PostgreSQL history (--db postgres://… or HOSTKEYS_DB): workers on other machines share its job queue; the embedded store is one process's`)
  }
  return location.url
}

/**
 * How long a part may stay taken before pg-boss gives it to another worker: a shard of hosts that
 * all time out, every family on its own connection, at a worker's connections in flight (at least
 * 32 assumed), twice over, plus a minute. Generous: it is how long a killed worker's shard waits.
 */
export function partExpirySeconds(shardSize: number, families: number, timeoutMs: number): number {
  const worst = Math.ceil((shardSize * families * (timeoutMs / 1000) * 2) / 32)
  return Math.min(worst + 60, 23 * 3600)
}

/** Targets in shards of `size`, in inventory order. */
async function* shardsOf(targets: AsyncIterable<Target>, size: number): AsyncGenerator<Target[]> {
  let shard: Target[] = []
  for await (const target of targets) {
    shard.push(target)
    if (shard.length === size) {
      yield shard
      shard = []
    }
  }
  if (shard.length > 0) yield shard
}

/** A database error from the queue (a lost connection, a deadlock) is operational, said with what was
 * being done; our own errors pass as they are. */
export async function queueWork<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (e) {
    if (e instanceof UserError || e instanceof OperationalError) throw e
    throw new OperationalError(`${what}: ${(e as Error).message}`, { cause: e })
  }
}

/** Opens the history (applying hostkeys' migrations, runs included) and the queue on it. */
export async function openRunQueue(
  db: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  options: { supervise?: boolean; maintenanceSeconds?: number; onError?: (e: Error) => void } = {},
): Promise<{ store: Store; queue: RunQueue }> {
  const store = await openStore({ db, env, timeoutMs, createIfMissing: false, bulk: true })
  try {
    const queue = await queueWork('opening the job queue', () => RunQueue.open({ url: db, timeoutMs, supervise: options.supervise ?? false, ...options }))
    return { store, queue }
  } catch (e) {
    await store.close()
    throw e
  }
}

/** Validates the inventory whole, then enqueues it as one run; returns the run. */
export async function enqueueRun(settings: ScanSettings, distribute: DistributeSettings, io: { stdin: Readable; env: NodeJS.ProcessEnv }): Promise<RunRow> {
  if (!settings.history) throw new UserError('--distribute records the run in the history: it cannot be combined with --no-store')
  // Not silently ignored: the run's judge would check keys without it.
  if (settings.blocklistFile) throw new UserError('--blocklist is not supported with --distribute yet: check the blocklist with a single-process scan')
  const db = runDatabase(settings.history.db, io.env, 'scan --distribute')
  for (const vantage of distribute.vantages) checkVantageName(vantage)
  if (new Set(distribute.vantages).size !== distribute.vantages.length) throw new UserError('--vantage names a vantage twice')
  // Read and checked here, before anything is enqueued; kept in the run for its judge.
  const policy = settings.policyFile === null ? null : await readPolicySource(settings.policyFile)
  const inventory = await scanInventory(settings, io.stdin)
  if (inventory.size === 0) throw new UserError('the inventory names no targets')
  const { store, queue } = await openRunQueue(db, io.env, settings.history.timeoutMs)
  try {
    return await queueWork('enqueueing the run', () => enqueue(queue))
  } finally {
    await queue.close()
    await store.close()
  }

  async function enqueue(queue: RunQueue): Promise<RunRow> {
    const families = settings.families?.length ?? 4
    const runId = await queue.createRun(
      {
        request: {
          specs: settings.specs,
          files: settings.files,
          families: settings.families,
          timeoutMs: settings.timeoutMs,
          concurrency: settings.concurrency,
          shardSize: distribute.shardSize,
          unreachableAfter: settings.unreachableAfter,
          certWarnDays: settings.certWarnDays,
          ...(policy ? { policy } : {}),
        },
        vantages: distribute.vantages,
        partExpirySeconds: distribute.partExpirySeconds ?? partExpirySeconds(distribute.shardSize, families, settings.timeoutMs),
      },
      shardsOf(inventory.targets(), distribute.shardSize),
    )
    const run = await queue.getRun(runId)
    if (!run) throw new OperationalError(`run ${runId} vanished as it was enqueued`)
    return run
  }
}

/** A run's report once done (as completeRunReport made it whole); the run's error as an
 * OperationalError when it failed or was cancelled. */
export function runOutcome(run: RunRow): ScanOutcome {
  if (run.status === 'failed') throw new OperationalError(`run ${run.id} failed: ${run.error ?? 'no error recorded'}`)
  if (run.status === 'cancelled') throw new OperationalError(`run ${run.id} was cancelled`)
  if (run.status !== 'done') throw new OperationalError(`run ${run.id} is ${run.status}, not done`)
  const report = run.report as RunReport
  if (report.newHostsInHistory) throw new OperationalError(`run ${run.id}: its new_host findings were not read back from the history`)
  return report
}

/** A done run with its report whole: the new_host findings its judge left in the history (scan
 * scan_id) put back among the others, as a single-process scan reports them. */
export async function completeRunReport(store: Store, run: RunRow): Promise<RunRow> {
  const report = run.report as RunReport | null
  if (run.status !== 'done' || !report?.newHostsInHistory || run.scanId === null) return run
  const newHosts = await store.scanFindings(run.scanId, 'new_host')
  const { newHostsInHistory: _, ...outcome } = report
  const findings = [...outcome.findings, ...newHosts].sort(compareFindings)
  return { ...run, report: { ...outcome, findings } satisfies ScanOutcome }
}

export interface WaitOptions {
  readonly env: NodeJS.ProcessEnv
  readonly timeoutMs: number
  readonly pollMs?: number
  readonly progress?: (run: RunRow) => void
  /** Told when the database is unreachable and the wait tries again. */
  readonly reconnecting?: (message: string) => void
  readonly signal?: AbortSignal
}

/** Waits until the run is finished, reporting progress; judges it if its judge was lost. */
export async function waitForRun(db: string, runId: number, options: WaitOptions): Promise<RunRow> {
  const { store, queue } = await openRunQueue(db, options.env, options.timeoutMs)
  try {
    return await queueWork(`waiting for run ${runId}`, () => poll(queue, store))
  } finally {
    await queue.close()
    await store.close()
  }

  async function poll(queue: RunQueue, store: Store): Promise<RunRow> {
    for (;;) {
      // A database restarting mid-run is waited out, as the workers wait it out.
      const run = await retryWhileDisconnected(() => look(queue, store), {
        ...(options.signal ? { signal: options.signal } : {}),
        onRetry: (e, pauseMs) => options.reconnecting?.(`the database is unreachable (${e.message}); trying again in ${(pauseMs / 1000).toFixed(1)} s`),
      })
      if (run) return run
      await sleep(options.pollMs ?? 1_000, undefined, options.signal ? { signal: options.signal } : {})
    }
  }

  /** The run if finished; null when it is not yet (judged here if its judge was lost). */
  async function look(queue: RunQueue, store: Store): Promise<RunRow | null> {
    const run = await queue.getRun(runId)
    if (!run) throw new UserError(`no run ${runId} in this history`)
    options.progress?.(run)
    if (isFinished(run.status)) return completeRunReport(store, run)
    // Nobody judging it (its judge died): this process does.
    if (run.status === 'judging') await judgeRun(queue, store, runId)
    return null
  }
}

/** One run as it is now. */
export async function runStatus(db: string, runId: number, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunRow> {
  const { store, queue } = await openRunQueue(db, env, timeoutMs)
  try {
    const run = await queueWork(`reading run ${runId}`, () => queue.getRun(runId))
    if (!run) throw new UserError(`no run ${runId} in this history`)
    return run
  } finally {
    await queue.close()
    await store.close()
  }
}

/** Cancels a run not yet judging; returns it after. */
export async function cancelRun(db: string, runId: number, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunRow> {
  const { store, queue } = await openRunQueue(db, env, timeoutMs)
  try {
    const status = await queueWork(`cancelling run ${runId}`, () => queue.cancelRun(runId))
    if (status === null) throw new UserError(`no run ${runId} in this history`)
    if (status === 'judging') throw new UserError(`run ${runId} is being judged: it can no longer be cancelled`)
    return (await queue.getRun(runId))!
  } finally {
    await queue.close()
    await store.close()
  }
}
