import { parsePolicy } from '../analysis/policy.js'
import { decodeStagedShard } from '../analysis/staged-observations.js'
import { vantageMismatchFindings } from '../analysis/vantage-mismatch.js'
import { OperationalError } from '../domain/errors.js'
import { compareFindings, type Finding } from '../domain/finding.js'
import type { KeyFamily } from '../domain/host-key.js'
import { isReached, type Observation } from '../domain/observation.js'
import type { RunQueue, RunRow } from '../store/run-queue.js'
import type { Store } from '../store/store.js'
import { recordScan } from './record-scan.js'
import type { ScanOutcome } from './scan-fleet.js'

/* Judging a distributed run, once its last part is in: its staged observations, shard by shard in
 * inventory order, go through recordScan exactly as a single-process scan's do, so the findings are
 * the same; only the judged vantage's observations are recorded, the other vantages' are compared
 * with them (vantage_mismatch). Then the staging is dropped: an unchanged night leaves one run row,
 * one scans row and the failures. */

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
    // A judge that died between recording the scan and marking the run done: the scan stands.
    const recorded = await queue.recordedScan(runId)
    if (recorded !== null) {
      const report = { ...emptyReport(run), note: `recorded as scan ${recorded}; hostkeys findings --open lists its findings` }
      await queue.finishRun(runId, recorded, report)
      return report
    }
    try {
      const report = await recordRun(queue, store, run)
      await queue.finishRun(runId, report.scanId, report.outcome)
      return report.outcome
    } catch (e) {
      await queue.judgingFailed(runId, (e as Error).message).catch(() => {})
      throw e
    }
  } finally {
    await lock.release()
  }
}

function emptyReport(run: RunRow): ScanOutcome {
  return { targets: run.targets, reached: 0, failed: 0, keys: 0, durationMs: 0, findings: [] }
}

async function recordRun(queue: RunQueue, store: Store, run: RunRow): Promise<{ scanId: number; outcome: RunReport }> {
  const request = run.request as unknown as JudgeRequest
  const judged = run.vantages[0] ?? ''
  // A run for any worker is recorded under the vantages its workers had.
  const vantage = judged || (await queue.scannedBy(run.id)).join(',') || 'unknown'
  const counts = { targets: 0, reached: 0, failed: 0, keys: 0 }
  // Filled while recordScan reads the observations; it reads additionalFindings only after the last.
  const mismatches: Finding[] = []

  async function* observations(): AsyncGenerator<Observation> {
    for (let shard = 0; shard < run.shards; shard++) {
      const parts = await queue.stagedShard(run.id, shard)
      const where = (vantage: string) => `run ${run.id} shard ${shard}${vantage ? ` vantage ${vantage}` : ''}`
      const mine = parts.find((p) => p.vantage === judged)
      if (!mine) throw new OperationalError(`${where(judged)}: no observations staged, though the run is judging`)
      const own = decodeStagedShard(mine.observations, where(judged))
      const others = parts.filter((p) => p !== mine).map((p) => ({ vantage: p.vantage, observations: decodeStagedShard(p.observations, where(p.vantage)) }))
      for (const [i, observation] of own.entries()) {
        if (others.length > 0) {
          const view = (vantage: string, seen: Observation) => ({ vantage, keys: seen.keys, address: seen.address, seenAt: seen.startedAt })
          const views = [view(judged, observation)]
          for (const other of others) {
            const seen = other.observations[i]
            if (seen && seen.target.host === observation.target.host) views.push(view(other.vantage, seen))
          }
          mismatches.push(...vantageMismatchFindings(observation.target.host, views))
        }
        counts.targets++
        if (isReached(observation.status)) counts.reached++
        else counts.failed++
        counts.keys += observation.keys.length
        yield observation
      }
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
  const findings = [...result.findings].sort(compareFindings)
  const outcome: RunReport = { ...counts, durationMs: finishedAt.getTime() - startedAt.getTime(), findings, newHostsInHistory: result.newHosts }
  return { scanId: result.scanId, outcome }
}
