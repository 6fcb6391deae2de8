import { setTimeout as sleep } from 'node:timers/promises'
import { encodeStagedShard } from '../analysis/staged-observations.js'
import type { KeyFamily } from '../domain/host-key.js'
import { isReached, type Observation } from '../domain/observation.js'
import type { Target } from '../domain/target.js'
import { scanTargets } from '../ssh/scan-targets.js'
import { checkVantageName, MAX_PART_ATTEMPTS, vantageQueue, type ClaimedPart, type FetchedPart, type RunQueue } from '../store/run-queue.js'
import type { Store } from '../store/store.js'
import { openRunQueue } from './distributed-runs.js'
import { judgeRun } from './judge-run.js'
import { retryWhileDisconnected } from './reconnect.js'

/* `hostkeys worker`: takes parts of distributed runs (a shard, for its vantage or for any), scans
 * them with the same collector as `scan`, stages the observations, and judges a run when it brings
 * in its last part (or finds a run whose judge was lost). One part at a time; `--concurrency` is the
 * connections in flight within it, as scan's -c. */

export interface WorkerSettings {
  /** The history's PostgreSQL URL. */
  readonly db: string
  readonly dbTimeoutMs: number
  /** Where this worker scans from: it takes parts asked of this vantage, and parts for any. */
  readonly vantage: string
  /** Connections in flight. */
  readonly concurrency: number
  /** Parts to scan before exiting; null: until stopped. */
  readonly maxParts: number | null
  /** Wait between looks at an empty queue. */
  readonly pollMs: number
  /** How often pg-boss looks for parts whose worker is gone (seconds). */
  readonly maintenanceSeconds: number
  /** Who this worker is, in run_parts.worker (host:pid). */
  readonly workerId: string
}

export interface WorkerEvents {
  /** A part was scanned and staged (or found in already). */
  part?(event: { run: number; shard: number; vantage: string; hosts: number; reached: number; outcome: string }): void
  /** A run was judged here. */
  judged?(event: { run: number; findings: number }): void
  /** Something went wrong and the worker goes on (the database away, a part that threw). */
  problem?(message: string): void
}

export interface WorkerRun {
  readonly env: NodeJS.ProcessEnv
  /** Aborted: take no more parts. */
  readonly signal?: AbortSignal
  /** Wraps a part's scan, staging and judging, so a signal waits for the part to end. */
  readonly critical?: <T>(work: () => Promise<T>) => Promise<T>
  readonly events?: WorkerEvents
  /** Called once the queue is open. */
  readonly ready?: () => void
}

/** What a part's scan takes from its run's request. */
interface PartRequest {
  readonly families: readonly KeyFamily[] | null
  readonly timeoutMs: number
}

/** Runs a worker until maxParts are done or the signal stops it; returns the parts it scanned. */
export async function runWorker(settings: WorkerSettings, run: WorkerRun): Promise<number> {
  checkVantageName(settings.vantage)
  const events = run.events ?? {}
  const { store, queue } = await openRunQueue(settings.db, run.env, settings.dbTimeoutMs, {
    supervise: true,
    maintenanceSeconds: settings.maintenanceSeconds,
    onError: (e) => events.problem?.(`job queue maintenance: ${e.message}`),
  })
  const critical = run.critical ?? ((work) => work())
  let scanned = 0
  try {
    await queue.ensureQueues([settings.vantage, ''])
    run.ready?.()
    const queues = [vantageQueue(settings.vantage), vantageQueue('')]
    while (!run.signal?.aborted && (settings.maxParts === null || scanned < settings.maxParts)) {
      try {
        await judgeAbandoned(queue, store, events)
        const job = await queue.fetchPart(queues)
        if (!job) {
          await idle(settings.pollMs, run.signal)
          continue
        }
        if (await critical(() => workPart(queue, store, job, settings, events))) scanned++
      } catch (e) {
        if (run.signal?.aborted) break
        // The database restarting, a connection lost: the pool reconnects on the next query.
        events.problem?.((e as Error).message)
        await idle(settings.pollMs, run.signal)
      }
    }
    return scanned
  } finally {
    await queue.close().catch(() => {})
    await store.close().catch(() => {})
  }
}

