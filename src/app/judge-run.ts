import { parsePolicy } from '../analysis/policy.js'
import { decodeStagedShard } from '../analysis/staged-observations.js'
import { vantageMismatchFindings, type VantageView } from '../analysis/vantage-mismatch.js'
import { OperationalError } from '../domain/errors.js'
import { compareFindings, type Finding } from '../domain/finding.js'
import type { KeyFamily } from '../domain/host-key.js'
import { isReached, type Observation } from '../domain/observation.js'
import type { RunQueue, RunRow } from '../store/run-queue.js'
import type { Store } from '../store/store.js'
import { KnownBadKeys } from './known-bad-keys.js'
import { recordScan } from './record-scan.js'
import type { ScanOutcome } from './scan-fleet.js'

/* Judging a distributed run, once its last part is in: its staged observations, shard by shard in
 * inventory order, go through recordScan exactly as a single-process scan's do, so the findings are
 * the same; only the judged vantage's observations are recorded, the other vantages' are compared
 * with them (vantage_mismatch). Then the staging is dropped: an unchanged night leaves one run row,
 * one scans row and the failures.
 *
 * A judge can be lost after its scan's transaction commits and before the run is marked done (killed,
 * out of memory, the database restarting under its shared-prime check). The next judge does not
 * record the run again: it finishes what the lost one left (the shared-prime check) and rebuilds the
 * report from the history, the findings whose last scan is the run's, so `run wait` says what an
 * uninterrupted run would have said, or fails the run saying why it cannot. */

/** A judged run's report as runs.report keeps it: scan's outcome without its new_host findings, which
 * stay in the history (a first night of 1,000,000 hosts has as many), and how many those are. */
export interface RunReport extends ScanOutcome {
  readonly newHostsInHistory?: number
}

/** How often the judge writes its progress to the run's row. */
const PROGRESS_EVERY_MS = 1_000

/** What a run's judging asked for, read back from runs.request. */
interface JudgeRequest {
  readonly families: readonly KeyFamily[] | null
  readonly timeoutMs: number
  readonly concurrency: number
  readonly specs: readonly string[]
  readonly files: readonly string[]
  readonly unreachableAfter?: number
  readonly certWarnDays?: number
  /** `--policy`: the file's name and text, as enqueueRun read them. */
  readonly policy?: { readonly file: string; readonly text: string }
}

/** Judges the run unless another process is judging it; returns its report, or null when busy. */
export async function judgeRun(queue: RunQueue, store: Store, runId: number): Promise<ScanOutcome | null> {
  const lock = await queue.takeJudging(runId)
  if (!lock) return null
  try {
    const run = await queue.getRun(runId)
    if (!run) return null
    try {
      // A judge that died between recording the scan and marking the run done: the scan stands, and
      // its report is rebuilt from the history.
      const recorded = await queue.recordedScan(runId)
      const report = recorded === null ? await recordRun(queue, store, run) : await takeOverRun(queue, store, run, recorded)
      await queue.finishRun(runId, report.scanId, report.outcome)
      return report.outcome
    } catch (e) {
      if (e instanceof LostReport) await queue.failJudging(runId, e.scanId, e.message)
      else await queue.judgingFailed(runId, (e as Error).message).catch(() => {})
      throw e
    }
  } finally {
    await lock.release()
  }
}

/** The scan of a run is recorded but its report cannot be told again from the history: the run fails
 * with why, rather than report less than its scan found. */
export class LostReport extends OperationalError {
  override name = 'LostReport'
  constructor(
    readonly runId: number,
    readonly scanId: number,
    why: string,
  ) {
    super(
      `run ${runId} was recorded as scan ${scanId} by a judge that was lost before it reported, and its report cannot be rebuilt: ${why}; ` +
        `hostkeys findings --open lists what needs a person`,
    )
  }
}

/** A report's findings in one order whatever order they were raised in: an uninterrupted judge has
 * them as it raised them, one that takes over as the history holds them. */
function reportOrder(a: Finding, b: Finding): number {
  return (
    compareFindings(a, b) ||
    (a.keyType ?? '').localeCompare(b.keyType ?? '') ||
    (a.fingerprint ?? '').localeCompare(b.fingerprint ?? '') ||
    (a.previous ?? '').localeCompare(b.previous ?? '') ||
    a.message.localeCompare(b.message)
  )
}

/** What the judged vantage saw, counted as the run's report counts it. */
interface ObservationCounts {
  targets: number
  reached: number
  failed: number
  keys: number
}

function count(counts: ObservationCounts, observation: Observation): void {
  counts.targets++
  if (isReached(observation.status)) counts.reached++
  else counts.failed++
  counts.keys += observation.keys.length
}

/** The judged vantage's staged observations, shard by shard in inventory order, each with what the
 * other vantages saw of the same target. */
async function* stagedObservations(queue: RunQueue, run: RunRow, judged: string): AsyncGenerator<{ observation: Observation; others: { vantage: string; seen: Observation }[] }> {
  for (let shard = 0; shard < run.shards; shard++) {
    const parts = await queue.stagedShard(run.id, shard)
    const where = (vantage: string) => `run ${run.id} shard ${shard}${vantage ? ` vantage ${vantage}` : ''}`
    const mine = parts.find((p) => p.vantage === judged)
    if (!mine) throw new OperationalError(`${where(judged)}: no observations staged, though the run is judging`)
    const own = decodeStagedShard(mine.observations, where(judged))
    const others = parts.filter((p) => p !== mine).map((p) => ({ vantage: p.vantage, observations: decodeStagedShard(p.observations, where(p.vantage)) }))
    for (const [i, observation] of own.entries()) {
      const seenElsewhere: { vantage: string; seen: Observation }[] = []
      for (const other of others) {
        const seen = other.observations[i]
        if (seen && seen.target.host === observation.target.host) seenElsewhere.push({ vantage: other.vantage, seen })
      }
      yield { observation, others: seenElsewhere }
    }
  }
}

