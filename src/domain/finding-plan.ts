import type { Finding, FindingKind } from './finding.js'
import type { KeyType } from './host-key.js'

/* finding plan : what one scan does to the stored findings: insert the new, touch the ones seen
 *                again, resolve the ones whose condition is gone. The analysis makes it, the store
 *                carries it out. */

export type LiveStatus = 'open' | 'accepted' | 'waived'

/** A stored finding that is open, accepted or waived. */
export interface LiveFinding {
  readonly id: number
  readonly identity: string
  readonly kind: FindingKind
  readonly status: LiveStatus
  readonly host: string
  readonly hosts: readonly string[]
  readonly keyType: KeyType | null
}

export interface Reconciliation {
  /** What this scan reports: everything raised except what was accepted before. */
  readonly report: readonly Finding[]
  /** `waived`: raised under a waiver in force: recorded, not reported. */
  readonly insert: readonly { readonly finding: Finding; readonly identity: string; readonly resolved: boolean; readonly waived?: boolean }[]
  /** Live findings raised again: their last-seen moves on, and their severity and message follow the
   * condition (host_unreachable becomes a warning after --unreachable-after failed scans). */
  readonly touch: readonly { readonly id: number; readonly finding: Finding }[]
  readonly resolve: readonly number[]
  /** Waived findings whose waiver is no longer in force while the condition lasts: open again. */
  readonly reopen?: readonly number[]
}
