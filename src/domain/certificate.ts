import type { KeyType, Sha256Fingerprint } from './host-key.js'

/* certificate     : a public key signed by a certificate authority, with the names it is good for
 *                   and a validity interval (OpenSSH PROTOCOL.certkeys). A server offers it in place
 *                   of its plain host key when sshd has a `HostCertificate` line.
 * certified key   : the plain public key inside a certificate; its fingerprints are those of the
 *                   plain key (`ssh-keygen -lf key.pub`), not of the certificate blob.
 * CA / signing key: the plain public key that signed the certificate, named in known_hosts by a
 *                   `@cert-authority PATTERNS TYPE BASE64` line.
 * principals      : the names the certificate is valid for; for a host certificate, host names.
 *                   None at all means any name (PROTOCOL.certkeys: "valid for any principal").
 * key id          : free text the signer chose, logged by sshd; not an identity we can check.
 *
 * Text in a certificate (key id, principals, option names and values) is chosen by whoever signed
 * it, and may hold terminal escapes. The parser turns it into printable ASCII once, at parse time,
 * with printableBytes() (domain/printable-bytes.ts: `\xNN` for anything else, `\` included), so
 * every string in a HostCertificate is safe to print as it is. */

export const CERT_KEY_TYPES = [
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'ssh-rsa-cert-v01@openssh.com',
  'ssh-dss-cert-v01@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
] as const
export type CertKeyType = (typeof CERT_KEY_TYPES)[number]

/** The plain key type a certificate type certifies: `ssh-ed25519-cert-v01@openssh.com` -> `ssh-ed25519`. */
export function plainKeyTypeOf(certType: CertKeyType): KeyType {
  // The security-key types keep their @openssh.com suffix (PROTOCOL.u2f): sk-ssh-ed25519-cert-v01@openssh.com certifies sk-ssh-ed25519@openssh.com.
  const plain = certType.slice(0, -'-cert-v01@openssh.com'.length)
  return (plain.startsWith('sk-') ? `${plain}@openssh.com` : plain) as KeyType
}

/** The key that signed a certificate (never itself a certificate). */
export interface CertificateAuthority {
  readonly type: KeyType
  readonly bits: number
  /** The plain public key blob, as in the CA's .pub file or an @cert-authority line. */
  readonly blob: Buffer
  readonly sha256: Sha256Fingerprint
}

/** A name and its value from the critical options or extensions of a certificate. */
export interface CertificateOption {
  readonly name: string
  /** '' for a flag; the text of a value that is one string (as `force-command /bin/x` shows in
   * `ssh-keygen -L`), escaped as the other text is; otherwise the raw value as lowercase hex. */
  readonly data: string
}

export interface HostCertificate {
  /** The whole certificate blob as the server sent it. */
  readonly blob: Buffer
  readonly certType: CertKeyType
  /** uint64 as a decimal string: serials may exceed 2^53. */
  readonly serial: string
  /** PROTOCOL.certkeys: SSH2_CERT_TYPE_USER = 1, SSH2_CERT_TYPE_HOST = 2. */
  readonly kind: 'host' | 'user'
  readonly keyId: string
  readonly principals: readonly string[]
  /** null when the certificate says 0: valid since always. A start beyond what a Date holds
   * (year 275760) is clamped to the largest Date: the certificate never becomes valid. */
  readonly validAfter: Date | null
  /** null when the certificate says 0xffffffffffffffff: valid forever. An end beyond what a Date
   * holds is null too, since no clock will reach it. */
  readonly validBefore: Date | null
  readonly criticalOptions: readonly CertificateOption[]
  readonly extensions: readonly CertificateOption[]
  readonly ca: CertificateAuthority
  /** The signature's algorithm name as the certificate states it: ssh-ed25519, rsa-sha2-512,
   * ssh-rsa (SHA-1), ecdsa-sha2-nistp256, ssh-dss. '' when the signature is too malformed to say. */
  readonly signatureAlgorithm: string
  /** The CA's signature over the certificate verifies, with an algorithm that fits the CA's key type. */
  readonly signatureValid: boolean
}

/** Where a certificate stands at one moment, as sshd and ssh judge it (sshkey_cert_check_authority:
 * valid from validAfter inclusive to validBefore exclusive). Days are whole days, rounded down. */
export type CertificateValidity =
  | { readonly kind: 'valid'; readonly daysLeft: number | null }
  | { readonly kind: 'expired'; readonly daysAgo: number }
  | { readonly kind: 'not-yet-valid'; readonly daysUntil: number }

const DAY_MS = 86_400_000

/** Whether the certificate is valid at `now`; `daysLeft` is null for a certificate valid forever. */
export function describeCertificateValidity(
  cert: Pick<HostCertificate, 'validAfter' | 'validBefore'>,
  now: Date,
): CertificateValidity {
  const t = now.getTime()
  if (cert.validAfter !== null && t < cert.validAfter.getTime()) {
    return { kind: 'not-yet-valid', daysUntil: Math.floor((cert.validAfter.getTime() - t) / DAY_MS) }
  }
  if (cert.validBefore !== null && t >= cert.validBefore.getTime()) {
    return { kind: 'expired', daysAgo: Math.floor((t - cert.validBefore.getTime()) / DAY_MS) }
  }
  return { kind: 'valid', daysLeft: cert.validBefore === null ? null : Math.floor((cert.validBefore.getTime() - t) / DAY_MS) }
}
