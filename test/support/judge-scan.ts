import { compareHost, type HostComparison } from '../../src/analysis/compare-host.js'
import { findDuplicateKeys } from '../../src/analysis/duplicate-keys.js'
import { findInterception, type KeyChange } from '../../src/analysis/interception.js'
import type { ShareGroups } from '../../src/analysis/share-groups.js'
import { compareFindings, type Finding } from '../../src/domain/finding.js'
import type { KeyFamily, KeyType, Sha256Fingerprint } from '../../src/domain/host-key.js'
import { endpointOf, type KeyHolder, type KeyHolders } from '../../src/domain/key-holders.js'
import type { ScannedHost } from '../../src/domain/scanned-host.js'
import type { HostHistory } from '../../src/domain/sighting.js'

/* A whole scan judged in memory by the functions recordScan runs on each chunk (compareHost, then
 * findDuplicateKeys and findInterception over the fleet's holders), for table-driven tests. */

export interface ScanAnalysisInput {
  /** History of the scanned hosts that have one, by host. */
  readonly history: ReadonlyMap<string, HostHistory>
  readonly scanned: readonly ScannedHost[]
  readonly askedFamilies: ReadonlySet<KeyFamily>
  /**
   * Hosts outside this scan's reached set that currently serve a key this scan saw: the fleet-wide
   * key index, restricted to what can make a duplicate.
   */
  readonly otherHolders: ReadonlyMap<Sha256Fingerprint, readonly string[]>
  readonly shareGroups: ShareGroups
}

export interface ScanAnalysis {
  readonly findings: readonly Finding[]
  readonly comparisons: ReadonlyMap<string, HostComparison>
}

/** The fleet-wide holders of every key this scan saw: this scan's reached hosts plus the others. */
export function keyHoldersAfterScan(
  scanned: readonly ScannedHost[],
  otherHolders: ReadonlyMap<Sha256Fingerprint, readonly string[]>,
): KeyHolders[] {
  const byKey = new Map<Sha256Fingerprint, { keyType: KeyType; holders: KeyHolder[] }>()
  for (const host of scanned) {
    if (!host.reached) continue
    for (const key of host.keys) {
      let entry = byKey.get(key.sha256)
      if (!entry) {
        const others = (otherHolders.get(key.sha256) ?? []).map((h) => ({ host: h, endpoint: null }))
        byKey.set(key.sha256, (entry = { keyType: key.type, holders: others }))
      }
      entry.holders.push({ host: host.host, endpoint: endpointOf(host.address, host.port) })
    }
  }
  return [...byKey].map(([fingerprint, { keyType, holders }]) => ({ fingerprint, keyType, holders }))
}

/**
 * Every finding of one scan, from the history of its hosts, the fleet's other holders of its keys and
 * the share groups. Pure; recordScan runs the same steps host chunk by host chunk.
 */
export function analyzeScan(input: ScanAnalysisInput): ScanAnalysis {
  const findings: Finding[] = []
  const comparisons = new Map<string, HostComparison>()
  const changes: KeyChange[] = []
  for (const host of input.scanned) {
    const comparison = compareHost(input.history.get(host.host) ?? null, host, input.askedFamilies)
    comparisons.set(host.host, comparison)
    findings.push(...comparison.findings)
    for (const key of comparison.changed) changes.push({ host: host.host, key, config: null })
  }
  findings.push(...findDuplicateKeys(keyHoldersAfterScan(input.scanned, input.otherHolders), input.shareGroups))
  findings.push(...findInterception(changes, input.shareGroups))
  return { findings: findings.sort(compareFindings), comparisons }
}
