import type { AuthorityTrust } from './certificate-history.js'
import type { Finding } from './finding.js'
import type { KeyType, Md5Fingerprint, Sha256Fingerprint } from './host-key.js'
import type { SightingTrust } from './sighting.js'

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
  readonly trust: SightingTrust
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
  readonly status: 'open' | 'accepted' | 'resolved'
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
  /** The keys trusted by it. */
  readonly fingerprints: readonly Sha256Fingerprint[]
  /** Findings it closed. */
  readonly findingsAccepted: number
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
}

/** A trusted key with the names to write in a known_hosts line. */
export interface TrustedKey {
  readonly host: string
  readonly aliases: readonly string[]
  readonly port: number
  readonly type: KeyType
  readonly blob: Buffer
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
