import type { KeyFamily, KeyType, Md5Fingerprint, Sha256Fingerprint } from './host-key.js'

/* statement   : what a host's keys are said to be by someone other than the network path a scan
 *               uses: its owner (source `expect`: they sent their `ssh-keygen -l` output, .pub files or
 *               known_hosts lines over some other channel) or the host itself (source `self-report`:
 *               it read its own /etc/ssh/ssh_host_*_key.pub). The newest statement of a source about a
 *               host replaces the older one.
 * stated key  : one key of a statement: its family and the fingerprint as stated (SHA-256, or MD5
 *               alone when that is all `ssh-keygen -l -E md5` gave), and the full key when known.
 * complete    : a statement that names every key the host has. A self-report is complete by nature
 *               (the host read all of its own key files); an owner's statement is complete when they
 *               said so (`expect --complete`).
 * covered     : a complete statement covers every family; any other covers the families it lists. A
 *               served key of a covered family that matches none of the statement's keys of that family
 *               is oob_mismatch: for a complete statement, a served key of a family it does not list
 *               at all is one too (an interceptor that serves only a family the host has not got). */

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
  /** It names every key the host has: a served key of any family it lacks contradicts it. */
  readonly complete: boolean
}

/** Whether a statement says anything about the host's keys of this family: every family for a
 * complete statement, else the families it lists. */
export function coversFamily(statement: Pick<KeyStatement, 'keys' | 'complete'>, family: KeyFamily): boolean {
  return statement.complete || statement.keys.some((k) => k.family === family)
}

/** A stated key's fingerprint as stated: SHA256 when known, else MD5. */
export function statedFingerprint(key: Pick<StatedKey, 'sha256' | 'md5'>): string {
  return key.sha256 ?? key.md5!
}
