import type { HostKey } from '../domain/host-key.js'
import { isCertificateType, parseCertificate } from './certificate.js'
import { describeKey, KeyBlobError } from './key-blob.js'

/** A host key as a server sends it in its key exchange reply: a plain key blob, or a certificate
 * (PROTOCOL.certkeys) whose certified key becomes the HostKey, with the certificate attached.
 * A certified key has the fingerprints of the plain key, so it is the same key in the history.
 * Throws KeyBlobError on anything malformed. */
export function readHostKeyBlob(blob: Buffer): HostKey {
  if (blob.length < 4) throw new KeyBlobError('key blob is truncated')
  const nameLength = blob.readUInt32BE(0)
  const name = blob.subarray(4, 4 + Math.min(nameLength, 64)).toString('latin1')
  if (!isCertificateType(name)) return describeKey(blob)
  const { key, certificate } = parseCertificate(blob)
  return { ...key, certificate }
}
