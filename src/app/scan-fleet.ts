import { compareFindings, type Finding } from '../domain/finding.js'
import type { KeyFamily } from '../domain/host-key.js'
import { isReached, type Observation } from '../domain/observation.js'
import type { Target } from '../domain/target.js'
import type { Inventory } from '../inventory/inventory.js'

/* The scan use case: stream the inventory through the collector, hand each finished host to the
 * caller as it completes, check SSHFP alongside, and at the end judge and record the whole scan.
 * It knows nothing of argv, terminals or exit codes. */

export interface CollectOptions {
  readonly families: readonly KeyFamily[] | null
  readonly timeoutMs: number
  readonly concurrency: number
}

export interface ScanRequest extends CollectOptions {
  readonly inventory: Inventory
}

export interface ScanProgress {
  readonly total: number
  readonly done: number
  readonly keys: number
  readonly failed: number
}

export interface ScanDependencies {
  /** The collector: targets in, one observation per target out, as hosts complete. */
  collect(targets: AsyncIterable<Target>, options: CollectOptions): AsyncIterable<Observation>
  /** Judges the scan: with a history (and keeps it), or by itself with `--no-store`. */
  judge: ScanJudge
  /**
   * SSHFP checks: called when a target is taken (so lookups run alongside the probes), it returns
   * the comparison to run on the target's observation, or null when the target has nothing to look
   * up. Null as a whole with `--no-dns`.
   */
  checkDns: ((target: Target) => ((observation: Observation) => Promise<readonly Finding[]>) | null) | null
  now(): Date
}

/**
 * Takes each observation as its host completes, then judges the whole scan. A judge keeps only what
 * it needs: the history recorder keeps every observation, the standalone one a fingerprint index.
 */
export interface ScanJudge {
  observe(observation: Observation): void
  /** The scan's findings; `dnsFindings` are the SSHFP checks', to keep with the scan's own. */
  finish(meta: ScanMeta, dnsFindings: readonly Finding[]): Promise<readonly Finding[]>
}

export interface ScanMeta {
  readonly startedAt: Date
  readonly finishedAt: Date
  readonly request: CollectOptions & { readonly targets: number }
}

export interface ScanEvents {
  /** Something read past that the user should know of (a Match block of the client config). */
  warning?(message: string): void
  observation?(observation: Observation): void
  progress?(progress: ScanProgress): void
}

export interface ScanOutcome {
  readonly targets: number
  readonly reached: number
  readonly failed: number
  readonly keys: number
  readonly durationMs: number
  /** Most severe first. */
  readonly findings: readonly Finding[]
}

export async function scanFleet(request: ScanRequest, deps: ScanDependencies, events: ScanEvents = {}): Promise<ScanOutcome> {
  const startedAt = deps.now()
  const dnsChecks = new Map<Target, (observation: Observation) => Promise<readonly Finding[]>>()
  const dnsFindings: Promise<readonly Finding[]>[] = []

  // Start each target's DNS lookup when the collector takes the target, so DNS runs alongside SSH.
  async function* taken(): AsyncGenerator<Target> {
    for await (const target of request.inventory.targets()) {
      const check = deps.checkDns?.(target)
      if (check) dnsChecks.set(target, check)
      yield target
    }
  }

  let done = 0
  let reached = 0
  let failed = 0
  let keys = 0
  for await (const observation of deps.collect(taken(), request)) {
    done++
    if (isReached(observation.status)) reached++
    else failed++
    keys += observation.keys.length
    const check = dnsChecks.get(observation.target)
    if (check) {
      dnsChecks.delete(observation.target)
      dnsFindings.push(check(observation))
    }
    deps.judge.observe(observation)
    events.observation?.(observation)
    // Jump hosts (scan --jump) are scanned as hosts too, beyond the inventory's count.
    events.progress?.({ total: Math.max(request.inventory.size, done), done, keys, failed })
  }
  const finishedAt = deps.now()

  const meta: ScanMeta = {
    startedAt,
    finishedAt,
    request: { families: request.families, timeoutMs: request.timeoutMs, concurrency: request.concurrency, targets: done },
  }
  const findings = [...(await deps.judge.finish(meta, (await Promise.all(dnsFindings)).flat()))]
  findings.sort(compareFindings)
  return {
    targets: done,
    reached,
    failed,
    keys,
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    findings,
  }
}
