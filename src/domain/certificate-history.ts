import type { KeyFamily, Sha256Fingerprint } from './host-key.js'

/* recorded certificate : the last host certificate the history holds for one key family of a host,
 *                        what a new scan's certificate is compared with (ca_changed, cert_renewed,
 *                        cert_removed). */

export interface RecordedCertificate {
  readonly family: KeyFamily
  /** The certified key. */
  readonly keySha256: Sha256Fingerprint
  readonly caSha256: Sha256Fingerprint
  /** SHA-256 of the certificate blob, lowercase hex: two certificates are the same one when equal. */
  readonly certificateSha256: string
  readonly serial: string
  readonly validBefore: Date | null
  /** The host has since served the family's key without a certificate (cert_removed said so). */
  readonly removed: boolean
  /** The CA of the family's last trusted certificate (the first one seen, or one accepted): a
   * certificate from another CA is ca_changed. */
  readonly trustedCaSha256: Sha256Fingerprint | null
}

/** A CA as trust is judged: its key and the host patterns it is trusted for (known_hosts
 * `@cert-authority PATTERNS KEY`, `hostkeys ca trust --names`). */
export interface AuthorityTrust {
  readonly sha256: Sha256Fingerprint
  readonly patterns: readonly string[]
}
