import type { HostCertificate } from './certificate.js'

/* key family : what one connection asks for (ssh-keyscan -t): ed25519, ecdsa, rsa, dsa, and the
 *              security-key types ed25519-sk and ecdsa-sk (PROTOCOL.u2f; a host key on a FIDO token)
 * key type   : the type name inside the key blob: ssh-ed25519, ecdsa-sha2-nistp384, ssh-rsa, ssh-dss
 * key blob   : the public key as the server sends it (RFC 4253 §6.6), base64 in known_hosts lines */

export const KEY_FAMILIES = ['ed25519', 'ecdsa', 'rsa', 'dsa', 'ed25519-sk', 'ecdsa-sk'] as const
export type KeyFamily = (typeof KEY_FAMILIES)[number]

export const KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'ssh-dss',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const
export type KeyType = (typeof KEY_TYPES)[number]

/** Whether a word names a plain host key type (a known_hosts or .pub line's type field). */
export function isKeyType(name: string | undefined): name is KeyType {
  return name !== undefined && (KEY_TYPES as readonly string[]).includes(name)
}

/** `SHA256:` + unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints it. */
export type Sha256Fingerprint = string & { readonly __brand: 'Sha256Fingerprint' }
/** `MD5:` + colon-separated lowercase hex of MD5(blob), as `ssh-keygen -l -E md5`. */
export type Md5Fingerprint = string & { readonly __brand: 'Md5Fingerprint' }

export interface HostKey {
  /** The plain key's type, also when the server sent a certificate for it. */
  readonly type: KeyType
  readonly family: KeyFamily
  readonly bits: number
  readonly blob: Buffer
  readonly sha256: Sha256Fingerprint
  readonly md5: Md5Fingerprint
  /** Lowercase hex digests, as SSHFP records carry them (RFC 4255 type 1, RFC 6594 type 2). */
  readonly sha1Hex: string
  readonly sha256Hex: string
  /** The certificate the server presented for this key (PROTOCOL.certkeys); absent for a plain key.
   * The fields above are the certified key's, so a certified key is the same key as the plain one. */
  readonly certificate?: HostCertificate
}

export function familyOfType(type: KeyType): KeyFamily {
  switch (type) {
    case 'ssh-ed25519':
      return 'ed25519'
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return 'ecdsa'
    case 'ssh-rsa':
      return 'rsa'
    case 'ssh-dss':
      return 'dsa'
    case 'sk-ssh-ed25519@openssh.com':
      return 'ed25519-sk'
    case 'sk-ecdsa-sha2-nistp256@openssh.com':
      return 'ecdsa-sk'
  }
}

/** The public key line `TYPE BASE64`, as known_hosts and authorized_keys carry it. */
export function publicKeyLine(key: Pick<HostKey, 'type' | 'blob'>): string {
  return `${key.type} ${key.blob.toString('base64')}`
}
