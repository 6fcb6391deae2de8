import type { HostKey } from '../host-key.js'
import { MAX_NAME_LENGTH } from '../ssh-wire.js'
import { isCertificateType, parseCertificate } from './certificate.js'
import { describeKey, keyBlobReader } from './key-blob.js'

/** A host key as a server sends it in its key exchange reply: a plain key blob, or a certificate
 * (PROTOCOL.certkeys) whose certified key becomes the HostKey, with the certificate attached.
 * A certified key has the fingerprints of the plain key, so it is the same key in the history.
 * Throws KeyBlobError on anything malformed. */
export function readHostKeyBlob(blob: Buffer): HostKey {
  // RFC 4251 §6: a type name is at most 64 characters; only the first 64 bytes can match one.
  const name = keyBlobReader(blob, 'key blob').string('key type').subarray(0, MAX_NAME_LENGTH).toString('latin1')
  if (!isCertificateType(name)) return describeKey(blob)
  const { key, certificate } = parseCertificate(blob)
  return { ...key, certificate }
}
