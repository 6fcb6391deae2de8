import type { Finding, FindingKind } from './finding.js'
import type { KeyType } from './host-key.js'

/* finding plan : what one scan does to the stored findings: insert the new, touch the ones seen
 *                again, resolve the ones whose condition is gone. The analysis makes it, the store
 *                carries it out. */

export type LiveStatus = 'open' | 'accepted'

/** A stored finding that is open or accepted. */
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
  readonly insert: readonly { readonly finding: Finding; readonly identity: string; readonly resolved: boolean }[]
  /** Live findings raised again: their last-seen moves on, and their severity and message follow the
   * condition (host_unreachable becomes a warning after --unreachable-after failed scans). */
  readonly touch: readonly { readonly id: number; readonly finding: Finding }[]
  readonly resolve: readonly number[]
}
