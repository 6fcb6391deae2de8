import type { Finding } from '../domain/finding.js'
import type { Observation } from '../domain/observation.js'
import { compareFindings, keyHoldersAfterScan } from './analyze-scan.js'
import { findDuplicateKeys } from './duplicate-keys.js'
import { mergeObservations } from './scanned-host.js'
import { shareGroups } from './share-groups.js'
import { findWeakKeys } from './weak-keys.js'

/**
 * What a scan can say with no history (`--no-store`): weak keys, and keys shared by several hosts of
 * this scan. Changes, new and vanished hosts need a history and are not raised.
 */
export function judgeWithoutHistory(observations: readonly Observation[]): Finding[] {
  const scanned = mergeObservations(observations)
  const findings = scanned.flatMap((host) => (host.reached ? findWeakKeys(host.host, host.keys) : []))
  findings.push(...findDuplicateKeys(keyHoldersAfterScan(scanned, new Map()), shareGroups([])))
  return findings.sort(compareFindings)
}
