import type { HostKey, KeyType, Sha256Fingerprint } from '../host-key.js'
import { UserError } from '../errors.js'
import { sha256FromDigest } from './digest-forms.js'
import { echoInput } from '../echo.js'

/* SSHFP record : (algorithm, digest type, digest of the public key blob), RFC 4255 §3.1.
 * algorithm    : RSA 1, DSA 2 (RFC 4255), ECDSA 3 (RFC 6594, every curve), Ed25519 4 (RFC 7479);
 *                Ed448 6 (RFC 8709) is known to DNS but not to OpenSSH or to us.
 * digest type  : SHA-1 1 (RFC 4255), SHA-256 2 (RFC 6594). */

export const SSHFP_ALGORITHMS = [1, 2, 3, 4] as const
export type SshfpAlgorithm = (typeof SSHFP_ALGORITHMS)[number]

export const SSHFP_DIGEST_TYPES = [1, 2] as const
export type SshfpDigestType = (typeof SSHFP_DIGEST_TYPES)[number]

/** Digest length in octets per digest type: an SSHFP whose fingerprint length differs is malformed. */
export const SSHFP_DIGEST_OCTETS: Record<SshfpDigestType, number> = { 1: 20, 2: 32 }

export const SSHFP_DIGEST_NAMES: Record<SshfpDigestType, string> = { 1: 'SHA-1', 2: 'SHA-256' }

export interface SshfpRecord {
  readonly algorithm: SshfpAlgorithm
  readonly digestType: SshfpDigestType
  /** Lowercase hex, as `ssh-keygen -r` prints it. */
  readonly fingerprint: string
}

/** The SSHFP algorithm number of a key type (RFC 4255 §3.1.1, RFC 6594 §3.1.1, RFC 7479 §3); null for
 * the security-key types, which have none (`ssh-keygen -r` skips them too). */
export function sshfpAlgorithmOf(type: KeyType): SshfpAlgorithm | null {
  switch (type) {
    case 'ssh-rsa':
      return 1
    case 'ssh-dss':
      return 2
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return 3
    case 'ssh-ed25519':
      return 4
    case 'sk-ssh-ed25519@openssh.com':
    case 'sk-ecdsa-sha2-nistp256@openssh.com':
      return null
  }
}

/** True for keys SSHFP can describe: every type but the security-key ones. */
export function hasSshfpAlgorithm(key: Pick<HostKey, 'type'>): boolean {
  return sshfpAlgorithmOf(key.type) !== null
}

export function isSshfpAlgorithm(n: number): n is SshfpAlgorithm {
  return (SSHFP_ALGORITHMS as readonly number[]).includes(n)
}

export function isSshfpDigestType(n: number): n is SshfpDigestType {
  return (SSHFP_DIGEST_TYPES as readonly number[]).includes(n)
}

/** The digest of a key an SSHFP record of `digestType` would carry, lowercase hex. */
export function keyDigest(key: Pick<HostKey, 'sha1Hex' | 'sha256Hex'>, digestType: SshfpDigestType): string {
  return digestType === 1 ? key.sha1Hex.toLowerCase() : key.sha256Hex.toLowerCase()
}

/** Whether a record describes this key: same algorithm and same digest (RFC 4255 §3.1). */
export function recordMatchesKey(record: SshfpRecord, key: HostKey): boolean {
  return record.algorithm === sshfpAlgorithmOf(key.type) && record.fingerprint.toLowerCase() === keyDigest(key, record.digestType)
}

/**
 * The `SHA256:` fingerprint of the key a SHA-256 SSHFP record describes: both are SHA-256 over the same
 * key blob (RFC 6594 §3.1.2), one in hex and one in unpadded base64. Null for SHA-1 records.
 */
export function sha256FingerprintOfRecord(record: SshfpRecord): Sha256Fingerprint | null {
  if (record.digestType !== 2) return null
  return sha256FromDigest(Buffer.from(record.fingerprint, 'hex'))
}

/** `4 2 abcd...`: the record's RDATA in master-file presentation form. */
export function formatSshfpRdata(record: SshfpRecord): string {
  return `${record.algorithm} ${record.digestType} ${record.fingerprint.toLowerCase()}`
}

export function sameRecord(a: SshfpRecord, b: SshfpRecord): boolean {
  return a.algorithm === b.algorithm && a.digestType === b.digestType && a.fingerprint.toLowerCase() === b.fingerprint.toLowerCase()
}

const DIGEST_BY_NAME: Record<string, SshfpDigestType> = { sha1: 1, 'sha-1': 1, sha256: 2, 'sha-256': 2 }

/** Parses `--digest sha1,sha256` (either order, either or both) into digest types in ascending order. */
export function parseSshfpDigests(text: string): SshfpDigestType[] {
  const chosen = new Set<SshfpDigestType>()
  for (const part of text.split(',')) {
    const digest = DIGEST_BY_NAME[part.trim().toLowerCase()]
    if (digest === undefined) {
      throw new UserError(`--digest: '${echoInput(part.trim())}' is not a digest SSHFP knows; use sha1, sha256 or sha1,sha256`)
    }
    chosen.add(digest)
  }
  return [...chosen].sort((a, b) => a - b)
}

/** The SSHFP records `ssh-keygen -r` would print for these keys: per key, one per digest type, SHA-1 first. */
export function expectedRecords(keys: readonly HostKey[], digests: readonly SshfpDigestType[] = SSHFP_DIGEST_TYPES): SshfpRecord[] {
  const ordered = [...new Set(digests)].sort((a, b) => a - b)
  return keys.flatMap((key) => {
    const algorithm = sshfpAlgorithmOf(key.type)
    return algorithm === null ? [] : ordered.map((digestType) => ({ algorithm, digestType, fingerprint: keyDigest(key, digestType) }))
  })
}
