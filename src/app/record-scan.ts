import { compareFindings } from '../analysis/analyze-scan.js'
import { compareHost } from '../analysis/compare-host.js'
import { findDuplicateKeys } from '../analysis/duplicate-keys.js'
import { reconcileFindings } from '../analysis/finding-lifecycle.js'
import { findInterception, type KeyChange } from '../analysis/interception.js'
import { askedFamilies, mergeObservations } from '../analysis/scanned-host.js'
import { shareGroups } from '../analysis/share-groups.js'
import type { Finding } from '../domain/finding.js'
import { KEY_FAMILIES } from '../domain/host-key.js'
import type { Observation } from '../domain/observation.js'
import type { HostWrite, ScanMeta, Store } from '../store/store.js'

export interface RecordScanResult {
  readonly scanId: number
  /** What this scan found, most severe first; findings accepted earlier are not repeated. */
  readonly findings: readonly Finding[]
}

export interface RecordScanOptions {
  /** Hosts per chunk: bounds memory and statement size on a 100,000-host scan. */
  readonly chunkSize?: number
  /** Findings computed elsewhere (e.g. SSHFP checks) to keep with the scan's, about scanned hosts. */
  readonly additionalFindings?: readonly Finding[]
}

/**
 * Records one scan in the history and returns its findings. Everything happens in one transaction
 * under the store's recording lock: the history is read, compared and written host chunk by host
 * chunk; then duplicates (fleet-wide, from the written state), interception and the findings'
 * lifecycle. A failure anywhere leaves the history as it was.
 */
export async function recordScan(
  store: Store,
  meta: ScanMeta,
  observations: readonly Observation[],
  options: RecordScanOptions = {},
): Promise<RecordScanResult> {
  const chunkSize = options.chunkSize ?? 5_000
  const scanned = mergeObservations(observations)
  const asked = askedFamilies(meta.request.keyFamilies, KEY_FAMILIES)
  const at = meta.finishedAt

  return store.recording(async (session) => {
    const scanId = await session.insertScan(meta)
    const raised: Finding[] = []
    const changes: KeyChange[] = []
    for (let i = 0; i < scanned.length; i += chunkSize) {
      const chunk = scanned.slice(i, i + chunkSize)
      await session.adoptHashedEntries(chunk)
      const history = await session.loadHosts(chunk.map((h) => h.host))
      const writes: HostWrite[] = []
      for (const host of chunk) {
        const stored = history.get(host.host)
        const comparison = compareHost(stored ?? null, host, asked)
        raised.push(...comparison.findings)
        for (const key of comparison.changed) changes.push({ host: host.host, key })
        writes.push({ scanned: host, stored, trust: comparison.trust })
      }
      await session.writeHosts(scanId, at, asked, writes)
    }
    const groups = shareGroups(await session.loadShareGroups())
    raised.push(...findDuplicateKeys(await session.loadSharedKeys(scanId), groups))
    raised.push(...findInterception(changes, groups))
    const scannedNames = new Set(scanned.map((h) => h.host))
    raised.push(...(options.additionalFindings ?? []).filter((f) => scannedNames.has(f.host)))

    const reached = new Set(scanned.filter((h) => h.reached).map((h) => h.host))
    const plan = reconcileFindings(await session.loadLiveFindings(), raised, { reachedHosts: reached, askedFamilies: asked })
    await session.writeFindings(scanId, at, plan)
    await session.finishScan(scanId, {
      hostsAsked: scanned.length,
      hostsReached: reached.size,
      keysSeen: scanned.reduce((n, h) => n + h.keys.length, 0),
      findings: plan.report.length,
    })
    return { scanId, findings: [...plan.report].sort(compareFindings) }
  })
}
