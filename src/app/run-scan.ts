import { readFile, rename, writeFile } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { readPolicyFile } from './read-policy.js'
import { KnownBadKeys } from './known-bad-keys.js'
import type { AlgorithmPolicy } from '../analysis/policy.js'
import { OperationalError } from '../domain/errors.js'
import type { Target } from '../domain/target.js'
import { openInventory, type Inventory } from '../inventory/inventory.js'
import { renderFailedRunMetrics, renderMetrics } from '../report/metrics.js'
import { scanTargets } from '../ssh/scan-targets.js'
import { openStore } from '../store/open-store.js'
import { LONG_RUNNING_SCAN_TARGETS } from '../store/wasm-tiers.js'
import type { Store } from '../store/store.js'
import { scanFleet, type ScanEvents, type ScanJudge, type ScanOutcome } from './scan-fleet.js'
import { historyJudge, standaloneJudge } from './scan-judges.js'
import type { RecordingStage } from './record-scan.js'
import type { ScanSettings } from './scan-settings.js'
import { resolverFromSettings, sshfpCheckFor } from './sshfp-check.js'
import { prepareJumps, type PreparedJumps } from './scan-jumps.js'

/* The scan use case, composed once for the CLI and the demo: the inventory validated whole, SSHFP
 * checks, the history opened before the first connection (a database that is down stops the scan
 * before it starts), the collector, the judge, and the metrics file. It knows nothing of argv,
 * terminals or exit codes. */

/** What a run takes from its caller besides its settings. */
export interface ScanRun {
  readonly stdin: Readable
  readonly env: NodeJS.ProcessEnv
  readonly events?: ScanEvents
  /** Wraps each transaction that records (the scan, then its shared-prime check), so an interruption
   * waits for it to end; nothing else of the judging (--no-store: nothing at all). */
  readonly critical?: <T>(stage: RecordingStage, record: () => Promise<T>) => Promise<T>
  /** A fleet of the caller's own instead of settings' specs and files (the demo). */
  readonly inventory?: Inventory
  /** An open history to use (and leave open) instead of opening settings.history (the demo). */
  readonly store?: Store
  /** Called once everything is open and the first connection is about to be made. */
  readonly ready?: () => void
}

/** The inventory a scan's settings name, validated whole: a bad line stops everything with its file:line. */
export function scanInventory(settings: ScanSettings, stdin: Readable): Promise<Inventory> {
  return openInventory({ specs: [...settings.specs], files: [...settings.files], defaultPort: settings.defaultPort, stdin })
}

/** `scan --list`: the targets a scan would take, validated whole first, contacting nothing (no host,
 * DNS server or database). */
export async function listTargets(settings: ScanSettings, stdin: Readable): Promise<AsyncIterable<Target>> {
  return (await scanInventory(settings, stdin)).targets()
}

export async function runScan(settings: ScanSettings, run: ScanRun): Promise<ScanOutcome> {
  const listed = run.inventory ?? (await scanInventory(settings, run.stdin))
  // Every input is read and validated before the first connection: a typo stops the scan unstarted.
  // --jump and the client config are checked whole, like the inventory.
  const jumps = settings.jumps ? await prepareJumps(settings.jumps) : null
  for (const warning of jumps?.warnings ?? []) run.events?.warning?.(warning)
  const inventory: Inventory = jumps ? { size: listed.size, targets: () => jumps.route(listed.targets()) } : listed
  const policy = settings.policyFile === null ? null : await readPolicyFile(settings.policyFile)
  const knownBadKeys = await KnownBadKeys.open(settings.blocklistFile)
  try {
    return await scanWith(settings, run, inventory, jumps, { policy, knownBadKeys })
  } finally {
    await knownBadKeys.close()
  }
}

async function scanWith(
  settings: ScanSettings,
  run: ScanRun,
  inventory: Inventory,
  jumps: PreparedJumps | null,
  judging: { policy: AlgorithmPolicy | null; knownBadKeys: KnownBadKeys },
): Promise<ScanOutcome> {
  const checkDns = settings.dns
    ? sshfpCheckFor(await resolverFromSettings([...settings.dns.resolvers], settings.dns.timeoutMs), settings.families)
    : null
  const store =
    run.store ??
    (settings.history
      ? await openStore({
          db: settings.history.db,
          env: run.env,
          timeoutMs: settings.history.timeoutMs,
          createIfMissing: true,
          bulk: true,
          longRunning: inventory.size >= LONG_RUNNING_SCAN_TARGETS,
        })
      : null)
  try {
    const judge: ScanJudge = store
      ? historyJudge(store, {
          vantage: settings.vantage,
          request: jumps
            ? () => ({
                specs: settings.specs,
                files: settings.files,
                dnsChecked: settings.dns !== null,
                jump: settings.jumps?.jump ?? null,
                sshConfig: settings.jumps?.sshConfigFile ?? null,
                // Where the probes of the targets behind jump hosts ran from: the jump hosts, not --vantage.
                via: Object.fromEntries(jumps.via),
              })
            : { specs: settings.specs, files: settings.files, dnsChecked: settings.dns !== null },
          unreachableAfter: settings.unreachableAfter,
          certWarnDays: settings.certWarnDays,
          ...judging,
          ...(run.critical ? { write: run.critical } : {}),
        })
      : standaloneJudge({ certWarnDays: settings.certWarnDays, ...judging })
    run.ready?.()
    const outcome = await scanFleet(
      { inventory, families: settings.families, timeoutMs: settings.timeoutMs, concurrency: settings.concurrency },
      {
        collect: (targets, options) => scanTargets(targets, jumps ? { ...options, jumps: jumps.routing(store) } : options),
        judge,
        checkDns,
        now: () => new Date(),
      },
      run.events,
    )
    if (settings.metricsFile) await writeMetricsFile(settings.metricsFile, renderMetrics({ ...outcome, finishedAt: new Date() }))
    return outcome
  } finally {
    if (store && !run.store) await store.close()
  }
}

/** The metrics file after a scan judged elsewhere (a distributed run), as a scan here writes it. */
export async function writeScanMetrics(path: string, outcome: ScanOutcome, finishedAt: Date): Promise<void> {
  await writeMetricsFile(path, renderMetrics({ ...outcome, finishedAt }))
}

/** The metrics file after a failed run: the last success's figures kept, the run marked failed. */
export async function writeFailedRunMetrics(path: string): Promise<void> {
  const previous = await readFile(path, 'utf8').catch(() => null)
  await writeMetricsFile(path, renderFailedRunMetrics(previous))
}

async function writeMetricsFile(path: string, text: string): Promise<void> {
  // Write then rename, so node_exporter never reads half a file.
  const temporary = `${path}.${process.pid}.tmp`
  try {
    await writeFile(temporary, text)
    await rename(temporary, path)
  } catch (e) {
    throw new OperationalError(`cannot write metrics file ${path}: ${(e as Error).message}`, { cause: e })
  }
}