async function idle(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await sleep(ms, undefined, signal ? { signal } : {}).catch(() => {})
}

/** Runs left judging by a judge that died: whoever is free takes them. */
async function judgeAbandoned(queue: RunQueue, store: Store, events: WorkerEvents): Promise<void> {
  for (const runId of await queue.runsToJudge()) {
    const report = await judgeRun(queue, store, runId)
    if (report) events.judged?.({ run: runId, findings: report.findings.length })
  }
}

/** Scans, stages and (when last) judges one part; true when this worker scanned it. */
async function workPart(queue: RunQueue, store: Store, job: FetchedPart, settings: WorkerSettings, events: WorkerEvents): Promise<boolean> {
  const { part } = job
  const unreachable = (what: string) => (e: Error, pauseMs: number) =>
    events.problem?.(`run ${part.run} shard ${part.shard}: ${what}: the database is unreachable (${e.message}); trying again in ${(pauseMs / 1000).toFixed(1)} s`)
  // The job is taken (pg-boss marked it active): a restart now is waited out, or the part would wait
  // for its expiry. A claim whose reply was lost counts one attempt too many, no more.
  const claimed = await retryWhileDisconnected(() => queue.claimPart(part, settings.workerId), { onRetry: unreachable('claiming') })
  if (!claimed) {
    // In already, failed, or its run finished or cancelled: nothing left to do for this job.
    await queue.completeJob(job)
    return false
  }
  if (claimed.attempt > MAX_PART_ATTEMPTS) {
    const error = claimed.lastError ?? `its worker was lost ${MAX_PART_ATTEMPTS} times (killed, or it outlived the run's --shard-expiry)`
    await queue.failPart(part, error)
    await queue.completeJob(job)
    events.problem?.(`run ${part.run} shard ${part.shard}: failed after ${MAX_PART_ATTEMPTS} attempts: ${error}`)
    return false
  }
  let observations: Observation[]
  let staged: Buffer
  try {
    observations = await scanPart(claimed, settings.concurrency)
    staged = encodeStagedShard(observations)
  } catch (e) {
    const message = (e as Error).message
    events.problem?.(`run ${part.run} shard ${part.shard}: attempt ${claimed.attempt}: ${message}`)
    if (claimed.attempt >= MAX_PART_ATTEMPTS) {
      await queue.failPart(part, message)
      await queue.completeJob(job)
    } else {
      await queue.notePartError(part, message)
      await queue.failJob(job, message)
    }
    return false
  }
  const reached = observations.filter((o) => isReached(o.status)).length
  // The scan is in hand: a database restarting now is waited out rather than the part scanned again
  // after its expiry. Staging is idempotent (a part in already is 'already-in'), so a COMMIT whose
  // outcome the lost connection hid is safe to try again; a run it made judging is then found by
  // judgeAbandoned (or a waiting `run wait`).
  const outcome = await retryWhileDisconnected(() => queue.stagePart(part, { observations: staged, hosts: observations.length, reached, scannedBy: settings.vantage }), {
    onRetry: unreachable('staging'),
  })
  await retryWhileDisconnected(() => queue.completeJob(job), { onRetry: unreachable('completing its job') })
  events.part?.({ run: part.run, shard: part.shard, vantage: settings.vantage, hosts: observations.length, reached, outcome })
  if (outcome === 'judging') {
    const report = await judgeRun(queue, store, part.run)
    if (report) events.judged?.({ run: part.run, findings: report.findings.length })
  }
  return true
}

/** The part's targets through the collector, back in shard order (the judge reads vantages side by side). */
async function scanPart(claimed: ClaimedPart, concurrency: number): Promise<Observation[]> {
  const request = claimed.request as unknown as PartRequest
  const targets = claimed.targets()
  const order = new Map<Target, number>(targets.map((t, i) => [t, i]))
  const out: Observation[] = new Array(targets.length)
  for await (const observation of scanTargets(targets, { families: request.families, timeoutMs: request.timeoutMs, concurrency })) {
    out[order.get(observation.target)!] = observation
  }
  return out
}
