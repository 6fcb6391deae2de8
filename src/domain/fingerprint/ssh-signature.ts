import { constants, createPublicKey, hash, verify, type KeyObject } from 'node:crypto'
import type { KeyType } from '../host-key.js'
import { printableBytes } from '../printable-bytes.js'
import { sshByte, sshUint32 } from '../ssh-wire.js'
import { KeyBlobError, keyBlobReader } from './key-blob.js'

/* SSH signature : RFC 4253 §6.6 string(format) + string(signature blob). The format names the
 *                 algorithm and must fit the signing key's type:
 *   ssh-ed25519                    64-byte Ed25519 signature (RFC 8709 §6)
 *   ecdsa-sha2-nistp256/384/521    string(mpint r + mpint s), SHA-256/384/512 (RFC 5656 §3.1.2)
 *   rsa-sha2-256, rsa-sha2-512     PKCS#1 v1.5 signature, SHA-256/512 (RFC 8332 §3)
 *   ssh-rsa                        PKCS#1 v1.5 signature, SHA-1 (RFC 4253 §6.6)
 *   ssh-dss                        40 bytes r || s, 20 each, SHA-1 (RFC 4253 §6.6)
 * Verification uses node:crypto only; keys are imported as JWK, DSA (which JWK lacks) as SPKI DER. */

/** RFC 4251 §6: algorithm names are at most 64 characters; a longer format is shown cut to that. */
const MAX_ALGORITHM_NAME = 64

const EC_CURVES = {
  'ecdsa-sha2-nistp256': { crv: 'P-256', fieldBytes: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { crv: 'P-384', fieldBytes: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { crv: 'P-521', fieldBytes: 66, hash: 'sha512' },
} as const

/** Which formats each key type signs with, and the digest each format uses (null: Ed25519 hashes itself). */
const FORMATS: Record<KeyType, Readonly<Record<string, string | null>>> = {
  'ssh-ed25519': { 'ssh-ed25519': null },
  'ecdsa-sha2-nistp256': { 'ecdsa-sha2-nistp256': 'sha256' },
  'ecdsa-sha2-nistp384': { 'ecdsa-sha2-nistp384': 'sha384' },
  'ecdsa-sha2-nistp521': { 'ecdsa-sha2-nistp521': 'sha512' },
  'ssh-rsa': { 'ssh-rsa': 'sha1', 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' },
  'ssh-dss': { 'ssh-dss': 'sha1' },
  'sk-ssh-ed25519@openssh.com': { 'sk-ssh-ed25519@openssh.com': null },
  'sk-ecdsa-sha2-nistp256@openssh.com': { 'sk-ecdsa-sha2-nistp256@openssh.com': 'sha256' },
}

/** DSA signatures are exactly two 160-bit integers (OpenSSH ssh-dss.c: SIGBLOB_LEN). */
const DSA_SIGNATURE_BYTES = 40

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url')
}

/** DER (X.690) type-length-value. */
function der(tag: number, content: Buffer): Buffer {
  const n = content.length
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff])
  return Buffer.concat([Buffer.from([tag]), length, content])
}

/** DER INTEGER of a non-negative magnitude (no leading zeros): 0x00 first when the top bit is set. */
function derUnsigned(magnitude: Buffer): Buffer {
  if (magnitude.length === 0) return der(0x02, Buffer.from([0]))
  return der(0x02, magnitude[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude)
}

/** OID 1.2.840.10040.4.1, id-dsa (RFC 3279 §2.3.2). */
const ID_DSA = Buffer.from([0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01])

/** SubjectPublicKeyInfo for DSA (RFC 3279 §2.3.2): algorithm id-dsa with Dss-Parms p, q, g; the key y as an INTEGER in the BIT STRING. */
function dsaSpki(p: Buffer, q: Buffer, g: Buffer, y: Buffer): Buffer {
  const algorithm = der(0x30, Buffer.concat([ID_DSA, der(0x30, Buffer.concat([derUnsigned(p), derUnsigned(q), derUnsigned(g)]))]))
  const subjectPublicKey = der(0x03, Buffer.concat([Buffer.from([0]), derUnsigned(y)]))
  return der(0x30, Buffer.concat([algorithm, subjectPublicKey]))
}

/**
 * The plain public key blob as a node:crypto key to verify with. Throws KeyBlobError when the blob
 * is not a key OpenSSH would load: an ECDSA point that is not uncompressed (OpenSSH accepts no
 * other form) or not on its curve, an RSA or DSA key OpenSSL refuses.
 */
export function publicKeyObject(type: KeyType, blob: Buffer): KeyObject {
  const reader = keyBlobReader(blob, `${type} key`)
  reader.string('key type')
  let key: KeyObject
  try {
    switch (type) {
      case 'ssh-ed25519':
        key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64url(reader.string('public key')) }, format: 'jwk' })
        break
      case 'sk-ssh-ed25519@openssh.com':
        key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64url(reader.string('public key')) }, format: 'jwk' })
        reader.string('application')
        break
      case 'sk-ecdsa-sha2-nistp256@openssh.com': {
        reader.string('curve')
        const q = reader.string('public point')
        if (q.length !== 65 || q[0] !== 0x04) throw new KeyBlobError(`${type} key's public point is not an uncompressed P-256 point`)
        key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: base64url(q.subarray(1, 33)), y: base64url(q.subarray(33)) }, format: 'jwk' })
        reader.string('application')
        break
      }
      case 'ecdsa-sha2-nistp256':
      case 'ecdsa-sha2-nistp384':
      case 'ecdsa-sha2-nistp521': {
        const { crv, fieldBytes } = EC_CURVES[type]
        reader.string('curve')
        const q = reader.string('public point')
        if (q.length !== 1 + 2 * fieldBytes || q[0] !== 0x04) {
          throw new KeyBlobError(`${type} key's public point is not an uncompressed ${crv} point`)
        }
        const x = base64url(q.subarray(1, 1 + fieldBytes))
        const y = base64url(q.subarray(1 + fieldBytes))
        key = createPublicKey({ key: { kty: 'EC', crv, x, y }, format: 'jwk' })
        break
      }
      case 'ssh-rsa': {
        const e = reader.unsignedMpint('e')
        const n = reader.unsignedMpint('n')
        key = createPublicKey({ key: { kty: 'RSA', e: base64url(e), n: base64url(n) }, format: 'jwk' })
        break
      }
      case 'ssh-dss': {
        const p = reader.unsignedMpint('p')
        const q = reader.unsignedMpint('q')
        const g = reader.unsignedMpint('g')
        const y = reader.unsignedMpint('y')
        key = createPublicKey({ key: dsaSpki(p, q, g, y), format: 'der', type: 'spki' })
        break
      }
    }
  } catch (e) {
    if (e instanceof KeyBlobError) throw e
    throw new KeyBlobError(`${type} key is not a usable public key: ${(e as Error).message}`, { cause: e })
  }
  reader.expectEnd()
  return key
}

