import type { KeyType, Sha256Fingerprint } from './host-key.js'

/* finding : something a scan noticed that a person may have to act on, with a severity.
 *           Findings are data: computed by pure functions in analysis/, kept by the store with a
 *           lifecycle (open, accepted, resolved), rendered by report/. */

export const SEVERITIES = ['info', 'warning', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

export const FINDING_KINDS = [
  'new_host',
  'key_added',
  'key_removed',
  'key_changed',
  'host_unreachable',
  'host_unresolvable',
  'never_reached',
  'keys_withheld',
  'partial_scan',
  'revoked_key',
  'duplicate_key',
  'weak_key',
  'interception',
  'sshfp_mismatch',
  'sshfp_missing',
  'sshfp_stale',
  'sshfp_insecure',
  'dns_error',
  'cert_expired',
  'cert_expiring',
  'cert_not_yet_valid',
  'cert_no_expiry',
  'cert_principal_mismatch',
  'cert_untrusted_ca',
  'cert_bad_signature',
  'cert_not_host',
  'ca_changed',
  'cert_renewed',
  'cert_removed',
  'terrapin',
  'weak_algorithm',
  'no_pq_kex',
  'policy_violation',
  'config_changed',
  'compromised_key',
  'oob_mismatch',
  'vantage_mismatch',
] as const
export type FindingKind = (typeof FINDING_KINDS)[number]

export interface Finding {
  readonly kind: FindingKind
  readonly severity: Severity
  /** The host the finding is about. */
  readonly host: string
  /** Every host involved (for duplicates and interception); at least `host`. */
  readonly hosts: readonly string[]
  readonly keyType: KeyType | null
  /** SHA256 form of the key at issue (the new one, for a change). */
  readonly fingerprint: Sha256Fingerprint | null
  /** The old fingerprint, for a change; else null. */
  readonly previous: Sha256Fingerprint | null
  /** A sentence a person can act on. */
  readonly message: string
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 }

/** The `--fail-on` threshold: a severity, or `never`. */
export type FailOn = Severity | 'never'

export function isAtOrAbove(severity: Severity, threshold: FailOn): boolean {
  return threshold !== 'never' && RANK[severity] >= RANK[threshold]
}

export function compareSeverity(a: Severity, b: Severity): number {
  return RANK[a] - RANK[b]
}

/** Severity first (critical on top), then host, then kind: the order people read findings in. */
export function compareFindings(a: Finding, b: Finding): number {
  return compareSeverity(b.severity, a.severity) || a.host.localeCompare(b.host) || a.kind.localeCompare(b.kind)
}
