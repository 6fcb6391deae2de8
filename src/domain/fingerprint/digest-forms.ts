import type { Md5Fingerprint, Sha256Fingerprint } from '../host-key.js'

/* The one owner of a fingerprint's forms: the digest bytes a row or a packed key holds, and the
 * strings `ssh-keygen -l` prints (`SHA256:` + unpadded base64, `MD5:` + colon hex). Everything that
 * turns one into the other comes through here, so the branded types have one set of producers. */

function bytes(digest: Uint8Array): Buffer {
  return Buffer.isBuffer(digest) ? digest : Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength)
}

/** `SHA256:` + unpadded base64 of a 32-byte digest. */
export function sha256FromDigest(digest: Uint8Array): Sha256Fingerprint {
  return `SHA256:${bytes(digest).toString('base64').replace(/=+$/, '')}` as Sha256Fingerprint
}

/** `MD5:` + colon-separated lowercase hex of a 16-byte digest. */
export function md5FromDigest(digest: Uint8Array): Md5Fingerprint {
  return `MD5:${bytes(digest).toString('hex').match(/../g)!.join(':')}` as Md5Fingerprint
}

/** The 32-byte digest inside a `SHA256:` fingerprint. */
export function digestOfSha256(fingerprint: Sha256Fingerprint): Buffer {
  return Buffer.from(fingerprint.slice('SHA256:'.length), 'base64')
}

/** The digest as padded base64 (what PostgreSQL's decode(…, 'base64') takes): the fingerprint's text
 * less its prefix, with the one '=' that unpadded base64 of 32 bytes drops. */
export function sha256DigestBase64(fingerprint: Sha256Fingerprint): string {
  return `${fingerprint.slice('SHA256:'.length)}=`
}

const SHA256_FORM = /^SHA256:[A-Za-z0-9+/]{43}$/

/** A fingerprint read back as text (a findings or acceptances column); throws if it is not one. */
export function parseStoredSha256(text: string): Sha256Fingerprint {
  if (!SHA256_FORM.test(text)) throw new Error(`'${text.slice(0, 60)}' is not a SHA256 fingerprint`)
  return text as Sha256Fingerprint
}

/** A fingerprint as a person types it: `SHA256:` (any case) and 43 base64 characters, with or without
 * the trailing '='; null when `text` is not one. */
export function sha256FromText(text: string): Sha256Fingerprint | null {
  const match = /^sha256:([A-Za-z0-9+/]{43})=?$/i.exec(text.trim())
  return match ? (`SHA256:${match[1]}` as Sha256Fingerprint) : null
}