export interface SignatureCheck {
  /** The format the signature names, printable, cut at 64 characters; '' when unreadable. */
  readonly algorithm: string
  readonly valid: boolean
}

/**
 * Whether `signature` (string format + string blob) is `type`'s key's signature over `data`.
 * Never throws: a signature that is malformed, names a format the key type cannot sign with, or
 * does not verify is `valid: false`.
 */
export function verifySshSignature(type: KeyType, key: KeyObject, signature: Buffer, data: Buffer, application: Buffer | null = null): SignatureCheck {
  let algorithm = ''
  try {
    const reader = keyBlobReader(signature, 'signature')
    const format = reader.string('format')
    algorithm = printableBytes(format.subarray(0, MAX_ALGORITHM_NAME))
    const blob = reader.string('signature blob')
    if (type === 'sk-ssh-ed25519@openssh.com' || type === 'sk-ecdsa-sha2-nistp256@openssh.com') {
      // PROTOCOL.u2f: the token signed SHA-256(application) || flags || counter || SHA-256(data), and the
      // signature carries flags and counter after its blob.
      const flags = reader.byte('flags')
      const counter = reader.uint32('counter')
      reader.expectEnd()
      if (application === null || format.toString('latin1') !== type) return { algorithm, valid: false }
      const signed = Buffer.concat([hash('sha256', application, 'buffer'), sshByte(flags), sshUint32(counter), hash('sha256', data, 'buffer')])
      const plain = type === 'sk-ssh-ed25519@openssh.com' ? 'ssh-ed25519' : 'ecdsa-sha2-nistp256'
      return { algorithm, valid: verifyBlob(plain, key, FORMATS[type][type] ?? null, blob, signed) }
    }
    reader.expectEnd()
    const formats = FORMATS[type]
    const name = format.toString('latin1')
    if (!Object.hasOwn(formats, name)) return { algorithm, valid: false }
    const digest = formats[name]!
    return { algorithm, valid: verifyBlob(type, key, digest, blob, data) }
  } catch {
    // A KeyBlobError from a malformed signature, or OpenSSL refusing bytes it cannot consider a signature.
    return { algorithm, valid: false }
  }
}

function verifyBlob(type: KeyType, key: KeyObject, digest: string | null, blob: Buffer, data: Buffer): boolean {
  switch (type) {
    case 'sk-ssh-ed25519@openssh.com':
    case 'sk-ecdsa-sha2-nistp256@openssh.com':
      return false // verified through the plain type above, over the token's message
    case 'ssh-ed25519':
      // RFC 8032 §5.1.7: a signature is 64 bytes; OpenSSH rejects any other length too.
      return blob.length === 64 && verify(null, data, key, blob)
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      const { fieldBytes } = EC_CURVES[type]
      const reader = keyBlobReader(blob, 'ECDSA signature')
      const r = reader.unsignedMpint('r')
      const s = reader.unsignedMpint('s')
      reader.expectEnd()
      if (r.length > fieldBytes || s.length > fieldBytes) return false
      // IEEE P1363: r and s, each left-padded to the field size.
      const rs = Buffer.alloc(2 * fieldBytes)
      r.copy(rs, fieldBytes - r.length)
      s.copy(rs, 2 * fieldBytes - s.length)
      return verify(digest, data, { key, dsaEncoding: 'ieee-p1363' }, rs)
    }
    case 'ssh-rsa': {
      // OpenSSH ssh-rsa.c: a signature shorter than the modulus is left-padded with zeros; a longer one is refused.
      const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)
      if (blob.length > modulusBytes) return false
      const padded = Buffer.alloc(modulusBytes)
      blob.copy(padded, modulusBytes - blob.length)
      return verify(digest, data, { key, padding: constants.RSA_PKCS1_PADDING }, padded)
    }
    case 'ssh-dss':
      return blob.length === DSA_SIGNATURE_BYTES && verify(digest, data, { key, dsaEncoding: 'ieee-p1363' }, blob)
  }
}
