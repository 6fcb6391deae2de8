import type { AuthorityTrust } from './certificate-history.js'
import type { Finding, FindingKind } from './finding.js'
import type { KeyType, Md5Fingerprint, Sha256Fingerprint } from './host-key.js'
import type { LedgerState, TrustChange } from './trust.js'

/* history records : what the history answers with, as lookup, history, findings and known-hosts show
 *                   it. The store makes them from rows; report/ renders them. */

/** One host serving one key, as `lookup` and `history` show it. */
export interface KeyRecord {
  readonly host: string
  readonly address: string | null
  readonly port: number | null
  readonly type: KeyType
  readonly bits: number
  readonly sha256: Sha256Fingerprint
  readonly md5: Md5Fingerprint
  readonly firstSeen: Date
  readonly lastSeen: Date | null
  readonly current: boolean
  /** The (host, key)'s state in the trust ledger (domain/trust.ts). */
  readonly trust: LedgerState
  readonly source: 'scan' | 'import'
  /** Set when the record was found through the CA that certified the key (`lookup` of a CA's
   * fingerprint): the host's last certificate from that CA. */
  readonly certifiedBy?: CertificateRecord
}

/** A host certificate as the history keeps it, for lookup. */
export interface CertificateRecord {
  readonly caSha256: Sha256Fingerprint
  readonly keyId: string
  readonly serial: string
  readonly validBefore: Date | null
  /** When a scan last saw the host present it. */
  readonly lastSeen: Date
}

export interface StoredFinding extends Finding {
  readonly id: number
  readonly status: 'open' | 'accepted' | 'waived' | 'resolved'
  readonly firstSeen: Date
  readonly lastSeen: Date
  readonly resolvedAt: Date | null
  readonly acceptedAt: Date | null
  readonly acceptedBy: string | null
  readonly acceptReason: string | null
}

export interface Acceptance {
  readonly host: string
  readonly acceptedAt: Date
  readonly acceptedBy: string
  readonly reason: string | null
  /** The keys trusted by it: what the host served then. */
  readonly fingerprints: readonly Sha256Fingerprint[]
  /** Findings it closed. */
  readonly findingsAccepted: number
  /** Trusted keys the host no longer served, retired by it (absent when read back from the history). */
  readonly retired?: readonly Sha256Fingerprint[]
  /** The trust findings it closed, and the host's findings it left open (only a waiver or the host closes those). */
  readonly closed?: readonly { readonly kind: FindingKind; readonly fingerprint: Sha256Fingerprint | null }[]
  readonly stillOpen?: readonly { readonly kind: FindingKind; readonly fingerprint: Sha256Fingerprint | null }[]
}

/** A waiver (`hostkeys waive`): one kind of finding on one host is not reported while it is in force. */
export interface Waiver {
  readonly host: string
  readonly kind: FindingKind
  readonly waivedAt: Date
  readonly waivedBy: string
  readonly reason: string
  /** When it ends; null: until withdrawn. */
  readonly until: Date | null
  /** Open findings it waived when made (absent when read back). */
  readonly findingsWaived?: number
}

export interface HostFailure {
  readonly scanId: number
  readonly at: Date
  readonly status: string
  readonly error: string | null
}

export interface HostTimeline {
  readonly host: string
  readonly firstSeen: Date
  readonly lastReached: Date | null
  readonly lastStatus: string | null
  readonly names: readonly string[]
  readonly keys: readonly KeyRecord[]
  readonly findings: readonly StoredFinding[]
  readonly acceptances: readonly Acceptance[]
  readonly failures: readonly HostFailure[]
  /** Every change of a key's ledger state after it was first recorded, oldest first. */
  readonly trustChanges: readonly TrustChange[]
  readonly waivers: readonly Waiver[]
}

/** A trusted key with the names to write in a known_hosts line. */
export interface TrustedKey {
  readonly host: string
  readonly aliases: readonly string[]
  readonly port: number
  readonly type: KeyType
  readonly blob: Buffer
}

/** A key the ledger refuses whoever serves it (revoked or compromised): an `@revoked * KEY` line. */
export interface RefusedKey {
  readonly type: KeyType
  readonly blob: Buffer
  readonly state: 'revoked' | 'compromised'
}

/** A certificate authority trusted to sign host keys for the hosts its patterns name: one
 * `@cert-authority PATTERNS KEY` line (sshd(8)), with what `ca list` shows of it. One CA may have
 * several, one per pattern list. The analysis needs only the AuthorityTrust part. */
export interface TrustedAuthority extends AuthorityTrust {
  readonly type: KeyType
  readonly bits: number
  readonly blob: Buffer
  /** known_hosts patterns (domain/host-patterns.ts), lowercase, as one line lists them. */
  readonly patterns: readonly string[]
  /** Who or what trusted it: `ca trust by USER [from FILE]`, or the known_hosts file it was imported from. */
  readonly source: string
  readonly trustedAt: Date
}