/**
 * The report of a run whose scan a lost judge recorded (killed, or the database restarted, before it
 * marked the run done): the shared-prime check made sure of (the lost judge may not have run it; when
 * it did, nothing is pending and this costs one query), the counts taken again from the staged
 * observations, the findings read back from the history. The same report as the lost judge's, or
 * LostReport when the history no longer holds it whole.
 */
async function takeOverRun(queue: RunQueue, store: Store, run: RunRow, scanId: number): Promise<{ scanId: number; outcome: RunReport }> {
  const before = await store.recordedScanReport(scanId)
  if (!before) throw new LostReport(run.id, scanId, `scan ${scanId} is no longer in the history (pruned)`)
  const knownBad = await KnownBadKeys.open(null)
  await knownBad.sharedPrimes(store, { scanId, at: before.finishedAt })
  const recorded = await store.recordedScanReport(scanId)
  if (!recorded) throw new LostReport(run.id, scanId, `scan ${scanId} is no longer in the history (pruned)`)
  const reported = recorded.findings.length + recorded.newHosts
  if (reported !== recorded.counted) {
    throw new LostReport(
      run.id,
      scanId,
      `the scan reported ${recorded.counted} finding(s) and the history now holds ${reported} of them as its own ` +
        `(a later scan, an accept or a prune has moved the others on)`,
    )
  }
  const judged = run.vantages[0] ?? ''
  const counts: ObservationCounts = { targets: 0, reached: 0, failed: 0, keys: 0 }
  for await (const { observation } of stagedObservations(queue, run, judged)) count(counts, observation)
  const startedAt = run.startedAt ?? run.createdAt
  const finishedAt = run.scannedAt ?? recorded.finishedAt
  const outcome: RunReport = {
    ...counts,
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    findings: [...recorded.findings].sort(reportOrder),
    newHostsInHistory: recorded.newHosts,
  }
  return { scanId, outcome }
}

async function recordRun(queue: RunQueue, store: Store, run: RunRow): Promise<{ scanId: number; outcome: RunReport }> {
  const request = run.request as unknown as JudgeRequest
  const judged = run.vantages[0] ?? ''
  // A run for any worker is recorded under the vantages its workers had.
  const vantage = judged || (await queue.scannedBy(run.id)).join(',') || 'unknown'
  const counts: ObservationCounts = { targets: 0, reached: 0, failed: 0, keys: 0 }
  // Filled while recordScan reads the observations; it reads additionalFindings only after the last.
  const mismatches: Finding[] = []

  async function* observations(): AsyncGenerator<Observation> {
    for await (const { observation, others } of stagedObservations(queue, run, judged)) {
      if (others.length > 0) {
        const view = (vantage: string, seen: Observation): VantageView => ({
          vantage,
          keys: seen.keys,
          address: seen.address,
          seenAt: seen.startedAt,
          reached: isReached(seen.status),
          failedFamilies: seen.failedFamilies,
        })
        mismatches.push(...vantageMismatchFindings(observation.target.host, [view(judged, observation), ...others.map((o) => view(o.vantage, o.seen))]))
      }
      count(counts, observation)
      yield observation
    }
  }

  // The judging's progress on the run's row, for its waiters: a write a second at most, never awaited
  // by the recording (a lost write is only a stale figure).
  let noted = 0
  function noteProgress(progress: { hosts: number; findings: number }): void {
    if (performance.now() - noted < PROGRESS_EVERY_MS) return
    noted = performance.now()
    queue.noteJudging(run.id, progress).catch(() => {})
  }

  const startedAt = run.startedAt ?? run.createdAt
  const finishedAt = run.scannedAt ?? new Date()
  const meta = { families: request.families, timeoutMs: request.timeoutMs, concurrency: request.concurrency, targets: run.targets }
  const result = await recordScan(
    store,
    {
      startedAt,
      finishedAt,
      vantage,
      // As historyJudge writes a single-process scan's request, plus the run it came from.
      request: { ...meta, keyFamilies: request.families, specs: request.specs, files: request.files, dnsChecked: false, run: run.id, shards: run.shards, vantages: run.vantages },
    },
    observations(),
    {
      additionalFindings: mismatches,
      // Read back from the history by whoever waits for the run (completeRunReport).
      newHostReport: 'count',
      onProgress: noteProgress,
      ...(request.unreachableAfter ? { unreachable: { unreachableAfter: request.unreachableAfter } } : {}),
      ...(request.certWarnDays !== undefined ? { certWarnDays: request.certWarnDays } : {}),
      ...(request.policy ? { policy: parsePolicy(request.policy.text, request.policy.file) } : {}),
    },
  )
  const findings = [...result.findings].sort(reportOrder)
  const outcome: RunReport = { ...counts, durationMs: finishedAt.getTime() - startedAt.getTime(), findings, newHostsInHistory: result.newHosts }
  return { scanId: result.scanId, outcome }
}
