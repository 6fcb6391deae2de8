import type { KeyFamily, KeyType, Md5Fingerprint, Sha256Fingerprint } from './host-key.js'

/* statement   : what a host's keys are said to be by someone other than the network path a scan
 *               uses: its owner (source `expect`: they sent their `ssh-keygen -l` output, .pub files or
 *               known_hosts lines over some other channel) or the host itself (source `self-report`:
 *               it read its own /etc/ssh/ssh_host_*_key.pub). The newest statement of a source about a
 *               host replaces the older one.
 * stated key  : one key of a statement: its family and the fingerprint as stated (SHA-256, or MD5
 *               alone when that is all `ssh-keygen -l -E md5` gave), and the full key when known.
 * covered     : a statement covers the families it lists; a served key of a covered family that
 *               matches none of the statement's keys of that family is oob_mismatch. */

export const STATEMENT_SOURCES = ['expect', 'self-report'] as const
export type StatementSource = (typeof STATEMENT_SOURCES)[number]

/** One key of a statement. At least one of sha256 and md5 is set; both when the blob is known. */
export interface StatedKey {
  readonly family: KeyFamily
  /** Null when only the family was stated (`ssh-keygen -l` prints `(ECDSA)`, not the curve). */
  readonly type: KeyType | null
  readonly bits: number | null
  /** Null for an MD5-only statement. */
  readonly sha256: Sha256Fingerprint | null
  /** Set when MD5 was what was stated, or when the blob is known. */
  readonly md5: Md5Fingerprint | null
  /** The full public key blob, when the statement carried it (.pub and known_hosts lines do). */
  readonly blob: Buffer | null
  /** The line's comment, or the file it came from; for messages. */
  readonly comment: string | null
}

export interface KeyStatement {
  /** The host's identity (`name`, `[name]:port`). */
  readonly host: string
  readonly source: StatementSource
  readonly statedAt: Date
  /** Who or what made it: `expect by alice from keys.txt`, `self-report by root on web1`. */
  readonly statedBy: string
  readonly keys: readonly StatedKey[]
}

/** The families a statement lists keys of. */
export function coveredFamilies(statement: Pick<KeyStatement, 'keys'>): Set<KeyFamily> {
  return new Set(statement.keys.map((k) => k.family))
}

/** A stated key's fingerprint as stated: SHA256 when known, else MD5. */
export function statedFingerprint(key: Pick<StatedKey, 'sha256' | 'md5'>): string {
  return key.sha256 ?? key.md5!
}
